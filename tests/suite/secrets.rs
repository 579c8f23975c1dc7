//! Secrets at rest: every `*_enc` column is covered by key rotation, rotation re-encrypts in
//! one audited transaction, and no secret is stored in clear.

use backend::audit::AuditKeys;
use backend::secrets::{self, Keys, MasterKey, SecretError, ENCRYPTED_COLUMNS};
use backend::sensitive::Proof;
use backend::{args, Db, Role, ServiceError};
use uuid::Uuid;

use crate::common::{self, engine, fresh, operator, Engine};
use crate::identity::{enable_2fa, session, try_login, user, PASSWORD};

/// `keys init` with `keys`: the database registers the key, and the returned handle keys its
/// audit rows with it (as `open_db` does for a process holding the registered key).
pub(crate) async fn registered(db: &Db, keys: &Keys) -> Db {
    secrets::init(db, &operator(), keys).await.unwrap();
    db.clone().with_audit_keys(Some(AuditKeys::from_keys(keys)))
}

pub(crate) async fn add_server(db: &Db, keys: &Keys, name: &str, token: &str) -> Uuid {
    let id = Uuid::now_v7();
    let sealed = keys.encrypt("servers.api_token_enc", id, token.as_bytes()).unwrap();
    db.execute(
        "INSERT INTO servers (id, name, hostname, ip, api_token_enc) VALUES ($1, $2, $3, $4, $5)",
        args![id, name, format!("{name}.example.net"), "192.0.2.20", sealed],
    )
    .await
    .unwrap();
    id
}

async fn add_integration(db: &Db, keys: &Keys, secret: &str) -> Uuid {
    let id = Uuid::now_v7();
    let sealed = keys.encrypt("integrations.secret_enc", id, secret.as_bytes()).unwrap();
    let hook = keys
        .encrypt("integrations.webhook_secret_enc", id, b"whsec_demo")
        .unwrap();
    db.execute(
        "INSERT INTO integrations (id, provider, name, secret_enc, webhook_secret_enc) VALUES ($1, $2, $3, $4, $5)",
        args![id, "stripe", "main", sealed, hook],
    )
    .await
    .unwrap();
    id
}

pub(crate) async fn token_of(db: &Db, id: Uuid) -> Vec<u8> {
    let (v,): (Vec<u8>,) = db
        .fetch_optional("SELECT api_token_enc FROM servers WHERE id = $1", args![id])
        .await
        .unwrap()
        .unwrap();
    v
}

#[tokio::test]
async fn the_rotation_list_is_every_encrypted_column_of_the_schema() {
    let t = fresh().await;
    let sql = match engine() {
        Engine::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name LIKE '%\\_enc' ESCAPE '\\' ORDER BY 1, 2"
        }
        Engine::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND column_name LIKE '%\\_enc' ESCAPE '\\' ORDER BY 1, 2"
        }
    };
    let schema: Vec<(String, String)> = t.db.fetch_all(sql, args![]).await.unwrap();
    let mut listed: Vec<(String, String)> = ENCRYPTED_COLUMNS
        .iter()
        .map(|(t, c)| ((*t).to_owned(), (*c).to_owned()))
        .collect();
    listed.sort();
    assert_eq!(schema, listed);
}

#[tokio::test]
async fn rotation_reencrypts_everything_under_the_new_key_only() {
    let mut t = fresh().await;
    let k1 = MasterKey::from_bytes([1; 32]);
    let k2 = MasterKey::from_bytes([2; 32]);
    let old = Keys::new(k1.clone(), vec![]);
    let server = add_server(&t.db, &old, "whm-gru-01", "WHM-TOKEN-PLAINTEXT-1").await;
    add_integration(&t.db, &old, "sk_live_abc").await;
    let unregistered = secrets::rotate(&t.db, &operator(), &old, &k2, &Proof::confirm(&k1.id().to_string())).await;
    assert!(
        matches!(&unregistered, Err(ServiceError::Unavailable(m)) if m.contains("keys init")),
        "a key the deployment never registered does not rotate: {unregistered:?}"
    );
    t.db = registered(&t.db, &old).await;
    let wrong = secrets::rotate(&t.db, &operator(), &old, &k2, &Proof::confirm("nope")).await;
    assert!(matches!(wrong, Err(ServiceError::Validation(_))), "{wrong:?}");
    assert_eq!(
        secrets::key_id_of(&token_of(&t.db, server).await),
        Some(k1.id()),
        "nothing changed"
    );
    let report = secrets::rotate(&t.db, &operator(), &old, &k2, &Proof::confirm(&k1.id().to_string()))
        .await
        .unwrap();
    let counts: Vec<(&str, &str, i64)> = report
        .columns
        .iter()
        .filter(|c| c.rewrapped > 0)
        .map(|c| (c.table, c.column, c.rewrapped))
        .collect();
    assert_eq!(
        counts,
        [
            ("servers", "api_token_enc", 1),
            ("integrations", "secret_enc", 1),
            ("integrations", "webhook_secret_enc", 1)
        ]
    );
    let value = token_of(&t.db, server).await;
    assert_eq!(secrets::key_id_of(&value), Some(k2.id()));
    let new_only = Keys::new(k2.clone(), vec![]);
    assert_eq!(
        new_only.decrypt("servers.api_token_enc", server, &value).unwrap(),
        b"WHM-TOKEN-PLAINTEXT-1"
    );
    assert!(matches!(
        old.decrypt("servers.api_token_enc", server, &value),
        Err(SecretError::UnknownKey(_))
    ));
    let audit: Vec<(String, Option<String>)> =
        t.db.fetch_all(
            "SELECT action, entity_id FROM audit_log WHERE action IN ('keys.rotate', 'sensitive.refused') ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(
        audit,
        [
            ("sensitive.refused".to_owned(), Some("keys.rotate".to_owned())),
            ("keys.rotate".to_owned(), Some(k2.id().to_string()))
        ]
    );
}

