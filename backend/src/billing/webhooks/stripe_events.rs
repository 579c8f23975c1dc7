//! What Stripe's events mean for us (shared/providers/stripe.md): which ones report money for
//! one of our invoices (settled through `billing::settle`), and which are only audited.

use serde_json::{json, Value};
use uuid::Uuid;

use super::process::{lock_suffix, text, transient, Verdict};
use crate::args;
use crate::audit::{self, Change};
use crate::billing::settle::{settle, Settlement};
use crate::db::Tx;
use crate::jobs::{Job, JobError};

/// Our invoice id from an object's metadata; for Stripe invoices also where the Basil API
/// version moved the subscription's metadata (shared/providers/stripe.md, "Version trap").
fn invoice_ref(obj: &Value) -> Option<&str> {
    text(obj, &["metadata", "invoice_id"])
        .or_else(|| text(obj, &["subscription_details", "metadata", "invoice_id"]))
        .or_else(|| text(obj, &["parent", "subscription_details", "metadata", "invoice_id"]))
}

pub(super) async fn act(tx: &mut Tx, job: &Job, kind: &str, payload: &Value) -> Result<Verdict, JobError> {
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
        return Ok(Verdict::failed("metadata.invoice_id is not a uuid"));
    };
    let (Some(amount), Some(external)) = (paid.0.and_then(Value::as_i64), paid.1) else {
        return Ok(Verdict::failed("event has no amount or payment id"));
    };
    let s = Settlement {
        invoice_id,
        provider: "stripe".into(),
        external_id: external.to_owned(),
        amount_minor: amount,
        currency: text(obj, &["currency"]).unwrap_or("brl").to_ascii_uppercase(),
        method: Some("card".into()),
        provider_data: obj.clone(),
    };
    let settled = settle(tx, &job.actor(), &s).await.map_err(transient)?;
    Ok(Verdict::settled(settled))
}

#[derive(sqlx::FromRow)]
struct InvoiceState {
    tenant_id: Uuid,
    status: String,
}

/// A failed charge never touches a paid invoice; on an unpaid one it is audited, for dunning.
async fn payment_failed(tx: &mut Tx, job: &Job, obj: &Value) -> Result<Verdict, JobError> {
    let Some(id) = invoice_ref(obj).and_then(|s| Uuid::parse_str(s).ok()) else {
        return Ok(Verdict::ignored("no metadata.invoice_id: not a painel invoice"));
    };
    let sql = format!(
        "SELECT tenant_id, status FROM invoices WHERE id = $1{}",
        lock_suffix(tx)
    );
    let Some(inv) = tx
        .fetch_optional::<InvoiceState>(&sql, args![id])
        .await
        .map_err(transient)?
    else {
        return Ok(Verdict::failed("metadata.invoice_id names no invoice"));
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
