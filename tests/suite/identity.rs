//! Accounts, logins, lockout, sessions, TOTP and the sensitive-action gate, on the engine
//! under test. Time is injected (`*_at`), never slept.

use backend::identity::accounts::{self, NewUser};
use backend::identity::login::LoginRequest;
use backend::identity::{self, reauth, sessions, totp, LoginOutcome, NewSession, LOGIN_FAILED};
use backend::secrets::{Keys, MasterKey};
use backend::sensitive::{self, Proof};
use backend::{args, tenants, Db, Role, ServiceError};
use chrono::{DateTime, TimeDelta, Utc};

use crate::common::{fresh, new_tenant, operator};

pub const PASSWORD: &str = "correct horse battery";

pub fn keys() -> Keys {
    Keys::new(MasterKey::from_bytes([7; 32]), vec![])
}

pub async fn user(db: &Db, username: &str, role: Role) -> identity::User {
    accounts::create_user(
        db,
        &operator(),
        NewUser {
            username: username.into(),
            email: format!("{username}@example.com"),
            password: Some(PASSWORD.into()),
            role: Some(role),
            ..Default::default()
        },
        &Proof::confirm(username),
    )
    .await
    .unwrap()
}

fn req(username: &str, password: &str, code: Option<String>, source: &str) -> LoginRequest {
    LoginRequest {
        username: username.into(),
        password: password.into(),
        code,
        source: source.into(),
    }
}

pub async fn try_login(
    db: &Db,
    username: &str,
    password: &str,
    code: Option<String>,
    at: DateTime<Utc>,
) -> Result<LoginOutcome, ServiceError> {
    identity::login_at(
        db,
        Some(&keys()),
        &req(username, password, code, "ssh:198.51.100.7"),
        at,
    )
    .await
}

