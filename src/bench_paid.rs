//! `painel bench paid-to-active`: "bill first" hosting orders paid by signed Stripe
//! `invoice.paid` webhooks posted to a real `painel serve` on loopback; one in-process worker
//! runs the webhook job (settle → on_paid enqueues the create in the same transaction) and
//! the create job against the in-process WHM simulator (HTTPS, pinned). Reports the latency
//! from the webhook's send to the service's `activated_at`, p50/p99 (docs/adr/0027).

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use backend::billing::webhooks::{stripe::SigningSecrets, IntakeConfig};
use backend::customers::{self, NewCustomer};
use backend::hosting::plans::{self, PlanInput};
use backend::hosting::servers::{self, NewServer};
use backend::hosting::services::{self, NewService};
use backend::hosting::{register_handlers, HostingEnv};
use backend::jobs::{Handlers, Worker, WorkerConfig, ALL_QUEUES};
use backend::secrets::{Keys, MasterKey};
use backend::{args, tenants, Actor, Db};
use chrono::{DateTime, Utc};
use sandbox::{Sandbox, WhmInit};
use tokio::sync::watch;
use uuid::Uuid;

use crate::bench::{bench_url, ms};
use crate::config::Config;
use crate::serve::{self, ServeOptions};

const SECRET: &str = "whsec_bench_paid_0123456789";

fn signature(body: &str) -> String {
    let t = Utc::now().timestamp().to_string();
    let mac = backend::secrets::hmac_sha256(SECRET.as_bytes(), &[t.as_bytes(), b".", body.as_bytes()]);
    format!("t={t},v1={}", hex::encode(mac))
}

