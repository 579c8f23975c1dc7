//! What the queue screen shows, as plain data: depth rows per queue, the failure feed (one row
//! per job, newest failure first) and when to reload the overview. Pure, so the merge and
//! debounce rules are tested without a terminal or a database.

use std::time::{Duration, Instant};

use backend::jobs::admin::QueueStat;
use backend::jobs::{EventKind, Job, JobEvent};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// At most one overview reload per this while events arrive.
pub const MIN_GAP: Duration = Duration::from_secs(1);
/// Reload this often anyway: a safety net for events the feed cannot see (another tenant's
/// job leaving the queue, a clock-skewed poll).
pub const PERIOD: Duration = Duration::from_secs(5);
/// Rows kept in the failure feed.
pub const FEED_MAX: usize = 200;

/// One queue's counts by status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepthRow {
    pub queue: String,
    pub queued: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub dead: i64,
    pub cancelled: i64,
}

impl DepthRow {
    fn slot(&mut self, status: &str) -> Option<&mut i64> {
        Some(match status {
            "queued" => &mut self.queued,
            "running" => &mut self.running,
            "succeeded" => &mut self.succeeded,
            "failed" => &mut self.failed,
            "dead" => &mut self.dead,
            "cancelled" => &mut self.cancelled,
            _ => return None,
        })
    }
}

/// Rows per queue, in queue order, from the backend's (queue, status, count) triples.
pub fn depth_rows(stats: &[QueueStat]) -> Vec<DepthRow> {
    let mut rows: Vec<DepthRow> = Vec::new();
    for s in stats {
        let i = match rows.iter().position(|r| r.queue == s.queue) {
            Some(i) => i,
            None => {
                rows.push(DepthRow {
                    queue: s.queue.clone(),
                    ..DepthRow::default()
                });
                rows.len() - 1
            }
        };
        if let Some(n) = rows[i].slot(&s.status) {
            *n += s.count;
        }
    }
    rows.sort_by(|a, b| a.queue.cmp(&b.queue));
    rows
}

/// The status an event leaves its job in, and the one it left (when known).
fn transition(e: EventKind) -> (Option<&'static str>, &'static str) {
    match e {
        EventKind::Enqueued => (None, "queued"),
        EventKind::Started => (Some("queued"), "running"),
        EventKind::Succeeded => (Some("running"), "succeeded"),
        EventKind::Retrying | EventKind::Requeued => (Some("running"), "queued"),
        EventKind::Failed => (Some("running"), "failed"),
        EventKind::Dead => (Some("running"), "dead"),
        EventKind::Cancelled => (Some("queued"), "cancelled"),
        // From failed, dead or cancelled: the event does not say which.
        EventKind::Retried => (None, "queued"),
    }
}

/// The status a job is in after `e`.
pub fn status_after(e: EventKind) -> &'static str {
    transition(e).1
}

/// Moves one job between the counts of its queue at once; the next overview corrects any
/// drift (the polling fallback can skip a step, e.g. a job that started and finished
/// between two polls arrives as `succeeded` only).
pub fn bump(rows: &mut Vec<DepthRow>, e: &JobEvent) {
    let (from, to) = transition(e.event);
    let row = match rows.iter().position(|r| r.queue == e.queue) {
        Some(i) => &mut rows[i],
        None => {
            rows.push(DepthRow {
                queue: e.queue.clone(),
                ..DepthRow::default()
            });
            rows.sort_by(|a, b| a.queue.cmp(&b.queue));
            let Some(i) = rows.iter().position(|r| r.queue == e.queue) else {
                return;
            };
            &mut rows[i]
        }
    };
    if let Some(n) = from.and_then(|s| row.slot(s)) {
        *n = (*n - 1).max(0);
    }
    if let Some(n) = row.slot(to) {
        *n += 1;
    }
}

/// Whether the event finished its job (what the throughput counts).
pub fn finishes(e: EventKind) -> bool {
    matches!(
        e,
        EventKind::Succeeded | EventKind::Failed | EventKind::Dead | EventKind::Cancelled
    )
}

