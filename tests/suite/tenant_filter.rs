//! The tenants list's text filter gives exactly what a scan gives, on every path of
//! docs/adr/0003 — the bounded walk, the trigram index's matches (sort keys read from the
//! `tenant_search` side table) and the full walk — for every sort, both directions, with the
//! status filter, page after page; the side table follows renames and status changes; and the
//! per-trigram sort-key bounds the walk starts from (migration 0035) hold every match.

use backend::page::{PageAt, SortDir};
use backend::search::{self, TermBounds};
use backend::tenants::{self, TenantPatch, TenantQuery, TenantSort};
use backend::{args, Db};
use uuid::Uuid;

use crate::common::{fresh, operator};

const SORTS: [(TenantSort, &str); 5] = [
    (TenantSort::Name, "name, id"),
    (TenantSort::Domain, "domain, id"),
    (TenantSort::Status, "status, name, id"),
    (TenantSort::Tier, "tier, name, id"),
    (TenantSort::Created, "created_at, id"),
];

/// The oracle: a plain scan with the same order.
async fn scan(db: &Db, term: &str, status: Option<&str>, order: &str, dir: SortDir) -> Vec<Uuid> {
    let like = format!("%{}%", term.to_lowercase());
    let desc = if dir == SortDir::Desc { " DESC" } else { "" };
    let order: Vec<String> = order.split(", ").map(|c| format!("{c}{desc}")).collect();
    let status_cond = if status.is_some() { " AND status = $2" } else { "" };
    let sql = format!(
        "SELECT id FROM tenants WHERE search_text LIKE $1{status_cond} ORDER BY {}",
        order.join(", ")
    );
    let mut a = args![like];
    if let Some(s) = status {
        a.push(s.into());
    }
    let rows: Vec<(Uuid,)> = db.fetch_all(&sql, a).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

/// Every page of the list, following the cursors.
async fn pages(db: &Db, term: &str, status: Option<&str>, sort: TenantSort, dir: SortDir) -> Vec<Uuid> {
    let mut q = TenantQuery {
        filter: Some(term.into()),
        status: status.map(str::to_owned),
        tier: None,
        sort,
        dir,
        limit: 50,
        at: PageAt::First,
    };
    let mut out = Vec::new();
    for _ in 0..100 {
        let page = tenants::list(db, &operator(), &q).await.unwrap();
        out.extend(page.items.iter().map(|t| t.id));
        match (page.has_next, page.last) {
            (true, Some(last)) => q.at = PageAt::After(last),
            _ => return out,
        }
    }
    panic!("more than 100 pages");
}

#[tokio::test]
async fn every_path_of_the_filter_equals_a_scan() {
    let t = fresh().await;
    backend::seed::bulk_tenants(&t.db, 3_000).await.unwrap();
    // 'nuvem' and 'rede' match a few percent of the rows, late in the name order: the first
    // 1 000 rows hold no page of them, so the index's matches answer. 'hosting' is common
    // (the bounded walk answers), 'zzq' matches nothing.
    let narrow: i64 =
        t.db.scalar("SELECT COUNT(*) FROM tenants WHERE search_text LIKE '%nuvem%'", args![])
            .await
            .unwrap();
    assert!(
        (60..1_000).contains(&narrow),
        "{narrow} 'nuvem' tenants in the bench set"
    );
    // Mixed case and non-ASCII ('Soluções'), a whole slug (few matches: the bounded walk runs
    // out of rows), trigrams no tenant holds ('zzq') and present trigrams never adjacent
    // ('sky recife').
    for term in [
        "nuvem",
        "rede",
        "hosting",
        "zzq",
        "NUVEM web",
        "Soluções",
        "rede-solucoes-manaus-3",
        "sky recife",
    ] {
        for (sort, order) in SORTS {
            for dir in [SortDir::Asc, SortDir::Desc] {
                for status in [None, Some("active"), Some("suspended")] {
                    let want = scan(&t.db, term, status, order, dir).await;
                    let got = pages(&t.db, term, status, sort, dir).await;
                    assert_eq!(got, want, "{term} {order} {dir:?} {status:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_side_table_follows_renames_and_status_changes() {
    let t = fresh().await;
    backend::seed::bulk_tenants(&t.db, 2_000).await.unwrap();
    let first = |page: backend::page::Page<tenants::Tenant>| page.items.first().map(|x| x.name.clone());
    let q = |status: Option<&str>| TenantQuery {
        filter: Some("nuvem".into()),
        status: status.map(str::to_owned),
        tier: None,
        sort: TenantSort::Name,
        dir: SortDir::Asc,
        limit: 50,
        at: PageAt::First,
    };
    let before = tenants::list(&t.db, &operator(), &q(None)).await.unwrap();
    let last = before.items.last().unwrap().clone();
    // Renamed to sort first, it leads the page.
    let patch = TenantPatch {
        name: Some("Aaa Nuvem Primeira".into()),
        ..TenantPatch::default()
    };
    tenants::update(&t.db, &operator(), &last.slug, patch).await.unwrap();
    let after = tenants::list(&t.db, &operator(), &q(None)).await.unwrap();
    assert_eq!(first(after).as_deref(), Some("Aaa Nuvem Primeira"));
    // A status change moves it between the status filters.
    t.db.execute("UPDATE tenants SET status = 'cancelled' WHERE id = $1", args![last.id])
        .await
        .unwrap();
    let active = tenants::list(&t.db, &operator(), &q(Some("active"))).await.unwrap();
    assert!(active.items.iter().all(|x| x.id != last.id));
    let cancelled = tenants::list(&t.db, &operator(), &q(Some("cancelled"))).await.unwrap();
    assert!(cancelled.items.iter().any(|x| x.id == last.id));
    // Gone from tenants, gone from the index.
    t.db.execute("DELETE FROM tenants WHERE id = $1", args![last.id])
        .await
        .unwrap();
    let gone = tenants::list(&t.db, &operator(), &q(None)).await.unwrap();
    assert!(gone.items.iter().all(|x| x.id != last.id));
}

/// The least and greatest of a column over the tenants whose search text contains the term.
type BoundsRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

async fn bounds_table(db: &Db) -> Vec<BoundsRow> {
    let created = if db.backend() == backend::Backend::Postgres {
        "created_min::text, created_max::text"
    } else {
        "created_min, created_max"
    };
    let sql = format!(
        "SELECT trigram, name_min, name_max, domain_min, domain_max, status_min, status_max, tier_min, tier_max, \
         {created} FROM tenant_search_bounds ORDER BY trigram"
    );
    db.fetch_all(&sql, args![]).await.unwrap()
}

/// The bounds as the migrations build them from scratch.
async fn rebuilt_bounds(db: &Db) -> Vec<BoundsRow> {
    let (series, created) = match db.backend() {
        backend::Backend::Postgres => (
            "generate_series(1, char_length(t.search_text) - 2) AS i",
            "min(t.created_at)::text, max(t.created_at)::text",
        ),
        backend::Backend::Sqlite => (
            "(SELECT i FROM tenant_search_positions) p WHERE p.i <= length(t.search_text) - 2",
            "min(t.created_at), max(t.created_at)",
        ),
    };
    let sql = format!(
        "SELECT lower(substr(t.search_text, i, 3)) AS trigram, min(t.name), max(t.name), min(t.domain), \
         max(t.domain), min(t.status), max(t.status), min(t.tier), max(t.tier), {created} \
         FROM tenants t, {series} GROUP BY 1 ORDER BY 1"
    );
    db.fetch_all(&sql, args![]).await.unwrap()
}

async fn span(db: &Db, term: &str, col: &str) -> (String, String) {
    let cast = if db.backend() == backend::Backend::Postgres {
        "::text"
    } else {
        ""
    };
    let sql = format!("SELECT min({col}){cast}, max({col}){cast} FROM tenants WHERE search_text LIKE $1");
    let rows: Vec<(Option<String>, Option<String>)> = db
        .fetch_all(&sql, args![format!("%{}%", term.to_lowercase())])
        .await
        .unwrap();
    let (lo, hi) = rows[0].clone();
    (lo.unwrap(), hi.unwrap())
}

fn within(bounds: &(String, String), actual: &(String, String)) -> bool {
    bounds.0 <= actual.0 && actual.1 <= bounds.1
}

#[tokio::test]
async fn the_bounds_hold_every_match_and_start_at_the_first() {
    let t = fresh().await;
    backend::seed::bulk_tenants(&t.db, 2_000).await.unwrap();
    // 'nuvem' is a leading word: its tenants are one run of the name order, and the bounds
    // built by the migration's triggers are exactly that run's ends, so the walk starts at
    // the first of them.
    let TermBounds::Within(b) = search::tenant_bounds(&t.db, "Nuvem").await.unwrap() else {
        panic!("'nuvem' has matches");
    };
    assert_eq!(b.name, span(&t.db, "nuvem", "name").await);
    assert_eq!(b.domain, span(&t.db, "nuvem", "domain").await);
    assert_eq!(search::tenant_bounds(&t.db, "zzq").await.unwrap(), TermBounds::NoMatch);
    // Multi-row inserts (PostgreSQL widens once per statement, migration 0037) leave every
    // trigram's bounds exactly as a rebuild from the rows computes them.
    assert_eq!(bounds_table(&t.db).await, rebuilt_bounds(&t.db).await);
    // Renames, new tenants and status changes widen the bounds; deletes leave them looser.
    let first = tenants::list(
        &t.db,
        &operator(),
        &TenantQuery {
            filter: Some("nuvem".into()),
            limit: 1,
            ..TenantQuery::default()
        },
    )
    .await
    .unwrap()
    .items[0]
        .clone();
    let patch = TenantPatch {
        name: Some("Zz Nuvem Última".into()),
        domain: Some("aaa-nuvem.com.br".into()),
        ..TenantPatch::default()
    };
    tenants::update(&t.db, &operator(), &first.slug, patch).await.unwrap();
    t.db.execute("UPDATE tenants SET status = 'cancelled' WHERE id = $1", args![first.id])
        .await
        .unwrap();
    let victim: (Uuid,) =
        t.db.fetch_all(
            "SELECT id FROM tenants WHERE search_text LIKE '%nuvem%' ORDER BY name DESC LIMIT 1",
            args![],
        )
        .await
        .unwrap()[0];
    t.db.execute("DELETE FROM tenants WHERE id = $1", args![victim.0])
        .await
        .unwrap();
    let TermBounds::Within(after) = search::tenant_bounds(&t.db, "nuvem").await.unwrap() else {
        panic!("'nuvem' still has matches");
    };
    for (bounds, col) in [
        (&after.name, "name"),
        (&after.domain, "domain"),
        (&after.status, "status"),
        (&after.tier, "tier"),
    ] {
        let actual = span(&t.db, "nuvem", col).await;
        assert!(within(bounds, &actual), "{col}: {bounds:?} must hold {actual:?}");
    }
    assert_eq!(after.name.1, "Zz Nuvem Última");
    assert_eq!(after.domain.0, "aaa-nuvem.com.br");
    assert_eq!(after.status.0, "active");
    // And the list still equals a scan in every order, now that the run has a straggler at
    // each end.
    for (sort, order) in SORTS {
        for dir in [SortDir::Asc, SortDir::Desc] {
            let want = scan(&t.db, "nuvem", None, order, dir).await;
            assert_eq!(pages(&t.db, "nuvem", None, sort, dir).await, want, "{order} {dir:?}");
        }
    }
}
