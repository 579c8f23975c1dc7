//! PostgreSQL row-level security: connected as an application role that is neither superuser
//! nor BYPASSRLS, raw SQL in a tenant's scope cannot read or write another tenant's rows.
//! SQLite has no row-level security (docs/adr/0009); this runs in the PostgreSQL pass.

use backend::args;
use backend::customers::{self, CustomerQuery, NewCustomer};
use backend::{Actor, Role, ServiceError};
use uuid::Uuid;

use crate::common::{engine, fresh, new_tenant, operator, Engine};

fn customer(tenant: Uuid, name: &str) -> NewCustomer {
    NewCustomer {
        tenant: tenant.to_string(),
        name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
        ..Default::default()
    }
}

#[tokio::test]
async fn raw_sql_in_a_tenant_scope_cannot_reach_another_tenant() {
    if !matches!(engine(), Engine::Postgres) {
        eprintln!("row-level security is PostgreSQL's: checked in the PostgreSQL pass");
        return;
    }
    let t = fresh().await;
    let op = operator();
    let a = backend::tenants::create(&t.db, &op, new_tenant("Acme", "acme.example"))
        .await
        .unwrap();
    let b = backend::tenants::create(&t.db, &op, new_tenant("Bravo", "bravo.example"))
        .await
        .unwrap();
    for (tenant, name) in [(a.id, "Ana"), (a.id, "Artur"), (b.id, "Bruno")] {
        customers::create(&t.db, &op, customer(tenant, name)).await.unwrap();
    }
    // The suite connects as the application role (tests/suite/common.rs), as production does.
    let (app, role) = (t.db.clone(), crate::common::postgres_app_role());
    let flags: (bool, bool) = app
        .fetch_optional(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flags, (false, false), "{role} must obey row-level security");
    // Every start migrates; for the application role, with nothing pending, that is a no-op.
    assert_eq!(app.migrate().await.unwrap(), 0);

    // Platform scope (no setting): every row.
    let all: i64 = app.scalar("SELECT COUNT(*) FROM customers", args![]).await.unwrap();
    assert_eq!(all, 3);

    let in_a = app.scoped(Some(a.id));
    let mut tx = in_a.begin().await.unwrap();
    let seen: i64 = tx.scalar("SELECT COUNT(*) FROM customers", args![]).await.unwrap();
    let theirs: i64 = tx
        .scalar("SELECT COUNT(*) FROM customers WHERE tenant_id = $1", args![b.id])
        .await
        .unwrap();
    let tenants: i64 = tx.scalar("SELECT COUNT(*) FROM tenants", args![]).await.unwrap();
    assert_eq!((seen, theirs, tenants), (2, 0, 1));
    let updated = tx
        .execute(
            "UPDATE customers SET name = 'hijacked' WHERE tenant_id = $1",
            args![b.id],
        )
        .await
        .unwrap();
    let deleted = tx
        .execute("DELETE FROM customers WHERE tenant_id = $1", args![b.id])
        .await
        .unwrap();
    assert_eq!((updated, deleted), (0, 0));
    tx.commit().await.unwrap();

    // Writing a row into the other tenant is refused outright.
    let mut tx = in_a.begin().await.unwrap();
    let insert = tx
        .execute(
            "INSERT INTO customers (id, tenant_id, name, email) VALUES ($1, $2, 'Mole', 'mole@example.com')",
            args![Uuid::now_v7(), b.id],
        )
        .await;
    assert!(
        matches!(
            insert,
            Err(ServiceError::Database(_) | ServiceError::PermissionDenied(_))
        ),
        "{insert:?}"
    );
    tx.rollback().await.unwrap();
    // Moving one's own row to the other tenant too.
    let moved = in_a
        .execute(
            "UPDATE customers SET tenant_id = $1 WHERE tenant_id = $2",
            args![b.id, a.id],
        )
        .await;
    assert!(moved.is_err(), "{moved:?}");

    // A pool-level query through the scoped handle carries the scope as well.
    let pooled: i64 = in_a.scalar("SELECT COUNT(*) FROM customers", args![]).await.unwrap();
    assert_eq!(pooled, 2);
    let names: Vec<(String,)> =
        t.db.fetch_all("SELECT name FROM customers WHERE tenant_id = $1", args![b.id])
            .await
            .unwrap();
    assert_eq!(names, vec![("Bruno".to_owned(),)]);

    // Services through the application role in the tenant's scope still work, and their
    // audit rows link into the one global chain.
    let admin_a = Actor::tenant_user("ana.admin", Role::TenantAdmin, a.id);
    customers::create(&in_a, &admin_a, customer(a.id, "Alice"))
        .await
        .unwrap();
    let listed = customers::list(
        &in_a,
        &admin_a,
        &CustomerQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(listed.items.len(), 3);
    let report = backend::audit::verify(&t.db, &op).await.unwrap();
    assert!(report.ok && report.first_bad.is_none(), "{report:?}");
    let own_audit: i64 = in_a.scalar("SELECT COUNT(*) FROM audit_log", args![]).await.unwrap();
    let all_audit: i64 = t.db.scalar("SELECT COUNT(*) FROM audit_log", args![]).await.unwrap();
    assert!(own_audit >= 1 && own_audit < all_audit, "{own_audit} of {all_audit}");
}

/// Tenant-owned tables (`tenants`, and every table with a `tenant_id` column) that are not
/// under forced row-level security with at least one policy.
async fn unpoliced_tenant_tables(db: &backend::Db) -> (usize, Vec<String>) {
    let rows: Vec<(String, bool, bool, i64)> = db
        .fetch_all(
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
               (SELECT COUNT(*) FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND (c.relname = 'tenants' OR EXISTS \
               (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)) \
             ORDER BY 1",
            args![],
        )
        .await
        .unwrap();
    let bad = rows
        .iter()
        .filter(|(_, enabled, forced, policies)| !(*enabled && *forced && *policies > 0))
        .map(|(name, enabled, forced, policies)| {
            format!("{name} (enabled {enabled}, forced {forced}, {policies} policies)")
        })
        .collect();
    (rows.len(), bad)
}

/// A new tenant-owned table must come with its policy and FORCE (docs/adr/0009): without
/// FORCE the table's owner — and an application role that owns it — reads every tenant.
#[tokio::test]
async fn every_tenant_owned_table_forces_row_level_security() {
    if !matches!(engine(), Engine::Postgres) {
        eprintln!("row-level security is PostgreSQL's: checked in the PostgreSQL pass");
        return;
    }
    let t = fresh().await;
    let (tables, bad) = unpoliced_tenant_tables(&t.db).await;
    assert!(tables >= 20, "the tenant-owned tables are found: {tables}");
    assert!(
        bad.is_empty(),
        "tenant-owned tables without forced row-level security: {bad:?}"
    );

    // The check itself notices a table that lost FORCE.
    t.owner
        .execute("ALTER TABLE customers NO FORCE ROW LEVEL SECURITY", args![])
        .await
        .unwrap();
    let (_, bad) = unpoliced_tenant_tables(&t.db).await;
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("customers "), "{bad:?}");
}
