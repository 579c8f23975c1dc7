//! The audit log: writing rows, reading them back, and proving the chain intact.
//!
//! [`record`] is called by every mutating service function inside its own transaction, so a
//! change and its audit entry commit or roll back together. Rows form a hash chain (see
//! docs/adr/0005-audit-chain.md and 0013): each row's `hash` is an HMAC-SHA256, under a key
//! derived from the master key, over the previous row's hash and the row's own canonical
//! content (rows of earlier versions: plain SHA-256, `key_id` NULL), so [`verify`] can name
//! the first row that was altered or removed behind the append-only triggers' back, and
//! signed checkpoints kept outside the database ([`checkpoint`]) expose a cut-off tail, a
//! wiped table or a chain rebuilt by someone without the key.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::db::{now, Backend, Tx};
use crate::error::ServiceError;

/// `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What secret values become in before/after snapshots.
pub const REDACTED: &str = "[redacted]";

/// Key of the PostgreSQL advisory lock that serialises chain appends ("painelAu").
pub const CHAIN_LOCK: i64 = 0x7061_696e_656c_4175;

pub const MAX_PAGE: usize = 500;

/// Rows read per query while verifying: the chain is streamed, never loaded whole.
const VERIFY_PAGE: usize = 1000;

/// What changed: `entity` and `action` are stable identifiers (`tenant`, `tenant.suspend`).
pub struct Change<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

const ENTRY_COLUMNS: &str = "seq, id, at, actor_name, actor_role, tenant_id, \
    (SELECT t.slug FROM tenants t WHERE t.id = audit_log.tenant_id) AS tenant_slug, action, entity, entity_id, source";
const RECORD_COLUMNS: &str = "seq, id, at, actor_user_id, actor_name, actor_role, tenant_id, action, entity, \
    entity_id, before, after, source, prev_hash, hash";

/// Why an append is refused when this process has no audit key but the deployment is keyed.
pub const NO_AUDIT_KEY: &str = "the audit log is keyed with the deployment's master key, which this process does not \
    have (or has not registered): run painel as the deployment's user, set PAINEL_MASTER_KEY, or see `painel keys status`";

/// One audit row as lists show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub actor_role: String,
    pub tenant_id: Option<Uuid>,
    /// The tenant's slug, for the TENANT column (`None`: a platform row, or a deleted tenant).
    pub tenant_slug: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub source: String,
}

/// One whole audit row: what the detail view, `audit show` and `audit export` carry.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_role: String,
    pub tenant_id: Option<Uuid>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub source: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// Appends one row to the chain, in the caller's transaction.
