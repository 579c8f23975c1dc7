//! Manual payment entry (docs/adr/0025): money that reached the tenant outside any provider
//! (a bank transfer, cash at the counter). It is a sensitive action — the invoice number typed
//! again and, for an account, a 2FA code from the last five minutes — and it goes through
//! `billing::settle` like every provider's event, so it is the only other way to `paid`.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::billing::invoices::{self, Invoice};
use crate::billing::settle::{self, Coverage, Settled, Settlement};
use crate::db::Db;
use crate::error::ServiceError;
use crate::sensitive::{self, Proof, Target};

#[derive(Debug, Clone, Default)]
pub struct ManualPayment {
    /// Invoice id, short id or number.
    pub invoice: String,
    pub amount_minor: i64,
    /// Default: the invoice's currency.
    pub currency: Option<String>,
    /// How it was paid (`bank transfer`, `cash`); default `manual`.
    pub method: Option<String>,
    /// Why it is entered by hand; kept in the audit log.
    pub reason: String,
}

/// What a manual entry did.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub invoice: Invoice,
    pub payment_id: Uuid,
    pub external_id: String,
    pub coverage: Coverage,
}

fn validate(input: &ManualPayment) -> Result<(String, String), ServiceError> {
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ServiceError::invalid(
            "reason",
            "say why this payment is entered by hand (1 to 500 characters)",
        ));
    }
    if !(1..=crate::billing::credits::MAX_AMOUNT).contains(&input.amount_minor) {
        return Err(ServiceError::invalid("amount", "must be more than zero (and sane)"));
    }
    let method = input
        .method
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .unwrap_or("manual");
    if method.chars().count() > 40 || method.chars().any(char::is_control) {
        return Err(ServiceError::invalid("method", "must be up to 40 printable characters"));
    }
    Ok((reason.to_owned(), method.to_owned()))
}

/// Records a payment by hand against an open invoice, settling it when it covers the total.
pub async fn record_manual(
    db: &Db,
    actor: &Actor,
    input: &ManualPayment,
    proof: &Proof<'_>,
) -> Result<Recorded, ServiceError> {
    require(actor, Permission::PaymentsRecord)?;
    let (reason, method) = validate(input)?;
    let tx = db.begin().await?;
    let mut tx = tx;
    let inv = invoices::get_tx(&mut tx, actor, &input.invoice).await?;
    let target = Target {
        action: "payment.manual",
        name: &inv.number,
        tenant_id: Some(inv.tenant_id),
    };
    let mut tx = sensitive::require(tx, actor, &target, proof).await?;
    if !matches!(inv.status.as_str(), "draft" | "pending" | "overdue") {
        return Err(ServiceError::Conflict(format!(
            "invoice {} is {}: only an open invoice takes a payment",
            inv.number, inv.status
        )));
    }
    let currency = match input.currency.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if c.len() == 3 && c.chars().all(|x| x.is_ascii_alphabetic()) => c.to_ascii_uppercase(),
        Some(_) => return Err(ServiceError::invalid("currency", "must be a 3-letter ISO 4217 code")),
        None => inv.currency.clone(),
    };
    let external_id = format!("manual-{}", Uuid::now_v7());
    let settled = settle::settle(
        &mut tx,
        actor,
        &Settlement {
            invoice_id: inv.id,
            provider: "manual".into(),
            external_id: external_id.clone(),
            amount_minor: input.amount_minor,
            currency: currency.clone(),
            method: Some(method.clone()),
            provider_data: json!({ "reason": reason, "entered_by": actor.name }),
        },
    )
    .await?;
    let Settled::Done { coverage, .. } = settled else {
        return Err(ServiceError::not_found("invoice", &input.invoice));
    };
    let payment_id: (Uuid,) = tx
        .fetch_one(
            "SELECT id FROM payments WHERE provider = 'manual' AND external_id = $1",
            crate::args![external_id.as_str()],
        )
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "payment.manual",
            entity: "payment",
            entity_id: Some(payment_id.0.to_string()),
            tenant_id: Some(inv.tenant_id),
            before: None,
            after: Some(json!({
                "invoice_id": inv.id,
                "number": inv.number,
                "amount_minor": input.amount_minor,
                "currency": currency,
                "method": method,
                "reason": reason,
                "coverage": &coverage,
            })),
        },
    )
    .await?;
    let invoice = invoices::get_tx(&mut tx, actor, &inv.id.to_string()).await?;
    tx.commit().await?;
    Ok(Recorded {
        invoice,
        payment_id: payment_id.0,
        external_id,
        coverage,
    })
}
