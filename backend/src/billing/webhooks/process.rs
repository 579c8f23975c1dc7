//! The `billing.webhook` job: acts on one recorded event, in one transaction, and marks it
//! processed, ignored or failed. This is the only code that marks an invoice paid.
//!
//! Idempotent and order-proof: the event row is locked and acted on only while `received`;
//! an invoice moves to `paid` only from draft/pending/overdue (migration 0023 also refuses
//! any change away from `paid` other than a refund); a payment row is unique by
//! (provider, external_id), so a second event about the same payment records nothing.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Backend, Tx};
use crate::error::ServiceError;
use crate::jobs::{Job, JobError};
use crate::Db;

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

#[derive(sqlx::FromRow)]
struct EventRow {
    provider: String,
    event_type: String,
    status: String,
    payload: Option<Value>,
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    tenant_id: Uuid,
    number: String,
    status: String,
    total_minor: i64,
    currency: String,
}

/// Where an event lands: the row's new status, its tenant once known, and why (for
/// `ignored`/`failed`).
struct Verdict {
    status: &'static str,
    tenant_id: Option<Uuid>,
    error: Option<String>,
}

impl Verdict {
    fn ignored(why: impl Into<String>) -> Verdict {
        Verdict {
            status: "ignored",
            tenant_id: None,
            error: Some(why.into()),
        }
    }
}

/// A provider's report that money arrived for one of our invoices.
struct Paid {
    invoice_id: Uuid,
    external_id: String,
    amount_minor: i64,
    currency: String,
    method: Option<String>,
}

fn lock_suffix(tx: &Tx) -> &'static str {
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
        "stripe" => stripe_event(&mut tx, &job, &ev.event_type, &payload).await?,
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

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Our invoice id from an object's metadata; for Stripe invoices also where the Basil API
/// version moved the subscription's metadata (shared/providers/stripe.md, "Version trap").
fn invoice_ref(obj: &Value) -> Option<&str> {
    text(obj, &["metadata", "invoice_id"])
        .or_else(|| text(obj, &["subscription_details", "metadata", "invoice_id"]))
        .or_else(|| text(obj, &["parent", "subscription_details", "metadata", "invoice_id"]))
}

async fn stripe_event(tx: &mut Tx, job: &Job, kind: &str, payload: &Value) -> Result<Verdict, JobError> {
    let obj = payload.pointer("/data/object").unwrap_or(&Value::Null);
    let paid = match kind {
        "checkout.session.completed" => {
            if text(obj, &["payment_status"]) != Some("paid") {
                return Ok(Verdict::ignored("checkout session not paid yet"));
            }
            // One payment, whichever event reports it: a subscription's first invoice is
            // also announced by invoice.paid with the same `in_…` id.
            let external = text(obj, &["invoice"])
                .or_else(|| text(obj, &["payment_intent"]))
                .or_else(|| text(obj, &["id"]));
            (obj.get("amount_total"), external)
        }
        "invoice.paid" => (obj.get("amount_paid"), text(obj, &["id"])),
        "invoice.payment_failed" => return payment_failed(tx, job, obj).await,
        _ => return Ok(Verdict::ignored(format!("event type {kind} is not handled"))),
    };
    let Some(invoice) = invoice_ref(obj) else {
        return Ok(Verdict::ignored("no metadata.invoice_id: not a painel invoice"));
    };
    let Ok(invoice_id) = Uuid::parse_str(invoice) else {
        return Ok(failed("metadata.invoice_id is not a uuid"));
    };
    let (Some(amount), Some(external)) = (paid.0.and_then(Value::as_i64), paid.1) else {
        return Ok(failed("event has no amount or payment id"));
    };
    let p = Paid {
        invoice_id,
        external_id: external.to_owned(),
        amount_minor: amount,
        currency: text(obj, &["currency"]).unwrap_or("brl").to_ascii_uppercase(),
        method: Some("card".into()),
    };
    mark_paid(tx, job, &p, obj).await.map_err(transient)
}

fn failed(why: &str) -> Verdict {
    Verdict {
        status: "failed",
        tenant_id: None,
        error: Some(why.to_owned()),
    }
}

async fn invoice_for_update(tx: &mut Tx, id: Uuid) -> Result<Option<InvoiceRow>, ServiceError> {
    let sql = format!(
        "SELECT tenant_id, number, status, total_minor, currency FROM invoices WHERE id = $1{}",
        lock_suffix(tx)
    );
    tx.fetch_optional(&sql, args![id]).await
}

