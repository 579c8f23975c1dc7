//! Prices (docs/adr/0026): each tenant's price list per plan and add-on and billing cycle,
//! reseller overrides for a subtree (the nearest one up the tree wins, never below the
//! tenant's floor), and [`quote`] — the one function that prices an order, an invoice, a
//! renewal or a plan change: lines, coupon discount and total in the tenant's currency.

pub mod manage;
pub mod prorate;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::args;
use crate::billing::coupons;
use crate::db::Tx;
use crate::error::ServiceError;

pub use manage::{list, override_targets, sellables, set, unset, PriceEntry, PriceFilter, Sellable, SetPrice};

pub const CYCLES: [&str; 7] = [
    "one_time",
    "monthly",
    "quarterly",
    "semiannual",
    "annual",
    "biennial",
    "triennial",
];

/// What a price row prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    #[default]
    Plan,
    Addon,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Plan => "plan",
            ItemKind::Addon => "addon",
        }
    }

    pub fn parse(s: &str) -> Option<ItemKind> {
        match s.trim().to_lowercase().as_str() {
            "plan" | "plans" => Some(ItemKind::Plan),
            "addon" | "addons" | "add-on" => Some(ItemKind::Addon),
            _ => None,
        }
    }

    fn table(self) -> &'static str {
        match self {
            ItemKind::Plan => "plans",
            ItemKind::Addon => "addons",
        }
    }
}

/// One thing to price.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum QuoteItem {
    /// A plan or add-on by code or id, on a cycle (default: its own).
    Catalogue {
        kind: ItemKind,
        item: String,
        cycle: Option<String>,
        quantity: i64,
        /// A price typed by whoever bills (manual invoices), instead of the list's.
        unit_price_minor: Option<i64>,
    },
    /// A service at its contracted price (renewals): later list changes do not rewrite it.
    Service {
        id: Uuid,
        quantity: i64,
        unit_price_minor: Option<i64>,
    },
    /// A free-form amount (manual invoices, credits).
    Custom {
        description: String,
        quantity: i64,
        unit_price_minor: i64,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QuoteRequest {
    /// Whose price: the customer's reseller's overrides apply.
    pub customer: Option<Uuid>,
    /// A reseller's overrides without a customer (a reseller's own price list preview).
    pub reseller: Option<Uuid>,
    pub items: Vec<QuoteItem>,
    pub coupon: Option<String>,
}

/// One priced line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// plan, addon, service or custom.
    pub kind: String,
    /// The plan or add-on (a service line carries its plan): what coupons are restricted to.
    pub item_kind: Option<ItemKind>,
    pub item_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub code: String,
    pub description: String,
    pub billing_cycle: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    /// catalogue, tenant, reseller:<username>, floor, contract or manual.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    pub tenant_id: Uuid,
    pub currency: String,
    pub lines: Vec<Line>,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub total_minor: i64,
    pub coupon: Option<coupons::Applied>,
}

/// A catalogue row as pricing needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CatalogueRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub status: String,
    pub price_minor: i64,
    pub currency: String,
    pub billing_cycle: String,
}

pub(crate) async fn catalogue_row(
    tx: &mut Tx,
    tenant: Uuid,
    kind: ItemKind,
    key: &str,
) -> Result<CatalogueRow, ServiceError> {
    let key = key.trim();
    let by_id = Uuid::parse_str(key).ok();
    let r: Option<CatalogueRow> = tx
        .fetch_optional(
            &format!(
                "SELECT id, code, name, status, price_minor, currency, billing_cycle FROM {} \
                 WHERE tenant_id = $1 AND (code = $2 OR id = $3)",
                kind.table()
            ),
            args![tenant, key, by_id],
        )
        .await?;
    r.ok_or_else(|| ServiceError::not_found(if kind == ItemKind::Plan { "plan" } else { "addon" }, key))
}

pub(crate) fn check_cycle(field: &str, cycle: &str) -> Result<(), ServiceError> {
    if CYCLES.contains(&cycle) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            field,
            format!("must be one of {}", CYCLES.join(", ")),
        ))
    }
}

