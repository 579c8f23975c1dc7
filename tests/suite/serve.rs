//! `painel serve` through the real binary on loopback, fed by the sandbox's Stripe simulator
//! (docs/adr/0023): every delivery fault gets its answer and leaves the right rows; the
//! `billing.webhook` job marks an invoice paid once; SIGTERM lets a request in flight finish.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use backend::jobs::{Handlers, Worker, WorkerConfig};
use backend::{args, customers, tenants, Db};
use sandbox::stripe::{Delivery, StripeInit, StripeSim};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator, TestDb};

pub(crate) const SECRET: &str = "whsec_suite_5f1c0a9e";
pub(crate) const API_KEY: &str = "sk_test_suite_4242";

/// A `painel serve` process; killed when dropped.
pub(crate) struct Serve {
    child: Child,
    addr: String,
    /// stderr lines after the first, as they come.
    lines: mpsc::Receiver<String>,
    _home: tempfile::TempDir,
}

impl Serve {
    pub(crate) fn start(t: &TestDb) -> Serve {
        Serve::start_with(t, &[])
    }

    fn start_with(t: &TestDb, env: &[(&str, &str)]) -> Serve {
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
            .args(["--database-url", &t.url, "serve", "--listen", "127.0.0.1:0"])
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env("PAINEL_STRIPE_WEBHOOK_SECRET", SECRET)
            .env_remove("PAINEL_DATABASE_URL")
            .env_remove("PAINEL_LISTEN")
            .env_remove("PAINEL_REDIS_URL")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("serve printed nothing");
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        assert!(first.contains("1 Stripe signing secret(s)"), "{first}");
        assert!(!first.contains(SECRET), "the secret must never be printed");
        Serve {
            child,
            addr,
            lines,
            _home: home,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn wait_line(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                if l.contains(needle) {
                    return;
                }
            }
        }
        panic!("serve never printed {needle:?}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tenant, a customer and a pending invoice of R$ 49,90; returns the invoice id.
pub(crate) async fn pending_invoice(db: &Db, slug: &str, number: &str) -> Uuid {
    let tenant = match tenants::get(db, &operator(), slug).await {
        Ok(t) => t,
        Err(_) => tenants::create(db, &operator(), new_tenant(slug, &format!("{slug}.com.br")))
            .await
            .unwrap(),
    };
    let c = customers::create(
        db,
        &operator(),
        customers::NewCustomer {
            tenant: tenant.slug.clone(),
            name: format!("Cliente {number}"),
            email: format!("c{number}@example.com"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = Uuid::now_v7();
    db.execute(
        "INSERT INTO invoices (id, tenant_id, customer_id, number, status, total_minor, subtotal_minor, currency, due_at) \
         VALUES ($1, $2, $3, $4, 'pending', 4990, 4990, 'BRL', $5)",
        args![id, tenant.id, c.id, number, backend::db::now()],
    )
    .await
    .unwrap();
    id
}

/// Runs workers until no webhook event is left `received`.
pub(crate) async fn process_webhooks(db: &Db) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut cfg = WorkerConfig::new("suite-serve", vec!["billing".into()]);
    cfg.poll = Duration::from_millis(20);
    // One at a time, in delivery order, so tests can tell what "later" means.
    cfg.concurrency = 1;
    cfg.prefetch = 1;
    let worker = tokio::spawn(Worker::new(db.clone(), cfg, Handlers::builtin()).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left: i64 = db
            .scalar("SELECT COUNT(*) FROM webhook_events WHERE status = 'received'", args![])
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} webhook events never processed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();
}

async fn count(db: &Db, sql: &str, a: Vec<backend::db::Arg>) -> i64 {
    db.scalar(sql, a).await.unwrap()
}

async fn create_session(sim: &StripeSim, invoice: Uuid) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{}/v1/checkout/sessions", sim.api_base()))
        .bearer_auth(API_KEY)
        .header("Idempotency-Key", format!("checkout:{invoice}:1"))
        .form(&[
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "brl"),
            ("line_items[0][price_data][unit_amount]", "4990"),
            (
                "line_items[0][price_data][product_data][name]",
                "Hospedagem Plano Básico",
            ),
            ("line_items[0][quantity]", "1"),
            (
                "success_url",
                "https://painel.example/ok?session_id={CHECKOUT_SESSION_ID}",
            ),
            ("metadata[invoice_id]", &invoice.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn stripe_deliveries_and_their_faults_through_a_real_serve() {
    let t = fresh().await;
    let inv1 = pending_invoice(&t.db, "loja-a", "2026-0001").await;
    let inv2 = pending_invoice(&t.db, "loja-a", "2026-0002").await;
    let sim = StripeSim::start(StripeInit {
        api_key: API_KEY.into(),
        webhook_secret: SECRET.into(),
    })
    .await
    .unwrap();
    let serve = Serve::start(&t);
    let hook = serve.url("/webhooks/stripe");
    let http = reqwest::Client::new();
    assert_eq!(http.get(serve.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(serve.url("/readyz")).send().await.unwrap().status(), 200);

    // The simulator speaks Stripe's wire format: auth, form body, idempotent replays.
    let unauth = http
        .post(format!("{}/v1/checkout/sessions", sim.api_base()))
        .bearer_auth("sk_test_wrong")
        .form(&[("mode", "payment")])
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);
    let session = create_session(&sim, inv1).await;
    assert_eq!(
        create_session(&sim, inv1).await["id"],
        session["id"],
        "same Idempotency-Key"
    );
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(session["amount_total"], 4990);
    assert_eq!(session["metadata"]["invoice_id"], inv1.to_string());
    let completed = sim.complete_session(session["id"].as_str().unwrap()).unwrap();

    // Refused with 400 and nothing written.
    for (how, reason) in [
        (Delivery::BadSignature, "no v1 signature matches"),
        (Delivery::Tampered, "no v1 signature matches"),
        (Delivery::Unsigned, "no Stripe-Signature header"),
        (Delivery::Stale { secs: 301 }, "timestamp outside the tolerance"),
    ] {
        let sent = sim.deliver(&hook, &completed, how.clone()).await.unwrap();
        assert_eq!(sent.answer.status, 400, "{how:?}");
        assert!(sent.answer.body.contains(reason), "{how:?}: {}", sent.answer.body);
    }
    let not_event = sim
        .deliver(&hook, &json!({"hello": 1}), Delivery::Signed)
        .await
        .unwrap();
    assert_eq!(not_event.answer.status, 400);
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM webhook_events", args![]).await, 0);
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM jobs", args![]).await, 0);

    // Accepted once; a duplicate, a byte-for-byte replay and a rolling-secret delivery of the
    // same event are 2xx and change nothing.
    let first = sim.deliver(&hook, &completed, Delivery::Signed).await.unwrap();
    assert_eq!(first.answer.status, 200, "{}", first.answer.body);
    assert!(
        first.answer.body.contains("\"duplicate\":false"),
        "{}",
        first.answer.body
    );
    for sent in [
        sim.deliver(&hook, &completed, Delivery::Signed).await.unwrap(),
        sim.replay(&hook, &first).await.unwrap(),
        sim.deliver(
            &hook,
            &completed,
            Delivery::Rolling {
                old_secret: "whsec_old_rolled".into(),
            },
        )
        .await
        .unwrap(),
    ] {
        assert_eq!(sent.answer.status, 200);
        assert!(sent.answer.body.contains("\"duplicate\":true"), "{}", sent.answer.body);
    }

    // Out of order: Stripe's retry succeeded (invoice.paid) after a failed attempt whose
    // event arrives last; and a type we do not handle.
    let failed = sim.event(
        "invoice.payment_failed",
        sim.invoice_object(&inv2.to_string(), 4990, "open"),
    );
    let paid = sim.event("invoice.paid", sim.invoice_object(&inv2.to_string(), 4990, "paid"));
    let other = sim.event("customer.created", json!({"id": "cus_1", "object": "customer"}));
    for ev in [&paid, &failed, &other] {
        assert_eq!(
            sim.deliver(&hook, ev, Delivery::Signed).await.unwrap().answer.status,
            200
        );
    }
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM webhook_events", args![]).await, 4);
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'billing.webhook' AND status = 'queued'",
            args![]
        )
        .await,
        4
    );

    // Counted in /metrics, rejections included, with the queue's depth.
    let metrics = http
        .get(serve.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "painel_webhooks_total{provider=\"stripe\",result=\"bad_signature\"} 3",
        "painel_webhooks_total{provider=\"stripe\",result=\"stale\"} 1",
        "painel_webhooks_total{provider=\"stripe\",result=\"malformed\"} 1",
        "painel_webhooks_total{provider=\"stripe\",result=\"recorded\"} 4",
        "painel_webhooks_total{provider=\"stripe\",result=\"duplicate\"} 3",
        "painel_http_requests_total{route=\"/webhooks/stripe\",status=\"400\"} 5",
        "painel_http_requests_total{route=\"/webhooks/stripe\",status=\"200\"} 7",
        "painel_job_queue_depth{queue=\"billing\"} 4",
        "painel_job_queue_oldest_age_seconds{queue=\"billing\"} ",
    ] {
        assert!(metrics.contains(line), "missing {line:?} in\n{metrics}");
    }

    process_webhooks(&t.db).await;
    let status = |event_id: &str| {
        let db = t.db.clone();
        let id = event_id.to_owned();
        async move {
            db.scalar::<String>(
                "SELECT status FROM webhook_events WHERE provider = 'stripe' AND event_id = $1",
                args![id],
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(status(completed["id"].as_str().unwrap()).await, "processed");
    assert_eq!(status(paid["id"].as_str().unwrap()).await, "processed");
    assert_eq!(
        status(failed["id"].as_str().unwrap()).await,
        "ignored",
        "a paid invoice stays paid"
    );
    assert_eq!(status(other["id"].as_str().unwrap()).await, "ignored");
    for inv in [inv1, inv2] {
        let s: String =
            t.db.scalar("SELECT status FROM invoices WHERE id = $1", args![inv])
                .await
                .unwrap();
        assert_eq!(s, "paid");
        let one = |sql: &'static str| count(&t.db, sql, args![inv.to_string()]);
        assert_eq!(
            one("SELECT COUNT(*) FROM audit_log WHERE action = 'invoice.paid' AND entity_id = $1").await,
            1
        );
        assert_eq!(
            count(
                &t.db,
                "SELECT COUNT(*) FROM payments WHERE invoice_id = $1 AND status = 'succeeded'",
                args![inv]
            )
            .await,
            1
        );
    }
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.record'",
            args![]
        )
        .await,
        2
    );
    // The event rows now name their tenant.
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM webhook_events WHERE tenant_id IS NOT NULL",
            args![]
        )
        .await,
        3
    );

    // A late duplicate after processing: 2xx, no new job, nothing changes.
    let late = sim.deliver(&hook, &completed, Delivery::Signed).await.unwrap();
    assert!(late.answer.body.contains("\"duplicate\":true"));
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'billing.webhook'",
            args![]
        )
        .await,
        4
    );

    // The database itself keeps a paid invoice paid (migration 0023).
    let unpay =
        t.db.execute("UPDATE invoices SET status = 'pending' WHERE id = $1", args![inv1])
            .await;
    assert!(unpay.is_err(), "a paid invoice went back to pending");
    t.db.execute("UPDATE invoices SET status = 'refunded' WHERE id = $1", args![inv1])
        .await
        .unwrap();
}

/// A request whose body is still arriving when SIGTERM comes is finished, committed and
/// answered; then the process exits cleanly.
#[tokio::test]
async fn sigterm_finishes_the_request_in_flight() {
    let t = fresh().await;
    let mut serve = Serve::start(&t);
    let sim = StripeSim::start(StripeInit {
        api_key: API_KEY.into(),
        webhook_secret: SECRET.into(),
    })
    .await
    .unwrap();
    let ev = sim.event("customer.created", json!({"id": "cus_2", "object": "customer"}));
    let body = serde_json::to_vec(&ev).unwrap();
    let ts = chrono::Utc::now().timestamp();
    let sig = sandbox::stripe::sign::header(&[SECRET], ts, &body);

    let mut conn = TcpStream::connect(&serve.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        conn,
        "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nStripe-Signature: {sig}\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    // `100 Continue` comes when the handler starts reading the body: the request is in flight.
    let mut buf = [0u8; 25];
    conn.read_exact(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 100 Continue"));

    let pid = serve.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    serve.wait_line("finishing requests in flight");
    // New connections are refused once it is draining.
    let refused = reqwest::Client::new().get(serve.url("/healthz")).send().await;
    assert!(refused.is_err(), "a new request was accepted while draining");

    conn.write_all(&body).unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "serve exited with {status}");
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM webhook_events WHERE event_id = $1",
            args![ev["id"].as_str().unwrap()]
        )
        .await,
        1
    );
}

/// `/readyz` says which dependency is down; `/healthz` stays alive meanwhile.
#[tokio::test]
async fn readyz_names_what_is_down() {
    let t = fresh().await;
    // Nothing listens on port 1: a configured Redis that is down.
    let serve = Serve::start_with(&t, &[("PAINEL_REDIS_URL", "redis://127.0.0.1:1/")]);
    let http = reqwest::Client::new();
    let ready = http.get(serve.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().starts_with("redis: "));
    assert_eq!(http.get(serve.url("/healthz")).send().await.unwrap().status(), 200);
}

fn incoming(id: &str) -> backend::billing::webhooks::Incoming {
    backend::billing::webhooks::Incoming {
        provider: backend::billing::webhooks::Provider::Stripe,
        event_id: id.into(),
        event_type: "customer.created".into(),
        payload: json!({"id": id, "object": "event", "type": "customer.created"}),
    }
}

/// One row and one job per event id, whether the copies arrive in one batch, in later
/// batches, or concurrently through the group commit.
#[tokio::test]
async fn intake_is_idempotent_within_and_across_batches() {
    use backend::billing::webhooks::{record_batch, Intake, IntakeConfig, Outcome};
    let t = fresh().await;
    let out = record_batch(&t.db, &[incoming("evt_a"), incoming("evt_a"), incoming("evt_b")])
        .await
        .unwrap();
    assert!(matches!(out[0], Outcome::Recorded(_)));
    assert_eq!(out[1], Outcome::Duplicate);
    assert!(matches!(out[2], Outcome::Recorded(_)));
    assert_eq!(
        record_batch(&t.db, &[incoming("evt_b")]).await.unwrap(),
        vec![Outcome::Duplicate]
    );

    let (intake, writers) = Intake::start(t.db.clone(), IntakeConfig::default());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let intake = intake.clone();
        // 100 distinct events, each submitted twice at once.
        tasks.push(tokio::spawn(async move {
            intake.submit(incoming(&format!("evt_c{}", i % 100))).await.unwrap()
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Outcome::Recorded(_)) {
            recorded += 1;
        }
    }
    drop(intake);
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(recorded, 100);
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM webhook_events", args![]).await, 102);
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'billing.webhook'",
            args![]
        )
        .await,
        102
    );
}
