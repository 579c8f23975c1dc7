//! Built-in job handlers. Both are real: `noop` does nothing (benchmarks), `audit.note`
//! writes one audit row, idempotently — it is the reference for handlers whose effect lives in
//! our database (docs/adr/0004-job-queue.md, "Check-then-act in the job's own transaction").

use std::time::Duration;

use serde_json::Value;

use super::{Job, JobError};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{Backend, Db};
use crate::error::ServiceError;

/// Longest `sleep_ms` an `audit.note` payload may ask for.
const MAX_SLEEP_MS: u64 = 600_000;

/// Does nothing and succeeds.
pub async fn noop(_job: Job, _db: Db) -> Result<(), JobError> {
    Ok(())
}

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// Writes one audit row `note.add` (entity `note`, entity id = the idempotency key) with the
/// payload's `note`. Payload: `{"key": "...", "note": "...", "sleep_ms": 0}`; `key` defaults to
/// `job:<id>`, `sleep_ms` (optional) waits before the effect, to stand in for slow work.
///
/// Idempotent by design: in one transaction it takes a lock on the key (an advisory lock on
/// PostgreSQL; `BEGIN IMMEDIATE` already serialises SQLite writers), looks for the row with
/// that key, and writes it only when missing. A run repeated after a crash finds it and
/// succeeds without writing again.
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
    let sleep_ms = match payload.get("sleep_ms") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .filter(|ms| *ms <= MAX_SLEEP_MS)
            .ok_or_else(|| JobError::Permanent(format!("payload.sleep_ms must be 0–{MAX_SLEEP_MS}")))?,
    };
    if sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
    }

    let mut tx = db.begin().await.map_err(transient)?;
    if tx.backend() == Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", args![key.as_str()])
            .await
            .map_err(transient)?;
    }
    let done: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'note' AND entity_id = $1",
            args![key.as_str()],
        )
        .await
        .map_err(transient)?;
    if done == 0 {
        let actor = Actor::system("worker");
        audit::record(
            &mut tx,
            &actor,
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
