//! The worker: `concurrency` job slots over some queues (docs/adr/0004-job-queue.md).
//!
//! One loop keeps a small buffer of claimed jobs (`prefetch` beyond the slots) so a slot that
//! frees up starts the next job without a database round trip; claims for the next batches
//! run while jobs run — up to [`CLAIMS_IN_FLIGHT`] at once, so the buffer refills while the
//! database works on a claim. Successes are written in batches by [`COMPLETERS`] completer
//! tasks (one UPDATE and one commit for everything that finished while the previous batch
//! was being written), so the database sees a few statements per hundred jobs instead of one
//! per job. Failures are
//! rare and reported one by one. Every job the worker holds — buffered, running or awaiting
//! its completion write — keeps its lease renewed; a worker killed at any point leaves only
//! leased rows, which come back when the lease expires (at-least-once).
//!
//! With a Redis bus on the [`Db`], a wake-up for one of our queues makes the loop claim at
//! once instead of waiting out `poll`. On shutdown the worker stops claiming, gives back the
//! buffered jobs, lets running ones finish within `drain`, then releases the rest without
//! counting their attempt.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::{AbortHandle, JoinError, JoinHandle, JoinSet};
use tokio::time::{interval, sleep_until, Instant, MissedTickBehavior};
use uuid::Uuid;

use super::{
    claim, complete_many, fail_with, heartbeat, reclaim_expired, release, Job, JobError, RetryPolicy, MAX_BATCH,
};
use crate::bus::{BusMessage, WAKE_CHANNEL};
use crate::db::Db;
use crate::error::ServiceError;

/// Claims a worker keeps in flight at once. One claim of a few hundred jobs takes the
/// database several milliseconds, in which a busy worker empties its buffer; a second claim
/// sent while the first runs keeps it filled (docs/adr/0004, "Pipelined claims").
pub const CLAIMS_IN_FLIGHT: usize = 2;

/// Completion writers of one worker: while one writes its batch, the next batch gathers in
/// the other, so a slow commit does not hold back the next.
pub const COMPLETERS: usize = 2;

/// What a handler returns: a boxed future, so handlers of different types share a registry.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'static>>;
type Handler = Arc<dyn Fn(Job, Db) -> HandlerFuture + Send + Sync>;

/// `kind` → handler. A claimed job whose kind has no handler fails permanently.
#[derive(Clone, Default)]
pub struct Handlers {
    map: HashMap<String, Handler>,
    /// Backoff of kinds that override the worker's (e.g. a provider that asks for minutes).
    retry: HashMap<String, RetryPolicy>,
}

