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

    // 80×24: too small for the QR. The amount, the expiry and the whole code show, with the
    // way to copy it, and the message names the size at which the QR shows.
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(small.contains("the terminal is too small"), "{small}");
    assert!(
        small.contains("49.90 BRL") && small.contains("never (static code)"),
        "{small}"
    );
    assert!(small.contains("select it with the mouse to copy"), "{small}");
    assert!(
        squeezed(&small).contains(&code.replace(' ', "")),
        "the whole code:\n{small}"
    );
    assert!(
        !small.contains("new PIX charge"),
        "a live charge is not asked again:\n{small}"
    );
    let command = format!("painel invoices pix {}", inv.id);
    assert!(
        small.lines().any(|l| l.contains(&command)),
        "the print command whole on one row:\n{small}"
    );
    assert_snapshot!("pix_modal_80x24", stable(&small));

    // At the size it names, the QR is drawn whole beside the whole code; one row or one
    // column less, it is not, and the message says so again.
    let (w, h) = needed(&small);
    let qr = pix(&app).qr.clone();
    assert!(qr.len() > 15);
    let at = screen_text(&render(&mut app, w, h));
    assert!(
        qr.iter().all(|r| at.contains(r.as_str())),
        "the whole QR at {w}x{h}:\n{at}"
    );
    assert!(squeezed(&at).contains(&code.replace(' ', "")), "{at}");
    assert!(at.contains("PIX copia e cola") && at.contains("49.90 BRL"), "{at}");
    // The column beside the QR is narrower than the command: it is not wrapped inside the
    // id there but has a full-width row of its own under the QR.
    let rows: Vec<&str> = at.lines().collect();
    let row = rows.iter().position(|l| l.contains(&command));
    let last_qr = rows.iter().rposition(|l| l.contains(qr[qr.len() - 1].as_str()));
    assert!(
        row.is_some() && row > last_qr,
        "the command whole, under the QR, at {w}x{h}:\n{at}"
    );
    assert_snapshot!("pix_modal_at_the_size_named", stable(&at));
    for (w, h) in [(w - 1, h), (w, h - 1)] {
        let less = screen_text(&render(&mut app, w, h));
        assert!(
            !less.contains(qr[qr.len() / 2].as_str()),
            "no cut QR at {w}x{h}:\n{less}"
        );
        assert!(less.contains("the terminal is too small"), "{less}");
    }
    let big = screen_text(&render(&mut app, 120, 40));
    assert!(big.contains(qr[qr.len() / 2].as_str()), "the QR is on screen:\n{big}");
    assert!(
        big.lines().any(|l| l.contains(&command)),
        "the print command whole on one row:\n{big}"
    );
    assert_snapshot!("pix_modal_120x40", stable(&big));
}

/// The screen's text without borders, QR blocks, spaces and line breaks: a wrapped code
/// reads back whole.
fn squeezed(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '│' | '▀' | '▄' | '█' | ' ' | '\n'))
        .collect()
}

/// The terminal size the too-small message asks for.
fn needed(text: &str) -> (u16, u16) {
    let at = text.find("it needs ").expect("the size") + "it needs ".len();
    let size: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '×')
        .collect();
    let (w, h) = size.split_once('×').expect("W×H");
    (w.parse().expect("width"), h.parse().expect("height"))
}
