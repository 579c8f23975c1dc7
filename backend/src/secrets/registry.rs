//! The master keys a deployment has registered (docs/adr/0013): `master_keys` holds each
//! key's id and a key-check value — an HMAC under the key over a fixed label, which proves a
//! key is the registered one and reveals nothing of it. Only a registered current key seals
//! or opens; `keys init` is the one explicit setup that registers the first key, and `keys
//! rotate` registers its successor.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Keys, MasterKey, SecretError, ENCRYPTED_COLUMNS};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, AuditKeys, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Backend, Db, Tx};
use crate::error::ServiceError;

/// The key-check value stored for `key`: 16 bytes of a derived key, as hex.
pub fn check_value(key: &MasterKey) -> String {
    key.derive("key check value")[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One registered key.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Registered {
    pub key_id: String,
    pub check_value: String,
    pub registered_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

const LIST: &str =
    "SELECT key_id, check_value, registered_at, retired_at FROM master_keys ORDER BY registered_at, key_id";

pub(super) async fn list_tx(tx: &mut Tx) -> Result<Vec<Registered>, ServiceError> {
    tx.fetch_all(LIST, args![]).await
}

/// Whether the deployment registered any master key (ran `painel keys init`).
pub async fn any_registered(db: &Db) -> Result<bool, ServiceError> {
    let n: i64 = db.scalar("SELECT COUNT(*) FROM master_keys", args![]).await?;
    Ok(n > 0)
}

/// `keys` restricted to the ones this database registered. The current key must be one of
/// them (with a matching key-check value): sealing or opening under a key the deployment does
/// not know is refused ([`SecretError::Unregistered`]). A database that registered no key yet
/// (an upgrade before `keys init`) gets keys that open what earlier versions sealed but seal
/// nothing ([`Keys::can_seal`] is false), so an operator with 2FA can still log in to set up.
pub async fn registered(db: &Db, keys: &Keys) -> Result<Keys, ServiceError> {
    // A plain read: every process start does this, and a SQLite write transaction would
    // queue it behind writers for nothing.
    let rows: Vec<Registered> = db.fetch_all(LIST, args![]).await?;
    if rows.is_empty() {
        return Ok(keys.before_registration());
    }
    restrict(&rows, keys)
}

pub(super) fn restrict(rows: &[Registered], keys: &Keys) -> Result<Keys, ServiceError> {
    let known = |k: &MasterKey| {
        rows.iter()
            .any(|r| r.key_id == k.id().to_string() && r.check_value == check_value(k))
    };
    if !known(keys.current()) {
        return Err(SecretError::Unregistered(keys.current_id().to_string()).into());
    }
    let retired = keys.all().skip(1).filter(|k| known(k)).cloned().collect();
    Ok(Keys::new(keys.current().clone(), retired))
}

/// Registers `key` inside a rotation's transaction; the key it replaces is marked retired.
pub(super) async fn register_rotation(tx: &mut Tx, old: &MasterKey, new: &MasterKey) -> Result<(), ServiceError> {
    let at = now();
    tx.execute(
        "UPDATE master_keys SET retired_at = $2 WHERE key_id = $1 AND retired_at IS NULL",
        args![old.id().to_string(), at],
    )
    .await?;
    tx.execute(
        "INSERT INTO master_keys (key_id, check_value, registered_at) VALUES ($1, $2, $3)",
        args![new.id().to_string(), check_value(new), at],
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub key_id: String,
    /// False when the key was already registered (a repeated `keys init` changes nothing).
    pub registered: bool,
    /// Values of the earlier row-unbound format re-sealed with their row's id.
    pub resealed: i64,
}

/// `painel keys init`: registers `keys`' current key as the deployment's master key, re-seals
/// every value an earlier version wrote without its row binding, and audits `keys.init` — the
/// first row of the keyed audit chain when the deployment had none. Refused when the database
/// already registered a different key (that is what `keys rotate` is for).
pub async fn init(db: &Db, actor: &Actor, keys: &Keys) -> Result<InitReport, ServiceError> {
    require(actor, Permission::KeysRotate)?;
    let mut tx = db.begin().await?;
    if tx.backend() == Backend::Postgres {
        let mut tables: Vec<&str> = ENCRYPTED_COLUMNS.iter().map(|(t, _)| *t).collect();
        tables.dedup();
        tx.execute(
            &format!("LOCK TABLE master_keys, {} IN EXCLUSIVE MODE", tables.join(", ")),
            args![],
        )
        .await?;
    }
    let rows = list_tx(&mut tx).await?;
    let current = keys.current();
    let id = current.id().to_string();
    let mine = rows.iter().find(|r| r.key_id == id);
    let registered = match mine {
        Some(r) if r.check_value == check_value(current) => false,
        Some(_) => {
            return Err(ServiceError::Conflict(format!(
                "a different key with id {id} is registered; this is not the deployment's master key"
            )))
        }
        None if !rows.is_empty() => {
            let ids: Vec<&str> = rows.iter().map(|r| r.key_id.as_str()).collect();
            return Err(ServiceError::Conflict(format!(
                "this database is set up with master key(s) {}; the configured key {id} is not one of them — \
                 use the deployment's key (as its OS user, or PAINEL_MASTER_KEY), or change keys with `painel keys rotate`",
                ids.join(", ")
            )));
        }
        None => {
            tx.execute(
                "INSERT INTO master_keys (key_id, check_value, registered_at) VALUES ($1, $2, $3)",
                args![id.clone(), check_value(current), now()],
            )
            .await?;
            true
        }
    };
    let mut resealed = 0;
    for (table, column) in ENCRYPTED_COLUMNS {
        resealed += super::rotate::reseal_column(&mut tx, keys, table, column, Keys::is_legacy).await?;
    }
    let report = InitReport {
        key_id: id.clone(),
        registered,
        resealed,
    };
    if registered || resealed > 0 {
        // This very transaction writes the first keyed row: the key is registered above.
        tx.set_audit_keys(Some(AuditKeys::from_keys(keys)));
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "keys.init",
                entity: "master_key",
                entity_id: Some(id),
                tenant_id: None,
                before: None,
                after: audit::snapshot(&report),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::tests_support::seal_v1;
    use uuid::Uuid;

    #[tokio::test]
    async fn init_reseals_values_of_earlier_versions_with_their_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.sqlite").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let keys = Keys::new(MasterKey::from_bytes([8; 32]), vec![]);
        let row = Uuid::now_v7();
        db.execute(
            "INSERT INTO servers (id, name, hostname, ip, api_token_enc) VALUES ($1, 'a', 'a.example.net', '192.0.2.1', $2)",
            args![row, seal_v1(&keys, "servers.api_token_enc", b"old-token")],
        )
        .await
        .unwrap();
        let stored = |db: Db| async move {
            let (v,): (Vec<u8>,) = db
                .fetch_optional("SELECT api_token_enc FROM servers", args![])
                .await
                .unwrap()
                .unwrap();
            v
        };
        let before = stored(db.clone()).await;
        assert!(matches!(
            keys.decrypt("servers.api_token_enc", row, &before),
            Err(SecretError::Legacy)
        ));
        assert!(!any_registered(&db).await.unwrap());
        // Before the setup: what earlier versions sealed still opens, nothing new is sealed.
        let pre = registered(&db, &keys).await.unwrap();
        assert!(!pre.can_seal());
        assert_eq!(
            pre.decrypt("servers.api_token_enc", row, &before).unwrap(),
            b"old-token"
        );
        assert!(matches!(
            pre.encrypt("servers.api_token_enc", row, b"new"),
            Err(SecretError::Unregistered(_))
        ));
        let report = init(&db, &Actor::system("t"), &keys).await.unwrap();
        assert!(report.registered && report.resealed == 1, "{report:?}");
        assert!(any_registered(&db).await.unwrap());
        let after = stored(db.clone()).await;
        assert!(!Keys::is_legacy(&after));
        assert_eq!(
            keys.decrypt("servers.api_token_enc", row, &after).unwrap(),
            b"old-token"
        );
        let again = init(&db, &Actor::system("t"), &keys).await.unwrap();
        assert!(!again.registered && again.resealed == 0);
        let post = registered(&db, &keys).await.unwrap();
        assert!(post.can_seal());
        assert!(matches!(
            post.decrypt("servers.api_token_enc", row, &before),
            Err(SecretError::Legacy)
        ));
    }
}