pub fn session(o: Result<LoginOutcome, ServiceError>) -> Box<NewSession> {
    match o {
        Ok(LoginOutcome::Session(s)) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn failed(o: Result<LoginOutcome, ServiceError>) {
    match o {
        Err(ServiceError::PermissionDenied(m)) => assert_eq!(m, LOGIN_FAILED),
        other => panic!("expected the generic login failure, got {other:?}"),
    }
}

async fn failure_reasons(db: &Db) -> Vec<String> {
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

/// Enrols and enables 2FA for `s`'s user at `at`; returns the base32 secret and the recovery
/// codes.
pub async fn enable_2fa(db: &Db, s: &NewSession, at: DateTime<Utc>) -> (String, Vec<String>) {
    let e = totp::enroll(db, &keys(), &s.actor, PASSWORD).await.unwrap();
    assert!(e.uri.starts_with("otpauth://totp/painel:"), "{}", e.uri);
    assert!(e.uri.contains(&format!("secret={}", e.secret)));
    let code = totp::code_at(&e.secret, at).unwrap();
    let codes = totp::enable_at(db, &keys(), &s.actor, &code, PASSWORD, at)
        .await
        .unwrap();
    (e.secret, codes)
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer_and_are_recorded() {
    let t = fresh().await;
    user(&t.db, "alice", Role::SuperAdmin).await;
    let now = backend::db::now();
    failed(try_login(&t.db, "alice", "wrong password!", None, now).await);
    failed(try_login(&t.db, "mallory", PASSWORD, None, now).await);
    let s = session(try_login(&t.db, " Alice ", PASSWORD, None, now).await);
    assert_eq!((s.user.username.as_str(), s.actor.role), ("alice", Role::SuperAdmin));
    assert_eq!(s.actor.session_id, Some(s.session.id));
    assert_eq!(failure_reasons(&t.db).await, ["bad_password", "unknown_user"]);
    let attempts: Vec<(String, bool)> =
        t.db.fetch_all("SELECT username, success FROM login_attempts ORDER BY at, id", args![])
            .await
            .unwrap();
    assert_eq!(
        attempts,
        [
            ("alice".to_owned(), false),
            ("mallory".to_owned(), false),
            ("alice".to_owned(), true)
        ]
    );
    let leaked: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE CAST(after AS TEXT) LIKE $1",
            args![format!("%{PASSWORD}%")],
        )
        .await
        .unwrap();
    assert_eq!(leaked, 0);
    let stored: (String,) =
        t.db.fetch_optional("SELECT token_hash FROM sessions", args![])
            .await
            .unwrap()
            .unwrap();
    assert_ne!(stored.0, s.token, "only the token's hash is stored");
    assert_eq!(stored.0.len(), 64);
}

#[tokio::test]
async fn account_lockout_doubles_and_expires() {
    let t = fresh().await;
    user(&t.db, "bruno", Role::SupportAgent).await;
    let t0 = backend::db::now();
    let at = |s: i64| t0 + TimeDelta::seconds(s);
    for i in 0..5 {
        failed(try_login(&t.db, "bruno", "nope nope nope", None, at(i)).await);
    }
    // Locked for 30 s after the 5th failure: even the right password fails, generically.
    failed(try_login(&t.db, "bruno", PASSWORD, None, at(5)).await);
    // That was the 6th failure (at 5 s): now locked for 60 s, until 65 s.
    failed(try_login(&t.db, "bruno", PASSWORD, None, at(64)).await);
    // The 7th (at 64 s) locks for 120 s.
    failed(try_login(&t.db, "bruno", PASSWORD, None, at(183)).await);
    // The 8th (at 183 s) locks for 240 s: until 423 s.
    let s = session(try_login(&t.db, "bruno", PASSWORD, None, at(424)).await);
    assert_eq!(s.user.username, "bruno");
    // A success starts the count again.
    failed(try_login(&t.db, "bruno", "nope nope nope", None, at(425)).await);
    session(try_login(&t.db, "bruno", PASSWORD, None, at(426)).await);
    assert_eq!(
        failure_reasons(&t.db).await,
        [
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "bad_password",
            "locked",
            "locked",
            "locked",
            "bad_password"
        ]
    );
}

#[tokio::test]
async fn a_source_spraying_many_accounts_is_locked_out_too() {
    let t = fresh().await;
    user(&t.db, "carla", Role::SuperAdmin).await;
    let t0 = backend::db::now();
    let spray = "ssh:203.0.113.66";
    for i in 0..10 {
        let r = req(&format!("guess{i}"), "password123456", None, spray);
        failed(identity::login_at(&t.db, None, &r, t0 + TimeDelta::seconds(i)).await);
    }
    let from_spray = req("carla", PASSWORD, None, spray);
    failed(identity::login_at(&t.db, None, &from_spray, t0 + TimeDelta::seconds(11)).await);
    let elsewhere = req("carla", PASSWORD, None, "ssh:192.0.2.10");
    session(identity::login_at(&t.db, None, &elsewhere, t0 + TimeDelta::seconds(12)).await);
    // The source's lock expires too (11 failures: 60 s after the last).
    session(identity::login_at(&t.db, None, &from_spray, t0 + TimeDelta::seconds(72)).await);
}

#[tokio::test]
async fn totp_codes_and_recovery_codes_work_once() {
    let t = fresh().await;
    user(&t.db, "dora", Role::SuperAdmin).await;
    let t0 = backend::db::now();
    let s = session(try_login(&t.db, "dora", PASSWORD, None, t0).await);
    let e = totp::enroll(&t.db, &keys(), &s.actor, PASSWORD).await.unwrap();
    assert!(matches!(
        totp::enable_at(&t.db, &keys(), &s.actor, "000000", PASSWORD, t0).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    // Still off until a correct code: logins need no code yet.
    session(try_login(&t.db, "dora", PASSWORD, None, t0).await);
    let first = totp::code_at(&e.secret, t0).unwrap();
    let codes = totp::enable_at(&t.db, &keys(), &s.actor, &first, PASSWORD, t0)
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    assert!(
        codes.iter().all(|c| c.len() == 19 && c.matches('-').count() == 3),
        "{codes:?}"
    );
    assert!(matches!(
        try_login(&t.db, "dora", PASSWORD, None, t0).await,
        Ok(LoginOutcome::CodeRequired)
    ));
    // The code that enabled 2FA cannot log in (same time step: a replay).
    failed(try_login(&t.db, "dora", PASSWORD, Some(first.clone()), t0).await);
    let next = t0 + TimeDelta::seconds(30);
    let second = totp::code_at(&e.secret, next).unwrap();
    let s2 = session(try_login(&t.db, "dora", PASSWORD, Some(second.clone()), next).await);
    assert!(s2.session.totp_verified_at.is_some());
    failed(try_login(&t.db, "dora", PASSWORD, Some(second), next).await);
    // Recovery codes: each once, typed with or without dashes.
    let rc = codes[0].clone();
    session(try_login(&t.db, "dora", PASSWORD, Some(rc.to_uppercase()), next).await);
    failed(try_login(&t.db, "dora", PASSWORD, Some(rc.replace('-', "")), next).await);
    session(try_login(&t.db, "dora", PASSWORD, Some(codes[1].clone()), next).await);
    assert_eq!(failure_reasons(&t.db).await, ["bad_code", "bad_code", "bad_code"]);
    // Stored encrypted and hashed, never in clear.
    let (dora, sealed): (uuid::Uuid, Vec<u8>) =
        t.db.fetch_optional("SELECT id, totp_secret_enc FROM users WHERE username = 'dora'", args![])
            .await
            .unwrap()
            .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(&e.secret));
    assert_eq!(keys().decrypt(totp::CONTEXT, dora, &sealed).unwrap().len(), 20);
    let hashes: Vec<(String,)> =
        t.db.fetch_all("SELECT code_hash FROM recovery_codes", args![])
            .await
            .unwrap();
    assert_eq!(hashes.len(), 10);
    assert!(hashes
        .iter()
        .all(|(h,)| !codes.iter().any(|c| h.contains(&c.replace('-', "")))));
}

#[tokio::test]
async fn expired_and_revoked_sessions_are_refused() {
    let t = fresh().await;
    user(&t.db, "edu", Role::OnCall).await;
    let now = backend::db::now();
    let old = session(try_login(&t.db, "edu", PASSWORD, None, now - TimeDelta::hours(13)).await);
    match identity::authenticate_at(&t.db, &old.token, "test", now).await {
        Err(ServiceError::PermissionDenied(m)) => assert_eq!(m, sessions::EXPIRED),
        other => panic!("{other:?}"),
    }
    let s = session(try_login(&t.db, "edu", PASSWORD, None, now).await);
    let auth = identity::authenticate_at(&t.db, &s.token, "ssh:192.0.2.1", now)
        .await
        .unwrap();
    assert_eq!(
        (auth.actor.name.as_str(), auth.actor.role, auth.actor.source.as_str()),
        ("edu", Role::OnCall, "ssh:192.0.2.1")
    );
    assert!(identity::logout(&t.db, &s.token, "test").await.unwrap().is_some());
    match identity::authenticate_at(&t.db, &s.token, "test", now).await {
        Err(ServiceError::PermissionDenied(m)) => assert_eq!(m, sessions::REVOKED),
        other => panic!("{other:?}"),
    }
    assert!(identity::logout(&t.db, &s.token, "test").await.unwrap().is_none());
    match identity::authenticate_at(&t.db, "pnl_unknown", "test", now).await {
        Err(ServiceError::PermissionDenied(m)) => assert_eq!(m, sessions::NOT_LOGGED_IN),
        other => panic!("{other:?}"),
    }
    // Revoking everywhere: both live sessions go.
    let a = session(try_login(&t.db, "edu", PASSWORD, None, backend::db::now()).await);
    let b = session(try_login(&t.db, "edu", PASSWORD, None, backend::db::now()).await);
    assert_eq!(sessions::revoke_all(&t.db, &a.actor).await.unwrap(), 2);
    assert!(identity::authenticate(&t.db, &b.token, "test").await.is_err());
    let audited: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('auth.logout', 'auth.revoke')",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 3);
}

async fn refusals(db: &Db) -> Vec<String> {
    let rows: Vec<(serde_json::Value,)> = db
        .fetch_all(
            "SELECT after FROM audit_log WHERE action = 'sensitive.refused' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    rows.into_iter()
        .map(|(v,)| {
            format!(
                "{}:{}",
                v["action"].as_str().unwrap_or(""),
                v["reason"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test]
async fn sensitive_actions_need_a_recent_code_and_the_typed_name() {
    let t = fresh().await;
    tenants::create(&t.db, &operator(), new_tenant("Turbo Host", "turbo.com.br"))
        .await
        .unwrap();
    user(&t.db, "fabio", Role::SuperAdmin).await;
    let now = backend::db::now();
    let ten_ago = now - TimeDelta::minutes(10);
    let s = session(try_login(&t.db, "fabio", PASSWORD, None, ten_ago).await);
    let k = keys();
    let suspend = |proof: Proof<'static>| {
        let db = t.db.clone();
        let actor = s.actor.clone();
        async move { tenants::suspend(&db, &actor, "turbo-host", "chargeback", &proof).await }
    };
    // Without 2FA enrolled, a user account may not do sensitive actions at all.
    let r = suspend(Proof::confirm("turbo-host")).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_ENROLMENT),
        "{r:?}"
    );
    let (secret, _) = enable_2fa(&t.db, &s, ten_ago).await;
    // 2FA was presented ten minutes ago: too old.
    let r = suspend(Proof::confirm("turbo-host")).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_CODE),
        "{r:?}"
    );
    // A wrong or replayed code is refused.
    let stale = totp::code_at(&secret, ten_ago).unwrap();
    let proof = Proof::confirm("turbo-host").with_code(Some(&stale), &k);
    let r = tenants::suspend(&t.db, &s.actor, "turbo-host", "chargeback", &proof).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::BAD_CODE),
        "{r:?}"
    );
    // The wrong name is refused even with a good code, and the code is not spent.
    let fresh_code = totp::code_at(&secret, backend::db::now()).unwrap();
    let proof = Proof::confirm("turbo").with_code(Some(&fresh_code), &k);
    let r = tenants::suspend(&t.db, &s.actor, "turbo-host", "chargeback", &proof).await;
    assert!(
        matches!(&r, Err(e) if e.fields().first().is_some_and(|f| f.field == "confirm")),
        "{r:?}"
    );
    assert_eq!(
        tenants::get(&t.db, &operator(), "turbo-host").await.unwrap().status,
        "active"
    );
    let proof = Proof::confirm("turbo-host").with_code(Some(&fresh_code), &k);
    let done = tenants::suspend(&t.db, &s.actor, "turbo-host", "chargeback", &proof)
        .await
        .unwrap();
    assert_eq!(done.status, "suspended");
    assert_eq!(
        refusals(&t.db).await,
        [
            "tenant.suspend:2fa_not_enrolled",
            "tenant.suspend:2fa_not_recent",
            "tenant.suspend:bad_code",
            "tenant.suspend:wrong_confirmation"
        ]
    );
    // The code just presented covers the next five minutes of sensitive actions, but not
    // switching 2FA off: that needs the password again and a code in this very request, so
    // a stolen session alone cannot do it.
    let off = |confirm: &'static str, code: Option<String>, password: &'static str| {
        let (db, actor, k) = (t.db.clone(), s.actor.clone(), k.clone());
        async move {
            let proof = Proof::confirm(confirm).with_code(code.as_deref(), &k);
            totp::disable(&db, &actor, &proof, password).await
        }
    };
    let r = off("fabio", None, PASSWORD).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_CURRENT_CODE),
        "{r:?}"
    );
    let next = totp::code_at(&secret, backend::db::now() + TimeDelta::seconds(30)).unwrap();
    let r = off("fabio", Some(next.clone()), "wrong password!").await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == reauth::BAD_PASSWORD),
        "{r:?}"
    );
    assert!(off("fabi0", Some(next.clone()), PASSWORD).await.is_err());
    off("fabio", Some(next), PASSWORD).await.unwrap();
    let (enabled, secret_left, codes_left): (bool, Option<Vec<u8>>, i64) = t
        .db
        .fetch_optional(
            "SELECT totp_enabled, totp_secret_enc, (SELECT COUNT(*) FROM recovery_codes) FROM users WHERE username = 'fabio'",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((enabled, secret_left, codes_left), (false, None, 0));
    assert_eq!(
        refusals(&t.db).await.last().map(String::as_str),
        Some("user.2fa_disable:wrong_confirmation")
    );
}

