//! The reseller tree and role editing, on the engine under test; the `roles` verbs through the
//! real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use backend::browse::{self, BrowseQuery};
use backend::customers::{self, CustomerQuery, NewCustomer};
use backend::identity::accounts::{self, NewUser};
use backend::identity::{self, User};
use backend::jobs::admin::{self, JobQuery};
use backend::sensitive::{self, Proof};
use backend::{args, rbac, Actor, Db, Role, ServiceError};
use chrono::TimeDelta;
use uuid::Uuid;

use crate::cli::{stderr, stdout};
use crate::common::{fresh, new_tenant, operator, TestDb};
use crate::identity::{enable_2fa, keys, session, try_login, PASSWORD};

async fn account(db: &Db, name: &str, role: Role, tenant: Option<Uuid>, parent: Option<Uuid>) -> User {
    accounts::create_user(
        db,
        &operator(),
        NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            password: Some(PASSWORD.into()),
            role: Some(role),
            tenant_id: tenant,
            parent_id: parent,
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm(name),
    )
    .await
    .unwrap()
}

fn actor_of(u: &User) -> Actor {
    u.actor(None, "test").unwrap()
}

fn new_customer(tenant: &str, name: &str, reseller: &str) -> NewCustomer {
    NewCustomer {
        tenant: tenant.into(),
        name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
        reseller: reseller.into(),
        ..Default::default()
    }
}

