//! `painel bench provision`: hosting services ordered through the service layer and
//! provisioned end to end by one in-process worker against the in-process WHM simulator
//! (HTTPS, pinned certificate), on the configured database. Reports throughput and the
//! order → `active` latency per concurrency, optionally with latency injected into every WHM
//! call (then throughput should follow concurrency, not latency).

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use backend::customers::{self, NewCustomer};
use backend::hosting::plans::{self, PlanInput};
use backend::hosting::servers::{self, NewServer};
use backend::hosting::services::{self, NewService};
use backend::hosting::{register_handlers, HostingEnv};
use backend::jobs::{Handlers, Worker, WorkerConfig};
use backend::secrets::{Keys, MasterKey};
use backend::{args, tenants, Actor, Db};
use chrono::{DateTime, Utc};
use sandbox::{FaultKind, FaultSpec, Sandbox, WhmInit, ANY_OPERATION};
use tokio::sync::watch;
use uuid::Uuid;

use crate::bench::{bench_url, stats};
use crate::config::Config;

pub struct ProvisionBench {
    pub services: usize,
    pub concurrency: Vec<usize>,
    pub latency_ms: Vec<u64>,
}

pub async fn run(cfg: &Config, b: ProvisionBench) -> Result<()> {
    let (url, _dir) = bench_url(cfg)?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    println!(
        "provision {} services per run, one worker, {} database",
        b.services,
        db.backend().as_str()
    );
    println!("latency_ms  concurrency  orders/s  active/s  p50 order→active  p95 order→active  total");
    for &latency in &b.latency_ms {
        for &c in &b.concurrency {
            one(&db, b.services, c, latency).await?;
        }
    }
    Ok(())
}

async fn one(db: &Db, n: usize, concurrency: usize, latency_ms: u64) -> Result<()> {
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let server = format!("whm-bench-{run}");
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
        db,
        &actor,
        Some(&keys),
        NewServer {
            name: server.clone(),
            hostname: format!("{server}.bench.example"),
            ip: "203.0.113.10".into(),
            region: format!("b{run}"),
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
    let slug = format!("bench-{run}");
    let t = tenants::create(
        db,
        &actor,
        tenants::NewTenant {
            name: format!("Bench {run}"),
            slug: slug.clone(),
            domain: format!("{slug}.example"),
            ..Default::default()
        },
    )
    .await?;
    let customer = customers::create(
        db,
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
        db,
        &actor,
        PlanInput {
            tenant: slug.clone(),
            code: "bench".into(),
            name: "Bench".into(),
            price: "10.00".into(),
            currency: "BRL".into(),
            billing_cycle: "monthly".into(),
            package: format!("bench_{run}"),
            region: format!("b{run}"),
            resources: serde_json::json!({ "disk_gb": 1 }),
        },
    )
    .await?;

    let mut h = Handlers::builtin();
    register_handlers(&mut h, HostingEnv::new(Some(keys)));
    let mut wc = WorkerConfig::new(format!("bench-provision-{run}"), vec![services::QUEUE.to_owned()]);
    wc.concurrency = concurrency;
    wc.prefetch = concurrency;
    wc.poll = Duration::from_millis(20);
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(Worker::new(db.clone(), wc, h).run(stopped));
    // The package push first, so that the orders find the package on the server.
    wait_idle(db, t.id, Duration::from_secs(60)).await?;
    if latency_ms > 0 {
        sb.set_fault(
            &server,
            ANY_OPERATION,
            FaultSpec::always(FaultKind::Latency { ms: latency_ms }),
        )?;
    }

    let started = Instant::now();
    for i in 0..n {
        services::create(
            db,
            &actor,
            NewService {
                customer: customer.id.to_string(),
                plan: "bench".into(),
                domain: format!("s{i}x{run}.com.br"),
                region: String::new(),
                coupon: None,
            },
        )
        .await?;
    }
    let ordered = started.elapsed();
    wait_idle(db, t.id, Duration::from_secs(3600)).await?;
    let total = started.elapsed();
    let _ = stop.send(true);
    worker.await??;

    let rows: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = db
        .fetch_all(
            "SELECT status, created_at, activated_at FROM services WHERE tenant_id = $1",
            args![t.id],
        )
        .await?;
    let active = rows.iter().filter(|r| r.0 == "active").count();
    if active != n {
        bail!("{active} of {n} services became active");
    }
    let accounts = sb.whm_accounts(&server).map_or(0, |a| a.len());
    if accounts != n {
        bail!("{accounts} accounts on the simulated server for {n} services");
    }
    let lat: Vec<Duration> = rows
        .iter()
        .filter_map(|(_, c, a)| a.and_then(|a| (a - *c).to_std().ok()))
        .collect();
    let s = stats(lat);
    println!(
        "{latency_ms:>10}  {concurrency:>11}  {:>8.0}  {:>8.1}  {:>16}  {:>16}  {:.1} s",
        n as f64 / ordered.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        secs(s.p50),
        secs(s.p95),
        total.as_secs_f64()
    );
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Waits until the tenant has no hosting job queued or running.
async fn wait_idle(db: &Db, tenant: Uuid, limit: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let n: i64 = db
            .scalar(
                "SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND queue = 'hosting' AND status IN ('queued', 'running')",
                args![tenant],
            )
            .await?;
        if n == 0 {
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!("hosting jobs still pending after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
