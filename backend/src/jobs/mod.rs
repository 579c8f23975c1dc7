//! The job queue (docs/adr/0004-job-queue.md). Jobs live in the `jobs` table, so a state
//! change and the job it implies commit together: [`enqueue`] runs inside the caller's
//! transaction. Workers [`claim`] batches under a lease, renew it with [`heartbeat`], and
//! report [`complete`] or [`fail`]; [`reclaim_expired`] returns the jobs of a worker that
//! died to the queue (at-least-once delivery, so handlers must be idempotent).
//! Operators read and steer the queue through [`admin`], permission-checked and audited.

pub mod admin;
pub mod backoff;
pub mod checkpoint;
pub mod events;
pub mod feed;
pub mod handlers;
mod queue;
pub mod schedule;
pub mod worker;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::actor::{Actor, Role};

pub use backoff::{backoff, RetryPolicy};
pub use events::{EventKind, JobEvent};
pub use queue::{
    claim, complete, complete_many, enqueue, enqueue_many, fail, fail_with, heartbeat, reclaim_expired, release,
    MAX_BATCH,
};
pub use worker::{Handlers, Worker, WorkerConfig};

/// In a worker's queue list: every queue, including ones that appear later.
pub const ALL_QUEUES: &str = "*";

/// Whether a worker serving `queues` takes jobs of `queue`.
pub fn serves(queues: &[String], queue: &str) -> bool {
    queues.iter().any(|q| q == ALL_QUEUES || q == queue)
}

pub const STATUSES: [&str; 6] = ["queued", "running", "succeeded", "failed", "dead", "cancelled"];

/// Attempts a job gets unless its enqueuer says otherwise (the schema default too).
pub const DEFAULT_MAX_ATTEMPTS: i64 = 5;

pub(crate) const COLUMNS: &str = "id, queue, kind, payload, status, attempts, max_attempts, run_at, lease_until, \
    locked_by, last_error, error_history, unique_key, tenant_id, enqueued_by, created_at, updated_at, finished_at, started_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub payload: Value,
    pub status: String,
    /// Claims so far, the running one included.
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    /// `[{attempt, at, error, kind}]`, oldest first.
    pub error_history: Value,
    pub unique_key: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub enqueued_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the latest attempt was claimed.
    pub started_at: Option<DateTime<Utc>>,
}

impl Job {
    /// Who a handler acts as: the job's tenant scope, with the enqueuing actor's name and
    /// `job:<id>` as the source, so audit rows say who asked for the work (docs/adr/0014).
    /// A tenant's job acts as a tenant-scoped admin of that tenant — what enqueueing it
    /// needed (`jobs:manage` there) — so platform-only permissions stay out of its reach;
    /// a platform job (scheduler, platform staff) acts platform-wide, as the worker did.
    pub fn actor(&self) -> Actor {
        let role = if self.tenant_id.is_some() {
            Role::TenantAdmin
        } else {
            Role::SuperAdmin
        };
        Actor {
            user_id: None,
            name: self.enqueued_by.clone(),
            role,
            tenant_id: self.tenant_id,
            source: format!("job:{}", self.id),
            session_id: None,
            grants: crate::authz::Grants::default(),
            read_only: false,
        }
    }
}

/// What to enqueue. `None`s take the defaults: run now, [`DEFAULT_MAX_ATTEMPTS`], not unique,
/// platform-wide.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub queue: String,
    pub kind: String,
    pub payload: Value,
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: Option<i64>,
    /// While a job with this key is queued or running, enqueueing it again returns that job.
    pub unique_key: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub enqueued_by: String,
}

/// How a handler failed: a transient error is retried with backoff until the attempts run
/// out (then the job is dead); a permanent one fails the job at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    Transient(String),
    Permanent(String),
}

impl JobError {
    pub fn message(&self) -> &str {
        match self {
            JobError::Transient(m) | JobError::Permanent(m) => m,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            JobError::Transient(_) => "transient",
            JobError::Permanent(_) => "permanent",
        }
    }
}
