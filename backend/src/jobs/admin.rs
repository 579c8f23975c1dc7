//! The operator side of the queue: list, show, retry, cancel, stats. Permission-checked
//! (`jobs:read`, `jobs:manage`), scoped to the actor's tenant (a scoped actor sees only its
//! tenant's jobs, never platform ones), and retry/cancel are audited in their transaction.

use serde::Serialize;
use uuid::Uuid;

use super::events::{self, EventKind, JobEvent};
use super::{Job, COLUMNS, STATUSES};
use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Backend, Db, Tx};
use crate::error::ServiceError;
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};
use crate::{args, validate};

pub const MAX_PAGE: usize = 500;

/// A page of jobs, newest first, optionally filtered.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub queue: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub limit: usize,
    pub at: PageAt,
}

/// How many jobs one queue has in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct QueueStat {
    pub queue: String,
    pub status: String,
    pub count: i64,
}

pub(crate) fn scope(actor: &Actor, conds: &mut Vec<String>, args: &mut Vec<Arg>) {
    if let Some(t) = actor.tenant_id {
        args.push(t.into());
        conds.push(format!("tenant_id = ${}", args.len()));
    }
}

// Ids are UUIDv7, so id order is creation order; the primary key serves the list and a
// keyset on (created_at, id) would need an index that every job update pays for.
fn key(j: &Job) -> Cursor {
    Cursor(vec![KeyPart::Uuid(j.id)])
}

pub async fn list(db: &Db, actor: &Actor, q: &JobQuery) -> Result<Page<Job>, ServiceError> {
    require(actor, Permission::JobsRead)?;
    let limit = q.limit.clamp(1, MAX_PAGE);
    let mut conds = Vec::new();
    let mut args = Vec::new();
    scope(actor, &mut conds, &mut args);
    if let Some(s) = q.status.as_deref() {
        let s = validate::one_of(s, &STATUSES).map_err(|m| ServiceError::invalid("status", m))?;
        args.push(s.into());
        conds.push(format!("status = ${}", args.len()));
    }
    for (col, v) in [("queue", &q.queue), ("kind", &q.kind)] {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            args.push(v.into());
            conds.push(format!("{col} = ${}", args.len()));
        }
    }
    let order = apply_keyset(&["id"], SortDir::Desc, &q.at, &mut conds, &mut args)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs {} ORDER BY {order} LIMIT {}",
        where_clause(&conds),
        limit + 1
    );
    let rows: Vec<Job> = db.fetch_all(&sql, args).await?;
    Ok(finish(rows, limit, &q.at, key))
}

// Malformed and out-of-scope ids are reported as missing, so a scoped user cannot probe.
fn parse_id(id: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(id.trim()).map_err(|_| ServiceError::not_found("job", id))
}

fn visible(actor: &Actor, job: Option<Job>, id: &str) -> Result<Job, ServiceError> {
    match job {
        Some(j) if j.tenant_id.map_or(actor.is_platform(), |t| actor.sees_tenant(t)) => Ok(j),
        _ => Err(ServiceError::not_found("job", id)),
    }
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> Result<Job, ServiceError> {
    require(actor, Permission::JobsRead)?;
    let id = &crate::ids::expand(db, actor, &crate::ids::JOBS, id).await?;
    let uuid = parse_id(id)?;
    let job: Option<Job> = db
        .fetch_optional(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"), args![uuid])
        .await?;
    visible(actor, job, id)
}

async fn get_for_update(tx: &mut Tx, actor: &Actor, id: &str) -> Result<Job, ServiceError> {
    let id = &crate::ids::expand_tx(tx, actor, &crate::ids::JOBS, id).await?;
    let uuid = parse_id(id)?;
    let mut sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    if tx.backend() == Backend::Postgres {
        sql.push_str(" FOR UPDATE");
    }
    let job: Option<Job> = tx.fetch_optional(&sql, args![uuid]).await?;
    visible(actor, job, id)
}

fn change<'a>(action: &'a str, before: &Job, after: &Job) -> Change<'a> {
    Change {
        action,
        entity: "job",
        entity_id: Some(after.id.to_string()),
        tenant_id: after.tenant_id,
        before: snapshot(before),
        after: snapshot(after),
    }
}

