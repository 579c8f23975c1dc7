//! The `billing.webhook` job: acts on one recorded event, in one transaction, and marks it
//! processed, ignored or failed. Each provider's events are read by a module of their own
//! (`stripe_events`); money arriving goes through `billing::settle`, the one path to `paid`.
//!
//! Idempotent and order-proof: the event row is locked and acted on only while `received`;
//! an invoice moves to `paid` only from draft/pending/overdue (migration 0023 also refuses
//! any change away from `paid` other than a refund); a payment row is unique by
//! (provider, external_id), so a second event about the same payment records nothing.

use serde_json::Value;
use uuid::Uuid;

use super::stripe_events;
use crate::args;
use crate::billing::settle::Settled;
use crate::db::{now, Backend, Tx};
use crate::error::ServiceError;
use crate::jobs::{Job, JobError};
use crate::Db;

pub(super) fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

#[derive(sqlx::FromRow)]
struct EventRow {
    provider: String,
    event_type: String,
    status: String,
    payload: Option<Value>,
}

/// Where an event lands: the row's new status, its tenant once known, and why (for
/// `ignored`/`failed`).
pub(super) struct Verdict {
    pub(super) status: &'static str,
    pub(super) tenant_id: Option<Uuid>,
    pub(super) error: Option<String>,
}

impl Verdict {
    pub(super) fn ignored(why: impl Into<String>) -> Verdict {
        Verdict {
            status: "ignored",
            tenant_id: None,
            error: Some(why.into()),
        }
    }

    pub(super) fn failed(why: &str) -> Verdict {
        Verdict {
            status: "failed",
            tenant_id: None,
            error: Some(why.to_owned()),
        }
    }

    /// What a settlement means for the event row.
    pub(super) fn settled(s: Settled) -> Verdict {
        match s {
            Settled::NoInvoice => Verdict::failed("metadata names no invoice"),
            Settled::Done {
                tenant_id,
                invoice_paid,
                payment_recorded,
                prior_status,
            } => Verdict {
                status: "processed",
                tenant_id: Some(tenant_id),
                error: match (invoice_paid, payment_recorded) {
                    (true, _) => None,
                    (false, true) => Some(format!("payment recorded; invoice was already {prior_status}")),
                    (false, false) => Some(format!("invoice already {prior_status}; payment already recorded")),
                },
            },
        }
    }
}

/// Reads a string at `path` inside a provider's JSON, empty strings counting as absent.
pub(super) fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(crate) fn lock_suffix(tx: &Tx) -> &'static str {
    if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

pub async fn handle(job: Job, db: Db) -> Result<(), JobError> {
    let id = job
        .payload
        .get("webhook_event_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.webhook_event_id must be a uuid".into()))?;
    let mut tx = db.begin().await.map_err(transient)?;
    let sql = format!(
        "SELECT provider, event_type, status, payload FROM webhook_events WHERE id = $1{}",
        lock_suffix(&tx)
    );
    let Some(ev) = tx
        .fetch_optional::<EventRow>(&sql, args![id])
        .await
        .map_err(transient)?
    else {
        return Err(JobError::Permanent(format!("no webhook event {id}")));
    };
    if ev.status != "received" {
        // An earlier run of this job (or a duplicate job) already decided.
        tx.rollback().await.map_err(transient)?;
        return Ok(());
    }
    let payload = ev.payload.unwrap_or(Value::Null);
    let verdict = match ev.provider.as_str() {
        "stripe" => stripe_events::act(&mut tx, &job, &ev.event_type, &payload).await?,
        other => Verdict::ignored(format!("no handler for provider {other}")),
    };
    tx.execute(
        "UPDATE webhook_events SET status = $1, tenant_id = $2, error = $3, processed_at = $4 WHERE id = $5",
        args![verdict.status, verdict.tenant_id, verdict.error, now(), id],
    )
    .await
    .map_err(transient)?;
    tx.commit().await.map_err(transient)
}