/// The unit price of `row` on `cycle` for `reseller`'s customers: the nearest reseller
/// override up the tree (raised to the tenant's floor), else the tenant's list price, else
/// the catalogue price when `cycle` is the item's own. Returns (price, source).
pub(crate) async fn unit_price(
    tx: &mut Tx,
    tenant: Uuid,
    kind: ItemKind,
    row: &CatalogueRow,
    cycle: &str,
    reseller: Option<Uuid>,
) -> Result<Option<(i64, String)>, ServiceError> {
    let own: Option<(i64, Option<i64>)> = tx
        .fetch_optional(
            "SELECT price_minor, floor_minor FROM prices WHERE tenant_id = $1 AND reseller_id IS NULL \
             AND item_kind = $2 AND COALESCE(plan_id, addon_id) = $3 AND billing_cycle = $4",
            args![tenant, kind.as_str(), row.id, cycle],
        )
        .await?;
    let floor = own.and_then(|o| o.1);
    if let Some(r) = reseller {
        let near: Option<(i64, String)> = tx
            .fetch_optional(
                "WITH RECURSIVE up(id, depth) AS (SELECT id, 0 FROM users WHERE id = $1 AND tenant_id = $2 \
                 UNION ALL SELECT u.parent_id, up.depth + 1 FROM users u JOIN up ON u.id = up.id \
                 WHERE u.parent_id IS NOT NULL AND up.depth < 16) \
                 SELECT p.price_minor, usr.username FROM prices p JOIN up ON p.reseller_id = up.id \
                 JOIN users usr ON usr.id = p.reseller_id WHERE p.tenant_id = $2 AND p.item_kind = $3 \
                 AND COALESCE(p.plan_id, p.addon_id) = $4 AND p.billing_cycle = $5 ORDER BY up.depth LIMIT 1",
                args![r, tenant, kind.as_str(), row.id, cycle],
            )
            .await?;
        if let Some((price, who)) = near {
            return Ok(Some(match floor {
                Some(f) if price < f => (f, "floor".to_owned()),
                _ => (price, format!("reseller:{who}")),
            }));
        }
    }
    if let Some((price, _)) = own {
        return Ok(Some((price, "tenant".into())));
    }
    if cycle == row.billing_cycle {
        return Ok(Some((row.price_minor, "catalogue".into())));
    }
    Ok(None)
}

fn quantity(field: &str, q: i64) -> Result<i64, ServiceError> {
    if (1..=10_000).contains(&q) {
        Ok(q)
    } else {
        Err(ServiceError::invalid(field, "must be 1 to 10000"))
    }
}

fn sane_price(field: &str, p: i64) -> Result<i64, ServiceError> {
    if (0..=crate::billing::credits::MAX_AMOUNT).contains(&p) {
        Ok(p)
    } else {
        Err(ServiceError::invalid(field, "must be 0 or more (and sane)"))
    }
}

