//! Renewals and dunning (docs/adr/0027): a scheduled run (`billing.renewals`) issues each
//! service period's invoice `lead_days` before it is due, reminds by e-mail before and after
//! the due date, asks for suspension after `grace_days` and termination after
//! `terminate_days` — each step its own transaction and job, idempotent by keys, so a run
//! repeated or cut off half-way bills, mails and suspends once. Paying lifts it all
//! (`billing::fulfil::on_paid`). E-mails go out in `notify.email` jobs over SMTP (lettre);
//! a failure is retried and, at the last attempt, lands in the failure list and an incident.

pub mod mail;
pub mod read;
pub mod run;

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::jobs::Handlers;

/// The scheduled run.
pub const RENEWALS: &str = "billing.renewals";
/// One e-mail.
pub const EMAIL: &str = "notify.email";
/// The queue of both.
pub const QUEUE: &str = "billing";
/// The kinds [`register_handlers`] adds.
pub const KINDS: [&str; 2] = [RENEWALS, EMAIL];
/// `settings.key` of a tenant's dunning policy (the platform row, tenant NULL, is the default).
pub const SETTINGS_KEY: &str = "billing.dunning";

/// Registers the billing jobs on a worker.
pub fn register_handlers(h: &mut Handlers) {
    h.register(RENEWALS, run::handle);
    h.register(EMAIL, mail::handle);
}

/// A tenant's dunning policy, in days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Issue the renewal invoice this many days before the due date.
    pub lead_days: i64,
    /// Reminders this many days before the due date (each once).
    pub remind_before: Vec<i64>,
    /// Reminders this many days after the due date (each once).
    pub remind_after: Vec<i64>,
    /// Suspend this many days after the due date when still unpaid.
    pub grace_days: i64,
    /// Terminate this many days after the due date when still unpaid.
    pub terminate_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            lead_days: 7,
            remind_before: vec![3, 1],
            remind_after: vec![1, 3],
            grace_days: 5,
            terminate_days: 30,
        }
    }
}

impl Policy {
    pub fn check(&self) -> Result<(), ServiceError> {
        let bad = |f: &str, m: &str| Err(ServiceError::invalid(f, m));
        if !(0..=90).contains(&self.lead_days) {
            return bad("lead_days", "must be 0 to 90");
        }
        for (f, v) in [
            ("remind_before", &self.remind_before),
            ("remind_after", &self.remind_after),
        ] {
            if v.len() > 5 || v.iter().any(|d| !(0..=90).contains(d)) {
                return bad(f, "at most 5 day counts, each 0 to 90");
            }
        }
        if !(0..=90).contains(&self.grace_days) {
            return bad("grace_days", "must be 0 to 90");
        }
        if self.terminate_days <= self.grace_days || self.terminate_days > 365 {
            return bad("terminate_days", "must be after the grace period and at most 365");
        }
        Ok(())
    }
}

/// The policy of `tenant`: its row, else the platform's, else [`Policy::default`].
pub async fn policy(db: &Db, tenant: Uuid) -> Result<Policy, ServiceError> {
    let rows: Vec<(Option<Uuid>, serde_json::Value)> = db
        .fetch_all(
            "SELECT tenant_id, value FROM settings WHERE key = $1 AND (tenant_id = $2 OR tenant_id IS NULL)",
            args![SETTINGS_KEY, tenant],
        )
        .await?;
    let pick = rows
        .iter()
        .find(|r| r.0 == Some(tenant))
        .or_else(|| rows.iter().find(|r| r.0.is_none()));
    Ok(pick
        .and_then(|r| serde_json::from_value::<Policy>(r.1.clone()).ok())
        .unwrap_or_default())
}

/// The policy the actor's tenant (or, for platform staff, `tenant`) uses.
pub async fn get_policy(db: &Db, actor: &Actor, tenant: Option<Uuid>) -> Result<Policy, ServiceError> {
    require(actor, Permission::BillingRead)?;
    match actor.tenant_id.or(tenant) {
        Some(t) => policy(db, t).await,
        None => {
            let row: Option<(serde_json::Value,)> = db
                .fetch_optional(
                    "SELECT value FROM settings WHERE key = $1 AND tenant_id IS NULL",
                    args![SETTINGS_KEY],
                )
                .await?;
            Ok(row.and_then(|r| serde_json::from_value(r.0).ok()).unwrap_or_default())
        }
    }
}

/// Stores a policy for the actor's tenant (platform staff: `tenant`, or the platform default
/// with `None`), audited.
pub async fn set_policy(db: &Db, actor: &Actor, tenant: Option<Uuid>, p: &Policy) -> Result<Policy, ServiceError> {
    require(actor, Permission::InvoicesCreate)?;
    p.check()?;
    let tenant = match (actor.tenant_id, tenant) {
        (Some(t), None) => Some(t),
        (Some(t), Some(x)) if t == x => Some(t),
        (Some(_), Some(x)) => return Err(ServiceError::not_found("tenant", x.to_string())),
        (None, t) => t,
    };
    let before = get_policy(db, actor, tenant).await?;
    let mut tx = db.begin().await?;
    let value = serde_json::to_value(p).map_err(|e| ServiceError::invalid("policy", e.to_string()))?;
    let n = tx
        .execute(
            "UPDATE settings SET value = $1, updated_at = $2 WHERE key = $3 AND tenant_id IS NOT DISTINCT FROM $4",
            args![value.clone(), now(), SETTINGS_KEY, tenant],
        )
        .await?;
    if n == 0 {
        tx.execute(
            "INSERT INTO settings (id, tenant_id, key, value, updated_at) VALUES ($1, $2, $3, $4, $5)",
            args![Uuid::now_v7(), tenant, SETTINGS_KEY, value, now()],
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "billing.dunning.settings",
            entity: "settings",
            entity_id: Some(SETTINGS_KEY.into()),
            tenant_id: tenant,
            before: audit::snapshot(&before),
            after: Some(json!(p)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(p.clone())
}
