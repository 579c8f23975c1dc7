//! The storage layer: both dialects' schemas agree, the audit log is append-only in the
//! database itself, migrations are repeatable, concurrent writers do not fail.

use std::collections::BTreeMap;

use backend::args;

use crate::common::{self, fresh, new_tenant, operator};

type Columns = BTreeMap<String, Vec<(String, bool)>>;

#[derive(sqlx::FromRow)]
struct Col {
    table_name: String,
    column_name: String,
    not_null: bool,
}

async fn sqlite_columns(db: &backend::Db) -> Columns {
    let rows: Vec<Col> = db
        .fetch_all(
            "SELECT m.name AS table_name, p.name AS column_name, (p.\"notnull\" = 1 OR p.pk > 0) AS not_null \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
             AND m.name NOT LIKE 'tenant_search%' AND m.name NOT LIKE 'customer_search%' \
             ORDER BY m.name, p.cid",
            args![],
        )
        .await
        .unwrap();
    group(rows)
}

async fn postgres_columns(db: &backend::Db) -> Columns {
    let rows: Vec<Col> = db
        .fetch_all(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, (is_nullable = 'NO') AS not_null \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
             AND table_name NOT LIKE 'tenant\\_search%' \
             ORDER BY table_name, ordinal_position",
            args![],
        )
        .await
        .unwrap();
    group(rows)
}

fn group(rows: Vec<Col>) -> Columns {
    let mut out = Columns::new();
    for r in rows {
        out.entry(r.table_name).or_default().push((r.column_name, r.not_null));
    }
    out
}

#[tokio::test]
async fn both_dialects_have_the_same_tables_and_columns() {
    let lite = common::sqlite().await;
    let lite_cols = sqlite_columns(&lite.db).await;
    for t in [
        "tenants",
        "customers",
        "audit_log",
        "jobs",
        "invoices",
        "lines",
        "migrations",
        "api_keys",
        "settings",
    ] {
        assert!(lite_cols.contains_key(t), "table {t} missing");
    }
    assert!(
        lite_cols.len() >= 35,
        "the whole domain is created: {} tables",
        lite_cols.len()
    );
    let Some(admin) = common::postgres_admin_url() else {
        return;
    };
    let pg = common::postgres(&admin).await;
    let pg_cols = postgres_columns(&pg.db).await;
    let lite_tables: Vec<&String> = lite_cols.keys().collect();
    let pg_tables: Vec<&String> = pg_cols.keys().collect();
    assert_eq!(lite_tables, pg_tables, "table lists differ");
    for (table, cols) in &lite_cols {
        assert_eq!(
            Some(cols),
            pg_cols.get(table),
            "columns of {table} differ (name, not null)"
        );
    }
}

#[tokio::test]
async fn audit_log_rejects_update_and_delete() {
    let t = fresh().await;
    backend::tenants::create(&t.db, &operator(), new_tenant("Audit Co", "audit.com.br"))
        .await
        .unwrap();
    let before: i64 = t.db.scalar("SELECT COUNT(*) FROM audit_log", args![]).await.unwrap();
    assert_eq!(before, 1);
    let update = t.db.execute("UPDATE audit_log SET action = 'forged'", args![]).await;
    assert!(update.is_err(), "UPDATE on audit_log must fail");
    assert!(format!("{:?}", update).contains("append-only"), "{update:?}");
    let delete = t.db.execute("DELETE FROM audit_log", args![]).await;
    assert!(delete.is_err(), "DELETE on audit_log must fail");
    if t.db.backend() == backend::Backend::Postgres {
        assert!(
            t.db.execute("TRUNCATE audit_log", args![]).await.is_err(),
            "TRUNCATE must fail"
        );
    }
    let after: i64 = t.db.scalar("SELECT COUNT(*) FROM audit_log", args![]).await.unwrap();
    let action: String = t.db.scalar("SELECT action FROM audit_log", args![]).await.unwrap();
    assert_eq!((after, action.as_str()), (1, "tenant.create"));
}

#[tokio::test]
async fn migrations_are_repeatable() {
    let t = fresh().await;
    assert_eq!(t.db.migrate().await.unwrap(), 0, "a second run applies nothing");
}

#[tokio::test]
async fn check_constraints_hold_on_both_engines() {
    let t = fresh().await;
    let bad = t
        .db
        .execute(
            "INSERT INTO tenants (id, slug, name, domain, status, created_at, updated_at) VALUES ($1, 'x1', 'X', 'x.com', 'bogus', $2, $2)",
            args![uuid::Uuid::now_v7(), backend::db::now()],
        )
        .await;
    assert!(matches!(bad, Err(backend::ServiceError::Validation(_))), "{bad:?}");
}

#[tokio::test]
async fn concurrent_writers_all_succeed() {
    let t = fresh().await;
    let mut handles = Vec::new();
    for w in 0..4 {
        let db = t.db.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..15 {
                let name = format!("Writer {w} Tenant {i}");
                backend::tenants::create(&db, &operator(), new_tenant(&name, &format!("w{w}t{i}.com.br"))).await?;
            }
            Ok::<_, backend::ServiceError>(())
        }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let n: i64 = t.db.scalar("SELECT COUNT(*) FROM tenants", args![]).await.unwrap();
    let audits: i64 = t.db.scalar("SELECT COUNT(*) FROM audit_log", args![]).await.unwrap();
    assert_eq!((n, audits), (60, 60));
}
