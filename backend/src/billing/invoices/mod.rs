//! Invoices (docs/adr/0024): gap-free numbers per tenant, creating a draft or pending invoice
//! from service or plan prices, listing with status filters (overdue = pending past due) and
//! showing one with its items. Marking paid is not here: only `billing::settle` does that.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::billing::prices::{self, ItemKind, Quote, QuoteItem, QuoteRequest};
use crate::db::{now, Arg, Tx};
use crate::error::ServiceError;
use crate::ids::Target;
use crate::page::where_clause;
use crate::reseller::{self, Reach};
use crate::{args, Db};

mod detail;
mod query;

pub use detail::{detail, InvoiceDetail, TrailRow};
pub use query::{page, totals, Figure, InvoiceQuery};

/// Short ids of invoices; resellers reach the invoices of their subtree's users and customers.
pub const INVOICES: Target = Target {
    what: "invoice",
    from: "invoices i",
    id_col: "i.id",
    tenant_col: Some("i.tenant_id"),
    reach: REACH,
};

const REACH: Reach = Reach::Owned {
    reseller: Some("i.user_id"),
    customer: Some("i.customer_id"),
};

/// The next invoice number of `tenant`, taken in the caller's transaction: the counter row
/// is locked until that transaction ends, so a rollback gives the number back and two
/// invoices never share one. (A sequence would leave a gap on every rollback.)
pub async fn next_number(tx: &mut Tx, tenant: Uuid) -> Result<i64, ServiceError> {
    // The first invoice of a tenant continues after any numbered ones already there.
    tx.execute(
        "INSERT INTO invoice_counters (tenant_id, last_number) \
         SELECT $1, COALESCE(MAX(seq), 0) FROM invoices WHERE tenant_id = $1 \
         ON CONFLICT DO NOTHING",
        args![tenant],
    )
    .await?;
    tx.scalar(
        "UPDATE invoice_counters SET last_number = last_number + 1 WHERE tenant_id = $1 RETURNING last_number",
        args![tenant],
    )
    .await
}

/// How a sequence number is printed: `000042`.
pub fn format_number(seq: i64) -> String {
    format!("{seq:06}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Pending,
    Paid,
    Overdue,
    Cancelled,
    Refunded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Pending => "pending",
            Status::Paid => "paid",
            Status::Overdue => "overdue",
            Status::Cancelled => "cancelled",
            Status::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Draft,
            Status::Pending,
            Status::Paid,
            Status::Overdue,
            Status::Cancelled,
            Status::Refunded,
        ]
        .into_iter()
        .find(|x| x.as_str() == s.trim().to_lowercase())
    }
}

