//! The worker side of the queue: enqueue, claim, heartbeat, complete, fail, reclaim.
//! Claim SQL per engine is in docs/adr/0004-job-queue.md.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::events::{self, EventKind, JobEvent};
use super::{Job, JobError, NewJob, RetryPolicy, COLUMNS, DEFAULT_MAX_ATTEMPTS};
use crate::args;
use crate::bus::WAKE_CHANNEL;
use crate::db::{now, Arg, Backend, Db, Tx};
use crate::error::{FieldError, ServiceError};

/// Longest queue, kind and unique-key names.
const MAX_NAME: usize = 200;
/// Most jobs one claim takes.
pub const MAX_BATCH: usize = 1000;

fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(t)
}

fn check_name(errors: &mut Vec<FieldError>, field: &str, v: &str) -> String {
    let v = v.trim();
    if v.is_empty() || v.len() > MAX_NAME || v.chars().any(char::is_control) {
        errors.push(FieldError {
            field: field.to_owned(),
            message: format!("must be 1–{MAX_NAME} printable characters"),
        });
    }
    v.to_owned()
}

/// A [`NewJob`] checked and with its defaults applied.
struct Checked {
    queue: String,
    kind: String,
    unique_key: Option<String>,
    max_attempts: i64,
    enqueued_by: String,
}

fn check(new: &NewJob) -> Result<Checked, ServiceError> {
    let mut e = Vec::new();
    let queue = check_name(&mut e, "queue", &new.queue);
    let kind = check_name(&mut e, "kind", &new.kind);
    let unique_key = new.unique_key.as_deref().map(|k| check_name(&mut e, "unique_key", k));
    let max_attempts = new.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    if !(1..=1000).contains(&max_attempts) {
        e.push(FieldError {
            field: "max_attempts".into(),
            message: "must be between 1 and 1000".into(),
        });
    }
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    let enqueued_by = match new.enqueued_by.trim() {
        "" => "system".to_owned(),
        v => v.to_owned(),
    };
    Ok(Checked {
        queue,
        kind,
        unique_key,
        max_attempts,
        enqueued_by,
    })
}

/// The tenant half of the unique index `jobs_unique_key_uq`, exactly as migrations 0013 and
/// 0018 declare it (PostgreSQL matches a conflict target to an index by its expression).
fn unique_tenant(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "(COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid))",
        Backend::Sqlite => "IFNULL(tenant_id, X'')",
    }
}

/// `tenant_id` equals parameter `$n`, NULL matching NULL (platform jobs).
pub(crate) fn same_tenant(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("tenant_id IS NOT DISTINCT FROM ${n}"),
        Backend::Sqlite => format!("tenant_id IS ${n}"),
    }
}

/// Adds a job inside the caller's transaction, so it commits (or rolls back) with the change
/// that implies it. With a `unique_key` already queued or running, returns that job instead.
pub async fn enqueue(tx: &mut Tx, new: NewJob) -> Result<Job, ServiceError> {
    let Checked {
        queue,
        kind,
        unique_key,
        max_attempts,
        enqueued_by,
    } = check(&new)?;
    let at = now();
    let backend = tx.backend();
    // The conflict target names the partial unique index of migration 0018 — the key per
    // tenant, platform jobs folded together — with its predicate; a key held by a finished
    // job does not conflict.
    let sql = format!(
        "INSERT INTO jobs (id, queue, kind, payload, status, attempts, max_attempts, run_at, error_history, \
         unique_key, tenant_id, enqueued_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT ({}, unique_key) WHERE status IN ('queued', 'running') AND unique_key IS NOT NULL \
         DO NOTHING RETURNING {COLUMNS}",
        unique_tenant(backend)
    );
    // The holder of the key can finish between our INSERT and SELECT: then insert again.
    for _ in 0..3 {
        let inserted: Option<Job> = tx
            .fetch_optional(
                &sql,
                args![
                    Uuid::now_v7(),
                    queue.as_str(),
                    kind.as_str(),
                    new.payload.clone(),
                    max_attempts,
                    new.run_at.unwrap_or(at),
                    json!([]),
                    unique_key.clone(),
                    new.tenant_id,
                    enqueued_by.as_str(),
                    at,
                ],
            )
            .await?;
        if let Some(job) = inserted {
            announce(tx, &job);
            return Ok(job);
        }
        let existing: Option<Job> = tx
            .fetch_optional(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE unique_key = $1 AND {} AND status IN ('queued', 'running')",
                    same_tenant(backend, 2)
                ),
                args![unique_key.clone(), new.tenant_id],
            )
            .await?;
        if let Some(job) = existing {
            return Ok(job);
        }
    }
    Err(ServiceError::Conflict(format!(
        "unique job {} keeps changing; try again",
        unique_key.unwrap_or_default()
    )))
}

