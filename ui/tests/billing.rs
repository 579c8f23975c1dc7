//! Issue 12's billing screens (docs/adr/0025) on the demo data: the invoices and payments
//! lists, one invoice (items, payments, timeline; partially paid; the manual payment dialog),
//! the tenant's billing tab and the dashboard's money cards — snapshots at 80×24 and 120×40,
//! and what the keys do (and who is offered them).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use backend::billing::payments::{self, ManualPayment};
use backend::sensitive::Proof;
use backend::{args, Actor, Db, Role};
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::billing::invoice::InvoiceScreen;
use painel_ui::screens::billing::invoices::InvoicesList;
use painel_ui::screens::billing::payments::PaymentsList;
use painel_ui::App;

async fn demo() -> (Db, tempfile::TempDir) {
    let (db, dir) = db_with(0).await;
    backend::seed::demo(&db).await.expect("demo data");
    (db, dir)
}

fn invoice(app: &App) -> &InvoiceScreen {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on an invoice: {}", app.route().path()))
}

/// The hint bar: the line above the status bar.
fn hints(app: &mut App, w: u16, h: u16) -> String {
    let text = screen_text(&render(app, w, h));
    text.lines().rev().nth(1).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn invoices_list_at_80x24_and_120x40_and_the_status_key_narrows_to_overdue() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "billing/invoices").await;
    let list: &InvoicesList = app.screen_as().expect("invoices list");
    assert!(list.rows().len() > 10, "{} invoices", list.rows().len());
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(header_has(&small, &["NUMBER", "STATUS", "TOTAL"]), "{small}");
    assert_snapshot!("invoices_list_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    assert!(
        header_has(&big, &["NUMBER", "CUSTOMER", "TENANT", "STATUS", "TOTAL", "DUE"]),
        "{big}"
    );
    assert_snapshot!("invoices_list_120x40", stable(&big));
    // f: draft, pending, overdue.
    for _ in 0..3 {
        ch(&mut app, 'f');
        app.settle().await;
    }
    let list: &InvoicesList = app.screen_as().unwrap();
    assert!(!list.rows().is_empty());
    assert!(list.rows().iter().all(|i| i.status == "overdue"), "only overdue rows");
    assert!(list.title().contains("overdue"));
    // Enter opens the selected invoice.
    let first = list.rows()[0].id;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(invoice(&app).detail.as_ref().map(|d| d.invoice.id), Some(first));
}

#[tokio::test]
async fn the_overdue_card_opens_the_overdue_invoices_and_paid_24h_the_payments() {
    let (db, _dir) = demo().await;
    let stats = backend::dashboard::stats(&db, &actor()).await.unwrap();
    let overdue = stats.iter().find(|s| s.label == "Overdue invoices").unwrap();
    assert!(overdue.value > 0);
    assert!(overdue.text.as_deref().unwrap().contains("BRL"), "{overdue:?}");
    let mrr = stats.iter().find(|s| s.label == "MRR").unwrap();
    assert!(mrr.value > 0 && mrr.text.as_deref().unwrap().contains("BRL"), "{mrr:?}");
    // The cards in order: move to the overdue one and press Enter, as an operator would.
    let at = |label: &str| stats.iter().position(|s| s.label == label).unwrap();
    let mut app = app_on(&db, actor(), "dashboard").await;
    for _ in 0..at("Overdue invoices") {
        ch(&mut app, 'l');
    }
    let cards = screen_text(&render(&mut app, 120, 40));
    assert!(cards.contains("Paid (24 h)") && cards.contains("MRR"), "{cards}");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let list: &InvoicesList = app.screen_as().expect("invoices list");
    assert!(!list.rows().is_empty());
    assert!(list.rows().iter().all(|i| i.status == "overdue"));
    let mut app = app_on(&db, actor(), "dashboard").await;
    for _ in 0..at("Paid (24 h)") {
        ch(&mut app, 'l');
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let list: &PaymentsList = app.screen_as().expect("payments list");
    assert_eq!(list.list.applied.as_deref(), Some("24h"));
    assert!(list.list.items().iter().all(|p| p.status == "succeeded"));
}

#[tokio::test]
async fn payments_list_at_80x24_and_120x40_with_provider_words() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "billing/payments").await;
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(
        header_has(&small, &["INVOICE", "PROVIDER", "STATUS", "AMOUNT"]),
        "{small}"
    );
    assert_snapshot!("payments_list_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    assert_snapshot!("payments_list_120x40", stable(&big));
    ch(&mut app, '/');
    typ(&mut app, "stripe");
    press(&mut app, KeyCode::Enter);
    pump_until(&mut app, std::time::Duration::from_secs(5), |a| {
        a.screen_as::<PaymentsList>()
            .is_some_and(|l| l.list.applied.is_some() && l.list.page.is_some())
    })
    .await;
    app.settle().await;
    let list: &PaymentsList = app.screen_as().unwrap();
    assert!(!list.list.items().is_empty());
    assert!(list.list.items().iter().all(|p| p.provider == "stripe"));
}

/// A demo invoice with payments (the first by tenant and number, for stable snapshots).
async fn with_payments(db: &Db) -> uuid::Uuid {
    db.scalar(
        "SELECT i.id FROM invoices i JOIN tenants t ON t.id = i.tenant_id \
         WHERE EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id) ORDER BY t.slug, i.number LIMIT 1",
        args![],
    )
    .await
    .expect("an invoice with payments")
}

