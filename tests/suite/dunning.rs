//! Payment → service and renewals/dunning (docs/adr/0027), both engines: a signed Stripe
//! webhook through a real `painel serve` provisions a "bill first" order; the fulfilment
//! commits with the payment or not at all.

use std::time::{Duration, Instant};

use backend::billing::dunning::{mail, run};
use backend::billing::settle::{settle, Settlement};
use backend::hosting::services::{self, NewService};
use backend::hosting::{register_handlers, HostingEnv};
use backend::jobs::{Handlers, Worker, WorkerConfig, ALL_QUEUES};
use backend::{args, Db};
use sandbox::smtp::SmtpFault;
use sandbox::stripe::{Delivery, StripeInit, StripeSim};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::common::operator;
use crate::lifecycle::{world, World};
use crate::serve::{Serve, API_KEY, SECRET};

/// A worker on every queue with every handler this build has, until `done` holds.
pub(crate) async fn work_until<F, Fut>(w: &World, what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut h = Handlers::builtin();
    register_handlers(&mut h, HostingEnv::new(Some(w.keys.clone())));
    backend::billing::dunning::register_handlers(&mut h);
    let mut cfg = WorkerConfig::new("suite-dunning", vec![ALL_QUEUES.to_owned()]);
    cfg.poll = Duration::from_millis(20);
    cfg.retry = backend::jobs::RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
    };
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(Worker::new(w.t.db.clone(), cfg, h).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        if Instant::now() > deadline {
            let jobs: Vec<(String, String, i64, Option<String>)> =
                w.t.db
                    .fetch_all(
                        "SELECT kind, status, attempts, last_error FROM jobs ORDER BY created_at",
                        args![],
                    )
                    .await
                    .unwrap();
            let events: Vec<(String, Option<String>)> =
                w.t.db
                    .fetch_all("SELECT status, error FROM webhook_events", args![])
                    .await
                    .unwrap();
            panic!("timed out waiting for {what}; jobs {jobs:#?}; events {events:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

/// One simulated server with the plans' packages already pushed (an order racing the push
/// would fail with "package does not exist", as it would on a real server).
pub(crate) async fn ready_world(server: &str) -> World {
    let w = world(&[(server, "gru", 50)]).await;
    w.drain().await;
    w
}

pub(crate) async fn status_of(db: &Db, service: Uuid) -> String {
    let (s,): (String,) = db
        .fetch_optional("SELECT status FROM services WHERE id = $1", args![service])
        .await
        .unwrap()
        .unwrap();
    s
}

pub(crate) async fn billed_order(w: &World, domain: &str) -> services::BilledOrder {
    services::create_billed(
        &w.t.db,
        &operator(),
        NewService {
            customer: w.customer.to_string(),
            plan: "start".into(),
            domain: domain.into(),
            region: String::new(),
            coupon: None,
        },
        3,
    )
    .await
    .unwrap()
}

async fn count(db: &Db, sql: &str, a: Vec<backend::db::Arg>) -> i64 {
    db.scalar(sql, a).await.unwrap()
}

#[tokio::test]
async fn a_signed_webhook_through_serve_provisions_a_billed_order() {
    let w = ready_world("whm-pay").await;
    let order = billed_order(&w, "pagou.com.br").await;
    assert_eq!(order.service.status, "pending");
    assert_eq!(order.invoice.status, "pending");
    assert_eq!(order.invoice.reason, "order");
    assert_eq!(order.invoice.total_minor, 2990);
    // Nothing is provisioned before the money arrives.
    assert_eq!(
        count(
            &w.t.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.create'",
            args![]
        )
        .await,
        0
    );

    let sim = StripeSim::start(StripeInit {
        api_key: API_KEY.into(),
        webhook_secret: SECRET.into(),
    })
    .await
    .unwrap();
    let serve = Serve::start(&w.t);
    let paid = sim.event(
        "invoice.paid",
        sim.invoice_object(&order.invoice.id.to_string(), 2990, "paid"),
    );
    let sent = sim
        .deliver(&serve.url("/webhooks/stripe"), &paid, Delivery::Signed)
        .await
        .unwrap();
    assert_eq!(sent.answer.status, 200, "{}", sent.answer.body);
    // A duplicate delivery changes nothing.
    let again = sim.replay(&serve.url("/webhooks/stripe"), &sent).await.unwrap();
    assert_eq!(again.answer.status, 200);

    let db = w.t.db.clone();
    let sid = order.service.id;
    work_until(&w, "the service to be active", || {
        let db = db.clone();
        async move { status_of(&db, sid).await == "active" }
    })
    .await;
    assert_eq!(w.accounts("whm-pay", "pagou.com.br").len(), 1);
    let (status, job_payload): (String, serde_json::Value) =
        w.t.db
            .fetch_optional(
                "SELECT status, payload FROM jobs WHERE kind = 'hosting.create' AND unique_key = $1",
                args![format!("service:{sid}")],
            )
            .await
            .unwrap()
            .unwrap();
    assert_eq!(status, "succeeded");
    assert_eq!(job_payload["invoice_id"], json!(order.invoice.id));
    // The paid period moved the next due date to the end of the order's period.
    let (next_due, period_end): (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) =
        w.t.db
            .fetch_optional(
                "SELECT s.next_due_at, i.period_end FROM services s JOIN invoices i ON i.id = $2 WHERE s.id = $1",
                args![sid, order.invoice.id],
            )
            .await
            .unwrap()
            .unwrap();
    assert!(next_due.is_some());
    assert_eq!(next_due, period_end);
    for action in ["invoice.paid", "service.provision", "service.renew", "service.activate"] {
        assert!(
            count(
                &w.t.db,
                "SELECT COUNT(*) FROM audit_log WHERE action = $1",
                args![action]
            )
            .await
                >= 1,
            "{action} audited"
        );
    }
    assert_eq!(
        count(
            &w.t.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.create'",
            args![]
        )
        .await,
        1,
        "one create job for two deliveries"
    );
}

#[tokio::test]
async fn the_fulfilment_commits_with_the_payment_or_not_at_all() {
    let w = ready_world("whm-tx").await;
    let order = billed_order(&w, "rollback.com.br").await;
    let s = Settlement {
        invoice_id: order.invoice.id,
        provider: "manual".into(),
        external_id: "manual-1".into(),
        amount_minor: 2990,
        currency: "BRL".into(),
        method: None,
        provider_data: json!({}),
    };
    let mut tx = w.t.db.begin().await.unwrap();
    settle(&mut tx, &operator(), &s).await.unwrap();
    tx.rollback().await.unwrap();
    let creates = "SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.create'";
    assert_eq!(count(&w.t.db, creates, args![]).await, 0);
    assert_eq!(status_of(&w.t.db, order.service.id).await, "pending");

    let mut tx = w.t.db.begin().await.unwrap();
    settle(&mut tx, &operator(), &s).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        count(
            &w.t.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.create' AND status = 'queued'",
            args![]
        )
        .await,
        1
    );
    // Settling the same money again enqueues nothing more.
    let mut tx = w.t.db.begin().await.unwrap();
    settle(&mut tx, &operator(), &s).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&w.t.db, creates, args![]).await, 1);
}