/// Rows per multi-row INSERT of [`enqueue_many`] (11 parameters each).
const INSERT_ROWS: usize = 500;

/// Adds many jobs in a few multi-row statements inside the caller's transaction (a renewal
/// run, benchmarks). Unique keys need [`enqueue`]'s conflict handling, so they are refused
/// here. Returns how many were added.
pub async fn enqueue_many(tx: &mut Tx, jobs: Vec<NewJob>) -> Result<usize, ServiceError> {
    let mut checked = Vec::with_capacity(jobs.len());
    for (i, new) in jobs.iter().enumerate() {
        let c = check(new).map_err(|e| match e {
            ServiceError::Validation(fields) => ServiceError::Validation(
                fields
                    .into_iter()
                    .map(|f| FieldError {
                        field: format!("jobs[{i}].{}", f.field),
                        message: f.message,
                    })
                    .collect(),
            ),
            other => other,
        })?;
        if c.unique_key.is_some() {
            return Err(ServiceError::invalid(
                &format!("jobs[{i}].unique_key"),
                "unique jobs are enqueued one at a time",
            ));
        }
        checked.push(c);
    }
    let at = now();
    let mut evs = Vec::new();
    for (rows, news) in checked.chunks(INSERT_ROWS).zip(jobs.chunks(INSERT_ROWS)) {
        let mut values = Vec::with_capacity(rows.len());
        let mut args: Vec<Arg> = Vec::with_capacity(rows.len() * 11);
        for (c, new) in rows.iter().zip(news) {
            let b = args.len();
            values.push(format!(
                "(${}, ${}, ${}, ${}, 'queued', 0, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9,
                b + 10,
                b + 11
            ));
            let id = Uuid::now_v7();
            args.extend(args![
                id,
                c.queue.as_str(),
                c.kind.as_str(),
                new.payload.clone(),
                c.max_attempts,
                new.run_at.unwrap_or(at),
                json!([]),
                new.tenant_id,
                c.enqueued_by.as_str(),
                at,
                at,
            ]);
            if tx.has_bus() {
                tx.after_commit_once(WAKE_CHANNEL, &c.queue);
                evs.push(JobEvent {
                    at,
                    event: EventKind::Enqueued,
                    job_id: id,
                    queue: c.queue.clone(),
                    kind: c.kind.clone(),
                    attempt: 0,
                    tenant_id: new.tenant_id,
                    error: None,
                });
            }
        }
        let sql = format!(
            "INSERT INTO jobs (id, queue, kind, payload, status, attempts, max_attempts, run_at, error_history, \
             tenant_id, enqueued_by, created_at, updated_at) VALUES {}",
            values.join(", ")
        );
        tx.execute(&sql, args).await?;
    }
    events::publish_after_commit(tx, &evs);
    Ok(checked.len())
}

