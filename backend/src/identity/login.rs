//! Logging in, and brute-force protection.
//!
//! Every attempt is a row of `login_attempts`; every failure is also an audit row, written in
//! the same transaction. Lockout is computed from those rows, separately for the account and
//! for the source (IP or SSH client address): after `free` failures, each further failure
//! locks for `base · 2^(n − free)`, capped, counted from the last failure. The account's count
//! restarts after a successful login; the source's counts failures of the last `window` only
//! (a success from a shared jump host must not reset an attacker's count). Whatever went
//! wrong — unknown user, wrong password, wrong or replayed code, locked, disabled — the caller
//! sees [`LOGIN_FAILED`]; the audit row says which.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{password, sessions, totp, NewSession, User, USER_COLUMNS};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Backend, Db, Tx};
use crate::error::ServiceError;
use crate::secrets::Keys;

/// Short enough for one line of the TUI's login form at 80 columns.
pub const LOGIN_FAILED: &str = "login failed: wrong username, password or code, or too many attempts";

/// How fast failures lock.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub free: i64,
    pub base: TimeDelta,
    pub cap: TimeDelta,
    /// Failures older than this no longer count.
    pub window: TimeDelta,
}

pub const ACCOUNT: Policy = Policy {
    free: 5,
    base: TimeDelta::seconds(30),
    cap: TimeDelta::hours(1),
    window: TimeDelta::hours(24),
};

/// Sources get more room: several operators may share one address.
pub const SOURCE: Policy = Policy {
    free: 10,
    base: TimeDelta::seconds(30),
    cap: TimeDelta::hours(1),
    window: TimeDelta::hours(1),
};

/// Until when `failures` failures (the last at `last`) lock, if they do.
pub fn locked_until(p: &Policy, failures: i64, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failures < p.free {
        return None;
    }
    let exp = u32::try_from(failures - p.free).unwrap_or(u32::MAX).min(20);
    let wait = p.base.checked_mul(1 << exp).unwrap_or(p.cap).min(p.cap);
    Some(last + wait)
}

#[derive(Clone, Default)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// A TOTP code or a recovery code, for accounts with 2FA.
    pub code: Option<String>,
    /// IP address, `ssh:<client>` or `tty:<device>` (see `actor::detect_source`).
    pub source: String,
}

/// The password and code never appear in `Debug` output (logs, panics).
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &audit::REDACTED)
            .field("code", &self.code.as_ref().map(|_| audit::REDACTED))
            .field("source", &self.source)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Session(Box<NewSession>),
    /// Username and password were right and the account has 2FA: ask for a code and call
    /// again with it.
    CodeRequired,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    id: Uuid,
    password_hash: Option<String>,
}

/// Which of `username`/`source` a lockout query counts.
async fn lock_state(tx: &mut Tx, column: &str, key: &str, p: &Policy, at: DateTime<Utc>) -> Result<bool, ServiceError> {
    let mut since = at - p.window;
    if column == "username" {
        let last_ok: Option<(DateTime<Utc>,)> = tx
            .fetch_optional(
                "SELECT at FROM login_attempts WHERE username = $1 AND success = $2 AND at <= $3 \
                 ORDER BY at DESC LIMIT 1",
                args![key, true, at],
            )
            .await?;
        if let Some((t,)) = last_ok {
            since = since.max(t);
        }
    }
    let filter = format!("{column} = $1 AND success = $2 AND at > $3 AND at <= $4");
    let failures: i64 = tx
        .scalar(
            &format!("SELECT COUNT(*) FROM login_attempts WHERE {filter}"),
            args![key, false, since, at],
        )
        .await?;
    if failures < p.free {
        return Ok(false);
    }
    let last: Option<(DateTime<Utc>,)> = tx
        .fetch_optional(
            &format!("SELECT at FROM login_attempts WHERE {filter} ORDER BY at DESC LIMIT 1"),
            args![key, false, since, at],
        )
        .await?;
    Ok(last
        .and_then(|(t,)| locked_until(p, failures, t))
        .is_some_and(|until| at < until))
}

/// Namespace (first key) of the advisory locks that serialise attempts per username and per
/// source ("pnlL"); the two-key form never collides with the single-key locks elsewhere.
const ATTEMPT_LOCK: i32 = 0x706e_6c4c;

