//! What a Mercado Pago notification means (shared/providers/mercadopago.md): nothing by
//! itself. The job fetched the payment from the API ([`super::apis`]); only an `approved` PIX
//! payment whose amount and currency equal our invoice's settles it (`billing::settle`).

use serde_json::{json, Value};
use uuid::Uuid;

use super::process::{lock_suffix, transient, Verdict};
use crate::args;
use crate::billing::settle::{settle, Settlement};
use crate::db::{now, Tx};
use crate::jobs::{Job, JobError};
use crate::money;
use crate::providers::mercadopago::Payment;

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    tenant_id: Uuid,
    total_minor: i64,
    currency: String,
}

#[derive(sqlx::FromRow)]
struct ChargeRow {
    invoice_id: Uuid,
}

/// A provider's confirmed payment, checked against our invoice, then settled. Shared by the
/// PIX providers: `charge_ref` finds our `pix_charges` row, `reference` is the invoice id the
/// provider echoes back (used when there is no charge row, e.g. a charge made elsewhere).
pub(super) struct Confirmed<'a> {
    pub provider: &'static str,
    pub charge_ref: &'a str,
    pub reference: Option<&'a str>,
    pub external_id: String,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub provider_data: Value,
}

pub(super) async fn settle_confirmed(tx: &mut Tx, job: &Job, c: Confirmed<'_>) -> Result<Verdict, JobError> {
    let sql = format!(
        "SELECT invoice_id FROM pix_charges WHERE provider = $1 AND external_id = $2{}",
        lock_suffix(tx)
    );
    let charge = tx
        .fetch_optional::<ChargeRow>(&sql, args![c.provider, c.charge_ref])
        .await
        .map_err(transient)?;
    let from_reference = c.reference.and_then(|r| Uuid::parse_str(r).ok());
    let invoice_id = match (charge.map(|r| r.invoice_id), from_reference) {
        (Some(a), Some(b)) if a != b => {
            return Ok(Verdict::failed(
                "the payment's reference names another invoice than our charge",
            ));
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => {
            return Ok(Verdict::ignored(
                "no charge of ours and no invoice reference: not a painel payment",
            ))
        }
    };
    let Some(inv) = tx
        .fetch_optional::<InvoiceRow>(
            "SELECT tenant_id, total_minor, currency FROM invoices WHERE id = $1",
            args![invoice_id],
        )
        .await
        .map_err(transient)?
    else {
        return Ok(Verdict::failed("the payment's reference names no invoice"));
    };
    let Some(amount) = c.amount_minor else {
        return Ok(Verdict::failed("the payment's amount is unreadable"));
    };
    if amount != inv.total_minor || !c.currency.eq_ignore_ascii_case(&inv.currency) {
        let mut v = Verdict::failed(&format!(
            "amount mismatch: paid {}, invoice is {}",
            money::format(amount, &c.currency.to_ascii_uppercase()),
            money::format(inv.total_minor, &inv.currency)
        ));
        v.tenant_id = Some(inv.tenant_id);
        return Ok(v);
    }
    let s = Settlement {
        invoice_id,
        provider: c.provider.into(),
        external_id: c.external_id,
        amount_minor: amount,
        currency: inv.currency.clone(),
        method: Some("pix".into()),
        provider_data: c.provider_data,
    };
    let settled = settle(tx, &job.actor(), &s).await.map_err(transient)?;
    tx.execute(
        "UPDATE pix_charges SET status = 'paid', updated_at = $1 WHERE provider = $2 AND external_id = $3 AND status <> 'paid'",
        args![now(), c.provider, c.charge_ref],
    )
    .await
    .map_err(transient)?;
    Ok(Verdict::settled(settled))
}

/// An unpaid charge the provider ended: the charge row says so (the invoice stays unpaid).
pub(super) async fn mark_ended(tx: &mut Tx, provider: &str, charge_ref: &str) -> Result<(), JobError> {
    tx.execute(
        "UPDATE pix_charges SET status = 'expired', updated_at = $1 WHERE provider = $2 AND external_id = $3 AND status = 'active'",
        args![now(), provider, charge_ref],
    )
    .await
    .map_err(transient)?;
    Ok(())
}

pub(super) async fn act(tx: &mut Tx, job: &Job, fetched: Option<Result<Payment, String>>) -> Result<Verdict, JobError> {
    let payment = match fetched {
        None => return Ok(Verdict::ignored("not a payment notification")),
        Some(Err(why)) => return Ok(Verdict::failed(&format!("could not read the payment: {why}"))),
        Some(Ok(p)) => p,
    };
    let id = payment.id.to_string();
    match payment.status.as_str() {
        "approved" => {}
        "cancelled" | "rejected" => {
            mark_ended(tx, "mercadopago", &id).await?;
            return Ok(Verdict::ignored(format!("payment {id} is {}", payment.status)));
        }
        other => return Ok(Verdict::ignored(format!("payment {id} is {other}, not approved"))),
    }
    if payment.payment_method_id.as_deref().is_some_and(|m| m != "pix") {
        return Ok(Verdict::ignored("not a PIX payment"));
    }
    let data = json!({
        "id": id,
        "status": payment.status,
        "status_detail": payment.status_detail,
        "transaction_amount": payment.transaction_amount,
        "currency_id": payment.currency_id,
        "external_reference": payment.external_reference,
        "date_approved": payment.date_approved,
    });
    settle_confirmed(
        tx,
        job,
        Confirmed {
            provider: "mercadopago",
            charge_ref: &id,
            reference: payment.external_reference.as_deref(),
            external_id: id.clone(),
            amount_minor: payment.amount_minor(),
            currency: payment.currency_id.clone().unwrap_or_else(|| "BRL".into()),
            provider_data: data,
        },
    )
    .await
}
