//! The worker: `concurrency` job slots over some queues. One loop claims due jobs into free
//! slots (sleeping `poll` when nothing is claimable), renews the leases of running jobs every
//! `lease / 3`, and sweeps expired leases so a crashed worker's jobs come back. Each job runs
//! as a tokio task through [`Handlers`] and reports `complete` or `fail_with` itself. On
//! shutdown the worker stops claiming, lets running jobs finish within `drain`, then releases
//! the rest to the queue without counting their attempt (docs/adr/0004-job-queue.md).

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinError, JoinSet};
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};
use uuid::Uuid;

use super::{claim, complete, fail_with, heartbeat, reclaim_expired, release, Job, JobError, RetryPolicy};
use crate::db::Db;
use crate::error::ServiceError;

/// What a handler returns: a boxed future, so handlers of different types share a registry.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'static>>;
type Handler = Arc<dyn Fn(Job, Db) -> HandlerFuture + Send + Sync>;

/// `kind` → handler. A claimed job whose kind has no handler fails permanently.
#[derive(Clone, Default)]
pub struct Handlers {
    map: HashMap<String, Handler>,
}

impl Handlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The handlers every worker process has: `noop` and `audit.note` (see [`super::handlers`]).
    pub fn builtin() -> Self {
        let mut h = Self::new();
        h.register("noop", super::handlers::noop);
        h.register("audit.note", super::handlers::audit_note);
        h
    }

    /// Registers (or replaces) the handler of `kind`.
    pub fn register<F, Fut>(&mut self, kind: &str, f: F) -> &mut Self
    where
        F: Fn(Job, Db) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.map.insert(
            kind.to_owned(),
            Arc::new(move |job, db| Box::pin(f(job, db)) as HandlerFuture),
        );
        self
    }

    pub fn kinds(&self) -> Vec<&str> {
        let mut k: Vec<&str> = self.map.keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    fn get(&self, kind: &str) -> Option<Handler> {
        self.map.get(kind).cloned()
    }
}

/// How a worker runs. [`WorkerConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Written to `locked_by`; unique per process (the CLI uses `hostname:pid:random`).
    pub id: String,
    pub queues: Vec<String>,
    /// Jobs running at once.
    pub concurrency: usize,
    /// Sleep when nothing is claimable.
    pub poll: Duration,
    /// Lease taken by a claim and renewed every `lease / 3`.
    pub lease: Duration,
    /// How long running jobs may take to finish after shutdown is asked for.
    pub drain: Duration,
    /// How often expired leases (of any worker) are swept back to the queue.
    pub reclaim_every: Duration,
    /// Backoff of transient failures.
    pub retry: RetryPolicy,
}

impl WorkerConfig {
    pub fn new(id: impl Into<String>, queues: Vec<String>) -> Self {
        WorkerConfig {
            id: id.into(),
            queues,
            concurrency: 4,
            poll: Duration::from_millis(500),
            lease: Duration::from_secs(30),
            drain: Duration::from_secs(30),
            reclaim_every: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// What a worker did, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub claimed: u64,
    pub succeeded: u64,
    /// Failed attempts (requeued, failed or dead).
    pub failed: u64,
    /// Outcomes not recorded because the lease was lost.
    pub lost: u64,
    /// Jobs given back to the queue at shutdown.
    pub released: u64,
}

/// A job's task as the loop tracks it. `reporting` turns true once the handler has returned:
/// from then on only the (lease-checked) outcome report is left, which is never aborted.
struct Running {
    abort: AbortHandle,
    reporting: Arc<AtomicBool>,
}

enum Outcome {
    Succeeded,
    Failed,
    Lost,
}

pub struct Worker {
    db: Db,
    cfg: WorkerConfig,
    handlers: Arc<Handlers>,
}

impl Worker {
    pub fn new(db: Db, cfg: WorkerConfig, handlers: Handlers) -> Self {
        Worker {
            db,
            cfg,
            handlers: Arc::new(handlers),
        }
    }

    pub fn id(&self) -> &str {
        &self.cfg.id
    }

    /// Runs until `shutdown` turns true (or its sender is dropped), then drains and releases.
    /// Database errors in the loop are logged and retried after `poll`; they never stop it.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<WorkerStats, ServiceError> {
        let cfg = &self.cfg;
        let slots = cfg.concurrency.max(1);
        let poll = cfg.poll.max(Duration::from_millis(1));
        let mut stats = WorkerStats::default();
        let mut tasks: JoinSet<(Uuid, Outcome)> = JoinSet::new();
        let mut running: HashMap<Uuid, Running> = HashMap::new();
        let mut beat = interval((cfg.lease / 3).max(Duration::from_millis(10)));
        beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sweep = interval(cfg.reclaim_every.max(Duration::from_millis(10)));
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut next_claim = Instant::now();
        tracing::info!(worker = %cfg.id, queues = ?cfg.queues, slots, "worker started");

        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = slots.saturating_sub(running.len());
            if free > 0 && Instant::now() >= next_claim {
                match claim(&self.db, &cfg.id, &cfg.queues, free, cfg.lease).await {
                    Ok(jobs) => {
                        // Fewer than asked for: the queue is empty for now.
                        if jobs.len() < free {
                            next_claim = Instant::now() + poll;
                        }
                        for job in jobs {
                            stats.claimed += 1;
                            let id = job.id;
                            let reporting = Arc::new(AtomicBool::new(false));
                            let abort = tasks.spawn(self.run_job(job, reporting.clone()));
                            running.insert(id, Running { abort, reporting });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(worker = %cfg.id, error = %e, "claim failed");
                        next_claim = Instant::now() + poll;
                    }
                }
                continue;
            }
            let can_claim = running.len() < slots;
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    record(&mut stats, &mut running, done);
                }
                _ = beat.tick() => self.renew(&mut running).await,
                _ = sweep.tick() => self.sweep().await,
                _ = sleep_until(next_claim), if can_claim => {}
            }
        }

