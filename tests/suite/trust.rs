//! Trust boundaries inside the service layer (issue 8, docs/adr/0014): who may create whom,
//! re-authentication before 2FA changes, platform-only limits with a confirmation below
//! usage, tenant-scoped jobs, and the login's per-username serialisation and username checks.

use std::collections::BTreeSet;
use std::time::Duration;

use backend::authz::{default_grants, Grants, Permission};
use backend::identity::accounts::{self, NewUser};
use backend::identity::login::{self, LoginRequest};
use backend::identity::{reauth, totp, LOGIN_FAILED};
use backend::jobs::admin::{self, EnqueueRequest};
use backend::jobs::{self, schedule, Handlers, Job, JobError, NewJob, Worker, WorkerConfig};
use backend::sensitive::{self, Proof};
use backend::tenants::{self, Limits};
use backend::{args, customers, Actor, Db, Role, ServiceError};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::cli::{painel, stderr};
use crate::common::{fresh, new_tenant, operator};
use crate::identity::{keys, session, try_login, user, PASSWORD};

async fn tenant(db: &Db, name: &str) -> Uuid {
    let domain = format!("{}.example.com", name.to_lowercase());
    tenants::create(db, &operator(), new_tenant(name, &domain))
        .await
        .unwrap()
        .id
}

fn new_user(name: &str, role: Role, tenant_id: Option<Uuid>, parent_id: Option<Uuid>) -> NewUser {
    NewUser {
        username: name.into(),
        email: format!("{name}@example.com"),
        password: Some(PASSWORD.into()),
        role: Some(role),
        tenant_id,
        parent_id,
        ..Default::default()
    }
}

/// `role`'s default permissions plus `users:create`, as a super admin's grant would store them.
fn with_users_create(role: Role) -> Grants {
    let mut set: BTreeSet<Permission> = default_grants(role);
    set.insert(Permission::UsersCreate);
    Grants::stored(set)
}

async fn account(db: &Db, name: &str, role: Role, tenant_id: Option<Uuid>, parent: Option<Uuid>) -> Actor {
    let u = accounts::create_user(
        db,
        &operator(),
        new_user(name, role, tenant_id, parent),
        &Proof::confirm(name),
    )
    .await
    .unwrap();
    u.actor(None, "test").unwrap()
}

fn denied<T: std::fmt::Debug>(r: Result<T, ServiceError>) {
    assert!(matches!(r, Err(ServiceError::PermissionDenied(_))), "{r:?}");
}

