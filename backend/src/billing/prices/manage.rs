//! Editing and reading the price lists: the tenant's rows (`prices:manage`, tenant admins)
//! and reseller overrides (`prices:override` for a reseller within its own subtree,
//! `prices:manage` for any reseller of the tenant). Each change is audited in its transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{catalogue_row, check_cycle, ItemKind};
use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::authz::{allows, require, Permission};
use crate::billing::credits::ops::resolve as resolve_reseller;
use crate::db::{now, Arg, Tx};
use crate::error::ServiceError;
use crate::page::where_clause;
use crate::{args, reseller, Db};

/// One row of a price list as screens and verbs show it: the catalogue's own price
/// (`level` catalogue, no id), the tenant's list price or a reseller's override.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PriceEntry {
    pub id: Option<Uuid>,
    pub tenant_id: Uuid,
    pub level: String,
    pub item_kind: String,
    pub item_id: Uuid,
    pub item_code: String,
    pub item_name: String,
    pub billing_cycle: String,
    pub reseller_id: Option<Uuid>,
    pub reseller: Option<String>,
    pub price_minor: i64,
    pub floor_minor: Option<i64>,
    pub currency: String,
    pub updated_at: DateTime<Utc>,
    pub tenant_slug: String,
}

#[derive(Debug, Clone, Default)]
pub struct PriceFilter {
    pub tenant: Option<Uuid>,
    pub kind: Option<ItemKind>,
    /// A plan or add-on code.
    pub item: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SetPrice {
    /// Platform staff name the tenant; tenant users act in their own.
    pub tenant: Option<Uuid>,
    pub kind: ItemKind,
    /// Code or id of the plan or add-on.
    pub item: String,
    /// Default: the item's own cycle.
    pub cycle: Option<String>,
    /// A reseller (username or id) for an override; none = the tenant's own price.
    pub reseller: Option<String>,
    pub price_minor: i64,
    /// The least any reseller override may charge (tenant rows only).
    pub floor_minor: Option<i64>,
}

pub(crate) fn tenant_for(actor: &Actor, given: Option<Uuid>) -> Result<Uuid, ServiceError> {
    match (actor.tenant_id, given) {
        (Some(t), None) => Ok(t),
        (Some(t), Some(x)) if t == x => Ok(t),
        (None, Some(x)) => Ok(x),
        (Some(_), Some(x)) => Err(ServiceError::not_found("tenant", x.to_string())),
        (None, None) => Err(ServiceError::invalid("tenant", "say which tenant")),
    }
}

/// Who may change which row: the tenant's own rows need `prices:manage`; an override needs
/// `prices:manage`, or `prices:override` for a reseller in the actor's own subtree.
async fn target(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    reseller_key: Option<&str>,
) -> Result<Option<(Uuid, String)>, ServiceError> {
    match reseller_key.map(str::trim).filter(|k| !k.is_empty()) {
        None => {
            require(actor, Permission::PricesManage)?;
            Ok(None)
        }
        Some(key) => {
            if !allows(actor, Permission::PricesManage) {
                require(actor, Permission::PricesOverride)?;
                if actor.reseller_root().is_none() {
                    return Err(ServiceError::PermissionDenied(format!(
                        "{} may set overrides only as a reseller",
                        actor.name
                    )));
                }
            }
            let u = resolve_reseller(tx, actor, key).await?;
            // Platform staff reach every tenant: the reseller must be the priced tenant's.
            if u.tenant_id != tenant {
                return Err(ServiceError::not_found("reseller", key));
            }
            Ok(Some((u.id, u.username)))
        }
    }
}

struct Resolved {
    tenant: Uuid,
    currency: String,
    row: super::CatalogueRow,
    cycle: String,
    reseller: Option<(Uuid, String)>,
    existing: Option<PriceEntry>,
}

async fn resolve(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Option<Uuid>,
    kind: ItemKind,
    item: &str,
    cycle: Option<&str>,
    reseller_key: Option<&str>,
) -> Result<Resolved, ServiceError> {
    let tenant = tenant_for(actor, tenant)?;
    let reseller = target(tx, actor, tenant, reseller_key).await?;
    let currency: Option<(String,)> = tx
        .fetch_optional("SELECT currency FROM tenants WHERE id = $1", args![tenant])
        .await?;
    let Some((currency,)) = currency else {
        return Err(ServiceError::not_found("tenant", tenant.to_string()));
    };
    if item.trim().is_empty() {
        return Err(ServiceError::invalid("item", "name the plan or add-on (code or id)"));
    }
    let row = catalogue_row(tx, tenant, kind, item).await?;
    let cycle = cycle
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(&row.billing_cycle)
        .to_owned();
    check_cycle("cycle", &cycle)?;
    let mut conds = vec![
        "p.tenant_id = $1".to_owned(),
        "p.item_kind = $2".to_owned(),
        "COALESCE(p.plan_id, p.addon_id) = $3".to_owned(),
        "p.billing_cycle = $4".to_owned(),
    ];
    let mut a: Vec<Arg> = args![tenant, kind.as_str(), row.id, cycle.as_str()];
    match &reseller {
        Some((id, _)) => {
            a.push((*id).into());
            conds.push(format!("p.reseller_id = ${}", a.len()));
        }
        None => conds.push("p.reseller_id IS NULL".into()),
    }
    let existing: Option<PriceEntry> = tx
        .fetch_optional(&format!("{} {}", select(), where_clause(&conds)), a)
        .await?;
    Ok(Resolved {
        tenant,
        currency,
        row,
        cycle,
        reseller,
        existing,
    })
}

fn select() -> String {
    "SELECT p.id, p.tenant_id, CASE WHEN p.reseller_id IS NULL THEN 'tenant' ELSE 'reseller' END AS level, \
     p.item_kind, COALESCE(p.plan_id, p.addon_id) AS item_id, COALESCE(pl.code, ad.code) AS item_code, \
     COALESCE(pl.name, ad.name) AS item_name, p.billing_cycle, p.reseller_id, u.username AS reseller, \
     p.price_minor, p.floor_minor, p.currency, p.updated_at, tp.slug AS tenant_slug FROM prices p \
     JOIN tenants tp ON tp.id = p.tenant_id LEFT JOIN plans pl ON pl.id = p.plan_id \
     LEFT JOIN addons ad ON ad.id = p.addon_id LEFT JOIN users u ON u.id = p.reseller_id"
        .to_owned()
}

/// Sets a price: the tenant's own (with an optional floor) or a reseller's override (at or
/// above the tenant's floor for that item and cycle).
pub async fn set(db: &Db, actor: &Actor, input: SetPrice) -> Result<PriceEntry, ServiceError> {
    if !(0..=crate::billing::credits::MAX_AMOUNT).contains(&input.price_minor) {
        return Err(ServiceError::invalid("price", "must be 0 or more (and sane)"));
    }
    if let Some(f) = input.floor_minor {
        if !(0..=crate::billing::credits::MAX_AMOUNT).contains(&f) {
            return Err(ServiceError::invalid("floor", "must be 0 or more (and sane)"));
        }
    }
    let mut tx = db.begin().await?;
    let r = resolve(
        &mut tx,
        actor,
        input.tenant,
        input.kind,
        &input.item,
        input.cycle.as_deref(),
        input.reseller.as_deref(),
    )
    .await?;
    if r.reseller.is_some() {
        if input.floor_minor.is_some() {
            return Err(ServiceError::invalid(
                "floor",
                "only the tenant's own price carries a floor",
            ));
        }
        let floor: Option<(Option<i64>,)> = tx
            .fetch_optional(
                "SELECT floor_minor FROM prices WHERE tenant_id = $1 AND reseller_id IS NULL AND item_kind = $2 \
                 AND COALESCE(plan_id, addon_id) = $3 AND billing_cycle = $4",
                args![r.tenant, input.kind.as_str(), r.row.id, r.cycle.as_str()],
            )
            .await?;
        if let Some(f) = floor.and_then(|f| f.0).filter(|f| input.price_minor < *f) {
            return Err(ServiceError::invalid(
                "price",
                format!(
                    "is below the tenant's floor of {}",
                    crate::money::format(f, &r.currency)
                ),
            ));
        }
    } else if let Some(f) = input.floor_minor.filter(|f| *f > input.price_minor) {
        return Err(ServiceError::invalid(
            "floor",
            format!(
                "must not exceed the price ({} > {})",
                crate::money::format(f, &r.currency),
                crate::money::format(input.price_minor, &r.currency)
            ),
        ));
    }
    let at = now();
    let id = match &r.existing {
        Some(e) => {
            let id = e.id.unwrap_or_default();
            tx.execute(
                "UPDATE prices SET price_minor = $1, floor_minor = $2, updated_at = $3 WHERE id = $4",
                args![input.price_minor, input.floor_minor, at, id],
            )
            .await?;
            id
        }
        None => {
            let id = Uuid::now_v7();
            let (plan, addon) = match input.kind {
                ItemKind::Plan => (Some(r.row.id), None),
                ItemKind::Addon => (None, Some(r.row.id)),
            };
            tx.execute(
                "INSERT INTO prices (id, tenant_id, reseller_id, item_kind, plan_id, addon_id, billing_cycle, price_minor, \
                 floor_minor, currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                args![
                    id,
                    r.tenant,
                    r.reseller.as_ref().map(|x| x.0),
                    input.kind.as_str(),
                    plan,
                    addon,
                    r.cycle.as_str(),
                    input.price_minor,
                    input.floor_minor,
                    r.currency.as_str(),
                    at
                ],
            )
            .await?;
            id
        }
    };
    let after: PriceEntry = tx
        .fetch_one(&format!("{} WHERE p.id = $1", select()), args![id])
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "price.set",
            entity: "price",
            entity_id: Some(id.to_string()),
            tenant_id: Some(r.tenant),
            before: r.existing.as_ref().and_then(audit::snapshot),
            after: audit::snapshot(&after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Removes a price row: the item falls back to the next level (an ancestor's override, the
/// tenant's price, the catalogue).
pub async fn unset(
    db: &Db,
    actor: &Actor,
    tenant: Option<Uuid>,
    kind: ItemKind,
    item: &str,
    cycle: Option<&str>,
    reseller_key: Option<&str>,
) -> Result<PriceEntry, ServiceError> {
    let mut tx = db.begin().await?;
    let r = resolve(&mut tx, actor, tenant, kind, item, cycle, reseller_key).await?;
    let Some(before) = r.existing else {
        return Err(ServiceError::not_found(
            "price",
            format!("{} {} {}", kind.as_str(), r.row.code, r.cycle),
        ));
    };
    let id = before.id.unwrap_or_default();
    tx.execute("DELETE FROM prices WHERE id = $1", args![id]).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "price.unset",
            entity: "price",
            entity_id: Some(id.to_string()),
            tenant_id: Some(r.tenant),
            before: audit::snapshot(&before),
            after: Some(json!(null)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(before)
}

/// The price lists in reach: every plan's and add-on's catalogue price, the tenant's rows
/// and the overrides (a reseller sees its own subtree's), ordered by item, cycle, level.
pub async fn list(db: &Db, actor: &Actor, f: PriceFilter) -> Result<Vec<PriceEntry>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut a: Vec<Arg> = Vec::new();
    let mut tenant_conds: Vec<String> = Vec::new();
    for t in [actor.tenant_id, f.tenant].into_iter().flatten() {
        a.push(t.into());
        tenant_conds.push(format!("x.tenant_id = ${}", a.len()));
    }
    if let Some(code) = f.item.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        a.push(code.into());
        tenant_conds.push(format!("x.item_code = ${}", a.len()));
    }
    if let Some(k) = f.kind {
        a.push(k.as_str().into());
        tenant_conds.push(format!("x.item_kind = ${}", a.len()));
    }
    let mut own = Vec::new();
    reseller::restrict(
        actor,
        reseller::Reach::Owned {
            reseller: Some("x.reseller_id"),
            customer: None,
        },
        "prices",
        &mut own,
        &mut a,
    )?;
    let overrides = if own.is_empty() {
        "1 = 1".to_owned()
    } else {
        own.join(" AND ")
    };
    let sql = format!(
        "SELECT * FROM ( \
         SELECT CAST(NULL AS uuid) AS id, pc.tenant_id, 'catalogue' AS level, 'plan' AS item_kind, pc.id AS item_id, \
         pc.code AS item_code, pc.name AS item_name, pc.billing_cycle, CAST(NULL AS uuid) AS reseller_id, \
         CAST(NULL AS text) AS reseller, pc.price_minor, CAST(NULL AS bigint) AS floor_minor, \
         pc.currency, pc.updated_at, tc.slug AS tenant_slug FROM plans pc JOIN tenants tc ON tc.id = pc.tenant_id \
         UNION ALL SELECT NULL, ac.tenant_id, 'catalogue', 'addon', ac.id, ac.code, ac.name, ac.billing_cycle, NULL, NULL, \
         ac.price_minor, NULL, ac.currency, ac.updated_at, ta.slug FROM addons ac JOIN tenants ta ON ta.id = ac.tenant_id \
         UNION ALL {} ) x {} AND (x.level <> 'reseller' OR ({overrides})) \
         ORDER BY x.item_kind DESC, x.item_code, x.billing_cycle, \
         CASE x.level WHEN 'catalogue' THEN 0 WHEN 'tenant' THEN 1 ELSE 2 END, x.reseller LIMIT 2000",
        select(),
        if tenant_conds.is_empty() {
            "WHERE 1 = 1".to_owned()
        } else {
            where_clause(&tenant_conds)
        },
    );
    db.fetch_all(&sql, a).await
}

/// A plan or add-on for a picker: `plan:CODE` / `addon:CODE`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Sellable {
    pub key: String,
    pub name: String,
    pub detail: String,
}

/// The plans and add-ons of the actor's tenant (or `tenant`) whose code or name holds `term`.
pub async fn sellables(
    db: &Db,
    actor: &Actor,
    tenant: Option<Uuid>,
    term: &str,
) -> Result<Vec<Sellable>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut a: Vec<Arg> = args![crate::validate::like_contains(&term.trim().to_lowercase())];
    let mut conds = vec!["(lower(x.code) LIKE $1 ESCAPE '\\' OR lower(x.name) LIKE $1 ESCAPE '\\')".to_owned()];
    for t in [actor.tenant_id, tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("x.tenant_id = ${}", a.len()));
    }
    db.fetch_all(
        &format!(
            "SELECT x.kind || ':' || x.code AS key, x.name, x.billing_cycle || ' · ' || x.status AS detail FROM ( \
             SELECT 'plan' AS kind, tenant_id, code, name, billing_cycle, status FROM plans \
             UNION ALL SELECT 'addon', tenant_id, code, name, billing_cycle, status FROM addons) x {} \
             AND x.status <> 'retired' ORDER BY x.kind DESC, x.code LIMIT 8",
            where_clause(&conds)
        ),
        a,
    )
    .await
}

/// Reseller accounts the actor may set overrides for (its own subtree; tenant admins: all),
/// whose username holds `term`.
pub async fn override_targets(db: &Db, actor: &Actor, term: &str) -> Result<Vec<Sellable>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut a: Vec<Arg> = args![crate::validate::like_contains(&term.trim().to_lowercase())];
    let mut conds = vec![
        "u.username LIKE $1 ESCAPE '\\'".to_owned(),
        "u.role IN ('partner', 'ultra', 'master', 'reseller')".to_owned(),
    ];
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("u.tenant_id = ${}", a.len()));
    }
    reseller::restrict(
        actor,
        reseller::Reach::Owned {
            reseller: Some("u.id"),
            customer: None,
        },
        "resellers",
        &mut conds,
        &mut a,
    )?;
    db.fetch_all(
        &format!(
            "SELECT u.username AS key, u.username AS name, u.role || ' · ' || t.slug AS detail FROM users u \
             JOIN tenants t ON t.id = u.tenant_id {} ORDER BY u.username LIMIT 8",
            where_clause(&conds)
        ),
        a,
    )
    .await
}