/// Prices `req` for `tenant` in the caller's transaction: every line in the tenant's
/// currency (an item priced in another is refused, never converted), the coupon checked
/// (not redeemed: [`coupons::redeem`] does that where the sale is recorded) and its discount.
pub async fn quote(tx: &mut Tx, tenant: Uuid, req: &QuoteRequest) -> Result<Quote, ServiceError> {
    let currency: Option<(String,)> = tx
        .fetch_optional("SELECT currency FROM tenants WHERE id = $1", args![tenant])
        .await?;
    let Some((currency,)) = currency else {
        return Err(ServiceError::not_found("tenant", tenant.to_string()));
    };
    let mut reseller = req.reseller;
    if let Some(c) = req.customer {
        let r: Option<(Option<Uuid>,)> = tx
            .fetch_optional(
                "SELECT reseller_id FROM customers WHERE id = $1 AND tenant_id = $2",
                args![c, tenant],
            )
            .await?;
        let Some((r,)) = r else {
            return Err(ServiceError::not_found("customer", c.to_string()));
        };
        reseller = reseller.or(r);
    }
    let mut lines = Vec::new();
    for (n, it) in req.items.iter().enumerate() {
        let field = |f: &str| format!("items[{n}].{f}");
        let line = match it {
            QuoteItem::Catalogue {
                kind,
                item,
                cycle,
                quantity: q,
                unit_price_minor,
            } => {
                let row = catalogue_row(tx, tenant, *kind, item).await?;
                if row.status == "retired" {
                    return Err(ServiceError::invalid(
                        &field("item"),
                        format!("{} {} is retired", kind.as_str(), row.code),
                    ));
                }
                let cycle = cycle
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .unwrap_or(&row.billing_cycle)
                    .to_owned();
                check_cycle(&field("cycle"), &cycle)?;
                let (price, source) = match unit_price_minor {
                    Some(p) => (*p, "manual".to_owned()),
                    None => match unit_price(tx, tenant, *kind, &row, &cycle, reseller).await? {
                        Some(x) => x,
                        None => {
                            return Err(ServiceError::invalid(
                                &field("cycle"),
                                format!("{} {} is not sold {cycle}", kind.as_str(), row.code),
                            ))
                        }
                    },
                };
                if row.currency != currency && unit_price_minor.is_none() && source == "catalogue" {
                    return Err(ServiceError::invalid(
                        &field("currency"),
                        format!("priced in {}, the tenant bills in {currency}", row.currency),
                    ));
                }
                let q = quantity(&field("quantity"), *q)?;
                let price = sane_price(&field("unit_price_minor"), price)?;
                Line {
                    kind: kind.as_str().into(),
                    item_kind: Some(*kind),
                    item_id: Some(row.id),
                    service_id: None,
                    code: row.code.clone(),
                    description: format!("{} ({})", row.name, cycle.replace('_', " ")),
                    billing_cycle: Some(cycle),
                    quantity: q,
                    unit_price_minor: price,
                    amount_minor: 0,
                    source,
                }
            }
            QuoteItem::Service {
                id,
                quantity: q,
                unit_price_minor,
            } => {
                let r: Option<(Uuid, String, String, i64, String, String)> = tx
                    .fetch_optional(
                        "SELECT p.id, p.code, COALESCE(s.domain, p.name), s.price_minor, s.currency, s.billing_cycle \
                         FROM services s JOIN plans p ON p.id = s.plan_id WHERE s.id = $1 AND s.tenant_id = $2",
                        args![*id, tenant],
                    )
                    .await?;
                let Some((plan, code, name, price, cur, cycle)) = r else {
                    return Err(ServiceError::not_found("service", id.to_string()));
                };
                if cur != currency {
                    return Err(ServiceError::invalid(
                        &field("currency"),
                        format!("priced in {cur}, the tenant bills in {currency}"),
                    ));
                }
                Line {
                    kind: "service".into(),
                    item_kind: Some(ItemKind::Plan),
                    item_id: Some(plan),
                    service_id: Some(*id),
                    code,
                    description: name,
                    billing_cycle: Some(cycle),
                    quantity: quantity(&field("quantity"), *q)?,
                    unit_price_minor: sane_price(&field("unit_price_minor"), unit_price_minor.unwrap_or(price))?,
                    amount_minor: 0,
                    source: if unit_price_minor.is_some() {
                        "manual"
                    } else {
                        "contract"
                    }
                    .into(),
                }
            }
            QuoteItem::Custom {
                description,
                quantity: q,
                unit_price_minor,
            } => Line {
                kind: "custom".into(),
                item_kind: None,
                item_id: None,
                service_id: None,
                code: String::new(),
                description: description.trim().to_owned(),
                billing_cycle: None,
                quantity: quantity(&field("quantity"), *q)?,
                unit_price_minor: sane_price(&field("unit_price_minor"), *unit_price_minor)?,
                amount_minor: 0,
                source: "manual".into(),
            },
        };
        lines.push(line);
    }
    let mut subtotal: i64 = 0;
    for l in &mut lines {
        l.amount_minor = l
            .quantity
            .checked_mul(l.unit_price_minor)
            .filter(|a| *a <= crate::billing::credits::MAX_AMOUNT)
            .ok_or_else(|| ServiceError::invalid("items", "the total is too large"))?;
        subtotal = subtotal
            .checked_add(l.amount_minor)
            .filter(|t| *t <= crate::billing::credits::MAX_AMOUNT)
            .ok_or_else(|| ServiceError::invalid("items", "the total is too large"))?;
    }
    let coupon = match req.coupon.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(coupons::check(tx, tenant, code, req.customer, &currency, &lines).await?),
        None => None,
    };
    let discount = coupon.as_ref().map_or(0, |c| c.discount_minor);
    Ok(Quote {
        tenant_id: tenant,
        currency,
        lines,
        subtotal_minor: subtotal,
        discount_minor: discount,
        total_minor: subtotal - discount,
        coupon,
    })
}