/// A billed order paid by hand and provisioned: an active service with its next due date.
async fn active_service(w: &World, domain: &str) -> (Uuid, chrono::DateTime<chrono::Utc>) {
    let order = billed_order(w, domain).await;
    pay(w, order.invoice.id, &format!("manual-{domain}")).await;
    let db = w.t.db.clone();
    let sid = order.service.id;
    work_until(w, "the order to be active", || {
        let db = db.clone();
        async move { status_of(&db, sid).await == "active" }
    })
    .await;
    (sid, next_due(&w.t.db, sid).await)
}

async fn next_due(db: &Db, sid: Uuid) -> chrono::DateTime<chrono::Utc> {
    let (d,): (Option<chrono::DateTime<chrono::Utc>>,) = db
        .fetch_optional("SELECT next_due_at FROM services WHERE id = $1", args![sid])
        .await
        .unwrap()
        .unwrap();
    d.unwrap()
}

async fn pay(w: &World, invoice: Uuid, external: &str) {
    let (total,): (i64,) =
        w.t.db
            .fetch_optional("SELECT total_minor FROM invoices WHERE id = $1", args![invoice])
            .await
            .unwrap()
            .unwrap();
    let mut tx = w.t.db.begin().await.unwrap();
    settle(
        &mut tx,
        &operator(),
        &Settlement {
            invoice_id: invoice,
            provider: "manual".into(),
            external_id: external.into(),
            amount_minor: total,
            currency: "BRL".into(),
            method: None,
            provider_data: json!({}),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn renewal_invoices(db: &Db, sid: Uuid) -> Vec<(Uuid, String, String)> {
    db.fetch_all(
        "SELECT i.id, i.number, i.status FROM invoices i JOIN invoice_items it ON it.invoice_id = i.id \
         WHERE it.service_id = $1 AND i.reason = 'renewal' ORDER BY i.seq",
        args![sid],
    )
    .await
    .unwrap()
}

async fn sink_for(w: &World) -> sandbox::smtp::SmtpSink {
    let sink = sandbox::smtp::SmtpSink::start().await.unwrap();
    mail::set_smtp(
        &w.t.db,
        &operator(),
        &mail::SmtpSettings {
            host: sink.host(),
            port: sink.port(),
            security: "none".into(),
            from: "cobranca@hostbr.example".into(),
        },
    )
    .await
    .unwrap();
    sink
}

async fn mails_settled(db: &Db) -> bool {
    let n: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM notifications WHERE status IN ('queued', 'sending')",
            args![],
        )
        .await
        .unwrap();
    n == 0
}

#[tokio::test]
async fn renewal_runs_bill_each_period_once_even_twice_at_once() {
    let w = ready_world("whm-renew").await;
    let (sid, due) = active_service(&w, "renova.com.br").await;
    let op = operator();
    // Lead time 7 days (the default): 8 days before, nothing.
    let r = run::run(&w.t.db, &op, due - chrono::Duration::days(8), false)
        .await
        .unwrap();
    assert_eq!(r.count("invoice"), 0);
    // A dry run inside the lead time says what it would do and writes nothing.
    let at = due - chrono::Duration::days(6);
    let dry = run::run(&w.t.db, &op, at, true).await.unwrap();
    assert_eq!(dry.count("invoice"), 1);
    assert!(renewal_invoices(&w.t.db, sid).await.is_empty());
    // Two runs at once, then a third: one invoice for the period, numbered without a gap.
    let (a, b) = tokio::join!(run::run(&w.t.db, &op, at, false), run::run(&w.t.db, &op, at, false));
    assert_eq!(a.unwrap().count("invoice") + b.unwrap().count("invoice"), 1);
    assert_eq!(run::run(&w.t.db, &op, at, false).await.unwrap().count("invoice"), 0);
    let inv = renewal_invoices(&w.t.db, sid).await;
    assert_eq!(inv.len(), 1, "{inv:?}");
    assert_eq!(inv[0].1, "000002", "the order invoice was 000001");
    assert_eq!(inv[0].2, "pending");
    let (due_at, start): (chrono::DateTime<chrono::Utc>, Option<chrono::DateTime<chrono::Utc>>) =
        w.t.db
            .fetch_optional(
                "SELECT due_at, period_start FROM invoices WHERE id = $1",
                args![inv[0].0],
            )
            .await
            .unwrap()
            .unwrap();
    assert_eq!((due_at, start), (due, Some(due)));
    // One "invoice issued" e-mail, queued once.
    let mails: i64 =
        w.t.db
            .scalar(
                "SELECT COUNT(*) FROM notifications WHERE dedupe_key = $1",
                args![format!("invoice:{}:created", inv[0].0)],
            )
            .await
            .unwrap();
    assert_eq!(mails, 1);
}

#[tokio::test]
async fn reminders_land_in_the_smtp_sink_with_their_content() {
    let w = ready_world("whm-mail").await;
    let sink = sink_for(&w).await;
    let (sid, due) = active_service(&w, "lembra.com.br").await;
    let op = operator();
    run::run(&w.t.db, &op, due - chrono::Duration::days(7), false)
        .await
        .unwrap();
    let r = run::run(&w.t.db, &op, due - chrono::Duration::days(2), false)
        .await
        .unwrap();
    assert_eq!(r.count("reminder"), 1, "{r:?}");
    // The same stage again: nothing.
    let again = run::run(&w.t.db, &op, due - chrono::Duration::hours(47), false)
        .await
        .unwrap();
    assert_eq!(again.count("reminder"), 0);
    let db = w.t.db.clone();
    work_until(&w, "the e-mails to be sent", || {
        let db = db.clone();
        async move { mails_settled(&db).await }
    })
    .await;
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    let number = &renewal_invoices(&w.t.db, sid).await[0].1;
    let total = backend::money::format(2990, "BRL");
    for m in &msgs {
        assert_eq!(m.to, vec!["joana@example.com".to_owned()]);
        assert_eq!(m.from, "cobranca@hostbr.example");
        assert!(m.header("Message-ID").unwrap().ends_with("@painel>"));
    }
    let subjects: Vec<String> = msgs.iter().map(|m| m.subject().unwrap()).collect();
    assert!(
        subjects.contains(&format!("Fatura {number} disponível")),
        "{subjects:?}"
    );
    let reminder = msgs
        .iter()
        .find(|m| m.subject().unwrap() == format!("Lembrete: fatura {number} vence em 2 dia(s)"))
        .unwrap_or_else(|| panic!("no reminder in {subjects:?}"));
    let body = reminder.body().replace("=\r\n", "");
    assert!(body.contains("Joana Silva"), "{body}");
    assert!(body.contains(&total), "{body}");
    assert!(body.contains(&due.format("%d/%m/%Y").to_string()), "{body}");
    let sent: i64 =
        w.t.db
            .scalar("SELECT COUNT(*) FROM notifications WHERE status = 'sent'", args![])
            .await
            .unwrap();
    assert_eq!(sent, 2);
}

#[tokio::test]
async fn grace_then_suspend_then_pay_then_unsuspend_then_terminate_another() {
    let w = ready_world("whm-dun").await;
    let _sink = sink_for(&w).await;
    let (sid, due) = active_service(&w, "devedor.com.br").await;
    let (other, _) = active_service(&w, "sumiu.com.br").await;
    let op = operator();
    run::run(&w.t.db, &op, due - chrono::Duration::days(7), false)
        .await
        .unwrap();
    // Within the grace period (5 days): reminded, not suspended.
    let r = run::run(&w.t.db, &op, due + chrono::Duration::days(4), false)
        .await
        .unwrap();
    assert_eq!(r.count("suspend"), 0);
    assert!(r.count("reminder") >= 1);
    // After it: suspended for non-payment through the lifecycle job, both services.
    let r = run::run(&w.t.db, &op, due + chrono::Duration::days(6), false)
        .await
        .unwrap();
    assert_eq!(r.count("suspend"), 2, "{r:?}");
    let db = w.t.db.clone();
    work_until(&w, "both suspended", || {
        let db = db.clone();
        async move { status_of(&db, sid).await == "suspended" && status_of(&db, other).await == "suspended" }
    })
    .await;
    let acct = w.accounts("whm-dun", "devedor.com.br");
    assert!(acct[0].suspended, "suspended on the server");
    let (reason,): (Option<String>,) =
        w.t.db
            .fetch_optional("SELECT suspend_reason FROM services WHERE id = $1", args![sid])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(reason.as_deref(), Some("non-payment"));
    // A second run asks for nothing more.
    let r = run::run(&w.t.db, &op, due + chrono::Duration::days(6), false)
        .await
        .unwrap();
    assert_eq!(r.count("suspend"), 0);

    // Paying the renewal unsuspends (same transaction enqueues it) and moves the due date.
    let inv = renewal_invoices(&w.t.db, sid).await;
    pay(&w, inv[0].0, "manual-renewal").await;
    let db = w.t.db.clone();
    work_until(&w, "the payer unsuspended", || {
        let db = db.clone();
        async move { status_of(&db, sid).await == "active" }
    })
    .await;
    assert!(!w.accounts("whm-dun", "devedor.com.br")[0].suspended);
    assert!(next_due(&w.t.db, sid).await > due + chrono::Duration::days(27));

    // The one who never pays is terminated after 30 days; the payer is left alone.
    let r = run::run(&w.t.db, &op, due + chrono::Duration::days(31), false)
        .await
        .unwrap();
    assert_eq!(r.count("terminate"), 1, "{r:?}");
    assert_eq!(
        r.steps.iter().find(|s| s.action == "terminate").unwrap().service_id,
        Some(other)
    );
    let db = w.t.db.clone();
    work_until(&w, "the debtor terminated", || {
        let db = db.clone();
        async move { status_of(&db, other).await == "terminated" }
    })
    .await;
    assert!(w.accounts("whm-dun", "sumiu.com.br").is_empty());
    assert_eq!(status_of(&w.t.db, sid).await, "active");
    for action in [
        "service.suspend",
        "service.unsuspend",
        "service.terminate",
        "invoice.reminder",
    ] {
        assert!(
            count(
                &w.t.db,
                "SELECT COUNT(*) FROM audit_log WHERE action = $1",
                args![action]
            )
            .await
                >= 1,
            "{action} audited"
        );
    }
    let timeline = backend::billing::dunning::read::timeline(&w.t.db, &op, &inv[0].0.to_string())
        .await
        .unwrap();
    let whats: Vec<&str> = timeline.iter().map(|e| e.what.as_str()).collect();
    for w in [
        "issued",
        "reminder",
        "paid",
        "service.suspend",
        "service.unsuspend",
        "e-mail",
    ] {
        assert!(whats.contains(&w), "{w} in {whats:?}");
    }
}

#[tokio::test]
async fn smtp_faults_are_retried_then_fail_loudly() {
    let w = ready_world("whm-smtp").await;
    let sink = sink_for(&w).await;
    let (_, due) = active_service(&w, "falha.com.br").await;
    let op = operator();
    // Two temporary refusals: the third attempt delivers.
    sink.set_fault(Some(SmtpFault::TempFail { count: 2 }));
    run::run(&w.t.db, &op, due - chrono::Duration::days(7), false)
        .await
        .unwrap();
    let db = w.t.db.clone();
    work_until(&w, "the e-mail to settle", || {
        let db = db.clone();
        async move { mails_settled(&db).await }
    })
    .await;
    assert_eq!(sink.refused(), 2);
    assert_eq!(sink.messages().len(), 1);
    let (status, attempts): (String, i64) =
        w.t.db
            .fetch_optional(
                "SELECT status, attempts FROM notifications ORDER BY created_at DESC LIMIT 1",
                args![],
            )
            .await
            .unwrap()
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("sent", 3));

    // A permanent refusal: failed at once, audited, an incident, in the failure list.
    sink.set_fault(Some(SmtpFault::Reject { count: 5 }));
    run::run(&w.t.db, &op, due - chrono::Duration::days(2), false)
        .await
        .unwrap();
    let db = w.t.db.clone();
    work_until(&w, "the e-mail to fail", || {
        let db = db.clone();
        async move { mails_settled(&db).await }
    })
    .await;
    let failed = backend::billing::dunning::read::notifications(&w.t.db, &op, Some("failed"), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].last_error.as_deref().unwrap_or("").contains("554"),
        "{failed:?}"
    );
    assert_eq!(
        count(
            &w.t.db,
            "SELECT COUNT(*) FROM incidents WHERE title = $1",
            args![mail::INCIDENT_TITLE]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &w.t.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'notification.failed'",
            args![]
        )
        .await,
        1
    );
    let overview = backend::billing::dunning::read::overview(&w.t.db, &op, 60)
        .await
        .unwrap();
    assert_eq!(overview.failures.len(), 1);
    assert!(overview.failed_jobs >= 1);
}
