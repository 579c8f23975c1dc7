//! `painel bench jobs`: no-op job throughput and enqueue-to-start latency of the real worker
//! on the configured database (a temporary SQLite file by default) and Redis (when
//! configured). `bench/jobs.sh` runs it on SQLite and PostgreSQL next to BullMQ on the same
//! Redis, so the figures come from one run on one machine.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use backend::jobs::{self, Handlers, NewJob, Worker, WorkerConfig};
use backend::{args, Backend, Db};
use serde_json::json;
use tokio::sync::{mpsc, watch, Notify};

use crate::config::Config;

const QUEUE: &str = "bench";

pub struct JobsBench {
    pub jobs: usize,
    pub concurrency: Vec<usize>,
    pub prefetch: usize,
    pub latency_samples: usize,
}

async fn open(cfg: &Config) -> Result<(Db, Option<tempfile::TempDir>)> {
    let (url, dir) = crate::bench::bench_url(cfg)?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let bus = cfg.redis_url.as_deref().map(backend::bus::Bus::connect).transpose()?;
    Ok((db.with_bus(bus), dir))
}

fn worker_cfg(concurrency: usize, prefetch: usize, poll: Duration) -> WorkerConfig {
    let mut c = WorkerConfig::new(format!("bench:{}", std::process::id()), vec![QUEUE.to_owned()]);
    c.concurrency = concurrency;
    c.prefetch = prefetch;
    c.poll = poll;
    c.lease = Duration::from_secs(60);
    c.reclaim_every = Duration::from_secs(30);
    c
}

async fn reset(db: &Db) -> Result<()> {
    db.execute("DELETE FROM jobs", args![]).await?;
    let sql = match db.backend() {
        Backend::Postgres => "VACUUM ANALYZE jobs",
        Backend::Sqlite => "ANALYZE",
    };
    db.execute(sql, args![]).await?;
    Ok(())
}

async fn fill(db: &Db, n: usize) -> Result<()> {
    let mut left = n;
    while left > 0 {
        let k = left.min(5000);
        let mut tx = db.begin().await?;
        let batch = (0..k)
            .map(|_| NewJob {
                queue: QUEUE.into(),
                kind: "noop".into(),
                payload: json!({}),
                enqueued_by: "bench".into(),
                ..NewJob::default()
            })
            .collect();
        jobs::enqueue_many(&mut tx, batch).await?;
        tx.commit().await?;
        left -= k;
    }
    if db.backend() == Backend::Postgres {
        db.execute("VACUUM ANALYZE jobs", args![]).await?;
    }
    Ok(())
}