/// One line to bill: a service (its contracted price), a plan or add-on (its list price for
/// the payer) or a free-form amount.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewItem {
    pub service: Option<Uuid>,
    /// A plan code or id of the invoice's tenant.
    pub plan: Option<String>,
    pub description: Option<String>,
    pub quantity: Option<i64>,
    /// Required without a service or plan; overrides their price otherwise.
    pub unit_price_minor: Option<i64>,
    /// An add-on code or id of the invoice's tenant.
    #[serde(default)]
    pub addon: Option<String>,
    /// The billing cycle a plan or add-on is priced on (default: its own).
    #[serde(default)]
    pub cycle: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewInvoice {
    /// Platform staff name the tenant; tenant users bill in their own.
    pub tenant: Option<Uuid>,
    pub customer: Option<Uuid>,
    /// A reseller buying credits.
    pub user: Option<Uuid>,
    /// order, renewal, addon, credits or manual.
    pub reason: Option<String>,
    pub due_in_days: Option<i64>,
    /// Issue it (pending) at once instead of leaving a draft.
    pub issue: bool,
    pub notes: String,
    pub items: Vec<NewItem>,
    /// A coupon code, redeemed with the invoice (customers only).
    #[serde(default)]
    pub coupon: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Invoice {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub number: String,
    pub seq: Option<i64>,
    /// `overdue` when pending past its due date.
    pub status: String,
    pub reason: String,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub user_id: Option<Uuid>,
    pub total_minor: i64,
    pub currency: String,
    pub due_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Item {
    pub id: Uuid,
    pub service_id: Option<Uuid>,
    pub description: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub currency: String,
}

fn columns(at: usize) -> String {
    format!(
        "i.id, i.tenant_id, t.slug AS tenant_slug, i.number, i.seq, \
         CASE WHEN i.status = 'pending' AND i.due_at < ${at} THEN 'overdue' ELSE i.status END AS status, \
         i.reason, i.customer_id, c.name AS customer_name, i.user_id, i.total_minor, i.currency, i.due_at, \
         i.paid_at, i.created_at"
    )
}
const FROM: &str = "invoices i JOIN tenants t ON t.id = i.tenant_id LEFT JOIN customers c ON c.id = i.customer_id";

const REASONS: [&str; 5] = ["order", "renewal", "addon", "credits", "manual"];

/// The quote's items for an invoice's items: a service at its contracted price, a plan or
/// add-on from the price lists, or a free-form amount.
fn quote_items(items: &[NewItem]) -> Result<Vec<QuoteItem>, ServiceError> {
    let mut out = Vec::new();
    for (n, it) in items.iter().enumerate() {
        let qty = it.quantity.unwrap_or(1);
        let catalogue = |kind: ItemKind, key: &String| QuoteItem::Catalogue {
            kind,
            item: key.clone(),
            cycle: it.cycle.clone(),
            quantity: qty,
            unit_price_minor: it.unit_price_minor,
        };
        out.push(if let Some(id) = it.service {
            QuoteItem::Service {
                id,
                quantity: qty,
                unit_price_minor: it.unit_price_minor,
            }
        } else if let Some(code) = &it.plan {
            catalogue(ItemKind::Plan, code)
        } else if let Some(code) = &it.addon {
            catalogue(ItemKind::Addon, code)
        } else {
            let Some(price) = it.unit_price_minor else {
                return Err(ServiceError::invalid(
                    &format!("items[{n}].unit_price_minor"),
                    "needed without a service, plan or add-on",
                ));
            };
            QuoteItem::Custom {
                description: it.description.clone().unwrap_or_default(),
                quantity: qty,
                unit_price_minor: price,
            }
        });
    }
    Ok(out)
}

/// Creates an invoice with its items and the tenant's next number, as a draft or issued
/// (pending), audited in the same transaction. Items are priced by
/// [`crate::billing::prices::quote`] (the customer's reseller's overrides apply); a coupon
/// is redeemed in the same transaction.
pub async fn create(db: &Db, actor: &Actor, input: NewInvoice) -> Result<Invoice, ServiceError> {
    require(actor, Permission::InvoicesCreate)?;
    let tenant = match (actor.tenant_id, input.tenant) {
        (Some(t), None) => t,
        (Some(t), Some(x)) if t == x => t,
        (None, Some(x)) => x,
        (Some(_), Some(x)) => return Err(ServiceError::not_found("tenant", x.to_string())),
        (None, None) => return Err(ServiceError::invalid("tenant", "say which tenant bills")),
    };
    let reason = input.reason.clone().unwrap_or_else(|| "manual".into());
    if !REASONS.contains(&reason.as_str()) {
        return Err(ServiceError::invalid(
            "reason",
            format!("must be one of {}", REASONS.join(", ")),
        ));
    }
    if input.customer.is_none() == input.user.is_none() {
        return Err(ServiceError::invalid(
            "customer",
            "bill exactly one of a customer or a reseller user",
        ));
    }
    if input.items.is_empty() || input.items.len() > 100 {
        return Err(ServiceError::invalid("items", "an invoice has 1 to 100 items"));
    }
    let due_days = input.due_in_days.unwrap_or(7);
    if !(0..=365).contains(&due_days) {
        return Err(ServiceError::invalid("due_in_days", "must be 0 to 365"));
    }
    let items = quote_items(&input.items)?;
    let mut tx = db.begin().await?;
    let exists: i64 = tx
        .scalar("SELECT COUNT(*) FROM tenants WHERE id = $1", args![tenant])
        .await?;
    if exists == 0 {
        return Err(ServiceError::not_found("tenant", tenant.to_string()));
    }
    // The payer must be in the tenant and, for a reseller actor, in its subtree.
    let who = match (input.customer, input.user) {
        (Some(c), _) => c,
        (_, Some(u)) => u,
        _ => return Err(ServiceError::invalid("customer", "bill a customer or a reseller user")),
    };
    let mut conds = vec!["i.id = $1".to_owned(), "i.tenant_id = $2".to_owned()];
    let mut a: Vec<Arg> = args![who, tenant];
    let col = if input.customer.is_some() {
        "i.reseller_id"
    } else {
        "i.id"
    };
    reseller::restrict(
        actor,
        Reach::Owned {
            reseller: Some(col),
            customer: None,
        },
        "invoices",
        &mut conds,
        &mut a,
    )?;
    let table = if input.customer.is_some() { "customers" } else { "users" };
    let n: i64 = tx
        .scalar(&format!("SELECT COUNT(*) FROM {table} i {}", where_clause(&conds)), a)
        .await?;
    if n == 0 {
        return Err(ServiceError::not_found(
            if input.customer.is_some() { "customer" } else { "user" },
            who.to_string(),
        ));
    }
    let mut quote = prices::quote(
        &mut tx,
        tenant,
        &QuoteRequest {
            customer: input.customer,
            reseller: input.user,
            items,
            coupon: input.coupon.clone(),
        },
    )
    .await?;
    for (line, it) in quote.lines.iter_mut().zip(&input.items) {
        if let Some(d) = it.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            line.description = d.to_owned();
        }
    }
    for (n, line) in quote.lines.iter().enumerate() {
        if line.description.is_empty() || line.description.chars().count() > 300 {
            return Err(ServiceError::invalid(
                &format!("items[{n}].description"),
                "must be 1 to 300 characters",
            ));
        }
    }
    let inv = insert(
        &mut tx,
        actor,
        Draft {
            customer: input.customer,
            user: input.user,
            reason: &reason,
            issue: input.issue,
            due_in_days: due_days,
            notes: input.notes.trim(),
            quote: &quote,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(inv)
}

/// An invoice to write from a quote.
pub(crate) struct Draft<'a> {
    pub customer: Option<Uuid>,
    pub user: Option<Uuid>,
    pub reason: &'a str,
    pub issue: bool,
    pub due_in_days: i64,
    pub notes: &'a str,
    pub quote: &'a Quote,
}

/// Writes an invoice from a quote in the caller's transaction: the next number, the lines,
/// a negative line for the coupon (redeemed here) and one for the customer's balance used
/// up, audited. Every caller that bills (orders, plan changes, manual invoices) comes here.
pub(crate) async fn insert(tx: &mut Tx, actor: &Actor, d: Draft<'_>) -> Result<Invoice, ServiceError> {
    let q = d.quote;
    let tenant = q.tenant_id;
    let seq = next_number(tx, tenant).await?;
    let id = Uuid::now_v7();
    let at = now();
    let status = if d.issue { "pending" } else { "draft" };
    tx.execute(
        "INSERT INTO invoices (id, tenant_id, customer_id, user_id, number, seq, status, reason, subtotal_minor, \
         discount_minor, total_minor, currency, due_at, notes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        args![
            id,
            tenant,
            d.customer,
            d.user,
            format_number(seq),
            seq,
            status,
            d.reason,
            q.subtotal_minor,
            q.discount_minor,
            q.total_minor,
            q.currency.as_str(),
            at + Duration::days(d.due_in_days),
            d.notes,
            at
        ],
    )
    .await?;
    let mut rows: Vec<(Option<Uuid>, String, i64, i64)> = q
        .lines
        .iter()
        .map(|l| (l.service_id, l.description.clone(), l.quantity, l.unit_price_minor))
        .collect();
    if let Some(c) = &q.coupon {
        let Some(customer) = d.customer else {
            return Err(ServiceError::invalid("coupon", "coupons are for customers' invoices"));
        };
        crate::billing::coupons::redeem(
            tx,
            actor,
            c,
            &crate::billing::coupons::Sale {
                tenant,
                customer,
                currency: &q.currency,
                invoice: Some(id),
                service: q.lines.iter().find_map(|l| l.service_id),
            },
        )
        .await?;
        if c.discount_minor > 0 {
            rows.push((None, format!("Coupon {}", c.code), 1, -c.discount_minor));
        }
    }
    let mut total = q.total_minor;
    if let (Some(customer), true) = (d.customer, d.reason != "credits") {
        let used = crate::billing::balance::apply(tx, actor, (tenant, customer, &q.currency), total, id).await?;
        if used > 0 {
            rows.push((None, "Account credit".into(), 1, -used));
            total -= used;
            tx.execute(
                "UPDATE invoices SET discount_minor = discount_minor + $1, total_minor = $2 WHERE id = $3",
                args![used, total, id],
            )
            .await?;
        }
    }
    for (n, (service, description, qty, price)) in rows.iter().enumerate() {
        tx.execute(
            "INSERT INTO invoice_items (id, tenant_id, invoice_id, service_id, description, quantity, \
             unit_price_minor, amount_minor, currency, sort_order) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                Uuid::now_v7(),
                tenant,
                id,
                *service,
                description.as_str(),
                *qty,
                *price,
                qty * price,
                q.currency.as_str(),
                n as i64
            ],
        )
        .await?;
    }
    let inv = read(tx, id).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "invoice.create",
            entity: "invoice",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({ "invoice": &inv, "items": rows.len(), "coupon": &q.coupon })),
        },
    )
    .await?;
    Ok(inv)
}