/// Records the payment (once) and moves the invoice to `paid` (once), each audited.
async fn mark_paid(tx: &mut Tx, job: &Job, p: &Paid, obj: &Value) -> Result<Verdict, ServiceError> {
    let Some(inv) = invoice_for_update(tx, p.invoice_id).await? else {
        return Ok(failed("metadata.invoice_id names no invoice"));
    };
    let at = now();
    let actor = job.actor();
    let payment_id = Uuid::now_v7();
    let inserted: Option<Uuid> = tx
        .fetch_optional::<(Uuid,)>(
            "INSERT INTO payments (id, tenant_id, invoice_id, provider, method, external_id, status, amount_minor, \
             currency, paid_at, provider_data, created_at, updated_at) \
             VALUES ($1, $2, $3, 'stripe', $4, $5, 'succeeded', $6, $7, $8, $9, $8, $8) \
             ON CONFLICT (provider, external_id) DO NOTHING RETURNING id",
            args![
                payment_id,
                inv.tenant_id,
                p.invoice_id,
                p.method.clone(),
                p.external_id.as_str(),
                p.amount_minor,
                p.currency.as_str(),
                at,
                obj.clone()
            ],
        )
        .await?
        .map(|r| r.0);
    if let Some(pid) = inserted {
        audit::record(
            tx,
            &actor,
            Change {
                action: "payment.record",
                entity: "payment",
                entity_id: Some(pid.to_string()),
                tenant_id: Some(inv.tenant_id),
                before: None,
                after: Some(json!({
                    "invoice_id": p.invoice_id,
                    "provider": "stripe",
                    "external_id": p.external_id,
                    "amount_minor": p.amount_minor,
                    "currency": p.currency,
                    "status": "succeeded",
                })),
            },
        )
        .await?;
    }
    let payable = matches!(inv.status.as_str(), "draft" | "pending" | "overdue");
    if payable {
        tx.execute(
            "UPDATE invoices SET status = 'paid', paid_at = $1, updated_at = $1 WHERE id = $2",
            args![at, p.invoice_id],
        )
        .await?;
        audit::record(
            tx,
            &actor,
            Change {
                action: "invoice.paid",
                entity: "invoice",
                entity_id: Some(p.invoice_id.to_string()),
                tenant_id: Some(inv.tenant_id),
                before: Some(json!({ "status": inv.status })),
                after: Some(json!({
                    "status": "paid",
                    "number": inv.number,
                    "payment_external_id": p.external_id,
                    "amount_minor": p.amount_minor,
                    "total_minor": inv.total_minor,
                    "currency": inv.currency,
                })),
            },
        )
        .await?;
    }
    let error = match (payable, inserted.is_some()) {
        (true, _) => None,
        (false, true) => Some(format!("payment recorded; invoice was already {}", inv.status)),
        (false, false) => Some(format!("invoice already {}; payment already recorded", inv.status)),
    };
    Ok(Verdict {
        status: "processed",
        tenant_id: Some(inv.tenant_id),
        error,
    })
}

/// A failed charge never touches a paid invoice; on an unpaid one it is audited, for dunning.
async fn payment_failed(tx: &mut Tx, job: &Job, obj: &Value) -> Result<Verdict, JobError> {
    let Some(id) = invoice_ref(obj).and_then(|s| Uuid::parse_str(s).ok()) else {
        return Ok(Verdict::ignored("no metadata.invoice_id: not a painel invoice"));
    };
    let Some(inv) = invoice_for_update(tx, id).await.map_err(transient)? else {
        return Ok(failed("metadata.invoice_id names no invoice"));
    };
    if !matches!(inv.status.as_str(), "draft" | "pending" | "overdue") {
        let mut v = Verdict::ignored(format!("invoice already {}", inv.status));
        v.tenant_id = Some(inv.tenant_id);
        return Ok(v);
    }
    audit::record(
        tx,
        &job.actor(),
        Change {
            action: "invoice.payment_failed",
            entity: "invoice",
            entity_id: Some(id.to_string()),
            tenant_id: Some(inv.tenant_id),
            before: None,
            after: Some(json!({
                "status": inv.status,
                "stripe_invoice": text(obj, &["id"]),
                "attempt_count": obj.get("attempt_count"),
            })),
        },
    )
    .await
    .map_err(transient)?;
    Ok(Verdict {
        status: "processed",
        tenant_id: Some(inv.tenant_id),
        error: None,
    })
}
