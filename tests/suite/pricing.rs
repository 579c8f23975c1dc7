//! Issue 12's prices, coupons and prorated plan changes (docs/adr/0026), on the engine under
//! test: price lists per plan/add-on and cycle, reseller overrides (nearest wins, never below
//! the tenant's floor), coupons with windows and limits — exactly the limit redeemed under
//! concurrent redemption — and upgrades/downgrades charging or crediting the prorated
//! difference through the real plan-change job.

use backend::billing::coupons::{self, CouponInput};
use backend::billing::invoices::{self, NewInvoice, NewItem};
use backend::billing::prices::{self, prorate, ItemKind, QuoteItem, QuoteRequest, SetPrice};
use backend::billing::settle::{settle, Settlement};
use backend::customers::{self, NewCustomer};
use backend::hosting::services::{self, NewService};
use backend::identity::accounts::{self, NewUser};
use backend::{args, Actor, Db, Role, ServiceError};
use chrono::{Duration, Utc};
use sandbox::{FaultKind, FaultSpec};
use serde_json::json;
use uuid::Uuid;

use crate::common::operator;
use crate::lifecycle::{world, World};

async fn user(db: &Db, name: &str, role: Role, tenant: Uuid, parent: Option<Uuid>) -> Uuid {
    accounts::create_user(
        db,
        &operator(),
        NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            role: Some(role),
            tenant_id: Some(tenant),
            parent_id: parent,
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm(name),
    )
    .await
    .unwrap()
    .id
}

fn as_user(id: Uuid, role: Role, tenant: Uuid) -> Actor {
    let mut a = Actor::tenant_user("pricing-under-test", role, tenant);
    a.user_id = Some(id);
    a
}