fn paid_event(run: &str, i: usize, invoice: Uuid, amount: i64) -> String {
    serde_json::json!({
        "id": format!("evt_paid_{run}_{i}"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": Utc::now().timestamp(),
        "type": "invoice.paid",
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "data": { "object": {
            "id": format!("in_{run}_{i}"),
            "object": "invoice",
            "status": "paid",
            "amount_due": amount,
            "amount_paid": amount,
            "currency": "brl",
            "attempt_count": 1,
            "billing_reason": "subscription_create",
            "metadata": { "invoice_id": invoice.to_string() }
        }}
    })
    .to_string()
}

fn pct(sorted: &[Duration], q: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// `n` services, one webhook every `interval_ms`, a worker with `concurrency` slots.
pub async fn run(cfg: &Config, n: usize, interval_ms: u64, concurrency: usize) -> Result<()> {
    let (url, _dir) = bench_url(cfg)?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let server = format!("whm-paid-{run}");
    let token = format!("BENCH{run}TOKEN");
    let sb = Sandbox::builder()
        .seed(1)
        .whm(
            &server,
            WhmInit::new("root", &token).limits(u32::try_from(n + 10)?, 1_000_000_000),
        )
        .start()
        .await?;
    let keys = Keys::new(MasterKey::generate()?, vec![]);
    let actor = Actor::system("bench");
    let Some(whm_url) = sb.whm_url(&server) else {
        bail!("the sandbox did not start {server}");
    };
    servers::create(
        &db,
        &actor,
        Some(&keys),
        NewServer {
            name: server.clone(),
            hostname: format!("{server}.bench.example"),
            ip: "203.0.113.10".into(),
            region: format!("p{run}"),
            kind: "whm".into(),
            whm_url,
            api_user: "root".into(),
            api_token: token,
            tls: format!("pin:{}", sb.cert_sha256_hex()),
            max_accounts: Some(i64::try_from(n + 10)?),
            disk_total_gb: 0,
        },
    )
    .await?;
    let slug = format!("paid-{run}");
    let t = tenants::create(
        &db,
        &actor,
        tenants::NewTenant {
            name: format!("Paid {run}"),
            slug: slug.clone(),
            domain: format!("{slug}.example"),
            ..Default::default()
        },
    )
    .await?;
    let customer = customers::create(
        &db,
        &actor,
        NewCustomer {
            tenant: slug.clone(),
            name: "Bench Customer".into(),
            email: "bench@example.com".into(),
            ..Default::default()
        },
    )
    .await?;
    plans::create(
        &db,
        &actor,
        PlanInput {
            tenant: slug.clone(),
            code: "paid".into(),
            name: "Paid".into(),
            price: "10.00".into(),
            currency: "BRL".into(),
            billing_cycle: "monthly".into(),
            package: format!("paid_{run}"),
            region: format!("p{run}"),
            resources: serde_json::json!({ "disk_gb": 1 }),
        },
    )
    .await?;
    let mut h = Handlers::builtin();
    register_handlers(&mut h, HostingEnv::new(Some(keys)));
    backend::billing::dunning::register_handlers(&mut h);
    let mut wc = WorkerConfig::new(format!("bench-paid-{run}"), vec![ALL_QUEUES.to_owned()]);
    wc.concurrency = concurrency;
    wc.prefetch = concurrency;
    wc.poll = Duration::from_millis(10);
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(Worker::new(db.clone(), wc, h).run(stopped));
    wait_idle(&db, t.id, Duration::from_secs(60)).await?;

    let mut orders = Vec::with_capacity(n);
    for i in 0..n {
        let o = services::create_billed(
            &db,
            &actor,
            NewService {
                customer: customer.id.to_string(),
                plan: "paid".into(),
                domain: format!("p{i}x{run}.com.br"),
                region: String::new(),
                coupon: None,
            },
            3,
        )
        .await?;
        orders.push(o);
    }
    let serving = serve::start(
        db.clone(),
        ServeOptions {
            listen: "127.0.0.1:0".parse()?,
            stripe: SigningSecrets::new([SECRET.to_owned()]),
            intake: IntakeConfig::default(),
            pix: Default::default(),
        },
    )
    .await?;
    let hook = format!("http://{}/webhooks/stripe", serving.addr);
    let client = reqwest::Client::builder().no_proxy().build()?;
    println!(
        "paid → active on {}: {n} bill-first orders, one signed invoice.paid every {interval_ms} ms through painel serve, \
         one worker ({concurrency} slots), WHM simulator over HTTPS",
        db.backend().as_str()
    );
    let started = Instant::now();
    let mut sent: Vec<(Uuid, DateTime<Utc>)> = Vec::with_capacity(n);
    for (i, o) in orders.iter().enumerate() {
        let body = paid_event(&run, i, o.invoice.id, o.invoice.total_minor);
        let at = Utc::now();
        let res = client
            .post(&hook)
            .header("Stripe-Signature", signature(&body))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("webhook answered {}", res.status());
        }
        sent.push((o.service.id, at));
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
    }
    wait_active(&db, t.id, n, Duration::from_secs(600)).await?;
    let total = started.elapsed();
    serving.shutdown().await?;
    let _ = stop.send(true);
    worker.await??;
    let rows: Vec<(Uuid, Option<DateTime<Utc>>)> = db
        .fetch_all(
            "SELECT id, activated_at FROM services WHERE tenant_id = $1",
            args![t.id],
        )
        .await?;
    let mut lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, at)| {
            rows.iter()
                .find(|r| r.0 == *id)
                .and_then(|r| r.1)
                .and_then(|a| (a - *at).to_std().ok())
        })
        .collect();
    if lat.len() != n {
        bail!("{} of {n} services have an activation time", lat.len());
    }
    let accounts = sb.whm_accounts(&server).map_or(0, |a| a.len());
    if accounts != n {
        bail!("{accounts} accounts on the simulated server for {n} services");
    }
    lat.sort();
    println!(
        "  webhook → active   p50 {}   p99 {}   max {}   ({n} services in {:.1} s)",
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default()),
        total.as_secs_f64()
    );
    db.close().await;
    Ok(())
}

async fn wait_idle(db: &Db, tenant: Uuid, limit: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let n: i64 = db
            .scalar(
                "SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND status IN ('queued', 'running')",
                args![tenant],
            )
            .await?;
        if n == 0 {
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!("jobs still pending after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_active(db: &Db, tenant: Uuid, n: usize, limit: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let active: i64 = db
            .scalar(
                "SELECT COUNT(*) FROM services WHERE tenant_id = $1 AND status = 'active'",
                args![tenant],
            )
            .await?;
        if usize::try_from(active).unwrap_or(0) >= n {
            return Ok(());
        }
        let failed: i64 = db
            .scalar(
                "SELECT COUNT(*) FROM services WHERE tenant_id = $1 AND status = 'error'",
                args![tenant],
            )
            .await?;
        if failed > 0 {
            bail!("{failed} services went to error");
        }
        if start.elapsed() > limit {
            bail!("{active} of {n} active after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
