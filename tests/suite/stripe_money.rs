//! Card money through our own Stripe client against the simulator (docs/adr/0028): the
//! `billing.checkout` job creates the Checkout Session once (also when its answer is lost),
//! the refund job and `charge.refunded` converge in any order, and dispute events land on the
//! `disputes` table whatever order they come in.

use std::time::Duration;

use backend::billing::stripe::{checkout, disputes, refunds, register_handlers, set_account, AccountInput, StripeEnv};
use backend::billing::webhooks::{record_batch, Incoming, Provider};
use backend::jobs::{Handlers, RetryPolicy, Worker, WorkerConfig};
use backend::{args, Db, ServiceError};
use sandbox::stripe::{StripeInit, StripeSim};
use sandbox::{FaultKind, FaultSpec};
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use crate::common::{fresh, operator};
use crate::serve::{pending_invoice, API_KEY, SECRET};
use crate::servers::keys;
use crate::servers_whm::until;

pub(crate) async fn sim_and_account(db: &Db) -> StripeSim {
    let sim = StripeSim::start(StripeInit {
        api_key: API_KEY.into(),
        webhook_secret: SECRET.into(),
    })
    .await
    .unwrap();
    set_account(
        db,
        &operator(),
        &keys(),
        AccountInput {
            tenant: None,
            api_base: Some(sim.api_base().to_owned()),
            secret_key: API_KEY.into(),
            success_url: "https://painel.example/ok?session_id={CHECKOUT_SESSION_ID}".into(),
            cancel_url: None,
        },
    )
    .await
    .unwrap();
    sim
}

type Running = (
    watch::Sender<bool>,
    tokio::task::JoinHandle<Result<backend::jobs::WorkerStats, ServiceError>>,
);

/// A worker on the billing queue (webhook events, checkout, refunds), one job at a time,
/// retrying after `retry`.
pub(crate) fn start_billing(db: &Db, retry: Duration) -> Running {
    let mut h = Handlers::builtin();
    register_handlers(&mut h, StripeEnv { keys: Some(keys()) });
    let mut c = WorkerConfig::new("stripe-money", vec!["billing".into()]);
    c.poll = Duration::from_millis(20);
    c.concurrency = 1;
    c.prefetch = 1;
    c.retry = RetryPolicy {
        base: retry,
        cap: retry,
    };
    let (stop, stopped) = watch::channel(false);
    (stop, tokio::spawn(Worker::new(db.clone(), c, h).run(stopped)))
}

pub(crate) async fn stop_billing(db: &Db, (stop, w): Running) {
    until("billing jobs to finish", || async {
        db.scalar::<i64>(
            "SELECT COUNT(*) FROM jobs WHERE queue = 'billing' AND status IN ('queued', 'running')",
            args![],
        )
        .await
        .is_ok_and(|n| n == 0)
    })
    .await;
    stop.send(true).unwrap();
    w.await.unwrap().unwrap();
}

/// Runs the billing jobs until none is queued or running.
pub(crate) async fn run_billing_jobs(db: &Db) {
    stop_billing(db, start_billing(db, Duration::from_millis(20))).await;
}

/// Records events as `painel serve` would after verifying them, then runs their jobs.
pub(crate) async fn feed(db: &Db, events: &[Value]) {
    let incoming: Vec<Incoming> = events
        .iter()
        .map(|e| Incoming {
            provider: Provider::Stripe,
            event_id: e["id"].as_str().unwrap().to_owned(),
            event_type: e["type"].as_str().unwrap().to_owned(),
            payload: e.clone(),
        })
        .collect();
    record_batch(db, &incoming).await.unwrap();
    run_billing_jobs(db).await;
}

/// An invoice paid through a session our client created; returns (invoice, payment id, pi).
pub(crate) async fn paid_by_card(db: &Db, sim: &StripeSim, slug: &str, number: &str) -> (Uuid, Uuid, String) {
    let invoice = pending_invoice(db, slug, number).await;
    let req = checkout::request(db, &operator(), &invoice.to_string(), checkout::Mode::Payment)
        .await
        .unwrap();
    assert_eq!(req.link.status, "requested");
    run_billing_jobs(db).await;
    let link = checkout::pay_link(db, &operator(), &invoice.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.status, "open");
    let cs = link.external_id.unwrap();
    let event = sim.complete_session(&cs).unwrap();
    feed(db, &[event]).await;
    let pi = sim.session(&cs).unwrap()["payment_intent"].as_str().unwrap().to_owned();
    let payment: Uuid = db
        .scalar("SELECT id FROM payments WHERE invoice_id = $1", args![invoice])
        .await
        .unwrap();
    (invoice, payment, pi)
}

async fn text(db: &Db, sql: &str, id: Uuid) -> String {
    db.scalar(sql, args![id]).await.unwrap()
}

