//! `painel bench webhooks`: verified, idempotent, durably recorded Stripe webhooks through a
//! real `painel serve` on loopback, posted by a keep-alive HTTP client with `concurrency`
//! requests in flight. Runs twice on one database: a commit per request, then group commit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use backend::billing::webhooks::{stripe::SigningSecrets, IntakeConfig};
use backend::{args, Db};

use crate::bench::{ms, stats};
use crate::config::Config;
use crate::serve::{self, ServeOptions};

const SECRET: &str = "whsec_bench_0123456789abcdef";

/// A `checkout.session.completed` of Stripe's shape and size (~1.3 KB).
fn event(run: &str, i: usize) -> String {
    serde_json::json!({
        "id": format!("evt_{run}_{i}"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(),
        "type": "checkout.session.completed",
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "data": { "object": {
            "id": format!("cs_test_{run}_{i}"),
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "amount_subtotal": 4990,
            "amount_total": 4990,
            "currency": "brl",
            "customer_email": "joao@example.com",
            "client_reference_id": format!("order_{i}"),
            "metadata": { "invoice_id": uuid::Uuid::now_v7().to_string(), "tenant_id": "t_42" },
            "payment_intent": format!("pi_{run}_{i}"),
            "success_url": "https://painel.hostbr.example/checkout/sucesso?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://painel.hostbr.example/checkout/cancelado",
            "created": 1_700_000_000,
            "expires_at": 1_700_086_400,
            "livemode": false
        }}
    })
    .to_string()
}

fn signature(body: &str) -> String {
    let t = chrono::Utc::now().timestamp().to_string();
    let mac = backend::secrets::hmac_sha256(SECRET.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
    format!("t={t},v1={}", hex::encode(mac))
}

struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

async fn one_run(db: &Db, label: &str, intake: IntakeConfig, requests: usize, concurrency: usize) -> Result<Figures> {
    let running = serve::start(
        db.clone(),
        ServeOptions {
            listen: "127.0.0.1:0".parse()?,
            stripe: SigningSecrets::new([SECRET.to_owned()]),
            pix: Default::default(),
            intake,
        },
    )
    .await?;
    let url = format!("http://{}/webhooks/stripe", running.addr);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .no_proxy()
        .build()?;
    let run = format!("{label}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, run, next) = (client.clone(), url.clone(), run.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, anyhow::Error>(lat);
                }
                let body = event(&run, i);
                let sig = signature(&body);
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("Stripe-Signature", sig)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                let status = res.status();
                res.bytes().await?;
                lat.push(t.elapsed());
                if !status.is_success() {
                    bail!("webhook answered {status}");
                }
            }
        }));
    }
    let mut lat = Vec::with_capacity(requests);
    for t in tasks {
        lat.extend(t.await.context("client task panicked")??);
    }
    let elapsed = started.elapsed();
    let recorded = running.metrics.webhook_count("stripe", "recorded");
    running.shutdown().await?;
    if usize::try_from(recorded).unwrap_or(0) != requests {
        bail!("{label}: /metrics counted {recorded} recorded for {requests} answered");
    }
    let stored: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM webhook_events WHERE provider = 'stripe' AND event_id LIKE $1",
            args![format!("evt_{run}_%")],
        )
        .await?;
    if usize::try_from(stored).unwrap_or(0) != requests {
        bail!("{label}: {stored} events stored for {requests} answered");
    }
    let s = stats(lat.clone());
    let mut sorted = lat;
    sorted.sort();
    let p99 = sorted
        .get(((sorted.len() as f64 - 1.0) * 0.99).round() as usize)
        .copied()
        .unwrap_or_default();
    Ok(Figures {
        rate: requests as f64 / elapsed.as_secs_f64(),
        p50: s.p50,
        p99,
        max: s.max,
    })
}

pub async fn run(cfg: &Config, requests: usize, concurrency: usize, writers: usize) -> Result<()> {
    let (url, _dir) = crate::bench::bench_url(cfg)?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    println!(
        "webhook intake on {} — {requests} signed checkout.session.completed events, {concurrency} in flight",
        db.backend().as_str()
    );
    let cases = [
        (
            "per-request commit",
            "c",
            IntakeConfig {
                batching: false,
                ..IntakeConfig::default()
            },
        ),
        (
            "group commit",
            "g",
            IntakeConfig {
                batching: true,
                writers,
                ..IntakeConfig::default()
            },
        ),
    ];
    for (name, tag, intake) in cases {
        let f = one_run(&db, tag, intake, requests, concurrency).await?;
        println!(
            "  {name:<20} {:>8.0} req/s   p50 {}   p99 {}   max {}",
            f.rate,
            ms(f.p50),
            ms(f.p99),
            ms(f.max)
        );
    }
    db.close().await;
    Ok(())
}
