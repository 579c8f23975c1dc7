//! What the poller learns about a server, and what it does with it (docs/adr/0020):
//! one point per poll in `server_metrics` (raw, kept [`RAW_FOR`]), the server row's health
//! state, and the failure handling — a failed poll marks the server offline at once (the
//! failure feed), [`INCIDENT_AFTER`] failures in a row open one health-check incident, and the
//! first good poll closes it. Status changes and incidents are audited as the poll job's
//! actor; the points themselves are measurements, not changes, and are not.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::servers::{self, Server};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{Arg, Db, Tx};
use crate::error::ServiceError;

/// Consecutive failed polls that open an incident (one minute apart: three minutes down).
pub const INCIDENT_AFTER: i64 = 3;
/// Raw points older than this are folded into hourly ones.
pub const RAW_FOR: TimeDelta = TimeDelta::hours(48);
/// Hourly points older than this are deleted.
pub const HOURLY_FOR: TimeDelta = TimeDelta::days(90);
/// Raw points folded per transaction.
const FOLD_BATCH: i64 = 2000;

/// What one successful poll measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    pub load_1: f64,
    pub load_5: f64,
    pub load_15: f64,
    pub disk_used_gb: Option<i64>,
    pub accounts_count: Option<i64>,
    pub bandwidth_mb: Option<i64>,
    pub latency_ms: Option<i64>,
}

const POINT_COLUMNS: &str = "id, server_id, at, resolution, status, latency_ms, load_1, load_5, load_15, \
    disk_total_gb, disk_used_gb, accounts_count, bandwidth_mb, samples, error";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Point {
    pub id: Uuid,
    pub server_id: Uuid,
    pub at: DateTime<Utc>,
    /// `raw` or `hour`.
    pub resolution: String,
    pub status: String,
    pub latency_ms: Option<i64>,
    pub load_1: Option<f64>,
    pub load_5: Option<f64>,
    pub load_15: Option<f64>,
    pub disk_total_gb: Option<i64>,
    pub disk_used_gb: Option<i64>,
    pub accounts_count: Option<i64>,
    pub bandwidth_mb: Option<i64>,
    pub samples: i64,
    pub error: Option<String>,
}

/// What a poll's outcome changed, for the job's log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    pub went_offline: bool,
    pub came_back: bool,
    pub incident_opened: Option<Uuid>,
    pub incident_resolved: Option<Uuid>,
}

fn status_change<'a>(action: &'a str, s: &Server, after: serde_json::Value) -> Change<'a> {
    Change {
        action,
        entity: "server",
        entity_id: Some(s.id.to_string()),
        tenant_id: s.tenant_id,
        before: Some(json!({"status": s.status, "consecutive_failures": s.consecutive_failures})),
        after: Some(after),
    }
}

async fn insert_point(
    tx: &mut Tx,
    s: &Server,
    at: DateTime<Utc>,
    status: &str,
    sample: Option<&Sample>,
    error: Option<&str>,
) -> Result<(), ServiceError> {
    let sm = sample.cloned().unwrap_or_default();
    let ok = sample.is_some();
    tx.execute(
        "INSERT INTO server_metrics (id, server_id, at, resolution, status, latency_ms, load_1, load_5, load_15, \
         disk_total_gb, disk_used_gb, accounts_count, bandwidth_mb, samples, error) \
         VALUES ($1, $2, $3, 'raw', $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13)",
        vec![
            Uuid::now_v7().into(),
            s.id.into(),
            at.into(),
            status.into(),
            sm.latency_ms.into(),
            Arg::Float(ok.then_some(sm.load_1)),
            Arg::Float(ok.then_some(sm.load_5)),
            Arg::Float(ok.then_some(sm.load_15)),
            ok.then_some(s.disk_total_gb).into(),
            sm.disk_used_gb.into(),
            sm.accounts_count.into(),
            sm.bandwidth_mb.into(),
            error.into(),
        ],
    )
    .await?;
    Ok(())
}

async fn open_incident(tx: &mut Tx, s: &Server) -> Result<Option<Uuid>, ServiceError> {
    let id: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM incidents WHERE server_id = $1 AND source = 'health_check' AND status <> 'resolved'",
            args![s.id],
        )
        .await?;
    Ok(id.map(|(i,)| i))
}

