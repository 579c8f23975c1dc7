//! The tenants service on the engine under test.

use backend::page::{PageAt, SortDir};
use backend::sensitive::Proof;
use backend::tenants::{self, Limits, TenantPatch, TenantQuery, TenantSort};
use backend::{args, Actor, Role, ServiceError};

use crate::common::{fresh, new_tenant, operator};

async fn count(db: &backend::Db, table: &str) -> i64 {
    db.scalar(&format!("SELECT COUNT(*) FROM {table}"), args![])
        .await
        .unwrap()
}

#[tokio::test]
async fn create_validates_derives_and_audits() {
    let t = fresh().await;
    let mut input = new_tenant("Conexão Hospedagem", "Conexao.com.BR");
    input.tier = "free".into();
    input.sender_email = "Avisos@conexao.com.br".into();
    let created = tenants::create(&t.db, &operator(), input).await.unwrap();
    assert_eq!(created.slug, "conexao-hospedagem");
    assert_eq!(created.domain, "conexao.com.br");
    assert_eq!(
        (
            created.status.as_str(),
            created.tier.as_str(),
            created.currency.as_str()
        ),
        ("active", "free", "BRL")
    );
    assert_eq!(created.max_tickets_month, Some(15), "free tier limits from the seeds");
    assert_eq!(created.max_domains, Some(1));
    assert_eq!(created.logo_text, "Conexão Hospedagem");
    let read = tenants::get(&t.db, &operator(), "conexao-hospedagem").await.unwrap();
    assert_eq!(read, created, "native types round-trip exactly (uuid, timestamps)");
    let by_id = tenants::get(&t.db, &operator(), &created.id.to_string()).await.unwrap();
    assert_eq!(by_id.id, created.id);
    let (action, actor, entity_id): (String, String, String) =
        t.db.fetch_optional::<(String, String, String)>("SELECT action, actor_name, entity_id FROM audit_log", args![])
            .await
            .unwrap()
            .unwrap();
    assert_eq!((action.as_str(), actor.as_str()), ("tenant.create", "test-operator"));
    assert_eq!(entity_id, created.id.to_string());
}

#[tokio::test]
async fn bad_input_names_fields_and_changes_nothing() {
    let t = fresh().await;
    let mut input = new_tenant("X", "not a domain");
    input.primary_color = "blue".into();
    input.tier = "platinum".into();
    let err = tenants::create(&t.db, &operator(), input).await.unwrap_err();
    let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["name", "slug", "domain", "tier", "primary_color"], "{err}");
    assert_eq!((count(&t.db, "tenants").await, count(&t.db, "audit_log").await), (0, 0));
}

#[tokio::test]
async fn duplicates_are_conflicts() {
    let t = fresh().await;
    tenants::create(&t.db, &operator(), new_tenant("Nuvem BR", "nuvem.com.br"))
        .await
        .unwrap();
    let same_domain = tenants::create(&t.db, &operator(), new_tenant("Other", "nuvem.com.br"))
        .await
        .unwrap_err();
    assert!(
        matches!(&same_domain, ServiceError::Conflict(m) if m.contains("domain")),
        "{same_domain}"
    );
    let same_slug = tenants::create(&t.db, &operator(), new_tenant("Nuvem BR", "nuvem2.com.br"))
        .await
        .unwrap_err();
    assert!(
        matches!(&same_slug, ServiceError::Conflict(m) if m.contains("slug")),
        "{same_slug}"
    );
    assert_eq!(count(&t.db, "audit_log").await, 1, "failed creates leave no audit row");
}

async fn seed_many(db: &backend::Db, n: usize) {
    for i in 0..n {
        let prefix = ["alpha", "Beta", "gamma", "Delta", "épsilon"][i % 5];
        let name = format!("{prefix} host {i:03}");
        let mut input = new_tenant(&name, &format!("h{i}.example.com"));
        input.tier = ["free", "basic", "pro", "enterprise"][i % 4].into();
        tenants::create(db, &operator(), input).await.unwrap();
    }
}

