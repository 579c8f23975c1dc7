//! Refunds (docs/adr/0028). Asking for one is a sensitive action (a fresh second factor, a
//! reason), audited, and only enqueues `billing.refund`; the job sends `POST /v1/refunds`
//! (`Idempotency-Key: refund:<row id>`, our row id in the refund's metadata) and then reads
//! the charge back. What the charge says — `amount_refunded` — is applied by
//! [`apply_charge`], which the `charge.refunded` event uses too, so the job's answer and the
//! event may arrive in either order, or twice: the refunded amount only grows, up to the
//! payment's amount; a fully refunded payment moves its paid invoice to `refunded` (the one
//! move away from `paid` migration 0023 allows).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{account, lock_suffix, StripeEnv, QUEUE};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Db, Tx};
use crate::error::ServiceError;
use crate::ids::{self, Target};
use crate::jobs::{self, Job, JobError, NewJob};
use crate::page::where_clause;
use crate::providers::stripe::{Charge, NewRefund, Refund};
use crate::reseller::{self, Reach};
use crate::secrets::Keys;
use crate::sensitive::{self, Proof};

pub const JOB_KIND: &str = "billing.refund";
/// Longest reason kept.
pub const MAX_REASON: usize = 500;

const REACH: Reach = Reach::Owned {
    reseller: Some("i.user_id"),
    customer: Some("i.customer_id"),
};

/// Short ids of payments; resellers reach those of their subtree's invoices.
pub const PAYMENTS: Target = Target {
    what: "payment",
    from: "payments p JOIN invoices i ON i.id = p.invoice_id",
    id_col: "p.id",
    tenant_col: Some("p.tenant_id"),
    reach: REACH,
};

/// A payment and how much of it can still be refunded: what the refund dialog prefills.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Quote {
    pub payment_id: Uuid,
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub invoice_number: String,
    pub provider: String,
    pub external_id: Option<String>,
    /// succeeded, refunded, …; `partially_refunded` when part of it was given back.
    pub status: String,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    /// Refunds asked for and not yet confirmed.
    pub pending_minor: i64,
    pub refundable_minor: i64,
    pub currency: String,
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    payment_id: Uuid,
    tenant_id: Uuid,
    invoice_id: Uuid,
    invoice_number: String,
    provider: String,
    external_id: Option<String>,
    status: String,
    amount_minor: i64,
    refunded_minor: i64,
    currency: String,
}

/// The label a payment's state reads as (the table keeps `succeeded` with an amount
/// refunded for a partial refund).
pub fn status_label(status: &str, amount: i64, refunded: i64) -> String {
    if status == "succeeded" && refunded > 0 && refunded < amount {
        "partially_refunded".into()
    } else {
        status.to_owned()
    }
}

async fn quote_tx(tx: &mut Tx, actor: &Actor, key: &str, lock: bool) -> Result<Quote, ServiceError> {
    let id = ids::expand_tx(tx, actor, &PAYMENTS, key).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ServiceError::not_found("payment", key))?;
    let mut conds = vec!["p.id = $1".to_owned()];
    let mut a: Vec<Arg> = args![id];
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("p.tenant_id = ${}", a.len()));
    }
    reseller::restrict(actor, REACH, "payments", &mut conds, &mut a)?;
    let suffix = if lock { lock_suffix(tx) } else { "" };
    let p: PaymentRow = tx
        .fetch_optional(
            &format!(
                "SELECT p.id AS payment_id, p.tenant_id, p.invoice_id, i.number AS invoice_number, p.provider, p.external_id, \
                 p.status, p.amount_minor, p.refunded_minor, p.currency FROM payments p JOIN invoices i ON i.id = p.invoice_id {}{}",
                where_clause(&conds),
                suffix.replace("FOR UPDATE", "FOR UPDATE OF p")
            ),
            a,
        )
        .await?
        .ok_or_else(|| ServiceError::not_found("payment", key))?;
    let pending: i64 = tx
        .scalar(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM refunds WHERE payment_id = $1 AND status IN ('requested', 'pending')",
            args![p.payment_id],
        )
        .await?;
    let refundable = if p.status == "succeeded" {
        (p.amount_minor - p.refunded_minor - pending).max(0)
    } else {
        0
    };
    Ok(Quote {
        status: status_label(&p.status, p.amount_minor, p.refunded_minor),
        payment_id: p.payment_id,
        tenant_id: p.tenant_id,
        invoice_id: p.invoice_id,
        invoice_number: p.invoice_number,
        provider: p.provider,
        external_id: p.external_id,
        amount_minor: p.amount_minor,
        refunded_minor: p.refunded_minor,
        pending_minor: pending,
        refundable_minor: refundable,
        currency: p.currency,
    })
}

