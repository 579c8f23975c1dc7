//! The key itself and checking it. A key is `pk_<prefix>_<secret>`: the prefix (8 characters)
//! finds the row, the secret is 256 bits from the OS CSPRNG, and the row keeps SHA-256 of the
//! whole key. SHA-256 rather than argon2: the secret is random, not a password, so a slow
//! hash adds nothing against guessing and would cost every API request (docs/adr/0010).

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{scope_list, status_at};
use crate::args;
use crate::authz::Permission;
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::identity::sha256_hex;
use crate::secrets;

/// The one answer for every refused key (unknown prefix, wrong secret, revoked, expired,
/// tenant not active, malformed): callers cannot tell which, so it leaks nothing.
pub const INVALID_KEY: &str = "invalid API key";

/// `last_used_at` is written at most this often per key, so a busy key does not turn every
/// request into a write.
pub const LAST_USED_EVERY: TimeDelta = TimeDelta::minutes(1);

const PREFIX_LEN: usize = 8;
/// Lower-case letters and digits without look-alikes (0/o, 1/l): 32 symbols, so a random byte
/// modulo 32 is unbiased, and no `_`, so the prefix ends at the first `_` after `pk_`.
const PREFIX_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// What a valid key may do: its tenant and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPrincipal {
    pub key_id: Uuid,
    pub tenant_id: Uuid,
    pub scopes: Vec<Permission>,
}

impl ApiPrincipal {
    pub fn allows(&self, p: Permission) -> bool {
        self.scopes.contains(&p)
    }
}

pub(super) struct Fresh {
    pub token: String,
    pub prefix: String,
    pub hash: String,
}

pub(super) fn generate() -> Result<Fresh, ServiceError> {
    let mut p = [0u8; PREFIX_LEN];
    secrets::random(&mut p)?;
    let prefix: String = p
        .iter()
        .map(|b| char::from(PREFIX_ALPHABET[usize::from(*b) % PREFIX_ALPHABET.len()]))
        .collect();
    let mut s = [0u8; 32];
    secrets::random(&mut s)?;
    let token = format!(
        "pk_{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    );
    let hash = sha256_hex(&token);
    Ok(Fresh { token, prefix, hash })
}

/// The prefix of a well-formed key.
fn prefix_of(token: &str) -> Option<&str> {
    let (prefix, secret) = token.strip_prefix("pk_")?.split_once('_')?;
    let ok = prefix.len() == PREFIX_LEN && prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b)) && !secret.is_empty();
    ok.then_some(prefix)
}

#[derive(sqlx::FromRow)]
struct Check {
    id: Uuid,
    tenant_id: Uuid,
    key_hash: String,
    scopes: Value,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    tenant_status: String,
}

/// Checks a bearer key presented from `source` (the client address). Runs unscoped: the
/// tenant is what the key tells us.
pub async fn authenticate(db: &Db, token: &str, source: &str) -> Result<ApiPrincipal, ServiceError> {
    authenticate_at(db, token, source, now()).await
}

pub async fn authenticate_at(
    db: &Db,
    token: &str,
    source: &str,
    at: DateTime<Utc>,
) -> Result<ApiPrincipal, ServiceError> {
    let token = token.trim();
    let row: Option<Check> = match prefix_of(token) {
        Some(prefix) => {
            db.fetch_optional(
                "SELECT k.id, k.tenant_id, k.key_hash, k.scopes, k.expires_at, k.revoked_at, k.last_used_at, \
                 t.status AS tenant_status FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.prefix = $1",
                args![prefix],
            )
            .await?
        }
        None => None,
    };
    // The hash is computed and compared whether or not the prefix exists, in constant time,
    // so neither timing nor the answer says which part was wrong.
    let presented = sha256_hex(token);
    let stored = row.as_ref().map_or(DUMMY_HASH, |r| r.key_hash.as_str());
    let same: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
    let refused = || ServiceError::PermissionDenied(INVALID_KEY.into());
    let Some(k) = row.filter(|_| same) else {
        return Err(refused());
    };
    if status_at(k.revoked_at, k.expires_at, at) != "active" || k.tenant_status != "active" {
        return Err(refused());
    }
    if k.last_used_at.is_none_or(|t| t <= at - LAST_USED_EVERY) {
        // The condition is repeated in SQL so concurrent requests write once between them.
        db.execute(
            "UPDATE api_keys SET last_used_at = $2, last_used_source = $3 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $4)",
            args![k.id, at, source, at - LAST_USED_EVERY],
        )
        .await?;
    }
    Ok(ApiPrincipal {
        key_id: k.id,
        tenant_id: k.tenant_id,
        scopes: scope_list(&k.scopes)
            .iter()
            .filter_map(|s| Permission::parse(s))
            .collect(),
    })
}

/// Compared against when the prefix is unknown; no key hashes to it.
const DUMMY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_parse_back() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.token, b.token);
        assert_ne!(a.prefix, b.prefix);
        assert_eq!(a.token.len(), 3 + PREFIX_LEN + 1 + 43, "{}", a.token);
        assert_eq!(prefix_of(&a.token), Some(a.prefix.as_str()));
        assert_eq!(a.hash, sha256_hex(&a.token));
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        for bad in [
            "",
            "pk_",
            "pk_abc_x",
            "pnl_abcdefgh_x",
            "pk_abcdefgh_",
            "pk_ABCDEFGH_x",
            "pk_abcdefgh",
        ] {
            assert_eq!(prefix_of(bad), None, "{bad}");
        }
        assert_eq!(prefix_of("pk_abcdefgh_se_cr-et"), Some("abcdefgh"));
    }
}
