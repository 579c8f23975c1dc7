//! Live views of the queue for operators: [`watch`] (the event stream behind `painel jobs
//! watch` and the queue screen's failure feed) and [`overview`] (depths, throughput, running
//! jobs, recent failures). Both are permission-checked (`jobs:read`) and tenant-scoped.
//!
//! `watch` follows Redis events while Redis is up and falls back to reading job changes from
//! the database (`updated_at` order) while it is down or not configured; when Redis comes
//! back, one last read covers the gap before it switches back. An event may then be seen
//! twice around a switch, never lost.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::admin::{scope, QueueStat};
use super::events::{decode, poll_changes, JobEvent};
use super::{Job, COLUMNS};
use crate::actor::Actor;
use crate::authz::{require, Permission};
use crate::bus::{BusMessage, EVENTS_CHANNEL};
use crate::db::{now, Backend, Db};
use crate::error::ServiceError;
use crate::page::where_clause;

/// How often the fallback reads job changes.
pub const POLL: Duration = Duration::from_millis(500);

/// Which events to follow.
#[derive(Debug, Clone, Default)]
pub struct WatchFilter {
    pub queue: Option<String>,
    /// Only retrying, failed and dead.
    pub failures_only: bool,
}

/// What a watch yields.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchItem {
    Event(JobEvent),
    /// Where events come from now: `"redis"` or `"polling"`.
    Source(&'static str),
}

fn wanted(actor: &Actor, f: &WatchFilter, e: &JobEvent) -> bool {
    let in_scope = match (actor.tenant_id, e.tenant_id) {
        (None, _) => true,
        (Some(mine), Some(t)) => mine == t,
        (Some(_), None) => false,
    };
    in_scope && f.queue.as_ref().is_none_or(|q| *q == e.queue) && (!f.failures_only || e.event.is_failure())
}

/// Starts following job events from now on; the stream ends when the receiver is dropped.
pub fn watch(db: &Db, actor: &Actor, filter: WatchFilter) -> Result<mpsc::Receiver<WatchItem>, ServiceError> {
    require(actor, Permission::JobsRead)?;
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(follow(db.clone(), actor.clone(), filter, tx));
    Ok(rx)
}

struct Cursor {
    since: DateTime<Utc>,
    after: Option<Uuid>,
}

/// Reads the changes after `cur` and sends them; false when the receiver is gone.
async fn poll_once(db: &Db, actor: &Actor, f: &WatchFilter, cur: &mut Cursor, out: &mpsc::Sender<WatchItem>) -> bool {
    loop {
        let rows = match poll_changes(db, actor.tenant_id, cur.since, cur.after, 500).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "job feed poll failed");
                return !out.is_closed();
            }
        };
        let full = rows.len() == 500;
        for job in rows {
            cur.since = job.updated_at;
            cur.after = Some(job.id);
            let e = JobEvent::from_row(&job);
            if wanted(actor, f, &e) && out.send(WatchItem::Event(e)).await.is_err() {
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}

async fn follow(db: Db, actor: Actor, f: WatchFilter, out: mpsc::Sender<WatchItem>) {
    let mut cur = Cursor {
        since: now(),
        after: None,
    };
    let mut bus = db.bus().map(|b| b.subscribe(&[EVENTS_CHANNEL]));
    let mut live = false;
    if out.send(WatchItem::Source("polling")).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = out.closed() => return,
            msg = async { match bus.as_mut() { Some(b) => b.recv().await, None => std::future::pending().await } } => {
                match msg {
                    None => bus = None,
                    Some(BusMessage::Up) => {
                        // Cover what happened while we were polling, then follow Redis.
                        if !poll_once(&db, &actor, &f, &mut cur, &out).await {
                            return;
                        }
                        live = true;
                        if out.send(WatchItem::Source("redis")).await.is_err() {
                            return;
                        }
                    }
                    Some(BusMessage::Down) => {
                        live = false;
                        cur = Cursor { since: now() - chrono::Duration::seconds(1), after: None };
                        if out.send(WatchItem::Source("polling")).await.is_err() {
                            return;
                        }
                    }
                    Some(BusMessage::Message { payload, .. }) if live => {
                        for e in decode(&payload) {
                            if wanted(&actor, &f, &e) && out.send(WatchItem::Event(e)).await.is_err() {
                                return;
                            }
                        }
                    }
                    Some(BusMessage::Message { .. }) => {}
                }
            }
            _ = tick.tick(), if !live => {
                if !poll_once(&db, &actor, &f, &mut cur, &out).await {
                    return;
                }
            }
        }
    }
}

/// Minutes of history in the throughput sparkline.
pub const THROUGHPUT_MINUTES: usize = 30;