async fn walk(db: &backend::Db, sort: TenantSort, dir: SortDir, limit: usize) -> Vec<String> {
    let mut q = TenantQuery {
        sort,
        dir,
        limit,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = tenants::list(db, &operator(), &q).await.unwrap();
        assert!(page.items.len() <= limit);
        seen.extend(page.items.iter().map(|t| t.slug.clone()));
        if !page.has_next {
            return seen;
        }
        q.at = PageAt::After(page.last.clone().unwrap());
    }
}

#[tokio::test]
async fn keyset_pages_cover_every_row_once_in_every_order() {
    let t = fresh().await;
    seed_many(&t.db, 53).await;
    for sort in TenantSort::ALL {
        let all_at_once = walk(&t.db, sort, SortDir::Asc, 500).await;
        assert_eq!(all_at_once.len(), 53);
        let paged = walk(&t.db, sort, SortDir::Asc, 10).await;
        assert_eq!(paged, all_at_once, "paging by {sort:?} matches one big page");
        let mut desc = walk(&t.db, sort, SortDir::Desc, 7).await;
        desc.reverse();
        assert_eq!(desc, all_at_once, "descending by {sort:?} is the exact reverse");
    }
}

#[tokio::test]
async fn previous_page_returns_the_same_rows() {
    let t = fresh().await;
    seed_many(&t.db, 30).await;
    let q = TenantQuery {
        limit: 10,
        ..Default::default()
    };
    let p1 = tenants::list(&t.db, &operator(), &q).await.unwrap();
    assert!(p1.has_next && !p1.has_prev);
    let p2 = tenants::list(
        &t.db,
        &operator(),
        &TenantQuery {
            at: PageAt::After(p1.last.clone().unwrap()),
            ..q.clone()
        },
    )
    .await
    .unwrap();
    assert!(p2.has_prev);
    let back = tenants::list(
        &t.db,
        &operator(),
        &TenantQuery {
            at: PageAt::Before(p2.first.clone().unwrap()),
            ..q.clone()
        },
    )
    .await
    .unwrap();
    let slugs = |p: &backend::page::Page<tenants::Tenant>| p.items.iter().map(|t| t.slug.clone()).collect::<Vec<_>>();
    assert_eq!(slugs(&back), slugs(&p1));
    assert!(!back.has_prev, "back at the first page");
}