/// Records a successful poll at `at`: the point, the row's counters, and — when the server
/// was down — its return (audited) and the end of its incident.
pub async fn record_ok(
    db: &Db,
    actor: &Actor,
    server_id: Uuid,
    sample: &Sample,
    at: DateTime<Utc>,
) -> Result<Recorded, ServiceError> {
    let mut tx = db.begin().await?;
    let Some(s) = servers::for_update(&mut tx, server_id).await? else {
        // Removed while the poll was running: nothing to record.
        tx.rollback().await?;
        return Ok(Recorded::default());
    };
    insert_point(&mut tx, &s, at, "online", Some(sample), None).await?;
    let status = if s.status == "maintenance" {
        "maintenance"
    } else {
        "online"
    };
    tx.execute(
        "UPDATE servers SET status = $2, accounts_count = COALESCE($3, accounts_count), \
         disk_used_gb = COALESCE($4, disk_used_gb), last_error = NULL, last_checked_at = $5, last_ok_at = $5, \
         consecutive_failures = 0, updated_at = $5 WHERE id = $1",
        args![s.id, status, sample.accounts_count, sample.disk_used_gb, at],
    )
    .await?;
    let mut rec = Recorded::default();
    if s.status == "offline" || s.status == "degraded" {
        rec.came_back = true;
        audit::record(
            &mut tx,
            actor,
            status_change(
                "server.online",
                &s,
                json!({"status": status, "after_failures": s.consecutive_failures}),
            ),
        )
        .await?;
    }
    if let Some(incident) = open_incident(&mut tx, &s).await? {
        tx.execute(
            "UPDATE incidents SET status = 'resolved', resolved_at = $2, resolution_notes = $3, updated_at = $2 WHERE id = $1",
            args![incident, at, format!("{} answered again", s.name)],
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "incident.resolve",
                entity: "incident",
                entity_id: Some(incident.to_string()),
                tenant_id: s.tenant_id,
                before: Some(json!({"status": "investigating"})),
                after: Some(json!({"status": "resolved", "server": s.name, "reason": "answered again"})),
            },
        )
        .await?;
        rec.incident_resolved = Some(incident);
    }
    tx.commit().await?;
    Ok(rec)
}

/// Records a failed poll at `at`: an `offline` point carrying the error (the failure feed),
/// the server offline at once (audited on the transition), and on the
/// [`INCIDENT_AFTER`]th failure in a row an incident — one open per server at most.
pub async fn record_failure(
    db: &Db,
    actor: &Actor,
    server_id: Uuid,
    error: &str,
    at: DateTime<Utc>,
) -> Result<Recorded, ServiceError> {
    let error: String = error.chars().take(500).collect();
    let mut tx = db.begin().await?;
    let Some(s) = servers::for_update(&mut tx, server_id).await? else {
        tx.rollback().await?;
        return Ok(Recorded::default());
    };
    insert_point(&mut tx, &s, at, "offline", None, Some(&error)).await?;
    let failures = s.consecutive_failures + 1;
    let status = if s.status == "maintenance" {
        "maintenance"
    } else {
        "offline"
    };
    tx.execute(
        "UPDATE servers SET status = $2, last_error = $3, last_checked_at = $4, consecutive_failures = $5, \
         updated_at = $4 WHERE id = $1",
        args![s.id, status, error.as_str(), at, failures],
    )
    .await?;
    let mut rec = Recorded::default();
    if status == "offline" && s.status != "offline" {
        rec.went_offline = true;
        audit::record(
            &mut tx,
            actor,
            status_change("server.offline", &s, json!({"status": "offline", "error": error})),
        )
        .await?;
    }
    // A server in maintenance is expected to be unreachable: no incident for it.
    if status == "offline" && failures >= INCIDENT_AFTER && open_incident(&mut tx, &s).await?.is_none() {
        let id = Uuid::now_v7();
        let title = format!("{} unreachable", s.name);
        let description = format!("{failures} polls in a row failed; last error: {error}");
        tx.execute(
            "INSERT INTO incidents (id, tenant_id, server_id, title, description, severity, status, source, started_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'high', 'investigating', 'health_check', $6, $6, $6)",
            args![id, s.tenant_id, s.id, title.as_str(), description.as_str(), at],
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "incident.open",
                entity: "incident",
                entity_id: Some(id.to_string()),
                tenant_id: s.tenant_id,
                before: None,
                after: Some(json!({"title": title, "server": s.name, "failures": failures, "error": error})),
            },
        )
        .await?;
        rec.incident_opened = Some(id);
    }
    tx.commit().await?;
    Ok(rec)
}

