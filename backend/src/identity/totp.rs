//! TOTP second factor (RFC 6238: HMAC-SHA-1, 30 s steps, 6 digits, ±1 step) and recovery
//! codes.
//!
//! * Enrolment stores a fresh 160-bit secret, encrypted (`users.totp_secret_enc`), with 2FA
//!   still off; it is switched on only by a correct code, which also issues ten single-use
//!   recovery codes (shown once, stored as SHA-256).
//! * A code is accepted only for a time step later than the last accepted one
//!   (`users.totp_last_step`), so no code works twice — not even its neighbour in the ±1
//!   window.
//! * Every change to the factor itself — enrolling, enabling, disabling, new recovery codes —
//!   needs the password again ([`super::reauth`]); disabling is a sensitive action
//!   ([`crate::sensitive`]) and, like new recovery codes, needs a code in the request itself.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

use super::{account_of, reauth, sha256_hex, user_for_update};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::secrets::{self, Keys};
use crate::sensitive::{self, Proof, Target};

/// The column the secret is sealed for (part of the ciphertext's associated data).
pub const CONTEXT: &str = "users.totp_secret_enc";
pub const ISSUER: &str = "painel";
pub const RECOVERY_CODES: usize = 10;
const SECRET_BYTES: usize = 20;
const RECOVERY_BYTES: usize = 10;

fn totp(secret: &[u8], account: &str) -> Result<Totp, ServiceError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| ServiceError::Database(format!("cannot build TOTP: {e}")))
}

fn unix(t: DateTime<Utc>) -> u64 {
    u64::try_from(t.timestamp()).unwrap_or(0)
}

/// The code an authenticator shows at `at` for a base32 secret (tests and tooling).
pub fn code_at(secret_base32: &str, at: DateTime<Utc>) -> Result<String, ServiceError> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|_| ServiceError::invalid("secret", "not base32"))?;
    Ok(totp(secret.as_ref(), "x")?.generate(unix(at)).to_string())
}

/// What enrolment shows the user once: the secret (base32) and the `otpauth://` URI the QR
/// code carries.
#[derive(Clone, Serialize)]
pub struct Enrollment {
    pub username: String,
    pub secret: String,
    pub uri: String,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("username", &self.username)
            .field("secret", &audit::REDACTED)
            .finish()
    }
}

/// Starts (or restarts) enrolment: a new secret, stored encrypted, 2FA still off. Needs the
/// account's password again ([`reauth`]).
pub async fn enroll(db: &Db, keys: &Keys, actor: &Actor, password: &str) -> Result<Enrollment, ServiceError> {
    let user_id = account_of(actor)?;
    let mut tx = reauth::begin_with_password(db, actor, user_id, password, "user.2fa_enroll", now()).await?;
    let user = user_for_update(&mut tx, user_id).await?;
    if user.totp_enabled {
        return Err(ServiceError::Conflict(format!(
            "2FA is already enabled for {}; disable it first (`painel 2fa disable`)",
            user.username
        )));
    }
    let mut secret = [0u8; SECRET_BYTES];
    secrets::random(&mut secret)?;
    let sealed = keys.encrypt(CONTEXT, user_id, &secret)?;
    tx.execute(
        "UPDATE users SET totp_secret_enc = $2, totp_enabled = $3, totp_last_step = NULL, updated_at = $4 \
         WHERE id = $1",
        args![user_id, sealed, false, now()],
    )
    .await?;
    record(&mut tx, actor, "user.2fa_enroll", &user, json!({"totp": "pending"})).await?;
    let t = totp(&secret, &user.username)?;
    let uri = t
        .to_url()
        .map_err(|e| ServiceError::Database(format!("cannot build otpauth URI: {e}")))?;
    tx.commit().await?;
    Ok(Enrollment {
        username: user.username,
        secret: t.secret().to_base32(),
        uri,
    })
}

/// Turns 2FA on after a correct code for the pending secret and the password again; returns
/// the recovery codes (shown once).
pub async fn enable(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    code: &str,
    password: &str,
) -> Result<Vec<String>, ServiceError> {
    enable_at(db, keys, actor, code, password, now()).await
}

