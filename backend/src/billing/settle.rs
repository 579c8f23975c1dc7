//! Settling an invoice: money arrived for it. The one path to `paid` (docs/adr/0023): a
//! verified provider event's job calls it, and so does a manual payment entry (a sensitive
//! action); nothing else writes `status = 'paid'`.
//!
//! Idempotent: the payment row is unique by (provider, external_id), and the invoice moves to
//! `paid` only from draft/pending/overdue — a second report of the same money records nothing.
//!
//! Only money that covers the invoice pays it (docs/adr/0025): the succeeded payments in the
//! invoice's currency, net of refunds, must reach its total. Less is recorded and audited as a
//! partial payment; a payment in another currency is recorded and audited as a mismatch, and
//! neither marks the invoice paid. More pays it and the audit row keeps the difference.

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
        /// How the invoice's payments compare with its total after this one.
        coverage: Coverage,
    },
}

/// How the money received for an invoice compares with what it asks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "coverage", rename_all = "snake_case")]
pub enum Coverage {
    /// The total arrived; `over_minor` is what came on top of it.
    Full {
        paid_minor: i64,
        over_minor: i64,
        currency: String,
    },
    /// Less than the total so far.
    Short {
        paid_minor: i64,
        due_minor: i64,
        currency: String,
    },
    /// This payment is in another currency than the invoice: never converted, never paying.
    CurrencyMismatch {
        payment_currency: String,
        invoice_currency: String,
    },
}

impl Coverage {
    pub fn is_full(&self) -> bool {
        matches!(self, Coverage::Full { .. })
    }

    /// Why a recorded payment left the invoice open, for the event row and the operator.
    pub fn describe(&self) -> String {
        match self {
            Coverage::Full {
                over_minor, currency, ..
            } if *over_minor > 0 => {
                format!("paid in full, {} over", crate::money::format(*over_minor, currency))
            }
            Coverage::Full { .. } => "paid in full".into(),
            Coverage::Short {
                paid_minor,
                due_minor,
                currency,
            } => format!(
                "partially paid: {} received, {} still due",
                crate::money::format(*paid_minor, currency),
                crate::money::format(*due_minor, currency)
            ),
            Coverage::CurrencyMismatch {
                payment_currency,
                invoice_currency,
            } => format!("payment in {payment_currency}, invoice in {invoice_currency}: not applied"),
        }
    }
}

/// Compares the invoice's total with what was received. `received` is every succeeded
/// payment of the invoice as (amount net of refunds, currency), this one included; `this` is
/// the currency of the payment being settled. Pure, so the property tests drive it.
pub fn assess(total_minor: i64, invoice_currency: &str, this: &str, received: &[(i64, String)]) -> Coverage {
    if this != invoice_currency {
        return Coverage::CurrencyMismatch {
            payment_currency: this.to_owned(),
            invoice_currency: invoice_currency.to_owned(),
        };
    }
    let sum: i128 = received
        .iter()
        .filter(|(_, c)| c == invoice_currency)
        .map(|(a, _)| i128::from((*a).max(0)))
        .sum();
    let clamp = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
    let total = i128::from(total_minor.max(0));
    if sum >= total {
        Coverage::Full {
            paid_minor: clamp(sum),
            over_minor: clamp(sum - total),
            currency: invoice_currency.to_owned(),
        }
    } else {
        Coverage::Short {
            paid_minor: clamp(sum),
            due_minor: clamp(total - sum),
            currency: invoice_currency.to_owned(),
        }
    }
}