/// A server's points since `since`, oldest first: raw ones where they are kept, hourly ones
/// before that.
pub async fn points(db: &Db, actor: &Actor, server_id: Uuid, since: DateTime<Utc>) -> Result<Vec<Point>, ServiceError> {
    require(actor, Permission::ServersRead)?;
    db.fetch_all(
        &format!("SELECT {POINT_COLUMNS} FROM server_metrics WHERE server_id = $1 AND at >= $2 ORDER BY at, id"),
        args![server_id, since],
    )
    .await
}

/// The newest point of a server that measured something.
pub async fn latest(db: &Db, actor: &Actor, server_id: Uuid) -> Result<Option<Point>, ServiceError> {
    require(actor, Permission::ServersRead)?;
    db.fetch_optional(
        &format!(
            "SELECT {POINT_COLUMNS} FROM server_metrics WHERE server_id = $1 AND load_1 IS NOT NULL ORDER BY at DESC, id DESC LIMIT 1"
        ),
        args![server_id],
    )
    .await
}

/// One failed poll, newest first in [`failures`].
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Failure {
    pub server_id: Uuid,
    pub server: String,
    pub at: DateTime<Utc>,
    pub error: String,
}

/// The failure feed: the latest failed polls of every server (`server_id` narrows it).
pub async fn failures(
    db: &Db,
    actor: &Actor,
    server_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Failure>, ServiceError> {
    require(actor, Permission::ServersRead)?;
    db.fetch_all(
        "SELECT m.server_id, s.name AS server, m.at, m.error FROM server_metrics m JOIN servers s ON s.id = m.server_id \
         WHERE m.error IS NOT NULL AND ($1 IS NULL OR m.server_id = $1) ORDER BY m.at DESC, m.id DESC LIMIT $2",
        args![server_id, limit.clamp(1, 500)],
    )
    .await
}

/// One server's hour.
type HourKey = (Uuid, DateTime<Utc>);

/// What a retention run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Retention {
    pub folded: i64,
    pub hours_written: i64,
    pub hourly_deleted: i64,
}

