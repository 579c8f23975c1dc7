//! What a paid invoice sets in motion (docs/adr/0027). [`on_paid`] runs inside
//! `billing::settle`, in the transaction that moves the invoice to `paid`: the invoice's
//! services are provisioned (pending → `hosting.create`), unsuspended when dunning suspended
//! them, and their paid period extends `next_due_at`. So the payment and the work it pays for
//! commit together — there is never a paid invoice whose service nobody will act on, nor a
//! job for money that was rolled back.
//!
//! Order invoices ([`order_invoice`]) are issued here too: a service ordered "bill first" waits
//! `pending` with no job until its order invoice is paid.

use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::billing::invoices::{self, format_number, next_number, Invoice};
use crate::db::{now, Tx};
use crate::error::ServiceError;
use crate::hosting::services::{enqueue_for, Service, SERVICES_CHANNEL};
use crate::jobs::Job;

/// `services.suspend_reason` of a suspension for non-payment: only these are lifted by a
/// payment (an operator's suspension for abuse is not).
pub const NON_PAYMENT: &str = "non-payment";

/// The length of one billing period, `None` for one-time services (never renewed).
pub fn cycle_months(cycle: &str) -> Option<u32> {
    match cycle {
        "monthly" => Some(1),
        "quarterly" => Some(3),
        "semiannual" => Some(6),
        "annual" => Some(12),
        "biennial" => Some(24),
        "triennial" => Some(36),
        _ => None,
    }
}

/// The end of the period starting at `start`.
pub fn period_end(start: DateTime<Utc>, cycle: &str) -> Option<DateTime<Utc>> {
    cycle_months(cycle).and_then(|m| start.checked_add_months(Months::new(m)))
}

/// What paying did to one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fulfilment {
    pub service_id: Uuid,
    /// `provision`, `unsuspend`, `renew`, or `none` with the reason in `detail`.
    pub action: &'static str,
    pub job_id: Option<Uuid>,
    pub detail: String,
}

#[derive(sqlx::FromRow)]
struct Paid {
    service_id: Uuid,
    status: String,
    suspend_reason: Option<String>,
    next_due_at: Option<DateTime<Utc>>,
    period_end: Option<DateTime<Utc>>,
}

/// A lifecycle job of the service queued or running (they share `service:<id>`).
pub(crate) async fn job_in_flight(tx: &mut Tx, tenant: Uuid, service: Uuid) -> Result<Option<Job>, ServiceError> {
    tx.fetch_optional(
        &format!(
            "SELECT {} FROM jobs WHERE tenant_id = $1 AND unique_key = $2 AND status IN ('queued', 'running')",
            crate::jobs::COLUMNS
        ),
        args![tenant, format!("service:{service}")],
    )
    .await
}

/// Enqueues the paid-for work of invoice `invoice_id`, in the caller's transaction (the one
/// that just marked it paid), audited as `actor`. Safe to call again: a job already in flight
/// is left alone and a period already counted does not extend `next_due_at` twice.
pub async fn on_paid(
    tx: &mut Tx,
    actor: &Actor,
    invoice_id: Uuid,
    tenant_id: Uuid,
) -> Result<Vec<Fulfilment>, ServiceError> {
    let rows: Vec<Paid> = tx
        .fetch_all(
            "SELECT s.id AS service_id, s.status, s.suspend_reason, s.next_due_at, MAX(i.period_end) AS period_end \
             FROM invoice_items i JOIN services s ON s.id = i.service_id \
             WHERE i.invoice_id = $1 AND i.tenant_id = $2 \
             GROUP BY s.id, s.status, s.suspend_reason, s.next_due_at ORDER BY s.id",
            args![invoice_id, tenant_id],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        if let Some(end) = r.period_end.filter(|e| r.next_due_at.is_none_or(|d| *e > d)) {
            tx.execute(
                "UPDATE services SET next_due_at = $1, updated_at = $2 WHERE id = $3",
                args![end, now(), r.service_id],
            )
            .await?;
            record(
                tx,
                actor,
                tenant_id,
                r.service_id,
                "service.renew",
                json!({
                    "invoice_id": invoice_id, "next_due_at_before": r.next_due_at, "next_due_at": end,
                }),
            )
            .await?;
            out.push(Fulfilment {
                service_id: r.service_id,
                action: "renew",
                job_id: None,
                detail: format!("paid through {}", end.format("%Y-%m-%d")),
            });
        }
        let (kind, action) = match (r.status.as_str(), r.suspend_reason.as_deref()) {
            ("pending", _) => ("hosting.create", "provision"),
            ("suspended", Some(NON_PAYMENT)) => ("hosting.unsuspend", "unsuspend"),
            ("active", _) => {
                cancel_queued_suspension(tx, actor, tenant_id, r.service_id, invoice_id).await?;
                continue;
            }
            _ => continue,
        };
        if let Some(j) = job_in_flight(tx, tenant_id, r.service_id).await? {
            // The renewal run's reconciliation picks the service up once that job is done.
            out.push(Fulfilment {
                service_id: r.service_id,
                action: "none",
                job_id: Some(j.id),
                detail: format!("{} job {} in flight", j.kind, j.id),
            });
            continue;
        }
        let job = enqueue_for(
            tx,
            actor,
            tenant_id,
            r.service_id,
            kind,
            json!({ "invoice_id": invoice_id }),
        )
        .await?;
        record(
            tx,
            actor,
            tenant_id,
            r.service_id,
            &format!("service.{action}"),
            json!({
                "reason": "paid", "invoice_id": invoice_id, "job_id": job.id,
            }),
        )
        .await?;
        tx.after_commit(SERVICES_CHANNEL, r.service_id.to_string());
        out.push(Fulfilment {
            service_id: r.service_id,
            action,
            job_id: Some(job.id),
            detail: format!("{kind} enqueued"),
        });
    }
    Ok(out)
}

