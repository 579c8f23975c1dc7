//! Payment → service and renewals/dunning (docs/adr/0027), both engines: a signed Stripe
//! webhook through a real `painel serve` provisions a "bill first" order; the fulfilment
//! commits with the payment or not at all.

use std::time::{Duration, Instant};

use backend::billing::settle::{settle, Settlement};
use backend::hosting::services::{self, NewService};
use backend::hosting::{register_handlers, HostingEnv};
use backend::jobs::{Handlers, Worker, WorkerConfig, ALL_QUEUES};
use backend::{args, Db};
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
    // DUNNING_HANDLERS
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
    let w = world(&[("whm-pay", "gru", 50)]).await;
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
    let w = world(&[("whm-tx", "gru", 50)]).await;
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
