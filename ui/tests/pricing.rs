//! billing/prices and billing/coupons at 80×24: the price lists with a reseller override
//! under the tenant's price, the edit form pre-filled; the coupons with their usage and
//! state (one exhausted, one expired), and the new-coupon form showing a field error.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use backend::billing::coupons::{self, CouponInput};
use backend::billing::invoices::{self, NewInvoice, NewItem};
use backend::billing::prices::{self, ItemKind, SetPrice};
use backend::hosting::addons::{self, AddonInput};
use backend::hosting::plans::{self, PlanInput};
use backend::identity::accounts::{self, NewUser};
use backend::{args, Role};
use chrono::{DateTime, Utc};
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::billing::coupons::CouponsScreen;
use painel_ui::screens::billing::prices::PricesScreen;

async fn world() -> (backend::Db, tempfile::TempDir, String, uuid::Uuid) {
    let (db, dir) = db_with(1).await;
    let (tenant, slug): (uuid::Uuid, String) = db
        .fetch_optional("SELECT id, slug FROM tenants", args![])
        .await
        .expect("read")
        .expect("tenant");
    for (code, price) in [("basic-1", "29.90"), ("pro-1", "59.90")] {
        plans::create(
            &db,
            &actor(),
            PlanInput {
                tenant: slug.clone(),
                code: code.into(),
                name: format!("Hospedagem {code}"),
                price: price.into(),
                currency: "BRL".into(),
                billing_cycle: "monthly".into(),
                package: format!("pk_{code}"),
                region: "gru".into(),
                resources: serde_json::json!({ "disk_gb": 10 }),
            },
        )
        .await
        .expect("plan");
    }
    addons::create(
        &db,
        &actor(),
        AddonInput {
            tenant: slug.clone(),
            code: "ssl".into(),
            name: "Certificado SSL".into(),
            kind: "ssl".into(),
            price: "9.90".into(),
            currency: "BRL".into(),
            billing_cycle: "annual".into(),
            status: "active".into(),
        },
    )
    .await
    .expect("addon");
    accounts::create_user(
        &db,
        &actor(),
        NewUser {
            username: "ana.parceira".into(),
            email: "ana@example.com".into(),
            role: Some(Role::Partner),
            tenant_id: Some(tenant),
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm("ana.parceira"),
    )
    .await
    .expect("partner");
    (db, dir, slug, tenant)
}

fn price(tenant: uuid::Uuid, item: &str, reseller: Option<&str>, minor: i64, floor: Option<i64>) -> SetPrice {
    SetPrice {
        tenant: Some(tenant),
        kind: ItemKind::Plan,
        item: item.into(),
        cycle: None,
        reseller: reseller.map(str::to_owned),
        price_minor: minor,
        floor_minor: floor,
    }
}

#[tokio::test]
async fn prices_screen_shows_tenant_prices_and_overrides() {
    let (db, _dir, _slug, tenant) = world().await;
    prices::set(&db, &actor(), price(tenant, "basic-1", None, 3490, Some(2500)))
        .await
        .expect("tenant price");
    prices::set(
        &db,
        &actor(),
        price(tenant, "basic-1", Some("ana.parceira"), 3190, None),
    )
    .await
    .expect("override");
    prices::set(
        &db,
        &actor(),
        SetPrice {
            cycle: Some("annual".into()),
            ..price(tenant, "pro-1", None, 59_900, None)
        },
    )
    .await
    .expect("annual");

    let mut app = app_on(&db, actor(), "billing/prices").await;
    let screen = app.screen_as::<PricesScreen>().expect("prices screen");
    assert_eq!(screen.rows().len(), 6);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("└ ana.parceira") && text.contains("31.90 BRL"), "{text}");
    assert!(text.contains("1 reseller overrides"), "{text}");
    assert_snapshot!("prices_80x24", stable(&text));
    // The floor gives way to the tenant at 80 columns; wider, it is there.
    let wide = screen_text(&render(&mut app, 120, 40));
    assert!(wide.contains("25.00 BRL") && wide.contains("FLOOR"), "{wide}");

    // `e` on the override: the form pre-filled with its item, cycle and reseller.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    ch(&mut app, 'e');
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Set a price") && text.contains("plan:basic-1"), "{text}");
    assert!(text.contains("ana.parceira") && text.contains("31.90"), "{text}");
    assert_snapshot!("prices_edit_override_80x24", stable(&text));
}

