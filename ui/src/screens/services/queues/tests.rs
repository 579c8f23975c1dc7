//! The screen's reaction to a burst of live events: every event lands, the overview is
//! reloaded at most once per [`model::MIN_GAP`].

use backend::jobs::feed::{Overview, WatchItem};
use backend::jobs::{EventKind, JobEvent};
use chrono::Utc;
use uuid::Uuid;

use super::*;

fn overview_requests(ctx: &Ctx) -> usize {
    ctx.jobs.iter().filter(|j| j.slot == OVERVIEW && !j.is_stream()).count()
}

fn empty() -> Overview {
    Overview {
        at: Utc::now(),
        depths: Vec::new(),
        throughput: vec![0; 30],
        running: Vec::new(),
        failures: Vec::new(),
    }
}

fn failure(i: usize) -> WatchItem {
    WatchItem::Event(JobEvent {
        at: Utc::now(),
        event: if i.is_multiple_of(2) {
            EventKind::Dead
        } else {
            EventKind::Succeeded
        },
        job_id: Uuid::now_v7(),
        queue: "mail".into(),
        kind: "mail.send".into(),
        attempt: 5,
        tenant_id: None,
        error: i.is_multiple_of(2).then(|| format!("SMTP 550 #{i}")),
    })
}

#[test]
fn a_burst_of_a_thousand_events_costs_one_overview_reload() {
    let mut s = QueuesScreen::default();
    let mut ctx = Ctx::new(100);
    s.start(&mut ctx);
    assert_eq!(overview_requests(&ctx), 1);
    assert!(ctx.jobs.iter().any(|j| j.slot == WATCH && j.is_stream()));
    s.apply(OVERVIEW, Box::new(Loaded(Ok(empty()))), &mut ctx);

    let mut ctx = Ctx::new(100);
    let items: Vec<WatchItem> = (0..1000).map(failure).collect();
    for batch in items.chunks(WATCH_BATCH) {
        s.apply(WATCH, Box::new(Watch(Ok(batch.to_vec()))), &mut ctx);
    }
    assert!(overview_requests(&ctx) <= 1, "{}", overview_requests(&ctx));
    assert_eq!(s.feed.live_failures, 500);
    assert_eq!(s.feed.rows.len(), model::FEED_MAX);
    assert_eq!(s.depths.first().map(|d| (d.dead, d.succeeded)), Some((500, 500)));
    assert_eq!(s.throughput.last(), Some(&1000));

    // The reload the burst asked for goes out once the gap has passed, and only once.
    std::thread::sleep(model::MIN_GAP);
    let mut ctx = Ctx::new(100);
    s.tick(&mut ctx);
    s.tick(&mut ctx);
    assert_eq!(overview_requests(&ctx), 1);
}

#[test]
fn source_and_subscription_errors_show_in_the_state() {
    let mut s = QueuesScreen::default();
    let mut ctx = Ctx::new(100);
    s.apply(WATCH, Box::new(Watch(Ok(vec![WatchItem::Source("redis")]))), &mut ctx);
    assert_eq!(s.source, Some("redis"));
    let denied = ServiceError::PermissionDenied("x lacks jobs:read".into());
    s.apply(WATCH, Box::new(Watch(Err(denied))), &mut ctx);
    assert!(s.live_error.as_deref().is_some_and(|e| e.contains("jobs:read")));
}