pub(crate) async fn read(tx: &mut Tx, id: Uuid) -> Result<Invoice, ServiceError> {
    tx.fetch_one(
        &format!("SELECT {} FROM {FROM} WHERE i.id = $2", columns(1)),
        args![now(), id],
    )
    .await
}

/// Issues a draft: draft → pending, audited.
pub async fn issue(db: &Db, actor: &Actor, key: &str) -> Result<Invoice, ServiceError> {
    require(actor, Permission::InvoicesCreate)?;
    let mut tx = db.begin().await?;
    let before = get_tx(&mut tx, actor, key).await?;
    if before.status != "draft" {
        return Err(ServiceError::Conflict(format!(
            "invoice {} is {}, not a draft",
            before.number, before.status
        )));
    }
    tx.execute(
        "UPDATE invoices SET status = 'pending', updated_at = $1 WHERE id = $2 AND status = 'draft'",
        args![now(), before.id],
    )
    .await?;
    let after = read(&mut tx, before.id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "invoice.issue",
            entity: "invoice",
            entity_id: Some(before.id.to_string()),
            tenant_id: Some(before.tenant_id),
            before: audit::snapshot(&before),
            after: audit::snapshot(&after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub(crate) async fn get_tx(tx: &mut Tx, actor: &Actor, key: &str) -> Result<Invoice, ServiceError> {
    // Numbers are digits, which also read as a short hex id: no id matching, it is a number.
    let id = match crate::ids::expand_tx(tx, actor, &INVOICES, key).await {
        Ok(id) => id,
        Err(ServiceError::NotFound { .. }) => key.to_owned(),
        Err(e) => return Err(e),
    };
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = args![now()];
    match Uuid::parse_str(id.trim()) {
        Ok(u) => {
            a.push(u.into());
            conds.push("i.id = $2".to_owned());
        }
        // A number, within the actor's tenant (platform staff: any tenant, if unique).
        Err(_) => {
            a.push(id.trim().into());
            conds.push("i.number = $2".to_owned());
        }
    }
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("i.tenant_id = ${}", a.len()));
    }
    reseller::restrict(actor, REACH, "invoices", &mut conds, &mut a)?;
    let rows: Vec<Invoice> = tx
        .fetch_all(
            &format!("SELECT {} FROM {FROM} {} LIMIT 2", columns(1), where_clause(&conds)),
            a,
        )
        .await?;
    match rows.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ServiceError::not_found("invoice", key)),
        _ => Err(ServiceError::invalid(
            "id",
            format!("invoice number {key} exists in several tenants: give the id"),
        )),
    }
}