async fn names(db: &Db, a: &Actor) -> Vec<String> {
    let q = CustomerQuery {
        limit: 100,
        ..Default::default()
    };
    let mut n: Vec<String> = customers::list(db, a, &q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.name)
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn a_reseller_acts_on_its_own_subtree_only() {
    let t = fresh().await;
    let db = &t.db;
    let tenant = backend::tenants::create(db, &operator(), new_tenant("Arvore", "arvore.com.br"))
        .await
        .unwrap();
    let admin = account(db, "tadmin", Role::TenantAdmin, Some(tenant.id), None).await;
    let master = account(db, "master", Role::Master, Some(tenant.id), None).await;
    let r1 = account(db, "rev1", Role::Reseller, Some(tenant.id), Some(master.id)).await;
    let r2 = account(db, "rev2", Role::Reseller, Some(tenant.id), Some(master.id)).await;
    let (m, a1, a2) = (actor_of(&master), actor_of(&r1), actor_of(&r2));
    // A reseller's new customer is its own; a master may create for its reseller.
    let c1 = customers::create(db, &a1, new_customer("arvore", "Um", ""))
        .await
        .unwrap();
    assert_eq!(c1.reseller_id, Some(r1.id));
    let c2 = customers::create(db, &m, new_customer("arvore", "Dois", "rev2"))
        .await
        .unwrap();
    assert_eq!(c2.reseller_id, Some(r2.id));
    customers::create(db, &actor_of(&admin), new_customer("arvore", "Loja", ""))
        .await
        .unwrap();
    // Not for a sibling, nor for someone who is not a reseller of the tenant.
    let before = names(db, &actor_of(&admin)).await;
    match customers::create(db, &a1, new_customer("arvore", "Tres", "rev2")).await {
        Err(ServiceError::PermissionDenied(m)) => assert!(m.contains("own resellers"), "{m}"),
        other => panic!("{other:?}"),
    }
    match customers::create(db, &m, new_customer("arvore", "Quatro", "tadmin")).await {
        Err(ServiceError::Validation(f)) => assert_eq!(f[0].field, "reseller"),
        other => panic!("{other:?}"),
    }
    assert_eq!(names(db, &actor_of(&admin)).await, before, "refusals change nothing");
    assert_eq!(before, ["Dois", "Loja", "Um"]);
    // The master sees its resellers' customers, each reseller only its own.
    assert_eq!(names(db, &m).await, ["Dois", "Um"]);
    assert_eq!(names(db, &a1).await, ["Um"]);
    assert_eq!(names(db, &a2).await, ["Dois"]);
    assert!(customers::get(db, &a1, &c1.id.to_string()).await.is_ok());
    assert!(matches!(
        customers::get(db, &a1, &c2.id.to_string()).await,
        Err(ServiceError::NotFound { .. })
    ));
    // The browse views follow the same tree, through the customer.
    let v = browse::view("customers").unwrap();
    let q = BrowseQuery {
        limit: 50,
        ..Default::default()
    };
    assert_eq!(browse::browse(db, &a2, v, &q).await.unwrap().rows.len(), 1);
    assert_eq!(browse::browse(db, &m, v, &q).await.unwrap().rows.len(), 2);
    assert_eq!(
        browse::browse(db, &actor_of(&admin), v, &q).await.unwrap().rows.len(),
        3
    );
    // Rows with no owner link are out of a reseller's reach.
    let jobs = browse::view("jobs").unwrap();
    assert!(matches!(
        browse::browse(db, &m, jobs, &q).await,
        Err(ServiceError::PermissionDenied(_))
    ));
}

async fn role_perms(db: &Db, role: &str) -> Vec<String> {
    let rows: Vec<(String,)> = db
        .fetch_all(
            "SELECT p.key FROM roles r JOIN role_permissions rp ON rp.role_id = r.id \
             JOIN permissions p ON p.id = rp.permission_id WHERE r.key = $1 AND r.tenant_id IS NULL ORDER BY p.key",
            args![role],
        )
        .await
        .unwrap();
    rows.into_iter().map(|(k,)| k).collect()
}

#[tokio::test]
async fn an_edit_takes_effect_for_the_next_resolved_actor_and_is_audited() {
    let t = fresh().await;
    let db = &t.db;
    let tenant = backend::tenants::create(db, &operator(), new_tenant("Edit", "edit.com.br"))
        .await
        .unwrap();
    account(db, "seller", Role::Reseller, Some(tenant.id), None).await;
    let now = backend::db::now();
    let before = session(try_login(db, "seller", PASSWORD, None, now).await);
    assert!(matches!(
        admin::list(db, &before.actor, &JobQuery::default()).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    // No rows yet: the first edit seeds the catalogue in its own transaction.
    let staff = operator();
    let r = rbac::grant(db, &staff, "reseller", "jobs:read", &Proof::confirm("reseller"))
        .await
        .unwrap();
    assert!(r.permissions.contains(&"jobs:read".to_owned()));
    let after = session(try_login(db, "seller", PASSWORD, None, now).await);
    assert!(admin::list(db, &after.actor, &JobQuery::default()).await.is_ok());
    // Session authentication (every batch command, the TUI's check) loads it too.
    let auth = identity::authenticate(db, &after.token, "test").await.unwrap();
    assert!(admin::list(db, &auth.actor, &JobQuery::default()).await.is_ok());
    let (b, a): (serde_json::Value, serde_json::Value) = db
        .fetch_optional(
            "SELECT before, after FROM audit_log WHERE action = 'role.grant' AND entity_id = 'reseller'",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!b["permissions"].as_array().unwrap().contains(&"jobs:read".into()));
    assert!(a["permissions"].as_array().unwrap().contains(&"jobs:read".into()));
    // Revoking takes a permission away from the next resolution.
    rbac::revoke(db, &staff, "reseller", "customers:read", &Proof::confirm("reseller"))
        .await
        .unwrap();
    let third = session(try_login(db, "seller", PASSWORD, None, now).await);
    assert!(matches!(
        customers::list(db, &third.actor, &CustomerQuery::default()).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    // Platform-only stays platform-only whatever the table says.
    rbac::grant(db, &staff, "reseller", "servers:read", &Proof::confirm("reseller"))
        .await
        .unwrap();
    let fourth = session(try_login(db, "seller", PASSWORD, None, now).await);
    assert!(matches!(
        browse::browse(
            db,
            &fourth.actor,
            browse::view("servers").unwrap(),
            &BrowseQuery::default()
        )
        .await,
        Err(ServiceError::PermissionDenied(_))
    ));
    // Nobody but super_admin may hold roles:manage, and super_admin cannot lose it.
    let perms = role_perms(db, "super_admin").await;
    assert!(matches!(
        rbac::revoke(
            db,
            &staff,
            "super_admin",
            "roles:manage",
            &Proof::confirm("super_admin")
        )
        .await,
        Err(ServiceError::Conflict(_))
    ));
    assert!(matches!(
        rbac::grant(db, &staff, "on_call", "roles:manage", &Proof::confirm("on_call")).await,
        Err(ServiceError::Validation(_))
    ));
    assert!(matches!(
        rbac::grant(db, &staff, "reseller", "jobs:read", &Proof::confirm("reseller")).await,
        Err(ServiceError::Conflict(_))
    ));
    assert_eq!(role_perms(db, "super_admin").await, perms);
    let roles = rbac::list(db, &staff).await.unwrap();
    assert_eq!(roles.len(), 8);
    assert!(roles.iter().all(|r| r.source == "stored"));
}

#[tokio::test]
async fn a_refused_edit_is_audited_and_changes_nothing() {
    let t = fresh().await;
    let db = &t.db;
    account(db, "boss", Role::SuperAdmin, None, None).await;
    // 2FA enabled ten minutes ago: the session's second factor is no longer recent.
    let then = backend::db::now() - TimeDelta::minutes(10);
    let s = session(try_login(db, "boss", PASSWORD, None, then).await);
    enable_2fa(db, &s, then).await;
    let a = identity::authenticate(db, &s.token, "test").await.unwrap().actor;
    rbac::ensure_catalogue(db).await.unwrap();
    let before = role_perms(db, "on_call").await;
    let k = keys();
    match rbac::grant(
        db,
        &a,
        "on_call",
        "jobs:manage",
        &Proof::confirm("on_call").with_code(None, &k),
    )
    .await
    {
        Err(ServiceError::PermissionDenied(m)) => assert_eq!(m, sensitive::NEEDS_CODE),
        other => panic!("{other:?}"),
    }
    match rbac::grant(db, &a, "on_call", "jobs:manage", &Proof::confirm("oncall")).await {
        Err(ServiceError::Validation(f)) => assert_eq!(f[0].field, "confirm"),
        other => panic!("{other:?}"),
    }
    assert_eq!(role_perms(db, "on_call").await, before);
    let reasons: Vec<(serde_json::Value,)> = db
        .fetch_all(
            "SELECT after FROM audit_log WHERE action = 'sensitive.refused' AND entity_id = 'role.grant' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    let reasons: Vec<&str> = reasons.iter().map(|(v,)| v["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["2fa_not_recent", "wrong_confirmation"]);
    let granted: i64 = db
        .scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'role.grant'", args![])
        .await
        .unwrap();
    assert_eq!(granted, 0);
}

fn painel(t: &TestDb, home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url, "--data-dir"])
        .arg(home.join("data"))
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("PAINEL_OPERATOR", "cli-tester")
        .env("PAINEL_SESSION_STORE", "file")
        .env_remove("PAINEL_DATABASE_URL")
        .env_remove("PAINEL_MASTER_KEY")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn roles_verbs_through_the_binary() {
    let t = fresh().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // No accounts yet: the local operator is a super admin; the typed role key is the proof.
    let list = painel(&t, h, &["-o", "json", "roles", "list"], None);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let roles: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(roles.as_array().unwrap().len(), 8);
    assert_eq!(roles[0]["key"], "super_admin");
    let g = painel(
        &t,
        h,
        &[
            "-o",
            "csv",
            "roles",
            "grant",
            "on_call",
            "jobs:manage",
            "--confirm",
            "on_call",
        ],
        None,
    );
    assert_eq!(g.status.code(), Some(0), "{}", stderr(&g));
    assert!(
        stdout(&g).starts_with("key,name,source,permissions\n"),
        "{}",
        stdout(&g)
    );
    assert!(stdout(&g).contains("jobs:manage"), "{}", stdout(&g));
    let again = painel(
        &t,
        h,
        &["roles", "grant", "on_call", "jobs:manage", "--confirm", "on_call"],
        None,
    );
    assert_eq!(again.status.code(), Some(5), "{}", stderr(&again));
    let bad = painel(
        &t,
        h,
        &["roles", "grant", "on_call", "jobs:fly", "--confirm", "on_call"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let wrong = painel(
        &t,
        h,
        &["roles", "revoke", "on_call", "jobs:manage", "--confirm", "reseller"],
        None,
    );
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    let table = painel(&t, h, &["-o", "table", "roles", "list"], None);
    assert!(stdout(&table).contains("on_call"), "{}", stdout(&table));
    // A logged-in on-call account may read roles but not edit them: exit 4.
    account(&t.db, "watcher", Role::OnCall, None, None).await;
    let login = painel(
        &t,
        h,
        &["login", "--username", "watcher", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));
    let read = painel(&t, h, &["-o", "json", "roles", "list"], None);
    assert_eq!(read.status.code(), Some(0), "{}", stderr(&read));
    let denied = painel(
        &t,
        h,
        &["roles", "revoke", "on_call", "jobs:manage", "--confirm", "on_call"],
        None,
    );
    assert_eq!(denied.status.code(), Some(4), "{}", stderr(&denied));
    assert!(stderr(&denied).contains("roles:manage"), "{}", stderr(&denied));
    // The on-call role was edited: its new session may now manage jobs.
    let jobs = painel(
        &t,
        h,
        &[
            "-o",
            "json",
            "jobs",
            "enqueue",
            "--kind",
            "noop",
            "--queue",
            "default",
            "--payload",
            "{}",
        ],
        None,
    );
    assert_eq!(jobs.status.code(), Some(0), "{}", stderr(&jobs));
    let edits: i64 =
        t.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'role.grant'", args![])
            .await
            .unwrap();
    assert_eq!(edits, 1);
}