/// Whether the account or the source is locked out at `at`.
///
/// Callers record the attempt in the same transaction, so the count read here and the row
/// written after it must not interleave with another attempt's: otherwise 40 parallel
/// guesses all read "4 failures" and all get their password checked. SQLite write
/// transactions are already exclusive (`BEGIN IMMEDIATE`); on PostgreSQL this takes
/// transaction-scoped advisory locks on the username, then on the source (always in that
/// order, so two attempts cannot wait on each other), held until the attempt commits.
pub(crate) async fn is_locked(
    tx: &mut Tx,
    username: &str,
    source: &str,
    at: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    if tx.backend() == Backend::Postgres {
        for key in [format!("u:{username}"), format!("s:{source}")] {
            tx.execute(
                &format!("SELECT pg_advisory_xact_lock({ATTEMPT_LOCK}, hashtext($1))"),
                args![key.as_str()],
            )
            .await?;
        }
    }
    Ok(lock_state(tx, "username", username, &ACCOUNT, at).await?
        || lock_state(tx, "source", source, &SOURCE, at).await?)
}

pub(crate) async fn record_attempt(
    tx: &mut Tx,
    username: &str,
    source: &str,
    success: bool,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    tx.execute(
        "INSERT INTO login_attempts (id, username, source, at, success) VALUES ($1, $2, $3, $4, $5)",
        args![Uuid::now_v7(), username, source, at, success],
    )
    .await?;
    Ok(())
}

/// Records a failure (attempt row + audit row) and commits them, then returns the generic
/// error. `reason` goes to the audit log only.
async fn fail(
    mut tx: Tx,
    req: &LoginRequest,
    username: &str,
    user: Option<&User>,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<LoginOutcome, ServiceError> {
    record_attempt(&mut tx, username, &req.source, false, at).await?;
    // Nobody is authenticated yet: the row is written by the login component, from the
    // attempt's source, about the username that was typed.
    let recorder = Actor {
        source: req.source.clone(),
        ..Actor::system("login")
    };
    audit::record(
        &mut tx,
        &recorder,
        Change {
            action: "auth.login_failed",
            entity: "user",
            entity_id: Some(user.map_or_else(|| username.to_owned(), |u| u.id.to_string())),
            tenant_id: user.and_then(|u| u.tenant_id),
            before: None,
            after: Some(json!({"username": username, "reason": reason, "source": req.source})),
        },
    )
    .await?;
    tx.commit().await?;
    Err(ServiceError::PermissionDenied(LOGIN_FAILED.into()))
}

/// Longest form of an invalid username kept for the record.
const SHOWN_MAX: usize = 64;

/// An invalid username as it may be recorded: ASCII letters, digits and `.`, `_`, `-`, `@`, `+`
/// kept, anything else as `\u{..}`, cut at [`SHOWN_MAX`] characters (marked `…`). The
/// backslash cannot be part of a real username, so the form never names a real account.
pub fn printable_username(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+') {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
        if out.chars().count() >= SHOWN_MAX {
            out = out.chars().take(SHOWN_MAX).collect();
            out.push('…');
            break;
        }
    }
    if out.is_empty() {
        out.push_str("\\u{}");
    }
    out
}

pub async fn login(db: &Db, keys: Option<&Keys>, req: &LoginRequest) -> Result<LoginOutcome, ServiceError> {
    login_at(db, keys, req, now()).await
}

