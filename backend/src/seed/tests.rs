#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::page::PageAt;
use crate::tenants::{self, NewTenant, TenantQuery};

async fn fresh_sqlite(dir: &tempfile::TempDir) -> Db {
    let path = dir.path().join("seed.sqlite");
    let db = Db::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    db.migrate().await.unwrap();
    db
}

async fn count(db: &Db, sql: &str) -> i64 {
    db.scalar(sql, args![]).await.unwrap()
}

/// The checks shared by the SQLite test and the (opt-in) PostgreSQL run.
async fn check_demo(db: &Db) {
    let report = demo(db).await.unwrap();
    for (table, n) in report.counts() {
        assert!(n > 0, "table {table} was not seeded");
    }
    assert_eq!(report.tenants, 8);
    assert!(report.customers >= 8 * 10, "{}", report.customers);
    assert!(count(db, "SELECT COUNT(DISTINCT status) FROM migrations").await >= 5);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM tenants WHERE status = 'suspended'").await,
        1
    );
    // partner → ultra → master → reseller.
    let chains = count(
        db,
        "SELECT COUNT(*) FROM users r JOIN users m ON m.id = r.parent_id JOIN users u ON u.id = m.parent_id \
         JOIN users p ON p.id = u.parent_id WHERE r.role = 'reseller' AND m.role = 'master' AND u.role = 'ultra' \
         AND p.role = 'partner' AND p.parent_id IS NULL",
    )
    .await;
    assert!(chains >= 3, "reseller chains of depth 4: {chains}");
    assert!(report.audit_log >= report.tenants + report.customers);
    // Every seeded row went through audit::record: one intact chain.
    let chain = crate::audit::verify(db, &crate::Actor::system("verify")).await.unwrap();
    assert!(chain.ok, "{:?}", chain.first_bad);
    assert_eq!(chain.rows as usize, report.audit_log as usize);
    // Money and credits add up.
    let bad_totals = count(
        db,
        "SELECT COUNT(*) FROM invoices i WHERE i.total_minor <> i.subtotal_minor - i.discount_minor + i.tax_minor \
         OR i.total_minor <> (SELECT SUM(amount_minor) FROM invoice_items it WHERE it.invoice_id = i.id)",
    )
    .await;
    assert_eq!(bad_totals, 0);
    let bad_balances = count(
        db,
        "SELECT COUNT(*) FROM users u WHERE u.credits_balance <> \
         (SELECT COALESCE(SUM(delta), 0) FROM credit_transactions c WHERE c.user_id = u.id)",
    )
    .await;
    assert_eq!(bad_balances, 0);
    assert!(count(db, "SELECT COUNT(*) FROM users WHERE credits_balance > 0").await >= 10);
    for status in ["active", "pending", "provisioning", "suspended", "error"] {
        let n: i64 = db
            .scalar("SELECT COUNT(*) FROM services WHERE status = $1", args![status])
            .await
            .unwrap();
        assert!(n > 0, "no {status} service");
    }
    for status in ["paid", "pending", "overdue", "cancelled", "refunded"] {
        let n: i64 = db
            .scalar("SELECT COUNT(*) FROM invoices WHERE status = $1", args![status])
            .await
            .unwrap();
        assert!(n > 0, "no {status} invoice");
    }
    for provider in ["stripe", "pix", "mercadopago", "pagseguro"] {
        let n: i64 = db
            .scalar("SELECT COUNT(*) FROM payments WHERE provider = $1", args![provider])
            .await
            .unwrap();
        assert!(n > 0, "no {provider} payment");
    }
    assert!(
        count(
            db,
            "SELECT COUNT(*) FROM dns_records WHERE sync_status = 'error' AND last_error IS NOT NULL"
        )
        .await
            > 0
    );
    assert!(count(db, "SELECT COUNT(*) FROM certificates WHERE status = 'expiring'").await > 0);
    assert!(count(db, "SELECT COUNT(*) FROM certificates WHERE status = 'failed'").await > 0);
    let trials: i64 = db
        .scalar("SELECT COUNT(*) FROM lines WHERE is_trial = $1", args![true])
        .await
        .unwrap();
    assert!(trials > 0);
    assert!(
        count(
            db,
            "SELECT COUNT(*) FROM incidents WHERE status <> 'resolved' AND severity = 'critical'"
        )
        .await
            >= 1
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(DISTINCT status) FROM jobs WHERE status IN ('queued', 'running', 'failed', 'dead')"
        )
        .await,
        4
    );
    // Secrets are never written in clear.
    let secrets = count(
        db,
        "SELECT (SELECT COUNT(*) FROM servers WHERE api_token_enc IS NOT NULL) \
         + (SELECT COUNT(*) FROM integrations WHERE secret_enc IS NOT NULL OR webhook_secret_enc IS NOT NULL) \
         + (SELECT COUNT(*) FROM streaming_servers WHERE access_code_enc IS NOT NULL OR api_key_enc IS NOT NULL OR password_enc IS NOT NULL) \
         + (SELECT COUNT(*) FROM users WHERE totp_secret_enc IS NOT NULL)",
    )
    .await;
    assert_eq!(secrets, 0);
    // Only the demo accounts have a password, and only as an argon2id hash.
    let hashes: Vec<(String, String)> = db
        .fetch_all(
            "SELECT username, password_hash FROM users WHERE password_hash IS NOT NULL ORDER BY username",
            args![],
        )
        .await
        .unwrap();
    let mut want: Vec<&str> = super::DEMO_LOGINS.iter().map(|(u, _)| *u).collect();
    want.sort_unstable();
    assert_eq!(hashes.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(), want);
    for (u, h) in &hashes {
        assert!(
            h.starts_with("$argon2id$") && !h.contains(super::DEMO_PASSWORD),
            "{u}: {h}"
        );
    }
    let leaked: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE CAST(after AS TEXT) LIKE '%argon2%' OR CAST(after AS TEXT) LIKE $1",
            args![format!("%{}%", super::DEMO_PASSWORD)],
        )
        .await
        .unwrap();
    assert_eq!(leaked, 0, "no password hash or password in the audit log");
    // A second run refuses.
    assert!(matches!(demo(db).await, Err(ServiceError::Conflict(_))));
}