fn avg(values: impl Iterator<Item = (Option<f64>, i64)>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0_i64);
    for (v, w) in values {
        if let Some(v) = v {
            sum += v * w as f64;
            n += w;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

/// Folds raw points older than [`RAW_FOR`] (counted back from `at`, to whole hours) into one
/// `hour` point per server and hour — load averaged (weighted by samples), disk and accounts
/// as last measured, bandwidth at its highest, the hour `offline` when any poll in it failed —
/// then deletes hourly points older than [`HOURLY_FOR`]. Idempotent: a fold meets the hour
/// point of an earlier run and merges into it. One audit row per run that changed anything.
pub async fn downsample(db: &Db, actor: &Actor, at: DateTime<Utc>) -> Result<Retention, ServiceError> {
    let cutoff = (at - RAW_FOR)
        .duration_trunc(TimeDelta::hours(1))
        .map_err(|e| ServiceError::Unavailable(format!("cannot round the cutoff: {e}")))?;
    let mut r = Retention::default();
    loop {
        let mut tx = db.begin().await?;
        let raw: Vec<Point> = tx
            .fetch_all(
                &format!(
                    "SELECT {POINT_COLUMNS} FROM server_metrics WHERE resolution = 'raw' AND at < $1 \
                     ORDER BY server_id, at, id LIMIT {FOLD_BATCH}"
                ),
                args![cutoff],
            )
            .await?;
        if raw.is_empty() {
            tx.rollback().await?;
            break;
        }
        let mut groups: Vec<(HourKey, Vec<&Point>)> = Vec::new();
        for p in &raw {
            let hour =
                p.at.duration_trunc(TimeDelta::hours(1))
                    .map_err(|e| ServiceError::Unavailable(format!("cannot round a point: {e}")))?;
            match groups.last_mut() {
                Some((k, v)) if *k == (p.server_id, hour) => v.push(p),
                _ => groups.push(((p.server_id, hour), vec![p])),
            }
        }
        for ((server, hour), pts) in &groups {
            let existing: Option<Point> = tx
                .fetch_optional(
                    &format!("SELECT {POINT_COLUMNS} FROM server_metrics WHERE resolution = 'hour' AND server_id = $1 AND at = $2"),
                    args![*server, *hour],
                )
                .await?;
            let all: Vec<&Point> = existing.iter().chain(pts.iter().copied()).collect();
            let weighted = |f: fn(&Point) -> Option<f64>| avg(all.iter().map(|p| (f(p), p.samples)));
            let last = |f: fn(&Point) -> Option<i64>| all.iter().rev().find_map(|p| f(p));
            let samples: i64 = all.iter().map(|p| p.samples).sum();
            let failed = all.iter().any(|p| p.error.is_some());
            let status = if failed { "offline" } else { "online" };
            let error = all.iter().rev().find_map(|p| p.error.clone());
            let latency =
                avg(all.iter().map(|p| (p.latency_ms.map(|l| l as f64), p.samples))).map(|l| l.round() as i64);
            let bandwidth = all.iter().filter_map(|p| p.bandwidth_mb).max();
            let values: Vec<Arg> = vec![
                status.into(),
                latency.into(),
                Arg::Float(weighted(|p| p.load_1)),
                Arg::Float(weighted(|p| p.load_5)),
                Arg::Float(weighted(|p| p.load_15)),
                last(|p| p.disk_total_gb).into(),
                last(|p| p.disk_used_gb).into(),
                last(|p| p.accounts_count).into(),
                bandwidth.into(),
                samples.into(),
                error.into(),
            ];
            match existing {
                Some(e) => {
                    let mut a: Vec<Arg> = vec![e.id.into()];
                    a.extend(values);
                    tx.execute(
                        "UPDATE server_metrics SET status = $2, latency_ms = $3, load_1 = $4, load_5 = $5, load_15 = $6, \
                         disk_total_gb = $7, disk_used_gb = $8, accounts_count = $9, bandwidth_mb = $10, samples = $11, \
                         error = $12 WHERE id = $1",
                        a,
                    )
                    .await?;
                }
                None => {
                    let mut a: Vec<Arg> = vec![Uuid::now_v7().into(), (*server).into(), (*hour).into()];
                    a.extend(values);
                    tx.execute(
                        "INSERT INTO server_metrics (id, server_id, at, resolution, status, latency_ms, load_1, load_5, \
                         load_15, disk_total_gb, disk_used_gb, accounts_count, bandwidth_mb, samples, error) \
                         VALUES ($1, $2, $3, 'hour', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                        a,
                    )
                    .await?;
                    r.hours_written += 1;
                }
            }
        }
        for chunk in raw.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let ids: Vec<Arg> = chunk.iter().map(|p| p.id.into()).collect();
            tx.execute(
                &format!("DELETE FROM server_metrics WHERE id IN ({})", marks.join(", ")),
                ids,
            )
            .await?;
        }
        r.folded += raw.len() as i64;
        tx.commit().await?;
        if (raw.len() as i64) < FOLD_BATCH {
            break;
        }
    }
    let mut tx = db.begin().await?;
    r.hourly_deleted = tx
        .execute(
            "DELETE FROM server_metrics WHERE resolution = 'hour' AND at < $1",
            args![at - HOURLY_FOR],
        )
        .await? as i64;
    if r != Retention::default() {
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "server_metrics.retention",
                entity: "server_metrics",
                entity_id: None,
                tenant_id: None,
                before: None,
                after: Some(json!({"folded": r.folded, "hours_written": r.hours_written,
                    "hourly_deleted": r.hourly_deleted, "raw_before": cutoff})),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(r)
}
