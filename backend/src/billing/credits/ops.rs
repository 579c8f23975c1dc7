//! The operations on the ledger: buy (against a paid invoice), spend (with commissions up
//! the tree), transfer within the tree, and the per-reseller settings (limit, alert) and
//! per-tenant commission rates. Each is permission → validation → `BEGIN` → reach → post →
//! audit → `COMMIT`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{post, AccountKind, Leg, Movement, Refs, MAX_AMOUNT, MAX_LEVELS};
use crate::actor::{Actor, Role};
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Tx};
use crate::error::ServiceError;
use crate::{args, reseller, Db};

/// A reseller-family account as the ledger needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ResellerUser {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub username: String,
    pub role: String,
    pub parent_id: Option<Uuid>,
    pub currency: String,
}

const USER_COLUMNS: &str = "u.id, u.tenant_id, u.username, u.role, u.parent_id, t.currency";

/// The reseller named by `key` (a user id or a username), if `actor` reaches it: same tenant
/// and, for a reseller-family actor, within its subtree. Anything else reads as not found.
pub(crate) async fn resolve(tx: &mut Tx, actor: &Actor, key: &str) -> Result<ResellerUser, ServiceError> {
    let key = key.trim();
    let rows: Vec<ResellerUser> = match Uuid::parse_str(key) {
        Ok(id) => {
            tx.fetch_all(
                &format!("SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1"),
                args![id],
            )
            .await?
        }
        Err(_) => {
            tx.fetch_all(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id \
                     WHERE u.username = $1 ORDER BY u.id LIMIT 5"
                ),
                args![key.to_lowercase()],
            )
            .await?
        }
    };
    let mut seen: Vec<ResellerUser> = rows.into_iter().filter(|u| actor.sees_tenant(u.tenant_id)).collect();
    if seen.len() > 1 {
        return Err(ServiceError::invalid(
            "reseller",
            format!("username {key} exists in several tenants: give the user id"),
        ));
    }
    let Some(user) = seen.pop() else {
        return Err(ServiceError::not_found("reseller", key));
    };
    if !Role::parse(&user.role).is_some_and(Role::is_reseller_family) {
        return Err(ServiceError::invalid(
            "reseller",
            format!("{} is not a reseller account", user.username),
        ));
    }
    if let Some(root) = actor.reseller_root() {
        if !reseller::in_subtree(tx, root, user.id).await? {
            return Err(ServiceError::not_found("reseller", key));
        }
    }
    Ok(user)
}

fn positive(amount: i64) -> Result<i64, ServiceError> {
    if amount <= 0 || amount > MAX_AMOUNT {
        return Err(ServiceError::invalid(
            "amount",
            format!("must be a positive number of minor units up to {MAX_AMOUNT}"),
        ));
    }
    Ok(amount)
}

/// tenant, payer, status, reason, total, currency, number.
type PaidInvoice = (Uuid, Option<Uuid>, String, String, i64, String, String);

/// Buys credits with a paid invoice: the invoice's total moves from the tenant's purchases
/// account to the reseller who paid it. Only a paid invoice of reason `credits` with a
/// reseller payer qualifies, and each invoice buys once (a unique index). The invoice itself
/// is marked paid elsewhere (the verified webhook); this never changes it.
pub async fn buy(db: &Db, actor: &Actor, invoice: Uuid) -> Result<Movement, ServiceError> {
    require(actor, Permission::CreditsManage)?;
    let mut tx = db.begin().await?;
    let row: Option<PaidInvoice> = tx
        .fetch_optional(
            "SELECT tenant_id, user_id, status, reason, total_minor, currency, number FROM invoices WHERE id = $1",
            args![invoice],
        )
        .await?;
    let Some((tenant, user, status, reason, total, currency, number)) = row.filter(|r| actor.sees_tenant(r.0)) else {
        return Err(ServiceError::not_found("invoice", invoice.to_string()));
    };
    if status != "paid" || reason != "credits" {
        return Err(ServiceError::Conflict(format!(
            "invoice {number} is {status} ({reason}): only a paid credits invoice buys credits"
        )));
    }
    let Some(user) = user else {
        return Err(ServiceError::invalid("invoice", "the invoice has no reseller payer"));
    };
    let buyer = resolve(&mut tx, actor, &user.to_string()).await?;
    let legs = [
        Leg {
            account: AccountKind::Purchases,
            amount: -positive(total)?,
        },
        Leg {
            account: AccountKind::Reseller(buyer.id),
            amount: total,
        },
    ];
    let refs = Refs {
        invoice: Some(invoice),
        idempotency_key: Some(format!("invoice:{invoice}")),
        description: format!("credits bought with invoice {number}"),
        ..Refs::default()
    };
    let m = post(&mut tx, actor, tenant, "purchase", &currency, refs, &legs).await?;
    tx.commit().await?;
    Ok(m)
}

