//! The demo's price lists and coupons (docs/adr/0026), written through the service layer
//! after the rest is committed: in the first brand with a reseller tree, a list price with a
//! floor and an annual price for its first plans, a partner's override under the floor's
//! watch, and three coupons — one active, one used up by two orders, one expired.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::billing::coupons::{self, CouponInput};
use crate::billing::invoices::{self, NewInvoice, NewItem};
use crate::billing::prices::{self, ItemKind, SetPrice};
use crate::db::Db;
use crate::error::ServiceError;

pub async fn prices_and_coupons(db: &Db, actor: &Actor) -> Result<(), ServiceError> {
    // A brand with a partner at the top of a reseller tree, plans, and customers.
    let found: Option<(Uuid, String)> = db
        .fetch_optional(
            "SELECT t.id, u.username FROM tenants t JOIN users u ON u.tenant_id = t.id \
             WHERE u.role = 'partner' AND u.parent_id IS NULL \
             AND EXISTS (SELECT 1 FROM plans p WHERE p.tenant_id = t.id AND p.status = 'active') \
             ORDER BY t.created_at, t.id, u.username LIMIT 1",
            args![],
        )
        .await?;
    let Some((tenant, partner)) = found else {
        return Ok(());
    };
    let plans: Vec<(String, i64, String)> = db
        .fetch_all(
            "SELECT code, price_minor, billing_cycle FROM plans WHERE tenant_id = $1 AND status = 'active' \
             AND billing_cycle <> 'one_time' ORDER BY sort_order, code LIMIT 2",
            args![tenant],
        )
        .await?;
    let set = |item: &str, cycle: Option<&str>, reseller: Option<&str>, price: i64, floor: Option<i64>| SetPrice {
        tenant: Some(tenant),
        kind: ItemKind::Plan,
        item: item.to_owned(),
        cycle: cycle.map(str::to_owned),
        reseller: reseller.map(str::to_owned),
        price_minor: price,
        floor_minor: floor,
    };
    for (code, price, _) in &plans {
        // The list price a little above the catalogue's, with a floor for the resellers.
        prices::set(
            db,
            actor,
            set(code, None, None, price + price / 10, Some(price * 8 / 10)),
        )
        .await?;
    }
    if let Some((code, price, cycle)) = plans.first() {
        if cycle != "annual" {
            prices::set(db, actor, set(code, Some("annual"), None, price * 10, None)).await?;
        }
        prices::set(db, actor, set(code, None, Some(&partner), price * 95 / 100, None)).await?;
    }
    let at = |s: &str| s.parse::<DateTime<Utc>>().ok();
    let input = |code: &str, kind: &str, value: &str| CouponInput {
        tenant: Some(tenant),
        code: Some(code.into()),
        kind: Some(kind.into()),
        value: Some(value.into()),
        ..Default::default()
    };
    coupons::create(
        db,
        actor,
        CouponInput {
            description: Some("10% off the first month, once per customer".into()),
            max_uses_per_customer: Some(Some(1)),
            items: plans.first().map(|p| vec![format!("plan:{}", p.0)]),
            ..input("BEMVINDO10", "percent", "10")
        },
    )
    .await?;
    coupons::create(
        db,
        actor,
        CouponInput {
            description: Some("Launch: 5.00 off, the first two orders".into()),
            max_uses: Some(Some(2)),
            ..input("LANCAMENTO", "fixed", "5.00")
        },
    )
    .await?;
    coupons::create(
        db,
        actor,
        CouponInput {
            description: Some("Black Friday 2025".into()),
            valid_from: Some(at("2025-11-28T00:00:00Z")),
            valid_until: Some(at("2025-12-02T00:00:00Z")),
            ..input("BLACKFRIDAY25", "percent", "25")
        },
    )
    .await?;
    // Two orders use LANCAMENTO up.
    let buyers: Vec<(Uuid,)> = db
        .fetch_all(
            "SELECT id FROM customers WHERE tenant_id = $1 AND status = 'active' ORDER BY created_at, id LIMIT 2",
            args![tenant],
        )
        .await?;
    if let Some((code, _, _)) = plans.first() {
        for (customer,) in buyers {
            invoices::create(
                db,
                actor,
                NewInvoice {
                    tenant: Some(tenant),
                    customer: Some(customer),
                    reason: Some("order".into()),
                    issue: true,
                    items: vec![NewItem {
                        plan: Some(code.clone()),
                        ..Default::default()
                    }],
                    coupon: Some("LANCAMENTO".into()),
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    Ok(())
}
