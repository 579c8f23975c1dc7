//! The reseller credits ledger (docs/adr/0024): double-entry. Every movement is a set of
//! entries (at least two) that sum to zero per currency, written with the accounts' new
//! balances and its audit row in one transaction. Reseller balances never fall below
//! `-credit_limit`: the balance moves by a guarded `UPDATE … WHERE balance + Δ >= -limit`
//! (row lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite) with a CHECK behind it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Tx};
use crate::error::ServiceError;

mod opening;
pub(crate) mod ops;
mod read;

pub use opening::import_history;

pub use ops::{buy, set_alert, set_commission_rates, set_limit, spend, transfer, Spend, Transfer};
pub use read::{alerts, balances, ledger, Alert, Balance, LedgerEntry};

/// The largest amount one movement may carry: far above any real sale, far below where a
/// sum of entries could overflow an i64.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// Commission levels stored per tenant (1 = the seller's parent).
pub const MAX_LEVELS: i64 = 8;

/// What kind of account a ledger line lands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A reseller's spendable balance (bounded below by its credit limit).
    Reseller(Uuid),
    /// The tenant's sales: what resellers spent.
    Sales,
    /// The tenant's commission expense: what it paid up the tree.
    Commissions,
    /// Credits issued against paid invoices.
    Purchases,
    /// The counterpart of balances brought in from before the ledger (seed 003's history).
    Opening,
}

impl AccountKind {
    fn parts(self) -> (&'static str, Option<Uuid>) {
        match self {
            AccountKind::Reseller(u) => ("reseller", Some(u)),
            AccountKind::Sales => ("sales", None),
            AccountKind::Commissions => ("commissions", None),
            AccountKind::Purchases => ("purchases", None),
            AccountKind::Opening => ("opening", None),
        }
    }
}

/// One line of a movement before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub account: AccountKind,
    pub amount: i64,
}

/// What a movement refers to.
#[derive(Debug, Clone, Default)]
pub struct Refs {
    pub invoice: Option<Uuid>,
    pub service: Option<Uuid>,
    pub line: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub description: String,
    /// When it happened, if not now (history brought in from before the ledger).
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A written movement, as the audit row and the callers see it.
#[derive(Debug, Clone, Serialize)]
pub struct Movement {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: &'static str,
    pub currency: String,
    pub entries: Vec<PostedEntry>,
    pub alerts: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostedEntry {
    pub account_id: Uuid,
    pub account: String,
    pub user_id: Option<Uuid>,
    pub amount: i64,
    pub balance_after: i64,
}

/// Merges legs per account and checks that they balance: at least two non-zero lines whose
/// sum is zero, each within [`MAX_AMOUNT`]. Pure, so the property tests drive it directly.
pub fn balance_legs(legs: &[Leg]) -> Result<Vec<Leg>, ServiceError> {
    let mut merged: Vec<Leg> = Vec::new();
    for l in legs {
        if l.amount.unsigned_abs() > MAX_AMOUNT as u64 {
            return Err(ServiceError::invalid(
                "amount",
                format!("must be at most {MAX_AMOUNT} minor units"),
            ));
        }
        match merged.iter_mut().find(|m| m.account == l.account) {
            Some(m) => m.amount += l.amount,
            None => merged.push(l.clone()),
        }
    }
    merged.retain(|l| l.amount != 0);
    let sum: i128 = merged.iter().map(|l| i128::from(l.amount)).sum();
    if merged.len() < 2 || sum != 0 {
        return Err(ServiceError::invalid(
            "entries",
            "a movement needs at least two entries that sum to zero",
        ));
    }
    Ok(merged)
}

/// The account of `kind` in `tenant` and `currency`, created on first use.
pub(crate) async fn account_id(
    tx: &mut Tx,
    tenant: Uuid,
    kind: AccountKind,
    currency: &str,
) -> Result<Uuid, ServiceError> {
    let (k, user) = kind.parts();
    if let Some(id) = find_account(tx, tenant, k, user, currency).await? {
        return Ok(id);
    }
    // Two first movements at once: one insert wins, the other reads the winner's row.
    tx.execute(
        "INSERT INTO credit_accounts (id, tenant_id, kind, user_id, currency) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
        args![Uuid::now_v7(), tenant, k, user, currency],
    )
    .await?;
    find_account(tx, tenant, k, user, currency)
        .await?
        .ok_or_else(|| ServiceError::Database("credit account vanished after insert".into()))
}

async fn find_account(
    tx: &mut Tx,
    tenant: Uuid,
    kind: &str,
    user: Option<Uuid>,
    currency: &str,
) -> Result<Option<Uuid>, ServiceError> {
    let row: Option<(Uuid,)> = match user {
        Some(u) => {
            tx.fetch_optional(
                "SELECT id FROM credit_accounts WHERE tenant_id = $1 AND user_id = $2 AND currency = $3",
                args![tenant, u, currency],
            )
            .await?
        }
        None => {
            tx.fetch_optional(
                "SELECT id FROM credit_accounts WHERE tenant_id = $1 AND kind = $2 AND currency = $3 \
                 AND user_id IS NULL",
                args![tenant, kind, currency],
            )
            .await?
        }
    };
    Ok(row.map(|(id,)| id))
}

#[derive(sqlx::FromRow)]
struct Moved {
    balance: i64,
    kind: String,
    user_id: Option<Uuid>,
    alert_threshold: Option<i64>,
    alert_armed: bool,
}

/// Writes one movement: its row, every entry with the account's new balance, the low-balance
/// alerts it causes, and its audit row — all in `tx`. A reseller balance that would fall
/// below its limit refuses the whole movement (Conflict).
pub(crate) async fn post(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    kind: &'static str,
    currency: &str,
    refs: Refs,
    legs: &[Leg],
) -> Result<Movement, ServiceError> {
    let legs = balance_legs(legs)?;
    let at = refs.at.unwrap_or_else(now);
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO credit_movements (id, tenant_id, kind, invoice_id, service_id, line_id, idempotency_key, \
         actor_name, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            id,
            tenant,
            kind,
            refs.invoice,
            refs.service,
            refs.line,
            refs.idempotency_key.clone(),
            actor.name.as_str(),
            refs.description.as_str(),
            at
        ],
    )
    .await?;
    // Accounts in id order: two movements touching the same accounts lock them in the same
    // order, so they queue instead of deadlocking.
    let mut resolved: BTreeMap<Uuid, i64> = BTreeMap::new();
    for l in &legs {
        let acc = account_id(tx, tenant, l.account, currency).await?;
        *resolved.entry(acc).or_default() += l.amount;
    }
    let mut entries = Vec::new();
    let mut alerts = Vec::new();
    for (acc, amount) in resolved {
        let moved: Option<Moved> = tx
            .fetch_optional(
                "UPDATE credit_accounts SET balance = balance + $1, updated_at = $2 \
                 WHERE id = $3 AND (kind <> 'reseller' OR balance + $1 >= -credit_limit) \
                 RETURNING balance, kind, user_id, alert_threshold, alert_armed",
                args![amount, at, acc],
            )
            .await?;
        let Some(m) = moved else {
            return Err(ServiceError::Conflict(
                "insufficient credits: the balance would fall below its credit limit".into(),
            ));
        };
        tx.execute(
            "INSERT INTO credit_entries (id, tenant_id, movement_id, account_id, amount, currency, balance_after, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![Uuid::now_v7(), tenant, id, acc, amount, currency, m.balance, at],
        )
        .await?;
        if let Some(alert) = low_balance(tx, actor, tenant, acc, id, &m).await? {
            alerts.push(alert);
        }
        entries.push(PostedEntry {
            account_id: acc,
            account: m.kind,
            user_id: m.user_id,
            amount,
            balance_after: m.balance,
        });
    }
    let movement = Movement {
        id,
        tenant_id: tenant,
        kind,
        currency: currency.to_owned(),
        entries,
        alerts,
    };
    audit::record(
        tx,
        actor,
        Change {
            action: match kind {
                "purchase" => "credits.buy",
                "spend" => "credits.spend",
                "transfer" => "credits.transfer",
                _ => "credits.adjust",
            },
            entity: "credit_movement",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({
                "movement": &movement,
                "invoice_id": refs.invoice,
                "service_id": refs.service,
                "line_id": refs.line,
                "description": refs.description,
            })),
        },
    )
    .await?;
    Ok(movement)
}

