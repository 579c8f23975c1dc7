//! Operators' SSH keys for the jump host (docs/adr/0012-jump-host.md).
//!
//! * this module — `add`, `list`, `remove` (platform super admins only, sensitive, audited)
//!   and `authorized_lines`, what painel's block of `authorized_keys` must hold;
//! * [`parse`] — the OpenSSH public key wire format, re-serialised without the comment;
//! * [`session`] — `painel ssh-session --key <id>`: the key and its account checked in the
//!   database, a session opened as that account (2FA asked when it has it), refusals audited.
//!
//! Only super admins manage keys, their own included: the file is written by the `painel`
//! service account, and a stolen session must not be able to plant a key that outlives it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::args;
use crate::audit::{self, Change};
use crate::db::{Db, Tx};
use crate::error::ServiceError;
use crate::identity::User;
use crate::sensitive::{self, Proof, Target};

pub mod parse;
pub mod session;

pub use parse::{parse, PublicKey, MIN_RSA_BITS};

const COLUMNS: &str = "k.id, k.user_id, u.username, u.status AS user_status, k.key_type, k.fingerprint, \
    k.label, k.public_key, k.created_at, k.created_by, k.last_used_at";
const FROM: &str = "FROM ssh_keys k JOIN users u ON u.id = k.user_id";

/// A stored key as services show it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SshKey {
    /// Digits only: it is what the forced command carries.
    pub id: i64,
    pub user_id: Uuid,
    pub username: String,
    pub user_status: String,
    pub key_type: String,
    pub fingerprint: String,
    pub label: String,
    /// `type base64`, as written to `authorized_keys`.
    pub public_key: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Managing keys is for platform super admins: a key is a way into the console as an
/// account, so it is as powerful as creating that account's password.
fn require_manager(actor: &Actor) -> Result<(), ServiceError> {
    if actor.role == Role::SuperAdmin && actor.is_platform() {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "{} ({}) cannot manage SSH keys: platform super admins only",
            actor.name,
            actor.role.as_str()
        )))
    }
}

async fn user_by_name(tx: &mut Tx, username: &str) -> Result<User, ServiceError> {
    let name = username.trim().to_lowercase();
    tx.fetch_optional(
        &format!(
            "SELECT {} FROM users WHERE username = $1",
            crate::identity::USER_COLUMNS
        ),
        args![name.as_str()],
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("user", name))
}