/// What the invoice has received: its succeeded payments, net of refunds.
pub async fn received(tx: &mut Tx, invoice_id: Uuid) -> Result<Vec<(i64, String)>, ServiceError> {
    tx.fetch_all(
        "SELECT amount_minor - refunded_minor, currency FROM payments WHERE invoice_id = $1 AND status = 'succeeded'",
        args![invoice_id],
    )
    .await
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
    let got = received(tx, p.invoice_id).await?;
    let coverage = assess(inv.total_minor, &inv.currency, &p.currency, &got);
    let payable = matches!(inv.status.as_str(), "draft" | "pending" | "overdue") && coverage.is_full();
    if !coverage.is_full() && inserted.is_some() {
        let action = match coverage {
            Coverage::CurrencyMismatch { .. } => "payment.currency_mismatch",
            _ => "invoice.partially_paid",
        };
        audit::record(
            tx,
            actor,
            Change {
                action,
                entity: "invoice",
                entity_id: Some(p.invoice_id.to_string()),
                tenant_id: Some(inv.tenant_id),
                before: Some(json!({ "status": inv.status })),
                after: Some(json!({
                    "status": inv.status,
                    "number": inv.number,
                    "provider": p.provider,
                    "payment_external_id": p.external_id,
                    "amount_minor": p.amount_minor,
                    "payment_currency": p.currency,
                    "total_minor": inv.total_minor,
                    "currency": inv.currency,
                    "coverage": &coverage,
                })),
            },
        )
        .await?;
    }
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
                    "coverage": &coverage,
                })),
            },
        )
        .await?;
        crate::billing::fulfil::on_paid(tx, actor, p.invoice_id, inv.tenant_id).await?;
    }
    Ok(Settled::Done {
        tenant_id: inv.tenant_id,
        invoice_paid: payable,
        payment_recorded: inserted.is_some(),
        prior_status: inv.status,
        coverage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn under_over_exact_and_foreign() {
        let brl = |a: i64| (a, "BRL".to_owned());
        assert_eq!(
            assess(10_000, "BRL", "BRL", &[brl(4_000)]),
            Coverage::Short {
                paid_minor: 4_000,
                due_minor: 6_000,
                currency: "BRL".into()
            }
        );
        assert_eq!(
            assess(10_000, "BRL", "BRL", &[brl(4_000), brl(6_000)]),
            Coverage::Full {
                paid_minor: 10_000,
                over_minor: 0,
                currency: "BRL".into()
            }
        );
        assert_eq!(
            assess(10_000, "BRL", "BRL", &[brl(12_500)]),
            Coverage::Full {
                paid_minor: 12_500,
                over_minor: 2_500,
                currency: "BRL".into()
            }
        );
        assert!(matches!(
            assess(10_000, "BRL", "USD", &[(10_000, "USD".into())]),
            Coverage::CurrencyMismatch { .. }
        ));
        // Money in another currency never counts towards the total.
        assert!(!assess(10_000, "BRL", "BRL", &[brl(1), (1_000_000, "USD".into())]).is_full());
    }

    fn payments() -> impl Strategy<Value = Vec<(i64, String)>> {
        prop::collection::vec(
            (
                0i64..=crate::billing::credits::MAX_AMOUNT,
                prop::sample::select(vec!["BRL", "USD", "EUR"]),
            ),
            0..8,
        )
        .prop_map(|v| v.into_iter().map(|(a, c)| (a, c.to_owned())).collect())
    }

    proptest! {
        #[test]
        fn coverage_is_exactly_the_sum_in_the_invoice_currency(
            total in 0i64..=crate::billing::credits::MAX_AMOUNT,
            this in prop::sample::select(vec!["BRL", "USD"]),
            mut got in payments(),
        ) {
            let c = assess(total, "BRL", this, &got);
            let same: i128 = got.iter().filter(|(_, c)| c == "BRL").map(|(a, _)| i128::from(*a)).sum();
            match c {
                Coverage::CurrencyMismatch { .. } => prop_assert_ne!(this, "BRL"),
                Coverage::Full { paid_minor, over_minor, .. } => {
                    prop_assert_eq!(this, "BRL");
                    prop_assert!(same >= i128::from(total));
                    prop_assert_eq!(i128::from(paid_minor), same);
                    prop_assert_eq!(i128::from(over_minor), same - i128::from(total));
                }
                Coverage::Short { paid_minor, due_minor, .. } => {
                    prop_assert_eq!(this, "BRL");
                    prop_assert!(same < i128::from(total));
                    prop_assert_eq!(paid_minor + due_minor, total);
                    prop_assert!(due_minor > 0);
                }
            }
            // The order payments arrived in changes nothing.
            got.reverse();
            prop_assert_eq!(assess(total, "BRL", this, &got), c);
        }
    }
}
