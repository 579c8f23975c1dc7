//! What a customer is owed (docs/adr/0026): a downgrade's prorated credit goes to the
//! customer's balance in the tenant's currency, and the next invoices for that customer
//! use it up as a negative "account credit" line. The balance row is the running total
//! (never negative: a guarded UPDATE and a CHECK); `customer_balance_entries` is its
//! append-only history. Both move in the caller's transaction, audited.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Tx};
use crate::error::ServiceError;
use crate::Db;

/// Where a balance movement comes from or goes to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refs {
    pub service: Option<Uuid>,
    pub invoice: Option<Uuid>,
}

async fn entry(
    tx: &mut Tx,
    actor: &Actor,
    (tenant, customer, currency): (Uuid, Uuid, &str),
    (amount, after): (i64, i64),
    (kind, action): (&'static str, &'static str),
    refs: Refs,
    note: &str,
) -> Result<(), ServiceError> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO customer_balance_entries (id, tenant_id, customer_id, currency, amount_minor, balance_after, kind, \
         service_id, invoice_id, note, actor_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        args![
            id,
            tenant,
            customer,
            currency,
            amount,
            after,
            kind,
            refs.service,
            refs.invoice,
            note,
            actor.name.as_str(),
            now()
        ],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action,
            entity: "customer",
            entity_id: Some(customer.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({
                "entry_id": id, "amount_minor": amount, "balance_after": after, "currency": currency,
                "service_id": refs.service, "invoice_id": refs.invoice, "note": note,
            })),
        },
    )
    .await?;
    Ok(())
}

/// Adds `amount` (> 0) to the customer's balance; returns the new balance.
pub async fn credit(
    tx: &mut Tx,
    actor: &Actor,
    (tenant, customer, currency): (Uuid, Uuid, &str),
    amount: i64,
    refs: Refs,
    note: &str,
) -> Result<i64, ServiceError> {
    if amount <= 0 {
        return Err(ServiceError::invalid("amount", "a credit is more than zero"));
    }
    let after: i64 = tx
        .scalar(
            "INSERT INTO customer_balances (tenant_id, customer_id, currency, balance_minor, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (customer_id, currency) DO UPDATE SET \
             balance_minor = customer_balances.balance_minor + excluded.balance_minor, updated_at = excluded.updated_at \
             RETURNING balance_minor",
            args![tenant, customer, currency, amount, now()],
        )
        .await?;
    entry(
        tx,
        actor,
        (tenant, customer, currency),
        (amount, after),
        ("proration", "balance.credit"),
        refs,
        note,
    )
    .await?;
    Ok(after)
}

/// Uses up to `max` of the customer's balance on `invoice`; returns what was used.
pub async fn apply(
    tx: &mut Tx,
    actor: &Actor,
    (tenant, customer, currency): (Uuid, Uuid, &str),
    max: i64,
    invoice: Uuid,
) -> Result<i64, ServiceError> {
    if max <= 0 {
        return Ok(0);
    }
    // Touching the row first locks it: a concurrent invoice for the same customer waits and
    // then reads what this one left.
    let bal: Option<(i64,)> = tx
        .fetch_optional(
            "UPDATE customer_balances SET updated_at = $3 WHERE customer_id = $1 AND currency = $2 RETURNING balance_minor",
            args![customer, currency, now()],
        )
        .await?;
    let use_now = bal.map_or(0, |b| b.0).min(max);
    if use_now <= 0 {
        return Ok(0);
    }
    let after: Option<(i64,)> = tx
        .fetch_optional(
            "UPDATE customer_balances SET balance_minor = balance_minor - $3 WHERE customer_id = $1 AND currency = $2 \
             AND balance_minor >= $3 RETURNING balance_minor",
            args![customer, currency, use_now],
        )
        .await?;
    let Some((after,)) = after else {
        return Err(ServiceError::Conflict(
            "the customer's balance changed: try again".into(),
        ));
    };
    entry(
        tx,
        actor,
        (tenant, customer, currency),
        (-use_now, after),
        ("applied", "balance.apply"),
        Refs {
            service: None,
            invoice: Some(invoice),
        },
        "",
    )
    .await?;
    Ok(use_now)
}

/// Takes back up to `amount` (> 0) of a credit that should not have been given (the plan
/// change it came from failed); returns what was taken. What the customer already spent
/// stays spent: the caller records the shortfall.
pub async fn take_back(
    tx: &mut Tx,
    actor: &Actor,
    (tenant, customer, currency): (Uuid, Uuid, &str),
    amount: i64,
    refs: Refs,
    note: &str,
) -> Result<i64, ServiceError> {
    // Touching the row first locks it, as in `apply`.
    let bal: Option<(i64,)> = tx
        .fetch_optional(
            "UPDATE customer_balances SET updated_at = $3 WHERE customer_id = $1 AND currency = $2 RETURNING balance_minor",
            args![customer, currency, now()],
        )
        .await?;
    let taken = bal.map_or(0, |b| b.0).min(amount);
    if taken <= 0 {
        return Ok(0);
    }
    let after: i64 = tx
        .scalar(
            "UPDATE customer_balances SET balance_minor = balance_minor - $3 WHERE customer_id = $1 AND currency = $2 \
             RETURNING balance_minor",
            args![customer, currency, taken],
        )
        .await?;
    entry(
        tx,
        actor,
        (tenant, customer, currency),
        (-taken, after),
        ("applied", "balance.take_back"),
        refs,
        note,
    )
    .await?;
    Ok(taken)
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Balance {
    pub currency: String,
    pub balance_minor: i64,
}

/// The customer's balances (what it is owed), for its screen and verbs.
pub async fn of_customer(db: &Db, actor: &Actor, customer: &str) -> Result<Vec<Balance>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let c = crate::customers::get(db, actor, customer).await?;
    db.fetch_all(
        "SELECT currency, balance_minor FROM customer_balances WHERE customer_id = $1 ORDER BY currency",
        args![c.id],
    )
    .await
}
