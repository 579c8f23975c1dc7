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
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch, Notify};

use crate::config::Config;

const QUEUE: &str = "bench";

pub struct JobsBench {
    pub jobs: usize,
    pub concurrency: Vec<usize>,
    pub prefetch: usize,
    pub latency_samples: usize,
    /// Worker processes (0: one worker inside this process).
    pub workers: usize,
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
/// completion was committed, and the worker's statistics.
async fn drain(db: &Db, n: usize, concurrency: usize, prefetch: usize) -> Result<(f64, jobs::WorkerStats)> {
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
    while pending(db).await? {
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
    Ok((secs, stats))
}

async fn pending(db: &Db) -> Result<bool> {
    let any: bool = db
        .scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = $1 AND status IN ('queued', 'running'))",
            args![QUEUE],
        )
        .await?;
    Ok(any)
}

/// One `bench jobs-worker` process, started and waiting for the go line.
struct WorkerProcess {
    child: Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

async fn spawn_worker(cfg: &Config, concurrency: usize, prefetch: usize) -> Result<WorkerProcess> {
    let exe = std::env::current_exe().context("own executable")?;
    let mut child = Command::new(exe)
        .arg("--database-url")
        .arg(&cfg.database_url)
        .args(["bench", "jobs-worker", "--concurrency"])
        .arg(concurrency.to_string())
        .arg("--prefetch")
        .arg(prefetch.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting a worker process")?;
    let out = child.stdout.take().context("worker stdout")?;
    let mut lines = BufReader::new(out).lines();
    let ready = lines.next_line().await?.unwrap_or_default();
    anyhow::ensure!(ready == "ready", "worker process said {ready:?} instead of ready");
    Ok(WorkerProcess { child, lines })
}

/// Drains `n` queued no-op jobs with `workers` worker processes on the same database; the
/// clock runs from the go line to the first poll that finds nothing queued or running.
async fn drain_processes(
    cfg: &Config,
    db: &Db,
    n: usize,
    workers: usize,
    concurrency: usize,
    prefetch: usize,
) -> Result<(f64, jobs::WorkerStats)> {
    let mut procs = Vec::with_capacity(workers);
    for _ in 0..workers {
        procs.push(spawn_worker(cfg, concurrency, prefetch).await?);
    }
    let started = Instant::now();
    for p in &mut procs {
        let stdin = p.child.stdin.as_mut().context("worker stdin")?;
        stdin.write_all(b"go\n").await?;
        stdin.flush().await?;
    }
    // Polling costs the database little next to the workers (one index probe every 2 ms).
    while pending(db).await? {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut total = jobs::WorkerStats::default();
    for mut p in procs {
        drop(p.child.stdin.take());
        let line = p.lines.next_line().await?.unwrap_or_default();
        let nums: Vec<u64> = line
            .strip_prefix("stats ")
            .context("worker process printed no statistics")?
            .split(' ')
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        anyhow::ensure!(nums.len() == 4, "bad statistics line {line:?}");
        total.succeeded += nums[0];
        total.claimed += nums[1];
        total.claims += nums[2];
        total.completion_writes += nums[3];
        anyhow::ensure!(p.child.wait().await?.success(), "a worker process failed");
    }
    anyhow::ensure!(
        usize::try_from(total.succeeded).unwrap_or(0) == n,
        "expected {n} succeeded jobs, the workers counted {}",
        total.succeeded
    );
    Ok((secs, total))
}

/// `painel bench jobs-worker`: one worker of `--workers N`. Prints `ready`, starts on a line
/// on stdin, stops at end of input and prints `stats succeeded claimed claims writes`.
pub async fn worker_process(cfg: &Config, concurrency: usize, prefetch: usize) -> Result<()> {
    let db = Db::connect(&cfg.database_url).await?;
    let bus = cfg.redis_url.as_deref().map(backend::bus::Bus::connect).transpose()?;
    let db = db.with_bus(bus);
    // Blocking reads on their own thread (the runtime has no async stdin here).
    let (line_tx, mut line_rx) = mpsc::unbounded_channel::<()>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            if line.is_err() || line_tx.send(()).is_err() {
                break;
            }
        }
    });
    println!("ready");
    line_rx.recv().await;
    let (stop, stopped) = watch::channel(false);
    let mut wcfg = worker_cfg(concurrency.max(1), prefetch, Duration::from_millis(20));
    wcfg.id = format!("bench:{}", std::process::id());
    let run = tokio::spawn(Worker::new(db, wcfg, Handlers::builtin()).run(stopped));
    while line_rx.recv().await.is_some() {}
    let _ = stop.send(true);
    let s = run.await.context("worker task")??;
    println!(
        "stats {} {} {} {}",
        s.succeeded, s.claimed, s.claims, s.completion_writes
    );
    Ok(())
}

/// One enqueue → start sample, split where the time goes: the enqueue's BEGIN and INSERT,
/// its COMMIT (the WAL flush on durable PostgreSQL), the hop to the worker's claim (the
/// Redis wake-up published after the commit, the subscriber, the worker's loop) and the
/// claim itself up to the handler's first instruction (the claim statement and its commit,
/// the task spawn). The claim's start is the row's `started_at`, bound by the worker just
/// before it sends the statement (same process, same clock).
struct Sample {
    total: Duration,
    insert: Duration,
    committed: Duration,
    claim_began: Duration,
}

