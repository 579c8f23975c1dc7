//! A plan change is priced when it is ordered (docs/adr/0026) but carried out by its job;
//! when that job fails for good, the money it moved goes back in the same transaction that
//! marks the service `error`: the prorated invoice is cancelled while nothing has been paid
//! on it, what was paid becomes the customer's balance, and a downgrade's credit is taken
//! back (what the customer already spent of it stays spent, and the audit says how much).

use serde_json::{json, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::billing::balance::{self, Refs};
use crate::db::{now, Tx};
use crate::error::ServiceError;

/// The service a failed `hosting.change_plan` job was for.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    pub tenant: Uuid,
    pub customer: Uuid,
    pub service: Uuid,
}

/// Undoes the billing of a failed plan change described by its job `payload`; returns what
/// was done (for the service's error audit), or `None` when nothing had been billed.
pub async fn undo(tx: &mut Tx, actor: &Actor, who: Subject, payload: &Value) -> Result<Option<Value>, ServiceError> {
    let prorated = payload.get("prorated_minor").and_then(Value::as_i64).unwrap_or(0);
    let invoice = payload
        .get("invoice_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok());
    let currency = payload.get("currency").and_then(Value::as_str).unwrap_or("");
    let refs = Refs {
        service: Some(who.service),
        invoice,
    };
    if let Some(id) = invoice {
        return cancel_invoice(tx, actor, who, id, refs).await.map(Some);
    }
    if prorated < 0 && !currency.is_empty() {
        let owed = -prorated;
        let taken = balance::take_back(
            tx,
            actor,
            (who.tenant, who.customer, currency),
            owed,
            refs,
            "plan change failed: its credit taken back",
        )
        .await?;
        return Ok(Some(json!({
            "credit_taken_back_minor": taken,
            "credit_already_spent_minor": owed - taken,
            "currency": currency,
        })));
    }
    Ok(None)
}

async fn cancel_invoice(tx: &mut Tx, actor: &Actor, who: Subject, id: Uuid, refs: Refs) -> Result<Value, ServiceError> {
    let Some((status, number, currency)) = tx
        .fetch_optional::<(String, String, String)>(
            "SELECT status, number, currency FROM invoices WHERE id = $1",
            args![id],
        )
        .await?
    else {
        return Ok(json!({ "invoice_id": id, "invoice": "gone" }));
    };
    let paid: i64 = tx
        .scalar(
            "SELECT CAST(COALESCE(SUM(amount_minor - refunded_minor), 0) AS BIGINT) FROM payments \
             WHERE invoice_id = $1 AND status = 'succeeded' AND currency = $2",
            args![id, currency.as_str()],
        )
        .await?;
    let mut done = json!({ "invoice_id": id, "number": number });
    if matches!(status.as_str(), "draft" | "pending" | "overdue") {
        tx.execute(
            "UPDATE invoices SET status = 'cancelled', updated_at = $2 WHERE id = $1",
            args![id, now()],
        )
        .await?;
        audit::record(
            tx,
            actor,
            Change {
                action: "invoice.cancel",
                entity: "invoice",
                entity_id: Some(id.to_string()),
                tenant_id: Some(who.tenant),
                before: Some(json!({ "status": status })),
                after: Some(json!({ "status": "cancelled", "why": "the plan change it charged for failed" })),
            },
        )
        .await?;
        done["invoice_status"] = json!("cancelled");
    }
    if paid > 0 {
        let after = balance::credit(
            tx,
            actor,
            (who.tenant, who.customer, currency.as_str()),
            paid,
            refs,
            &format!("plan change failed: payment of invoice {number} kept as credit"),
        )
        .await?;
        done["credited_minor"] = json!(paid);
        done["balance_after_minor"] = json!(after);
        done["currency"] = json!(currency);
    }
    Ok(done)
}