#[tokio::test]
async fn checkout_job_creates_one_session_even_when_the_answer_is_lost() {
    let t = fresh().await;
    let sim = sim_and_account(&t.db).await;
    let invoice = pending_invoice(&t.db, "loja-cs", "2026-0200").await;
    // The first POST runs at Stripe and its answer never arrives; the retry, with the same
    // Idempotency-Key, must get that same session back.
    sim.set_fault("checkout.sessions.create", FaultSpec::times(FaultKind::Lost, 1))
        .unwrap();
    let first = checkout::request(&t.db, &operator(), &invoice.to_string(), checkout::Mode::Payment)
        .await
        .unwrap();
    assert!(first.job_id.is_some());
    // Asking again while it is being made returns the same link, no second job.
    let again = checkout::request(&t.db, &operator(), &invoice.to_string(), checkout::Mode::Payment)
        .await
        .unwrap();
    assert_eq!((again.link.id, again.job_id), (first.link.id, None));
    // The connection closes without an answer: a transient failure, retried.
    run_billing_jobs(&t.db).await;
    let link = checkout::pay_link(&t.db, &operator(), &invoice.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.status, "open", "{:?}", link.error);
    let cs = link.external_id.clone().unwrap();
    let session = sim.session(&cs).unwrap();
    assert_eq!(session["metadata"]["invoice_id"], invoice.to_string());
    assert_eq!(session["amount_total"], 4990);
    assert_eq!(link.url.as_deref(), session["url"].as_str());
    assert_eq!(sim.session_count(), 1, "a retried create made a second session");
    let attempts: i64 =
        t.db.scalar("SELECT attempts FROM jobs WHERE kind = 'billing.checkout'", args![])
            .await
            .unwrap();
    assert_eq!(attempts, 2);

    // Paid through that link: the invoice is paid and the link spent.
    feed(&t.db, &[sim.complete_session(&cs).unwrap()]).await;
    assert_eq!(
        text(&t.db, "SELECT status FROM invoices WHERE id = $1", invoice).await,
        "paid"
    );
    assert_eq!(
        text(&t.db, "SELECT status FROM checkout_sessions WHERE id = $1", link.id).await,
        "complete"
    );
    // A paid invoice gets no new link.
    let e = checkout::request(&t.db, &operator(), &invoice.to_string(), checkout::Mode::Payment)
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Conflict(_)), "{e:?}");
}

#[tokio::test]
async fn a_refused_checkout_fails_the_job_at_once_and_says_why() {
    let t = fresh().await;
    let sim = sim_and_account(&t.db).await;
    let invoice = pending_invoice(&t.db, "loja-cs2", "2026-0201").await;
    sim.set_fault(
        "checkout.sessions.create",
        FaultSpec::always(FaultKind::Envelope {
            reason: "Your card was declined.".into(),
        }),
    )
    .unwrap();
    checkout::request(&t.db, &operator(), &invoice.to_string(), checkout::Mode::Subscription)
        .await
        .unwrap();
    run_billing_jobs(&t.db).await;
    let link = checkout::pay_link(&t.db, &operator(), &invoice.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.status, "failed");
    assert!(
        link.error.as_deref().unwrap_or("").contains("card_declined"),
        "{:?}",
        link.error
    );
    let (status, attempts): (String, i64) =
        t.db.fetch_optional(
            "SELECT status, attempts FROM jobs WHERE kind = 'billing.checkout'",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status.as_str(), attempts), ("failed", 1));
    // A failed link does not block a new one.
    sim.clear_faults();
    let next = checkout::request(&t.db, &operator(), &invoice.to_string(), checkout::Mode::Subscription)
        .await
        .unwrap();
    assert!(next.job_id.is_some());
}