/// Spending credits on a service or a line (a sale).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Spend {
    /// The reseller who pays; `None`: the actor itself.
    pub reseller: Option<String>,
    pub amount: i64,
    pub service: Option<Uuid>,
    pub line: Option<Uuid>,
    /// A retried job spends at most once under the same key.
    pub idempotency_key: Option<String>,
    pub description: String,
}

/// The commission of each ancestor of `seller`, level by level up the tree, at the tenant's
/// rates (basis points, rounded down).
async fn commissions(tx: &mut Tx, seller: &ResellerUser, amount: i64) -> Result<Vec<(Uuid, i64)>, ServiceError> {
    let rates: Vec<(i64, i64)> = tx
        .fetch_all(
            "SELECT level, rate_bp FROM credit_commission_rates WHERE tenant_id = $1 ORDER BY level",
            args![seller.tenant_id],
        )
        .await?;
    let mut out = Vec::new();
    let mut parent = seller.parent_id;
    let mut seen = vec![seller.id];
    for level in 1..=MAX_LEVELS {
        let Some(p) = parent.filter(|p| !seen.contains(p)) else {
            break;
        };
        let row: Option<(Uuid, String, Option<Uuid>)> = tx
            .fetch_optional("SELECT tenant_id, role, parent_id FROM users WHERE id = $1", args![p])
            .await?;
        let Some((tenant, role, next)) = row else { break };
        if tenant != seller.tenant_id || !Role::parse(&role).is_some_and(Role::is_reseller_family) {
            break;
        }
        let rate = rates.iter().find(|(l, _)| *l == level).map_or(0, |(_, r)| *r);
        let c = i64::try_from(i128::from(amount) * i128::from(rate) / 10_000).unwrap_or(0);
        if c > 0 {
            out.push((p, c));
        }
        seen.push(p);
        parent = next;
    }
    Ok(out)
}

pub async fn spend(db: &Db, actor: &Actor, input: Spend) -> Result<Movement, ServiceError> {
    require(actor, Permission::CreditsSpend)?;
    let amount = positive(input.amount)?;
    let description = input.description.trim().to_owned();
    if description.chars().count() > 500 {
        return Err(ServiceError::invalid("description", "must be at most 500 characters"));
    }
    let key = match (&input.reseller, actor.user_id) {
        (Some(k), _) => k.clone(),
        (None, Some(me)) => me.to_string(),
        (None, None) => return Err(ServiceError::invalid("reseller", "say which reseller pays")),
    };
    let mut tx = db.begin().await?;
    let seller = resolve(&mut tx, actor, &key).await?;
    for (what, table, id) in [("service", "services", input.service), ("line", "lines", input.line)] {
        if let Some(id) = id {
            let n: i64 = tx
                .scalar(
                    &format!("SELECT COUNT(*) FROM {table} WHERE id = $1 AND tenant_id = $2"),
                    args![id, seller.tenant_id],
                )
                .await?;
            if n == 0 {
                return Err(ServiceError::not_found(what, id.to_string()));
            }
        }
    }
    let mut legs = vec![
        Leg {
            account: AccountKind::Reseller(seller.id),
            amount: -amount,
        },
        Leg {
            account: AccountKind::Sales,
            amount,
        },
    ];
    for (ancestor, c) in commissions(&mut tx, &seller, amount).await? {
        legs.push(Leg {
            account: AccountKind::Commissions,
            amount: -c,
        });
        legs.push(Leg {
            account: AccountKind::Reseller(ancestor),
            amount: c,
        });
    }
    let refs = Refs {
        service: input.service,
        line: input.line,
        idempotency_key: input.idempotency_key.filter(|k| !k.trim().is_empty()),
        description: if description.is_empty() {
            format!("spent by {}", seller.username)
        } else {
            description
        },
        ..Refs::default()
    };
    let m = post(&mut tx, actor, seller.tenant_id, "spend", &seller.currency, refs, &legs).await?;
    tx.commit().await?;
    Ok(m)
}