        // Drain: no more claims; running jobs may finish (leases still renewed) until the deadline.
        tracing::info!(worker = %cfg.id, running = running.len(), "worker draining");
        let deadline = Instant::now() + cfg.drain;
        while !tasks.is_empty() {
            tokio::select! {
                Some(done) = tasks.join_next_with_id() => record(&mut stats, &mut running, done),
                _ = beat.tick() => self.renew(&mut running).await,
                _ = sleep_until(deadline) => break,
            }
        }
        // Whatever still runs is stopped and given back, its attempt not counted.
        tasks.shutdown().await;
        let left: Vec<Uuid> = running.keys().copied().collect();
        if !left.is_empty() {
            let released = release(&self.db, &cfg.id, &left).await?;
            stats.released = released.len() as u64;
            tracing::info!(worker = %cfg.id, released = released.len(), "released unfinished jobs");
        }
        tracing::info!(worker = %cfg.id, ?stats, "worker stopped");
        Ok(stats)
    }

    /// The task of one job: run its handler (a panic is a permanent failure), then report.
    fn run_job(&self, job: Job, reporting: Arc<AtomicBool>) -> impl Future<Output = (Uuid, Outcome)> + Send + 'static {
        let db = self.db.clone();
        let handler = self.handlers.get(&job.kind);
        let worker_id = self.cfg.id.clone();
        let policy = self.cfg.retry;
        async move {
            let id = job.id;
            let kind = job.kind.clone();
            let result = match handler {
                None => Err(JobError::Permanent(format!("no handler for kind {kind}"))),
                Some(h) => match AssertUnwindSafe(h(job, db.clone())).catch_unwind().await {
                    Ok(r) => r,
                    Err(_) => Err(JobError::Permanent(format!("handler for kind {kind} panicked"))),
                },
            };
            reporting.store(true, Ordering::SeqCst);
            let reported = match &result {
                Ok(()) => complete(&db, &worker_id, id).await.map(|_| Outcome::Succeeded),
                Err(e) => {
                    tracing::warn!(job = %id, %kind, error = e.message(), class = e.kind(), "job failed");
                    fail_with(&db, &worker_id, id, e.clone(), &policy)
                        .await
                        .map(|_| Outcome::Failed)
                }
            };
            match reported {
                Ok(o) => (id, o),
                Err(ServiceError::Conflict(m)) => {
                    tracing::warn!(job = %id, "outcome not recorded: {m}");
                    (id, Outcome::Lost)
                }
                Err(e) => {
                    // The lease runs out and the job is reclaimed: at-least-once.
                    tracing::error!(job = %id, error = %e, "cannot record the outcome");
                    (id, Outcome::Lost)
                }
            }
        }
    }

    /// Extends the leases of running jobs; a job no longer held (reclaimed) is stopped.
    async fn renew(&self, running: &mut HashMap<Uuid, Running>) {
        let ids: Vec<Uuid> = running.keys().copied().collect();
        if ids.is_empty() {
            return;
        }
        match heartbeat(&self.db, &self.cfg.id, &ids, self.cfg.lease).await {
            Ok(held) => {
                for id in ids.into_iter().filter(|id| !held.contains(id)) {
                    // Either its handler is done (it is reporting, or reported) or another
                    // worker owns it now: then stop the handler.
                    if let Some(r) = running.get(&id) {
                        if !r.reporting.load(Ordering::SeqCst) && !r.abort.is_finished() {
                            tracing::warn!(worker = %self.cfg.id, job = %id, "lease lost; stopping the job");
                            r.abort.abort();
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(worker = %self.cfg.id, error = %e, "heartbeat failed"),
        }
    }

    async fn sweep(&self) {
        match reclaim_expired(&self.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(worker = %self.cfg.id, reclaimed = n, "reclaimed expired leases"),
            Err(e) => tracing::warn!(worker = %self.cfg.id, error = %e, "reclaim failed"),
        }
    }
}

fn record(
    stats: &mut WorkerStats,
    running: &mut HashMap<Uuid, Running>,
    done: Result<(tokio::task::Id, (Uuid, Outcome)), JoinError>,
) {
    match done {
        Ok((_, (id, outcome))) => {
            running.remove(&id);
            match outcome {
                Outcome::Succeeded => stats.succeeded += 1,
                Outcome::Failed => stats.failed += 1,
                Outcome::Lost => stats.lost += 1,
            }
        }
        // Aborted after losing its lease.
        Err(e) => {
            let task = e.id();
            running.retain(|_, r| r.abort.id() != task);
            stats.lost += 1;
        }
    }
}