#[tokio::test]
async fn partial_then_full_refund_in_any_order_with_the_event() {
    let t = fresh().await;
    let sim = sim_and_account(&t.db).await;
    let (invoice, payment, pi) = paid_by_card(&t.db, &sim, "loja-rf", "2026-0300").await;
    let pid = payment.to_string();
    let q = refunds::quote(&t.db, &operator(), &pid).await.unwrap();
    assert_eq!((q.refundable_minor, q.status.as_str()), (4990, "succeeded"));

    // Validation: a reason, and no more than is left.
    let base = refunds::RefundRequest {
        payment: &pid,
        amount_minor: Some(1000),
        reason: "cliente pediu",
        code: None,
    };
    let e = refunds::request(&t.db, &operator(), None, refunds::RefundRequest { reason: " ", ..base })
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Validation(_)), "{e:?}");
    let e = refunds::request(
        &t.db,
        &operator(),
        None,
        refunds::RefundRequest {
            amount_minor: Some(4991),
            ..base
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ServiceError::Validation(_)), "{e:?}");

    // Partial: the job refunds and reads the charge back.
    let r = refunds::request(&t.db, &operator(), None, base).await.unwrap();
    assert_eq!(r.refund.status, "requested");
    assert_eq!(
        refunds::quote(&t.db, &operator(), &pid).await.unwrap().refundable_minor,
        3990
    );
    run_billing_jobs(&t.db).await;
    let q = refunds::quote(&t.db, &operator(), &pid).await.unwrap();
    assert_eq!((q.refunded_minor, q.status.as_str()), (1000, "partially_refunded"));
    assert_eq!(
        text(&t.db, "SELECT status FROM invoices WHERE id = $1", invoice).await,
        "paid"
    );
    let row = refunds::get(&t.db, &operator(), r.refund.id).await.unwrap();
    assert_eq!(row.status, "succeeded");
    let re = row.external_id.unwrap();
    assert_eq!(
        sim.refund(&re).unwrap()["metadata"]["refund_id"],
        r.refund.id.to_string()
    );
    // Stripe's charge.refunded for it, twice: nothing changes.
    let events = sim.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "charge.refunded");
    feed(&t.db, &[events[0].clone()]).await;
    let mut dup = events[0].clone();
    dup["id"] = Value::from("evt_dup_of_refund");
    feed(&t.db, &[dup]).await;
    assert_eq!(
        refunds::quote(&t.db, &operator(), &pid).await.unwrap().refunded_minor,
        1000
    );

    // The rest, whose answer is lost: the event arrives before the job's retry.
    sim.set_fault("refunds.create", FaultSpec::times(FaultKind::Lost, 1))
        .unwrap();
    let r2 = refunds::request(
        &t.db,
        &operator(),
        None,
        refunds::RefundRequest {
            amount_minor: None,
            reason: "cancelamento",
            ..base
        },
    )
    .await
    .unwrap();
    assert_eq!(r2.refund.amount_minor, 3990);
    // The first attempt refunds at Stripe and loses the answer; its retry waits, and
    // Stripe's event is processed first.
    let w = start_billing(&t.db, Duration::from_millis(1500));
    until("the lost refund to reach the simulator", || async {
        sim.pending_events() > 0
    })
    .await;
    let incoming: Vec<Incoming> = sim
        .take_events()
        .iter()
        .map(|e| Incoming {
            provider: Provider::Stripe,
            event_id: e["id"].as_str().unwrap().to_owned(),
            event_type: e["type"].as_str().unwrap().to_owned(),
            payload: e.clone(),
        })
        .collect();
    record_batch(&t.db, &incoming).await.unwrap();
    until("the event to refund the payment", || async {
        refunds::quote(&t.db, &operator(), &pid).await.unwrap().refunded_minor == 4990
    })
    .await;
    let attempts: i64 =
        t.db.scalar(
            "SELECT attempts FROM jobs WHERE kind = 'billing.refund' ORDER BY created_at DESC, id DESC LIMIT 1",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(attempts, 1, "the event was meant to come before the job's retry");
    let q = refunds::quote(&t.db, &operator(), &pid).await.unwrap();
    assert_eq!(q.status, "refunded");
    assert_eq!(
        text(&t.db, "SELECT status FROM invoices WHERE id = $1", invoice).await,
        "refunded"
    );
    stop_billing(&t.db, w).await;
    assert_eq!(
        refunds::get(&t.db, &operator(), r2.refund.id).await.unwrap().status,
        "succeeded"
    );
    assert_eq!(
        sim.charge(&pi).unwrap()["amount_refunded"],
        4990,
        "refunded twice at Stripe"
    );
    // Nothing left.
    let e = refunds::request(&t.db, &operator(), None, base).await.unwrap_err();
    assert!(matches!(e, ServiceError::Conflict(_)), "{e:?}");
    let audited: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('payment.refund', 'payment.refunded', 'invoice.refunded')",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 2 + 2 + 1);
}

