//! Redaction, canonical form, hashing.

use chrono::SecondsFormat;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::*;

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

/// The keyed form: HMAC-SHA256 (hex) under the chain key derived from master key `key_id`,
/// over the same text as [`row_hash`]. `None` when `keys` lacks that master key.
pub fn keyed_row_hash(keys: &AuditKeys, key_id: &str, prev_hash: &str, r: &AuditRecord) -> Option<String> {
    keys.chain_mac(key_id, &[prev_hash.as_bytes(), b"\n", canonical_content(r).as_bytes()])
}