/// Adds `text` (one OpenSSH public key line) to `username`'s keys. Sensitive: `proof.confirm`
/// is the username typed again. Duplicates are refused whoever holds them (sshd would use the
/// first line that matches, binding the key to whichever account came first).
pub async fn add(
    db: &Db,
    actor: &Actor,
    username: &str,
    text: &str,
    proof: &Proof<'_>,
) -> Result<SshKey, ServiceError> {
    require_manager(actor)?;
    let key = parse(text).map_err(|m| ServiceError::invalid("key", m))?;
    let mut tx = db.begin().await?;
    let user = user_by_name(&mut tx, username).await?;
    let target = Target {
        action: "ssh_key.add",
        name: &user.username,
        tenant_id: user.tenant_id,
    };
    let mut tx = sensitive::require(tx, actor, &target, proof).await?;
    let taken: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM ssh_keys WHERE fingerprint = $1",
            args![key.fingerprint.as_str()],
        )
        .await?;
    if taken > 0 {
        return Err(ServiceError::Conflict(format!(
            "the key {} is already registered (one key, one account)",
            key.fingerprint
        )));
    }
    let (id,): (i64,) = tx
        .fetch_one(
            "INSERT INTO ssh_keys (user_id, key_type, public_key, fingerprint, label, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![
                user.id,
                key.key_type.as_str(),
                key.line.as_str(),
                key.fingerprint.as_str(),
                key.label.as_str(),
                crate::db::now(),
                actor.name.as_str(),
            ],
        )
        .await?;
    let stored = get_in(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "ssh_key.add",
            entity: "ssh_key",
            entity_id: Some(id.to_string()),
            tenant_id: user.tenant_id,
            before: None,
            after: Some(json!({
                "user": user.username,
                "type": key.key_type,
                "bits": key.bits,
                "fingerprint": key.fingerprint,
                "label": key.label,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(stored)
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<SshKey, ServiceError> {
    tx.fetch_optional(&format!("SELECT {COLUMNS} {FROM} WHERE k.id = $1"), args![id])
        .await?
        .ok_or_else(|| ServiceError::not_found("ssh key", id.to_string()))
}

/// Every key, or `username`'s.
pub async fn list(db: &Db, actor: &Actor, username: Option<&str>) -> Result<Vec<SshKey>, ServiceError> {
    require_manager(actor)?;
    match username {
        Some(u) => {
            let name = u.trim().to_lowercase();
            let exists: i64 = db
                .scalar("SELECT COUNT(*) FROM users WHERE username = $1", args![name.as_str()])
                .await?;
            if exists == 0 {
                return Err(ServiceError::not_found("user", name));
            }
            db.fetch_all(
                &format!("SELECT {COLUMNS} {FROM} WHERE u.username = $1 ORDER BY k.id"),
                args![name.as_str()],
            )
            .await
        }
        None => {
            db.fetch_all(&format!("SELECT {COLUMNS} {FROM} ORDER BY k.id"), args![])
                .await
        }
    }
}

/// Removes `key` (its id or fingerprint) from `username`'s keys and revokes every session
/// opened with it, in one transaction: a live SSH session notices within a minute. Sensitive:
/// `proof.confirm` is the username.
pub async fn remove(
    db: &Db,
    actor: &Actor,
    username: &str,
    key: &str,
    proof: &Proof<'_>,
) -> Result<SshKey, ServiceError> {
    require_manager(actor)?;
    let mut tx = db.begin().await?;
    let user = user_by_name(&mut tx, username).await?;
    let key = key.trim();
    let found: Option<SshKey> = match key.parse::<i64>() {
        Ok(id) => {
            tx.fetch_optional(
                &format!("SELECT {COLUMNS} {FROM} WHERE k.id = $1 AND k.user_id = $2"),
                args![id, user.id],
            )
            .await?
        }
        Err(_) => {
            tx.fetch_optional(
                &format!("SELECT {COLUMNS} {FROM} WHERE k.fingerprint = $1 AND k.user_id = $2"),
                args![key, user.id],
            )
            .await?
        }
    };
    let found = found.ok_or_else(|| ServiceError::not_found("ssh key", key.to_owned()))?;
    let target = Target {
        action: "ssh_key.remove",
        name: &user.username,
        tenant_id: user.tenant_id,
    };
    let mut tx = sensitive::require(tx, actor, &target, proof).await?;
    tx.execute("DELETE FROM ssh_keys WHERE id = $1", args![found.id])
        .await?;
    let revoked = tx
        .execute(
            "UPDATE sessions SET revoked_at = $2 WHERE ssh_key_id = $1 AND revoked_at IS NULL",
            args![found.id, crate::db::now()],
        )
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "ssh_key.remove",
            entity: "ssh_key",
            entity_id: Some(found.id.to_string()),
            tenant_id: user.tenant_id,
            before: Some(json!({
                "user": user.username,
                "type": found.key_type,
                "fingerprint": found.fingerprint,
                "label": found.label,
            })),
            after: Some(json!({"sessions_revoked": revoked})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// What painel's block of `authorized_keys` must hold: `(id, "type base64")` for every key,
/// in id order. For the deployment itself (writing the file, `painel doctor`), which runs as
/// the service account that holds the database credential; not an operator listing.
pub async fn authorized_lines(db: &Db) -> Result<Vec<(i64, String)>, ServiceError> {
    db.fetch_all("SELECT id, public_key FROM ssh_keys ORDER BY id", args![])
        .await
}