/// Moving credits between two resellers of one branch of the tree.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transfer {
    /// `None`: the actor itself.
    pub from: Option<String>,
    pub to: String,
    pub amount: i64,
    pub description: String,
}

/// A transfer goes down or up one branch (one side is an ancestor of the other), within the
/// actor's reach; the sender's limit applies.
pub async fn transfer(db: &Db, actor: &Actor, input: Transfer) -> Result<Movement, ServiceError> {
    require(actor, Permission::CreditsSpend)?;
    let amount = positive(input.amount)?;
    let from_key = match (&input.from, actor.user_id) {
        (Some(k), _) => k.clone(),
        (None, Some(me)) => me.to_string(),
        (None, None) => return Err(ServiceError::invalid("from", "say which reseller sends")),
    };
    let mut tx = db.begin().await?;
    let from = resolve(&mut tx, actor, &from_key).await?;
    let to = resolve(&mut tx, actor, &input.to).await?;
    if from.id == to.id {
        return Err(ServiceError::invalid("to", "sender and receiver are the same reseller"));
    }
    if from.tenant_id != to.tenant_id
        || !(reseller::in_subtree(&mut tx, from.id, to.id).await?
            || reseller::in_subtree(&mut tx, to.id, from.id).await?)
    {
        return Err(ServiceError::invalid(
            "to",
            format!("{} is not on {}'s branch of the tree", to.username, from.username),
        ));
    }
    let legs = [
        Leg {
            account: AccountKind::Reseller(from.id),
            amount: -amount,
        },
        Leg {
            account: AccountKind::Reseller(to.id),
            amount,
        },
    ];
    let refs = Refs {
        description: format!("{} → {} {}", from.username, to.username, input.description.trim())
            .trim()
            .to_owned(),
        ..Refs::default()
    };
    let m = post(&mut tx, actor, from.tenant_id, "transfer", &from.currency, refs, &legs).await?;
    tx.commit().await?;
    Ok(m)
}

