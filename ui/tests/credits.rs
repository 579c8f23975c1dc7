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
