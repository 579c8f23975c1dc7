//! Recurring jobs: cron schedules (docs/adr/0004-job-queue.md, "Schedules").
//!
//! A schedule fires by a compare-and-set on its `next_run_at` in the same transaction that
//! enqueues its job: whichever scheduler's UPDATE matches the old value wins, the others
//! match no row. So any number of schedulers (one per worker process) fire each schedule
//! once per occurrence, on SQLite and PostgreSQL alike, without a lock service. A schedule's
//! job has the unique key `schedule:<name>`, so a slow job is never piled up behind itself.
//! After downtime a schedule fires once, not once per missed occurrence.

use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::watch;
use uuid::Uuid;

use super::{enqueue, Job, NewJob};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Backend, Db, Tx};
use crate::error::ServiceError;

const COLUMNS: &str = "id, name, cron, queue, kind, payload, enabled, next_run_at, last_run_at, last_job_id, \
    created_by, created_at, updated_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Schedule {
    pub id: Uuid,
    pub name: String,
    pub cron: String,
    pub queue: String,
    pub kind: String,
    pub payload: Value,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_job_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A schedule to create or replace (by name).
#[derive(Debug, Clone)]
pub struct NewSchedule {
    pub name: String,
    /// Five fields (minute hour day month weekday), or six with seconds first. UTC.
    pub cron: String,
    pub queue: String,
    pub kind: String,
    pub payload: Value,
}

/// The schedules a fresh installation gets, with handlers every worker has.
pub fn defaults() -> Vec<NewSchedule> {
    vec![
        NewSchedule {
            name: "jobs.cleanup".into(),
            cron: "17 3 * * *".into(),
            queue: "maintenance".into(),
            kind: "jobs.cleanup".into(),
            payload: json!({ "older_than_days": 7 }),
        },
        // A signed checkpoint of the audit chain every 10 minutes (docs/adr/0013).
        NewSchedule {
            name: "audit.checkpoint".into(),
            cron: "*/10 * * * *".into(),
            queue: "maintenance".into(),
            kind: "audit.checkpoint".into(),
            payload: json!({}),
        },
        // Every WHM server polled each minute (docs/adr/0020).
        NewSchedule {
            name: "servers.poll".into(),
            cron: "* * * * *".into(),
            queue: crate::hosting::jobs::QUEUE.into(),
            kind: crate::hosting::jobs::SERVERS_POLL.into(),
            payload: json!({}),
        },
        // Renewal invoices, reminders, suspensions and terminations (docs/adr/0027).
        NewSchedule {
            name: "billing.renewals".into(),
            cron: "7 * * * *".into(),
            queue: crate::billing::dunning::QUEUE.into(),
            kind: crate::billing::dunning::RENEWALS.into(),
            payload: json!({}),
        },
        // Pending domains' nameservers resolved every 5 minutes (docs/adr/0031).
        NewSchedule {
            name: "dns.verify".into(),
            cron: "*/5 * * * *".into(),
            queue: crate::dns::jobs::QUEUE.into(),
            kind: crate::dns::jobs::VERIFY.into(),
            payload: json!({}),
        },
        // Every hosted domain's certificate read over TLS each hour (docs/adr/0032).
        NewSchedule {
            name: "ssl.check_all".into(),
            cron: "41 * * * *".into(),
            queue: crate::ssl::jobs::QUEUE.into(),
            kind: crate::ssl::jobs::CHECK_ALL.into(),
            payload: json!({}),
        },
        // Raw server metrics older than 48 h folded into hourly points.
        NewSchedule {
            name: "servers.retention".into(),
            cron: "23 * * * *".into(),
            queue: "maintenance".into(),
            kind: crate::hosting::jobs::SERVERS_RETENTION.into(),
            payload: json!({}),
        },
    ]
}

/// Parses a cron expression (UTC). Seconds are optional: `*/5 * * * * *` fires every 5 s.
pub fn parse_cron(expr: &str) -> Result<Cron, ServiceError> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr.trim())
        .map_err(|e| ServiceError::invalid("cron", format!("not a cron expression: {e}")))
}

/// The first occurrence strictly after `t`, whole seconds.
pub fn next_after(cron: &Cron, t: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
    cron.find_next_occurrence(&t, false)
        .map_err(|e| ServiceError::invalid("cron", format!("never fires: {e}")))
}

fn require_platform(actor: &Actor) -> Result<(), ServiceError> {
    require(actor, Permission::JobsManage)?;
    if actor.tenant_id.is_some() {
        return Err(ServiceError::PermissionDenied(
            "schedules are platform-wide; tenant users cannot change them".into(),
        ));
    }
    Ok(())
}

pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<Schedule>, ServiceError> {
    require(actor, Permission::JobsRead)?;
    if actor.tenant_id.is_some() {
        return Ok(Vec::new());
    }
    db.fetch_all(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"), args![])
        .await
}

async fn by_name(tx: &mut Tx, name: &str) -> Result<Option<Schedule>, ServiceError> {
    let mut sql = format!("SELECT {COLUMNS} FROM schedules WHERE name = $1");
    if tx.backend() == Backend::Postgres {
        sql.push_str(" FOR UPDATE");
    }
    tx.fetch_optional(&sql, args![name.trim()]).await
}

fn check(new: &NewSchedule) -> Result<(String, Cron), ServiceError> {
    let name = crate::validate::name(&new.name, 100).map_err(|m| ServiceError::invalid("name", m))?;
    for (field, v) in [("queue", &new.queue), ("kind", &new.kind)] {
        if v.trim().is_empty() || v.len() > 200 {
            return Err(ServiceError::invalid(field, "must be 1–200 characters"));
        }
    }
    if !new.payload.is_object() {
        return Err(ServiceError::invalid("payload", "must be a JSON object"));
    }
    Ok((name, parse_cron(&new.cron)?))
}

/// Creates the schedule, or replaces the one with that name (its next run is recomputed).
pub async fn upsert(db: &Db, actor: &Actor, new: NewSchedule) -> Result<Schedule, ServiceError> {
    require_platform(actor)?;
    let mut tx = db.begin().await?;
    let s = upsert_in(&mut tx, actor, new).await?;
    tx.commit().await?;
    Ok(s)
}

async fn upsert_in(tx: &mut Tx, actor: &Actor, new: NewSchedule) -> Result<Schedule, ServiceError> {
    let (name, cron) = check(&new)?;
    let at = now();
    let next = next_after(&cron, at)?;
    let before = by_name(tx, &name).await?;
    let after: Schedule = match &before {
        Some(b) => {
            tx.fetch_one(
                &format!(
                    "UPDATE schedules SET cron = $2, queue = $3, kind = $4, payload = $5, next_run_at = $6, \
                     updated_at = $7 WHERE id = $1 RETURNING {COLUMNS}"
                ),
                args![
                    b.id,
                    new.cron.trim(),
                    new.queue.trim(),
                    new.kind.trim(),
                    new.payload,
                    next,
                    at
                ],
            )
            .await?
        }
        None => {
            tx.fetch_one(
                &format!(
                    "INSERT INTO schedules (id, name, cron, queue, kind, payload, enabled, next_run_at, created_by, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
                ),
                args![
                    Uuid::now_v7(),
                    name.as_str(),
                    new.cron.trim(),
                    new.queue.trim(),
                    new.kind.trim(),
                    new.payload,
                    true,
                    next,
                    actor.name.as_str(),
                    at
                ],
            )
            .await?
        }
    };
    let action = if before.is_some() {
        "schedule.update"
    } else {
        "schedule.create"
    };
    audit::record(tx, actor, change(action, before.as_ref(), Some(&after))).await?;
    Ok(after)
}

fn change<'a>(action: &'a str, before: Option<&Schedule>, after: Option<&Schedule>) -> Change<'a> {
    Change {
        action,
        entity: "schedule",
        entity_id: after.or(before).map(|s| s.id.to_string()),
        tenant_id: None,
        before: before.and_then(snapshot),
        after: after.and_then(snapshot),
    }
}

/// Creates the [`defaults`] missing by name. An existing one is never touched, so an
/// operator's change to a default is kept; a removed default comes back at the next start
/// (disable it instead to keep it off).
pub async fn ensure_defaults(db: &Db) -> Result<usize, ServiceError> {
    let actor = Actor::system("scheduler");
    let mut added = 0;
    for d in defaults() {
        let mut tx = db.begin().await?;
        if by_name(&mut tx, &d.name).await?.is_none() {
            upsert_in(&mut tx, &actor, d).await?;
            added += 1;
        }
        tx.commit().await?;
    }
    Ok(added)
}

pub async fn remove(db: &Db, actor: &Actor, name: &str) -> Result<Schedule, ServiceError> {
    require_platform(actor)?;
    let mut tx = db.begin().await?;
    let before = by_name(&mut tx, name)
        .await?
        .ok_or_else(|| ServiceError::not_found("schedule", name))?;
    tx.execute("DELETE FROM schedules WHERE id = $1", args![before.id])
        .await?;
    audit::record(&mut tx, actor, change("schedule.remove", Some(&before), None)).await?;
    tx.commit().await?;
    Ok(before)
}

/// Pauses or resumes a schedule; resuming recomputes its next run from now.
pub async fn set_enabled(db: &Db, actor: &Actor, name: &str, enabled: bool) -> Result<Schedule, ServiceError> {
    require_platform(actor)?;
    let mut tx = db.begin().await?;
    let before = by_name(&mut tx, name)
        .await?
        .ok_or_else(|| ServiceError::not_found("schedule", name))?;
    let at = now();
    let next = if enabled {
        next_after(&parse_cron(&before.cron)?, at)?
    } else {
        before.next_run_at
    };
    let after: Schedule = tx
        .fetch_one(
            &format!("UPDATE schedules SET enabled = $2, next_run_at = $3, updated_at = $4 WHERE id = $1 RETURNING {COLUMNS}"),
            args![before.id, enabled, next, at],
        )
        .await?;
    let action = if enabled { "schedule.enable" } else { "schedule.disable" };
    audit::record(&mut tx, actor, change(action, Some(&before), Some(&after))).await?;
    tx.commit().await?;
    Ok(after)
}