/// Staff see every tenant's price list: the same plan code in two tenants is two rows that
/// only the tenant column tells apart — it must stay at 80 columns.
#[tokio::test]
async fn prices_of_two_tenants_name_the_tenant_at_80_columns() {
    let (db, _dir) = db_with(2).await;
    let slugs: Vec<(String,)> = db
        .fetch_all("SELECT slug FROM tenants ORDER BY slug", args![])
        .await
        .expect("slugs");
    for ((slug,), price) in slugs.iter().zip(["361.00", "362.00"]) {
        plans::create(
            &db,
            &actor(),
            PlanInput {
                tenant: slug.clone(),
                code: "anual-2".into(),
                name: "Anual 2 telas".into(),
                price: price.into(),
                currency: "BRL".into(),
                billing_cycle: "annual".into(),
                package: "pk_anual".into(),
                region: "gru".into(),
                resources: serde_json::json!({}),
            },
        )
        .await
        .expect("plan");
    }
    let mut app = app_on(&db, actor(), "billing/prices").await;
    for (w, h) in [(80, 24), (120, 40)] {
        let text = screen_text(&render(&mut app, w, h));
        assert!(text.contains("TENANT"), "{w}x{h}:\n{text}");
        for ((slug,), price) in slugs.iter().zip(["361.00", "362.00"]) {
            let short: String = slug.chars().take(10).collect();
            assert!(
                text.lines()
                    .any(|l| l.contains("plan:anual-2") && l.contains(&short) && l.contains(price)),
                "{w}x{h}: the row of {slug} names it:\n{text}"
            );
        }
        assert_snapshot!(format!("prices_two_tenants_{w}x{h}"), stable(&text));
    }
}

#[tokio::test]
async fn coupons_screen_shows_usage_and_state() {
    let (db, _dir, slug, tenant) = world().await;
    let t = |s: &str| Some(Some(s.parse::<DateTime<Utc>>().unwrap()));
    let input = |code: &str, kind: &str, value: &str| CouponInput {
        tenant: Some(tenant),
        code: Some(code.into()),
        kind: Some(kind.into()),
        value: Some(value.into()),
        ..Default::default()
    };
    coupons::create(
        &db,
        &actor(),
        CouponInput {
            items: Some(vec!["plan:basic-1".into(), "addon:ssl".into()]),
            max_uses_per_customer: Some(Some(1)),
            valid_until: t("2099-12-31T00:00:00Z"),
            ..input("BEMVINDO10", "percent", "10")
        },
    )
    .await
    .expect("active");
    coupons::create(
        &db,
        &actor(),
        CouponInput {
            max_uses: Some(Some(1)),
            ..input("PRIMEIRO", "fixed", "15.00")
        },
    )
    .await
    .expect("one use");
    coupons::create(
        &db,
        &actor(),
        CouponInput {
            valid_from: t("2020-11-27T00:00:00Z"),
            valid_until: t("2020-12-01T00:00:00Z"),
            ..input("BLACKFRIDAY20", "percent", "20")
        },
    )
    .await
    .expect("expired");
    let customer = backend::customers::create(
        &db,
        &actor(),
        backend::customers::NewCustomer {
            tenant: slug.clone(),
            name: "Carla Nunes".into(),
            email: "carla@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .expect("customer")
    .id;
    invoices::create(
        &db,
        &actor(),
        NewInvoice {
            tenant: Some(tenant),
            customer: Some(customer),
            issue: true,
            items: vec![NewItem {
                plan: Some("basic-1".into()),
                ..Default::default()
            }],
            coupon: Some("primeiro".into()),
            ..Default::default()
        },
    )
    .await
    .expect("redeemed");

    let mut app = app_on(&db, actor(), "billing/coupons").await;
    let screen = app.screen_as::<CouponsScreen>().expect("coupons screen");
    assert_eq!(screen.rows().len(), 3);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("exhausted") && text.contains("1/1"), "{text}");
    assert!(text.contains("expired") && text.contains("10.00%"), "{text}");
    assert_snapshot!("coupons_80x24", stable(&text));

    // A new coupon without a value: the field errors land next to the fields.
    ch(&mut app, 'c');
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "NATAL");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("New coupon"), "{text}");
    assert!(text.contains("say which tenant"), "{text}");
    assert_snapshot!("coupons_new_form_error_80x24", stable(&text));
}