#[tokio::test]
async fn disputes_arrive_in_any_order_and_never_reopen() {
    let t = fresh().await;
    let sim = sim_and_account(&t.db).await;
    let (_, payment, pi) = paid_by_card(&t.db, &sim, "loja-dp", "2026-0400").await;
    let created = sim.open_dispute(&pi, "fraudulent", 3 * 86_400 + 600).unwrap();
    let dp = created["data"]["object"]["id"].as_str().unwrap().to_owned();
    let closed = sim.close_dispute(&dp, "won").unwrap();
    // Closed first, then created (late), then created again (a duplicate delivery).
    feed(&t.db, std::slice::from_ref(&closed)).await;
    feed(&t.db, std::slice::from_ref(&created)).await;
    feed(&t.db, &[created]).await;
    let list = disputes::list(
        &t.db,
        &operator(),
        disputes::DisputeFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(
        (d.status.as_str(), d.payment_id, d.amount_minor),
        ("won", payment, 4990)
    );
    assert!(d.closed_at.is_some());
    assert_eq!(d.days_left(backend::db::now()), None);

    // A second dispute, open: the nearest deadline first, days left counted.
    let (_, _, pi2) = paid_by_card(&t.db, &sim, "loja-dp", "2026-0401").await;
    let ev = sim
        .open_dispute(&pi2, "product_not_received", 2 * 86_400 + 600)
        .unwrap();
    sim.take_events();
    feed(&t.db, &[ev]).await;
    let list = disputes::list(
        &t.db,
        &operator(),
        disputes::DisputeFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(list[0].status, "needs_response");
    assert_eq!(list[0].days_left(backend::db::now()), Some(2));
    let shown = disputes::show(&t.db, &operator(), &list[0].id.to_string()[28..])
        .await
        .unwrap();
    assert_eq!(shown.external_id, list[0].external_id);
    let open = disputes::list(
        &t.db,
        &operator(),
        disputes::DisputeFilter {
            open: true,
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(open.len(), 1);
    // An event about a charge that is not ours is recorded and ignored.
    let stranger = sim.event(
        "charge.dispute.created",
        serde_json::json!({"id": "dp_stranger", "object": "dispute", "amount": 1, "currency": "brl",
                           "charge": "ch_nope", "status": "needs_response"}),
    );
    feed(&t.db, std::slice::from_ref(&stranger)).await;
    let st: String =
        t.db.scalar(
            "SELECT status FROM webhook_events WHERE event_id = $1",
            args![stranger["id"].as_str().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(st, "ignored");
}

#[tokio::test]
async fn refunds_need_the_permission_and_a_stripe_payment() {
    let t = fresh().await;
    let sim = sim_and_account(&t.db).await;
    let (_, payment, _) = paid_by_card(&t.db, &sim, "loja-pm", "2026-0500").await;
    let tenant: Uuid =
        t.db.scalar("SELECT tenant_id FROM payments WHERE id = $1", args![payment])
            .await
            .unwrap();
    let reseller = backend::Actor::tenant_user("revenda", backend::Role::Reseller, tenant);
    let e = refunds::request(
        &t.db,
        &reseller,
        None,
        refunds::RefundRequest {
            payment: &payment.to_string(),
            amount_minor: None,
            reason: "x",
            code: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ServiceError::PermissionDenied(_)), "{e:?}");
    let none: i64 = t.db.scalar("SELECT COUNT(*) FROM refunds", args![]).await.unwrap();
    assert_eq!(none, 0);
}

#[tokio::test]
async fn verbs_show_disputes_refund_and_the_pay_link() {
    use crate::cli::{painel, stderr, stdout};
    let t = fresh().await;
    let sim = sim_and_account(&t.db).await;
    let (invoice, payment, pi) = paid_by_card(&t.db, &sim, "loja-cli", "2026-0600").await;
    feed(&t.db, &[sim.open_dispute(&pi, "fraudulent", 86_400 + 600).unwrap()]).await;
    sim.take_events();

    let o = painel(&t, &["-o", "json", "disputes", "list", "--open"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["status"], "needs_response");
    assert_eq!(v[0]["invoice_number"], "2026-0600");
    let id = v[0]["id"].as_str().unwrap().to_owned();
    let o = painel(&t, &["-o", "csv", "disputes", "list"]);
    let csv = stdout(&o);
    assert!(csv.starts_with("id,status,days_left,evidence_due"), "{csv}");
    assert!(csv.contains(",needs_response,1,"), "{csv}");
    let o = painel(&t, &["disputes", "show", &id[id.len() - 8..]]);
    assert!(stdout(&o).contains("fraudulent"), "{}{}", stdout(&o), stderr(&o));

    let o = painel(&t, &["-o", "json", "invoices", "pay-link", &invoice.to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let link: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(link["status"], "complete");
    assert!(link["url"]
        .as_str()
        .unwrap()
        .starts_with("https://checkout.stripe.com/"));

    let pid = payment.to_string();
    let o = painel(
        &t,
        &["payments", "refund", &pid, "--amount", "50.00", "--reason", "teste"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("amount"), "{}", stderr(&o));
    let o = painel(&t, &["payments", "refund", &pid, "--amount", "10.00"]);
    assert!(!o.status.success(), "a refund without a reason");
    let o = painel(
        &t,
        &[
            "-o", "json", "payments", "refund", &pid, "--amount", "10.00", "--reason", "teste",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (r["status"].as_str(), r["amount_minor"].as_i64()),
        (Some("requested"), Some(1000))
    );
    run_billing_jobs(&t.db).await;
    let o = painel(&t, &["payments", "refunds", &pid]);
    let table = stdout(&o);
    assert!(
        table.contains("partially_refunded") && table.contains("succeeded"),
        "{table}"
    );
}