#[tokio::test]
async fn demo_seeds_every_table_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_sqlite(&dir).await;
    check_demo(&db).await;
    db.close().await;
}

/// Opt-in run against PostgreSQL: set PAINEL_SEED_PG_URL to an EMPTY scratch database (the
/// test migrates it and seeds it; it refuses to run twice on the same database).
#[tokio::test]
async fn demo_on_postgres_when_configured() {
    let Ok(url) = std::env::var("PAINEL_SEED_PG_URL") else {
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    check_demo(&db).await;
    bulk_tenants(&db, 3000).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tenants").await, 3008);
    let page = tenants::list(
        &db,
        &Actor::system("test"),
        &TenantQuery {
            filter: Some("rede".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 50);
    db.close().await;
}

#[tokio::test]
async fn bulk_tenants_are_listable() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_sqlite(&dir).await;
    let actor = Actor::system("test");
    // search_text must match what the service layer stores.
    let t = tenants::create(
        &db,
        &actor,
        NewTenant {
            name: "Nuvem Host Recife".into(),
            domain: "nuvemhostrecife.com.br".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let stored: String = db
        .scalar("SELECT search_text FROM tenants WHERE id = $1", args![t.id])
        .await
        .unwrap();
    assert_eq!(stored, bulk::search_text(&t.name, &t.slug, &t.domain));

    bulk_tenants(&db, 2000).await.unwrap();
    bulk_tenants(&db, 700).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM tenants").await, 2701);
    let suspended = count(&db, "SELECT COUNT(*) FROM tenants WHERE status = 'suspended'").await;
    let cancelled = count(&db, "SELECT COUNT(*) FROM tenants WHERE status = 'cancelled'").await;
    assert!((150..400).contains(&suspended), "{suspended}");
    assert!((50..250).contains(&cancelled), "{cancelled}");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM audit_log").await,
        1,
        "bulk rows are not audited"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM tenants WHERE search_text <> LOWER(name) || ' ' || slug || ' ' || domain"
        )
        .await,
        0
    );

    let mut q = TenantQuery {
        limit: 100,
        ..Default::default()
    };
    let first = tenants::list(&db, &actor, &q).await.unwrap();
    assert_eq!(first.items.len(), 100);
    assert!(first.has_next);
    q.at = PageAt::After(first.last.clone().unwrap());
    let second = tenants::list(&db, &actor, &q).await.unwrap();
    assert_eq!(second.items.len(), 100);
    assert!(second.items.iter().all(|t| !first.items.iter().any(|f| f.id == t.id)));
    let filtered = tenants::list(
        &db,
        &actor,
        &TenantQuery {
            filter: Some("nuvem".into()),
            status: Some("active".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!filtered.items.is_empty());
    assert!(filtered
        .items
        .iter()
        .all(|t| t.status == "active" && t.search_text_contains("nuvem")));
    db.close().await;
}

trait Contains {
    fn search_text_contains(&self, term: &str) -> bool;
}

impl Contains for crate::tenants::Tenant {
    fn search_text_contains(&self, term: &str) -> bool {
        bulk::search_text(&self.name, &self.slug, &self.domain).contains(term)
    }
}