/// Puts a failed, dead or cancelled job back in the queue to run now. `attempts` is kept
/// (the history stays true) and `max_attempts` is raised to `attempts + 1` when needed, so
/// the job gets at least one more attempt; its error history is kept.
pub async fn retry(db: &Db, actor: &Actor, id: &str) -> Result<Job, ServiceError> {
    require(actor, Permission::JobsManage)?;
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, id).await?;
    if !matches!(before.status.as_str(), "failed" | "dead" | "cancelled") {
        return Err(ServiceError::Conflict(format!(
            "job is {}; only failed, dead or cancelled jobs can be retried",
            before.status
        )));
    }
    let at = now();
    let after: Job = tx
        .fetch_one(
            &format!(
                "UPDATE jobs SET status = 'queued', run_at = $2, max_attempts = $3, finished_at = NULL, \
                 lease_until = NULL, locked_by = NULL, updated_at = $2 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            args![before.id, at, before.max_attempts.max(before.attempts + 1)],
        )
        .await?;
    audit::record(&mut tx, actor, change("job.retry", &before, &after)).await?;
    tx.after_commit_once(crate::bus::WAKE_CHANNEL, &after.queue);
    events::publish_after_commit(&mut tx, &[JobEvent::of(&after, EventKind::Retried)]);
    tx.commit().await?;
    Ok(after)
}

/// Cancels a queued job. A running job cannot be cancelled here (its worker holds it).
pub async fn cancel(db: &Db, actor: &Actor, id: &str) -> Result<Job, ServiceError> {
    require(actor, Permission::JobsManage)?;
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, id).await?;
    if before.status != "queued" {
        return Err(ServiceError::Conflict(format!(
            "job is {}; only queued jobs can be cancelled",
            before.status
        )));
    }
    let at = now();
    let after: Job = tx
        .fetch_one(
            &format!(
                "UPDATE jobs SET status = 'cancelled', finished_at = $2, updated_at = $2 WHERE id = $1 \
                 RETURNING {COLUMNS}"
            ),
            args![before.id, at],
        )
        .await?;
    audit::record(&mut tx, actor, change("job.cancel", &before, &after)).await?;
    events::publish_after_commit(&mut tx, &[JobEvent::of(&after, EventKind::Cancelled)]);
    tx.commit().await?;
    Ok(after)
}

/// Job counts per queue and status, in the actor's scope.
pub async fn stats(db: &Db, actor: &Actor) -> Result<Vec<QueueStat>, ServiceError> {
    require(actor, Permission::JobsRead)?;
    let mut conds = Vec::new();
    let mut args = Vec::new();
    scope(actor, &mut conds, &mut args);
    db.fetch_all(
        &format!(
            "SELECT queue, status, COUNT(*) AS count FROM jobs {} GROUP BY queue, status ORDER BY queue, status",
            where_clause(&conds)
        ),
        args,
    )
    .await
}

/// What an operator (or a script) asks to enqueue.
#[derive(Debug, Clone, Default)]
pub struct EnqueueRequest {
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub unique_key: Option<String>,
    pub run_at: Option<chrono::DateTime<chrono::Utc>>,
    pub max_attempts: Option<i64>,
}

/// The kinds a tenant-scoped actor may enqueue: work that acts inside its own tenant only.
/// Everything else a worker runs (`jobs.cleanup`, the audit checkpoint, future provisioning
/// and billing runs) is platform work, enqueued by platform staff or the scheduler.
pub const TENANT_KINDS: [&str; 2] = ["noop", "audit.note"];

/// Unique keys with this prefix belong to the scheduler (`schedule:<name>`, docs/adr/0004).
pub const RESERVED_KEY_PREFIX: &str = "schedule:";