/// What the queue screen shows, read in one go.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub at: DateTime<Utc>,
    /// Counts per queue and status.
    pub depths: Vec<QueueStat>,
    /// Jobs finished per minute (any outcome), oldest first; the last is the current minute.
    pub throughput: Vec<u64>,
    /// Running jobs, longest-running first.
    pub running: Vec<Job>,
    /// Jobs whose latest attempt failed (retrying, failed or dead), most recent first.
    pub failures: Vec<Job>,
}

/// Reads the queue overview in the actor's scope.
pub async fn overview(db: &Db, actor: &Actor, limit: usize) -> Result<Overview, ServiceError> {
    require(actor, Permission::JobsRead)?;
    let limit = limit.clamp(1, 200);
    let at = now();
    let depths = super::admin::stats(db, actor).await?;

    let from = at - chrono::Duration::minutes(THROUGHPUT_MINUTES as i64 - 1);
    let from = from - chrono::Duration::seconds(i64::from(chrono::Timelike::second(&from)));
    let minute = match db.backend() {
        Backend::Postgres => "CAST(floor(extract(epoch FROM finished_at) / 60) AS bigint)",
        Backend::Sqlite => "CAST(CAST(strftime('%s', finished_at) AS INTEGER) / 60 AS INTEGER)",
    };
    // Through jobs_updated_idx: a finished job's last change is its finishing.
    let mut conds = vec![
        "status <> 'running'".to_owned(),
        "updated_at >= $1".to_owned(),
        "finished_at >= $1".to_owned(),
    ];
    let mut args = crate::args![from];
    scope(actor, &mut conds, &mut args);
    let per_minute: Vec<(i64, i64)> = db
        .fetch_all(
            &format!(
                "SELECT {minute} AS m, COUNT(*) FROM jobs {} GROUP BY m ORDER BY m",
                where_clause(&conds)
            ),
            args,
        )
        .await?;
    let first = from.timestamp().div_euclid(60);
    let mut throughput = vec![0u64; THROUGHPUT_MINUTES];
    for (m, n) in per_minute {
        if let Some(slot) = usize::try_from(m - first).ok().and_then(|i| throughput.get_mut(i)) {
            *slot = u64::try_from(n).unwrap_or(0);
        }
    }

    let mut conds = vec!["status = 'running'".to_owned()];
    let mut args = Vec::new();
    scope(actor, &mut conds, &mut args);
    let running: Vec<Job> = db
        .fetch_all(
            &format!(
                "SELECT {COLUMNS} FROM jobs {} ORDER BY started_at, id LIMIT {limit}",
                where_clause(&conds)
            ),
            args,
        )
        .await?;

    let mut conds = vec![
        "last_error IS NOT NULL".to_owned(),
        "status IN ('queued', 'failed', 'dead')".to_owned(),
    ];
    let mut args = Vec::new();
    scope(actor, &mut conds, &mut args);
    let failures: Vec<Job> = db
        .fetch_all(
            &format!(
                "SELECT {COLUMNS} FROM jobs {} ORDER BY updated_at DESC, id DESC LIMIT {limit}",
                where_clause(&conds)
            ),
            args,
        )
        .await?;
    Ok(Overview {
        at,
        depths,
        throughput,
        running,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::EventKind;

    fn ev(tenant: Option<Uuid>, queue: &str, event: EventKind) -> JobEvent {
        JobEvent {
            at: now(),
            event,
            job_id: Uuid::now_v7(),
            queue: queue.into(),
            kind: "k".into(),
            attempt: 1,
            tenant_id: tenant,
            error: None,
        }
    }

    #[test]
    fn scope_and_filters() {
        let t = Uuid::now_v7();
        let other = Uuid::now_v7();
        let platform = Actor::system("ops");
        let tenant = Actor::tenant_user("u", crate::actor::Role::TenantAdmin, t);
        let all = WatchFilter::default();
        assert!(wanted(&platform, &all, &ev(None, "q", EventKind::Started)));
        assert!(wanted(&platform, &all, &ev(Some(other), "q", EventKind::Started)));
        assert!(wanted(&tenant, &all, &ev(Some(t), "q", EventKind::Started)));
        assert!(!wanted(&tenant, &all, &ev(Some(other), "q", EventKind::Started)));
        assert!(!wanted(&tenant, &all, &ev(None, "q", EventKind::Started)));
        let failures = WatchFilter {
            queue: Some("q".into()),
            failures_only: true,
        };
        assert!(wanted(&platform, &failures, &ev(None, "q", EventKind::Dead)));
        assert!(!wanted(&platform, &failures, &ev(None, "q", EventKind::Succeeded)));
        assert!(!wanted(&platform, &failures, &ev(None, "other", EventKind::Dead)));
    }
}