/// Records an alert when a balance crosses below its threshold (once per crossing: the
/// account is disarmed until the balance is back at or above the threshold).
async fn low_balance(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    account: Uuid,
    movement: Uuid,
    m: &Moved,
) -> Result<Option<Uuid>, ServiceError> {
    let Some(threshold) = m.alert_threshold else {
        return Ok(None);
    };
    if m.balance >= threshold {
        if !m.alert_armed {
            tx.execute(
                "UPDATE credit_accounts SET alert_armed = $1 WHERE id = $2",
                args![true, account],
            )
            .await?;
        }
        return Ok(None);
    }
    if !m.alert_armed {
        return Ok(None);
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO credit_alerts (id, tenant_id, account_id, movement_id, balance, threshold, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![id, tenant, account, movement, m.balance, threshold, now()],
    )
    .await?;
    tx.execute(
        "UPDATE credit_accounts SET alert_armed = $1 WHERE id = $2",
        args![false, account],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "credits.low_balance",
            entity: "credit_account",
            entity_id: Some(account.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({ "alert_id": id, "user_id": m.user_id, "balance": m.balance, "threshold": threshold })),
        },
    )
    .await?;
    tx.after_commit(
        "credits.alert",
        json!({ "tenant_id": tenant, "account_id": account }).to_string(),
    );
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_unbalanced_and_single_legs() {
        let r = AccountKind::Reseller(Uuid::nil());
        assert!(balance_legs(&[
            Leg { account: r, amount: 5 },
            Leg {
                account: AccountKind::Sales,
                amount: -4
            }
        ])
        .is_err());
        assert!(balance_legs(&[Leg { account: r, amount: 5 }, Leg { account: r, amount: -5 }]).is_err());
        let ok = balance_legs(&[
            Leg { account: r, amount: -5 },
            Leg {
                account: AccountKind::Sales,
                amount: 5,
            },
        ]);
        assert_eq!(ok.map(|v| v.len()).ok(), Some(2));
    }

    proptest! {
        #[test]
        fn accepted_legs_always_sum_to_zero(amounts in proptest::collection::vec(-MAX_AMOUNT..=MAX_AMOUNT, 1..8)) {
            let kinds = [AccountKind::Sales, AccountKind::Commissions, AccountKind::Purchases,
                AccountKind::Reseller(Uuid::nil()), AccountKind::Reseller(Uuid::max())];
            let legs: Vec<Leg> = amounts.iter().enumerate()
                .map(|(i, a)| Leg { account: kinds[i % kinds.len()], amount: *a }).collect();
            if let Ok(merged) = balance_legs(&legs) {
                prop_assert!(merged.len() >= 2);
                prop_assert_eq!(merged.iter().map(|l| i128::from(l.amount)).sum::<i128>(), 0);
                prop_assert!(merged.iter().all(|l| l.amount != 0));
            }
        }
    }
}
