//! Reading the ledger: balances per reseller (within the actor's reach), one reseller's
//! entries, and the low-balance alerts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::ops::resolve;
use crate::actor::Actor;
use crate::authz::{require, Permission};
use crate::db::Arg;
use crate::error::ServiceError;
use crate::page::where_clause;
use crate::reseller::{self, Reach};
use crate::{args, Db};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Balance {
    pub account_id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub user_id: Uuid,
    pub username: String,
    pub role: String,
    pub currency: String,
    pub balance: i64,
    pub credit_limit: i64,
    pub alert_threshold: Option<i64>,
}

/// Reseller balances, by tenant then username: every reseller account (one per currency,
/// opened by its first movement or setting) the actor reaches.
pub async fn balances(db: &Db, actor: &Actor, tenant: Option<Uuid>) -> Result<Vec<Balance>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut conds = vec!["a.kind = 'reseller'".to_owned()];
    let mut a: Vec<Arg> = Vec::new();
    for t in [actor.tenant_id, tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("a.tenant_id = ${}", a.len()));
    }
    reseller::restrict(
        actor,
        Reach::Owned {
            reseller: Some("a.user_id"),
            customer: None,
        },
        "credits",
        &mut conds,
        &mut a,
    )?;
    db.fetch_all(
        &format!(
            "SELECT a.id AS account_id, a.tenant_id, t.slug AS tenant_slug, u.id AS user_id, u.username, u.role, \
             a.currency, a.balance, a.credit_limit, a.alert_threshold \
             FROM credit_accounts a JOIN users u ON u.id = a.user_id JOIN tenants t ON t.id = a.tenant_id {} \
             ORDER BY t.slug, u.username, a.currency LIMIT 1000",
            where_clause(&conds)
        ),
        a,
    )
    .await
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub movement_id: Uuid,
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub balance_after: i64,
    pub description: String,
    pub actor_name: String,
    pub invoice_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub line_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// One reseller's entries, newest first (at most `limit`, up to 1000).
pub async fn ledger(db: &Db, actor: &Actor, reseller_key: &str, limit: i64) -> Result<Vec<LedgerEntry>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut tx = db.begin().await?;
    let user = resolve(&mut tx, actor, reseller_key).await?;
    let rows = tx
        .fetch_all(
            "SELECT e.id, e.movement_id, m.kind, e.amount, e.currency, e.balance_after, m.description, m.actor_name, \
             m.invoice_id, m.service_id, m.line_id, e.created_at \
             FROM credit_entries e JOIN credit_movements m ON m.id = e.movement_id \
             JOIN credit_accounts a ON a.id = e.account_id \
             WHERE a.user_id = $1 ORDER BY e.created_at DESC, e.id DESC LIMIT $2",
            args![user.id, limit.clamp(1, 1000)],
        )
        .await?;
    tx.commit().await?;
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Alert {
    pub id: Uuid,
    pub username: String,
    pub balance: i64,
    pub threshold: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

/// Low-balance alerts of the resellers the actor reaches, newest first.
pub async fn alerts(db: &Db, actor: &Actor, limit: i64) -> Result<Vec<Alert>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = Vec::new();
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("x.tenant_id = ${}", a.len()));
    }
    reseller::restrict(
        actor,
        Reach::Owned {
            reseller: Some("c.user_id"),
            customer: None,
        },
        "credits",
        &mut conds,
        &mut a,
    )?;
    a.push(limit.clamp(1, 1000).into());
    db.fetch_all(
        &format!(
            "SELECT x.id, u.username, x.balance, x.threshold, c.currency, x.created_at FROM credit_alerts x \
             JOIN credit_accounts c ON c.id = x.account_id JOIN users u ON u.id = c.user_id {} \
             ORDER BY x.created_at DESC, x.id DESC LIMIT ${}",
            where_clause(&conds),
            a.len()
        ),
        a,
    )
    .await
}