/// Drains `n` queued no-op jobs with one worker; returns the seconds until the last
/// completion was committed.
async fn drain(db: &Db, n: usize, concurrency: usize, prefetch: usize) -> Result<f64> {
    let (stop, stopped) = watch::channel(false);
    // Counting in the handler spares the database a poll while the worker drains; only the
    // last completion writes are then awaited by polling.
    let ran = Arc::new(AtomicUsize::new(0));
    let all_ran = Arc::new(Notify::new());
    let mut handlers = Handlers::builtin();
    {
        let (ran, all_ran) = (ran.clone(), all_ran.clone());
        handlers.register("noop", move |_job, _db| {
            if ran.fetch_add(1, Ordering::Relaxed) + 1 >= n {
                all_ran.notify_one();
            }
            std::future::ready(Ok(()))
        });
    }
    let started = Instant::now();
    let worker = Worker::new(
        db.clone(),
        worker_cfg(concurrency, prefetch, Duration::from_millis(20)),
        handlers,
    );
    let run = tokio::spawn(worker.run(stopped));
    all_ran.notified().await;
    loop {
        let pending: i64 = db
            .scalar(
                "SELECT COUNT(*) FROM jobs WHERE queue = $1 AND status IN ('queued', 'running')",
                args![QUEUE],
            )
            .await?;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let stats = run.await.context("worker task")??;
    let done: i64 = db
        .scalar("SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'", args![])
        .await?;
    anyhow::ensure!(
        usize::try_from(done).unwrap_or(0) == n && stats.succeeded as usize == n,
        "expected {n} succeeded jobs, found {done} (worker counted {})",
        stats.succeeded
    );
    Ok(secs)
}

/// Enqueues one job at a time to an idle worker and times enqueue → handler start.
async fn latency(db: &Db, samples: usize, poll: Duration) -> Result<Vec<Duration>> {
    let (tx_started, mut started) = mpsc::unbounded_channel::<(usize, Instant)>();
    let mut handlers = Handlers::new();
    {
        handlers.register("bench.mark", move |job, _db| {
            let at = Instant::now();
            let tx = tx_started.clone();
            async move {
                let i = job.payload.get("i").and_then(serde_json::Value::as_u64).unwrap_or(0) as usize;
                let _ = tx.send((i, at));
                Ok(())
            }
        });
    }
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(Worker::new(db.clone(), worker_cfg(10, 0, poll), handlers).run(stopped));
    // Let the worker subscribe and go idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples {
        let t0 = Instant::now();
        let mut tx = db.begin().await?;
        jobs::enqueue(
            &mut tx,
            NewJob {
                queue: QUEUE.into(),
                kind: "bench.mark".into(),
                payload: json!({ "i": i }),
                enqueued_by: "bench".into(),
                ..NewJob::default()
            },
        )
        .await?;
        tx.commit().await?;
        let (j, at) = tokio::time::timeout(poll * 4 + Duration::from_secs(2), started.recv())
            .await
            .context("a latency job never started")?
            .context("worker stopped")?;
        anyhow::ensure!(j == i, "job {j} started while waiting for {i}");
        out.push(at.duration_since(t0));
        // An idle gap, as between real enqueues; the worker's claim loop goes quiet.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(true);
    run.await.context("worker task")??;
    Ok(out)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

pub async fn run(cfg: &Config, b: JobsBench) -> Result<()> {
    let (db, _dir) = open(cfg).await?;
    let engine = db.backend().as_str();
    let redis = if db.bus().is_some() { "redis" } else { "no redis" };
    println!(
        "painel jobs bench: {engine}, {redis}, {} no-op jobs, prefetch {}",
        b.jobs, b.prefetch
    );
    println!(
        "{:<10} {:>12} {:>10} {:>12}",
        "engine", "concurrency", "seconds", "jobs/s"
    );
    for &c in &b.concurrency {
        reset(&db).await?;
        fill(&db, b.jobs).await?;
        let secs = drain(&db, b.jobs, c.max(1), b.prefetch).await?;
        let rate = b.jobs as f64 / secs;
        println!("{engine:<10} {c:>12} {secs:>10.2} {rate:>12.0}");
        println!("RESULT engine={engine} metric=throughput concurrency={c} jobs_per_s={rate:.0}");
    }
    if b.latency_samples > 0 {
        reset(&db).await?;
        let mut modes = vec![];
        if db.bus().is_some() {
            modes.push((
                "redis wake-ups",
                db.clone(),
                b.latency_samples,
                Duration::from_millis(500),
            ));
        }
        let polling = db.clone().with_bus(None);
        modes.push((
            "polling 500 ms",
            polling,
            b.latency_samples.min(40),
            Duration::from_millis(500),
        ));
        for (label, mdb, n, poll) in modes {
            let mut s = latency(&mdb, n, poll).await?;
            s.sort();
            let (p50, p95) = (percentile(&s, 0.5), percentile(&s, 0.95));
            println!("{engine:<10} enqueue→start ({label}, {n} samples): p50 {p50:.2} ms, p95 {p95:.2} ms");
            println!(
                "RESULT engine={engine} metric=latency mode={} p50_ms={p50:.3} p95_ms={p95:.3}",
                label.split(' ').next().unwrap_or(label)
            );
        }
    }
    Ok(())
}
