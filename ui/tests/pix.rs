//! The PIX modal of an invoice (`billing/invoices/<id>/pix`): `e` makes a static BR Code on
//! the tenant's own key; the modal shows the copy-and-paste code and, where it fits, the QR.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use backend::args;
use backend::billing::invoices::{self, NewInvoice, NewItem};
use backend::billing::pix::{brcode, settings};
use common::*;
use insta::assert_snapshot;
use painel_ui::screens::billing::pix::PixScreen;

fn pix(app: &painel_ui::App) -> &PixScreen {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on the PIX modal: {}", app.route().path()))
}

#[tokio::test]
async fn static_code_from_the_modal_with_its_qr() {
    let (db, _dir) = db_with(1).await;
    let tenant: uuid::Uuid = db.scalar("SELECT id FROM tenants", args![]).await.unwrap();
    let c = backend::customers::create(
        &db,
        &actor(),
        backend::customers::NewCustomer {
            tenant: tenant.to_string(),
            name: "Maria Souza".into(),
            email: "maria@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let inv = invoices::create(
        &db,
        &actor(),
        NewInvoice {
            customer: Some(c.id),
            tenant: Some(tenant),
            issue: true,
            items: vec![NewItem {
                description: Some("Hospedagem".into()),
                unit_price_minor: Some(4990),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    settings::set(
        &db,
        &actor(),
        settings::PixSettingsInput {
            tenant_id: tenant,
            provider: "static".into(),
            key: Some("financeiro@acme.example".into()),
            merchant_name: "Acme Hospedagem".into(),
            merchant_city: "Curitiba".into(),
        },
    )
    .await
    .unwrap();

    let mut app = app_on(&db, actor(), &format!("billing/invoices/{}/pix", inv.id)).await;
    assert_eq!(app.route().path(), format!("billing/invoices/{}/pix", inv.id));
    let empty = screen_text(&render(&mut app, 80, 24));
    assert!(empty.contains("No PIX charge"), "{empty}");
    assert!(empty.contains("new PIX charge"), "the hint bar offers it:\n{empty}");

    ch(&mut app, 'e');
    pump_until(&mut app, std::time::Duration::from_secs(10), |a| {
        pix(a)
            .charge
            .as_ref()
            .is_some_and(|c| c.as_ref().is_ok_and(Option::is_some))
    })
    .await;
    let code = {
        let Some(Ok(Some(c))) = &pix(&app).charge else {
            panic!("a charge")
        };
        c.code.clone().unwrap()
    };
    let parsed = brcode::parse(&code).unwrap();
    assert_eq!(parsed.key.as_deref(), Some("financeiro@acme.example"));
    assert_eq!(parsed.amount_minor, Some(4990));

    // 80×24: too small for the QR; the code, amount and the hint say so.
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(small.contains("enlarge the terminal"), "{small}");
    assert!(
        !small.contains("new PIX charge"),
        "a live charge is not asked again:\n{small}"
    );
    assert_snapshot!("pix_modal_80x24", stable(&small));

    // Large enough: the QR is drawn beside the code.
    let big = screen_text(&render(&mut app, 120, 50));
    let qr = pix(&app).qr.clone();
    assert!(qr.len() > 15);
    assert!(big.contains(&qr[qr.len() / 2]), "the QR is on screen:\n{big}");
    assert!(big.contains("PIX copia e cola"), "{big}");
}