#[tokio::test]
async fn init_creates_only_the_first_account() {
    let t = fresh().await;
    assert!(!identity::has_users(&t.db).await.unwrap());
    let bad = accounts::init(
        &t.db,
        &operator(),
        NewUser {
            username: "root".into(),
            email: "nope".into(),
            password: Some("short".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let fields: Vec<&str> = bad.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["email", "password"]);
    let first = accounts::init(
        &t.db,
        &operator(),
        NewUser {
            username: "Root".into(),
            email: "root@example.com".into(),
            password: Some(PASSWORD.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((first.username.as_str(), first.role.as_str()), ("root", "super_admin"));
    assert!(identity::has_users(&t.db).await.unwrap());
    let again = accounts::init(
        &t.db,
        &operator(),
        NewUser {
            username: "second".into(),
            email: "s@example.com".into(),
            password: Some(PASSWORD.into()),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))));
}

#[tokio::test]
async fn recovery_codes_are_replaced_only_with_a_recent_second_factor() {
    let t = fresh().await;
    user(&t.db, "hana", Role::SupportAgent).await;
    let then = backend::db::now() - TimeDelta::minutes(10);
    let s = session(try_login(&t.db, "hana", PASSWORD, None, then).await);
    let (secret, old_codes) = enable_2fa(&t.db, &s, then).await;
    assert!(matches!(
        totp::enroll(&t.db, &keys(), &s.actor, PASSWORD).await,
        Err(ServiceError::Conflict(_))
    ));
    let r = totp::regenerate_recovery_codes(&t.db, &s.actor, &Proof::default(), PASSWORD).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_CURRENT_CODE),
        "{r:?}"
    );
    let k = keys();
    let code = totp::code_at(&secret, backend::db::now()).unwrap();
    let with_code = Proof::default().with_code(Some(&code), &k);
    let r = totp::regenerate_recovery_codes(&t.db, &s.actor, &with_code, "not my password").await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == reauth::BAD_PASSWORD),
        "{r:?}"
    );
    let new_codes = totp::regenerate_recovery_codes(&t.db, &s.actor, &with_code, PASSWORD)
        .await
        .unwrap();
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
    let now = backend::db::now();
    failed(try_login(&t.db, "hana", PASSWORD, Some(old_codes[0].clone()), now).await);
    session(try_login(&t.db, "hana", PASSWORD, Some(new_codes[0].clone()), now).await);
}

#[tokio::test]
async fn two_logins_racing_with_one_code_cannot_both_win() {
    let t = fresh().await;
    user(&t.db, "ivan", Role::SuperAdmin).await;
    let then = backend::db::now() - TimeDelta::minutes(2);
    let s = session(try_login(&t.db, "ivan", PASSWORD, None, then).await);
    let (secret, _) = enable_2fa(&t.db, &s, then).await;
    let now = backend::db::now();
    let code = totp::code_at(&secret, now).unwrap();
    let (a, b) = tokio::join!(
        try_login(&t.db, "ivan", PASSWORD, Some(code.clone()), now),
        try_login(&t.db, "ivan", PASSWORD, Some(code.clone()), now)
    );
    let wins = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Ok(LoginOutcome::Session(_))))
        .count();
    assert_eq!(wins, 1, "{a:?} / {b:?}");
}
