//! A Stripe Checkout Session for an invoice: asking for one (`request`, audited, a job
//! enqueued in the same transaction), the job that creates it (`run`: one `POST
//! /v1/checkout/sessions` with `Idempotency-Key: checkout:<row id>`, so a retried job gets the
//! same session), and reading the link (`pay_link`). The session's metadata carries our
//! invoice id, which is how `checkout.session.completed` finds the invoice to settle.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{account, from_unix, lock_suffix, StripeEnv, QUEUE};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::billing::invoices;
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::jobs::{self, Job, JobError, NewJob};
use crate::providers::stripe::{LineItem, NewCheckoutSession};

pub const JOB_KIND: &str = "billing.checkout";

/// `payment` (one charge) or `subscription` (monthly, renewed by Stripe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Payment,
    Subscription,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Payment => "payment",
            Mode::Subscription => "subscription",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim() {
            "payment" => Some(Mode::Payment),
            "subscription" => Some(Mode::Subscription),
            _ => None,
        }
    }
}

/// A checkout session as painel keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PayLink {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub invoice_number: String,
    /// requested (the job has not answered yet), open, complete, expired, failed.
    pub status: String,
    pub mode: String,
    pub url: Option<String>,
    pub external_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "c.id, c.invoice_id, i.number AS invoice_number, c.status, c.mode, c.url, c.external_id, \
                       c.amount_minor, c.currency, c.expires_at, c.error, c.created_at";
const FROM: &str = "checkout_sessions c JOIN invoices i ON i.id = c.invoice_id";

/// What asking for a link did.
#[derive(Debug, Clone, Serialize)]
pub struct Requested {
    pub link: PayLink,
    /// The job creating the session; `None` when a live link already existed.
    pub job_id: Option<Uuid>,
}

