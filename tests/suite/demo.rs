//! The demo data set seeded through the binary on the engine under test (the README advertises
//! `painel demo --seed-only` on PostgreSQL), then every browse view read back — platform-wide,
//! and in one tenant's scope, where PostgreSQL's row-level security applies too.

use std::process::Command;

use backend::browse::{self, BrowseQuery, VIEWS};
use backend::{args, Actor, Role, ServiceError};
use uuid::Uuid;

use crate::cli::{stderr, stdout};
use crate::common::fresh;

#[tokio::test]
async fn the_demo_seeds_through_the_binary_and_every_browse_view_reads_it_back() {
    let t = fresh().await;
    let home = tempfile::tempdir().unwrap();
    let seeded = Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url, "demo", "--seed-only"])
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env_remove("PAINEL_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(seeded.status.code(), Some(0), "{}", stderr(&seeded));
    let report: serde_json::Value = serde_json::from_str(&stdout(&seeded)).unwrap();
    assert_eq!(report["tenants"], 8, "{report}");

    let platform = Actor::system("demo-check");
    let all = |tenant: Option<Uuid>| BrowseQuery {
        tenant,
        limit: 500,
        ..Default::default()
    };
    let mut scoped_views = 0;
    for v in VIEWS {
        let rows = browse::browse(&t.db, &platform, v, &all(None)).await.unwrap().rows;
        assert!(!rows.is_empty(), "{}: the platform sees no demo rows", v.key);
        let Some(col) = v.tenant_col else { continue };
        // A tenant that owns rows of this view, and the platform's count of them.
        let tenant: Uuid = t
            .owner
            .scalar(
                &format!(
                    "SELECT {col} FROM {} WHERE {col} IS NOT NULL ORDER BY 1 LIMIT 1",
                    v.from
                ),
                args![],
            )
            .await
            .unwrap();
        let theirs = browse::browse(&t.db, &platform, v, &all(Some(tenant)))
            .await
            .unwrap()
            .rows;
        let admin = Actor::tenant_user("demo-admin", Role::TenantAdmin, tenant);
        match browse::browse(&t.db.scoped(Some(tenant)), &admin, v, &all(None)).await {
            Ok(table) => {
                assert!(
                    !table.rows.is_empty(),
                    "{}: the tenant's admin sees none of its rows",
                    v.key
                );
                // Same rows; joined platform columns (a migration's target server) may be
                // blank in the tenant's scope.
                assert_eq!(
                    table.rows.len(),
                    theirs.len(),
                    "{}: the scoped read differs from the platform's",
                    v.key
                );
                scoped_views += 1;
            }
            Err(ServiceError::PermissionDenied(_)) => {}
            Err(e) => panic!("{}: {e}", v.key),
        }
    }
    assert!(
        scoped_views >= 8,
        "tenant views read in a tenant's scope: {scoped_views}"
    );
}
