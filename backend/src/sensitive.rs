//! The sensitive-action gate (suspending a tenant, rotating keys, disabling 2FA, …).
//!
//! An action passes when:
//! 1. the typed confirmation equals the target's name (slug, username, key id), and
//! 2. the actor, if it is a user account, has 2FA enabled and has presented a correct second
//!    factor within [`FRESH_FOR`] — on this session (`sessions.totp_verified_at`, set by a
//!    login with a code or by an earlier step-up) or in this request (`Proof::code`, which is
//!    spent and then counts for the next five minutes too).
//!
//! Actors without an account — the local operator before `painel init`, internal work — only
//! need the typed confirmation: there is no second factor they could present. Accounts that
//! never enrolled 2FA are refused sensitive actions until they do.
//!
//! A refusal is audited (`sensitive.refused`) and that row is committed even though the action
//! is not carried out. Wrong step-up codes count as failed attempts of the account, so guessing
//! them through the gate locks the account like guessing at the login prompt.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Tx};
use crate::error::ServiceError;
use crate::identity::{login, totp};
use crate::secrets::Keys;

/// How long a presented second factor covers sensitive actions.
pub const FRESH_FOR: TimeDelta = TimeDelta::minutes(5);

pub const NEEDS_ENROLMENT: &str =
    "sensitive actions need 2FA: enrol with `painel 2fa enroll`, then `painel 2fa enable --code CODE`";
pub const NEEDS_CODE: &str = "this action needs a 2FA code from the last 5 minutes: pass --totp CODE";
pub const BAD_CODE: &str = "wrong or already used 2FA code, or too many attempts";
pub const NEEDS_CURRENT_CODE: &str =
    "changing your 2FA needs the current code from your authenticator (or a recovery code): pass --totp CODE";

/// What the caller typed and presented.
#[derive(Debug, Clone, Copy, Default)]
pub struct Proof<'a> {
    /// The target's name, typed again.
    pub confirm: &'a str,
    /// A fresh TOTP code (or a recovery code).
    pub code: Option<&'a str>,
    /// Opens the TOTP secret; needed only with a code.
    pub keys: Option<&'a Keys>,
}

impl<'a> Proof<'a> {
    pub fn confirm(confirm: &'a str) -> Proof<'a> {
        Proof {
            confirm,
            code: None,
            keys: None,
        }
    }

    #[must_use]
    pub fn with_code(mut self, code: Option<&'a str>, keys: &'a Keys) -> Proof<'a> {
        self.code = code.filter(|c| !c.trim().is_empty());
        self.keys = Some(keys);
        self
    }

    /// A code with the keys to check it, when both are there (the batch verbs load keys only
    /// for a typed code); otherwise the proof stays a confirmation alone.
    pub fn with_step_up(self, code: Option<&'a str>, keys: Option<&'a Keys>) -> Proof<'a> {
        match keys {
            Some(k) => self.with_code(code, k),
            None => self,
        }
    }
}

/// The action and what it acts on, for the confirmation and the refusal's audit row.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The audit action it would be (`tenant.suspend`).
    pub action: &'a str,
    /// What must be typed to confirm.
    pub name: &'a str,
    pub tenant_id: Option<Uuid>,
}

/// Passes `tx` back when the action may go ahead; otherwise audits the refusal, commits that
/// row, and returns the reason.
pub async fn require(tx: Tx, actor: &Actor, target: &Target<'_>, proof: &Proof<'_>) -> Result<Tx, ServiceError> {
    require_at(tx, actor, target, proof, now()).await
}

pub async fn require_at(
    tx: Tx,
    actor: &Actor,
    target: &Target<'_>,
    proof: &Proof<'_>,
    at: DateTime<Utc>,
) -> Result<Tx, ServiceError> {
    if proof.confirm.trim() != target.name {
        let err = ServiceError::invalid("confirm", format!("type '{}' to confirm", target.name));
        return refuse(tx, actor, target, "wrong_confirmation", err).await;
    }
    require_second_factor_at(tx, actor, target, proof, at).await
}