/// Asks for a Checkout Session for invoice `key` (pending or overdue). A live session (being
/// created, or open and not expired) of the same mode is returned instead of a second one.
pub async fn request(db: &Db, actor: &Actor, key: &str, mode: Mode) -> Result<Requested, ServiceError> {
    require(actor, Permission::InvoicesCreate)?;
    let (inv, _) = invoices::show(db, actor, key).await?;
    if !matches!(inv.status.as_str(), "pending" | "overdue") {
        return Err(ServiceError::Conflict(format!(
            "invoice {} is {}: only a pending or overdue invoice is paid by link",
            inv.number, inv.status
        )));
    }
    if inv.total_minor <= 0 {
        return Err(ServiceError::Conflict(format!(
            "invoice {} has nothing to pay",
            inv.number
        )));
    }
    let mut tx = db.begin().await?;
    let at = now();
    let live: Option<PayLink> = tx
        .fetch_optional(
            &format!(
                "SELECT {COLUMNS} FROM {FROM} WHERE c.invoice_id = $1 AND c.mode = $2 \
                 AND (c.status = 'requested' OR (c.status = 'open' AND (c.expires_at IS NULL OR c.expires_at > $3))) \
                 ORDER BY c.created_at DESC LIMIT 1"
            ),
            args![inv.id, mode.as_str(), at],
        )
        .await?;
    if let Some(link) = live {
        tx.commit().await?;
        return Ok(Requested { link, job_id: None });
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO checkout_sessions (id, tenant_id, invoice_id, mode, status, amount_minor, currency, idempotency_key, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7, $8, $8)",
        args![id, inv.tenant_id, inv.id, mode.as_str(), inv.total_minor, inv.currency.as_str(), format!("checkout:{id}"), at],
    )
    .await?;
    let job = jobs::enqueue(
        &mut tx,
        NewJob {
            queue: QUEUE.into(),
            kind: JOB_KIND.into(),
            payload: json!({ "checkout_id": id }),
            run_at: None,
            max_attempts: None,
            unique_key: Some(format!("checkout:{id}")),
            tenant_id: Some(inv.tenant_id),
            enqueued_by: actor.name.clone(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "invoice.checkout",
            entity: "invoice",
            entity_id: Some(inv.id.to_string()),
            tenant_id: Some(inv.tenant_id),
            before: None,
            after: Some(json!({
                "checkout_id": id,
                "mode": mode.as_str(),
                "amount_minor": inv.total_minor,
                "currency": inv.currency,
                "job_id": job.id,
            })),
        },
    )
    .await?;
    let link = tx
        .fetch_one(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1"), args![id])
        .await?;
    tx.commit().await?;
    Ok(Requested {
        link,
        job_id: Some(job.id),
    })
}

/// The newest checkout session of invoice `key`, if any.
pub async fn pay_link(db: &Db, actor: &Actor, key: &str) -> Result<Option<PayLink>, ServiceError> {
    let (inv, _) = invoices::show(db, actor, key).await?;
    db.fetch_optional(
        &format!("SELECT {COLUMNS} FROM {FROM} WHERE c.invoice_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT 1"),
        args![inv.id],
    )
    .await
}

/// One checkout session by its row id (what a waiting verb polls).
pub async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<PayLink, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let link: PayLink = db
        .fetch_optional(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1"), args![id])
        .await?
        .ok_or_else(|| ServiceError::not_found("checkout session", id.to_string()))?;
    // Scope and reach are the invoice's.
    invoices::show(db, actor, &link.invoice_id.to_string()).await?;
    Ok(link)
}

#[derive(sqlx::FromRow)]
struct Work {
    status: String,
    mode: String,
    tenant_id: Uuid,
    invoice_id: Uuid,
    number: String,
    amount_minor: i64,
    currency: String,
    idempotency_key: String,
    email: Option<String>,
}

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// The `billing.checkout` job.
pub async fn run(job: Job, db: Db, env: StripeEnv) -> Result<(), JobError> {
    let id = job
        .payload
        .get("checkout_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.checkout_id must be a uuid".into()))?;
    let w: Work = db
        .fetch_optional(
            "SELECT c.status, c.mode, c.tenant_id, c.invoice_id, i.number, c.amount_minor, c.currency, c.idempotency_key, \
             cu.email FROM checkout_sessions c JOIN invoices i ON i.id = c.invoice_id \
             LEFT JOIN customers cu ON cu.id = i.customer_id WHERE c.id = $1",
            args![id],
        )
        .await
        .map_err(transient)?
        .ok_or_else(|| JobError::Permanent(format!("no checkout session {id}")))?;
    if w.status != "requested" {
        return Ok(());
    }
    let acct = account(&db, &env, w.tenant_id).await?;
    let req = NewCheckoutSession {
        mode: w.mode.clone(),
        currency: w.currency.to_lowercase(),
        // One line for the invoice's total: discounts and taxes are already in it, and the
        // amount Stripe charges is exactly what the invoice says.
        line_items: vec![LineItem {
            name: format!("Fatura {}", w.number),
            unit_amount: w.amount_minor,
            quantity: 1,
            interval: (w.mode == "subscription").then(|| "month".to_owned()),
        }],
        success_url: acct.success_url.clone(),
        cancel_url: acct.cancel_url.clone(),
        customer_email: w.email.clone().filter(|e| e.contains('@')),
        client_reference_id: Some(w.invoice_id.to_string()),
        metadata: BTreeMap::from([
            ("invoice_id".to_owned(), w.invoice_id.to_string()),
            ("invoice_number".to_owned(), w.number.clone()),
            ("tenant_id".to_owned(), w.tenant_id.to_string()),
            ("checkout_id".to_owned(), id.to_string()),
        ]),
        expires_at: None,
    };
    let answer = acct.client.create_checkout_session(&req, &w.idempotency_key).await;
    let actor = job.actor();
    let mut tx = db.begin().await.map_err(transient)?;
    let still: Option<(String,)> = tx
        .fetch_optional(
            &format!("SELECT status FROM checkout_sessions WHERE id = $1{}", lock_suffix(&tx)),
            args![id],
        )
        .await
        .map_err(transient)?;
    if still.is_none_or(|s| s.0 != "requested") {
        return Ok(());
    }
    let at = now();
    let outcome = match answer {
        Ok(s) => {
            tx.execute(
                "UPDATE checkout_sessions SET status = 'open', external_id = $1, url = $2, expires_at = $3, error = NULL, \
                 updated_at = $4 WHERE id = $5",
                args![s.id.as_str(), s.url.clone(), s.expires_at.and_then(from_unix), at, id],
            )
            .await
            .map_err(transient)?;
            audit::record(
                &mut tx,
                &actor,
                Change {
                    action: "checkout.created",
                    entity: "invoice",
                    entity_id: Some(w.invoice_id.to_string()),
                    tenant_id: Some(w.tenant_id),
                    before: None,
                    after: Some(json!({ "checkout_id": id, "session": s.id, "url": s.url, "mode": s.mode })),
                },
            )
            .await
            .map_err(transient)?;
            Ok(())
        }
        Err(e) if e.is_transient() => return Err(e.into()),
        Err(e) => {
            tx.execute(
                "UPDATE checkout_sessions SET status = 'failed', error = $1, updated_at = $2 WHERE id = $3",
                args![e.to_string(), at, id],
            )
            .await
            .map_err(transient)?;
            audit::record(
                &mut tx,
                &actor,
                Change {
                    action: "checkout.failed",
                    entity: "invoice",
                    entity_id: Some(w.invoice_id.to_string()),
                    tenant_id: Some(w.tenant_id),
                    before: None,
                    after: Some(json!({ "checkout_id": id, "error": e.to_string() })),
                },
            )
            .await
            .map_err(transient)?;
            Err(JobError::from(e))
        }
    };
    tx.commit().await.map_err(transient)?;
    outcome
}
