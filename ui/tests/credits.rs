//! billing/credits at 80×24: reseller balances (the low one highlighted) and the ledger of
//! the selected reseller, which follows the selection.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use backend::billing::credits::{self, Spend, Transfer};
use backend::billing::invoices::{self, NewInvoice, NewItem};
use backend::identity::accounts::{self, NewUser};
use backend::{args, Role};
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::billing::credits::CreditsScreen;

async fn user(db: &backend::Db, name: &str, role: Role, tenant: uuid::Uuid, parent: Option<uuid::Uuid>) -> uuid::Uuid {
    accounts::create_user(
        db,
        &actor(),
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
    .expect("user")
    .id
}

#[tokio::test]
async fn credits_screen_shows_balances_and_the_selected_ledger() {
    let (db, _dir) = db_with(1).await;
    let tenant: uuid::Uuid = db.scalar("SELECT id FROM tenants", args![]).await.expect("tenant");
    let master = user(&db, "ana.master", Role::Master, tenant, None).await;
    let reseller = user(&db, "bia.revenda", Role::Reseller, tenant, Some(master)).await;
    let inv = invoices::create(
        &db,
        &actor(),
        NewInvoice {
            user: Some(master),
            tenant: Some(tenant),
            reason: Some("credits".into()),
            issue: true,
            items: vec![NewItem {
                description: Some("Créditos".into()),
                unit_price_minor: Some(50_000),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .expect("invoice");
    db.execute(
        "UPDATE invoices SET status = 'paid', paid_at = $1 WHERE id = $2",
        args![backend::db::now(), inv.id],
    )
    .await
    .expect("paid");
    credits::buy(&db, &actor(), inv.id).await.expect("buy");
    credits::transfer(
        &db,
        &actor(),
        Transfer {
            from: Some("ana.master".into()),
            to: "bia.revenda".into(),
            amount: 12_000,
            ..Default::default()
        },
    )
    .await
    .expect("transfer");
    credits::set_alert(&db, &actor(), "bia.revenda", Some(5_000))
        .await
        .expect("alert");
    credits::spend(
        &db,
        &actor(),
        Spend {
            reseller: Some(reseller.to_string()),
            amount: 8_000,
            description: "Linha IPTV mensal".into(),
            ..Default::default()
        },
    )
    .await
    .expect("spend");

    let mut app = app_on(&db, actor(), "billing/credits").await;
    let screen = app.screen_as::<CreditsScreen>().expect("credits screen");
    assert_eq!(screen.balances().len(), 2);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("ana.master") && text.contains("380.00 BRL"), "{text}");
    assert!(text.contains("Ledger of ana.master"), "{text}");
    assert_snapshot!("credits_80x24", stable(&text));

    press(&mut app, KeyCode::Down);
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Ledger of bia.revenda"), "{text}");
    assert!(text.contains("-80.00 BRL") && text.contains("40.00 BRL"), "{text}");
    assert_snapshot!("credits_80x24_reseller", stable(&text));
}

/// billing/renewals at 80×24: a service due in 5 days, its renewal invoice issued by the run
/// and reminded; the selected row's dunning timeline below (the e-mails wait: no SMTP here).
#[tokio::test]
async fn renewals_screen_shows_what_is_due_and_its_dunning_timeline() {
    use backend::billing::dunning::run;
    use painel_ui::screens::billing::renewals::RenewalsScreen;

    let (db, _dir) = db_with(1).await;
    let tenant: uuid::Uuid = db.scalar("SELECT id FROM tenants", args![]).await.expect("tenant");
    let slug: String = db.scalar("SELECT slug FROM tenants", args![]).await.expect("slug");
    let customer = backend::customers::create(
        &db,
        &actor(),
        backend::customers::NewCustomer {
            tenant: slug.clone(),
            name: "Joana Silva".into(),
            email: "joana@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .expect("customer")
    .id;
    let plan = uuid::Uuid::now_v7();
    db.execute(
        "INSERT INTO plans (id, tenant_id, code, name, kind, price_minor, currency, billing_cycle) \
         VALUES ($1, $2, 'start', 'Start', 'hosting', 2990, 'BRL', 'monthly')",
        args![plan, tenant],
    )
    .await
    .expect("plan");
    let now = backend::db::now();
    let service = uuid::Uuid::now_v7();
    db.execute(
        "INSERT INTO services (id, tenant_id, customer_id, plan_id, status, domain, price_minor, currency, \
         billing_cycle, next_due_at) VALUES ($1, $2, $3, $4, 'active', 'joana.com.br', 2990, 'BRL', 'monthly', $5)",
        args![service, tenant, customer, plan, now + chrono::Duration::days(5)],
    )
    .await
    .expect("service");
    let r = run::run(&db, &actor(), now, false).await.expect("run");
    assert_eq!(r.count("invoice"), 1);
    let r = run::run(&db, &actor(), now + chrono::Duration::days(2), false)
        .await
        .expect("run");
    assert_eq!(r.count("reminder"), 1);

    let mut app = app_on(&db, actor(), "billing/renewals").await;
    let screen = app.screen_as::<RenewalsScreen>().expect("renewals screen");
    assert_eq!(screen.overview().map(|o| o.upcoming.len()), Some(1));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("joana.com.br") && text.contains("29.90 BRL"), "{text}");
    assert!(text.contains("Dunning timeline of 000001"), "{text}");
    assert!(
        text.contains("issued") && text.contains("reminder") && text.contains("e-mail"),
        "{text}"
    );
    assert!(text.contains("pending"), "the unsent e-mails wait: {text}");
    assert_snapshot!("renewals_80x24", stable(&text));
}

/// A reseller with a long ledger and few balances: the ledger gets the room the balances do
/// not need (a fixed split showed 7 of its rows under a half-empty balances box).
#[tokio::test]
async fn the_ledger_gets_the_room_the_balances_do_not_need() {
    let (db, _dir) = db_with(1).await;
    let tenant: uuid::Uuid = db.scalar("SELECT id FROM tenants", args![]).await.expect("tenant");
    let master = user(&db, "ana.master", Role::Master, tenant, None).await;
    user(&db, "bia.revenda", Role::Reseller, tenant, Some(master)).await;
    let inv = invoices::create(
        &db,
        &actor(),
        NewInvoice {
            user: Some(master),
            tenant: Some(tenant),
            reason: Some("credits".into()),
            issue: true,
            items: vec![NewItem {
                description: Some("Créditos".into()),
                unit_price_minor: Some(50_000),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .expect("invoice");
    db.execute(
        "UPDATE invoices SET status = 'paid', paid_at = $1 WHERE id = $2",
        args![backend::db::now(), inv.id],
    )
    .await
    .expect("paid");
    credits::buy(&db, &actor(), inv.id).await.expect("buy");
    credits::transfer(
        &db,
        &actor(),
        Transfer {
            from: Some("ana.master".into()),
            to: "bia.revenda".into(),
            amount: 1_000,
            ..Default::default()
        },
    )
    .await
    .expect("transfer");
    for i in 1..=18 {
        credits::spend(
            &db,
            &actor(),
            Spend {
                reseller: Some(master.to_string()),
                amount: 100 * i,
                description: format!("Linha {i:02}"),
                ..Default::default()
            },
        )
        .await
        .expect("spend");
    }
    let mut app = app_on(&db, actor(), "billing/credits").await;
    app.settle().await;
    for (w, h, shown) in [(80, 24, 11), (120, 40, 20)] {
        let text = screen_text(&render(&mut app, w, h));
        let rows = text.lines().filter(|l| l.contains("Linha ")).count();
        assert!(rows >= shown.min(18), "{w}x{h}: {rows} ledger rows shown:\n{text}");
        assert!(text.contains("bia.revenda"), "both balances still shown:\n{text}");
        assert_snapshot!(format!("credits_long_ledger_{w}x{h}"), stable(&text));
    }
}
