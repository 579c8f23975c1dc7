//! The audit log: writing rows, reading them back, and proving the chain intact.
//!
//! [`record`] is called by every mutating service function inside its own transaction, so a
//! change and its audit entry commit or roll back together. Rows form a hash chain (see
//! docs/adr/0005-audit-chain.md): each row's `hash` is SHA-256 over the previous row's hash
//! and the row's own canonical content, so [`verify`] can name the first row that was altered
//! or removed behind the append-only triggers' back.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Backend, Db, Record, Tx};
use crate::error::ServiceError;
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};

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

const ENTRY_COLUMNS: &str = "seq, id, at, actor_name, actor_role, tenant_id, action, entity, entity_id, source";
const RECORD_COLUMNS: &str = "seq, id, at, actor_user_id, actor_name, actor_role, tenant_id, action, entity, \
    entity_id, before, after, source, prev_hash, hash";

/// One audit row as lists show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub actor_role: String,
    pub tenant_id: Option<Uuid>,
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
    let last: Option<(i64, Option<String>)> = tx
        .fetch_optional("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", args![])
        .await?;
    // seq is assigned here, under the lock, rather than by the identity/autoincrement: it is
    // part of the hashed content, and a rolled-back append leaves no gap for verify to mistake
    // for a removed row.
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h.unwrap_or_else(|| GENESIS.to_owned())),
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
    let hash = row_hash(&prev_hash, &row);
    row.prev_hash = Some(prev_hash);
    row.hash = Some(hash);
    let overriding = if postgres { "OVERRIDING SYSTEM VALUE " } else { "" };
    tx.execute(
        &format!(
            "INSERT INTO audit_log ({RECORD_COLUMNS}) {overriding}VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
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

// ---------------------------------------------------------------------------------------------
// Redaction, canonical form, hashing

/// Keys whose values never reach an audit row: passwords, secrets, tokens, encrypted columns
/// (`*_enc`) and stored key hashes.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.contains("token")
        || k.ends_with("_enc")
        || k.contains("key_hash")
}

/// Replaces the values of secret-named keys with [`REDACTED`], at any depth.
pub fn redact(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(&k) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// A stable JSON text: object keys sorted by their UTF-8 bytes, no insignificant whitespace,
/// strings escaped minimally (`"`, `\`, control characters), numbers as serde_json prints
/// them. Both engines return the same `Value` for what was written (PostgreSQL's jsonb
/// reorders keys), so this text — and the hash over it — is the same whichever reads it.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, v);
    out
}

fn write_canonical(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_canonical(out, &map[k.as_str()]);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The row's own content in a fixed field order, as canonical JSON. `prev_hash` and `hash`
/// are not part of it (the previous hash is chained in by [`row_hash`]).
pub fn canonical_content(r: &AuditRecord) -> String {
    let text = |s: &str| Value::String(s.to_owned());
    let id = |u: Option<Uuid>| u.map_or(Value::Null, |u| Value::String(u.to_string()));
    let fields = Value::Array(vec![
        Value::from(r.seq),
        Value::String(r.id.to_string()),
        Value::String(r.at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        id(r.actor_user_id),
        text(&r.actor_name),
        text(&r.actor_role),
        id(r.tenant_id),
        text(&r.action),
        text(&r.entity),
        r.entity_id.as_deref().map_or(Value::Null, text),
        r.before.clone().unwrap_or(Value::Null),
        r.after.clone().unwrap_or(Value::Null),
        text(&r.source),
    ]);
    canonical_json(&fields)
}

/// SHA-256 (lower-case hex) over `prev_hash`, a newline and the row's canonical content.
pub fn row_hash(prev_hash: &str, r: &AuditRecord) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical_content(r).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Verification

/// The first row that breaks the chain and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows examined (all of them when `ok`; up to and including the bad one otherwise).
    pub rows: i64,
    pub ok: bool,
    pub first_bad: Option<BadRow>,
    /// seq and hash of the last row examined: keep them elsewhere to detect a cut-off tail.
    pub last_seq: Option<i64>,
    pub head_hash: Option<String>,
}

/// Walks the whole chain in seq order, recomputing every hash. Platform staff only: the
/// chain spans every tenant.
pub async fn verify(db: &Db, actor: &Actor) -> Result<VerifyReport, ServiceError> {
    require(actor, Permission::AuditRead)?;
    if !actor.is_platform() {
        return Err(ServiceError::PermissionDenied(format!(
            "{} is confined to one tenant; verifying the audit chain reads every tenant's rows",
            actor.name
        )));
    }
    let mut report = VerifyReport {
        rows: 0,
        ok: true,
        first_bad: None,
        last_seq: None,
        head_hash: None,
    };
    let mut prev_seq = 0i64;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let page: Vec<AuditRecord> = db
            .fetch_all(
                &format!("SELECT {RECORD_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT {VERIFY_PAGE}"),
                args![prev_seq],
            )
            .await?;
        let full = page.len() == VERIFY_PAGE;
        for r in page {
            report.rows += 1;
            report.last_seq = Some(r.seq);
            report.head_hash.clone_from(&r.hash);
            if let Some(reason) = check_row(&r, prev_seq, &prev_hash) {
                report.ok = false;
                report.first_bad = Some(BadRow { seq: r.seq, reason });
                return Ok(report);
            }
            prev_seq = r.seq;
            prev_hash = r.hash.unwrap_or_default();
        }
        if !full {
            return Ok(report);
        }
    }
}

/// Why `r` does not follow the row (`prev_seq`, `prev_hash`), if it does not.
fn check_row(r: &AuditRecord, prev_seq: i64, prev_hash: &str) -> Option<String> {
    if r.seq != prev_seq + 1 {
        let missing = if r.seq - 1 == prev_seq + 1 {
            format!("seq {} is missing", prev_seq + 1)
        } else {
            format!("seq {}..{} are missing", prev_seq + 1, r.seq - 1)
        };
        return Some(format!("{missing}: rows before this one were removed"));
    }
    let Some(hash) = r.hash.as_deref() else {
        return Some("row has no hash (written before the chain existed or forged)".into());
    };
    let stored_prev = r.prev_hash.as_deref().unwrap_or("");
    if stored_prev != prev_hash {
        let of = if prev_seq == 0 {
            "the genesis value".to_owned()
        } else {
            format!("the hash of seq {prev_seq}")
        };
        return Some(format!(
            "prev_hash does not match {of}: a row before this one was removed or rewritten"
        ));
    }
    if row_hash(stored_prev, r) != hash {
        return Some("hash mismatch: this row's content was altered".into());
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Reads

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Exact actor name.
    pub actor_name: Option<String>,
    /// Exact action, or a prefix ending in `*` (`tenant.*`).
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Tenant id or slug.
    pub tenant: Option<String>,
    /// Inclusive lower bound of `at`.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound of `at`.
    pub until: Option<DateTime<Utc>>,
    /// Newest first unless set (exports read oldest first).
    pub oldest_first: bool,
    pub limit: usize,
    pub at: PageAt,
}

fn like_prefix(prefix: &str) -> String {
    let mut out = String::new();
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn resolve_tenant(db: &Db, key: &str) -> Result<Uuid, ServiceError> {
    if let Ok(id) = Uuid::parse_str(key) {
        return Ok(id);
    }
    let id: Option<(Uuid,)> = db
        .fetch_optional(
            "SELECT id FROM tenants WHERE slug = $1",
            args![key.to_ascii_lowercase()],
        )
        .await?;
    id.map(|r| r.0).ok_or_else(|| ServiceError::not_found("tenant", key))
}

async fn conditions(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<(Vec<String>, Vec<Arg>), ServiceError> {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut push = |cond: &str, arg: Arg| {
        args.push(arg);
        conds.push(cond.replace("$n", &format!("${}", args.len())));
    };
    // Scoped actors see their tenant's rows only, never global (tenant-less) ones.
    if let Some(scope) = actor.tenant_id {
        push("tenant_id = $n", scope.into());
    }
    if let Some(key) = nonempty(&q.tenant) {
        let id = resolve_tenant(db, key).await?;
        if !actor.sees_tenant(id) {
            return Err(ServiceError::not_found("tenant", key));
        }
        push("tenant_id = $n", id.into());
    }
    if let Some(a) = nonempty(&q.actor_name) {
        push("actor_name = $n", a.into());
    }
    if let Some(a) = nonempty(&q.action) {
        match a.strip_suffix('*') {
            Some(prefix) => push("action LIKE $n ESCAPE '\\'", like_prefix(prefix).into()),
            None => push("action = $n", a.into()),
        }
    }
    if let Some(e) = nonempty(&q.entity) {
        push("entity = $n", e.into());
    }
    if let Some(e) = nonempty(&q.entity_id) {
        push("entity_id = $n", e.into());
    }
    if let Some(t) = q.since {
        push("at >= $n", t.into());
    }
    if let Some(t) = q.until {
        push("at < $n", t.into());
    }
    Ok((conds, args))
}

async fn page_of<T: Record>(
    db: &Db,
    actor: &Actor,
    q: &AuditQuery,
    columns: &str,
    seq: fn(&T) -> i64,
) -> Result<Page<T>, ServiceError> {
    require(actor, Permission::AuditRead)?;
    let limit = q.limit.clamp(1, MAX_PAGE);
    let (mut conds, mut args) = conditions(db, actor, q).await?;
    let dir = if q.oldest_first { SortDir::Asc } else { SortDir::Desc };
    let order = apply_keyset(&["seq"], dir, &q.at, &mut conds, &mut args)?;
    let sql = format!(
        "SELECT {columns} FROM audit_log {} ORDER BY {order} LIMIT {}",
        where_clause(&conds),
        limit + 1
    );
    let rows: Vec<T> = db.fetch_all(&sql, args).await?;
    Ok(finish(rows, limit, &q.at, |r| Cursor(vec![KeyPart::Int(seq(r))])))
}

/// A page of audit rows, newest first (keyset on seq), within the actor's scope.
pub async fn list(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<Page<AuditEntry>, ServiceError> {
    page_of(db, actor, q, ENTRY_COLUMNS, |r: &AuditEntry| r.seq).await
}

/// Like [`list`] with whole rows (before/after and hashes): for exports.
pub async fn list_records(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<Page<AuditRecord>, ServiceError> {
    page_of(db, actor, q, RECORD_COLUMNS, |r: &AuditRecord| r.seq).await
}

/// One row by seq number or id, within the actor's scope.
pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<AuditRecord, ServiceError> {
    require(actor, Permission::AuditRead)?;
    let key = key.trim();
    let (cond, arg) = if let Ok(seq) = key.parse::<i64>() {
        ("seq = $1", Arg::from(seq))
    } else if let Ok(id) = Uuid::parse_str(key) {
        ("id = $1", Arg::from(id))
    } else {
        return Err(ServiceError::invalid("key", "must be a seq number or an audit row id"));
    };
    let row: Option<AuditRecord> = db
        .fetch_optional(
            &format!("SELECT {RECORD_COLUMNS} FROM audit_log WHERE {cond}"),
            vec![arg],
        )
        .await?;
    match row {
        Some(r) if actor.tenant_id.is_none() || r.tenant_id == actor.tenant_id => Ok(r),
        _ => Err(ServiceError::not_found("audit row", key)),
    }
}

/// One changed value between two snapshots: its path (`a.b`), old and new (null when absent).
pub type DiffLine = (String, Value, Value);

/// What differs between `before` and `after`, field by field (objects are walked; other
/// values, arrays included, compare whole), in path order.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<DiffLine> {
    let mut out = Vec::new();
    walk(
        "",
        before.unwrap_or(&Value::Null),
        after.unwrap_or(&Value::Null),
        &mut out,
    );
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<DiffLine>) {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(serde_json::Map::new);
    let (x, y) = match (a, b) {
        (Value::Object(x), Value::Object(y)) => (x, y),
        (Value::Object(x), Value::Null) => (x, empty),
        (Value::Null, Value::Object(y)) => (empty, y),
        _ => {
            if a != b {
                let p = if path.is_empty() { "$" } else { path };
                out.push((p.to_owned(), a.clone(), b.clone()));
            }
            return;
        }
    };
    let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    for k in keys {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        walk(
            &p,
            x.get(k.as_str()).unwrap_or(&Value::Null),
            y.get(k.as_str()).unwrap_or(&Value::Null),
            out,
        );
    }
}

#[cfg(test)]
mod tests {
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
        let mut altered = r;
        altered.action = "tenant.delete".into();
        assert!(check_row(&altered, 0, GENESIS).unwrap().contains("altered"));
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
