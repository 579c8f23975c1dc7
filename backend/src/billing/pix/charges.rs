//! PIX charges for invoices. [`request`] is what a keypress or a verb does: a static BR Code
//! is made at once (no provider involved); a Mercado Pago or PagSeguro charge is recorded as
//! `requested` and created by the `billing.pix_charge` job ([`run_charge`]) — never in the
//! request path. A charge is not a payment: only a verified webhook whose payment the job
//! fetched from the API settles the invoice.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::brcode::{self, StaticCode};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::billing::invoices;
use crate::billing::webhooks::ProviderApis;
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::jobs::{enqueue, Job, JobError, NewJob};
use crate::providers::mercadopago::NewPixPayment;
use crate::providers::pagseguro::NewPixOrder;

pub const JOB_KIND: &str = "billing.pix_charge";
/// How long a provider's code stays payable.
pub const CHARGE_TTL_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PixCharge {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub invoice_id: Uuid,
    pub invoice_number: String,
    /// `static`, `mercadopago`, `pagseguro`.
    pub provider: String,
    /// `requested` (the job has not created it yet), `active`, `failed`, `paid`, `expired`.
    pub status: String,
    pub external_id: Option<String>,
    /// The BR Code ("copia e cola") once known.
    pub code: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "c.id, c.tenant_id, c.invoice_id, i.number AS invoice_number, c.provider, c.status, \
    c.external_id, c.code, c.amount_minor, c.currency, c.expires_at, c.error, c.created_at";
const FROM: &str = "pix_charges c JOIN invoices i ON i.id = c.invoice_id";

async fn latest(tx: &mut Tx, invoice: Uuid) -> Result<Option<PixCharge>, ServiceError> {
    tx.fetch_optional(
        &format!("SELECT {COLUMNS} FROM {FROM} WHERE c.invoice_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT 1"),
        args![invoice],
    )
    .await
}

async fn by_id(tx: &mut Tx, id: Uuid) -> Result<Option<PixCharge>, ServiceError> {
    tx.fetch_optional(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1"), args![id])
        .await
}

/// The invoice's latest PIX charge, if any (`billing:read`, scoped like the invoice).
pub async fn current(db: &Db, actor: &Actor, invoice_key: &str) -> Result<Option<PixCharge>, ServiceError> {
    let (inv, _) = invoices::show(db, actor, invoice_key).await?;
    let mut tx = db.begin().await?;
    let c = latest(&mut tx, inv.id).await?;
    tx.commit().await?;
    Ok(c)
}

/// A PIX charge for an unpaid invoice: the one still payable, else a new one — a static
/// code at once, a provider's charge through the `billing.pix_charge` job.
pub async fn request(db: &Db, actor: &Actor, invoice_key: &str) -> Result<PixCharge, ServiceError> {
    require(actor, Permission::InvoicesCreate)?;
    let (inv, _) = invoices::show(db, actor, invoice_key).await?;
    if !matches!(inv.status.as_str(), "pending" | "overdue") {
        return Err(ServiceError::Conflict(format!(
            "invoice {} is {}: only a pending or overdue invoice is charged",
            inv.number, inv.status
        )));
    }
    if inv.total_minor <= 0 || inv.currency != "BRL" {
        return Err(ServiceError::invalid("invoice", "PIX charges a positive amount in BRL"));
    }
    let mut tx = db.begin().await?;
    let settings: Option<super::settings::PixSettings> = tx
        .fetch_optional(
            "SELECT tenant_id, provider, key_kind, key_value, merchant_name, merchant_city FROM pix_settings WHERE tenant_id = $1",
            args![inv.tenant_id],
        )
        .await?;
    let Some(settings) = settings else {
        return Err(ServiceError::invalid(
            "tenant",
            format!("tenant {} has no PIX setting (painel pix settings …)", inv.tenant_slug),
        ));
    };
    if let Some(c) = latest(&mut tx, inv.id).await? {
        let live = c.status == "requested"
            || (c.status == "active"
                && c.expires_at.is_none_or(|e| e > Utc::now())
                && c.amount_minor == inv.total_minor);
        if live {
            tx.commit().await?;
            return Ok(c);
        }
    }
    let id = Uuid::now_v7();
    let at = now();
    let (status, code) = if settings.provider == "static" {
        let key = settings.key_value.clone().unwrap_or_default();
        // The invoice number as txid: letters and digits only.
        let txid: String = inv
            .number
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(25)
            .collect();
        let code = brcode::build_static(&StaticCode {
            key: &key,
            merchant_name: &settings.merchant_name,
            merchant_city: &settings.merchant_city,
            amount_minor: Some(inv.total_minor),
            txid: (!txid.is_empty()).then_some(txid.as_str()),
        })
        .map_err(|e| ServiceError::invalid("pix", e.to_string()))?;
        ("active", Some(code))
    } else {
        ("requested", None)
    };
    tx.execute(
        "INSERT INTO pix_charges (id, tenant_id, invoice_id, provider, status, code, amount_minor, currency, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        args![
            id,
            inv.tenant_id,
            inv.id,
            settings.provider.as_str(),
            status,
            code,
            inv.total_minor,
            inv.currency.as_str(),
            at
        ],
    )
    .await?;
    if status == "requested" {
        enqueue(
            &mut tx,
            NewJob {
                queue: "billing".into(),
                kind: JOB_KIND.into(),
                payload: json!({ "charge_id": id }),
                max_attempts: Some(8),
                unique_key: Some(format!("pix:{}", inv.id)),
                tenant_id: Some(inv.tenant_id),
                enqueued_by: actor.name.clone(),
                ..NewJob::default()
            },
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "pix.charge.request",
            entity: "invoice",
            entity_id: Some(inv.id.to_string()),
            tenant_id: Some(inv.tenant_id),
            before: None,
            after: Some(json!({
                "charge_id": id,
                "provider": settings.provider,
                "status": status,
                "amount_minor": inv.total_minor,
                "currency": inv.currency,
            })),
        },
    )
    .await?;
    let c = by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("pix charge", id.to_string()))?;
    tx.commit().await?;
    Ok(c)
}