/// Enqueues one job at a time to an idle worker and times enqueue → handler start.
async fn latency(db: &Db, samples: usize, poll: Duration) -> Result<Vec<Sample>> {
    let (tx_started, mut started) = mpsc::unbounded_channel::<(usize, Instant, chrono::DateTime<chrono::Utc>)>();
    let mut handlers = Handlers::new();
    {
        handlers.register("bench.mark", move |job, _db| {
            let at = Instant::now();
            let tx = tx_started.clone();
            async move {
                let i = job.payload.get("i").and_then(serde_json::Value::as_u64).unwrap_or(0) as usize;
                let claimed = job.started_at.unwrap_or_else(chrono::Utc::now);
                let _ = tx.send((i, at, claimed));
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
        let wall0 = chrono::Utc::now();
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
        let insert = t0.elapsed();
        tx.commit().await?;
        let committed = t0.elapsed();
        let (j, at, claimed) = tokio::time::timeout(poll * 4 + Duration::from_secs(2), started.recv())
            .await
            .context("a latency job never started")?
            .context("worker stopped")?;
        anyhow::ensure!(j == i, "job {j} started while waiting for {i}");
        let claim_began = (claimed - wall0).to_std().unwrap_or_default();
        out.push(Sample {
            total: at.duration_since(t0),
            insert,
            committed,
            claim_began,
        });
        // An idle gap, as between real enqueues; the worker's claim loop goes quiet.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(true);
    run.await.context("worker task")??;
    Ok(out)
}

/// The p50 of one segment of every sample.
fn p50_of(samples: &[Sample], f: impl Fn(&Sample) -> Duration) -> f64 {
    let mut v: Vec<Duration> = samples.iter().map(f).collect();
    v.sort();
    percentile(&v, 0.5)
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
    let procs = match b.workers {
        0 => "one in-process worker".to_owned(),
        n => format!("{n} worker processes"),
    };
    println!(
        "painel jobs bench: {engine}, {redis}, {} no-op jobs, prefetch {}, {procs}",
        b.jobs, b.prefetch
    );
    println!(
        "{:<10} {:>12} {:>10} {:>12}",
        "engine", "concurrency", "seconds", "jobs/s"
    );
    for &c in &b.concurrency {
        reset(&db).await?;
        fill(&db, b.jobs).await?;
        let (secs, stats) = if b.workers == 0 {
            drain(&db, b.jobs, c.max(1), b.prefetch).await?
        } else {
            drain_processes(cfg, &db, b.jobs, b.workers, c.max(1), b.prefetch).await?
        };
        let rate = b.jobs as f64 / secs;
        let per = |n: u64, d: u64| n as f64 / d.max(1) as f64;
        println!(
            "{engine:<10} {c:>12} {secs:>10.2} {rate:>12.0}   (claims {}, mean claim {:.0}; completion writes {}, mean {:.0})",
            stats.claims,
            per(stats.claimed, stats.claims),
            stats.completion_writes,
            per(stats.succeeded, stats.completion_writes)
        );
        let workers = if b.workers == 0 {
            String::new()
        } else {
            format!(" workers={}", b.workers)
        };
        println!("RESULT engine={engine}{workers} metric=throughput concurrency={c} jobs_per_s={rate:.0}");
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
            let samples = latency(&mdb, n, poll).await?;
            let mut s: Vec<Duration> = samples.iter().map(|x| x.total).collect();
            let mut after: Vec<Duration> = samples.iter().map(|x| x.total.saturating_sub(x.committed)).collect();
            s.sort();
            after.sort();
            let (p50, p95, p99) = (percentile(&s, 0.5), percentile(&s, 0.95), percentile(&s, 0.99));
            let commit = p50_of(&samples, |x| x.committed);
            println!(
                "{engine:<10} enqueue→start ({label}, {n} samples): p50 {p50:.2} ms, p95 {p95:.2} ms, p99 {p99:.2} ms; \
                 of which the enqueue up to its commit p50 {commit:.2} ms, commit→start p50 {:.2} ms, p95 {:.2} ms",
                percentile(&after, 0.5),
                percentile(&after, 0.95),
            );
            println!(
                "{engine:<10}   split (p50 of each part, ms): BEGIN+INSERT {:.2}, COMMIT {:.2}, commit→claim sent \
                 (wake-up, loop) {:.2}, claim sent→handler start (claim statement, spawn) {:.2}",
                p50_of(&samples, |x| x.insert),
                p50_of(&samples, |x| x.committed.saturating_sub(x.insert)),
                p50_of(&samples, |x| x.claim_began.saturating_sub(x.committed)),
                p50_of(&samples, |x| x.total.saturating_sub(x.claim_began)),
            );
            println!(
                "RESULT engine={engine} metric=latency mode={} p50_ms={p50:.3} p95_ms={p95:.3} p99_ms={p99:.3} commit_p50_ms={commit:.3}",
                label.split(' ').next().unwrap_or(label),
            );
        }
    }
    Ok(())
}