/// Payment `key` (id, prefix or the last 8 hex digits) with what is left to refund.
pub async fn quote(db: &Db, actor: &Actor, key: &str) -> Result<Quote, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut tx = db.begin().await?;
    let q = quote_tx(&mut tx, actor, key, false).await?;
    tx.commit().await?;
    Ok(q)
}

/// What an operator asks for.
#[derive(Debug, Clone, Copy)]
pub struct RefundRequest<'a> {
    pub payment: &'a str,
    /// Minor units; `None`: everything still refundable.
    pub amount_minor: Option<i64>,
    pub reason: &'a str,
    /// A fresh 2FA code (the sensitive-action gate).
    pub code: Option<&'a str>,
}

/// A refund as painel keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RefundRow {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub tenant_id: Uuid,
    pub external_id: Option<String>,
    /// requested (the job has not answered), pending, succeeded, failed, cancelled.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    pub requested_by: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

const REFUND_COLUMNS: &str =
    "id, payment_id, tenant_id, external_id, status, amount_minor, currency, reason, requested_by, error, created_at";

/// What asking for a refund did.
#[derive(Debug, Clone, Serialize)]
pub struct Requested {
    pub refund: RefundRow,
    pub job_id: Uuid,
}

/// Asks for a refund of payment `req.payment`: sensitive (a second factor from the last five
/// minutes; the payment named is the confirmation), with a reason, audited; the job does the
/// rest.
pub async fn request(
    db: &Db,
    actor: &Actor,
    keys: Option<&Keys>,
    req: RefundRequest<'_>,
) -> Result<Requested, ServiceError> {
    require(actor, Permission::PaymentsRefund)?;
    let reason = req.reason.trim();
    if reason.is_empty() {
        return Err(ServiceError::invalid("reason", "a refund needs a reason"));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(ServiceError::invalid(
            "reason",
            format!("at most {MAX_REASON} characters"),
        ));
    }
    let mut tx = db.begin().await?;
    let q = quote_tx(&mut tx, actor, req.payment, true).await?;
    if q.provider != "stripe" {
        return Err(ServiceError::Conflict(format!(
            "payment of invoice {} came through {}: only Stripe payments are refunded here",
            q.invoice_number, q.provider
        )));
    }
    if q.refundable_minor <= 0 {
        return Err(ServiceError::Conflict(format!(
            "payment of invoice {} has nothing left to refund ({})",
            q.invoice_number, q.status
        )));
    }
    let amount = req.amount_minor.unwrap_or(q.refundable_minor);
    if amount <= 0 || amount > q.refundable_minor {
        return Err(ServiceError::invalid(
            "amount",
            format!(
                "between {} and {}",
                crate::money::format(1, &q.currency),
                crate::money::format(q.refundable_minor, &q.currency)
            ),
        ));
    }
    let name = q.payment_id.to_string();
    let target = sensitive::Target {
        action: "payment.refund",
        name: &name,
        tenant_id: Some(q.tenant_id),
    };
    let mut tx = sensitive::require(tx, actor, &target, &Proof::confirm(&name).with_step_up(req.code, keys)).await?;
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO refunds (id, tenant_id, payment_id, provider, status, amount_minor, currency, reason, requested_by, \
         created_at, updated_at) VALUES ($1, $2, $3, 'stripe', 'requested', $4, $5, $6, $7, $8, $8)",
        args![id, q.tenant_id, q.payment_id, amount, q.currency.as_str(), reason, actor.name.as_str(), at],
    )
    .await?;
    let job = jobs::enqueue(
        &mut tx,
        NewJob {
            queue: QUEUE.into(),
            kind: JOB_KIND.into(),
            payload: json!({ "refund_id": id }),
            run_at: None,
            max_attempts: None,
            unique_key: Some(format!("refund:{id}")),
            tenant_id: Some(q.tenant_id),
            enqueued_by: actor.name.clone(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "payment.refund",
            entity: "payment",
            entity_id: Some(q.payment_id.to_string()),
            tenant_id: Some(q.tenant_id),
            before: Some(json!({ "refunded_minor": q.refunded_minor, "status": q.status })),
            after: Some(json!({
                "refund_id": id,
                "amount_minor": amount,
                "currency": q.currency,
                "reason": reason,
                "invoice": q.invoice_number,
                "job_id": job.id,
            })),
        },
    )
    .await?;
    let refund = tx
        .fetch_one(
            &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"),
            args![id],
        )
        .await?;
    tx.commit().await?;
    Ok(Requested { refund, job_id: job.id })
}