pub async fn enable_at(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    code: &str,
    password: &str,
    at: DateTime<Utc>,
) -> Result<Vec<String>, ServiceError> {
    let user_id = account_of(actor)?;
    let mut tx = reauth::begin_with_password(db, actor, user_id, password, "user.2fa_enable", at).await?;
    let user = user_for_update(&mut tx, user_id).await?;
    if user.totp_enabled {
        return Err(ServiceError::Conflict(format!(
            "2FA is already enabled for {}",
            user.username
        )));
    }
    let (sealed, _) = totp_state(&mut tx, user_id).await?;
    let Some(sealed) = sealed else {
        return Err(ServiceError::Conflict(
            "no 2FA enrolment in progress: run `painel 2fa enroll` first".into(),
        ));
    };
    let secret = keys.decrypt(CONTEXT, user_id, &sealed)?;
    let Some(step) = totp(&secret, &user.username)?.check(&normalize(code), unix(at)) else {
        return Err(ServiceError::PermissionDenied(
            "wrong 2FA code: check the authenticator's clock and try the current code".into(),
        ));
    };
    tx.execute(
        "UPDATE users SET totp_enabled = $2, totp_last_step = $3, updated_at = $4 WHERE id = $1",
        args![user_id, true, step_i64(step), at],
    )
    .await?;
    let codes = replace_recovery_codes(&mut tx, user_id, at).await?;
    mark_session_verified(&mut tx, actor, at).await?;
    record(
        &mut tx,
        actor,
        "user.2fa_enable",
        &user,
        json!({"totp": "enabled", "recovery_codes": codes.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Turns 2FA on for `username` with a secret given here rather than generated: only for the
/// demo's admin, whose secret the README publishes so that any authenticator (or `oathtool
/// --totp -b SECRET`) gives its codes. No recovery codes; audited as `user.2fa_enable`.
pub async fn enable_with_known_secret(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    username: &str,
    secret_base32: &str,
) -> Result<(), ServiceError> {
    let secret =
        Secret::try_from_base32(secret_base32).map_err(|_| ServiceError::invalid("secret", "must be base32"))?;
    let mut tx = db.begin().await?;
    let id: Option<(Uuid,)> = tx
        .fetch_optional("SELECT id FROM users WHERE username = $1", args![username])
        .await?;
    let (id,) = id.ok_or_else(|| ServiceError::not_found("user", username))?;
    let user = user_for_update(&mut tx, id).await?;
    if user.totp_enabled {
        return Err(ServiceError::Conflict(format!("2FA is already enabled for {username}")));
    }
    let sealed = keys.encrypt(CONTEXT, id, secret.as_ref())?;
    tx.execute(
        "UPDATE users SET totp_secret_enc = $2, totp_enabled = $3, totp_last_step = NULL, updated_at = $4 \
         WHERE id = $1",
        args![id, sealed, true, now()],
    )
    .await?;
    record(
        &mut tx,
        actor,
        "user.2fa_enable",
        &user,
        json!({"totp": "enabled", "secret": "published demo secret"}),
    )
    .await?;
    tx.commit().await
}

/// Turns 2FA off: a sensitive action (typed username), with the password again and a current
/// code in this request.
pub async fn disable(db: &Db, actor: &Actor, proof: &Proof<'_>, password: &str) -> Result<(), ServiceError> {
    let user_id = account_of(actor)?;
    let mut tx = reauth::begin_with_password(db, actor, user_id, password, "user.2fa_disable", now()).await?;
    let user = user_for_update(&mut tx, user_id).await?;
    if !user.totp_enabled {
        return Err(ServiceError::Conflict(format!(
            "2FA is not enabled for {}",
            user.username
        )));
    }
    let target = Target {
        action: "user.2fa_disable",
        name: &user.username,
        tenant_id: user.tenant_id,
    };
    let mut tx = sensitive::require_current_code(tx, actor, &target, proof, true).await?;
    tx.execute(
        "UPDATE users SET totp_enabled = $2, totp_secret_enc = NULL, totp_last_step = NULL, updated_at = $3 \
         WHERE id = $1",
        args![user_id, false, now()],
    )
    .await?;
    tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", args![user_id])
        .await?;
    record(&mut tx, actor, "user.2fa_disable", &user, json!({"totp": "disabled"})).await?;
    tx.commit().await?;
    Ok(())
}

/// A new set of recovery codes (the old ones stop working); needs the password again and a
/// current code in this request.
pub async fn regenerate_recovery_codes(
    db: &Db,
    actor: &Actor,
    proof: &Proof<'_>,
    password: &str,
) -> Result<Vec<String>, ServiceError> {
    let user_id = account_of(actor)?;
    let mut tx = reauth::begin_with_password(db, actor, user_id, password, "user.recovery_codes", now()).await?;
    let user = user_for_update(&mut tx, user_id).await?;
    if !user.totp_enabled {
        return Err(ServiceError::Conflict(format!(
            "2FA is not enabled for {}",
            user.username
        )));
    }
    let target = Target {
        action: "user.recovery_codes",
        name: &user.username,
        tenant_id: user.tenant_id,
    };
    let mut tx = sensitive::require_current_code(tx, actor, &target, proof, false).await?;
    let at = now();
    let codes = replace_recovery_codes(&mut tx, user_id, at).await?;
    record(
        &mut tx,
        actor,
        "user.recovery_codes",
        &user,
        json!({"recovery_codes": codes.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    user: &super::User,
    after: serde_json::Value,
) -> Result<(), ServiceError> {
    audit::record(
        tx,
        actor,
        Change {
            action,
            entity: "user",
            entity_id: Some(user.id.to_string()),
            tenant_id: user.tenant_id,
            before: None,
            after: Some(after),
        },
    )
    .await?;
    Ok(())
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// Codes are typed with spaces or dashes ("123 456", "abcd-efgh-…"); compare without them.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

async fn totp_state(tx: &mut Tx, user_id: Uuid) -> Result<(Option<Vec<u8>>, Option<i64>), ServiceError> {
    tx.fetch_optional(
        "SELECT totp_secret_enc, totp_last_step FROM users WHERE id = $1",
        args![user_id],
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("user", user_id.to_string()))
}

async fn replace_recovery_codes(tx: &mut Tx, user_id: Uuid, at: DateTime<Utc>) -> Result<Vec<String>, ServiceError> {
    tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", args![user_id])
        .await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut raw = [0u8; RECOVERY_BYTES];
        secrets::random(&mut raw)?;
        let text = Secret::from(raw.to_vec()).to_base32().to_lowercase();
        let shown: Vec<String> = text
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        tx.execute(
            "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
            args![Uuid::now_v7(), user_id, sha256_hex(&text), at],
        )
        .await?;
        codes.push(shown.join("-"));
    }
    Ok(codes)
}

/// Records on the actor's session that it presented a second factor at `at`.
pub(crate) async fn mark_session_verified(tx: &mut Tx, actor: &Actor, at: DateTime<Utc>) -> Result<(), ServiceError> {
    if let Some(sid) = actor.session_id {
        tx.execute(
            "UPDATE sessions SET totp_verified_at = $2 WHERE id = $1",
            args![sid, at],
        )
        .await?;
    }
    Ok(())
}

/// Checks a second factor for an enabled user and spends it: a TOTP code (its step must be
/// newer than the last accepted one) or an unused recovery code. False when wrong, replayed
/// or spent; state changes happen in `tx`, so a rolled-back caller spends nothing.
pub(crate) async fn check_second_factor(
    tx: &mut Tx,
    keys: Option<&Keys>,
    user_id: Uuid,
    username: &str,
    code: &str,
    at: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let code = normalize(code);
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let (sealed, last) = totp_state(tx, user_id).await?;
        let (Some(sealed), Some(keys)) = (sealed, keys) else {
            return Ok(false);
        };
        let secret = keys.decrypt(CONTEXT, user_id, &sealed)?;
        let Some(step) = totp(&secret, username)?.check(&code, unix(at)) else {
            return Ok(false);
        };
        let step = step_i64(step);
        if last.is_some_and(|l| step <= l) {
            return Ok(false);
        }
        // Conditional, so two logins racing with one code cannot both win: on PostgreSQL the
        // second UPDATE waits for the first's row lock, then re-reads the step and matches
        // nothing.
        let won = tx
            .execute(
                "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                args![user_id, step],
            )
            .await?;
        return Ok(won == 1);
    }
    let spent = tx
        .execute(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            args![user_id, sha256_hex(&code), at],
        )
        .await?;
    Ok(spent == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", T = 59 s → 94287082 (8
        // digits); the 6-digit code is its last six digits.
        let t = totp(b"12345678901234567890", "rfc").unwrap();
        assert_eq!(t.generate(59).to_string(), "287082");
        assert_eq!(t.check("287082", 59 + 30), Some(1), "one step of skew accepted");
        assert_eq!(t.check("287082", 59 + 60), None, "two steps are not");
    }

    #[test]
    fn codes_are_normalised() {
        assert_eq!(normalize(" 123 456 "), "123456");
        assert_eq!(normalize("ABCD-efgh-1234-5678"), "abcdefgh12345678");
    }

    #[test]
    fn code_at_matches_the_secret() {
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let at = DateTime::from_timestamp(59, 0).unwrap();
        assert_eq!(code_at(&secret, at).unwrap(), "287082");
    }
}
