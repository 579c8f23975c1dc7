//! Settling an invoice: money arrived for it. The one path to `paid` (docs/adr/0023): a
//! verified provider event's job calls it, and so does a manual payment entry (a sensitive
//! action); nothing else writes `status = 'paid'`.
//!
//! Idempotent: the payment row is unique by (provider, external_id), and the invoice moves to
//! `paid` only from draft/pending/overdue — a second report of the same money records nothing.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Backend, Tx};
use crate::error::ServiceError;

/// A report that money arrived for one of our invoices.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub invoice_id: Uuid,
    /// `payments.provider`: `stripe`, `mercadopago`, `pagseguro`, `manual`.
    pub provider: String,
    /// The provider's id of the payment (unique per provider).
    pub external_id: String,
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub method: Option<String>,
    /// The provider's object as received, kept on the payment row.
    pub provider_data: Value,
}

/// What settling did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The invoice id names no invoice.
    NoInvoice,
    Done {
        tenant_id: Uuid,
        /// The invoice moved to `paid` now.
        invoice_paid: bool,
        /// A payment row was written now (false: this payment was already recorded).
        payment_recorded: bool,
        /// The invoice's status before.
        prior_status: String,
    },
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    tenant_id: Uuid,
    number: String,
    status: String,
    total_minor: i64,
    currency: String,
}

fn lock_suffix(tx: &Tx) -> &'static str {
    if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// Records the payment (once) and moves the invoice to `paid` (once), each audited, inside
/// the caller's transaction.
pub async fn settle(tx: &mut Tx, actor: &Actor, p: &Settlement) -> Result<Settled, ServiceError> {
    let sql = format!(
        "SELECT tenant_id, number, status, total_minor, currency FROM invoices WHERE id = $1{}",
        lock_suffix(tx)
    );
    let Some(inv) = tx.fetch_optional::<InvoiceRow>(&sql, args![p.invoice_id]).await? else {
        return Ok(Settled::NoInvoice);
    };
    let at = now();
    let payment_id = Uuid::now_v7();
    let inserted: Option<Uuid> = tx
        .fetch_optional::<(Uuid,)>(
            "INSERT INTO payments (id, tenant_id, invoice_id, provider, method, external_id, status, amount_minor, \
             currency, paid_at, provider_data, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7, $8, $9, $10, $9, $9) \
             ON CONFLICT (provider, external_id) DO NOTHING RETURNING id",
            args![
                payment_id,
                inv.tenant_id,
                p.invoice_id,
                p.provider.as_str(),
                p.method.clone(),
                p.external_id.as_str(),
                p.amount_minor,
                p.currency.as_str(),
                at,
                p.provider_data.clone()
            ],
        )
        .await?
        .map(|r| r.0);
    if let Some(pid) = inserted {
        audit::record(
            tx,
            actor,
            Change {
                action: "payment.record",
                entity: "payment",
                entity_id: Some(pid.to_string()),
                tenant_id: Some(inv.tenant_id),
                before: None,
                after: Some(json!({
                    "invoice_id": p.invoice_id,
                    "provider": p.provider,
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
            actor,
            Change {
                action: "invoice.paid",
                entity: "invoice",
                entity_id: Some(p.invoice_id.to_string()),
                tenant_id: Some(inv.tenant_id),
                before: Some(json!({ "status": inv.status })),
                after: Some(json!({
                    "status": "paid",
                    "number": inv.number,
                    "provider": p.provider,
                    "payment_external_id": p.external_id,
                    "amount_minor": p.amount_minor,
                    "total_minor": inv.total_minor,
                    "currency": inv.currency,
                })),
            },
        )
        .await?;
    }
    Ok(Settled::Done {
        tenant_id: inv.tenant_id,
        invoice_paid: payable,
        payment_recorded: inserted.is_some(),
        prior_status: inv.status,
    })
}