/// The refunds of payment `key`, newest first.
pub async fn list(db: &Db, actor: &Actor, key: &str) -> Result<Vec<RefundRow>, ServiceError> {
    let q = quote(db, actor, key).await?;
    db.fetch_all(
        &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY created_at DESC, id DESC"),
        args![q.payment_id],
    )
    .await
}

/// One refund by id (what a waiting verb polls), within the actor's reach.
pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<RefundRow, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let r: RefundRow = db
        .fetch_optional(
            &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"),
            args![id],
        )
        .await?
        .ok_or_else(|| ServiceError::not_found("refund", id.to_string()))?;
    quote(db, actor, &r.payment_id.to_string()).await?;
    Ok(r)
}

/// Our refund status for Stripe's (`canceled` → `cancelled`; `requires_action` waits).
fn our_status(stripe: &str) -> &'static str {
    match stripe {
        "succeeded" => "succeeded",
        "failed" => "failed",
        "canceled" => "cancelled",
        _ => "pending",
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct Paid {
    pub(crate) id: Uuid,
    pub(crate) tenant_id: Uuid,
    pub(crate) invoice_id: Uuid,
    pub(crate) status: String,
    pub(crate) amount_minor: i64,
    pub(crate) refunded_minor: i64,
}

/// Our Stripe payment a charge (or a dispute's charge) belongs to: `settle` records the
/// PaymentIntent (payment mode), the Stripe invoice (subscriptions) or, failing both, the
/// charge itself as the external id.
pub(crate) async fn find_payment(tx: &mut Tx, refs: &[Option<&str>]) -> Result<Option<Paid>, ServiceError> {
    let refs: Vec<&str> = refs.iter().flatten().copied().filter(|s| !s.is_empty()).collect();
    let Some(first) = refs.first().copied() else {
        return Ok(None);
    };
    let pick = |i: usize| refs.get(i).copied().unwrap_or(first);
    let sql = format!(
        "SELECT id, tenant_id, invoice_id, status, amount_minor, refunded_minor FROM payments \
         WHERE provider = 'stripe' AND external_id IN ($1, $2, $3) ORDER BY created_at LIMIT 1{}",
        lock_suffix(tx)
    );
    tx.fetch_optional(&sql, args![pick(0), pick(1), pick(2)]).await
}

/// What applying a charge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub tenant_id: Uuid,
    pub payment_id: Uuid,
    /// The refunded amount grew now.
    pub changed: bool,
    pub fully_refunded: bool,
    /// The invoice moved to `refunded` now.
    pub invoice_refunded: bool,
}