fn job_of(s: &Schedule, enqueued_by: String) -> NewJob {
    NewJob {
        queue: s.queue.clone(),
        kind: s.kind.clone(),
        payload: s.payload.clone(),
        unique_key: Some(format!("schedule:{}", s.name)),
        enqueued_by,
        ..NewJob::default()
    }
}

/// Enqueues a schedule's job now, outside its timetable (audited). Its next run is unchanged.
pub async fn run_now(db: &Db, actor: &Actor, name: &str) -> Result<Job, ServiceError> {
    require_platform(actor)?;
    let mut tx = db.begin().await?;
    let s = by_name(&mut tx, name)
        .await?
        .ok_or_else(|| ServiceError::not_found("schedule", name))?;
    let job = enqueue(&mut tx, job_of(&s, actor.name.clone())).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "schedule.run",
            entity: "schedule",
            entity_id: Some(s.id.to_string()),
            tenant_id: None,
            before: None,
            after: Some(json!({ "schedule": s.name, "job_id": job.id })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(job)
}

/// One firing a scheduler won.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    pub schedule: String,
    /// The occurrence it fired for.
    pub due: DateTime<Utc>,
    pub job_id: Uuid,
}

/// Fires every enabled schedule due at `at`. Each is its own transaction: the
/// compare-and-set on `next_run_at` and the job commit together, so losing the race (another
/// scheduler fired it) or crashing leaves no half-firing. The firing is recorded by the job
/// row itself (`enqueued_by = schedule:<name>`), not in the audit log, which would otherwise
/// grow by a row per occurrence.
pub async fn fire_due(db: &Db, at: DateTime<Utc>) -> Result<Vec<Firing>, ServiceError> {
    let due: Vec<Schedule> = db
        .fetch_all(
            &format!(
                "SELECT {COLUMNS} FROM schedules WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at LIMIT 100"
            ),
            args![at],
        )
        .await?;
    let mut fired = Vec::new();
    for s in due {
        let next = match parse_cron(&s.cron).and_then(|c| next_after(&c, at)) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(schedule = %s.name, error = %e, "schedule cannot fire; disable or fix it");
                continue;
            }
        };
        let mut tx = db.begin().await?;
        let won = tx
            .execute(
                "UPDATE schedules SET next_run_at = $2, last_run_at = $3, updated_at = $4 \
                 WHERE id = $1 AND enabled AND next_run_at = $3",
                args![s.id, next, s.next_run_at, now()],
            )
            .await?;
        if won == 0 {
            tx.rollback().await?;
            continue;
        }
        let job = enqueue(&mut tx, job_of(&s, format!("schedule:{}", s.name))).await?;
        tx.execute(
            "UPDATE schedules SET last_job_id = $2 WHERE id = $1",
            args![s.id, job.id],
        )
        .await?;
        tx.commit().await?;
        fired.push(Firing {
            schedule: s.name.clone(),
            due: s.next_run_at,
            job_id: job.id,
        });
    }
    Ok(fired)
}

/// Runs [`fire_due`] until `shutdown`: every second, or sooner when the next schedule is due
/// sooner. Errors are logged and retried; they never stop it.
pub async fn run_scheduler(db: Db, mut shutdown: watch::Receiver<bool>) {
    tracing::info!("scheduler started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        match fire_due(&db, now()).await {
            Ok(f) if !f.is_empty() => tracing::info!(fired = f.len(), "schedules fired"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler tick failed"),
        }
        let next: Option<DateTime<Utc>> = db
            .scalar("SELECT MIN(next_run_at) FROM schedules WHERE enabled", args![])
            .await
            .unwrap_or(None);
        let wait = next
            .and_then(|n| (n - now()).to_std().ok())
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(20), Duration::from_secs(1));
        tokio::select! {
            changed = shutdown.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("scheduler stopped");
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn cron_with_and_without_seconds() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 30).unwrap();
        let c = parse_cron("17 3 * * *").unwrap();
        assert_eq!(
            next_after(&c, t).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 2, 3, 17, 0).unwrap()
        );
        let every5 = parse_cron("*/5 * * * * *").unwrap();
        assert_eq!(
            next_after(&every5, t).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 35).unwrap()
        );
        assert!(parse_cron("not cron").is_err());
        assert!(parse_cron("61 * * * *").is_err());
    }

    #[test]
    fn defaults_parse() {
        for d in defaults() {
            assert!(check(&d).is_ok(), "{}", d.name);
        }
    }
}