#[tokio::test]
async fn users_create_stays_at_or_below_the_creators_role_tenant_and_subtree() {
    let t = fresh().await;
    let db = &t.db;
    let (a, b) = (tenant(db, "Alfa").await, tenant(db, "Beta").await);
    let none = Proof::default();
    let create = |actor: Actor, nu: NewUser| {
        let db = db.clone();
        async move { accounts::create_user(&db, &actor, nu, &Proof::default()).await }
    };

    // Platform staff granted users:create is not a super admin in disguise.
    let staff = account(db, "sara", Role::SupportAgent, None, None)
        .await
        .with_grants(with_users_create(Role::SupportAgent));
    denied(create(staff.clone(), new_user("evil", Role::SuperAdmin, None, None)).await);
    denied(create(staff.clone(), new_user("evil", Role::TenantAdmin, Some(a), None)).await);
    denied(create(staff.clone(), new_user("evil", Role::OnCall, None, None)).await);
    let peer = create(staff, new_user("sol", Role::SupportAgent, None, None))
        .await
        .unwrap();
    assert_eq!(peer.role, "support_agent");

    // A tenant admin (users:create by default) works inside its tenant, below super admin.
    let admin = account(db, "tina", Role::TenantAdmin, Some(a), None).await;
    denied(create(admin.clone(), new_user("evil", Role::SuperAdmin, None, None)).await);
    denied(create(admin.clone(), new_user("evil", Role::OnCall, Some(b), None)).await);
    let staff_a = create(admin.clone(), new_user("olga", Role::OnCall, None, None))
        .await
        .unwrap();
    assert_eq!(staff_a.tenant_id, Some(a), "the creator's tenant by default");
    create(admin.clone(), new_user("tito", Role::TenantAdmin, Some(a), None))
        .await
        .unwrap();
    let other_master = account(db, "otto", Role::Master, Some(b), None).await;
    let r = create(admin, new_user("evil", Role::Reseller, Some(a), other_master.user_id)).await;
    assert!(
        matches!(&r, Err(e) if e.fields().first().is_some_and(|f| f.field == "parent")),
        "{r:?}"
    );

    // A master (granted users:create) creates below itself, under its own subtree only.
    let mara = account(db, "mara", Role::Master, Some(a), None)
        .await
        .with_grants(with_users_create(Role::Master));
    let rival = account(db, "rui", Role::Master, Some(a), None).await;
    let child = create(mara.clone(), new_user("rita", Role::Reseller, None, None))
        .await
        .unwrap();
    assert_eq!((child.tenant_id, child.parent_id), (Some(a), mara.user_id));
    create(mara.clone(), new_user("rosa", Role::Reseller, Some(a), Some(child.id)))
        .await
        .unwrap();
    denied(create(mara.clone(), new_user("evil", Role::Reseller, Some(a), rival.user_id)).await);
    denied(create(mara.clone(), new_user("evil", Role::Ultra, Some(a), None)).await);
    denied(create(mara.clone(), new_user("evil", Role::TenantAdmin, Some(a), None)).await);
    denied(create(mara, new_user("evil", Role::Reseller, Some(b), None)).await);
    let evil: i64 = db
        .scalar("SELECT COUNT(*) FROM users WHERE username = 'evil'", args![])
        .await
        .unwrap();
    assert_eq!(evil, 0);

    // A super admin is created only by a platform super admin, through the sensitive gate.
    let root = account(db, "root", Role::SuperAdmin, None, None).await;
    let scoped_root = Actor {
        tenant_id: Some(a),
        ..root.clone()
    };
    denied(create(scoped_root, new_user("boss", Role::SuperAdmin, None, None)).await);
    let r = accounts::create_user(db, &root, new_user("boss", Role::SuperAdmin, None, None), &none).await;
    assert!(r.is_err(), "{r:?}");
    let r = accounts::create_user(
        db,
        &root,
        new_user("boss", Role::SuperAdmin, None, None),
        &Proof::confirm("boss"),
    )
    .await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_ENROLMENT),
        "an account without 2FA cannot: {r:?}"
    );
    let refused: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sensitive.refused' AND entity_id = 'user.create'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(refused, 2);
    // Without accounts behind it (internal work), the typed name is the whole gate.
    accounts::create_user(
        db,
        &operator(),
        new_user("boss", Role::SuperAdmin, None, None),
        &Proof::confirm("boss"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_session_alone_cannot_enrol_or_enable_2fa() {
    let t = fresh().await;
    let db = &t.db;
    user(db, "gil", Role::SupportAgent).await;
    let s = session(try_login(db, "gil", PASSWORD, None, backend::db::now()).await);
    let k = keys();
    let r = totp::enroll(db, &k, &s.actor, "stolen session").await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == reauth::BAD_PASSWORD),
        "{r:?}"
    );
    let pending: Option<(Option<Vec<u8>>,)> = db
        .fetch_optional("SELECT totp_secret_enc FROM users WHERE username = 'gil'", args![])
        .await
        .unwrap();
    assert_eq!(pending, Some((None,)), "nothing enrolled");
    let e = totp::enroll(db, &k, &s.actor, PASSWORD).await.unwrap();
    let code = totp::code_at(&e.secret, backend::db::now()).unwrap();
    let r = totp::enable(db, &k, &s.actor, &code, "stolen session").await;
    assert!(matches!(r, Err(ServiceError::PermissionDenied(_))), "{r:?}");
    // Wrong passwords count like failed logins: after five, even the right one is refused.
    for _ in 0..3 {
        assert!(totp::enroll(db, &k, &s.actor, "guess guess").await.is_err());
    }
    let r = totp::enable(db, &k, &s.actor, &code, PASSWORD).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == reauth::BAD_PASSWORD),
        "locked: {r:?}"
    );
    let (on,): (bool,) = db
        .fetch_optional("SELECT totp_enabled FROM users WHERE username = 'gil'", args![])
        .await
        .unwrap()
        .unwrap();
    assert!(!on);
    let failures: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE username = 'gil' AND success = $1",
            args![false],
        )
        .await
        .unwrap();
    assert_eq!(failures, 6, "five wrong passwords and the refusal while locked");
    let reasons: Vec<(serde_json::Value,)> = db
        .fetch_all(
            "SELECT after FROM audit_log WHERE action = 'sensitive.refused' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    let reasons: Vec<&str> = reasons.iter().map(|(v,)| v["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        [
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "locked"
        ]
    );
}

