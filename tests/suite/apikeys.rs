//! API keys on the engine under test: hashed storage, authentication, throttled last-use,
//! scope validation, tenant isolation, and the batch verbs through the real binary.

use backend::apikeys::{self, ApiKeyQuery, CreatedApiKey, NewApiKey, INVALID_KEY, LAST_USED_EVERY};
use backend::audit::{self, AuditQuery};
use backend::authz::Permission;
use backend::db::now;
use backend::page::PageAt;
use backend::{tenants, Actor, Db, Role, ServiceError};
use chrono::TimeDelta;

use crate::cli::{painel, stderr, stdout};
use crate::common::{fresh, new_tenant, operator};

fn new_key(tenant: &str, name: &str, scopes: &[&str]) -> NewApiKey {
    NewApiKey {
        tenant: tenant.into(),
        name: name.into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

async fn two_tenants(db: &Db) -> (tenants::Tenant, tenants::Tenant) {
    let a = tenants::create(db, &operator(), new_tenant("Alpha Host", "alpha.com"))
        .await
        .unwrap();
    let b = tenants::create(db, &operator(), new_tenant("Beta Host", "beta.com"))
        .await
        .unwrap();
    (a, b)
}

async fn create(db: &Db, actor: &Actor, tenant: &str, name: &str) -> CreatedApiKey {
    apikeys::create(db, actor, new_key(tenant, name, &["customers:read", "services:read"]))
        .await
        .unwrap()
}

fn is_refusal(r: Result<backend::apikeys::ApiPrincipal, ServiceError>) -> bool {
    matches!(r, Err(ServiceError::PermissionDenied(m)) if m == INVALID_KEY)
}

#[tokio::test]
async fn the_secret_is_shown_once_and_stored_only_as_a_hash() {
    let t = fresh().await;
    let (a, _) = two_tenants(&t.db).await;
    let c = create(&t.db, &operator(), "alpha-host", "Billing bot").await;
    let secret = c.secret.clone();
    assert!(secret.starts_with(&format!("pk_{}_", c.key.prefix)), "{secret}");
    assert!(secret.len() >= 3 + 8 + 1 + 43);
    assert_eq!(
        (c.key.tenant_id, c.key.status.as_str(), c.key.scopes.clone()),
        (
            a.id,
            "active",
            vec!["customers:read".to_owned(), "services:read".to_owned()]
        )
    );
    assert!(!format!("{c:?}").contains(&secret), "Debug hides the secret");
    let stored: String =
        t.db.scalar("SELECT key_hash FROM api_keys WHERE id = $1", backend::args![c.key.id])
            .await
            .unwrap();
    assert_eq!(stored.len(), 64);
    assert!(!stored.contains(&secret));
    // No read of the key carries the secret or the hash.
    let shown = apikeys::get(&t.db, &operator(), &c.key.prefix).await.unwrap();
    let text = serde_json::to_string(&shown).unwrap();
    assert!(!text.contains(&secret) && !text.contains(&stored) && !text.contains("key_hash"));
    // Nor does the audit row of its creation.
    let rows = audit::list_records(
        &t.db,
        &operator(),
        &AuditQuery {
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items;
    let created = rows.iter().find(|r| r.action == "apikey.create").unwrap();
    let row = serde_json::to_string(created).unwrap();
    assert!(!row.contains(&secret) && !row.contains(&stored), "{row}");
    assert_eq!(created.tenant_id, Some(a.id));
    // On SQLite: the secret's bytes are nowhere in the database files (WAL included), while
    // its hash is — so the search looked in the right place.
    if let Some(path) = t.url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(has(&stored), "the hash is stored");
        assert!(!has(&secret), "the secret is not");
        let (_, tail) = secret.rsplit_once('_').unwrap();
        assert!(!has(tail), "nor its random part");
    }
}

#[tokio::test]
async fn authenticate_accepts_the_key_and_refuses_everything_else_alike() {
    let t = fresh().await;
    let (a, _) = two_tenants(&t.db).await;
    let c = create(&t.db, &operator(), "alpha-host", "Bot").await;
    let p = apikeys::authenticate(&t.db, &c.secret, "203.0.113.5").await.unwrap();
    assert_eq!((p.key_id, p.tenant_id), (c.key.id, a.id));
    assert!(p.allows(Permission::CustomersRead) && !p.allows(Permission::CustomersCreate));
    // Wrong secret with a real prefix, unknown prefix, malformed, empty.
    let mut wrong = c.secret.clone();
    wrong.pop();
    wrong.push(if c.secret.ends_with('A') { 'B' } else { 'A' });
    let unknown = format!("pk_zzzzzzzz_{}", c.secret.rsplit_once('_').unwrap().1);
    for bad in [wrong.as_str(), unknown.as_str(), "pk_nope", "", "Bearer x"] {
        assert!(is_refusal(apikeys::authenticate(&t.db, bad, "x").await), "{bad}");
    }
    // Expired.
    let mut input = new_key("alpha-host", "Short lived", &["customers:read"]);
    input.expires_at = Some(now() + TimeDelta::hours(1));
    let short = apikeys::create(&t.db, &operator(), input).await.unwrap();
    let later = now() + TimeDelta::hours(2);
    assert!(apikeys::authenticate_at(&t.db, &short.secret, "x", now()).await.is_ok());
    assert!(is_refusal(
        apikeys::authenticate_at(&t.db, &short.secret, "x", later).await
    ));
    // Revoked: refused at once, and revoking again is a conflict.
    let r = apikeys::revoke(&t.db, &operator(), &c.key.id.to_string())
        .await
        .unwrap();
    assert_eq!(r.status, "revoked");
    assert!(is_refusal(apikeys::authenticate(&t.db, &c.secret, "x").await));
    assert!(matches!(
        apikeys::revoke(&t.db, &operator(), &c.key.prefix).await,
        Err(ServiceError::Conflict(_))
    ));
    let rows = audit::list_records(
        &t.db,
        &operator(),
        &AuditQuery {
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items;
    let revoked: Vec<_> = rows.iter().filter(|r| r.action == "apikey.revoke").collect();
    assert_eq!(revoked.len(), 1, "the refused second revoke wrote nothing");
    assert_eq!(revoked[0].before.as_ref().unwrap()["status"], "active");
    assert_eq!(revoked[0].after.as_ref().unwrap()["status"], "revoked");
    // A suspended tenant's keys stop working too.
    let b = create(&t.db, &operator(), "alpha-host", "Another").await;
    tenants::suspend(
        &t.db,
        &operator(),
        "alpha-host",
        "unpaid",
        &backend::sensitive::Proof::confirm("alpha-host"),
    )
    .await
    .unwrap();
    assert!(is_refusal(apikeys::authenticate(&t.db, &b.secret, "x").await));
}

#[tokio::test]
async fn last_use_is_recorded_at_most_once_a_minute() {
    let t = fresh().await;
    two_tenants(&t.db).await;
    let c = create(&t.db, &operator(), "alpha-host", "Bot").await;
    let t0 = now();
    let used = |k: &str| {
        let db = t.db.clone();
        let k = k.to_owned();
        async move { apikeys::get(&db, &operator(), &k).await.unwrap() }
    };
    assert_eq!(used(&c.key.prefix).await.last_used_at, None);
    apikeys::authenticate_at(&t.db, &c.secret, "203.0.113.5", t0)
        .await
        .unwrap();
    let k = used(&c.key.prefix).await;
    assert_eq!(
        (k.last_used_at, k.last_used_source.as_deref()),
        (Some(t0), Some("203.0.113.5"))
    );
    let soon = t0 + TimeDelta::seconds(30);
    apikeys::authenticate_at(&t.db, &c.secret, "198.51.100.9", soon)
        .await
        .unwrap();
    let k = used(&c.key.prefix).await;
    assert_eq!(
        (k.last_used_at, k.last_used_source.as_deref()),
        (Some(t0), Some("203.0.113.5")),
        "within a minute nothing is written"
    );
    let later = t0 + LAST_USED_EVERY + TimeDelta::seconds(1);
    apikeys::authenticate_at(&t.db, &c.secret, "198.51.100.9", later)
        .await
        .unwrap();
    let k = used(&c.key.prefix).await;
    assert_eq!(
        (k.last_used_at, k.last_used_source.as_deref()),
        (Some(later), Some("198.51.100.9"))
    );
    assert_eq!(k.updated_at, c.key.updated_at, "use is not a change of the key");
}

#[tokio::test]
async fn scopes_must_be_known_and_within_the_creators_role() {
    let t = fresh().await;
    let (a, _) = two_tenants(&t.db).await;
    let op = operator();
    let err = apikeys::create(
        &t.db,
        &op,
        new_key("alpha-host", "Bot", &["customers:read", "root:all"]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Validation(f) if f.iter().any(|f| f.field == "scopes")),
        "{err}"
    );
    let err = apikeys::create(&t.db, &op, new_key("alpha-host", "Bot", &[]))
        .await
        .unwrap_err();
    assert_eq!(err.fields().first().map(|f| f.field.as_str()), Some("scopes"));
    let err = apikeys::create(&t.db, &op, new_key("alpha-host", "Bot", &["servers:read"]))
        .await
        .unwrap_err();
    assert_eq!(
        err.fields().first().map(|f| f.field.as_str()),
        Some("scopes"),
        "platform-only"
    );
    let mut past = new_key("alpha-host", "Bot", &["customers:read"]);
    past.expires_at = Some(now() - TimeDelta::seconds(1));
    past.burst = Some(0);
    let fields: Vec<String> = apikeys::create(&t.db, &op, past)
        .await
        .unwrap_err()
        .fields()
        .iter()
        .map(|f| f.field.clone())
        .collect();
    assert_eq!(fields, ["expires_at", "burst"]);
    // A tenant admin may grant what its role has, not more: asking for a permission it
    // lacks is escalation, refused as such.
    let admin = Actor::tenant_user("ana", Role::TenantAdmin, a.id);
    let ok = apikeys::create(
        &t.db,
        &admin,
        new_key("alpha-host", "Mine", &["customers:create", "jobs:manage"]),
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");
    for scope in ["tenants:suspend", "tenants:limits", "servers:read"] {
        let err = apikeys::create(&t.db, &admin, new_key("alpha-host", "More", &["customers:read", scope]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::PermissionDenied(ref m) if m.contains(scope)),
            "{scope}: {err}"
        );
    }
    let support = Actor::tenant_user("sam", Role::SupportAgent, a.id);
    assert!(matches!(
        apikeys::create(&t.db, &support, new_key("alpha-host", "Bot", &["customers:read"])).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    let on_call = Actor {
        role: Role::OnCall,
        ..support
    };
    let keys = apikeys::list(
        &t.db,
        &on_call,
        &ApiKeyQuery {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(keys.items.len(), 1, "on-call reads");
    let reseller = Actor::tenant_user("rui", Role::Reseller, a.id);
    assert!(matches!(
        apikeys::list(
            &t.db,
            &reseller,
            &ApiKeyQuery {
                limit: 10,
                ..Default::default()
            }
        )
        .await,
        Err(ServiceError::PermissionDenied(_))
    ));
    let count: i64 =
        t.db.scalar("SELECT COUNT(*) FROM api_keys", backend::args![])
            .await
            .unwrap();
    assert_eq!(count, 1, "refused creations stored nothing");
}

#[tokio::test]
async fn platform_staff_without_manage_cannot_create() {
    let t = fresh().await;
    two_tenants(&t.db).await;
    let on_call = Actor {
        role: Role::OnCall,
        ..operator()
    };
    assert!(matches!(
        apikeys::create(&t.db, &on_call, new_key("alpha-host", "Bot", &["customers:read"])).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    assert!(matches!(
        apikeys::revoke(&t.db, &on_call, "abcdefgh").await,
        Err(ServiceError::PermissionDenied(_))
    ));
}

#[tokio::test]
async fn another_tenants_keys_do_not_exist_for_a_tenant_admin() {
    let t = fresh().await;
    let (a, b) = two_tenants(&t.db).await;
    let ka = create(&t.db, &operator(), "alpha-host", "Alpha bot").await;
    let kb = create(&t.db, &operator(), "beta-host", "Beta bot").await;
    let admin_a = Actor::tenant_user("ana", Role::TenantAdmin, a.id);
    let db_a = t.db.scoped(Some(a.id));
    let page = apikeys::list(
        &db_a,
        &admin_a,
        &ApiKeyQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.items.iter().map(|k| k.id).collect::<Vec<_>>(), [ka.key.id]);
    for key in [kb.key.id.to_string(), kb.key.prefix.clone()] {
        assert!(
            matches!(
                apikeys::get(&db_a, &admin_a, &key).await,
                Err(ServiceError::NotFound { .. })
            ),
            "{key}"
        );
        assert!(
            matches!(
                apikeys::revoke(&db_a, &admin_a, &key).await,
                Err(ServiceError::NotFound { .. })
            ),
            "{key}"
        );
    }
    assert!(matches!(
        apikeys::list(
            &db_a,
            &admin_a,
            &ApiKeyQuery {
                tenant: Some("beta-host".into()),
                limit: 5,
                at: PageAt::First
            }
        )
        .await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        apikeys::create(
            &db_a,
            &admin_a,
            new_key(&b.id.to_string(), "Sneaky", &["customers:read"])
        )
        .await,
        Err(ServiceError::NotFound { .. })
    ));
    assert_eq!(
        apikeys::get(&t.db, &operator(), &kb.key.prefix).await.unwrap().status,
        "active"
    );
    // The platform sees every tenant's keys, or one tenant's.
    let all = apikeys::list(
        &t.db,
        &operator(),
        &ApiKeyQuery {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((all.items[0].tenant_slug.as_str(), all.has_next), ("alpha-host", true));
    let next = apikeys::list(
        &t.db,
        &operator(),
        &ApiKeyQuery {
            limit: 1,
            at: PageAt::After(all.last.unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(next.items[0].id, kb.key.id);
    let only_b = apikeys::list(
        &t.db,
        &operator(),
        &ApiKeyQuery {
            tenant: Some("beta-host".into()),
            limit: 9,
            at: PageAt::First,
        },
    )
    .await
    .unwrap();
    assert_eq!(only_b.items.len(), 1);
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// The `-o json` error object, printed on stderr.
fn error_json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stderr(o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

#[tokio::test]
async fn cli_round_trip_in_every_format_with_exit_codes() {
    let t = fresh().await;
    two_tenants(&t.db).await;
    let args = [
        "apikeys",
        "create",
        "--tenant",
        "alpha-host",
        "--name",
        "Billing bot",
        "--scope",
        "customers:read",
        "--scope",
        "services:read",
        "--expires",
        "2099-01-01T00:00:00Z",
    ];
    let created = painel(&t, &[&["-o", "json"][..], &args].concat());
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    assert!(stderr(&created).contains("only time the key"), "{}", stderr(&created));
    let c = json(&created);
    let secret = c["secret"].as_str().unwrap().to_owned();
    let prefix = c["prefix"].as_str().unwrap().to_owned();
    assert_eq!(c["scopes"], serde_json::json!(["customers:read", "services:read"]));
    assert_eq!(
        c["expires_at"].as_str().map(|s| s.starts_with("2099-01-01")),
        Some(true)
    );
    assert!(apikeys::authenticate(&t.db, &secret, "x").await.is_ok());
    let table = painel(
        &t,
        &[&["-o", "table"][..], &args[..6], &["--scope", "dns:read"]].concat(),
    );
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    assert!(stdout(&table).lines().next().unwrap().starts_with("secret") && stdout(&table).contains("pk_"));
    // Lists never show a secret, in any format.
    for format in ["table", "json", "csv"] {
        let list = painel(&t, &["-o", format, "apikeys", "list"]);
        assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
        let text = stdout(&list);
        assert!(
            text.contains(&prefix) && !text.contains(&secret) && !text.contains("pk_"),
            "{format}: {text}"
        );
    }
    let csv = stdout(&painel(&t, &["-o", "csv", "apikeys", "list", "--tenant", "alpha-host"]));
    assert!(csv.starts_with("id,tenant,name,prefix,scopes,status,"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let shown = painel(&t, &["-o", "json", "apikeys", "show", &prefix]);
    assert_eq!(json(&shown)["status"], "active");
    let revoked = painel(&t, &["-o", "csv", "apikeys", "revoke", &prefix]);
    assert_eq!(revoked.status.code(), Some(0), "{}", stderr(&revoked));
    assert!(stdout(&revoked).contains(",revoked,"));
    assert!(apikeys::authenticate(&t.db, &secret, "x").await.is_err());
    // Exit codes: conflict, not found, invalid (nothing stored).
    let again = painel(&t, &["-o", "json", "apikeys", "revoke", &prefix]);
    assert_eq!(
        (again.status.code(), error_json(&again)["error"]["kind"].as_str()),
        (Some(5), Some("conflict"))
    );
    let missing = painel(&t, &["apikeys", "show", "00000000-0000-0000-0000-000000000000"]);
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
    let bad = painel(
        &t,
        &[
            "-o",
            "json",
            "apikeys",
            "create",
            "--tenant",
            "alpha-host",
            "--name",
            "X2",
            "--scope",
            "nope:x",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(error_json(&bad)["error"]["fields"][0]["field"], "scopes");
    let when = painel(&t, &[&args[..8], &["--expires", "tomorrow"]].concat());
    assert_eq!(when.status.code(), Some(2));
    assert!(stderr(&when).contains("expires_at"), "{}", stderr(&when));
    let count: i64 =
        t.db.scalar("SELECT COUNT(*) FROM api_keys", backend::args![])
            .await
            .unwrap();
    assert_eq!(count, 2);
}
