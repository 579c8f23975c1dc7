//! One invoice as its screen shows it: items, payments, how they cover the total, and the
//! invoice's own audit trail (its rows and its payments' rows).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{get_tx, Invoice, Item};
use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::billing::payments::{self, Payment};
use crate::billing::settle::{self, Coverage};
use crate::db::Db;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TrailRow {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub action: String,
    pub entity: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InvoiceDetail {
    pub invoice: Invoice,
    pub items: Vec<Item>,
    pub payments: Vec<Payment>,
    /// What the succeeded payments in the invoice's currency add up to against its total.
    pub coverage: Coverage,
    pub trail: Vec<TrailRow>,
}

impl InvoiceDetail {
    /// Open, with some money in but not all: what the screen calls partially paid.
    pub fn partially_paid(&self) -> bool {
        matches!(self.coverage, Coverage::Short { paid_minor, .. } if paid_minor > 0)
            && matches!(self.invoice.status.as_str(), "draft" | "pending" | "overdue")
    }
}

/// The invoice (id, short id or number) with everything its screen shows.
pub async fn detail(db: &Db, actor: &Actor, key: &str) -> Result<InvoiceDetail, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut tx = db.begin().await?;
    let invoice = get_tx(&mut tx, actor, key).await?;
    let items: Vec<Item> = tx
        .fetch_all(
            "SELECT id, service_id, description, quantity, unit_price_minor, amount_minor, currency FROM invoice_items \
             WHERE invoice_id = $1 ORDER BY sort_order, id",
            args![invoice.id],
        )
        .await?;
    let payments = payments::of_invoice(&mut tx, invoice.id).await?;
    let got = settle::received(&mut tx, invoice.id).await?;
    let coverage = settle::assess(invoice.total_minor, &invoice.currency, &invoice.currency, &got);
    let mut trail: Vec<TrailRow> = tx
        .fetch_all(
            "SELECT at, actor_name, action, entity FROM audit_log WHERE entity = 'invoice' AND entity_id = $1 \
             ORDER BY seq DESC LIMIT 50",
            args![invoice.id.to_string()],
        )
        .await?;
    for p in &payments {
        let rows: Vec<TrailRow> = tx
            .fetch_all(
                "SELECT at, actor_name, action, entity FROM audit_log WHERE entity = 'payment' AND entity_id = $1 \
                 ORDER BY seq DESC LIMIT 20",
                args![p.id.to_string()],
            )
            .await?;
        trail.extend(rows);
    }
    trail.sort_by_key(|r| std::cmp::Reverse(r.at));
    tx.commit().await?;
    Ok(InvoiceDetail {
        invoice,
        items,
        payments,
        coverage,
        trail,
    })
}
