//! Group commit: concurrent requests hand their verified events to writer tasks; a writer
//! takes everything waiting (up to `max_batch`), inserts it in one transaction with the jobs,
//! commits once, and answers each request. A commit costs one fsync whatever it holds, so
//! throughput grows with concurrency instead of being capped by the disk's flush rate.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{Incoming, Outcome, JOB_KIND, JOB_QUEUE};
use crate::db::{now, Arg, Db};
use crate::error::ServiceError;
use crate::jobs::{self, NewJob};

/// Rows per multi-row INSERT (8 parameters each; SQLite allows 32,766).
const INSERT_ROWS: usize = 500;

#[derive(Debug, Clone, Copy)]
pub struct IntakeConfig {
    /// `false`: each request commits its own transaction (the baseline `bench webhooks`
    /// compares against).
    pub batching: bool,
    /// Most events in one commit.
    pub max_batch: usize,
    /// Writer tasks: one builds its batch while another's commit is flushing.
    pub writers: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            batching: true,
            max_batch: 1000,
            writers: 2,
        }
    }
}

type Reply = oneshot::Sender<Result<Outcome, ServiceError>>;

/// Where request handlers record verified events. Cheap to clone; when the last clone is
/// dropped the writers finish what they hold and stop ([`Intake::start`]'s handles).
#[derive(Clone)]
pub struct Intake {
    mode: Mode,
}

#[derive(Clone)]
enum Mode {
    Batched(mpsc::Sender<(Incoming, Reply)>),
    Direct(Db),
}

impl Intake {
    pub fn start(db: Db, cfg: IntakeConfig) -> (Intake, Vec<JoinHandle<()>>) {
        if !cfg.batching {
            return (Intake { mode: Mode::Direct(db) }, Vec::new());
        }
        let max = cfg.max_batch.max(1);
        let (tx, rx) = mpsc::channel::<(Incoming, Reply)>(max * 4);
        let rx = Arc::new(Mutex::new(rx));
        let writers = (0..cfg.writers.max(1))
            .map(|_| tokio::spawn(writer(db.clone(), rx.clone(), max)))
            .collect();
        (
            Intake {
                mode: Mode::Batched(tx),
            },
            writers,
        )
    }

    /// Records `ev` durably (committed) or says why not.
    pub async fn submit(&self, ev: Incoming) -> Result<Outcome, ServiceError> {
        match &self.mode {
            Mode::Direct(db) => {
                let mut out = record_batch(db, std::slice::from_ref(&ev)).await?;
                out.pop()
                    .ok_or_else(|| ServiceError::Unavailable("webhook intake returned nothing".into()))
            }
            Mode::Batched(tx) => {
                let (reply, answer) = oneshot::channel();
                tx.send((ev, reply))
                    .await
                    .map_err(|_| ServiceError::Unavailable("webhook intake is shutting down".into()))?;
                answer
                    .await
                    .map_err(|_| ServiceError::Unavailable("webhook intake stopped".into()))?
            }
        }
    }
}

async fn writer(db: Db, rx: Arc<Mutex<mpsc::Receiver<(Incoming, Reply)>>>, max: usize) {
    let mut batch: Vec<(Incoming, Reply)> = Vec::with_capacity(max);
    loop {
        {
            // One writer gathers at a time; the others are committing meanwhile.
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(first) => batch.push(first),
                None => return,
            }
            while batch.len() < max {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
        }
        let (events, replies): (Vec<Incoming>, Vec<Reply>) = batch.drain(..).unzip();
        match record_batch(&db, &events).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, events = events.len(), "webhook batch not recorded");
                let why = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(ServiceError::Unavailable(why.clone())));
                }
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct Inserted {
    id: Uuid,
    provider: String,
    event_id: String,
}

/// Inserts `events` in one transaction — `ON CONFLICT (provider, event_id) DO NOTHING`, so
/// an event seen before (or twice in this batch) is a [`Outcome::Duplicate`] — with one job
/// per new event, and commits. Outcomes are in the order of `events`.
pub async fn record_batch(db: &Db, events: &[Incoming]) -> Result<Vec<Outcome>, ServiceError> {
    let at = now();
    // The first of equal ids in this batch is the one inserted.
    let mut first: HashMap<(&'static str, &str), usize> = HashMap::new();
    let mut fresh: Vec<(usize, Uuid)> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(v) = first.entry((ev.provider.as_str(), ev.event_id.as_str()))
        {
            v.insert(i);
            fresh.push((i, Uuid::now_v7()));
        }
    }
    let mut tx = db.begin().await?;
    let mut inserted: HashMap<(String, String), Uuid> = HashMap::new();
    for chunk in fresh.chunks(INSERT_ROWS) {
        let mut values = Vec::with_capacity(chunk.len());
        let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * 6);
        for (i, id) in chunk {
            let ev = &events[*i];
            let b = args.len();
            values.push(format!(
                "(${}, ${}, ${}, ${}, TRUE, 'received', ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
            args.extend(crate::args![
                *id,
                ev.provider.as_str(),
                ev.event_id.as_str(),
                ev.event_type.as_str(),
                ev.payload.clone(),
                at
            ]);
        }
        let sql = format!(
            "INSERT INTO webhook_events (id, provider, event_id, event_type, signature_valid, status, payload, received_at) \
             VALUES {} ON CONFLICT (provider, event_id) DO NOTHING RETURNING id, provider, event_id",
            values.join(", ")
        );
        for row in tx.fetch_all::<Inserted>(&sql, args).await? {
            inserted.insert((row.provider, row.event_id), row.id);
        }
    }
    let jobs: Vec<NewJob> = inserted
        .values()
        .map(|id| NewJob {
            queue: JOB_QUEUE.into(),
            kind: JOB_KIND.into(),
            payload: json!({ "webhook_event_id": id }),
            enqueued_by: "webhook".into(),
            ..Default::default()
        })
        .collect();
    if !jobs.is_empty() {
        jobs::enqueue_many(&mut tx, jobs).await?;
    }
    tx.commit().await?;
    Ok(events
        .iter()
        .enumerate()
        .map(|(i, ev)| {
            let key = (ev.provider.as_str(), ev.event_id.as_str());
            match inserted.get(&(key.0.to_owned(), key.1.to_owned())) {
                Some(id) if first.get(&key) == Some(&i) => Outcome::Recorded(*id),
                _ => Outcome::Duplicate,
            }
        })
        .collect())
}