impl Handlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The handlers every worker process has (see [`super::handlers`]).
    pub fn builtin() -> Self {
        let mut h = Self::new();
        h.register("noop", super::handlers::noop);
        h.register("audit.note", super::handlers::audit_note);
        h.register("jobs.cleanup", super::handlers::jobs_cleanup);
        h.register("audit.checkpoint", super::checkpoint::audit_checkpoint);
        h.register(
            crate::billing::webhooks::JOB_KIND,
            crate::billing::webhooks::process::handle,
        );
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

    /// Transient failures of `kind` back off by `policy` instead of the worker's default.
    pub fn retry_policy(&mut self, kind: &str, policy: RetryPolicy) -> &mut Self {
        self.retry.insert(kind.to_owned(), policy);
        self
    }

    /// Whether this build has a handler for `kind` (the queue screen marks kinds without one).
    pub fn handles(&self, kind: &str) -> bool {
        self.map.contains_key(kind)
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
    /// Jobs claimed ahead of free slots. More means fewer claims per job (throughput); less
    /// leaves more work for other workers.
    pub prefetch: usize,
    /// Sleep when nothing is claimable (a Redis wake-up cuts it short).
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
            prefetch: 4,
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
    /// Claim statements run (`claimed / claims` is the mean claim batch).
    pub claims: u64,
    /// Completion batches written (`succeeded / completion_writes` is the mean batch).
    pub completion_writes: u64,
}

/// A job's task as the loop tracks it. `reporting` turns true once the handler has returned:
/// from then on only the (lease-checked) outcome report is left, which is never aborted.
struct Running {
    abort: AbortHandle,
    reporting: Arc<AtomicBool>,
}

enum Outcome {
    /// The handler succeeded; the completer writes it.
    Succeeded,
    Failed,
    Lost,
}

/// What the completer wrote: ids sent, ids the database accepted (still held by us).
type Flushed = (Vec<Uuid>, Result<Vec<Uuid>, ServiceError>);

pub struct Worker {
    db: Db,
    cfg: WorkerConfig,
    handlers: Arc<Handlers>,
}

/// The loop's state, apart from the worker's fixed parts.
struct State {
    stats: WorkerStats,
    tasks: JoinSet<(Uuid, Outcome)>,
    running: HashMap<Uuid, Running>,
    /// Claimed, not started.
    buffer: VecDeque<Job>,
    /// Succeeded, completion not yet written.
    unflushed: HashSet<Uuid>,
    /// Claims in flight.
    claims: JoinSet<ClaimDone>,
    /// Jobs asked for by the claims in flight.
    asked: usize,
    /// Wake-ups received so far. A claim sent before the latest one may have read the queue
    /// before the woken job was committed, so its short answer must not put the next look off.
    wakes: u64,
    next_claim: Instant,
}

impl State {
    fn new() -> Self {
        State {
            stats: WorkerStats::default(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            buffer: VecDeque::new(),
            unflushed: HashSet::new(),
            claims: JoinSet::new(),
            asked: 0,
            wakes: 0,
            next_claim: Instant::now(),
        }
    }

    /// How many more jobs a claim sent now should ask for, if one should be sent (time
    /// aside): with none in flight, whatever fits; beside another, only a sizeable batch —
    /// small claims cost the database nearly as much as large ones.
    fn to_claim(&self, capacity: usize) -> Option<usize> {
        if self.claims.len() >= CLAIMS_IN_FLIGHT {
            return None;
        }
        let free = capacity.saturating_sub(self.buffer.len() + self.running.len() + self.asked);
        let least = if self.claims.is_empty() {
            1
        } else {
            (capacity / 4).max(1)
        };
        (free >= least).then_some(free)
    }

    fn held(&self) -> Vec<Uuid> {
        self.running
            .keys()
            .chain(self.unflushed.iter())
            .copied()
            .chain(self.buffer.iter().map(|j| j.id))
            .collect()
    }
}

/// What a claim task returns: how many jobs it asked for, the wake-ups seen when it was sent,
/// and its answer.
struct ClaimDone {
    want: usize,
    wakes: u64,
    result: Result<Vec<Job>, ServiceError>,
}

type Claimed = Result<ClaimDone, JoinError>;

/// The answer of a claim task, and whether it says the queue is empty for now: fewer jobs
/// than asked for, from a claim sent after the latest wake-up. A task that died takes its
/// count of asked jobs with it, so the count is rebuilt from nothing once no claim is left
/// in flight.
fn claim_answer(st: &mut State, claimed: Claimed) -> Result<(Vec<Job>, bool), ServiceError> {
    match claimed {
        Ok(ClaimDone { want, wakes, result }) => {
            st.asked = st.asked.saturating_sub(want);
            result.map(|jobs| {
                let empty = jobs.len() < want && wakes == st.wakes;
                (jobs, empty)
            })
        }
        Err(e) => {
            if st.claims.is_empty() {
                st.asked = 0;
            }
            Err(ServiceError::Unavailable(format!("claim task failed: {e}")))
        }
    }
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
        let capacity = (slots + cfg.prefetch).min(MAX_BATCH.max(slots));
        let poll = cfg.poll.max(Duration::from_millis(1));
        let mut st = State::new();
        let mut beat = interval((cfg.lease / 3).max(Duration::from_millis(10)));
        beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sweep = interval(cfg.reclaim_every.max(Duration::from_millis(10)));
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut wake = match self.db.bus() {
            Some(bus) => bus.subscribe(&[WAKE_CHANNEL]),
            None => mpsc::channel(1).1,
        };
        let (done_tx, done_rx) = mpsc::unbounded_channel::<Uuid>();
        let (flushed_tx, mut flushed_rx) = mpsc::unbounded_channel::<Flushed>();
        let done_rx = Arc::new(Mutex::new(done_rx));
        let completers: Vec<JoinHandle<()>> = (0..COMPLETERS)
            .map(|_| {
                tokio::spawn(completer(
                    self.db.clone(),
                    cfg.id.clone(),
                    done_rx.clone(),
                    flushed_tx.clone(),
                ))
            })
            .collect();
        drop(flushed_tx);
        tracing::info!(worker = %cfg.id, queues = ?cfg.queues, slots, capacity, "worker started");

        loop {
            if *shutdown.borrow() {
                break;
            }
            while st.running.len() < slots {
                let Some(job) = st.buffer.pop_front() else { break };
                self.start(&mut st, job);
            }
            if let Some(want) = st.to_claim(capacity).filter(|_| Instant::now() >= st.next_claim) {
                let (db, id, queues, lease) = (self.db.clone(), cfg.id.clone(), cfg.queues.clone(), cfg.lease);
                st.asked += want;
                let wakes = st.wakes;
                st.claims.spawn(async move {
                    let result = claim(&db, &id, &queues, want, lease).await;
                    ClaimDone { want, wakes, result }
                });
            }
            let may_claim = st.to_claim(capacity).is_some();
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                Some(claimed) = st.claims.join_next(), if !st.claims.is_empty() => {
                    match claim_answer(&mut st, claimed) {
                        Ok((jobs, empty)) => {
                            st.stats.claims += 1;
                            if empty {
                                st.next_claim = Instant::now() + poll;
                            }
                            st.stats.claimed += jobs.len() as u64;
                            st.buffer.extend(jobs);
                        }
                        Err(e) => {
                            tracing::warn!(worker = %cfg.id, error = %e, "claim failed");
                            st.next_claim = Instant::now() + poll;
                        }
                    }
                }
                Some(done) = st.tasks.join_next_with_id(), if !st.tasks.is_empty() => {
                    record(&mut st, done, &done_tx);
                }
                Some(flushed) = flushed_rx.recv() => flush_done(&mut st, flushed),
                Some(msg) = wake.recv() => {
                    let look = match msg {
                        BusMessage::Message { payload, .. } => super::serves(&cfg.queues, &payload),
                        // Up or down: a wake-up may have been missed, so look now.
                        _ => true,
                    };
                    if look {
                        st.next_claim = Instant::now();
                        st.wakes += 1;
                    }
                }
                _ = beat.tick() => self.renew(&mut st).await,
                _ = sweep.tick() => self.sweep().await,
                _ = sleep_until(st.next_claim), if may_claim => {}
            }
        }

        tracing::info!(worker = %cfg.id, running = st.running.len(), "worker draining");
        // Claims in flight still land their jobs in the buffer, which goes back at once.
        while let Some(claimed) = st.claims.join_next().await {
            if let Ok((jobs, _)) = claim_answer(&mut st, claimed) {
                st.stats.claimed += jobs.len() as u64;
                st.buffer.extend(jobs);
            }
        }
        let buffered: Vec<Uuid> = st.buffer.drain(..).map(|j| j.id).collect();
        self.give_back(&mut st, &buffered).await?;
        // Running jobs may finish (leases still renewed) until the deadline.
        let deadline = Instant::now() + cfg.drain;
        while !st.tasks.is_empty() {
            tokio::select! {
                Some(done) = st.tasks.join_next_with_id() => record(&mut st, done, &done_tx),
                Some(flushed) = flushed_rx.recv() => flush_done(&mut st, flushed),
                _ = beat.tick() => self.renew(&mut st).await,
                _ = sleep_until(deadline) => break,
            }
        }
        st.tasks.shutdown().await;
        // Completions still queued are written before anything is released.
        drop(done_tx);
        for c in completers {
            if c.await.is_err() {
                tracing::error!(worker = %cfg.id, "completion writer failed; leases will expire");
            }
        }
        while let Ok(flushed) = flushed_rx.try_recv() {
            flush_done(&mut st, flushed);
        }
        let left: Vec<Uuid> = st.running.keys().copied().collect();
        self.give_back(&mut st, &left).await?;
        tracing::info!(worker = %cfg.id, stats = ?st.stats, "worker stopped");
        Ok(st.stats)
    }

    async fn give_back(&self, st: &mut State, ids: &[Uuid]) -> Result<(), ServiceError> {
        if ids.is_empty() {
            return Ok(());
        }
        let released = release(&self.db, &self.cfg.id, ids).await?;
        st.stats.released += released.len() as u64;
        tracing::info!(worker = %self.cfg.id, released = released.len(), "released unfinished jobs");
        Ok(())
    }

    fn start(&self, st: &mut State, job: Job) {
        let id = job.id;
        let reporting = Arc::new(AtomicBool::new(false));
        let abort = st.tasks.spawn(self.run_job(job, reporting.clone()));
        st.running.insert(id, Running { abort, reporting });
    }

    /// The task of one job: run its handler (a panic is a permanent failure); report a
    /// failure itself, leave a success to the completer.
    fn run_job(&self, job: Job, reporting: Arc<AtomicBool>) -> impl Future<Output = (Uuid, Outcome)> + Send + 'static {
        let db = self.db.clone();
        let handler = self.handlers.get(&job.kind);
        let worker_id = self.cfg.id.clone();
        let policy = self.handlers.retry.get(&job.kind).copied().unwrap_or(self.cfg.retry);
        async move {
            let id = job.id;
            let kind = job.kind.clone();
            let tenant = job.tenant_id;
            let result = match handler {
                None => Err(JobError::Permanent(format!("no handler for kind {kind}"))),
                // A tenant's job works inside that tenant's row-level security scope.
                Some(h) => match AssertUnwindSafe(h(job, db.scoped(tenant))).catch_unwind().await {
                    Ok(r) => r,
                    Err(_) => Err(JobError::Permanent(format!("handler for kind {kind} panicked"))),
                },
            };
            reporting.store(true, Ordering::SeqCst);
            let e = match result {
                Ok(()) => return (id, Outcome::Succeeded),
                Err(e) => e,
            };
            tracing::warn!(job = %id, %kind, error = e.message(), class = e.kind(), "job failed");
            // Boxed: this rare path's state would otherwise make every job's task several
            // kilobytes, copied on each spawn (it showed in profiles as memmove).
            match Box::pin(fail_with(&db, &worker_id, id, e, &policy)).await {
                Ok(_) => (id, Outcome::Failed),
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

    /// Extends the leases of every job held; one no longer held (reclaimed) is dropped from
    /// the buffer, or stopped if its handler still runs.
    async fn renew(&self, st: &mut State) {
        let ids = st.held();
        if ids.is_empty() {
            return;
        }
        match heartbeat(&self.db, &self.cfg.id, &ids, self.cfg.lease).await {
            Ok(held) => {
                let held: HashSet<Uuid> = held.into_iter().collect();
                st.buffer.retain(|j| held.contains(&j.id));
                for id in ids.into_iter().filter(|id| !held.contains(id)) {
                    // Either its handler is done (reporting, or its completion is being
                    // written) or another worker owns it now: then stop the handler.
                    if let Some(r) = st.running.get(&id) {
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

/// Writes completions in batches: whatever arrived while the previous batch was written.
/// Several share the receiver; each takes a batch, lets go of it, then writes.
async fn completer(
    db: Db,
    worker_id: String,
    rx: Arc<Mutex<mpsc::UnboundedReceiver<Uuid>>>,
    out: mpsc::UnboundedSender<Flushed>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.lock().await.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let ids = std::mem::take(&mut batch);
        let mut result = complete_many(&db, &worker_id, &ids).await;
        if let Err(e) = &result {
            // A database hiccup: try once more before leaving it to the leases.
            tracing::warn!(worker = %worker_id, error = %e, n = ids.len(), "completion write failed; retrying");
            tokio::time::sleep(Duration::from_millis(100)).await;
            result = complete_many(&db, &worker_id, &ids).await;
        }
        if out.send((ids, result)).is_err() {
            return;
        }
    }
}

fn flush_done(st: &mut State, (sent, result): Flushed) {
    let written: HashSet<Uuid> = match result {
        Ok(ids) => ids.into_iter().collect(),
        Err(e) => {
            // The lease runs out and the jobs run again: at-least-once.
            tracing::error!(error = %e, n = sent.len(), "cannot record completions");
            HashSet::new()
        }
    };
    st.stats.completion_writes += 1;
    for id in sent {
        st.unflushed.remove(&id);
        if written.contains(&id) {
            st.stats.succeeded += 1;
        } else {
            st.stats.lost += 1;
        }
    }
}

fn record(
    st: &mut State,
    done: Result<(tokio::task::Id, (Uuid, Outcome)), JoinError>,
    completions: &mpsc::UnboundedSender<Uuid>,
) {
    match done {
        Ok((_, (id, outcome))) => {
            st.running.remove(&id);
            match outcome {
                Outcome::Succeeded => {
                    if completions.send(id).is_ok() {
                        st.unflushed.insert(id);
                    } else {
                        st.stats.lost += 1;
                    }
                }
                Outcome::Failed => st.stats.failed += 1,
                Outcome::Lost => st.stats.lost += 1,
            }
        }
        // Aborted after losing its lease.
        Err(e) => {
            let task = e.id();
            st.running.retain(|_, r| r.abort.id() != task);
            st.stats.lost += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_flight(st: &mut State, want: usize) {
        st.asked += want;
        st.claims.spawn(async move {
            let result = std::future::pending::<Result<Vec<Job>, ServiceError>>().await;
            ClaimDone { want, wakes: 0, result }
        });
    }

    #[tokio::test]
    async fn a_second_claim_goes_out_only_for_a_sizeable_batch_and_never_a_third() {
        let mut st = State::new();
        // Idle: the first claim asks for everything there is room for.
        assert_eq!(st.to_claim(40), Some(40));
        in_flight(&mut st, 40);
        // It asked for all the room: nothing more until its jobs come and go.
        assert_eq!(st.to_claim(40), None);
        st.claims.abort_all();
        while st.claims.join_next().await.is_some() {}
        st.asked = 0;
        // One claim in flight for 25 of 40: 15 free is more than a quarter, so a second goes.
        in_flight(&mut st, 25);
        assert_eq!(st.to_claim(40), Some(15));
        // 5 free beside a claim in flight is not worth a statement; alone it would be.
        st.asked = 35;
        assert_eq!(st.to_claim(40), None);
        // Two in flight: never a third, whatever the room.
        st.asked = 0;
        in_flight(&mut st, 1);
        assert_eq!(st.claims.len(), CLAIMS_IN_FLIGHT);
        assert_eq!(st.to_claim(1000), None);
        st.claims.abort_all();
    }

    #[tokio::test]
    async fn a_claim_task_that_dies_leaves_no_asked_count_behind() {
        let mut st = State::new();
        st.asked = 30;
        st.claims.spawn(async {
            panic!("claim task died");
        });
        let claimed = st.claims.join_next().await.expect("one task");
        assert!(claim_answer(&mut st, claimed).is_err());
        assert_eq!(st.asked, 0);
        assert_eq!(st.to_claim(30), Some(30));
    }

    #[tokio::test]
    async fn a_short_answer_means_empty_only_from_a_claim_sent_after_the_latest_wake_up() {
        let mut st = State::new();
        let done = |want, wakes| -> Claimed {
            Ok(ClaimDone {
                want,
                wakes,
                result: Ok(Vec::new()),
            })
        };
        // No wake-up since it was sent: the queue is empty for now.
        st.asked = 10;
        let (jobs, empty) = claim_answer(&mut st, done(10, 0)).expect("answer");
        assert!(jobs.is_empty() && empty);
        assert_eq!(st.asked, 0);
        // Two claims sent before a wake-up (both may have read the queue before the woken
        // job committed): neither short answer puts the next look off — with two claims in
        // flight a single "woken" flag was spent by the first and the second postponed it.
        st.wakes = 1;
        st.asked = 20;
        assert!(!claim_answer(&mut st, done(10, 0)).expect("first").1);
        assert!(!claim_answer(&mut st, done(10, 0)).expect("second").1);
        // A claim sent after the wake-up saw the woken job's commit: short means empty.
        st.asked = 10;
        assert!(claim_answer(&mut st, done(10, 1)).expect("third").1);
    }
}
