//! billing/disputes at 80×24 (open first, nearest deadline on top, days left coloured), one
//! dispute's screen, and the refund dialog at billing/payments/<id>/refund (prefilled with
//! what is left to refund; the request reaches the backend's sensitive gate).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use backend::{args, customers, Db};
use chrono::TimeDelta;
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::billing::disputes::{days_tone, DisputeScreen, DisputesScreen};
use painel_ui::screens::billing::refund::RefundScreen;
use uuid::Uuid;
use widgets::Tone;

/// A paid invoice with its Stripe payment (refunded in part); returns the payment id.
async fn payment(db: &Db, number: &str, refunded: i64) -> Uuid {
    let tenant: Uuid = db.scalar("SELECT id FROM tenants", args![]).await.expect("tenant");
    let slug: String = db.scalar("SELECT slug FROM tenants", args![]).await.expect("slug");
    let c = customers::create(
        db,
        &actor(),
        customers::NewCustomer {
            tenant: slug,
            name: format!("Cliente {number}"),
            email: format!("c{number}@example.com"),
            ..Default::default()
        },
    )
    .await
    .expect("customer");
    let (inv, pay) = (Uuid::now_v7(), Uuid::now_v7());
    let now = backend::db::now();
    db.execute(
        "INSERT INTO invoices (id, tenant_id, customer_id, number, status, total_minor, subtotal_minor, currency, due_at, paid_at) \
         VALUES ($1, $2, $3, $4, 'paid', 4990, 4990, 'BRL', $5, $5)",
        args![inv, tenant, c.id, number, now],
    )
    .await
    .expect("invoice");
    db.execute(
        "INSERT INTO payments (id, tenant_id, invoice_id, provider, method, external_id, status, amount_minor, refunded_minor, \
         currency, paid_at) VALUES ($1, $2, $3, 'stripe', 'card', $4, 'succeeded', 4990, $5, 'BRL', $6)",
        args![pay, tenant, inv, format!("pi_{number}"), refunded, now],
    )
    .await
    .expect("payment");
    pay
}

async fn dispute(db: &Db, pay: Uuid, ext: &str, status: &str, reason: &str, due_in: TimeDelta) {
    let tenant: Uuid = db.scalar("SELECT id FROM tenants", args![]).await.expect("tenant");
    let now = backend::db::now();
    db.execute(
        "INSERT INTO disputes (id, tenant_id, payment_id, provider, external_id, status, reason, amount_minor, currency, \
         evidence_due_at, closed_at) VALUES ($1, $2, $3, 'stripe', $4, $5, $6, 4990, 'BRL', $7, $8)",
        args![
            Uuid::now_v7(),
            tenant,
            pay,
            ext,
            status,
            reason,
            now + due_in,
            (status == "won").then_some(now)
        ],
    )
    .await
    .expect("dispute");
}

#[tokio::test]
async fn disputes_by_deadline_with_days_left_and_one_dispute() {
    let (db, _dir) = db_with(1).await;
    let p1 = payment(&db, "000101", 0).await;
    let p2 = payment(&db, "000102", 0).await;
    let p3 = payment(&db, "000103", 0).await;
    let p4 = payment(&db, "000104", 0).await;
    dispute(
        &db,
        p1,
        "dp_far",
        "needs_response",
        "general",
        TimeDelta::days(20) + TimeDelta::hours(1),
    )
    .await;
    dispute(&db, p2, "dp_won", "won", "fraudulent", TimeDelta::days(-3)).await;
    dispute(
        &db,
        p3,
        "dp_near",
        "needs_response",
        "fraudulent",
        TimeDelta::days(1) + TimeDelta::hours(1),
    )
    .await;
    dispute(
        &db,
        p4,
        "dp_week",
        "under_review",
        "product_not_received",
        TimeDelta::days(5) + TimeDelta::hours(1),
    )
    .await;

    let mut app = app_on(&db, actor(), "billing/disputes").await;
    let screen = app.screen_as::<DisputesScreen>().expect("disputes screen");
    let order: Vec<&str> = screen.rows().iter().map(|d| d.external_id.as_str()).collect();
    assert_eq!(order, ["dp_near", "dp_week", "dp_far", "dp_won"]);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("1 d") && text.contains("5 d") && text.contains("20 d"),
        "{text}"
    );
    assert!(text.contains("3 open · 4 in all"), "{text}");
    assert_snapshot!("disputes_80x24", stable(&text));
    assert_eq!(days_tone(Some(1)), Tone::Error);
    assert_eq!(days_tone(Some(5)), Tone::Warning);
    assert_eq!(days_tone(Some(20)), Tone::Success);

    // Days left are coloured (the unselected row within a week: the warning colour).
    let term = render(&mut app, 80, 24);
    let buf = term.backend().buffer();
    let row = (0..24)
        .find(|y| {
            (0..80)
                .map(|x| buf[(x, *y)].symbol())
                .collect::<String>()
                .contains("under_review")
        })
        .expect("a row");
    let cell = (0..80).find(|x| buf[(*x, row)].symbol() == "5").expect("days cell");
    assert_ne!(buf[(cell, row)].fg, buf[(cell + 20, row)].fg, "days left not coloured");

    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let d = app.screen_as::<DisputeScreen>().expect("dispute screen");
    assert_eq!(d.dispute().map(|d| d.external_id.as_str()), Some("dp_near"));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("Evidence due") && text.contains("fraudulent") && text.contains("000103"),
        "{text}"
    );
    assert_snapshot!("dispute_80x24", stable(&text));
}

#[tokio::test]
async fn refund_dialog_prefills_the_remainder_and_asks_the_backend() {
    let (db, _dir) = db_with(1).await;
    let pay = payment(&db, "000201", 1000).await;
    let mut app = app_on(&db, actor(), &format!("billing/payments/{pay}/refund")).await;
    let screen = app.screen_as::<RefundScreen>().expect("refund screen");
    assert_eq!(screen.quote().map(|q| q.refundable_minor), Some(3990));
    assert_eq!(screen.form.value("amount"), "39.90");
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Refundable") && text.contains("39.90 BRL"), "{text}");
    assert_snapshot!("refund_80x24", stable(&text));

    // Too much: the backend says so, nothing is asked of Stripe.
    for _ in 0..5 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "45.00");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "cliente pediu");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let refunds: i64 = db.scalar("SELECT COUNT(*) FROM refunds", args![]).await.expect("count");
    assert_eq!(refunds, 0);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("between"), "{text}");

    // Within it: asked for (the local operator needs no second factor), a job to send it.
    // The error put the focus back on the amount.
    assert_eq!(app.screen_as::<RefundScreen>().expect("refund").form.focus, 0);
    for _ in 0..5 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "10.00");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let (amount, reason): (i64, String) = db
        .fetch_optional("SELECT amount_minor, reason FROM refunds", args![])
        .await
        .expect("refund")
        .expect("one refund");
    assert_eq!((amount, reason.as_str()), (1000, "cliente pediu"));
    let jobs: i64 = db
        .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'billing.refund'", args![])
        .await
        .expect("jobs");
    assert_eq!(jobs, 1);
}
