//! Accounts, logins, sessions and 2FA (docs/adr/0007-sessions-and-lockout.md).
//!
//! * [`accounts`] — users: `init` (the first super admin) and `create_user`;
//! * [`password`] — argon2id hashing;
//! * [`login`] — username + password (+ second factor) → a session, with exponential lockout
//!   per account and per source and one generic failure message;
//! * [`sessions`] — bearer tokens (only their SHA-256 is stored), expiry, revocation, and the
//!   [`Actor`] a session acts as;
//! * [`totp`] — RFC 6238 enrolment, replay-proof verification, recovery codes;
//! * [`reauth`] — the password again before an account's own security changes.
//!
//! Time is a parameter (`*_at` functions) so lockout and expiry are tested without sleeping.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::args;
use crate::db::{Db, Tx};
use crate::error::ServiceError;

pub mod accounts;
pub mod login;
pub mod password;
pub mod reauth;
pub mod sessions;
pub mod totp;

pub use login::{login, login_at, LoginOutcome, LoginRequest, LOGIN_FAILED};
pub use sessions::{authenticate, authenticate_at, logout, Authenticated, NewSession, Session};

pub(crate) const USER_COLUMNS: &str =
    "id, tenant_id, parent_id, username, email, display_name, role, status, totp_enabled, read_only, last_login_at, created_at";

/// A user as services show it: no password hash, no TOTP secret.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub status: String,
    pub totp_enabled: bool,
    /// Looks, never changes: the actor is read-only (docs/adr/0016).
    pub read_only: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn role(&self) -> Result<Role, ServiceError> {
        Role::parse(&self.role)
            .ok_or_else(|| ServiceError::Database(format!("user {} has unknown role", self.username)))
    }

    /// The actor this user is, acting from `source` within `session`.
    pub fn actor(&self, session: Option<Uuid>, source: &str) -> Result<Actor, ServiceError> {
        Ok(Actor {
            user_id: Some(self.id),
            name: self.username.clone(),
            role: self.role()?,
            tenant_id: self.tenant_id,
            source: source.to_owned(),
            session_id: session,
            grants: crate::authz::Grants::default(),
            read_only: self.read_only,
        })
    }
}

/// Whether any account exists. Before the first one (`painel init`), the console acts as the
/// local operator (docs/adr/0007).
pub async fn has_users(db: &Db) -> Result<bool, ServiceError> {
    let n: i64 = db
        .scalar("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) u", args![])
        .await?;
    Ok(n > 0)
}

pub async fn get_user(db: &Db, id: Uuid) -> Result<User, ServiceError> {
    db.fetch_optional(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"), args![id])
        .await?
        .ok_or_else(|| ServiceError::not_found("user", id.to_string()))
}

/// One account as another actor sees it (the console's "go to" a user): within the actor's
/// tenant and, for a reseller, its subtree; `tenants:read`, like `find`'s user hits. Outside
/// that it does not exist for the actor.
pub async fn show_user(db: &Db, actor: &Actor, id: Uuid) -> Result<User, ServiceError> {
    crate::authz::require(actor, crate::authz::Permission::TenantsRead)?;
    let u = get_user(db, id).await?;
    let mut visible = actor.tenant_id.is_none_or(|t| u.tenant_id == Some(t));
    if let (true, Some(root)) = (visible, actor.reseller_root()) {
        let n: i64 = db
            .scalar(
                &format!(
                    "SELECT COUNT(*) FROM users WHERE id = $2 AND id IN ({})",
                    crate::reseller::subtree(1)
                ),
                args![root, id],
            )
            .await?;
        visible = n > 0;
    }
    if visible {
        Ok(u)
    } else {
        Err(ServiceError::not_found("user", id.to_string()))
    }
}

/// Locks and reads a user inside a transaction (`FOR UPDATE` on PostgreSQL; SQLite write
/// transactions are already exclusive).
pub(crate) async fn user_for_update(tx: &mut Tx, id: Uuid) -> Result<User, ServiceError> {
    let lock = if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    tx.fetch_optional(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1{lock}"),
        args![id],
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("user", id.to_string()))
}

/// The signed-in user behind `actor`, or a permission error for actors without an account
/// (the local operator before `painel init`, internal work).
pub(crate) fn account_of(actor: &Actor) -> Result<Uuid, ServiceError> {
    actor.user_id.ok_or_else(|| {
        ServiceError::PermissionDenied(format!(
            "{} has no account: run `painel init` to create the first one, then `painel login`",
            actor.name
        ))
    })
}

/// SHA-256 in lower-case hex: how session tokens and recovery codes are stored.
pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