/// A non-payment suspension asked for but not started is moot once the money is in.
async fn cancel_queued_suspension(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    service: Uuid,
    invoice_id: Uuid,
) -> Result<(), ServiceError> {
    let Some(j) = job_in_flight(tx, tenant, service).await? else {
        return Ok(());
    };
    let non_payment = j.payload.get("reason").and_then(|v| v.as_str()) == Some(NON_PAYMENT);
    if j.kind != "hosting.suspend" || j.status != "queued" || !non_payment {
        return Ok(());
    }
    let n = tx
        .execute(
            "UPDATE jobs SET status = 'cancelled', finished_at = $1, updated_at = $1, \
             last_error = 'paid before the suspension ran' WHERE id = $2 AND status = 'queued'",
            args![now(), j.id],
        )
        .await?;
    if n == 1 {
        record(
            tx,
            actor,
            tenant,
            service,
            "service.suspend.cancel",
            json!({
                "reason": "paid", "invoice_id": invoice_id, "job_id": j.id,
            }),
        )
        .await?;
    }
    Ok(())
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    service: Uuid,
    action: &str,
    after: serde_json::Value,
) -> Result<(), ServiceError> {
    audit::record(
        tx,
        actor,
        Change {
            action,
            entity: "service",
            entity_id: Some(service.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(after),
        },
    )
    .await
    .map(|_| ())
}

/// What a period invoice bills: one service for `[start, end)`, due at `due`.
pub(crate) struct PeriodBill<'a> {
    pub service: Uuid,
    pub customer: Uuid,
    pub description: &'a str,
    pub price_minor: i64,
    pub currency: &'a str,
    pub reason: &'static str,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub due: DateTime<Utc>,
    pub dedupe_key: String,
}

/// Issues (pending) the invoice of one service period, unless one with its key exists:
/// `Ok(None)` then. Takes the tenant's next number in the caller's transaction.
pub(crate) async fn issue_period(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    b: &PeriodBill<'_>,
) -> Result<Option<Invoice>, ServiceError> {
    let exists: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM invoices WHERE tenant_id = $1 AND dedupe_key = $2",
            args![tenant, b.dedupe_key.as_str()],
        )
        .await?;
    if exists > 0 {
        return Ok(None);
    }
    let seq = next_number(tx, tenant).await?;
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO invoices (id, tenant_id, customer_id, number, seq, status, reason, subtotal_minor, total_minor, \
         currency, due_at, period_start, period_end, dedupe_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $7, $8, $9, $10, $11, $12, $13, $13)",
        args![
            id,
            tenant,
            b.customer,
            format_number(seq),
            seq,
            b.reason,
            b.price_minor,
            b.currency,
            b.due,
            b.start,
            b.end,
            b.dedupe_key.as_str(),
            at
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO invoice_items (id, tenant_id, invoice_id, service_id, description, quantity, unit_price_minor, \
         amount_minor, currency, period_start, period_end, sort_order) VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $8, $9, 0)",
        args![
            Uuid::now_v7(),
            tenant,
            id,
            b.service,
            b.description,
            b.price_minor,
            b.currency,
            b.start,
            b.end
        ],
    )
    .await?;
    let inv = invoices::read(tx, id).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "invoice.create",
            entity: "invoice",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({ "invoice": &inv, "items": 1, "service_id": b.service, "key": b.dedupe_key })),
        },
    )
    .await?;
    Ok(Some(inv))
}

/// The order invoice of a service ordered "bill first": its first period, due in
/// `due_in_days`. Paying it provisions the service ([`on_paid`]).
pub(crate) async fn order_invoice(
    tx: &mut Tx,
    actor: &Actor,
    s: &Service,
    due_in_days: i64,
) -> Result<Invoice, ServiceError> {
    let start = now();
    let cycle: (String,) = tx
        .fetch_one("SELECT billing_cycle FROM services WHERE id = $1", args![s.id])
        .await?;
    let description = format!("{} ({})", s.domain.as_deref().unwrap_or("hosting"), s.plan_code);
    let bill = PeriodBill {
        service: s.id,
        customer: s.customer_id,
        description: &description,
        price_minor: s.price_minor,
        currency: &s.currency,
        reason: "order",
        start,
        end: period_end(start, &cycle.0),
        due: start + chrono::Duration::days(due_in_days),
        dedupe_key: format!("order:{}", s.id),
    };
    issue_period(tx, actor, s.tenant_id, &bill)
        .await?
        .ok_or_else(|| ServiceError::Conflict(format!("service {} already has its order invoice", s.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn periods_follow_the_cycle() {
        let t = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).single().unwrap_or_default();
        assert_eq!(
            period_end(t, "monthly").map(|d| d.format("%F").to_string()),
            Some("2026-02-28".into())
        );
        assert_eq!(
            period_end(t, "annual").map(|d| d.format("%F").to_string()),
            Some("2027-01-31".into())
        );
        assert_eq!(period_end(t, "one_time"), None);
        assert_eq!(cycle_months("quarterly"), Some(3));
    }
}