/// Brings our payment (and its refunds and invoice) up to what Stripe's charge says.
/// `None`: the charge is not one of our payments.
pub async fn apply_charge(tx: &mut Tx, actor: &Actor, charge: &Charge) -> Result<Option<Applied>, ServiceError> {
    let refs = [
        charge.payment_intent.as_deref(),
        Some(charge.id.as_str()),
        charge.invoice.as_deref(),
    ];
    let Some(p) = find_payment(tx, &refs).await? else {
        return Ok(None);
    };
    let at = now();
    // Only ever grows: an older event (a smaller total) arriving late changes nothing.
    let refunded = p.refunded_minor.max(charge.amount_refunded.min(p.amount_minor));
    let full = refunded >= p.amount_minor;
    let changed = refunded > p.refunded_minor;
    if changed {
        let status = if full && p.status == "succeeded" {
            "refunded"
        } else {
            p.status.as_str()
        };
        tx.execute(
            "UPDATE payments SET refunded_minor = $1, status = $2, updated_at = $3 WHERE id = $4",
            args![refunded, status, at, p.id],
        )
        .await?;
        audit::record(
            tx,
            actor,
            Change {
                action: "payment.refunded",
                entity: "payment",
                entity_id: Some(p.id.to_string()),
                tenant_id: Some(p.tenant_id),
                before: Some(json!({ "refunded_minor": p.refunded_minor, "status": status_label(&p.status, p.amount_minor, p.refunded_minor) })),
                after: Some(json!({
                    "refunded_minor": refunded,
                    "status": status_label(status, p.amount_minor, refunded),
                    "charge": charge.id,
                })),
            },
        )
        .await?;
    }
    for r in charge.refunds.iter().flat_map(|l| l.data.iter()) {
        note_refund(tx, actor, &p, r).await?;
    }
    let mut invoice_refunded = false;
    if full {
        let n = tx
            .execute(
                "UPDATE invoices SET status = 'refunded', updated_at = $1 WHERE id = $2 AND status = 'paid'",
                args![at, p.invoice_id],
            )
            .await?;
        if n > 0 {
            invoice_refunded = true;
            audit::record(
                tx,
                actor,
                Change {
                    action: "invoice.refunded",
                    entity: "invoice",
                    entity_id: Some(p.invoice_id.to_string()),
                    tenant_id: Some(p.tenant_id),
                    before: Some(json!({ "status": "paid" })),
                    after: Some(json!({ "status": "refunded", "payment_id": p.id, "refunded_minor": refunded })),
                },
            )
            .await?;
        }
    }
    Ok(Some(Applied {
        tenant_id: p.tenant_id,
        payment_id: p.id,
        changed,
        fully_refunded: full,
        invoice_refunded,
    }))
}