/// The second-factor half of the gate alone (actions that need no typed confirmation, such
/// as regenerating recovery codes).
pub async fn require_second_factor(
    tx: Tx,
    actor: &Actor,
    target: &Target<'_>,
    proof: &Proof<'_>,
) -> Result<Tx, ServiceError> {
    require_second_factor_at(tx, actor, target, proof, now()).await
}

async fn require_second_factor_at(
    mut tx: Tx,
    actor: &Actor,
    target: &Target<'_>,
    proof: &Proof<'_>,
    at: DateTime<Utc>,
) -> Result<Tx, ServiceError> {
    let Some(user_id) = actor.user_id else {
        return Ok(tx);
    };
    let enabled: Option<(bool,)> = tx
        .fetch_optional("SELECT totp_enabled FROM users WHERE id = $1", args![user_id])
        .await?;
    if !enabled.is_some_and(|(e,)| e) {
        let err = ServiceError::PermissionDenied(NEEDS_ENROLMENT.into());
        return refuse(tx, actor, target, "2fa_not_enrolled", err).await;
    }
    if let Some(code) = proof.code {
        let locked = login::is_locked(&mut tx, &actor.name, &actor.source, at).await?;
        let ok = !locked && totp::check_second_factor(&mut tx, proof.keys, user_id, &actor.name, code, at).await?;
        login::record_attempt(&mut tx, &actor.name, &actor.source, ok, at).await?;
        if !ok {
            let err = ServiceError::PermissionDenied(BAD_CODE.into());
            let reason = if locked { "locked" } else { "bad_code" };
            return refuse(tx, actor, target, reason, err).await;
        }
        totp::mark_session_verified(&mut tx, actor, at).await?;
        return Ok(tx);
    }
    let verified: Option<(Option<DateTime<Utc>>,)> = match actor.session_id {
        Some(sid) => {
            tx.fetch_optional(
                "SELECT totp_verified_at FROM sessions WHERE id = $1 AND revoked_at IS NULL",
                args![sid],
            )
            .await?
        }
        None => None,
    };
    match verified.and_then(|(v,)| v) {
        Some(v) if v <= at && at - v <= FRESH_FOR => Ok(tx),
        _ => {
            let err = ServiceError::PermissionDenied(NEEDS_CODE.into());
            refuse(tx, actor, target, "2fa_not_recent", err).await
        }
    }
}

/// The gate for changes to the actor's own second factor (disabling 2FA, new recovery codes):
/// besides what [`require`] (or, with `confirm: false`, [`require_second_factor`]) asks, the
/// code must come with this request — a session's earlier code does not do, or a stolen
/// session could use its owner's last login to switch the factor off.
pub async fn require_current_code(
    tx: Tx,
    actor: &Actor,
    target: &Target<'_>,
    proof: &Proof<'_>,
    confirm: bool,
) -> Result<Tx, ServiceError> {
    if actor.user_id.is_some() && proof.code.is_none() {
        let err = ServiceError::PermissionDenied(NEEDS_CURRENT_CODE.into());
        return refuse(tx, actor, target, "2fa_code_missing", err).await;
    }
    if confirm {
        require(tx, actor, target, proof).await
    } else {
        require_second_factor(tx, actor, target, proof).await
    }
}

async fn refuse(
    mut tx: Tx,
    actor: &Actor,
    target: &Target<'_>,
    reason: &str,
    err: ServiceError,
) -> Result<Tx, ServiceError> {
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "sensitive.refused",
            entity: "sensitive_action",
            entity_id: Some(target.action.to_owned()),
            tenant_id: target.tenant_id,
            before: None,
            after: Some(json!({"action": target.action, "target": target.name, "reason": reason})),
        },
    )
    .await?;
    // Only the refusal's audit row (and a spent attempt) is in this transaction: the action
    // itself has not touched anything yet.
    tx.commit().await?;
    Err(err)
}
