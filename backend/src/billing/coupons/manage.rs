//! Coupons' catalogue: create, update, disable (`coupons:manage`, tenant admins), list and
//! show with their usage (`billing:read`). Each change is audited in its transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::normalise_code;
use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::billing::prices::manage::tenant_for;
use crate::billing::prices::{catalogue_row, ItemKind};
use crate::db::{now, Arg, Tx};
use crate::error::{FieldError, ServiceError};
use crate::{args, money, Db};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Coupon {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub code: String,
    pub description: String,
    pub kind: String,
    pub percent_bp: Option<i64>,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
    pub used_count: i64,
    /// active or disabled as stored.
    pub status: String,
    /// What a buyer meets now: active, disabled, scheduled, expired or exhausted.
    pub state: String,
    /// `plan:CODE` / `addon:CODE`; empty = everything.
    #[sqlx(skip)]
    pub items: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Coupon {
    /// "10.00%" or "25.00 BRL".
    pub fn value_text(&self) -> String {
        match (self.percent_bp, self.amount_minor) {
            (Some(bp), _) => format!("{}%", money::format(bp, "USD").trim_end_matches(" USD")),
            (None, Some(a)) => money::format(a, &self.currency),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Redemption {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub invoice_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub discount_minor: i64,
    pub currency: String,
    pub actor_name: String,
    pub created_at: DateTime<Utc>,
}

/// A new coupon or a change to one: `None` leaves a field as it is; for the nullable ones
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CouponInput {
    pub tenant: Option<Uuid>,
    pub code: Option<String>,
    pub description: Option<String>,
    /// percent or fixed.
    pub kind: Option<String>,
    /// "10" or "12.5" (percent) or "25.00" (an amount in the tenant's currency).
    pub value: Option<String>,
    pub valid_from: Option<Option<DateTime<Utc>>>,
    pub valid_until: Option<Option<DateTime<Utc>>>,
    pub max_uses: Option<Option<i64>>,
    pub max_uses_per_customer: Option<Option<i64>>,
    /// `plan:CODE` or `addon:CODE`; an empty list lifts the restriction.
    pub items: Option<Vec<String>>,
}

fn columns(at: usize) -> String {
    format!(
        "k.id, k.tenant_id, t.slug AS tenant_slug, k.code, k.description, k.kind, k.percent_bp, k.amount_minor, \
         k.currency, k.valid_from, k.valid_until, k.max_uses, k.max_uses_per_customer, k.used_count, k.status, \
         CASE WHEN k.status <> 'active' THEN 'disabled' \
              WHEN k.valid_until IS NOT NULL AND k.valid_until <= ${at} THEN 'expired' \
              WHEN k.max_uses IS NOT NULL AND k.used_count >= k.max_uses THEN 'exhausted' \
              WHEN k.valid_from IS NOT NULL AND k.valid_from > ${at} THEN 'scheduled' \
              ELSE 'active' END AS state, k.created_at, k.updated_at"
    )
}
const FROM: &str = "coupons k JOIN tenants t ON t.id = k.tenant_id";

async fn with_items(tx: &mut Tx, mut c: Coupon) -> Result<Coupon, ServiceError> {
    let rows: Vec<(String, String)> = tx
        .fetch_all(
            "SELECT ci.item_kind, COALESCE(p.code, a.code) FROM coupon_items ci LEFT JOIN plans p ON p.id = ci.plan_id \
             LEFT JOIN addons a ON a.id = ci.addon_id WHERE ci.coupon_id = $1 ORDER BY 1, 2",
            args![c.id],
        )
        .await?;
    c.items = rows.into_iter().map(|(k, code)| format!("{k}:{code}")).collect();
    Ok(c)
}

async fn get_tx(tx: &mut Tx, actor: &Actor, key: &str) -> Result<Coupon, ServiceError> {
    let key = key.trim();
    let mut conds = vec![];
    let mut a: Vec<Arg> = args![now()];
    match Uuid::parse_str(key) {
        Ok(id) => {
            a.push(id.into());
            conds.push(format!("k.id = ${}", a.len()));
        }
        Err(_) => {
            a.push(normalise_code(key).into());
            conds.push(format!("k.code = ${}", a.len()));
        }
    }
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("k.tenant_id = ${}", a.len()));
    }
    let rows: Vec<Coupon> = tx
        .fetch_all(
            &format!(
                "SELECT {} FROM {FROM} {} LIMIT 2",
                columns(1),
                crate::page::where_clause(&conds)
            ),
            a,
        )
        .await?;
    let mut rows = rows.into_iter();
    match (rows.next(), rows.next()) {
        (Some(one), None) => with_items(tx, one).await,
        (None, _) => Err(ServiceError::not_found("coupon", key)),
        (Some(_), Some(_)) => Err(ServiceError::invalid(
            "coupon",
            format!("{key} exists in several tenants: give the id"),
        )),
    }
}

/// Validated values, written by create and update alike.
struct Values {
    description: String,
    kind: String,
    percent_bp: Option<i64>,
    amount_minor: Option<i64>,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    max_uses: Option<i64>,
    max_uses_per_customer: Option<i64>,
}

fn validate(base: Values, input: &CouponInput, currency: &str, used: i64) -> Result<Values, ServiceError> {
    let mut errs: Vec<FieldError> = Vec::new();
    let mut fail = |field: &str, m: String| {
        errs.push(FieldError {
            field: field.into(),
            message: m,
        })
    };
    let description = input
        .description
        .as_deref()
        .map(|d| d.trim().to_owned())
        .unwrap_or(base.description);
    if description.chars().count() > 200 || description.chars().any(char::is_control) {
        fail("description", "at most 200 printable characters".into());
    }
    let kind = input
        .kind
        .as_deref()
        .map(|k| k.trim().to_lowercase())
        .unwrap_or(base.kind);
    let (mut percent_bp, mut amount_minor) = (base.percent_bp, base.amount_minor);
    if !matches!(kind.as_str(), "percent" | "fixed") {
        fail("kind", "must be percent or fixed".into());
    } else if let Some(v) = input.value.as_deref() {
        let v = v.trim().trim_end_matches('%');
        if kind == "percent" {
            match money::parse(v, "USD") {
                Ok(bp) if (1..=10_000).contains(&bp) => (percent_bp, amount_minor) = (Some(bp), None),
                _ => fail("value", "a percent from 0.01 to 100, like 10 or 12.5".into()),
            }
        } else {
            match money::parse(v, currency) {
                Ok(a) if a > 0 && a <= crate::billing::credits::MAX_AMOUNT => {
                    (percent_bp, amount_minor) = (None, Some(a))
                }
                Ok(_) => fail("value", "must be more than zero".into()),
                Err(m) => fail("value", m),
            }
        }
    } else if (kind == "percent") != percent_bp.is_some() {
        fail("value", format!("give the {kind} value"));
    }
    let valid_from = input.valid_from.unwrap_or(base.valid_from);
    let valid_until = input.valid_until.unwrap_or(base.valid_until);
    if let (Some(f), Some(u)) = (valid_from, valid_until) {
        if u <= f {
            fail("valid_until", "must be after valid_from".into());
        }
    }
    let max_uses = input.max_uses.unwrap_or(base.max_uses);
    if let Some(m) = max_uses {
        if m <= 0 || m > 100_000_000 {
            fail("max_uses", "must be 1 or more (or none for no limit)".into());
        } else if m < used {
            fail("max_uses", format!("is below the {used} uses already made"));
        }
    }
    let per = input.max_uses_per_customer.unwrap_or(base.max_uses_per_customer);
    if per.is_some_and(|m| m <= 0 || m > 100_000_000) {
        fail(
            "max_uses_per_customer",
            "must be 1 or more (or none for no limit)".into(),
        );
    }
    if !errs.is_empty() {
        return Err(ServiceError::Validation(errs));
    }
    Ok(Values {
        description,
        kind,
        percent_bp,
        amount_minor,
        valid_from,
        valid_until,
        max_uses,
        max_uses_per_customer: per,
    })
}

async fn write_items(tx: &mut Tx, tenant: Uuid, coupon: Uuid, items: &[String]) -> Result<(), ServiceError> {
    tx.execute("DELETE FROM coupon_items WHERE coupon_id = $1", args![coupon])
        .await?;
    let mut seen = std::collections::BTreeSet::new();
    for (n, it) in items.iter().enumerate() {
        let field = format!("items[{n}]");
        let Some((k, code)) = it.split_once(':') else {
            return Err(ServiceError::invalid(&field, "must be plan:CODE or addon:CODE"));
        };
        let Some(kind) = ItemKind::parse(k) else {
            return Err(ServiceError::invalid(&field, "must be plan:CODE or addon:CODE"));
        };
        let row = catalogue_row(tx, tenant, kind, code).await?;
        if !seen.insert((kind.as_str(), row.id)) {
            continue;
        }
        let (plan, addon) = match kind {
            ItemKind::Plan => (Some(row.id), None),
            ItemKind::Addon => (None, Some(row.id)),
        };
        tx.execute(
            "INSERT INTO coupon_items (id, tenant_id, coupon_id, item_kind, plan_id, addon_id) VALUES ($1, $2, $3, $4, $5, $6)",
            args![Uuid::now_v7(), tenant, coupon, kind.as_str(), plan, addon],
        )
        .await?;
    }
    Ok(())
}

fn check_code(code: &str) -> Result<String, ServiceError> {
    let c = normalise_code(code);
    if !(3..=32).contains(&c.len()) || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
        return Err(ServiceError::invalid(
            "code",
            "3 to 32 letters, digits, - or _ (stored upper-case)",
        ));
    }
    Ok(c)
}

pub async fn create(db: &Db, actor: &Actor, input: CouponInput) -> Result<Coupon, ServiceError> {
    require(actor, Permission::CouponsManage)?;
    let tenant = tenant_for(actor, input.tenant)?;
    let code = check_code(input.code.as_deref().unwrap_or(""))?;
    let mut tx = db.begin().await?;
    let currency: Option<(String,)> = tx
        .fetch_optional("SELECT currency FROM tenants WHERE id = $1", args![tenant])
        .await?;
    let Some((currency,)) = currency else {
        return Err(ServiceError::not_found("tenant", tenant.to_string()));
    };
    if input.kind.is_none() || input.value.is_none() {
        return Err(ServiceError::Validation(vec![
            FieldError {
                field: "kind".into(),
                message: "percent or fixed".into(),
            },
            FieldError {
                field: "value".into(),
                message: "how much off".into(),
            },
        ]));
    }
    let base = Values {
        description: String::new(),
        kind: String::new(),
        percent_bp: None,
        amount_minor: None,
        valid_from: None,
        valid_until: None,
        max_uses: None,
        max_uses_per_customer: None,
    };
    let v = validate(base, &input, &currency, 0)?;
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO coupons (id, tenant_id, code, description, kind, percent_bp, amount_minor, currency, valid_from, \
         valid_until, max_uses, max_uses_per_customer, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        args![
            id,
            tenant,
            code.as_str(),
            v.description.as_str(),
            v.kind.as_str(),
            v.percent_bp,
            v.amount_minor,
            currency.as_str(),
            v.valid_from,
            v.valid_until,
            v.max_uses,
            v.max_uses_per_customer,
            at
        ],
    )
    .await?;
    write_items(&mut tx, tenant, id, input.items.as_deref().unwrap_or(&[])).await?;
    let after = get_tx(&mut tx, actor, &id.to_string()).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "coupon.create",
            entity: "coupon",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: audit::snapshot(&after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn update(db: &Db, actor: &Actor, key: &str, input: CouponInput) -> Result<Coupon, ServiceError> {
    require(actor, Permission::CouponsManage)?;
    if input
        .code
        .as_deref()
        .is_some_and(|c| normalise_code(c) != normalise_code(key))
    {
        return Err(ServiceError::invalid("code", "a coupon's code does not change"));
    }
    let mut tx = db.begin().await?;
    let before = get_tx(&mut tx, actor, key).await?;
    let base = Values {
        description: before.description.clone(),
        kind: before.kind.clone(),
        percent_bp: before.percent_bp,
        amount_minor: before.amount_minor,
        valid_from: before.valid_from,
        valid_until: before.valid_until,
        max_uses: before.max_uses,
        max_uses_per_customer: before.max_uses_per_customer,
    };
    let v = validate(base, &input, &before.currency, before.used_count)?;
    tx.execute(
        "UPDATE coupons SET description = $1, kind = $2, percent_bp = $3, amount_minor = $4, valid_from = $5, \
         valid_until = $6, max_uses = $7, max_uses_per_customer = $8, updated_at = $9 WHERE id = $10",
        args![
            v.description.as_str(),
            v.kind.as_str(),
            v.percent_bp,
            v.amount_minor,
            v.valid_from,
            v.valid_until,
            v.max_uses,
            v.max_uses_per_customer,
            now(),
            before.id
        ],
    )
    .await?;
    if let Some(items) = &input.items {
        write_items(&mut tx, before.tenant_id, before.id, items).await?;
    }
    let after = get_tx(&mut tx, actor, &before.id.to_string()).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "coupon.update",
            entity: "coupon",
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

/// Disables a coupon for good: later checks refuse it; past redemptions stay.
pub async fn disable(db: &Db, actor: &Actor, key: &str) -> Result<Coupon, ServiceError> {
    require(actor, Permission::CouponsManage)?;
    let mut tx = db.begin().await?;
    let before = get_tx(&mut tx, actor, key).await?;
    if before.status == "disabled" {
        return Err(ServiceError::Conflict(format!(
            "coupon {} is already disabled",
            before.code
        )));
    }
    tx.execute(
        "UPDATE coupons SET status = 'disabled', updated_at = $1 WHERE id = $2",
        args![now(), before.id],
    )
    .await?;
    let after = get_tx(&mut tx, actor, &before.id.to_string()).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "coupon.disable",
            entity: "coupon",
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

/// Coupons in the actor's tenant (platform staff: all, or `tenant`), by code.
pub async fn list(db: &Db, actor: &Actor, tenant: Option<Uuid>) -> Result<Vec<Coupon>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = args![now()];
    for t in [actor.tenant_id, tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("k.tenant_id = ${}", a.len()));
    }
    let mut tx = db.begin().await?;
    let rows: Vec<Coupon> = tx
        .fetch_all(
            &format!(
                "SELECT {} FROM {FROM} {} ORDER BY t.slug, k.code LIMIT 1000",
                columns(1),
                crate::page::where_clause(&conds)
            ),
            a,
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(with_items(&mut tx, r).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// One coupon with its latest redemptions.
pub async fn show(db: &Db, actor: &Actor, key: &str) -> Result<(Coupon, Vec<Redemption>), ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut tx = db.begin().await?;
    let c = get_tx(&mut tx, actor, key).await?;
    let mut conds = vec!["r.coupon_id = $1".to_owned()];
    let mut a: Vec<Arg> = args![c.id];
    crate::reseller::restrict(
        actor,
        crate::reseller::Reach::Owned {
            reseller: None,
            customer: Some("r.customer_id"),
        },
        "coupon redemptions",
        &mut conds,
        &mut a,
    )?;
    let used: Vec<Redemption> = tx
        .fetch_all(
            &format!(
                "SELECT r.id, r.customer_id, c.name AS customer_name, r.invoice_id, r.service_id, r.discount_minor, \
                 r.currency, r.actor_name, r.created_at FROM coupon_redemptions r JOIN customers c ON c.id = r.customer_id \
                 {} ORDER BY r.created_at DESC LIMIT 50",
                crate::page::where_clause(&conds)
            ),
            a,
        )
        .await?;
    tx.commit().await?;
    Ok((c, used))
}
