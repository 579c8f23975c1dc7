//! Job lifecycle events: what live screens and `painel jobs watch` show. With Redis they are
//! published by whoever changes a job (after the change commits) and reach every instance;
//! without Redis, [`poll_changes`] derives them from the rows (`updated_at`), so the feeds
//! still move, only slower.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Job;
use crate::args;
use crate::bus::EVENTS_CHANNEL;
use crate::db::{Db, Tx};
use crate::error::ServiceError;

/// Events per published message (a JSON array).
const PER_MESSAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Enqueued,
    Started,
    Succeeded,
    /// A transient failure: queued again after a backoff.
    Retrying,
    /// A permanent failure.
    Failed,
    /// Out of attempts.
    Dead,
    Cancelled,
    /// An operator put a finished job back in the queue.
    Retried,
    /// Back in the queue after its worker's lease expired or the worker gave it back.
    Requeued,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Enqueued => "enqueued",
            EventKind::Started => "started",
            EventKind::Succeeded => "succeeded",
            EventKind::Retrying => "retrying",
            EventKind::Failed => "failed",
            EventKind::Dead => "dead",
            EventKind::Cancelled => "cancelled",
            EventKind::Retried => "retried",
            EventKind::Requeued => "requeued",
        }
    }

    /// Whether the failure feed shows it.
    pub fn is_failure(self) -> bool {
        matches!(self, EventKind::Retrying | EventKind::Failed | EventKind::Dead)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    pub at: DateTime<Utc>,
    pub event: EventKind,
    pub job_id: Uuid,
    pub queue: String,
    pub kind: String,
    pub attempt: i64,
    pub tenant_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl JobEvent {
    pub fn of(job: &Job, event: EventKind) -> JobEvent {
        JobEvent {
            at: job.updated_at,
            event,
            job_id: job.id,
            queue: job.queue.clone(),
            kind: job.kind.clone(),
            attempt: job.attempts,
            tenant_id: job.tenant_id,
            error: if event.is_failure() {
                job.last_error.clone()
            } else {
                None
            },
        }
    }

    /// The event a row's current status stands for (the polling fallback's view).
    pub fn from_row(job: &Job) -> JobEvent {
        let event = match job.status.as_str() {
            "running" => EventKind::Started,
            "succeeded" => EventKind::Succeeded,
            "failed" => EventKind::Failed,
            "dead" => EventKind::Dead,
            "cancelled" => EventKind::Cancelled,
            _ if job.last_error.is_some() && job.attempts > 0 => EventKind::Retrying,
            _ => EventKind::Enqueued,
        };
        JobEvent::of(job, event)
    }
}

fn encode(events: &[JobEvent]) -> Vec<String> {
    events
        .chunks(PER_MESSAGE)
        .filter_map(|c| serde_json::to_string(c).ok())
        .collect()
}

/// Publishes now: for changes that have committed.
pub fn publish(db: &Db, events: &[JobEvent]) {
    if db.bus().is_none() || events.is_empty() {
        return;
    }
    for msg in encode(events) {
        db.publish(EVENTS_CHANNEL, msg);
    }
}

/// Publishes once `tx` commits.
pub fn publish_after_commit(tx: &mut Tx, events: &[JobEvent]) {
    for msg in encode(events) {
        tx.after_commit(EVENTS_CHANNEL, msg);
    }
}

/// Reads one published message; a malformed one yields nothing.
pub fn decode(payload: &str) -> Vec<JobEvent> {
    serde_json::from_str(payload).unwrap_or_default()
}

/// Jobs changed after `(since, after_id)` in change order, at most `limit`: the polling
/// fallback of the live feeds. Running jobs are left out (index `jobs_updated_idx` does not
/// hold them, so heartbeats cost nothing): polling shows outcomes, not starts. `updated_at` is bound by the app on every change, so the
/// order is the order of changes (to the clock's precision).
pub async fn poll_changes(
    db: &Db,
    tenant: Option<Uuid>,
    since: DateTime<Utc>,
    after_id: Option<Uuid>,
    limit: usize,
) -> Result<Vec<Job>, ServiceError> {
    let mut args = args![since, after_id.unwrap_or(Uuid::nil())];
    let mut scope = String::new();
    if let Some(t) = tenant {
        args.push(t.into());
        scope = " AND tenant_id = $3".into();
    }
    let sql = format!(
        "SELECT {} FROM jobs WHERE status <> 'running' AND (updated_at > $1 OR (updated_at = $1 AND id > $2)){scope} \
         ORDER BY updated_at, id LIMIT {}",
        super::COLUMNS,
        limit.clamp(1, 1000)
    );
    db.fetch_all(&sql, args).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_in_chunks() {
        let e = JobEvent {
            at: crate::db::now(),
            event: EventKind::Dead,
            job_id: Uuid::now_v7(),
            queue: "q".into(),
            kind: "k".into(),
            attempt: 5,
            tenant_id: None,
            error: Some("boom".into()),
        };
        let many = vec![e.clone(); PER_MESSAGE + 1];
        let msgs = encode(&many);
        assert_eq!(msgs.len(), 2);
        let back: Vec<JobEvent> = msgs.iter().flat_map(|m| decode(m)).collect();
        assert_eq!(back, many);
        assert!(decode("not json").is_empty());
        assert!(EventKind::Dead.is_failure() && !EventKind::Succeeded.is_failure());
    }
}
