//! What a PagSeguro (PagBank) notification means (shared/providers/pagseguro.md): the body
//! is an order, but the job fetched the order from the API ([`super::apis`]) and reads only
//! that. A `PAID` charge whose amount equals our invoice's settles it.

use serde_json::json;

use super::mercadopago_events::{mark_ended, settle_confirmed, Confirmed};
use super::process::Verdict;
use crate::db::Tx;
use crate::jobs::{Job, JobError};
use crate::providers::pagseguro::Order;

pub(super) async fn act(tx: &mut Tx, job: &Job, fetched: Option<Result<Order, String>>) -> Result<Verdict, JobError> {
    let order = match fetched {
        None => return Ok(Verdict::ignored("no order id in the notification")),
        Some(Err(why)) => return Ok(Verdict::failed(&format!("could not read the order: {why}"))),
        Some(Ok(o)) => o,
    };
    let Some(charge) = order.paid_charge() else {
        if !order.charges.is_empty()
            && order
                .charges
                .iter()
                .all(|c| matches!(c.status.as_str(), "DECLINED" | "CANCELED"))
        {
            mark_ended(tx, "pagseguro", &order.id).await?;
        }
        let states: Vec<&str> = order.charges.iter().map(|c| c.status.as_str()).collect();
        return Ok(Verdict::ignored(if states.is_empty() {
            format!("order {} has no charge yet", order.id)
        } else {
            format!("order {} is {}, not paid", order.id, states.join(","))
        }));
    };
    let data = json!({
        "order_id": order.id,
        "reference_id": order.reference_id,
        "charge_id": charge.id,
        "status": charge.status,
        "paid_at": charge.paid_at,
        "amount": charge.amount.value,
    });
    settle_confirmed(
        tx,
        job,
        Confirmed {
            provider: "pagseguro",
            charge_ref: &order.id,
            reference: order.reference_id.as_deref(),
            external_id: charge.id.clone(),
            amount_minor: Some(charge.amount.value),
            currency: charge.amount.currency.clone().unwrap_or_else(|| "BRL".into()),
            provider_data: data,
        },
    )
    .await
}
