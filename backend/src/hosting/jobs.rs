//! The servers' jobs (docs/adr/0020): `server.test` (the connection test an operator asks
//! for), `servers.poll` (scheduled every minute; fans out one `server.poll` per WHM server),
//! `server.poll` (one server's load, disk, accounts and bandwidth into the time series) and
//! `servers.retention` (raw points → hourly after 48 h).
//!
//! A provider failure is an answer here, not a job failure: the test records the typed
//! error for the operator to read, the poll records it in the failure feed. The jobs fail
//! only when that recording cannot be written (then they retry).

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::metrics;
use super::servers::{self, Server};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::jobs::{enqueue, Job, JobError, NewJob};

pub const SERVER_TEST: &str = "server.test";
pub const SERVERS_POLL: &str = "servers.poll";
pub const SERVER_POLL: &str = "server.poll";
pub const SERVERS_RETENTION: &str = "servers.retention";
/// The queue of the jobs that talk to servers.
pub const QUEUE: &str = "hosting";

pub(crate) fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

pub(crate) fn server_id(job: &Job) -> Result<Uuid, JobError> {
    job.payload
        .get("server_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.server_id must be a server's id".into()))
}

/// Asks for a connection test of server `key` (`servers:manage`): enqueues `server.test`,
/// audited. A test already queued or running for the server is returned instead.
pub async fn request_test(db: &Db, actor: &Actor, key: &str) -> Result<(Server, Job), ServiceError> {
    require(actor, Permission::ServersManage)?;
    let server = servers::get(db, actor, key).await?;
    if !server.speaks_whm() {
        return Err(ServiceError::invalid(
            "server",
            format!(
                "{} is a {} server without a WHM URL: nothing to test",
                server.name, server.kind
            ),
        ));
    }
    let mut tx = db.begin().await?;
    let key = format!("{SERVER_TEST}:{}", server.id);
    // One test at a time per server: asked again while one waits, the caller watches that one.
    let pending: Option<Job> = tx
        .fetch_optional(
            &format!(
                "SELECT {} FROM jobs WHERE unique_key = $1 AND tenant_id IS NULL AND status IN ('queued', 'running')",
                crate::jobs::COLUMNS
            ),
            args![key.as_str()],
        )
        .await?;
    if let Some(job) = pending {
        tx.rollback().await?;
        return Ok((server, job));
    }
    let job = enqueue(
        &mut tx,
        NewJob {
            queue: QUEUE.into(),
            kind: SERVER_TEST.into(),
            payload: json!({"server_id": server.id, "server": server.name}),
            max_attempts: Some(1),
            unique_key: Some(key),
            enqueued_by: actor.name.clone(),
            ..NewJob::default()
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "server.test.request",
            entity: "server",
            entity_id: Some(server.id.to_string()),
            tenant_id: server.tenant_id,
            before: None,
            after: Some(json!({"server": server.name, "job_id": job.id})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((server, job))
}

/// Writes a test's answer on the server row (audited as the job's actor).
pub async fn record_test(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    answer: Result<String, String>,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut tx = db.begin().await?;
    let Some(s) = servers::for_update(&mut tx, id).await? else {
        tx.rollback().await?;
        return Ok(());
    };
    let (version, error) = match &answer {
        Ok(v) => (Some(v.clone()), None),
        Err(e) => (s.whm_version.clone(), Some(e.chars().take(500).collect::<String>())),
    };
    tx.execute(
        "UPDATE servers SET whm_version = $2, last_test_at = $3, last_test_error = $4, updated_at = $3 WHERE id = $1",
        args![s.id, version, at, error.clone()],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "server.test",
            entity: "server",
            entity_id: Some(s.id.to_string()),
            tenant_id: s.tenant_id,
            before: None,
            after: Some(match &answer {
                Ok(v) => json!({"server": s.name, "ok": true, "version": v}),
                Err(_) => json!({"server": s.name, "ok": false, "error": error}),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// `servers.poll`: one `server.poll` per WHM server not in maintenance. One job per server,
/// so a hung server holds one worker slot for its own timeout, not the whole fleet's poll;
/// the unique key keeps a slow server from piling polls up.
pub async fn servers_poll(job: Job, db: Db) -> Result<(), JobError> {
    if job.tenant_id.is_some() {
        return Err(JobError::Permanent("servers.poll is platform work".into()));
    }
    let ids: Vec<(Uuid, String)> = db
        .fetch_all(
            "SELECT id, name FROM servers WHERE kind IN ('whm', 'cpanel') AND whm_url IS NOT NULL \
             AND status <> 'maintenance' ORDER BY name",
            args![],
        )
        .await
        .map_err(transient)?;
    let mut tx = db.begin().await.map_err(transient)?;
    for (id, name) in ids {
        enqueue(
            &mut tx,
            NewJob {
                queue: QUEUE.into(),
                kind: SERVER_POLL.into(),
                payload: json!({"server_id": id, "server": name}),
                // The next minute's poll is the retry.
                max_attempts: Some(1),
                unique_key: Some(format!("{SERVER_POLL}:{id}")),
                enqueued_by: job.enqueued_by.clone(),
                ..NewJob::default()
            },
        )
        .await
        .map_err(transient)?;
    }
    tx.commit().await.map_err(transient)
}

/// `servers.retention`: folds old raw points into hourly ones (see [`metrics::downsample`]).
pub async fn servers_retention(job: Job, db: Db) -> Result<(), JobError> {
    if job.tenant_id.is_some() {
        return Err(JobError::Permanent("servers.retention is platform work".into()));
    }
    let r = metrics::downsample(&db, &job.actor(), now()).await.map_err(transient)?;
    tracing::info!(
        folded = r.folded,
        hours = r.hours_written,
        deleted = r.hourly_deleted,
        "server metrics retention"
    );
    Ok(())
}