/// What the charge job needs besides the APIs: where providers send notifications.
#[derive(Clone, Debug, Default)]
pub struct PixEnv {
    pub apis: ProviderApis,
    pub mercadopago_notification_url: Option<String>,
    pub pagseguro_notification_url: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Payer {
    name: Option<String>,
    email: Option<String>,
}

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// Records the provider's answer (or its refusal) on the charge, audited.
async fn finish(
    db: &Db,
    job: &Job,
    c: &PixCharge,
    outcome: Result<(String, String, Option<String>), String>,
) -> Result<(), JobError> {
    let mut tx = db.begin().await.map_err(transient)?;
    let (status, after) = match &outcome {
        Ok((external, code, expires)) => {
            let exp = expires
                .as_deref()
                .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
                .map(|e| e.with_timezone(&Utc));
            tx.execute(
                "UPDATE pix_charges SET status = 'active', external_id = $1, code = $2, expires_at = $3, error = NULL, \
                 updated_at = $4 WHERE id = $5 AND status = 'requested'",
                args![external.as_str(), code.as_str(), exp, now(), c.id],
            )
            .await
            .map_err(transient)?;
            ("active", json!({ "external_id": external, "expires_at": exp }))
        }
        Err(why) => {
            tx.execute(
                "UPDATE pix_charges SET status = 'failed', error = $1, updated_at = $2 WHERE id = $3 AND status = 'requested'",
                args![why.as_str(), now(), c.id],
            )
            .await
            .map_err(transient)?;
            ("failed", json!({ "error": why }))
        }
    };
    audit::record(
        &mut tx,
        &job.actor(),
        Change {
            action: if status == "active" {
                "pix.charge.active"
            } else {
                "pix.charge.failed"
            },
            entity: "invoice",
            entity_id: Some(c.invoice_id.to_string()),
            tenant_id: Some(c.tenant_id),
            before: Some(json!({ "charge_id": c.id, "status": c.status })),
            after: Some(after),
        },
    )
    .await
    .map_err(transient)?;
    tx.commit().await.map_err(transient)?;
    match outcome {
        Ok(_) => Ok(()),
        Err(why) => Err(JobError::Permanent(why)),
    }
}

/// The `billing.pix_charge` job: creates the provider's charge for a `requested` row. The
/// Mercado Pago idempotency key is the charge id, so a retry after a lost answer returns the
/// payment already created instead of a second one.
pub async fn run_charge(job: Job, db: Db, env: PixEnv) -> Result<(), JobError> {
    let id = job
        .payload
        .get("charge_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.charge_id must be a uuid".into()))?;
    let mut tx = db.begin().await.map_err(transient)?;
    let Some(c) = by_id(&mut tx, id).await.map_err(transient)? else {
        return Err(JobError::Permanent(format!("no PIX charge {id}")));
    };
    let payer: Option<Payer> = tx
        .fetch_optional(
            "SELECT c.name AS name, c.email AS email FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id WHERE i.id = $1",
            args![c.invoice_id],
        )
        .await
        .map_err(transient)?;
    tx.commit().await.map_err(transient)?;
    if c.status != "requested" {
        return Ok(());
    }
    let payer = payer.unwrap_or(Payer {
        name: None,
        email: None,
    });
    let email = payer
        .email
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "pagador@example.com".into());
    let expires = (Utc::now() + Duration::hours(CHARGE_TTL_HOURS)).to_rfc3339_opts(SecondsFormat::Millis, false);
    let description = format!("Fatura {}", c.invoice_number);
    let outcome = match c.provider.as_str() {
        "mercadopago" => {
            let api = env.apis.mercadopago.as_ref().ok_or_else(|| {
                JobError::Transient("Mercado Pago is not configured in this worker (mercadopago.json)".into())
            })?;
            let p = NewPixPayment {
                amount_minor: c.amount_minor,
                description,
                external_reference: c.invoice_id.to_string(),
                notification_url: env.mercadopago_notification_url.clone(),
                date_of_expiration: expires,
                payer_email: email,
                metadata: json!({ "invoice_id": c.invoice_id, "charge_id": c.id, "tenant_id": c.tenant_id }),
            };
            match api.create_pix_payment(&p, &format!("pix:{}", c.id)).await {
                Ok(pay) => match pay.pix() {
                    Some(d) => Ok((pay.id.to_string(), d.qr_code.clone(), pay.date_of_expiration.clone())),
                    None => Err("the payment has no PIX code (point_of_interaction.transaction_data)".to_owned()),
                },
                Err(e) if e.is_transient() => return Err(JobError::Transient(e.to_string())),
                Err(e) => Err(e.to_string()),
            }
        }
        "pagseguro" => {
            let api = env.apis.pagseguro.as_ref().ok_or_else(|| {
                JobError::Transient("PagSeguro is not configured in this worker (pagseguro.json)".into())
            })?;
            let o = NewPixOrder {
                reference_id: c.invoice_id.to_string(),
                customer_name: payer.name.unwrap_or_else(|| "Cliente".into()),
                customer_email: email,
                item_name: description,
                amount_minor: c.amount_minor,
                expiration_date: expires,
                notification_url: env.pagseguro_notification_url.clone(),
            };
            match api.create_pix_order(&o).await {
                Ok(order) => match order.qr_codes.first() {
                    Some(q) => Ok((order.id.clone(), q.text.clone(), q.expiration_date.clone())),
                    None => Err("the order has no QR code".to_owned()),
                },
                // No idempotency key at PagBank: a lost answer is not retried blindly (a
                // second order would be a second QR); the charge fails and can be asked again.
                Err(e) => Err(e.to_string()),
            }
        }
        other => Err(format!("provider {other} has no charge job")),
    };
    finish(&db, &job, &c, outcome).await
}
