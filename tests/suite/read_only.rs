//! Read-only mode (issue 9, docs/adr/0016): an account set read-only, and `painel --readonly`,
//! read what their role reads and are refused every change by the service layer's gate.

use backend::identity::accounts;
use backend::tenants;
use backend::{args, identity, Role, ServiceError};

use crate::cli::{painel, stderr, stdout};
use crate::common::{fresh, new_tenant, operator};
use crate::identity::{session, try_login, user, PASSWORD};

fn read_only_refusal<T: std::fmt::Debug>(r: Result<T, ServiceError>) {
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m.contains(backend::authz::READ_ONLY)),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_read_only_account_reads_and_changes_nothing_until_lifted() {
    let t = fresh().await;
    let acme = tenants::create(&t.db, &operator(), new_tenant("Acme", "acme.example.com"))
        .await
        .unwrap();
    user(&t.db, "olga", Role::SuperAdmin).await;
    let set = accounts::set_read_only(&t.db, &operator(), "olga", true).await.unwrap();
    assert!(set.read_only);

    // The session's actor carries the account's setting.
    let s = session(try_login(&t.db, "olga", PASSWORD, None, backend::db::now()).await);
    let auth = identity::authenticate(&t.db, &s.token, "ssh:198.51.100.7")
        .await
        .unwrap();
    let olga = auth.actor;
    assert!(olga.read_only);
    assert_eq!(tenants::get(&t.db, &olga, "acme").await.unwrap().id, acme.id);
    read_only_refusal(tenants::reactivate(&t.db, &olga, "acme").await);
    read_only_refusal(tenants::create(&t.db, &olga, new_tenant("Beta", "beta.example.com")).await);
    // It cannot lift itself: the toggle is a change too.
    read_only_refusal(accounts::set_read_only(&t.db, &olga, "olga", false).await);

    // Both toggles are audited, with the before and after.
    let rows: Vec<(String,)> =
        t.db.fetch_all(
            "SELECT action FROM audit_log WHERE action = $1 ORDER BY seq",
            args!["user.read_only"],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let lifted = accounts::set_read_only(&t.db, &operator(), "olga", false)
        .await
        .unwrap();
    assert!(!lifted.read_only);
    let auth = identity::authenticate(&t.db, &s.token, "ssh:198.51.100.7")
        .await
        .unwrap();
    assert!(!auth.actor.read_only, "the next session check sees the change");
    tenants::create(&t.db, &auth.actor, new_tenant("Beta", "beta.example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_tenant_admin_cannot_toggle_another_tenants_or_a_higher_account() {
    let t = fresh().await;
    user(&t.db, "root2", Role::SuperAdmin).await;
    let acme = tenants::create(&t.db, &operator(), new_tenant("Acme", "acme.example.com"))
        .await
        .unwrap();
    let admin = backend::Actor::tenant_user("ana", Role::TenantAdmin, acme.id);
    let r = accounts::set_read_only(&t.db, &admin, "root2", true).await;
    assert!(matches!(r, Err(ServiceError::NotFound { .. })), "{r:?}");
}

#[tokio::test]
async fn painel_readonly_refuses_changes_in_batch_mode() {
    let t = fresh().await;
    let args = ["tenants", "create", "--name", "Alpha Host", "--domain", "alpha.com"];
    let refused = painel(&t, &[&["--readonly"][..], &args[..]].concat());
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("read-only"), "{}", stderr(&refused));
    let listed = painel(&t, &["--readonly", "-o", "json", "tenants", "list"]);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    assert_eq!(stdout(&listed).trim(), "[]");
    let created = painel(&t, &args);
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
}