pub async fn record(tx: &mut Tx, actor: &Actor, change: Change<'_>) -> Result<Uuid, ServiceError> {
    let postgres = tx.backend() == Backend::Postgres;
    // Appends must not interleave: two writers reading the same last hash would fork the
    // chain. SQLite write transactions are already exclusive (BEGIN IMMEDIATE); PostgreSQL
    // takes a transaction-scoped advisory lock, released at COMMIT or ROLLBACK.
    if postgres {
        tx.execute("SELECT pg_advisory_xact_lock($1)", args![CHAIN_LOCK])
            .await?;
    }
    // On PostgreSQL through a function with the owner's rights: a tenant-scoped transaction
    // cannot see other tenants' rows under row-level security, but must link to the newest.
    let head = if postgres {
        "SELECT seq, hash, key_id FROM painel_audit_head()"
    } else {
        "SELECT seq, hash, key_id FROM audit_log ORDER BY seq DESC LIMIT 1"
    };
    let last: Option<(i64, Option<String>, Option<String>)> = tx.fetch_optional(head, args![]).await?;
    // Once keyed, never an unkeyed row: a process without the key is refused rather than
    // silently writing a row anyone could have forged.
    let key_id = match tx.audit_keys() {
        Some(k) => Some(k.current_id().to_owned()),
        None => {
            let keyed_head = last.as_ref().is_some_and(|l| l.2.is_some());
            let registered: i64 = tx.scalar("SELECT COUNT(*) FROM master_keys", args![]).await?;
            if keyed_head || registered > 0 {
                return Err(ServiceError::Unavailable(NO_AUDIT_KEY.into()));
            }
            None
        }
    };
    // seq is assigned here, under the lock, rather than by the identity/autoincrement: it is
    // part of the hashed content, and a rolled-back append leaves no gap for verify to mistake
    // for a removed row.
    let (seq, prev_hash) = match last {
        Some((s, h, _)) => (s + 1, h.unwrap_or_else(|| GENESIS.to_owned())),
        None => (1, GENESIS.to_owned()),
    };
    let mut row = AuditRecord {
        seq,
        id: Uuid::now_v7(),
        at: now(),
        actor_user_id: actor.user_id,
        actor_name: actor.name.clone(),
        actor_role: actor.role.as_str().to_owned(),
        tenant_id: change.tenant_id,
        action: change.action.to_owned(),
        entity: change.entity.to_owned(),
        entity_id: change.entity_id,
        before: change.before.map(redact),
        after: change.after.map(redact),
        source: actor.source.clone(),
        prev_hash: None,
        hash: None,
    };
    let hash = match (&key_id, tx.audit_keys()) {
        (Some(id), Some(keys)) => {
            keyed_row_hash(keys, id, &prev_hash, &row).ok_or_else(|| ServiceError::Unavailable(NO_AUDIT_KEY.into()))?
        }
        _ => row_hash(&prev_hash, &row),
    };
    row.prev_hash = Some(prev_hash);
    row.hash = Some(hash);
    let overriding = if postgres { "OVERRIDING SYSTEM VALUE " } else { "" };
    tx.execute(
        &format!(
            "INSERT INTO audit_log ({RECORD_COLUMNS}, key_id) {overriding}VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ),
        args![
            row.seq,
            row.id,
            row.at,
            row.actor_user_id,
            row.actor_name,
            row.actor_role,
            row.tenant_id,
            row.action,
            row.entity,
            row.entity_id,
            row.before,
            row.after,
            row.source,
            row.prev_hash,
            row.hash,
            key_id,
        ],
    )
    .await?;
    Ok(row.id)
}

/// Serialises a record for the before/after columns; a value that cannot be serialised is
/// recorded as null rather than failing the change it describes.
pub fn snapshot<T: Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

mod canonical;
mod checkpoint;
pub mod filter;
mod keys;
mod read;
mod verify;

pub use canonical::*;
pub use checkpoint::*;
pub use keys::{AuditKeys, CHECKPOINT_FILE};
pub use read::*;
pub use verify::*;

#[cfg(test)]
mod tests {
    use super::verify::check_row;
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let a: Value =
            serde_json::from_str(r#"{ "b": 1, "a": {"z": [1, 2, {"y": null, "x": true}], "m": "é\"\n"} }"#).unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"m":"é\"\n","z":[1,2,{"x":true,"y":null}]},"b":1}"#
        );
        let b: Value = serde_json::from_str(r#"{"a":{"m":"é\"\n","z":[1,2,{"x":true,"y":null}]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&json!("\u{1}\t")), r#""\u0001\t""#);
        assert_eq!(canonical_json(&json!(-1.5)), "-1.5");
    }

    #[test]
    fn canonical_json_round_trips_through_serde() {
        let v = json!({"k": ["\u{7f}", "\\", 1e20, -0, {"": {}}], "ü": []});
        let text = canonical_json(&v);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        assert_eq!(canonical_json(&back), text);
    }

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let v = json!({
            "name": "Nuvem",
            "password": "hunter2",
            "Admin_Password_Hash": "x",
            "api_token": "t",
            "client_secret": "s",
            "totp_secret_enc": "e",
            "key_enc": "k",
            "key_hash": "h",
            "api_key_hash_prefix": "p",
            "keyboard": "stays",
            "servers": [{"host": "a", "root_token": "r", "meta": {"db_password": "p"}}],
        });
        let r = redact(v);
        for k in [
            "password",
            "Admin_Password_Hash",
            "api_token",
            "client_secret",
            "totp_secret_enc",
            "key_enc",
            "key_hash",
            "api_key_hash_prefix",
        ] {
            assert_eq!(r[k], REDACTED, "{k}");
        }
        assert_eq!(
            (r["name"].as_str(), r["keyboard"].as_str()),
            (Some("Nuvem"), Some("stays"))
        );
        assert_eq!(r["servers"][0]["host"], "a");
        assert_eq!(r["servers"][0]["root_token"], REDACTED);
        assert_eq!(r["servers"][0]["meta"]["db_password"], REDACTED);
    }

    fn row() -> AuditRecord {
        AuditRecord {
            seq: 1,
            id: Uuid::nil(),
            at: DateTime::parse_from_rfc3339("2025-01-02T03:04:05.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            actor_user_id: None,
            actor_name: "ana".into(),
            actor_role: "super_admin".into(),
            tenant_id: None,
            action: "tenant.create".into(),
            entity: "tenant".into(),
            entity_id: Some("x".into()),
            before: None,
            after: Some(json!({"b": 1, "a": 2})),
            source: "tty:/dev/pts/1".into(),
            prev_hash: None,
            hash: None,
        }
    }

    #[test]
    fn hash_covers_prev_hash_and_every_field() {
        let r = row();
        let h = row_hash(GENESIS, &r);
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(h, row_hash(GENESIS, &r.clone()), "deterministic");
        assert_ne!(h, row_hash(&"1".repeat(64), &r));
        let mut reordered = r.clone();
        reordered.after = Some(serde_json::from_str(r#"{"a":2,"b":1}"#).unwrap());
        assert_eq!(h, row_hash(GENESIS, &reordered), "key order does not matter");
        let mut changed = r.clone();
        changed.source = "ssh:1.2.3.4".into();
        assert_ne!(h, row_hash(GENESIS, &changed));
        let mut changed = r;
        changed.seq = 2;
        assert_ne!(h, row_hash(GENESIS, &changed));
    }

    #[test]
    fn check_row_names_gaps_links_and_content() {
        let mut r = row();
        r.prev_hash = Some(GENESIS.into());
        r.hash = Some(row_hash(GENESIS, &r));
        assert_eq!(check_row(&r, 0, GENESIS), None);
        assert!(check_row(&r, 0, &"f".repeat(64)).unwrap().contains("prev_hash"));
        let mut later = r.clone();
        later.seq = 3;
        assert!(check_row(&later, 1, GENESIS).unwrap().contains("seq 2 is missing"));
        let mut unhashed = r;
        unhashed.hash = None;
        assert!(check_row(&unhashed, 0, GENESIS).unwrap().contains("no hash"));
    }

    #[test]
    fn keyed_hash_needs_the_key_and_differs_from_the_plain_one() {
        use crate::secrets::{Keys, MasterKey};
        let r = row();
        let keys = AuditKeys::from_keys(&Keys::new(MasterKey::from_bytes([1; 32]), vec![]));
        let other = AuditKeys::from_keys(&Keys::new(MasterKey::from_bytes([2; 32]), vec![]));
        let id = keys.current_id().to_owned();
        let h = keyed_row_hash(&keys, &id, GENESIS, &r).unwrap();
        assert_eq!(h.len(), 64);
        assert_ne!(h, row_hash(GENESIS, &r), "not the plain SHA-256");
        assert_eq!(
            keyed_row_hash(&other, &id, GENESIS, &r),
            None,
            "another key cannot compute it"
        );
        let wrong = keyed_row_hash(&other, other.current_id(), GENESIS, &r).unwrap();
        assert_ne!(h, wrong);
        let mut changed = r;
        changed.action = "tenant.delete".into();
        assert_ne!(h, keyed_row_hash(&keys, &id, GENESIS, &changed).unwrap());
    }

    #[test]
    fn diff_walks_objects_and_reports_changes_in_path_order() {
        let before = json!({"name": "A", "limits": {"max": 1, "min": 0}, "tags": [1]});
        let after = json!({"name": "B", "limits": {"max": 2, "min": 0}, "tags": [1, 2], "new": true});
        let d = diff(Some(&before), Some(&after));
        assert_eq!(
            d,
            vec![
                ("limits.max".into(), json!(1), json!(2)),
                ("name".into(), json!("A"), json!("B")),
                ("new".into(), Value::Null, json!(true)),
                ("tags".into(), json!([1]), json!([1, 2])),
            ]
        );
        let created = diff(None, Some(&json!({"a": 1})));
        assert_eq!(created, vec![("a".into(), Value::Null, json!(1))]);
        assert!(diff(Some(&before), Some(&before)).is_empty());
        assert_eq!(diff(None, Some(&json!(3))), vec![("$".into(), Value::Null, json!(3))]);
    }
}