#[tokio::test]
async fn limits_are_platform_only_and_ask_before_going_below_usage() {
    let t = fresh().await;
    let db = &t.db;
    let id = tenant(db, "Gama").await;
    for i in 0..3 {
        customers::create(
            db,
            &operator(),
            customers::NewCustomer {
                tenant: "gama".into(),
                name: format!("Cliente {i}"),
                email: format!("c{i}@example.com"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let one = Limits {
        max_customers: Some(1),
        ..Default::default()
    };
    // The tenant's own admin cannot lift (or lower) its plan, whatever it tries.
    let admin = Actor::tenant_user("thiago.barbosa", Role::TenantAdmin, id);
    denied(tenants::set_limits(&db.scoped(Some(id)), &admin, "gama", Limits::default(), true).await);
    // Below usage: refused, naming it, until confirmed.
    let r = tenants::set_limits(db, &operator(), "gama", one, false).await;
    match &r {
        Err(ServiceError::NeedsConfirmation(f)) => {
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].field, "max_customers");
            assert!(f[0].message.contains("3 in use"), "{}", f[0].message);
        }
        other => panic!("expected a confirmation request, got {other:?}"),
    }
    assert_eq!(tenants::get(db, &operator(), "gama").await.unwrap().max_customers, None);
    let at_usage = Limits {
        max_customers: Some(3),
        ..Default::default()
    };
    assert_eq!(
        tenants::set_limits(db, &operator(), "gama", at_usage, false)
            .await
            .unwrap()
            .max_customers,
        Some(3)
    );
    let set = tenants::set_limits(db, &operator(), "gama", one, true).await.unwrap();
    assert_eq!(set.max_customers, Some(1));
    let (after,): (serde_json::Value,) = db
        .fetch_optional(
            "SELECT after FROM audit_log WHERE action = 'tenant.limits' ORDER BY seq DESC LIMIT 1",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        after["below_usage_confirmed"]["max_customers"]
            .as_str()
            .is_some_and(|m| m.contains("3 in use")),
        "{after}"
    );

    // The batch verb: refused with exit 5 naming the usage, then set with the flag.
    let cli = painel(&t, &["tenants", "update", "gama", "--max-customers", "2"]);
    assert_eq!(cli.status.code(), Some(5), "{}", stderr(&cli));
    assert!(stderr(&cli).contains("3 in use"), "{}", stderr(&cli));
    let cli = painel(
        &t,
        &[
            "tenants",
            "update",
            "gama",
            "--max-customers",
            "2",
            "--confirm-below-usage",
        ],
    );
    assert_eq!(cli.status.code(), Some(0), "{}", stderr(&cli));
}

fn wrong(username: &str) -> LoginRequest {
    LoginRequest {
        username: username.into(),
        password: "not the password".into(),
        code: None,
        source: "ssh:198.51.100.40".into(),
    }
}

async fn login_failures(db: &Db) -> Vec<String> {
    let rows: Vec<(serde_json::Value,)> = db
        .fetch_all(
            "SELECT after FROM audit_log WHERE action = 'auth.login_failed' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    rows.into_iter()
        .map(|(v,)| v["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn forty_parallel_wrong_passwords_are_counted_exactly() {
    let t = fresh().await;
    user(&t.db, "ivo", Role::SupportAgent).await;
    let at = backend::db::now();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let db = t.db.clone();
            tokio::spawn(async move { login::login_at(&db, None, &wrong("ivo"), at).await })
        })
        .collect();
    for task in tasks {
        match task.await.unwrap() {
            Err(ServiceError::PermissionDenied(m)) => assert_eq!(m, LOGIN_FAILED),
            other => panic!("{other:?}"),
        }
    }
    let reasons = login_failures(&t.db).await;
    assert_eq!(reasons.len(), 40);
    let checked = reasons.iter().filter(|r| *r == "bad_password").count();
    // Only the attempts before the lock got their password checked; each later one saw every
    // failure before it.
    assert_eq!(checked, usize::try_from(login::ACCOUNT.free).unwrap(), "{reasons:?}");
    assert_eq!(reasons.iter().filter(|r| *r == "locked").count(), 35);
}

#[tokio::test]
async fn invalid_login_usernames_are_recorded_only_in_printable_form() {
    let t = fresh().await;
    user(&t.db, "ana", Role::SupportAgent).await;
    let at = backend::db::now();
    let hostile = format!("ana\u{1b}[2J\u{1b}]0;pwned\u{7}{}", "x".repeat(5000));
    for name in [hostile.as_str(), "a", "ana lima", "\u{202e}ana"] {
        let r = login::login_at(&t.db, None, &wrong(name), at).await;
        assert!(
            matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == LOGIN_FAILED),
            "{r:?}"
        );
    }
    let names: Vec<(String,)> =
        t.db.fetch_all("SELECT username FROM login_attempts ORDER BY at, id", args![])
            .await
            .unwrap();
    assert_eq!(names.len(), 4);
    for (n,) in &names {
        assert!(n.chars().count() <= 65, "{n}");
        assert!(n.chars().all(|c| c.is_ascii_graphic() || c == '…'), "{n:?}");
        assert_ne!(n, "ana", "an invalid name never counts against a real account");
    }
    assert_eq!(names[1].0, "a");
    let audit: Vec<(Option<String>, serde_json::Value)> =
        t.db.fetch_all(
            "SELECT entity_id, after FROM audit_log WHERE action = 'auth.login_failed'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 4);
    for (id, after) in &audit {
        let (id, after) = (id.clone().unwrap_or_default(), after.to_string());
        assert!(
            !id.contains('\u{1b}') && !after.contains('\u{1b}') && !after.contains("\\u001b"),
            "{after}"
        );
        assert!(after.contains("invalid_username"), "{after}");
    }
    // A valid name is still checked as before.
    assert_eq!(login::printable_username("ana"), "ana");
}

fn request(kind: &str, key: Option<&str>) -> EnqueueRequest {
    EnqueueRequest {
        queue: "default".into(),
        kind: kind.into(),
        payload: json!({}),
        unique_key: key.map(str::to_owned),
        ..Default::default()
    }
}

#[tokio::test]
async fn tenants_enqueue_only_their_own_kinds_under_their_own_keys() {
    let t = fresh().await;
    let db = &t.db;
    let (a, b) = (tenant(db, "Delta").await, tenant(db, "Epsilon").await);
    let admin_a = Actor::tenant_user("ana", Role::TenantAdmin, a);
    let admin_b = Actor::tenant_user("bia", Role::TenantAdmin, b);
    let (db_a, db_b) = (db.scoped(Some(a)), db.scoped(Some(b)));
    // Platform work stays with the platform; unknown kinds and the scheduler's keys with nobody.
    denied(admin::enqueue(&db_a, &admin_a, request("jobs.cleanup", None)).await);
    let r = admin::enqueue(db, &operator(), request("no.such.kind", None)).await;
    assert!(
        matches!(&r, Err(e) if e.fields().first().is_some_and(|f| f.field == "kind")),
        "{r:?}"
    );
    for (d, who) in [(&db_a, &admin_a), (db, &operator())] {
        let r = admin::enqueue(d, who, request("noop", Some("schedule:jobs.cleanup"))).await;
        assert!(
            matches!(&r, Err(e) if e.fields().first().is_some_and(|f| f.field == "unique_key")),
            "{r:?}"
        );
    }
    admin::enqueue(db, &operator(), request("jobs.cleanup", None))
        .await
        .unwrap();

    // One key, three owners: each tenant and the platform hold their own job.
    let ja = admin::enqueue(&db_a, &admin_a, request("noop", Some("nightly")))
        .await
        .unwrap();
    let jb = admin::enqueue(&db_b, &admin_b, request("noop", Some("nightly")))
        .await
        .unwrap();
    let jp = admin::enqueue(db, &operator(), request("noop", Some("nightly")))
        .await
        .unwrap();
    assert_eq!((ja.tenant_id, jb.tenant_id, jp.tenant_id), (Some(a), Some(b), None));
    assert!(ja.id != jb.id && jb.id != jp.id && ja.id != jp.id);
    let again = admin::enqueue(&db_a, &admin_a, request("noop", Some("nightly")))
        .await
        .unwrap();
    assert_eq!(again.id, ja.id, "still unique within the tenant");
    let again = admin::enqueue(db, &operator(), request("noop", Some("nightly")))
        .await
        .unwrap();
    assert_eq!(again.id, jp.id, "and among platform jobs");

    // Even a tenant job written straight into the queue cannot squat the scheduler's key.
    let mut tx = db_a.begin().await.unwrap();
    let squat = jobs::enqueue(
        &mut tx,
        NewJob {
            queue: "maintenance".into(),
            kind: "noop".into(),
            payload: json!({}),
            unique_key: Some("schedule:jobs.cleanup".into()),
            tenant_id: Some(a),
            enqueued_by: "ana".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    schedule::ensure_defaults(db).await.unwrap();
    let fired = schedule::run_now(db, &operator(), "jobs.cleanup").await.unwrap();
    assert_ne!(fired.id, squat.id);
    assert_eq!((fired.tenant_id, fired.kind.as_str()), (None, "jobs.cleanup"));
}

fn job(kind: &str, tenant_id: Option<Uuid>, payload: serde_json::Value) -> Job {
    let now = chrono::Utc::now();
    Job {
        id: Uuid::now_v7(),
        queue: "q".into(),
        kind: kind.into(),
        payload,
        status: "running".into(),
        attempts: 1,
        max_attempts: 5,
        run_at: now,
        lease_until: None,
        locked_by: None,
        last_error: None,
        error_history: json!([]),
        unique_key: None,
        tenant_id,
        enqueued_by: "thiago.barbosa".into(),
        created_at: now,
        updated_at: now,
        finished_at: None,
        started_at: None,
    }
}

#[tokio::test]
async fn handlers_act_in_the_jobs_tenant_as_its_enqueuer() {
    let t = fresh().await;
    let db = &t.db;
    let (a, b) = (tenant(db, "Zeta").await, tenant(db, "Eta").await);
    // An old finished job of tenant B that a cleanup run for tenant A must not touch.
    let mut tx = db.begin().await.unwrap();
    let theirs = jobs::enqueue(
        &mut tx,
        NewJob {
            queue: "q".into(),
            kind: "noop".into(),
            payload: json!({}),
            tenant_id: Some(b),
            enqueued_by: "bia".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let long_ago = backend::db::now() - chrono::TimeDelta::days(30);
    db.execute(
        "UPDATE jobs SET status = 'succeeded', finished_at = $2 WHERE id = $1",
        args![theirs.id, long_ago],
    )
    .await
    .unwrap();
    let r = jobs::handlers::jobs_cleanup(job("jobs.cleanup", Some(a), json!({})), db.scoped(Some(a))).await;
    assert!(matches!(r, Err(JobError::Permanent(_))), "{r:?}");
    let left: i64 = db
        .scalar("SELECT COUNT(*) FROM jobs WHERE id = $1", args![theirs.id])
        .await
        .unwrap();
    assert_eq!(left, 1);

    // A tenant's note is written in its tenant, by its enqueuer, never "as the system"; the
    // same key in another tenant is another note.
    let note = |tenant: Uuid| job("audit.note", Some(tenant), json!({"key": "k1", "note": "hi"}));
    let ja = note(a);
    jobs::handlers::audit_note(ja.clone(), db.scoped(Some(a)))
        .await
        .unwrap();
    jobs::handlers::audit_note(ja.clone(), db.scoped(Some(a)))
        .await
        .unwrap();
    jobs::handlers::audit_note(note(b), db.scoped(Some(b))).await.unwrap();
    let rows: Vec<(String, String, Option<Uuid>, String)> = db
        .fetch_all(
            "SELECT actor_name, actor_role, tenant_id, source FROM audit_log WHERE entity = 'note' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        (
            "thiago.barbosa".to_owned(),
            "tenant_admin".to_owned(),
            Some(a),
            format!("job:{}", ja.id)
        )
    );
    assert_eq!(rows[1].2, Some(b));

    // Through a worker with the production handlers: the same, from an enqueue by a tenant.
    let admin = Actor::tenant_user("ana", Role::TenantAdmin, a);
    let queued = admin::enqueue(
        &db.scoped(Some(a)),
        &admin,
        EnqueueRequest {
            queue: "notes".into(),
            kind: "audit.note".into(),
            payload: json!({"key": "via-worker"}),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut cfg = WorkerConfig::new("trust-w", vec!["notes".into()]);
    cfg.poll = Duration::from_millis(20);
    let (stop, stopped) = watch::channel(false);
    let w = tokio::spawn(Worker::new(db.clone(), cfg, Handlers::builtin()).run(stopped));
    let start = std::time::Instant::now();
    loop {
        let j = admin::get(db, &operator(), &queued.id.to_string()).await.unwrap();
        if j.status == "succeeded" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "job stuck: {j:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    w.await.unwrap().unwrap();
    let (name, tenant_id): (String, Option<Uuid>) = db
        .fetch_optional(
            "SELECT actor_name, tenant_id FROM audit_log WHERE entity = 'note' AND entity_id = 'via-worker'",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((name.as_str(), tenant_id), ("ana", Some(a)));
}
