//! Seed 003's single-entry history brought into the double-entry ledger (docs/adr/0025).
//!
//! `credit_transactions` holds one row per balance change of one reseller, with
//! `users.credits_balance` as the running total. Each row becomes a movement at its own time:
//! a correlated pair (`transfer_out` + `transfer_in`) is one transfer between the two
//! resellers; every other row moves credits between the reseller and the tenant's `opening`
//! account — the counterpart of money that entered or left before the ledger existed. Replayed
//! in time order, each reseller's ledger balance ends equal to its `credits_balance`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{post, AccountKind, Leg, Refs};
use crate::actor::Actor;
use crate::args;
use crate::db::Tx;
use crate::error::ServiceError;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    user_id: Uuid,
    kind: String,
    delta: i64,
    currency: String,
    correlation_id: Option<Uuid>,
    line_id: Option<Uuid>,
    invoice_id: Option<Uuid>,
    description: String,
    created_at: DateTime<Utc>,
}

/// Replays `tenant`'s `credit_transactions` into the ledger, once: a row already brought in
/// (its idempotency key `seed003:<id>`) is skipped. Returns the movements written.
pub async fn import_history(tx: &mut Tx, actor: &Actor, tenant: Uuid) -> Result<usize, ServiceError> {
    let rows: Vec<Row> = tx
        .fetch_all(
            "SELECT ct.id, ct.user_id, ct.kind, ct.delta, ct.currency, ct.correlation_id, ct.line_id, ct.invoice_id, \
             ct.description, ct.created_at FROM credit_transactions ct WHERE ct.tenant_id = $1 \
             ORDER BY ct.created_at, ct.id",
            args![tenant],
        )
        .await?;
    let done: HashSet<String> = tx
        .fetch_all::<(Option<String>,)>(
            "SELECT idempotency_key FROM credit_movements WHERE tenant_id = $1 AND idempotency_key LIKE 'seed003:%'",
            args![tenant],
        )
        .await?
        .into_iter()
        .filter_map(|(k,)| k)
        .collect();
    let mut written = 0;
    let mut i = 0;
    while let Some(r) = rows.get(i) {
        let pair = rows
            .get(i + 1)
            .filter(|n| r.correlation_id.is_some() && n.correlation_id == r.correlation_id);
        let (kind, legs, step): (&'static str, Vec<Leg>, usize) = match pair {
            Some(n) => (
                "transfer",
                vec![
                    Leg {
                        account: AccountKind::Reseller(r.user_id),
                        amount: r.delta,
                    },
                    Leg {
                        account: AccountKind::Reseller(n.user_id),
                        amount: n.delta,
                    },
                ],
                2,
            ),
            None => (
                "adjustment",
                vec![
                    Leg {
                        account: AccountKind::Reseller(r.user_id),
                        amount: r.delta,
                    },
                    Leg {
                        account: AccountKind::Opening,
                        amount: -r.delta,
                    },
                ],
                1,
            ),
        };
        // A movement is keyed by its first row (a transfer's second row has no key of its own).
        let key = format!("seed003:{}", r.id);
        if done.contains(&key) {
            i += step;
            continue;
        }
        let description = if r.description.trim().is_empty() {
            format!("opening: {}", r.kind)
        } else {
            format!("opening: {}", r.description.trim())
        };
        let refs = Refs {
            invoice: r.invoice_id,
            line: r.line_id,
            idempotency_key: Some(key),
            description,
            at: Some(r.created_at),
            ..Refs::default()
        };
        post(tx, actor, tenant, kind, &r.currency, refs, &legs).await?;
        written += 1;
        i += step;
    }
    Ok(written)
}