/// A new invoice of the first demo tenant (by slug) to its first customer (by name), issued:
/// its number and items are the same on every run (the demo's own renewal items carry dates
/// relative to today, which would make snapshots change from day to day).
async fn open_one(db: &Db) -> (uuid::Uuid, String) {
    let (tenant, customer): (uuid::Uuid, uuid::Uuid) = db
        .fetch_optional(
            "SELECT t.id, c.id FROM tenants t JOIN customers c ON c.tenant_id = t.id ORDER BY t.slug, c.name LIMIT 1",
            args![],
        )
        .await
        .expect("query")
        .expect("a demo customer");
    let inv = backend::billing::invoices::create(
        db,
        &actor(),
        backend::billing::invoices::NewInvoice {
            tenant: Some(tenant),
            customer: Some(customer),
            reason: Some("order".into()),
            issue: true,
            due_in_days: Some(7),
            items: vec![backend::billing::invoices::NewItem {
                description: Some("Hospedagem Pro (anual)".into()),
                unit_price_minor: Some(59_880),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .expect("invoice");
    (inv.id, inv.number)
}

#[tokio::test]
async fn invoice_screen_at_80x24_and_120x40() {
    let (db, _dir) = demo().await;
    let id = with_payments(&db).await;
    let mut app = app_on(&db, actor(), &format!("billing/invoices/{id}")).await;
    let d = invoice(&app).detail.as_ref().expect("loaded");
    assert!(!d.items.is_empty() && !d.payments.is_empty());
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(
        small.contains("Items") && small.contains("Payments") && small.contains("Timeline"),
        "{small}"
    );
    assert_snapshot!("invoice_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    assert_snapshot!("invoice_120x40", stable(&big));
}

#[tokio::test]
async fn a_partial_payment_shows_and_the_dialog_records_the_rest() {
    let (db, _dir) = demo().await;
    let (id, number) = open_one(&db).await;
    let part = payments::record_manual(
        &db,
        &actor(),
        &ManualPayment {
            invoice: id.to_string(),
            amount_minor: 100,
            reason: "half by TED".into(),
            ..ManualPayment::default()
        },
        &Proof::confirm(&number),
    )
    .await
    .unwrap();
    assert!(!part.coverage.is_full());
    let mut app = app_on(&db, actor(), &format!("billing/invoices/{id}")).await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("partially paid"), "{text}");
    assert!(text.contains("invoice.partially_paid"), "{text}");
    assert_snapshot!("invoice_partially_paid_120x40", stable(&text));
    let bar = hints(&mut app, 120, 40);
    assert!(bar.contains("PIX") && bar.contains("pay"), "{bar}");

    // m: the dialog, filled with what is still due; the number typed, a reason, Enter.
    ch(&mut app, 'm');
    let dialog = screen_text(&render(&mut app, 120, 40));
    assert!(dialog.contains("Record a payment"), "{dialog}");
    assert_snapshot!("invoice_record_dialog_120x40", stable(&dialog));
    typ(&mut app, &number);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "rest at the counter");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    app.settle().await;
    let d = invoice(&app).detail.as_ref().unwrap();
    assert!(invoice(&app).modal.is_none(), "the dialog closes");
    assert_eq!(d.invoice.status, "paid");
    assert_eq!(d.payments.len(), 2);
    let flash = app.flash().map(|f| f.text.clone()).unwrap_or_default();
    assert!(flash.contains("paid in full"), "{flash}");
    // A paid invoice offers neither PIX nor a manual payment.
    let bar = hints(&mut app, 120, 40);
    assert!(!bar.contains("PIX") && !bar.contains("pay"), "{bar}");
}

#[tokio::test]
async fn money_keys_are_offered_only_to_who_may_use_them() {
    let (db, _dir) = demo().await;
    let (id, _) = open_one(&db).await;
    let tenant: uuid::Uuid = db
        .scalar("SELECT tenant_id FROM invoices WHERE id = $1", args![id])
        .await
        .unwrap();
    let support = Actor::tenant_user("sup", Role::SupportAgent, tenant);
    let mut app = app_on(&db, support, &format!("billing/invoices/{id}")).await;
    assert!(invoice(&app).detail.is_some(), "support reads invoices");
    let bar = hints(&mut app, 120, 40);
    assert!(!bar.contains("PIX") && !bar.contains("pay"), "{bar}");
    ch(&mut app, 'm');
    assert!(invoice(&app).modal.is_none(), "m does nothing without payments:record");
}

#[tokio::test]
async fn tenant_billing_tab_at_80x24_and_120x40() {
    let (db, _dir) = demo().await;
    let slug: String = db
        .scalar(
            "SELECT t.slug FROM tenants t WHERE EXISTS (SELECT 1 FROM payments p WHERE p.tenant_id = t.id) \
             ORDER BY t.slug LIMIT 1",
            args![],
        )
        .await
        .unwrap();
    let mut app = app_on(&db, actor(), &format!("tenants/{slug}/billing")).await;
    app.settle().await;
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(small.contains("Overdue") && small.contains("MRR"), "{small}");
    assert_snapshot!("tenant_billing_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    assert!(big.contains("Latest payments"), "{big}");
    assert_snapshot!("tenant_billing_120x40", stable(&big));
    // Enter opens the selected invoice of this tenant.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(
        invoice(&app).detail.as_ref().map(|d| d.invoice.tenant_slug.clone()),
        Some(slug)
    );
}