async fn customer(db: &Db, name: &str, reseller: &str) -> Uuid {
    customers::create(
        db,
        &operator(),
        NewCustomer {
            tenant: "host-br".into(),
            name: name.into(),
            email: format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
            reseller: reseller.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id
}

fn plan(code: &str, cycle: Option<&str>) -> QuoteItem {
    QuoteItem::Catalogue {
        kind: ItemKind::Plan,
        item: code.into(),
        cycle: cycle.map(str::to_owned),
        quantity: 1,
        unit_price_minor: None,
    }
}

async fn quote_for(
    w: &World,
    customer: Uuid,
    item: QuoteItem,
    coupon: Option<&str>,
) -> Result<prices::Quote, ServiceError> {
    let mut tx = w.t.db.begin().await.unwrap();
    let q = prices::quote(
        &mut tx,
        w.tenant,
        &QuoteRequest {
            customer: Some(customer),
            reseller: None,
            items: vec![item],
            coupon: coupon.map(str::to_owned),
        },
    )
    .await;
    tx.rollback().await.unwrap();
    q
}

fn set(item: &str, cycle: Option<&str>, reseller: Option<&str>, price: i64, floor: Option<i64>) -> SetPrice {
    SetPrice {
        tenant: None,
        kind: ItemKind::Plan,
        item: item.into(),
        cycle: cycle.map(str::to_owned),
        reseller: reseller.map(str::to_owned),
        price_minor: price,
        floor_minor: floor,
    }
}

fn field(e: &Result<impl std::fmt::Debug, ServiceError>) -> String {
    match e {
        Err(ServiceError::Validation(f)) => f.first().map(|f| f.field.clone()).unwrap_or_default(),
        other => format!("not a validation error: {other:?}"),
    }
}

#[tokio::test]
async fn price_lists_reseller_overrides_and_the_floor() {
    let w = world(&[]).await;
    let db = &w.t.db;
    let admin = Actor::tenant_user("host-admin", Role::TenantAdmin, w.tenant);
    let partner = user(db, "hb-partner", Role::Partner, w.tenant, None).await;
    let master = user(db, "hb-master", Role::Master, w.tenant, Some(partner)).await;
    let seller = user(db, "hb-seller", Role::Reseller, w.tenant, Some(master)).await;
    let other = user(db, "hb-other", Role::Reseller, w.tenant, Some(partner)).await;
    let buyer = customer(db, "Rita Lopes", "hb-seller").await;

    // The catalogue price on the plan's own cycle; no price on another cycle.
    let q = quote_for(&w, buyer, plan("start", None), None).await.unwrap();
    assert_eq!((q.total_minor, q.lines[0].source.as_str()), (2990, "catalogue"));
    let annual = quote_for(&w, buyer, plan("start", Some("annual")), None).await;
    assert_eq!(field(&annual), "items[0].cycle");

    // The tenant's list: a monthly price with a floor, an annual price.
    prices::set(db, &admin, set("start", None, None, 3490, Some(2500)))
        .await
        .unwrap();
    prices::set(db, &admin, set("start", Some("annual"), None, 34_900, None))
        .await
        .unwrap();
    let q = quote_for(&w, buyer, plan("start", None), None).await.unwrap();
    assert_eq!((q.total_minor, q.lines[0].source.as_str()), (3490, "tenant"));
    let q = quote_for(&w, buyer, plan("start", Some("annual")), None).await.unwrap();
    assert_eq!(q.total_minor, 34_900);
    // A floor above the price is refused, field named.
    let bad = prices::set(db, &admin, set("start", None, None, 1000, Some(2000))).await;
    assert_eq!(field(&bad), "floor");

    // Overrides: the partner's for its subtree, the master's nearer one wins.
    let as_partner = as_user(partner, Role::Partner, w.tenant);
    let as_master = as_user(master, Role::Master, w.tenant);
    prices::set(db, &as_partner, set("start", None, Some("hb-partner"), 3200, None))
        .await
        .unwrap();
    let q = quote_for(&w, buyer, plan("start", None), None).await.unwrap();
    assert_eq!(
        (q.total_minor, q.lines[0].source.as_str()),
        (3200, "reseller:hb-partner")
    );
    prices::set(db, &as_master, set("start", None, Some("hb-master"), 3000, None))
        .await
        .unwrap();
    let q = quote_for(&w, buyer, plan("start", None), None).await.unwrap();
    assert_eq!(
        (q.total_minor, q.lines[0].source.as_str()),
        (3000, "reseller:hb-master")
    );
    // Never below the floor; a floor only on the tenant's row.
    let low = prices::set(db, &as_master, set("start", None, Some("hb-master"), 2000, None)).await;
    assert_eq!(field(&low), "price");
    let floor_on_override = prices::set(db, &admin, set("start", None, Some("hb-master"), 3000, Some(1))).await;
    assert_eq!(field(&floor_on_override), "floor");
    // A reseller sets no tenant price and reaches only its own subtree.
    let r = prices::set(db, &as_master, set("start", None, None, 1, None)).await;
    assert!(matches!(r, Err(ServiceError::PermissionDenied(_))), "{r:?}");
    let r = prices::set(db, &as_master, set("start", None, Some("hb-other"), 3300, None)).await;
    assert!(matches!(r, Err(ServiceError::NotFound { .. })), "{r:?}");
    let seller_actor = as_user(seller, Role::Reseller, w.tenant);
    let r = prices::set(db, &seller_actor, set("start", None, Some("hb-master"), 3300, None)).await;
    assert!(matches!(r, Err(ServiceError::NotFound { .. })), "{r:?}");
    let _ = other;
    // Staff reach every tenant, but an override is for a reseller of the priced tenant.
    let elsewhere = backend::tenants::create(db, &operator(), crate::common::new_tenant("Outra", "outra.example"))
        .await
        .unwrap()
        .id;
    user(db, "outra-partner", Role::Partner, elsewhere, None).await;
    let r = prices::set(
        db,
        &operator(),
        SetPrice {
            tenant: Some(w.tenant),
            ..set("start", None, Some("outra-partner"), 3300, None)
        },
    )
    .await;
    assert!(matches!(r, Err(ServiceError::NotFound { .. })), "{r:?}");

    // A floor raised later still holds: the override is raised to it when quoted.
    prices::set(db, &admin, set("start", None, None, 3490, Some(3100)))
        .await
        .unwrap();
    let q = quote_for(&w, buyer, plan("start", None), None).await.unwrap();
    assert_eq!((q.total_minor, q.lines[0].source.as_str()), (3100, "floor"));
    // Unset: back to the partner's.
    prices::unset(db, &as_master, None, ItemKind::Plan, "start", None, Some("hb-master"))
        .await
        .unwrap();
    let q = quote_for(&w, buyer, plan("start", None), None).await.unwrap();
    assert_eq!(q.total_minor, 3200);

    // Every caller prices through the quote: an invoice for a plan bills the override.
    let inv = invoices::create(
        db,
        &operator(),
        NewInvoice {
            tenant: Some(w.tenant),
            customer: Some(buyer),
            issue: true,
            items: vec![NewItem {
                plan: Some("start".into()),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(inv.total_minor, 3200);

    // The lists: a reseller sees its own subtree's overrides only; everyone the catalogue.
    let mine = prices::list(db, &as_master, Default::default()).await.unwrap();
    assert!(mine.iter().all(|p| p.level != "reseller"), "{mine:?}");
    let all = prices::list(db, &admin, Default::default()).await.unwrap();
    let levels: Vec<(&str, &str, &str)> = all
        .iter()
        .filter(|p| p.item_code == "start")
        .map(|p| {
            (
                p.billing_cycle.as_str(),
                p.level.as_str(),
                p.reseller.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            ("annual", "tenant", ""),
            ("monthly", "catalogue", ""),
            ("monthly", "tenant", ""),
            ("monthly", "reseller", "hb-partner"),
        ]
    );
    let audited: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('price.set', 'price.unset')",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 6);
}

fn coupon(code: &str, kind: &str, value: &str) -> CouponInput {
    CouponInput {
        code: Some(code.into()),
        kind: Some(kind.into()),
        value: Some(value.into()),
        ..Default::default()
    }
}

async fn bill(
    db: &Db,
    actor: &Actor,
    tenant: Uuid,
    customer: Uuid,
    plan: &str,
    code: Option<&str>,
) -> Result<invoices::Invoice, ServiceError> {
    invoices::create(
        db,
        actor,
        NewInvoice {
            tenant: Some(tenant),
            customer: Some(customer),
            reason: Some("order".into()),
            issue: true,
            items: vec![NewItem {
                plan: Some(plan.into()),
                ..Default::default()
            }],
            coupon: code.map(str::to_owned),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn coupons_windows_limits_and_restrictions() {
    let w = world(&[]).await;
    let db = &w.t.db;
    let admin = Actor::tenant_user("host-admin", Role::TenantAdmin, w.tenant);
    let c = w.customer;

    // Validation names its fields.
    let bad = coupons::create(
        db,
        &admin,
        CouponInput {
            max_uses: Some(Some(0)),
            valid_from: Some(Some(Utc::now())),
            valid_until: Some(Some(Utc::now() - Duration::days(1))),
            ..coupon("x", "percent", "150")
        },
    )
    .await;
    let fields: Vec<String> = match bad {
        Err(ServiceError::Validation(f)) => f.into_iter().map(|f| f.field).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fields, ["code"]);
    let bad = coupons::create(
        db,
        &admin,
        CouponInput {
            max_uses: Some(Some(0)),
            valid_from: Some(Some(Utc::now())),
            valid_until: Some(Some(Utc::now() - Duration::days(1))),
            ..coupon("BAD1", "percent", "150")
        },
    )
    .await;
    let fields: Vec<String> = match bad {
        Err(ServiceError::Validation(f)) => f.into_iter().map(|f| f.field).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(fields, ["value", "valid_until", "max_uses"]);
    // Resellers do not make coupons.
    let partner = user(db, "hb-partner", Role::Partner, w.tenant, None).await;
    let r = coupons::create(
        db,
        &as_user(partner, Role::Partner, w.tenant),
        coupon("PARTNER", "percent", "5"),
    )
    .await;
    assert!(matches!(r, Err(ServiceError::PermissionDenied(_))), "{r:?}");

    // 12.5% off `start` only, once per customer.
    let k = coupons::create(
        db,
        &admin,
        CouponInput {
            items: Some(vec!["plan:start".into()]),
            max_uses_per_customer: Some(Some(1)),
            ..coupon("start125", "percent", "12.5")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (k.code.as_str(), k.percent_bp, k.state.as_str()),
        ("START125", Some(1250), "active")
    );
    let q = quote_for(&w, c, plan("plus", None), Some("START125")).await;
    assert_eq!(field(&q), "coupon");
    let inv = bill(db, &operator(), w.tenant, c, "start", Some("start125"))
        .await
        .unwrap();
    // 2990 − floor(2990 × 12.5%) = 2990 − 373.
    assert_eq!(inv.total_minor, 2990 - 373);
    let (_, items) = invoices::show(db, &operator(), &inv.id.to_string()).await.unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| (i.description.as_str(), i.amount_minor))
            .collect::<Vec<_>>(),
        [("Plan start (monthly)", 2990), ("Coupon START125", -373)]
    );
    let again = bill(db, &operator(), w.tenant, c, "start", Some("START125")).await;
    assert_eq!(field(&again), "coupon");

    // A fixed amount never takes more than the sale; windows are kept.
    coupons::create(db, &admin, coupon("BIG", "fixed", "100.00"))
        .await
        .unwrap();
    let inv = bill(db, &operator(), w.tenant, c, "plus", Some("BIG")).await.unwrap();
    assert_eq!(inv.total_minor, 0);
    coupons::create(
        db,
        &admin,
        CouponInput {
            valid_until: Some(Some(Utc::now() - Duration::hours(1))),
            valid_from: Some(Some(Utc::now() - Duration::days(9))),
            ..coupon("OLD", "fixed", "5")
        },
    )
    .await
    .unwrap();
    coupons::create(
        db,
        &admin,
        CouponInput {
            valid_from: Some(Some(Utc::now() + Duration::days(1))),
            ..coupon("SOON", "fixed", "5")
        },
    )
    .await
    .unwrap();
    for code in ["OLD", "SOON", "NOPE"] {
        let r = bill(db, &operator(), w.tenant, c, "plus", Some(code)).await;
        assert_eq!(field(&r), "coupon", "{code}");
    }
    let listed = coupons::list(db, &admin, None).await.unwrap();
    let states: Vec<(&str, &str)> = listed.iter().map(|k| (k.code.as_str(), k.state.as_str())).collect();
    assert_eq!(
        states,
        [
            ("BIG", "active"),
            ("OLD", "expired"),
            ("SOON", "scheduled"),
            ("START125", "active")
        ]
    );

    // Updates keep the usage honest; disabling ends it.
    let big = coupons::update(
        db,
        &admin,
        "big",
        CouponInput {
            max_uses: Some(Some(1)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((big.used_count, big.state.as_str()), (1, "exhausted"));
    let r = bill(db, &operator(), w.tenant, c, "plus", Some("BIG")).await;
    assert_eq!(field(&r), "coupon");
    coupons::disable(db, &admin, "START125").await.unwrap();
    let other = customer(db, "Leo Dias", "").await;
    let r = bill(db, &operator(), w.tenant, other, "start", Some("START125")).await;
    assert_eq!(field(&r), "coupon");
    let (shown, used) = coupons::show(db, &admin, "start125").await.unwrap();
    assert_eq!((shown.state.as_str(), used.len()), ("disabled", 1));
    assert_eq!(used[0].discount_minor, 373);

    let audited: Vec<(String,)> = db
        .fetch_all(
            "SELECT action FROM audit_log WHERE entity = 'coupon' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    let audited: Vec<&str> = audited.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        audited,
        [
            "coupon.create",
            "coupon.redeem",
            "coupon.create",
            "coupon.redeem",
            "coupon.create",
            "coupon.create",
            "coupon.update",
            "coupon.disable"
        ]
    );
    // Redemptions are history: the application cannot rewrite them.
    assert!(db
        .execute("UPDATE coupon_redemptions SET discount_minor = 0", args![])
        .await
        .is_err());
    assert!(db.execute("DELETE FROM coupon_redemptions", args![]).await.is_err());
}

#[tokio::test]
async fn concurrent_redemptions_never_exceed_the_limits() {
    let w = world(&[]).await;
    let db = &w.t.db;
    let admin = Actor::tenant_user("host-admin", Role::TenantAdmin, w.tenant);
    coupons::create(
        db,
        &admin,
        CouponInput {
            max_uses: Some(Some(5)),
            ..coupon("FIVE", "percent", "10")
        },
    )
    .await
    .unwrap();
    coupons::create(
        db,
        &admin,
        CouponInput {
            max_uses_per_customer: Some(Some(1)),
            ..coupon("ONCE", "percent", "10")
        },
    )
    .await
    .unwrap();
    let mut buyers = Vec::new();
    for n in 0..12 {
        buyers.push(customer(db, &format!("Buyer {n}"), "").await);
    }
    // 24 invoices race for 5 uses of FIVE (12 customers, twice each).
    let mut tasks = Vec::new();
    for n in 0..24 {
        let db = db.clone();
        let (tenant, who) = (w.tenant, buyers[n % 12]);
        tasks.push(tokio::spawn(async move {
            bill(&db, &operator(), tenant, who, "start", Some("FIVE")).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(ServiceError::Conflict(_) | ServiceError::Validation(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 5);
    // 10 invoices of one customer race for ONCE.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let db = db.clone();
        let (tenant, who) = (w.tenant, buyers[0]);
        tasks.push(tokio::spawn(async move {
            bill(&db, &operator(), tenant, who, "start", Some("ONCE")).await
        }));
    }
    let mut once = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => once += 1,
            Err(ServiceError::Conflict(_) | ServiceError::Validation(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(once, 1);
    let rows: Vec<(String, i64, i64)> = db
        .fetch_all(
            "SELECT k.code, k.used_count, (SELECT COUNT(*) FROM coupon_redemptions r WHERE r.coupon_id = k.id) \
             FROM coupons k ORDER BY k.code",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(rows, [("FIVE".to_owned(), 5, 5), ("ONCE".to_owned(), 1, 1)]);
    // Every successful redemption is on an invoice with its discount line.
    let discounted: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM invoice_items WHERE description LIKE 'Coupon %' AND amount_minor = -299",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(discounted, 6);
}

async fn scalar_i64(w: &World, sql: &str, id: Uuid) -> i64 {
    w.t.db.scalar(sql, args![id]).await.unwrap()
}

/// A plan change that WHM refuses for good gives the money back in the transaction that
/// marks the service `error`: the unpaid invoice is cancelled, a paid one becomes credit, and
/// a downgrade's credit is taken back.
#[tokio::test]
async fn a_failed_plan_change_gives_the_money_back() {
    let w = world(&[("whm-gru-01", "gru", 10)]).await;
    let db = &w.t.db;
    let admin = Actor::tenant_user("host-admin", Role::TenantAdmin, w.tenant);
    prices::set(db, &admin, set("plus", None, None, 5990, None))
        .await
        .unwrap();
    w.drain().await;
    let s = w.order("recusa.com.br", "start").await.unwrap();
    w.drain().await;
    let id = s.id.to_string();
    let due = Utc::now() + Duration::days(10);
    w.t.owner
        .execute("UPDATE services SET next_due_at = $1 WHERE id = $2", args![due, s.id])
        .await
        .unwrap();
    let refuse = || {
        w.sb.set_fault(
            "whm-gru-01",
            "changepackage",
            FaultSpec::always(FaultKind::Envelope {
                reason: "You cannot change to that package.".into(),
            }),
        )
        .unwrap();
    };
    let reactivate = || async {
        w.sb.clear_faults();
        w.t.owner
            .execute("UPDATE services SET status = 'active' WHERE id = $1", args![s.id])
            .await
            .unwrap();
    };
    let balance =
        "SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) FROM customer_balances WHERE customer_id = $1";

    // Unpaid upgrade, refused: the invoice is cancelled.
    refuse();
    let up = services::change_plan(db, &operator(), &id, "plus").await.unwrap();
    let inv = up.proration.invoice.clone().expect("an invoice for the upgrade");
    w.drain().await;
    let after = w.service(s.id).await;
    let jobs: Vec<(String, String, Option<String>)> = db
        .fetch_all(
            "SELECT kind, status, last_error FROM jobs WHERE kind = 'hosting.change_plan'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(
        (after.status.as_str(), after.plan_code.as_str()),
        ("error", "start"),
        "{jobs:?}"
    );
    let status: String = db
        .scalar("SELECT status FROM invoices WHERE id = $1", args![inv.id])
        .await
        .unwrap();
    assert_eq!(status, "cancelled");
    let cancels: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'invoice.cancel' AND entity_id = $1",
            args![inv.id.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(cancels, 1);
    assert_eq!(scalar_i64(&w, balance, w.customer).await, 0);

    // Paid upgrade, refused after the payment: the money becomes the customer's credit.
    reactivate().await;
    refuse();
    let up = services::change_plan(db, &operator(), &id, "plus").await.unwrap();
    let inv = up.proration.invoice.clone().expect("an invoice for the upgrade");
    let mut tx = db.begin().await.unwrap();
    settle(
        &mut tx,
        &operator(),
        &Settlement {
            invoice_id: inv.id,
            provider: "manual".into(),
            external_id: "plan-change-paid".into(),
            amount_minor: inv.total_minor,
            currency: inv.currency.clone(),
            method: None,
            provider_data: json!({}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    w.drain().await;
    assert_eq!(w.service(s.id).await.status, "error");
    let status: String = db
        .scalar("SELECT status FROM invoices WHERE id = $1", args![inv.id])
        .await
        .unwrap();
    assert_eq!(status, "paid", "a paid invoice keeps its history");
    assert_eq!(scalar_i64(&w, balance, w.customer).await, inv.total_minor);

    // A downgrade's credit, refused: taken back (the earlier credit stays).
    reactivate().await;
    services::change_plan(db, &operator(), &id, "plus").await.unwrap();
    w.drain().await;
    assert_eq!(w.service(s.id).await.plan_code, "plus");
    let before = scalar_i64(&w, balance, w.customer).await;
    refuse();
    let down = services::change_plan(db, &operator(), &id, "start").await.unwrap();
    assert!(down.proration.amount_minor < 0);
    assert_eq!(
        scalar_i64(&w, balance, w.customer).await,
        before - down.proration.amount_minor
    );
    w.drain().await;
    assert_eq!(w.service(s.id).await.status, "error");
    assert_eq!(scalar_i64(&w, balance, w.customer).await, before);
    let undone: String = db
        .scalar(
            "SELECT CAST(after AS TEXT) FROM audit_log WHERE action = 'service.error' AND entity_id = $1 ORDER BY seq DESC LIMIT 1",
            args![id.as_str()],
        )
        .await
        .unwrap();
    assert!(undone.contains("credit_taken_back_minor"), "{undone}");
}

#[tokio::test]
async fn plan_changes_charge_or_credit_the_prorated_difference() {
    let w = world(&[("whm-gru-01", "gru", 10)]).await;
    let _worker = w.start_worker("pricing");
    let db = &w.t.db;
    let admin = Actor::tenant_user("host-admin", Role::TenantAdmin, w.tenant);
    prices::set(db, &admin, set("plus", None, None, 5990, None))
        .await
        .unwrap();
    w.drain().await; // the plans' packages
    let s = w.order("joanasilva.com.br", "start").await.unwrap();
    w.drain().await;
    let id = s.id.to_string();
    // Ten days left of a monthly period.
    let due = Utc::now() + Duration::days(10);
    w.t.owner
        .execute("UPDATE services SET next_due_at = $1 WHERE id = $2", args![due, s.id])
        .await
        .unwrap();

    let up = services::change_plan(db, &operator(), &id, "plus").await.unwrap();
    let p = &up.proration;
    assert_eq!((p.old_price_minor, p.new_price_minor), (2990, 5990));
    assert_eq!(p.amount_minor, prorate::remaining(3000, p.elapsed_s, p.period_s));
    // About a third of the month is left.
    assert!((900..=1100).contains(&p.amount_minor), "{p:?}");
    let inv = p.invoice.clone().expect("an invoice for the upgrade");
    assert_eq!((inv.total_minor, inv.status.as_str()), (p.amount_minor, "pending"));
    assert_eq!(up.job.payload["price_minor"], 5990);
    w.drain().await;
    let after = w.service(s.id).await;
    assert_eq!((after.plan_code.as_str(), after.price_minor), ("plus", 5990));

    // Back down: the difference for what is left is credited, not billed.
    let down = services::change_plan(db, &operator(), &id, "start").await.unwrap();
    let d = &down.proration;
    assert!(d.invoice.is_none());
    assert_eq!(d.amount_minor, prorate::remaining(-3000, d.elapsed_s, d.period_s));
    assert!(d.amount_minor < 0);
    assert_eq!(d.balance_after_minor, Some(-d.amount_minor));
    w.drain().await;
    assert_eq!(w.service(s.id).await.price_minor, 2990);

    // The next invoice for the customer uses the balance up.
    let renewal = invoices::create(
        db,
        &operator(),
        NewInvoice {
            tenant: Some(w.tenant),
            customer: Some(w.customer),
            reason: Some("renewal".into()),
            issue: true,
            items: vec![NewItem {
                service: Some(s.id),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(renewal.total_minor, 2990 + d.amount_minor);
    let left: i64 = db
        .scalar(
            "SELECT balance_minor FROM customer_balances WHERE customer_id = $1",
            args![w.customer],
        )
        .await
        .unwrap();
    assert_eq!(left, 0);
    let audited: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('balance.credit', 'balance.apply')",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 2);
    // An order with a coupon is billed at once, at the customer's price less the discount,
    // and the coupon redeemed with it.
    coupons::create(db, &admin, coupon("WELCOME", "fixed", "10.00"))
        .await
        .unwrap();
    let o = services::create(
        db,
        &operator(),
        NewService {
            customer: w.customer.to_string(),
            plan: "plus".into(),
            domain: "lojadajoana.com.br".into(),
            region: "gru".into(),
            coupon: Some("welcome".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!(o.service.price_minor, 5990);
    let oi = o.invoice.expect("an order invoice");
    assert_eq!(
        (oi.total_minor, oi.reason.as_str(), oi.status.as_str()),
        (4990, "order", "pending")
    );
    let used: i64 = db
        .scalar("SELECT used_count FROM coupons WHERE code = 'WELCOME'", args![])
        .await
        .unwrap();
    assert_eq!(used, 1);
    w.drain().await;
    // Without a running period (not billed yet, or past due) nothing is prorated.
    w.t.owner
        .execute("UPDATE services SET next_due_at = NULL WHERE id = $1", args![s.id])
        .await
        .unwrap();
    let none = services::change_plan(db, &operator(), &id, "plus").await.unwrap();
    assert_eq!(
        (none.proration.amount_minor, none.proration.invoice.is_none()),
        (0, true)
    );
}

/// The binary with its own home, as the local operator (no accounts in this database).
fn run_as(t: &crate::common::TestDb, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url, "--data-dir"])
        .arg(home.join("data"))
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("PAINEL_SESSION_STORE", "file")
        .env_remove("PAINEL_DATABASE_URL")
        .env_remove("PAINEL_MASTER_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn prices_and_coupons_verbs() {
    use crate::cli::{stderr, stdout};
    let w = world(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| run_as(&w.t, home.path(), args);
    let ok = |o: &std::process::Output| assert_eq!(o.status.code(), Some(0), "{}", stderr(o));

    ok(&run(&[
        "prices", "set", "plan", "start", "34.90", "--floor", "25.00", "--tenant", "host-br",
    ]));
    let o = run(&["-o", "json", "prices", "list", "--tenant", "host-br", "--item", "start"]);
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows: Vec<(String, i64, Option<i64>)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["level"].as_str().unwrap().to_owned(),
                p["price_minor"].as_i64().unwrap(),
                p["floor_minor"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("catalogue".to_owned(), 2990, None),
            ("tenant".to_owned(), 3490, Some(2500))
        ]
    );
    let o = run(&["-o", "csv", "prices", "list", "--tenant", "host-br"]);
    ok(&o);
    let csv = stdout(&o);
    assert!(csv.starts_with("kind,item,cycle,level,reseller,price,floor"), "{csv}");
    assert!(csv.contains("34.90 BRL"), "{csv}");
    // A field error names the field and fails.
    let o = run(&["prices", "set", "plan", "start", "abc", "--tenant", "host-br"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("price"), "{}", stderr(&o));

    ok(&run(&[
        "coupons",
        "create",
        "verao",
        "--kind",
        "percent",
        "--value",
        "15",
        "--max-uses",
        "3",
        "--only",
        "plan:start",
        "--tenant",
        "host-br",
    ]));
    let o = run(&["-o", "json", "coupons", "list"]);
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["code"], "VERAO");
    assert_eq!(
        (v[0]["percent_bp"].as_i64(), v[0]["max_uses"].as_i64()),
        (Some(1500), Some(3))
    );
    assert_eq!(v[0]["items"], serde_json::json!(["plan:start"]));
    let o = run(&[
        "coupons", "create", "x", "--kind", "percent", "--value", "5", "--tenant", "host-br",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("code"), "{}", stderr(&o));

    let customer = w.customer.to_string();
    let o = run(&[
        "-o",
        "json",
        "invoices",
        "create",
        "--tenant",
        "host-br",
        "--customer",
        &customer,
        "--plan",
        "start",
        "--coupon",
        "VERAO",
        "--issue",
    ]);
    ok(&o);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // 3490 − floor(3490 × 15%) = 3490 − 523.
    assert_eq!(v["total_minor"].as_i64(), Some(2967));
    ok(&run(&[
        "coupons",
        "update",
        "VERAO",
        "--max-uses",
        "none",
        "--valid-until",
        "2099-01-01",
    ]));
    ok(&run(&["coupons", "disable", "verao"]));
    let o = run(&["-o", "csv", "coupons", "show", "VERAO"]);
    ok(&o);
    assert!(stdout(&o).contains("disabled"), "{}", stdout(&o));
    ok(&run(&["prices", "unset", "plan", "start", "--tenant", "host-br"]));
    let audited: i64 =
        w.t.db
            .scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action IN ('price.set', 'price.unset', 'coupon.create', \
             'coupon.update', 'coupon.disable', 'coupon.redeem')",
                args![],
            )
            .await
            .unwrap();
    assert_eq!(audited, 6);
}
