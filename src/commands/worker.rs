//! `painel worker`: runs jobs (and, unless `--no-scheduler`, the scheduler) until SIGTERM or
//! SIGINT, then drains (running jobs get `--drain-secs` to finish; the rest go back to the
//! queue with their attempt uncounted).

use std::time::Duration;

use anyhow::{Context, Result};
use backend::jobs::{schedule, Handlers, Worker, WorkerConfig, ALL_QUEUES};
use backend::Db;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::cli::WorkerArgs;
use crate::config::Config;

/// `hostname:pid:random`, unique per process and readable in `locked_by`.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

/// Every kind this build runs: the built-ins and hosting's, which open the servers' API
/// tokens with the registered master key when this process holds it.
pub async fn handlers(config: &Config, db: &Db) -> Handlers {
    let keys = match super::auth::load_keys(config, db).await {
        Ok(k) => Some(k),
        Err(e) => {
            eprintln!("warning: no registered master key ({e}): jobs that need a server's API token will say so");
            None
        }
    };
    let mut h = Handlers::builtin();
    backend::billing::stripe::register_handlers(&mut h, backend::billing::stripe::StripeEnv { keys: keys.clone() });
    backend::transfers::register(&mut h, keys.clone());
    backend::hosting::register_handlers(
        &mut h,
        backend::hosting::HostingEnv::new(keys).with_ssl(config.ssl.clone()),
    );
    let pix = crate::pix_config::env(&config.data_dir).unwrap_or_else(|e| {
        eprintln!("warning: PIX providers not configured ({e:#}): their jobs will retry until they are");
        Default::default()
    });
    backend::billing::pix::register_handlers(&mut h, pix);
    backend::billing::dunning::register_handlers(&mut h);
    h
}

/// A worker and the scheduler running inside another command (`painel demo`), so that what an
/// operator does there really runs: jobs, provider calls, retries, schedules.
pub struct InProcess {
    stop: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<()>,
    scheduler: tokio::task::JoinHandle<()>,
}

impl InProcess {
    /// Every queue, four slots; the default schedules are ensured first.
    pub async fn start(config: &Config, db: &Db) -> Result<InProcess> {
        schedule::ensure_defaults(db).await?;
        let (stop, stopped) = watch::channel(false);
        let mut cfg = WorkerConfig::new(worker_id(), vec![ALL_QUEUES.to_owned()]);
        cfg.drain = Duration::from_secs(5);
        let w = Worker::new(db.clone(), cfg, handlers(config, db).await);
        let rx = stopped.clone();
        let worker = tokio::spawn(async move {
            if let Err(e) = w.run(rx).await {
                tracing::error!(error = %e, "in-process worker stopped");
            }
        });
        let scheduler = tokio::spawn(schedule::run_scheduler(db.clone(), stopped));
        Ok(InProcess {
            stop,
            worker,
            scheduler,
        })
    }

    /// Asks both to stop and waits for the worker's drain (running jobs get a few seconds).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if self.worker.await.is_err() {
            tracing::error!("in-process worker task failed");
        }
        if self.scheduler.await.is_err() {
            tracing::error!("in-process scheduler task failed");
        }
    }
}

pub async fn run(config: &Config, db: &Db, args: WorkerArgs) -> Result<()> {
    let mut queues: Vec<String> = args
        .queues
        .iter()
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
        .collect();
    // No list, or `*` anywhere in it: every queue (the demo's `maintenance` schedule too).
    if queues.is_empty() || queues.iter().any(|q| q == ALL_QUEUES) {
        queues = vec![ALL_QUEUES.to_owned()];
    }
    if args.concurrency == 0 || args.lease_secs == 0 {
        return Err(backend::ServiceError::invalid("worker", "--concurrency and --lease-secs must be positive").into());
    }
    let serving = if queues == [ALL_QUEUES] {
        "every queue".to_owned()
    } else {
        format!("queues {}", queues.join(", "))
    };
    let mut cfg = WorkerConfig::new(worker_id(), queues);
    cfg.concurrency = args.concurrency;
    cfg.prefetch = args.prefetch.unwrap_or(args.concurrency);
    cfg.poll = Duration::from_millis(args.poll_ms.max(1));
    cfg.lease = Duration::from_secs(args.lease_secs);
    cfg.drain = Duration::from_secs(args.drain_secs);
    cfg.reclaim_every = (cfg.lease / 2).max(Duration::from_secs(1));
    let id = cfg.id.clone();

    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let (stop, stopped) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutdown requested");
        let _ = stop.send(true);
        // Keep the sender alive so the worker sees `true`, not a closed channel.
        stop
    });

    let scheduler = if args.no_scheduler {
        None
    } else {
        schedule::ensure_defaults(db).await?;
        Some(tokio::spawn(schedule::run_scheduler(db.clone(), stopped.clone())))
    };
    let wakeups = if db.bus().is_some() {
        "Redis wake-ups"
    } else {
        "polling only"
    };
    eprintln!("worker {id} started: {serving} ({wakeups})");
    let stats = Worker::new(db.clone(), cfg, handlers(config, db).await)
        .run(stopped)
        .await?;
    watcher.abort();
    if let Some(s) = scheduler {
        // It stops on the same signal; a panic in it must not hide the worker's stats.
        if s.await.is_err() {
            tracing::error!("scheduler task failed");
        }
    }
    eprintln!(
        "worker {id} stopped: {} claimed, {} succeeded, {} failed attempts, {} released",
        stats.claimed, stats.succeeded, stats.failed, stats.released
    );
    Ok(())
}
