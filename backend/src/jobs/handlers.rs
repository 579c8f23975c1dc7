//! Built-in job handlers, all real: `noop` does nothing (benchmarks), `jobs.cleanup` deletes
//! old finished jobs (a default schedule runs it), `audit.note`
//! writes one audit row, idempotently — it is the reference for handlers whose effect lives in
//! our database (docs/adr/0004-job-queue.md, "Check-then-act in the job's own transaction").

use serde_json::Value;

use super::{Job, JobError};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{Backend, Db};
use crate::error::ServiceError;

/// Does nothing and succeeds.
pub async fn noop(_job: Job, _db: Db) -> Result<(), JobError> {
    Ok(())
}

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// Writes one audit row `note.add` (entity `note`, entity id = the idempotency key) with the
/// payload's `note`. Payload: `{"key": "...", "note": "..."}`; `key` defaults to `job:<id>`.
/// The row is the job's: its tenant, recorded as the enqueuing actor ([`Job::actor`]), never
/// as the platform.
///
/// Idempotent by design: in one transaction it takes a lock on the key (an advisory lock on
/// PostgreSQL; `BEGIN IMMEDIATE` already serialises SQLite writers), looks for the row with
/// that key in the job's tenant, and writes it only when missing. A run repeated after a
/// crash finds it and succeeds without writing again; another tenant's note with the same key
/// is not this one.
pub async fn audit_note(job: Job, db: Db) -> Result<(), JobError> {
    let payload = match &job.payload {
        Value::Object(m) => m,
        _ => return Err(JobError::Permanent("payload must be a JSON object".into())),
    };
    let key = match payload.get("key") {
        None | Some(Value::Null) => format!("job:{}", job.id),
        Some(Value::String(k)) if !k.trim().is_empty() => k.trim().to_owned(),
        Some(_) => return Err(JobError::Permanent("payload.key must be a non-empty string".into())),
    };
    let note = match payload.get("note") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err(JobError::Permanent("payload.note must be a string".into())),
    };

    let mut tx = db.begin().await.map_err(transient)?;
    if tx.backend() == Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", args![key.as_str()])
            .await
            .map_err(transient)?;
    }
    let done: i64 = tx
        .scalar(
            &format!(
                "SELECT COUNT(*) FROM audit_log WHERE entity = 'note' AND entity_id = $1 AND {}",
                super::queue::same_tenant(tx.backend(), 2)
            ),
            args![key.as_str(), job.tenant_id],
        )
        .await
        .map_err(transient)?;
    if done == 0 {
        audit::record(
            &mut tx,
            &job.actor(),
            Change {
                action: "note.add",
                entity: "note",
                entity_id: Some(key),
                tenant_id: job.tenant_id,
                before: None,
                after: Some(serde_json::json!({ "note": note, "job_id": job.id })),
            },
        )
        .await
        .map_err(transient)?;
    }
    tx.commit().await.map_err(transient)?;
    Ok(())
}

/// Finished jobs older than this many days are deleted by `jobs.cleanup` unless its payload
/// says otherwise.
const CLEANUP_DAYS: i64 = 7;
/// Rows deleted per transaction, so a big clean-up never holds a long lock.
const CLEANUP_BATCH: i64 = 5000;

/// Deletes succeeded and cancelled jobs finished more than `older_than_days` (default 7)
/// days ago, in batches; failed and dead jobs stay (dead letters keep their history for
/// the operators). Each batch writes one audit row with what it removed. Idempotent: a
/// repeated run finds nothing more to delete.
///
/// Platform work only: a job of a tenant (which `jobs::admin` never enqueues) fails
/// permanently instead of deleting every tenant's jobs.
pub async fn jobs_cleanup(job: Job, db: Db) -> Result<(), JobError> {
    if job.tenant_id.is_some() {
        return Err(JobError::Permanent(
            "jobs.cleanup is platform work: it never runs for a tenant".into(),
        ));
    }
    let days = match job.payload.get("older_than_days") {
        None | Some(Value::Null) => CLEANUP_DAYS,
        Some(v) => v
            .as_i64()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| JobError::Permanent("payload.older_than_days must be 1–3650".into()))?,
    };
    let cutoff = crate::db::now() - chrono::Duration::days(days);
    loop {
        let mut tx = db.begin().await.map_err(transient)?;
        let n = tx
            .execute(
                &format!(
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN ('succeeded', 'cancelled') \
                     AND finished_at < $1 LIMIT {CLEANUP_BATCH})"
                ),
                args![cutoff],
            )
            .await
            .map_err(transient)?;
        if n > 0 {
            audit::record(
                &mut tx,
                &Actor::system("worker"),
                Change {
                    action: "jobs.cleanup",
                    entity: "job",
                    entity_id: None,
                    tenant_id: None,
                    before: None,
                    after: Some(serde_json::json!({ "deleted": n, "finished_before": cutoff, "job_id": job.id })),
                },
            )
            .await
            .map_err(transient)?;
        }
        tx.commit().await.map_err(transient)?;
        if n < CLEANUP_BATCH as u64 {
            return Ok(());
        }
    }
}