/// A row of the failure feed: a job whose latest attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    pub at: DateTime<Utc>,
    /// `retrying`, `failed` or `dead`.
    pub event: EventKind,
    /// The job's status as far as we know (`queued` while it waits for its retry); later
    /// events update it, so retry/cancel are offered for what the job is now.
    pub status: String,
    pub job_id: Uuid,
    pub queue: String,
    pub kind: String,
    pub attempt: i64,
    pub max_attempts: Option<i64>,
    pub error: Option<String>,
    /// Came from a live event the last overview had not seen.
    pub live: bool,
}

impl FeedRow {
    pub fn of_job(j: &Job) -> FeedRow {
        let event = match j.status.as_str() {
            "failed" => EventKind::Failed,
            "dead" => EventKind::Dead,
            _ => EventKind::Retrying,
        };
        FeedRow {
            at: j.updated_at,
            event,
            status: j.status.clone(),
            job_id: j.id,
            queue: j.queue.clone(),
            kind: j.kind.clone(),
            attempt: j.attempts,
            max_attempts: Some(j.max_attempts),
            error: j.last_error.clone(),
            live: false,
        }
    }

    pub fn of_event(e: &JobEvent) -> FeedRow {
        FeedRow {
            at: e.at,
            event: e.event,
            status: status_after(e.event).to_owned(),
            job_id: e.job_id,
            queue: e.queue.clone(),
            kind: e.kind.clone(),
            attempt: e.attempt,
            max_attempts: None,
            error: e.error.clone(),
            live: true,
        }
    }
}

/// The failure feed, newest first, one row per job.
#[derive(Debug, Clone, Default)]
pub struct Feed {
    pub rows: Vec<FeedRow>,
    /// Failure events seen live since the screen opened.
    pub live_failures: u64,
}

impl Feed {
    /// A live event: a failure goes to the top (replacing the job's older row); any other
    /// event only updates the status of a job already shown.
    pub fn on_event(&mut self, e: &JobEvent) {
        if e.event.is_failure() {
            self.live_failures += 1;
            self.rows.retain(|r| r.job_id != e.job_id);
            self.rows.insert(0, FeedRow::of_event(e));
            self.rows.truncate(FEED_MAX);
        } else if let Some(r) = self.rows.iter_mut().find(|r| r.job_id == e.job_id) {
            r.status = status_after(e.event).to_owned();
        }
    }

    /// The overview read at `at` is the truth for everything before `at`: its failures
    /// replace the rows, except live rows newer than it that it may not have seen.
    pub fn on_overview(&mut self, at: DateTime<Utc>, failures: &[Job]) {
        let mut rows: Vec<FeedRow> = failures.iter().map(FeedRow::of_job).collect();
        let newer = self
            .rows
            .iter()
            .filter(|r| r.live && r.at >= at && !rows.iter().any(|o| o.job_id == r.job_id))
            .cloned()
            .collect::<Vec<_>>();
        rows.extend(newer);
        rows.sort_by(|a, b| b.at.cmp(&a.at).then(b.job_id.cmp(&a.job_id)));
        rows.truncate(FEED_MAX);
        self.rows = rows;
    }
}

/// When to reload the overview: now on the first event after a quiet second, then at most
/// once per [`MIN_GAP`] while events keep coming, and every [`PERIOD`] regardless. One
/// request at a time: events that arrive while one is in flight ask for the next.
#[derive(Debug, Clone, Default)]
pub struct Refresh {
    in_flight: bool,
    stale: bool,
    last_sent: Option<Instant>,
}

impl Refresh {
    pub fn due(&self, now: Instant) -> bool {
        if self.in_flight {
            return false;
        }
        match self.last_sent {
            None => true,
            Some(t) => (self.stale && now >= t + MIN_GAP) || now >= t + PERIOD,
        }
    }

    pub fn sent(&mut self, now: Instant) {
        self.in_flight = true;
        self.stale = false;
        self.last_sent = Some(now);
    }

    pub fn arrived(&mut self) {
        self.in_flight = false;
    }

    /// Something changed that the overview shown does not include.
    pub fn changed(&mut self) {
        self.stale = true;
    }

    pub fn in_flight(&self) -> bool {
        self.in_flight
    }
}