/// A refund Stripe reports: ours (by `metadata.refund_id`) moves to Stripe's status; one made
/// elsewhere (the Dashboard) is recorded so the payment's refunds add up.
async fn note_refund(tx: &mut Tx, actor: &Actor, p: &Paid, r: &Refund) -> Result<(), ServiceError> {
    let at = now();
    let status = our_status(&r.status);
    if let Some(ours) = r.metadata.get("refund_id").and_then(|s| Uuid::parse_str(s).ok()) {
        tx.execute(
            "UPDATE refunds SET external_id = $1, status = $2, updated_at = $3 \
             WHERE id = $4 AND payment_id = $5 AND status IN ('requested', 'pending')",
            args![r.id.as_str(), status, at, ours, p.id],
        )
        .await?;
        return Ok(());
    }
    let inserted = tx
        .execute(
            "INSERT INTO refunds (id, tenant_id, payment_id, provider, external_id, status, amount_minor, currency, reason, \
             requested_by, created_at, updated_at) VALUES ($1, $2, $3, 'stripe', $4, $5, $6, $7, $8, 'stripe', $9, $9) \
             ON CONFLICT (provider, external_id) DO NOTHING",
            args![
                Uuid::now_v7(),
                p.tenant_id,
                p.id,
                r.id.as_str(),
                status,
                r.amount,
                r.currency.to_uppercase(),
                r.reason.clone().unwrap_or_else(|| "made outside painel".into()),
                at
            ],
        )
        .await?;
    if inserted > 0 {
        audit::record(
            tx,
            actor,
            Change {
                action: "refund.external",
                entity: "payment",
                entity_id: Some(p.id.to_string()),
                tenant_id: Some(p.tenant_id),
                before: None,
                after: Some(json!({ "refund": r.id, "amount_minor": r.amount, "status": status })),
            },
        )
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Work {
    status: String,
    amount_minor: i64,
    reason: String,
    tenant_id: Uuid,
    payment_id: Uuid,
    external_id: Option<String>,
    provider_data: Option<Value>,
}

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// What to refund at Stripe for a payment: its PaymentIntent or charge.
fn refund_target(external: Option<&str>, data: Option<&Value>) -> Option<NewRefund> {
    let field = |k: &str| {
        data.and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let ext = external.unwrap_or("");
    let (pi, ch) = if ext.starts_with("pi_") {
        (Some(ext.to_owned()), None)
    } else if ext.starts_with("ch_") || ext.starts_with("py_") {
        (None, Some(ext.to_owned()))
    } else {
        (field("payment_intent"), field("charge"))
    };
    match (pi, ch) {
        (Some(pi), _) => Some(NewRefund {
            payment_intent: Some(pi),
            ..Default::default()
        }),
        (None, Some(ch)) => Some(NewRefund {
            charge: Some(ch),
            ..Default::default()
        }),
        _ => None,
    }
}

/// The `billing.refund` job.
pub async fn run(job: Job, db: Db, env: StripeEnv) -> Result<(), JobError> {
    let id = job
        .payload
        .get("refund_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.refund_id must be a uuid".into()))?;
    let w: Work = db
        .fetch_optional(
            "SELECT r.status, r.amount_minor, r.reason, r.tenant_id, r.payment_id, p.external_id, p.provider_data \
             FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1",
            args![id],
        )
        .await
        .map_err(transient)?
        .ok_or_else(|| JobError::Permanent(format!("no refund {id}")))?;
    if w.status != "requested" {
        return Ok(());
    }
    let actor = job.actor();
    let Some(mut req) = refund_target(w.external_id.as_deref(), w.provider_data.as_ref()) else {
        return fail(
            &db,
            &actor,
            id,
            &w,
            "the payment names no PaymentIntent or charge to refund",
        )
        .await;
    };
    let acct = account(&db, &env, w.tenant_id).await?;
    req.amount = Some(w.amount_minor);
    req.reason = Some("requested_by_customer".into());
    req.metadata = BTreeMap::from([
        ("refund_id".to_owned(), id.to_string()),
        ("painel_reason".to_owned(), w.reason.chars().take(MAX_REASON).collect()),
    ]);
    let refund = match acct.client.create_refund(&req, &format!("refund:{id}")).await {
        Ok(r) => r,
        Err(e) if e.is_transient() => return Err(e.into()),
        Err(e) => return fail(&db, &actor, id, &w, &e.to_string()).await,
    };
    let charge = match refund.charge.as_deref() {
        Some(ch) => Some(acct.client.retrieve_charge(ch).await?),
        None => None,
    };
    let mut tx = db.begin().await.map_err(transient)?;
    let at = now();
    tx.execute(
        "UPDATE refunds SET external_id = $1, status = $2, error = $3, updated_at = $4 \
         WHERE id = $5 AND status IN ('requested', 'pending')",
        args![
            refund.id.as_str(),
            our_status(&refund.status),
            refund.failure_reason.clone(),
            at,
            id
        ],
    )
    .await
    .map_err(transient)?;
    audit::record(
        &mut tx,
        &actor,
        Change {
            action: "refund.sent",
            entity: "payment",
            entity_id: Some(w.payment_id.to_string()),
            tenant_id: Some(w.tenant_id),
            before: None,
            after: Some(
                json!({ "refund_id": id, "refund": refund.id, "status": refund.status, "amount_minor": refund.amount }),
            ),
        },
    )
    .await
    .map_err(transient)?;
    if let Some(c) = charge {
        apply_charge(&mut tx, &actor, &c).await.map_err(transient)?;
    }
    tx.commit().await.map_err(transient)
}

/// A refund Stripe refused (or that cannot be sent): the row says why, audited, and the job
/// fails without retrying.
async fn fail(db: &Db, actor: &Actor, id: Uuid, w: &Work, why: &str) -> Result<(), JobError> {
    let mut tx = db.begin().await.map_err(transient)?;
    tx.execute(
        "UPDATE refunds SET status = 'failed', error = $1, updated_at = $2 WHERE id = $3 AND status = 'requested'",
        args![why, now(), id],
    )
    .await
    .map_err(transient)?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "refund.failed",
            entity: "payment",
            entity_id: Some(w.payment_id.to_string()),
            tenant_id: Some(w.tenant_id),
            before: None,
            after: Some(json!({ "refund_id": id, "error": why })),
        },
    )
    .await
    .map_err(transient)?;
    tx.commit().await.map_err(transient)?;
    Err(JobError::Permanent(why.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_payment_refunds_against() {
        let t = refund_target(Some("pi_1"), None).unwrap();
        assert_eq!(t.payment_intent.as_deref(), Some("pi_1"));
        let t = refund_target(Some("in_1"), Some(&json!({ "charge": "ch_9" }))).unwrap();
        assert_eq!(t.charge.as_deref(), Some("ch_9"));
        let t = refund_target(Some("cs_1"), Some(&json!({ "payment_intent": "pi_7" }))).unwrap();
        assert_eq!(t.payment_intent.as_deref(), Some("pi_7"));
        assert!(refund_target(Some("cs_1"), Some(&json!({}))).is_none());
        assert_eq!(status_label("succeeded", 100, 40), "partially_refunded");
        assert_eq!(status_label("succeeded", 100, 0), "succeeded");
        assert_eq!(status_label("refunded", 100, 100), "refunded");
    }
}
