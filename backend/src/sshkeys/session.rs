//! `painel ssh-session --key <id>`: sshd has verified the key's signature and started the
//! forced command; the database decides whether that key still belongs to an active account.
//! The identity comes from the key id (argv, written by painel), the source from sshd's
//! `SSH_CONNECTION` (read by the caller); nothing else from the environment.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::identity::{login, sessions, totp, NewSession, User, USER_COLUMNS};
use crate::secrets::Keys;

/// What a refused key or account sees (the audit row says which).
pub const REFUSED: &str = "ssh access refused: key not (or no longer) allowed, wrong code, or too many attempts";

#[derive(Debug)]
pub enum SshOpen {
    Session(Box<NewSession>),
    /// The account has 2FA: ask for a code and call again with it.
    CodeRequired {
        username: String,
    },
}

/// Opens a session for the account that owns key `key_id`, from `source` (`ssh:<client>`).
/// A removed key, or an account that is not active or is locked, is refused and audited.
pub async fn open(
    db: &Db,
    keys: Option<&Keys>,
    key_id: i64,
    source: &str,
    code: Option<&str>,
) -> Result<SshOpen, ServiceError> {
    open_at(db, keys, key_id, source, code, now()).await
}

pub async fn open_at(
    db: &Db,
    keys: Option<&Keys>,
    key_id: i64,
    source: &str,
    code: Option<&str>,
    at: DateTime<Utc>,
) -> Result<SshOpen, ServiceError> {
    let mut tx = db.begin().await?;
    let owner: Option<(uuid::Uuid,)> = tx
        .fetch_optional("SELECT user_id FROM ssh_keys WHERE id = $1", args![key_id])
        .await?;
    let user: Option<User> = match owner {
        Some((uid,)) => {
            tx.fetch_optional(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"), args![uid])
                .await?
        }
        None => None,
    };
    let Some(user) = user else {
        return refuse(tx, key_id, None, source, "unknown_key").await;
    };
    if user.status != "active" {
        return refuse(tx, key_id, Some(&user), source, "account_not_active").await;
    }
    let code = code.filter(|c| !c.trim().is_empty());
    if user.totp_enabled {
        let Some(code) = code else {
            tx.rollback().await?;
            return Ok(SshOpen::CodeRequired {
                username: user.username,
            });
        };
        let locked = login::is_locked(&mut tx, &user.username, source, at).await?;
        let ok = !locked && totp::check_second_factor(&mut tx, keys, user.id, &user.username, code, at).await?;
        login::record_attempt(&mut tx, &user.username, source, ok, at).await?;
        if !ok {
            let reason = if locked { "locked" } else { "bad_code" };
            return refuse(tx, key_id, Some(&user), source, reason).await;
        }
    }
    let new = sessions::create(&mut tx, &user, source, user.totp_enabled, at).await?;
    tx.execute(
        "UPDATE sessions SET ssh_key_id = $2 WHERE id = $1",
        args![new.session.id, key_id],
    )
    .await?;
    tx.execute("UPDATE ssh_keys SET last_used_at = $2 WHERE id = $1", args![key_id, at])
        .await?;
    audit::record(
        &mut tx,
        &new.actor,
        Change {
            action: "auth.ssh_login",
            entity: "session",
            entity_id: Some(new.session.id.to_string()),
            tenant_id: user.tenant_id,
            before: None,
            after: Some(json!({
                "user": user.username,
                "ssh_key": key_id,
                "second_factor": user.totp_enabled,
                "expires_at": new.session.expires_at,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(SshOpen::Session(Box::new(new)))
}

/// Ends an SSH session when its command or TUI exits (audited like a logout).
pub async fn close(db: &Db, token: &str, source: &str) -> Result<(), ServiceError> {
    sessions::logout(db, token, source).await.map(|_| ())
}

async fn refuse(
    mut tx: Tx,
    key_id: i64,
    user: Option<&User>,
    source: &str,
    reason: &str,
) -> Result<SshOpen, ServiceError> {
    let recorder = Actor {
        source: source.to_owned(),
        ..Actor::system("ssh")
    };
    audit::record(
        &mut tx,
        &recorder,
        Change {
            action: "auth.ssh_refused",
            entity: "ssh_key",
            entity_id: Some(key_id.to_string()),
            tenant_id: user.and_then(|u| u.tenant_id),
            before: None,
            after: Some(json!({
                "user": user.map(|u| u.username.clone()),
                "reason": reason,
                "source": source,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Err(ServiceError::PermissionDenied(REFUSED.into()))
}
