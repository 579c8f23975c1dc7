//! `painel prices list|set|unset` and `painel coupons list|show|create|update|disable`
//! (docs/adr/0026). Amounts are typed like "49.90" in the tenant's currency.

use anyhow::Result;
use backend::billing::coupons::{self, Coupon, CouponInput, Redemption};
use backend::billing::prices::{self, ItemKind, PriceEntry, PriceFilter, SetPrice};
use backend::{money, Actor, Db, ServiceError};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use clap::Subcommand;
use uuid::Uuid;

use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum PricesCmd {
    /// Price lists: each plan's and add-on's catalogue price, the tenant's list and the
    /// reseller overrides in reach.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// plan or addon.
        #[arg(long)]
        kind: Option<String>,
        /// One plan or add-on code.
        #[arg(long)]
        item: Option<String>,
    },
    /// Set a price: the tenant's own (optionally with --floor), or --reseller's override.
    Set {
        /// plan or addon.
        kind: String,
        /// Plan or add-on code (or id).
        item: String,
        /// The price, like 49.90.
        price: String,
        /// one_time, monthly, quarterly, semiannual, annual, biennial, triennial (default:
        /// the item's own).
        #[arg(long)]
        cycle: Option<String>,
        /// Reseller username or id: an override for its subtree.
        #[arg(long)]
        reseller: Option<String>,
        /// The least a reseller override may charge (tenant prices only).
        #[arg(long, conflicts_with = "reseller")]
        floor: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Remove a price: the item falls back to the next level.
    Unset {
        kind: String,
        item: String,
        #[arg(long)]
        cycle: Option<String>,
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(clap::Args, Debug, Default)]
pub struct CouponArgs {
    #[arg(long)]
    pub description: Option<String>,
    /// percent or fixed.
    #[arg(long)]
    pub kind: Option<String>,
    /// 10 or 12.5 (percent) or 25.00 (an amount).
    #[arg(long)]
    pub value: Option<String>,
    /// A date (2026-12-01) or RFC 3339 time; "none" clears it.
    #[arg(long)]
    pub valid_from: Option<String>,
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Total uses; "none" = no limit.
    #[arg(long)]
    pub max_uses: Option<String>,
    /// Uses per customer; "none" = no limit.
    #[arg(long)]
    pub per_customer: Option<String>,
    /// Restrict to plan:CODE or addon:CODE (repeatable).
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Lift the restriction (update).
    #[arg(long, conflicts_with = "only")]
    pub everything: bool,
}

#[derive(Subcommand, Debug)]
pub enum CouponsCmd {
    /// Coupons with their usage and state (active, scheduled, expired, exhausted, disabled).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// One coupon and its latest redemptions.
    Show { code: String },
    /// Create a coupon.
    Create {
        code: String,
        #[command(flatten)]
        args: CouponArgs,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Change a coupon (its code stays).
    Update {
        code: String,
        #[command(flatten)]
        args: CouponArgs,
    },
    /// Disable a coupon for good.
    Disable { code: String },
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_default()
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct PriceRow(PriceEntry);

impl Record for PriceRow {
    fn columns() -> &'static [&'static str] {
        &[
            "kind", "item", "cycle", "level", "reseller", "price", "floor", "name", "id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let p = &self.0;
        vec![
            p.item_kind.clone(),
            p.item_code.clone(),
            p.billing_cycle.clone(),
            p.level.clone(),
            p.reseller.clone().unwrap_or_default(),
            money::format(p.price_minor, &p.currency),
            p.floor_minor.map(|f| money::format(f, &p.currency)).unwrap_or_default(),
            p.item_name.clone(),
            p.id.map(|i| i.to_string()).unwrap_or_default(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct CouponRow(Coupon);

impl Record for CouponRow {
    fn columns() -> &'static [&'static str] {
        &[
            "code",
            "state",
            "value",
            "used",
            "max",
            "per_customer",
            "valid_from",
            "valid_until",
            "only",
            "tenant",
            "id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let c = &self.0;
        let lim = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        vec![
            c.code.clone(),
            c.state.clone(),
            c.value_text(),
            c.used_count.to_string(),
            lim(c.max_uses),
            lim(c.max_uses_per_customer),
            opt_time(c.valid_from),
            opt_time(c.valid_until),
            c.items.join(" "),
            c.tenant_slug.clone(),
            c.id.to_string(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct RedemptionRow(Redemption);

impl Record for RedemptionRow {
    fn columns() -> &'static [&'static str] {
        &["at", "customer", "discount", "invoice_id", "service_id", "actor"]
    }
    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        vec![
            time(r.created_at),
            r.customer_name.clone(),
            money::format(r.discount_minor, &r.currency),
            r.invoice_id.map(|i| i.to_string()).unwrap_or_default(),
            r.service_id.map(|i| i.to_string()).unwrap_or_default(),
            r.actor_name.clone(),
        ]
    }
}

async fn tenant_id(db: &Db, actor: &Actor, key: Option<&str>) -> Result<Option<Uuid>, ServiceError> {
    match key {
        Some(k) => Ok(Some(backend::tenants::get(db, actor, k).await?.id)),
        None => Ok(None),
    }
}

fn kind(s: &str) -> Result<ItemKind, ServiceError> {
    ItemKind::parse(s).ok_or_else(|| ServiceError::invalid("kind", "must be plan or addon"))
}

/// The tenant's currency, for typed amounts: the named tenant's or the actor's.
async fn currency(db: &Db, actor: &Actor, tenant: Option<Uuid>) -> Result<String, ServiceError> {
    let t = tenant
        .or(actor.tenant_id)
        .ok_or_else(|| ServiceError::invalid("tenant", "say which tenant (--tenant)"))?;
    Ok(backend::tenants::get(db, actor, &t.to_string()).await?.currency)
}

fn amount(field: &str, raw: &str, currency: &str) -> Result<i64, ServiceError> {
    money::parse(raw, currency).map_err(|m| ServiceError::invalid(field, m))
}

/// "none" clears; a date means its midnight UTC.
fn when(field: &str, raw: Option<&str>) -> Result<Option<Option<DateTime<Utc>>>, ServiceError> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(None);
    };
    if raw.eq_ignore_ascii_case("none") || raw.is_empty() {
        return Ok(Some(None));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(Some(t.with_timezone(&Utc))));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(Some(d.and_utc())))
        .ok_or_else(|| ServiceError::invalid(field, "a date like 2026-12-31, an RFC 3339 time, or none"))
}

fn limit(field: &str, raw: Option<&str>) -> Result<Option<Option<i64>>, ServiceError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some(r) if r.eq_ignore_ascii_case("none") || r.is_empty() => Ok(Some(None)),
        Some(r) => r
            .parse::<i64>()
            .map(|n| Some(Some(n)))
            .map_err(|_| ServiceError::invalid(field, "a whole number, or none")),
    }
}

fn input(a: CouponArgs, tenant: Option<Uuid>, code: Option<String>) -> Result<CouponInput, ServiceError> {
    Ok(CouponInput {
        tenant,
        code,
        description: a.description,
        kind: a.kind,
        value: a.value,
        valid_from: when("valid_from", a.valid_from.as_deref())?,
        valid_until: when("valid_until", a.valid_until.as_deref())?,
        max_uses: limit("max_uses", a.max_uses.as_deref())?,
        max_uses_per_customer: limit("max_uses_per_customer", a.per_customer.as_deref())?,
        items: if a.everything {
            Some(Vec::new())
        } else if a.only.is_empty() {
            None
        } else {
            Some(a.only)
        },
    })
}

pub async fn prices_cmd(db: &Db, actor: &Actor, cmd: PricesCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        PricesCmd::List { tenant, kind: k, item } => {
            let f = PriceFilter {
                tenant: tenant_id(db, actor, tenant.as_deref()).await?,
                kind: k.as_deref().map(kind).transpose()?,
                item,
            };
            let rows = prices::list(db, actor, f).await?;
            out.list(&rows.into_iter().map(PriceRow).collect::<Vec<_>>())?;
            out.finish()
        }
        PricesCmd::Set {
            kind: k,
            item,
            price,
            cycle,
            reseller,
            floor,
            tenant,
        } => {
            let tenant = tenant_id(db, actor, tenant.as_deref()).await?;
            let cur = currency(db, actor, tenant).await?;
            let input = SetPrice {
                tenant,
                kind: kind(&k)?,
                item,
                cycle,
                reseller,
                price_minor: amount("price", &price, &cur)?,
                floor_minor: floor.as_deref().map(|f| amount("floor", f, &cur)).transpose()?,
            };
            out.one(&PriceRow(prices::set(db, actor, input).await?))
        }
        PricesCmd::Unset {
            kind: k,
            item,
            cycle,
            reseller,
            tenant,
        } => {
            let tenant = tenant_id(db, actor, tenant.as_deref()).await?;
            let gone = prices::unset(
                db,
                actor,
                tenant,
                kind(&k)?,
                &item,
                cycle.as_deref(),
                reseller.as_deref(),
            )
            .await?;
            out.one(&PriceRow(gone))
        }
    }
}

pub async fn coupons_cmd(db: &Db, actor: &Actor, cmd: CouponsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        CouponsCmd::List { tenant } => {
            let t = tenant_id(db, actor, tenant.as_deref()).await?;
            let rows = coupons::list(db, actor, t).await?;
            out.list(&rows.into_iter().map(CouponRow).collect::<Vec<_>>())?;
            out.finish()
        }
        CouponsCmd::Show { code } => {
            let (c, used) = coupons::show(db, actor, &code).await?;
            out.one(&CouponRow(c))?;
            if !out.format.is_json() {
                out.list(&used.into_iter().map(RedemptionRow).collect::<Vec<_>>())?;
            }
            Ok(())
        }
        CouponsCmd::Create { code, args, tenant } => {
            let t = tenant_id(db, actor, tenant.as_deref()).await?;
            let c = coupons::create(db, actor, input(args, t, Some(code))?).await?;
            out.one(&CouponRow(c))
        }
        CouponsCmd::Update { code, args } => {
            let c = coupons::update(db, actor, &code, input(args, None, None)?).await?;
            out.one(&CouponRow(c))
        }
        CouponsCmd::Disable { code } => out.one(&CouponRow(coupons::disable(db, actor, &code).await?)),
    }
}
