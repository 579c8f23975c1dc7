//! Sessions: a random bearer token (`pnl_` + 256 bits, base64url) handed to the client once;
//! the database keeps only its SHA-256, an expiry and a revocation time.

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{sha256_hex, User};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::secrets;

/// How long a login lasts.
pub const TTL: TimeDelta = TimeDelta::hours(12);

pub const NOT_LOGGED_IN: &str = "not logged in — run painel login";
pub const EXPIRED: &str = "session expired — run painel login";
pub const REVOKED: &str = "session revoked — run painel login";

const COLUMNS: &str = "id, user_id, created_at, expires_at, revoked_at, source, totp_verified_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Where the login came from.
    pub source: String,
    pub totp_verified_at: Option<DateTime<Utc>>,
}

/// A session just created: the token is shown to the client here and never again.
#[derive(Clone)]
pub struct NewSession {
    pub token: String,
    pub session: Session,
    pub user: User,
    pub actor: Actor,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &audit::REDACTED)
            .field("session", &self.session)
            .field("user", &self.user.username)
            .finish()
    }
}

/// A token that checked out: who is acting, through which session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub session: Session,
    pub user: User,
    pub actor: Actor,
}

fn new_token() -> Result<String, ServiceError> {
    let mut raw = [0u8; 32];
    secrets::random(&mut raw)?;
    Ok(format!(
        "pnl_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    ))
}

/// Creates a session for `user` in the login's transaction.
pub(crate) async fn create(
    tx: &mut Tx,
    user: &User,
    source: &str,
    second_factor: bool,
    at: DateTime<Utc>,
) -> Result<NewSession, ServiceError> {
    let token = new_token()?;
    let session: Session = tx
        .fetch_one(
            &format!(
                "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, source, totp_verified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
            ),
            args![
                Uuid::now_v7(),
                user.id,
                sha256_hex(&token),
                at,
                at + TTL,
                source,
                second_factor.then_some(at),
            ],
        )
        .await?;
    let actor = user.actor(Some(session.id), source)?;
    // The role's stored permission set travels with the actor (docs/adr/0011).
    let grants = crate::rbac::load_in(tx, actor.role, actor.tenant_id).await?;
    let actor = actor.with_grants(grants);
    Ok(NewSession {
        token,
        session,
        user: user.clone(),
        actor,
    })
}

async fn find(db: &Db, token: &str) -> Result<Option<Session>, ServiceError> {
    db.fetch_optional(
        &format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = $1"),
        args![sha256_hex(token.trim())],
    )
    .await
}

/// The acting identity behind a bearer token, used from `source` (this process's own
/// source, not the login's). Unknown, revoked and expired tokens are refused (exit 4).
pub async fn authenticate(db: &Db, token: &str, source: &str) -> Result<Authenticated, ServiceError> {
    authenticate_at(db, token, source, now()).await
}

pub async fn authenticate_at(
    db: &Db,
    token: &str,
    source: &str,
    at: DateTime<Utc>,
) -> Result<Authenticated, ServiceError> {
    let session = find(db, token)
        .await?
        .ok_or_else(|| ServiceError::PermissionDenied(NOT_LOGGED_IN.into()))?;
    if session.revoked_at.is_some() {
        return Err(ServiceError::PermissionDenied(REVOKED.into()));
    }
    if session.expires_at <= at {
        return Err(ServiceError::PermissionDenied(EXPIRED.into()));
    }
    let user = super::get_user(db, session.user_id).await?;
    if user.status != "active" {
        return Err(ServiceError::PermissionDenied(format!(
            "account {} is {} — ask an administrator",
            user.username, user.status
        )));
    }
    let actor = user.actor(Some(session.id), source)?;
    let grants = crate::rbac::load(db, actor.role, actor.tenant_id).await?;
    let actor = actor.with_grants(grants);
    Ok(Authenticated { session, user, actor })
}

/// Revokes the session behind `token` (audited). Returns it, or `None` when the token is
/// unknown or was already revoked.
pub async fn logout(db: &Db, token: &str, source: &str) -> Result<Option<Session>, ServiceError> {
    let Some(session) = find(db, token).await? else {
        return Ok(None);
    };
    if session.revoked_at.is_some() {
        return Ok(None);
    }
    let user = super::get_user(db, session.user_id).await?;
    let actor = user.actor(Some(session.id), source)?;
    let mut tx = db.begin().await?;
    let revoked = revoke_in(&mut tx, &actor, &session, &user, "auth.logout").await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Revokes every live session of the actor's account, this one included (audited once per
/// session). Returns how many were live.
pub async fn revoke_all(db: &Db, actor: &Actor) -> Result<usize, ServiceError> {
    let user_id = super::account_of(actor)?;
    let user = super::get_user(db, user_id).await?;
    let mut tx = db.begin().await?;
    let live: Vec<Session> = tx
        .fetch_all(
            &format!("SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2"),
            args![user_id, now()],
        )
        .await?;
    let mut n = 0;
    for s in &live {
        if revoke_in(&mut tx, actor, s, &user, "auth.revoke").await?.is_some() {
            n += 1;
        }
    }
    tx.commit().await?;
    Ok(n)
}

async fn revoke_in(
    tx: &mut Tx,
    actor: &Actor,
    session: &Session,
    user: &User,
    action: &str,
) -> Result<Option<Session>, ServiceError> {
    let revoked: Option<Session> = tx
        .fetch_optional(
            &format!("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING {COLUMNS}"),
            args![session.id, now()],
        )
        .await?;
    if revoked.is_some() {
        audit::record(
            tx,
            actor,
            Change {
                action,
                entity: "session",
                entity_id: Some(session.id.to_string()),
                tenant_id: user.tenant_id,
                before: None,
                after: Some(json!({"user": user.username, "login_source": session.source})),
            },
        )
        .await?;
    }
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = super::new_token().unwrap();
        let b = super::new_token().unwrap();
        assert!(a.starts_with("pnl_") && a.len() == 4 + 43, "{a}");
        assert_ne!(a, b);
    }
}