#[tokio::test]
async fn a_value_under_an_unknown_key_aborts_the_whole_rotation() {
    let mut t = fresh().await;
    let k1 = MasterKey::from_bytes([1; 32]);
    let stranger = Keys::new(MasterKey::from_bytes([9; 32]), vec![]);
    let mine = Keys::new(k1.clone(), vec![]);
    t.db = registered(&t.db, &mine).await;
    let a = add_server(&t.db, &mine, "a", "token-a").await;
    add_server(&t.db, &stranger, "b", "token-b").await;
    let r = secrets::rotate(
        &t.db,
        &operator(),
        &mine,
        &MasterKey::from_bytes([2; 32]),
        &Proof::confirm(&k1.id().to_string()),
    )
    .await;
    assert!(
        matches!(&r, Err(ServiceError::Unavailable(m)) if m.contains("servers.api_token_enc")),
        "{r:?}"
    );
    assert_eq!(
        secrets::key_id_of(&token_of(&t.db, a).await),
        Some(k1.id()),
        "rolled back"
    );
    let rotations: i64 =
        t.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'keys.rotate'", args![])
            .await
            .unwrap();
    assert_eq!(rotations, 0);
}

#[tokio::test]
async fn rotation_is_for_platform_super_admins_with_2fa() {
    let mut t = fresh().await;
    // The same keys that sealed the TOTP secrets below.
    let keys = crate::identity::keys();
    t.db = registered(&t.db, &keys).await;
    user(&t.db, "oncall", Role::OnCall).await;
    let s = session(try_login(&t.db, "oncall", PASSWORD, None, backend::db::now()).await);
    let r = secrets::rotate(
        &t.db,
        &s.actor,
        &keys,
        &MasterKey::from_bytes([2; 32]),
        &Proof::confirm("x"),
    )
    .await;
    assert!(matches!(r, Err(ServiceError::PermissionDenied(_))));
    user(&t.db, "boss", Role::SuperAdmin).await;
    let s = session(try_login(&t.db, "boss", PASSWORD, None, backend::db::now()).await);
    let confirm = keys.current_id().to_string();
    let r = secrets::rotate(
        &t.db,
        &s.actor,
        &keys,
        &MasterKey::from_bytes([2; 32]),
        &Proof::confirm(&confirm),
    )
    .await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m.contains("2fa enroll")),
        "{r:?}"
    );
    enable_2fa(&t.db, &s, backend::db::now()).await;
    secrets::rotate(
        &t.db,
        &s.actor,
        &keys,
        &MasterKey::from_bytes([2; 32]),
        &Proof::confirm(&confirm),
    )
    .await
    .unwrap();
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The SQLite file (and its WAL) holds no password, token, TOTP secret or recovery code in
/// clear: grep the bytes.
#[tokio::test]
async fn no_secret_is_in_the_sqlite_file_in_clear() {
    let t = common::sqlite().await;
    let keys = crate::identity::keys();
    user(&t.db, "gina", Role::SuperAdmin).await;
    let now = backend::db::now();
    let s = session(try_login(&t.db, "gina", PASSWORD, None, now).await);
    let (secret, codes) = enable_2fa(&t.db, &s, now).await;
    add_server(&t.db, &keys, "whm-fra-02", "WHMTOKEN-SHOULD-NEVER-APPEAR").await;
    let raw_secret = {
        let (id, sealed): (Uuid, Vec<u8>) =
            t.db.fetch_optional("SELECT id, totp_secret_enc FROM users WHERE username = 'gina'", args![])
                .await
                .unwrap()
                .unwrap();
        keys.decrypt(backend::identity::totp::CONTEXT, id, &sealed).unwrap()
    };
    t.db.execute("PRAGMA wal_checkpoint(TRUNCATE)", args![]).await.unwrap();
    let path = t.url.trim_start_matches("sqlite://").to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    assert!(contains(&bytes, b"gina"), "the grep sees the file's text");
    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("password".into(), PASSWORD.as_bytes().to_vec()),
        ("session token".into(), s.token.as_bytes().to_vec()),
        ("totp secret (base32)".into(), secret.as_bytes().to_vec()),
        ("totp secret (raw)".into(), raw_secret),
        ("server token".into(), b"WHMTOKEN-SHOULD-NEVER-APPEAR".to_vec()),
    ];
    for c in &codes {
        needles.push(("recovery code".into(), c.as_bytes().to_vec()));
        needles.push(("recovery code".into(), c.replace('-', "").into_bytes()));
    }
    for (what, n) in needles {
        assert!(!contains(&bytes, &n), "{what} found in clear in the SQLite file");
    }
}