/// Whether this build's workers have a handler for `kind`: a job of a kind without one fails
/// when claimed, so the queue screen marks such kinds.
pub fn has_handler(kind: &str) -> bool {
    super::Handlers::builtin().handles(kind.trim())
        || crate::hosting::KINDS.contains(&kind.trim())
        || crate::billing::dunning::KINDS.contains(&kind.trim())
        || crate::billing::stripe::KINDS.contains(&kind.trim())
        || crate::transfers::KINDS.contains(&kind.trim())
        || crate::dns::KINDS.contains(&kind.trim())
        || crate::ssl::KINDS.contains(&kind.trim())
}

/// The kinds this build's workers run, sorted.
pub fn known_kinds() -> Vec<String> {
    let mut k: Vec<String> = super::Handlers::builtin()
        .kinds()
        .into_iter()
        .chain(crate::hosting::KINDS)
        .chain(crate::billing::dunning::KINDS)
        .chain(crate::billing::stripe::KINDS)
        .chain(crate::transfers::KINDS)
        .chain(crate::dns::KINDS)
        .chain(crate::ssl::KINDS)
        .map(str::to_owned)
        .collect();
    k.sort_unstable();
    k
}

/// Which kinds `actor` may enqueue by hand, or why not.
fn check_kind(actor: &Actor, kind: &str) -> Result<(), ServiceError> {
    let kind = kind.trim();
    if !has_handler(kind) {
        return Err(ServiceError::invalid(
            "kind",
            format!(
                "unknown job kind {kind:?}: known kinds are {}",
                known_kinds().join(", ")
            ),
        ));
    }
    if !actor.is_platform() && !TENANT_KINDS.contains(&kind) {
        return Err(ServiceError::PermissionDenied(format!(
            "{kind} is platform work: tenant users may enqueue {}",
            TENANT_KINDS.join(", ")
        )));
    }
    Ok(())
}

/// Enqueues a job by hand (`jobs:manage`), audited in the same transaction. Platform staff may
/// enqueue any registered kind, tenant users only [`TENANT_KINDS`], and the job belongs to
/// their tenant. Unique keys are per tenant, and `schedule:` keys are the scheduler's. With a
/// pending `unique_key`, returns the holder and writes no audit row (nothing changed).
pub async fn enqueue(db: &Db, actor: &Actor, req: EnqueueRequest) -> Result<Job, ServiceError> {
    require(actor, Permission::JobsManage)?;
    check_kind(actor, &req.kind)?;
    if req
        .unique_key
        .as_deref()
        .is_some_and(|k| k.trim().starts_with(RESERVED_KEY_PREFIX))
    {
        return Err(ServiceError::invalid(
            "unique_key",
            format!("keys starting '{RESERVED_KEY_PREFIX}' are reserved for the scheduler"),
        ));
    }
    let mut tx = db.begin().await?;
    if let Some(key) = req.unique_key.as_deref().map(str::trim) {
        let holder: Option<Job> = tx
            .fetch_optional(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE unique_key = $1 AND {} AND status IN ('queued', 'running')",
                    super::queue::same_tenant(tx.backend(), 2)
                ),
                args![key, actor.tenant_id],
            )
            .await?;
        if let Some(job) = holder {
            tx.rollback().await?;
            return visible(actor, Some(job), key);
        }
    }
    let job = super::enqueue(
        &mut tx,
        super::NewJob {
            queue: req.queue,
            kind: req.kind,
            payload: req.payload,
            run_at: req.run_at,
            max_attempts: req.max_attempts,
            unique_key: req.unique_key,
            tenant_id: actor.tenant_id,
            enqueued_by: actor.name.clone(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "job.enqueue",
            entity: "job",
            entity_id: Some(job.id.to_string()),
            tenant_id: job.tenant_id,
            before: None,
            after: snapshot(&job),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(job)
}