/// How long something has run: `12s`, `3m04s`, `2h05m`, `3d04h`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The last 8 hex digits of a job id: enough to tell jobs apart on screen. (Not the first:
/// job ids are UUIDv7, whose leading digits are the creation time, shared by a whole batch.)
pub fn short_id(id: &Uuid) -> String {
    let hex = id.simple().to_string();
    hex.get(hex.len().saturating_sub(8)..).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(job: Uuid, event: EventKind, at: DateTime<Utc>) -> JobEvent {
        JobEvent {
            at,
            event,
            job_id: job,
            queue: "dns".into(),
            kind: "dns.sync_zone".into(),
            attempt: 2,
            tenant_id: None,
            error: event.is_failure().then(|| "boom".to_owned()),
        }
    }

    #[test]
    fn short_ids_are_the_random_end() {
        let id = Uuid::parse_str("01955f3a-0000-7000-8000-00000badcafe").unwrap_or_default();
        assert_eq!(short_id(&id), "0badcafe");
    }

    #[test]
    fn ages_read_like_a_clock() {
        assert_eq!(age(-3), "0s");
        assert_eq!(age(12), "12s");
        assert_eq!(age(184), "3m04s");
        assert_eq!(age(7500), "2h05m");
        assert_eq!(age(3 * 86_400 + 4 * 3600), "3d04h");
    }

    #[test]
    fn depths_group_by_queue_and_events_move_counts() {
        let stat = |q: &str, s: &str, n| QueueStat {
            queue: q.into(),
            status: s.into(),
            count: n,
        };
        let mut rows = depth_rows(&[
            stat("mail", "queued", 3),
            stat("dns", "running", 1),
            stat("dns", "dead", 2),
        ]);
        assert_eq!(
            rows.iter().map(|r| r.queue.as_str()).collect::<Vec<_>>(),
            ["dns", "mail"]
        );
        let now = Utc::now();
        bump(&mut rows, &ev(Uuid::nil(), EventKind::Failed, now));
        assert_eq!((rows[0].running, rows[0].failed), (0, 1));
        // A step the poll skipped never drives a count below zero.
        bump(&mut rows, &ev(Uuid::nil(), EventKind::Succeeded, now));
        assert_eq!((rows[0].running, rows[0].succeeded), (0, 1));
        let mut e = ev(Uuid::nil(), EventKind::Enqueued, now);
        e.queue = "billing".into();
        bump(&mut rows, &e);
        assert_eq!(rows[0].queue, "billing");
        assert_eq!(rows[0].queued, 1);
    }

    #[test]
    fn feed_keeps_one_row_per_job_newest_first() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let t0 = Utc::now();
        let mut feed = Feed::default();
        feed.on_event(&ev(a, EventKind::Retrying, t0));
        feed.on_event(&ev(b, EventKind::Failed, t0));
        feed.on_event(&ev(a, EventKind::Dead, t0));
        assert_eq!(feed.rows.iter().map(|r| r.job_id).collect::<Vec<_>>(), [a, b]);
        assert_eq!(feed.rows[0].status, "dead");
        feed.on_event(&ev(b, EventKind::Retried, t0));
        assert_eq!(feed.rows[1].status, "queued");
        assert_eq!(feed.live_failures, 3);
        // An overview read after both events drops what it no longer lists (b recovered);
        // a live row newer than it stays.
        let c = Uuid::now_v7();
        let later = t0 + chrono::Duration::seconds(5);
        feed.on_event(&ev(c, EventKind::Failed, later));
        feed.on_overview(t0 + chrono::Duration::seconds(1), &[]);
        assert_eq!(feed.rows.iter().map(|r| r.job_id).collect::<Vec<_>>(), [c]);
    }

    #[test]
    fn a_burst_of_events_costs_one_reload_per_gap() {
        let t0 = Instant::now();
        let mut r = Refresh::default();
        assert!(r.due(t0));
        r.sent(t0);
        r.arrived();
        assert!(!r.due(t0), "quiet: wait for the period");
        for _ in 0..1000 {
            r.changed();
        }
        assert!(!r.due(t0 + Duration::from_millis(300)));
        assert!(r.due(t0 + MIN_GAP));
        r.sent(t0 + MIN_GAP);
        r.changed();
        assert!(!r.due(t0 + MIN_GAP * 3), "one request in flight at a time");
        r.arrived();
        assert!(r.due(t0 + MIN_GAP * 3));
        let mut quiet = Refresh::default();
        quiet.sent(t0);
        quiet.arrived();
        assert!(quiet.due(t0 + PERIOD));
    }
}