/// Runs one writing statement that is its own transaction. PostgreSQL: in autocommit, which
/// saves the BEGIN and COMMIT round trips on the hot path (a claim or a completion batch is
/// one atomic statement). SQLite: inside `BEGIN IMMEDIATE`, so concurrent writers wait for
/// the lock instead of failing (STACK.md).
async fn write_one<T: crate::db::Record>(db: &Db, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, ServiceError> {
    match db.backend() {
        Backend::Postgres => db.fetch_all(sql, args).await,
        Backend::Sqlite => {
            let mut tx = db.begin().await?;
            let rows = tx.fetch_all(sql, args).await?;
            tx.commit().await?;
            Ok(rows)
        }
    }
}

/// Wakes idle workers of the job's queue and tells live feeds, once `tx` commits.
fn announce(tx: &mut Tx, job: &Job) {
    if tx.has_bus() {
        tx.after_commit_once(WAKE_CHANNEL, &job.queue);
        events::publish_after_commit(tx, &[JobEvent::of(job, EventKind::Enqueued)]);
    }
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Claims up to `batch` due jobs of `queues` for `worker_id`, leased for `lease`: each is
/// `running` with its attempt counted. The order (queue, run_at, id) is the partial index
/// `jobs_ready_idx`, so a claim reads only the rows it takes. PostgreSQL skips rows other
/// claimers hold (`FOR UPDATE SKIP LOCKED`); SQLite serialises writers (`BEGIN IMMEDIATE`).
pub async fn claim(
    db: &Db,
    worker_id: &str,
    queues: &[String],
    batch: usize,
    lease: Duration,
) -> Result<Vec<Job>, ServiceError> {
    if queues.is_empty() || batch == 0 {
        return Ok(Vec::new());
    }
    let at = now();
    let mut args: Vec<Arg> = args![later(at, lease), worker_id, at];
    // `*` claims from every queue; the partial index's order still serves the walk.
    let which = if queues.iter().any(|q| q == super::ALL_QUEUES) {
        String::new()
    } else {
        args.extend(queues.iter().map(Arg::from));
        format!("AND queue IN ({}) ", placeholders(4, queues.len()))
    };
    let (lock, no_flush) = match db.backend() {
        // The claim's commit does not wait for its WAL flush (docs/adr/0004, "Claims commit
        // without waiting for the flush"): an uncounted claim after a database crash only
        // means the job runs again, and every later durable commit — the completion, the
        // handler's own transaction — flushes the WAL past the claim first. An uncorrelated
        // sub-select is an InitPlan, run once; `true` keeps the setting to this statement's
        // own transaction, so a pooled connection never carries it further.
        Backend::Postgres => (
            " FOR UPDATE SKIP LOCKED",
            " AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'",
        ),
        Backend::Sqlite => ("", ""),
    };
    let sql = format!(
        // A materialised CTE picks the rows once: as `WHERE id IN (SELECT … LIMIT n)` the
        // planner may rescan the subquery per row (it did under row-level security, for the
        // application role) and take more than `batch` rows.
        "WITH picked AS MATERIALIZED (SELECT id FROM jobs WHERE status = 'queued' {which}\
         AND run_at <= $3 ORDER BY queue, run_at, id LIMIT {}{lock}) \
         UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = $1, locked_by = $2, \
         updated_at = $3, started_at = $3 WHERE id IN (SELECT id FROM picked){no_flush} RETURNING {COLUMNS}",
        batch.min(MAX_BATCH)
    );
    let mut jobs: Vec<Job> = write_one(db, &sql, args).await?;
    // RETURNING has no order: hand them out in claim order.
    jobs.sort_by(|a, b| (&a.queue, a.run_at, a.id).cmp(&(&b.queue, b.run_at, b.id)));
    publish_each(db, &jobs, |_| EventKind::Started);
    Ok(jobs)
}

/// Extends the leases of those of `ids` still running under `worker_id`; returns those ids.
/// A job missing from the answer was reclaimed: the worker should stop working on it.
pub async fn heartbeat(db: &Db, worker_id: &str, ids: &[Uuid], lease: Duration) -> Result<Vec<Uuid>, ServiceError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let at = now();
    let mut args: Vec<Arg> = args![later(at, lease), at, worker_id];
    args.extend(ids.iter().copied().map(Arg::from));
    let sql = format!(
        "UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE status = 'running' AND locked_by = $3 \
         AND id IN ({}) RETURNING id",
        placeholders(4, ids.len())
    );
    let rows: Vec<(Uuid,)> = db.fetch_all(&sql, args).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

fn publish_each(db: &Db, jobs: &[Job], kind: impl Fn(&Job) -> EventKind) {
    if db.bus().is_some() && !jobs.is_empty() {
        let evs: Vec<JobEvent> = jobs.iter().map(|j| JobEvent::of(j, kind(j))).collect();
        events::publish(db, &evs);
    }
}

/// Returns running jobs whose lease has expired (their worker died or hung) to the queue, or
/// makes them dead when that was their last attempt. Returns how many were touched.
pub async fn reclaim_expired(db: &Db) -> Result<u64, ServiceError> {
    let at = now();
    let entry = match db.backend() {
        Backend::Postgres => {
            "jsonb_build_object('attempt', attempts, 'at', $2::text, 'error', $3::text, 'kind', 'lease')"
        }
        Backend::Sqlite => "json_object('attempt', attempts, 'at', $2, 'error', $3, 'kind', 'lease')",
    };
    let history = append(db.backend(), entry);
    let sql = format!(
        "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
         finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, \
         lease_until = NULL, locked_by = NULL, last_error = $3, error_history = {history}, updated_at = $1 \
         WHERE status = 'running' AND lease_until < $1 RETURNING {COLUMNS}"
    );
    let mut tx = db.begin().await?;
    let jobs: Vec<Job> = tx
        .fetch_all(
            &sql,
            args![at, at.to_rfc3339(), "lease expired: the worker stopped renewing it"],
        )
        .await?;
    tx.commit().await?;
    publish_each(db, &jobs, |j| {
        if j.status == "dead" {
            EventKind::Dead
        } else {
            EventKind::Requeued
        }
    });
    Ok(jobs.len() as u64)
}

/// `error_history` with one more element (an SQL expression per engine).
fn append(backend: Backend, element: &str) -> String {
    match backend {
        Backend::Postgres => format!("error_history || jsonb_build_array({element})"),
        Backend::Sqlite => format!("json_insert(error_history, '$[#]', {element})"),
    }
}

fn not_held(id: Uuid, worker_id: &str) -> ServiceError {
    ServiceError::Conflict(format!(
        "job {id} is not running under worker {worker_id} (its lease expired or it finished)"
    ))
}

/// Marks a job succeeded, only if `worker_id` still holds it.
pub async fn complete(db: &Db, worker_id: &str, id: Uuid) -> Result<Job, ServiceError> {
    let at = now();
    let mut tx = db.begin().await?;
    let job: Option<Job> = tx
        .fetch_optional(
            &format!(
                "UPDATE jobs SET status = 'succeeded', finished_at = $1, updated_at = $1, lease_until = NULL \
                 WHERE id = $2 AND status = 'running' AND locked_by = $3 RETURNING {COLUMNS}"
            ),
            args![at, id, worker_id],
        )
        .await?;
    let job = job.ok_or_else(|| not_held(id, worker_id))?;
    tx.commit().await?;
    publish_each(db, std::slice::from_ref(&job), |_| EventKind::Succeeded);
    Ok(job)
}

/// Marks many jobs succeeded in one statement — those `worker_id` still holds — and returns
/// their ids; a missing id had lost its lease. The worker batches its completions through
/// this: one commit for many jobs, still only for jobs it holds.
pub async fn complete_many(db: &Db, worker_id: &str, ids: &[Uuid]) -> Result<Vec<Uuid>, ServiceError> {
    let mut done = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_BATCH) {
        let at = now();
        let mut args: Vec<Arg> = args![at, worker_id];
        let n = padded(chunk.len());
        // Padding with a repeated id keeps the number of distinct statements (and so of
        // prepared statements per connection) to a handful.
        args.extend((0..n).map(|i| Arg::from(chunk[i.min(chunk.len() - 1)])));
        // Only what the events need: this runs for every job, and payloads can be large.
        let sql = format!(
            "UPDATE jobs SET status = 'succeeded', finished_at = $1, updated_at = $1, lease_until = NULL \
             WHERE status = 'running' AND locked_by = $2 AND id IN ({}) RETURNING id, queue, kind, attempts, tenant_id",
            placeholders(3, n)
        );
        let rows: Vec<(Uuid, String, String, i64, Option<Uuid>)> = write_one(db, &sql, args).await?;
        if db.bus().is_some() {
            let evs: Vec<JobEvent> = rows
                .iter()
                .map(|(id, queue, kind, attempt, tenant_id)| JobEvent {
                    at,
                    event: EventKind::Succeeded,
                    job_id: *id,
                    queue: queue.clone(),
                    kind: kind.clone(),
                    attempt: *attempt,
                    tenant_id: *tenant_id,
                    error: None,
                })
                .collect();
            events::publish(db, &evs);
        }
        done.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(done)
}

/// The next power of two ≥ n (at least 8): the sizes of padded id lists.
fn padded(n: usize) -> usize {
    n.max(8).next_power_of_two()
}

/// Records a failed attempt with the default [`RetryPolicy`].
pub async fn fail(db: &Db, worker_id: &str, id: Uuid, err: JobError) -> Result<Job, ServiceError> {
    fail_with(db, worker_id, id, err, &RetryPolicy::default()).await
}

/// Records a failed attempt: a transient error requeues the job after the policy's backoff
/// until `max_attempts`, then it is dead; a permanent error fails it now. Either way the error
/// is appended to `error_history` and kept in `last_error`.
pub async fn fail_with(
    db: &Db,
    worker_id: &str,
    id: Uuid,
    err: JobError,
    policy: &RetryPolicy,
) -> Result<Job, ServiceError> {
    let at = now();
    let mut tx = db.begin().await?;
    let mut select = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND status = 'running' AND locked_by = $2");
    if tx.backend() == Backend::Postgres {
        select.push_str(" FOR UPDATE");
    }
    let job: Option<Job> = tx.fetch_optional(&select, args![id, worker_id]).await?;
    let job = job.ok_or_else(|| not_held(id, worker_id))?;
    let mut history = match job.error_history {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    history.push(json!({
        "attempt": job.attempts,
        "at": at,
        "error": err.message(),
        "kind": err.kind(),
    }));
    let (status, run_at, finished) = match &err {
        JobError::Permanent(_) => ("failed", job.run_at, Some(at)),
        JobError::Transient(_) if job.attempts >= job.max_attempts => ("dead", job.run_at, Some(at)),
        JobError::Transient(_) => ("queued", later(at, policy.delay(job.attempts)), None),
    };
    let updated: Job = tx
        .fetch_one(
            &format!(
                "UPDATE jobs SET status = $2, run_at = $3, finished_at = $4, lease_until = NULL, \
                 locked_by = CASE WHEN $2 = 'queued' THEN NULL ELSE locked_by END, last_error = $5, \
                 error_history = $6, updated_at = $7 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            args![id, status, run_at, finished, err.message(), Value::Array(history), at],
        )
        .await?;
    tx.commit().await?;
    publish_each(db, std::slice::from_ref(&updated), |j| match j.status.as_str() {
        "queued" => EventKind::Retrying,
        "dead" => EventKind::Dead,
        _ => EventKind::Failed,
    });
    Ok(updated)
}

/// Puts jobs `worker_id` still runs back in the queue without counting the attempt (a
/// worker shutting down gives back what it could not finish). Returns the ids released.
pub async fn release(db: &Db, worker_id: &str, ids: &[Uuid]) -> Result<Vec<Uuid>, ServiceError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let at = now();
    let mut args: Vec<Arg> = args![at, worker_id];
    args.extend(ids.iter().copied().map(Arg::from));
    let sql = format!(
        "UPDATE jobs SET status = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
         lease_until = NULL, locked_by = NULL, updated_at = $1 WHERE status = 'running' AND locked_by = $2 \
         AND id IN ({}) RETURNING {COLUMNS}",
        placeholders(3, ids.len())
    );
    let mut tx = db.begin().await?;
    let jobs: Vec<Job> = tx.fetch_all(&sql, args).await?;
    tx.commit().await?;
    publish_each(db, &jobs, |_| EventKind::Requeued);
    Ok(jobs.into_iter().map(|j| j.id).collect())
}