#[tokio::test]
async fn filters_are_case_insensitive_and_escape_wildcards() {
    let t = fresh().await;
    seed_many(&t.db, 20).await;
    tenants::create(&t.db, &operator(), new_tenant("Desconto 100% Host", "desconto.com.br"))
        .await
        .unwrap();
    let list = |filter: &str, status: Option<&str>| {
        let q = TenantQuery {
            filter: Some(filter.into()),
            status: status.map(Into::into),
            limit: 100,
            ..Default::default()
        };
        let db = t.db.clone();
        async move { tenants::list(&db, &operator(), &q).await.unwrap().items }
    };
    assert_eq!(list("ALPHA", None).await.len(), 4);
    assert_eq!(list("h7.example", None).await.len(), 1, "matches the domain");
    let pct = list("%", None).await;
    assert_eq!(pct.len(), 1, "% is a literal, not a wildcard");
    assert_eq!(pct[0].slug, "desconto-100-host");
    assert_eq!(list("_", None).await.len(), 0);
    assert_eq!(tenants::count(&t.db, &operator(), Some("beta"), None).await.unwrap(), 4);
    let bad = tenants::list(
        &t.db,
        &operator(),
        &TenantQuery {
            status: Some("zombie".into()),
            limit: 5,
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(bad, Err(ServiceError::Validation(_))));
}

#[tokio::test]
async fn update_branding_and_limits_are_audited_with_before_and_after() {
    let t = fresh().await;
    tenants::create(&t.db, &operator(), new_tenant("Pixel Web", "pixel.com.br"))
        .await
        .unwrap();
    let patch = TenantPatch {
        primary_color: Some("#FF0066".into()),
        sender_email: Some("noreply@pixel.com.br".into()),
        ..Default::default()
    };
    let after = tenants::update(&t.db, &operator(), "pixel-web", patch.clone())
        .await
        .unwrap();
    assert_eq!(after.primary_color, "#ff0066");
    assert_eq!(after.sender_email.as_deref(), Some("noreply@pixel.com.br"));
    // The same patch again changes nothing and writes no audit row.
    tenants::update(&t.db, &operator(), "pixel-web", patch).await.unwrap();
    let clear = TenantPatch {
        sender_email: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(
        tenants::update(&t.db, &operator(), "pixel-web", clear)
            .await
            .unwrap()
            .sender_email,
        None
    );
    let bad = TenantPatch {
        accent_color: Some("red".into()),
        domain: Some("ok.com".into()),
        ..Default::default()
    };
    let err = tenants::update(&t.db, &operator(), "pixel-web", bad).await.unwrap_err();
    assert_eq!(err.fields()[0].field, "accent_color");
    assert_eq!(
        tenants::get(&t.db, &operator(), "pixel-web").await.unwrap().domain,
        "pixel.com.br",
        "nothing changed"
    );
    let limits = Limits {
        max_customers: Some(10),
        max_domains: None,
        ..Default::default()
    };
    assert_eq!(
        tenants::set_limits(&t.db, &operator(), "pixel-web", limits, false)
            .await
            .unwrap()
            .max_customers,
        Some(10)
    );
    let neg = Limits {
        max_services: Some(-1),
        ..Default::default()
    };
    assert_eq!(
        tenants::set_limits(&t.db, &operator(), "pixel-web", neg, false)
            .await
            .unwrap_err()
            .fields()[0]
            .field,
        "max_services"
    );
    let rows: Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> =
        t.db.fetch_all("SELECT action, before, after FROM audit_log ORDER BY seq", args![])
            .await
            .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        ["tenant.create", "tenant.update", "tenant.update", "tenant.limits"]
    );
    let (_, before, after) = &rows[1];
    assert_eq!(before.as_ref().unwrap()["primary_color"], "#3b82f6");
    assert_eq!(after.as_ref().unwrap()["primary_color"], "#ff0066");
}

#[tokio::test]
async fn suspension_needs_typed_confirmation_and_a_reason() {
    let t = fresh().await;
    tenants::create(&t.db, &operator(), new_tenant("Turbo Host", "turbo.com.br"))
        .await
        .unwrap();
    let wrong = tenants::suspend(&t.db, &operator(), "turbo-host", "chargeback", &Proof::confirm("turbo"))
        .await
        .unwrap_err();
    assert_eq!(wrong.fields()[0].field, "confirm");
    let no_reason = tenants::suspend(&t.db, &operator(), "turbo-host", "  ", &Proof::confirm("turbo-host"))
        .await
        .unwrap_err();
    assert_eq!(no_reason.fields()[0].field, "reason");
    let s = tenants::suspend(
        &t.db,
        &operator(),
        "turbo-host",
        "chargeback",
        &Proof::confirm("turbo-host"),
    )
    .await
    .unwrap();
    assert_eq!(
        (s.status.as_str(), s.suspended_reason.as_deref()),
        ("suspended", Some("chargeback"))
    );
    assert!(s.suspended_at.is_some());
    assert!(matches!(
        tenants::suspend(&t.db, &operator(), "turbo-host", "x", &Proof::confirm("turbo-host")).await,
        Err(ServiceError::Conflict(_))
    ));
    let r = tenants::reactivate(&t.db, &operator(), "turbo-host").await.unwrap();
    assert_eq!((r.status.as_str(), r.suspended_reason), ("active", None));
    assert!(matches!(
        tenants::reactivate(&t.db, &operator(), "turbo-host").await,
        Err(ServiceError::Conflict(_))
    ));
    assert!(matches!(
        tenants::get(&t.db, &operator(), "nope").await,
        Err(ServiceError::NotFound { .. })
    ));
}

#[tokio::test]
async fn scoped_and_read_only_actors_are_confined() {
    let t = fresh().await;
    let a = tenants::create(&t.db, &operator(), new_tenant("Tenant A", "a.com.br"))
        .await
        .unwrap();
    tenants::create(&t.db, &operator(), new_tenant("Tenant B", "b.com.br"))
        .await
        .unwrap();
    let admin_a = Actor::tenant_user("ana", Role::TenantAdmin, a.id);
    let seen = tenants::list(
        &t.db,
        &admin_a,
        &TenantQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        seen.items.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(),
        ["tenant-a"]
    );
    assert!(
        matches!(
            tenants::get(&t.db, &admin_a, "tenant-b").await,
            Err(ServiceError::NotFound { .. })
        ),
        "other tenants look missing"
    );
    assert!(matches!(
        tenants::create(&t.db, &admin_a, new_tenant("Tenant C", "c.com.br")).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    let patch = TenantPatch {
        logo_text: Some("B!".into()),
        ..Default::default()
    };
    assert!(matches!(
        tenants::update(&t.db, &admin_a, "tenant-b", patch.clone()).await,
        Err(ServiceError::NotFound { .. })
    ));
    let on_call = Actor {
        role: Role::OnCall,
        ..operator()
    };
    assert!(matches!(
        tenants::update(&t.db, &on_call, "tenant-a", patch).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    let browse_servers = backend::browse::browse(
        &t.db,
        &admin_a,
        backend::browse::view("servers").unwrap(),
        &backend::browse::BrowseQuery {
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(browse_servers, Err(ServiceError::PermissionDenied(_))),
        "tenant users never see servers"
    );
    assert_eq!(count(&t.db, "audit_log").await, 2, "refused actions changed nothing");
}

#[tokio::test]
async fn search_index_follows_renames_and_pages_like_a_scan() {
    let t = fresh().await;
    seed_many(&t.db, 40).await;
    let find = |filter: &str| {
        let q = TenantQuery {
            filter: Some(filter.into()),
            limit: 100,
            ..Default::default()
        };
        let db = t.db.clone();
        async move {
            tenants::list(&db, &operator(), &q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|t| t.slug)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(find("gamma host 00").await, ["gamma-host-002", "gamma-host-007"]);
    let patch = TenantPatch {
        name: Some("Zeta Nuvem".into()),
        ..Default::default()
    };
    tenants::update(&t.db, &operator(), "gamma-host-002", patch)
        .await
        .unwrap();
    assert_eq!(
        find("gamma host 00").await,
        ["gamma-host-007"],
        "the old name is gone from the index"
    );
    assert_eq!(find("zeta nuv").await, ["gamma-host-002"], "the new name is indexed");
    // Narrow filters are paged from the index matches: the pages still join up in order.
    let mut q = TenantQuery {
        filter: Some("host".into()),
        sort: TenantSort::Domain,
        dir: SortDir::Desc,
        limit: 6,
        ..Default::default()
    };
    let mut paged = Vec::new();
    loop {
        let page = tenants::list(&t.db, &operator(), &q).await.unwrap();
        paged.extend(page.items.iter().map(|t| t.domain.clone()));
        if !page.has_next {
            break;
        }
        q.at = PageAt::After(page.last.unwrap());
    }
    // The renamed tenant keeps its slug "gamma-host-002", so "host" still finds it.
    let mut expected: Vec<String> = (0..40).map(|i| format!("h{i}.example.com")).collect();
    expected.sort();
    expected.reverse();
    assert_eq!(paged, expected);
    assert_eq!(
        tenants::count(&t.db, &operator(), Some("host"), None).await.unwrap(),
        40
    );
    assert_eq!(
        tenants::count(&t.db, &operator(), Some("ho"), Some("active"))
            .await
            .unwrap(),
        40,
        "short terms scan"
    );
}