/// Sets a reseller's credit limit (how far below zero it may go) or its low-balance alert
/// threshold, audited with the old and new values.
async fn set_setting(
    db: &Db,
    actor: &Actor,
    key: &str,
    column: &'static str,
    value: Option<i64>,
) -> Result<(), ServiceError> {
    require(actor, Permission::CreditsManage)?;
    let mut tx = db.begin().await?;
    let user = resolve(&mut tx, actor, key).await?;
    let acc = super::account_id(&mut tx, user.tenant_id, AccountKind::Reseller(user.id), &user.currency).await?;
    let before: (i64, i64, Option<i64>) = tx
        .fetch_one(
            "SELECT balance, credit_limit, alert_threshold FROM credit_accounts WHERE id = $1",
            args![acc],
        )
        .await?;
    if column == "credit_limit" && value.is_some_and(|l| before.0 < -l) {
        return Err(ServiceError::Conflict(format!(
            "{}'s balance is {}: the limit cannot be lower than what it already owes",
            user.username,
            crate::money::format(before.0, &user.currency)
        )));
    }
    let sql = match column {
        "credit_limit" => "UPDATE credit_accounts SET credit_limit = $1, updated_at = $2 WHERE id = $3",
        _ => "UPDATE credit_accounts SET alert_threshold = $1, alert_armed = $4, updated_at = $2 WHERE id = $3",
    };
    let mut a = args![value.unwrap_or(0), now(), acc];
    if column != "credit_limit" {
        a[0] = value.into();
        // A new threshold already above the balance alerts on the next movement that stays below it.
        a.push(true.into());
    }
    tx.execute(sql, a).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: if column == "credit_limit" {
                "credits.limit"
            } else {
                "credits.alert_threshold"
            },
            entity: "credit_account",
            entity_id: Some(acc.to_string()),
            tenant_id: Some(user.tenant_id),
            before: Some(json!({ "user": user.username, "credit_limit": before.1, "alert_threshold": before.2 })),
            after: Some(json!({ "user": user.username, column: value })),
        },
    )
    .await?;
    tx.commit().await
}

pub async fn set_limit(db: &Db, actor: &Actor, reseller: &str, limit: i64) -> Result<(), ServiceError> {
    if !(0..=MAX_AMOUNT).contains(&limit) {
        return Err(ServiceError::invalid(
            "limit",
            format!("must be between 0 and {MAX_AMOUNT} minor units"),
        ));
    }
    set_setting(db, actor, reseller, "credit_limit", Some(limit)).await
}

/// `None` turns the alert off.
pub async fn set_alert(db: &Db, actor: &Actor, reseller: &str, threshold: Option<i64>) -> Result<(), ServiceError> {
    if threshold.is_some_and(|t| t.unsigned_abs() > MAX_AMOUNT as u64) {
        return Err(ServiceError::invalid(
            "threshold",
            format!("must be within ±{MAX_AMOUNT} minor units"),
        ));
    }
    set_setting(db, actor, reseller, "alert_threshold", threshold).await
}

/// Replaces a tenant's commission rates: `rates[i]` is level i+1's rate in basis points.
pub async fn set_commission_rates(db: &Db, actor: &Actor, tenant: Uuid, rates: &[i64]) -> Result<(), ServiceError> {
    require(actor, Permission::CreditsManage)?;
    if !actor.sees_tenant(tenant) {
        return Err(ServiceError::not_found("tenant", tenant.to_string()));
    }
    if rates.len() > MAX_LEVELS as usize
        || rates.iter().any(|r| !(0..=10_000).contains(r))
        || rates.iter().sum::<i64>() > 10_000
    {
        return Err(ServiceError::invalid(
            "rates",
            format!("at most {MAX_LEVELS} levels, each 0–10000 basis points, together at most 10000"),
        ));
    }
    let mut tx = db.begin().await?;
    let before: Vec<(i64, i64)> = tx
        .fetch_all(
            "SELECT level, rate_bp FROM credit_commission_rates WHERE tenant_id = $1 ORDER BY level",
            args![tenant],
        )
        .await?;
    tx.execute(
        "DELETE FROM credit_commission_rates WHERE tenant_id = $1",
        args![tenant],
    )
    .await?;
    for (i, r) in rates.iter().enumerate() {
        tx.execute(
            "INSERT INTO credit_commission_rates (tenant_id, level, rate_bp, updated_at) VALUES ($1, $2, $3, $4)",
            args![tenant, i as i64 + 1, *r, now()],
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "credits.commission_rates",
            entity: "tenant",
            entity_id: Some(tenant.to_string()),
            tenant_id: Some(tenant),
            before: Some(json!({ "rates_bp": before.iter().map(|r| r.1).collect::<Vec<_>>() })),
            after: Some(json!({ "rates_bp": rates })),
        },
    )
    .await?;
    tx.commit().await
}
