//! Re-authentication for changes to an account's own security (2FA enrolment, enabling,
//! disabling, new recovery codes): the password again, so a stolen session token alone cannot
//! enrol an attacker's authenticator and then pass the sensitive-action gate with it.
//!
//! A wrong password counts as a failed attempt of the account and its source (the login's
//! lockout, docs/adr/0007), so a stolen session cannot guess the password through here
//! either; a locked account is refused even with the right one. A refusal is audited
//! (`sensitive.refused`, reason `bad_password` or `locked`) and committed. A right password is
//! not recorded as a successful login: it must not reset an attacker's failure count.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{login, password};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{Db, Tx};
use crate::error::ServiceError;

/// What the caller sees for a wrong password or a locked account (one message for both).
pub const BAD_PASSWORD: &str = "wrong password, or too many attempts: type your current password again";

/// Checks `password` for `user_id` (the actor's account) and opens the change's transaction.
/// The hash is verified before the transaction begins, so SQLite's write lock is never held
/// across argon2. `action` names the change in a refusal's audit row.
pub(crate) async fn begin_with_password(
    db: &Db,
    actor: &Actor,
    user_id: Uuid,
    password: &str,
    action: &str,
    at: DateTime<Utc>,
) -> Result<Tx, ServiceError> {
    let hash: Option<(Option<String>, Option<Uuid>)> = db
        .fetch_optional(
            "SELECT password_hash, tenant_id FROM users WHERE id = $1",
            args![user_id],
        )
        .await?;
    let (hash, tenant_id) = hash.ok_or_else(|| ServiceError::not_found("user", user_id.to_string()))?;
    let ok = password::verify(password, hash.as_deref()).await;
    let mut tx = db.begin().await?;
    let locked = login::is_locked(&mut tx, &actor.name, &actor.source, at).await?;
    if ok && !locked {
        return Ok(tx);
    }
    login::record_attempt(&mut tx, &actor.name, &actor.source, false, at).await?;
    let reason = if locked { "locked" } else { "bad_password" };
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "sensitive.refused",
            entity: "sensitive_action",
            entity_id: Some(action.to_owned()),
            tenant_id,
            before: None,
            after: Some(json!({"action": action, "target": actor.name, "reason": reason})),
        },
    )
    .await?;
    tx.commit().await?;
    Err(ServiceError::PermissionDenied(BAD_PASSWORD.into()))
}