/// One invoice with its items.
pub async fn show(db: &Db, actor: &Actor, key: &str) -> Result<(Invoice, Vec<Item>), ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut tx = db.begin().await?;
    let inv = get_tx(&mut tx, actor, key).await?;
    let items = tx
        .fetch_all(
            "SELECT id, service_id, description, quantity, unit_price_minor, amount_minor, currency FROM invoice_items \
             WHERE invoice_id = $1 ORDER BY sort_order, id",
            args![inv.id],
        )
        .await?;
    tx.commit().await?;
    Ok((inv, items))
}

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub status: Option<Status>,
    pub tenant: Option<Uuid>,
    /// Newest first; rows created before this (keyset: created_at, id) for the next page.
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Invoices the actor reaches, newest first. `overdue` selects pending invoices past their
/// due date; `pending` then means pending and not yet due.
pub async fn list(db: &Db, actor: &Actor, f: InvoiceFilter) -> Result<Vec<Invoice>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = args![now()];
    match f.status {
        Some(Status::Overdue) => {
            conds.push("(i.status = 'overdue' OR (i.status = 'pending' AND i.due_at < $1))".to_owned())
        }
        Some(Status::Pending) => conds.push("i.status = 'pending' AND i.due_at >= $1".to_owned()),
        Some(s) => {
            a.push(s.as_str().into());
            conds.push(format!("i.status = ${}", a.len()));
        }
        None => {}
    }
    for t in [actor.tenant_id, f.tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("i.tenant_id = ${}", a.len()));
    }
    if let Some((at, id)) = f.before {
        a.push(at.into());
        a.push(id.into());
        conds.push(format!(
            "(i.created_at < ${n} OR (i.created_at = ${n} AND i.id < ${m}))",
            n = a.len() - 1,
            m = a.len()
        ));
    }
    reseller::restrict(actor, REACH, "invoices", &mut conds, &mut a)?;
    a.push(f.limit.clamp(1, 1000).into());
    db.fetch_all(
        &format!(
            "SELECT {} FROM {FROM} {} ORDER BY i.created_at DESC, i.id DESC LIMIT ${}",
            columns(1),
            where_clause(&conds),
            a.len()
        ),
        a,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_statuses() {
        assert_eq!(format_number(42), "000042");
        assert_eq!(Status::parse(" Overdue "), Some(Status::Overdue));
        assert_eq!(Status::parse("paid"), Some(Status::Paid));
        assert_eq!(Status::parse("open"), None);
    }
}