/// Logs in at `at` (injectable for lockout and expiry tests). `keys` opens TOTP secrets; a
/// 2FA account cannot log in without them.
pub async fn login_at(
    db: &Db,
    keys: Option<&Keys>,
    req: &LoginRequest,
    at: DateTime<Utc>,
) -> Result<LoginOutcome, ServiceError> {
    // A name no account can have is refused before anything reaches a query: it is recorded
    // (the source's lockout counts it) only in a printable, escaped form, so control
    // characters or megabytes typed at the prompt never reach the audit log or a terminal.
    let username = match super::accounts::username(&req.username) {
        Ok(u) => u,
        Err(_) => {
            let shown = printable_username(&req.username);
            let _ = password::verify(&req.password, None).await;
            let tx = db.begin().await?;
            return fail(tx, req, &shown, None, "invalid_username", at).await;
        }
    };
    let creds: Option<Credentials> = db
        .fetch_optional(
            "SELECT id, password_hash FROM users WHERE username = $1",
            args![username.as_str()],
        )
        .await?;
    let user: Option<User> = match &creds {
        Some(c) => {
            db.fetch_optional(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"), args![c.id])
                .await?
        }
        None => None,
    };
    // Always hash, so neither an unknown name nor a lockout answers faster than a wrong
    // password. The hashing happens before the write transaction, so it never holds the
    // SQLite write lock.
    let password_ok = password::verify(&req.password, creds.as_ref().and_then(|c| c.password_hash.as_deref())).await;
    let mut tx = db.begin().await?;
    let locked = is_locked(&mut tx, &username, &req.source, at).await?;
    let reason = match &user {
        None => Some("unknown_user"),
        Some(_) if locked => Some("locked"),
        Some(_) if !password_ok => Some("bad_password"),
        Some(u) if u.status != "active" => Some("account_not_active"),
        Some(_) => None,
    };
    if let Some(reason) = reason {
        return fail(tx, req, &username, user.as_ref(), reason, at).await;
    }
    let Some(user) = user else {
        return fail(tx, req, &username, None, "unknown_user", at).await;
    };
    if user.totp_enabled {
        let Some(code) = req.code.as_deref().filter(|c| !c.trim().is_empty()) else {
            tx.rollback().await?;
            return Ok(LoginOutcome::CodeRequired);
        };
        if !totp::check_second_factor(&mut tx, keys, user.id, &user.username, code, at).await? {
            return fail(tx, req, &username, Some(&user), "bad_code", at).await;
        }
    }
    record_attempt(&mut tx, &username, &req.source, true, at).await?;
    tx.execute("UPDATE users SET last_login_at = $2 WHERE id = $1", args![user.id, at])
        .await?;
    let new = sessions::create(&mut tx, &user, &req.source, user.totp_enabled, at).await?;
    audit::record(
        &mut tx,
        &new.actor,
        Change {
            action: "auth.login",
            entity: "session",
            entity_id: Some(new.session.id.to_string()),
            tenant_id: user.tenant_id,
            before: None,
            after: Some(json!({
                "user": user.username,
                "second_factor": user.totp_enabled,
                "expires_at": new.session.expires_at,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(LoginOutcome::Session(Box::new(new)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password_and_code() {
        let r = LoginRequest {
            username: "ana".into(),
            password: "hunter2-hunter2".into(),
            code: Some("123456".into()),
            source: "tty:/dev/pts/1".into(),
        };
        let text = format!("{r:?}");
        assert!(
            text.contains("ana") && !text.contains("hunter2") && !text.contains("123456"),
            "{text}"
        );
    }

    #[test]
    fn invalid_usernames_are_recorded_printable_and_short() {
        assert_eq!(printable_username("ana\x1b[31m"), "ana\\u{1b}\\u{5b}31m");
        assert_eq!(printable_username(""), "\\u{}");
        let long = printable_username(&"a".repeat(500));
        assert_eq!(long.chars().count(), SHOWN_MAX + 1);
        assert!(printable_username("a\u{202e}b")
            .chars()
            .all(|c| c.is_ascii_graphic() || c == '…'));
    }

    #[test]
    fn lockout_doubles_from_the_free_failures_and_is_capped() {
        let t = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert_eq!(locked_until(&ACCOUNT, 4, t), None);
        assert_eq!(locked_until(&ACCOUNT, 5, t), Some(t + TimeDelta::seconds(30)));
        assert_eq!(locked_until(&ACCOUNT, 6, t), Some(t + TimeDelta::seconds(60)));
        assert_eq!(locked_until(&ACCOUNT, 8, t), Some(t + TimeDelta::seconds(240)));
        assert_eq!(locked_until(&ACCOUNT, 40, t), Some(t + TimeDelta::hours(1)));
        assert_eq!(locked_until(&SOURCE, 9, t), None);
        assert_eq!(locked_until(&SOURCE, 10, t), Some(t + TimeDelta::seconds(30)));
    }
}
