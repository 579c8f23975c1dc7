//! The queue screen against a real SQLite database: the live failure feed, retry and cancel
//! through the confirmation (audited), and a read-only actor refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use backend::audit::{self, AuditQuery};
use backend::jobs::{self, admin, Handlers, Job, JobError, NewJob, Worker, WorkerConfig};
use backend::{Actor, Db, Role};
use common::*;
use crossterm::event::KeyCode;
use painel_ui::screens::services::queues::Panel;
use painel_ui::screens::Mode;

const ROUTE: &str = "services/provisioning";

async fn enqueue(db: &Db, queue: &str, kind: &str, tenant: Option<uuid::Uuid>) -> Job {
    let mut tx = db.begin().await.unwrap();
    let job = jobs::enqueue(
        &mut tx,
        NewJob {
            queue: queue.into(),
            kind: kind.into(),
            payload: serde_json::json!({ "n": 1 }),
            tenant_id: tenant,
            enqueued_by: "test".into(),
            ..NewJob::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    job
}

/// A job that ran once and failed with `err` (permanent: `failed`; transient: queued again
/// after a backoff, i.e. "retrying").
async fn failed_job(db: &Db, queue: &str, err: JobError, tenant: Option<uuid::Uuid>) -> Job {
    let job = enqueue(db, queue, "provision.createacct", tenant).await;
    let claimed = jobs::claim(db, "worker-t", &[queue.to_owned()], 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(claimed.iter().any(|j| j.id == job.id));
    jobs::fail(db, "worker-t", job.id, err).await.unwrap()
}

async fn audits(db: &Db, action: &str, job: &Job) -> usize {
    let q = AuditQuery {
        action: Some(action.into()),
        entity_id: Some(job.id.to_string()),
        limit: 10,
        ..AuditQuery::default()
    };
    audit::list(db, &actor(), &q).await.unwrap().items.len()
}

async fn status(db: &Db, job: &Job) -> String {
    admin::get(db, &actor(), &job.id.to_string()).await.unwrap().status
}

#[tokio::test]
async fn palette_finds_the_queues_and_the_job_list() {
    let (mut app, _dir) = app_at("dashboard", 0).await;
    for (alias, path) in [("queues", ROUTE), ("jobs", "services/jobs")] {
        palette(&mut app, alias);
        press(&mut app, KeyCode::Enter);
        app.settle().await;
        assert_eq!(app.route().path(), path, ":{alias}");
        ch(&mut app, 'q');
    }
    palette(&mut app, "queues");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(queues(&app).read_at.is_some(), "overview loaded");
}

#[tokio::test]
async fn job_list_filters_by_status_and_queue_and_cancels_a_queued_job() {
    let (db, _dir) = db_with(0).await;
    let waiting = enqueue(&db, "mail", "mail.send", None).await;
    let failed = failed_job(&db, "dns", JobError::Permanent("boom".into()), None).await;
    let mut app = app_on(&db, actor(), "services/jobs").await;
    let ids = |app: &painel_ui::App| jobs_list(app).rows().iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(ids(&app), [failed.id, waiting.id], "newest first");

    ch(&mut app, 'f'); // queued only
    app.settle().await;
    assert_eq!(ids(&app), [waiting.id]);
    ch(&mut app, 'f'); // running: none
    ch(&mut app, 'f'); // failed
    app.settle().await;
    assert_eq!(ids(&app), [failed.id]);
    for _ in 0..4 {
        ch(&mut app, 'f'); // dead, cancelled, succeeded, then every status again
    }
    ch(&mut app, '/');
    typ(&mut app, "mail");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(ids(&app), [waiting.id], "a queue name narrows");

    ch(&mut app, 'x');
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(
        app.flash().is_some_and(|f| f.text.contains("cancelled")),
        "{:?}",
        app.flash()
    );
    assert_eq!(status(&db, &waiting).await, "cancelled");
    assert_eq!(audits(&db, "job.cancel", &waiting).await, 1);
    assert_eq!(jobs_list(&app).rows()[0].status, "cancelled", "the list reloaded");
    // Tab still walks the section's tabs from here: the next is the order form.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.route().path(), "services/new");
}

#[tokio::test]
async fn failure_feed_updates_live_without_a_key_press() {
    let (db, _dir) = db_with(0).await;
    let mut app = app_on(&db, actor(), ROUTE).await;
    assert!(queues(&app).feed.rows.is_empty());

    // A real worker runs a job of a kind it has no handler for: a permanent failure.
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let mut cfg = WorkerConfig::new("ui-test", vec!["default".into()]);
    cfg.poll = Duration::from_millis(100);
    let worker = tokio::spawn(Worker::new(db.clone(), cfg, Handlers::builtin()).run(stop_rx));
    let job = enqueue(&db, "default", "no.such.kind", None).await;

    pump_until(&mut app, Duration::from_secs(20), |app| {
        let q = queues(app);
        q.feed
            .rows
            .first()
            .is_some_and(|r| r.job_id == job.id && r.status == "failed")
            && q.depths.iter().any(|d| d.queue == "default" && d.failed == 1)
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();

    let q = queues(&app);
    assert_eq!(q.source, Some("polling"), "no Redis here: the feed polls");
    assert!(q.feed.live_failures >= 1, "the failure came in as a live event");
    let row = &q.feed.rows[0];
    assert!(
        row.error.as_deref().is_some_and(|e| e.contains("no handler")),
        "{row:?}"
    );
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("Failures · live: polling"), "{text}");
    assert!(text.contains("no.such.kind"), "{text}");
    assert!(text.contains("no handler"), "{text}");
}

#[tokio::test]
async fn retry_asks_first_then_queues_the_job_and_audits_it() {
    let (db, _dir) = db_with(0).await;
    let job = failed_job(&db, "dns", JobError::Permanent("Cloudflare 81053".into()), None).await;
    let mut app = app_on(&db, actor(), ROUTE).await;
    assert_eq!(queues(&app).focus, Panel::Failures);
    assert_eq!(queues(&app).feed.rows[0].job_id, job.id);

    // Esc in the modal changes nothing.
    ch(&mut app, 'r');
    assert!(queues(&app).modal.is_some());
    assert_eq!(app.screen().map(|s| s.mode()), Some(Mode::Form));
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert!(queues(&app).modal.is_none());
    assert_eq!(app.route().path(), ROUTE, "Esc closed the modal, not the screen");
    assert_eq!(status(&db, &job).await, "failed");

    ch(&mut app, 'r');
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(queues(&app).modal.is_none());
    assert!(
        app.flash().is_some_and(|f| f.text.contains("retried")),
        "{:?}",
        app.flash()
    );
    assert_eq!(status(&db, &job).await, "queued");
    assert_eq!(audits(&db, "job.retry", &job).await, 1);

    // Now queued: a second retry is refused on the spot, without a modal.
    pump_until(&mut app, Duration::from_secs(10), |app| {
        queues(app).feed.rows.first().is_some_and(|r| r.status == "queued") && !queues(app).loading()
    })
    .await;
    ch(&mut app, 'r');
    assert!(queues(&app).modal.is_none());
    assert!(app
        .flash()
        .is_some_and(|f| f.text.contains("only failed, dead or cancelled")));
}

#[tokio::test]
async fn cancel_a_job_waiting_for_its_retry() {
    let (db, _dir) = db_with(0).await;
    let job = failed_job(&db, "mail", JobError::Transient("SMTP 421".into()), None).await;
    assert_eq!(job.status, "queued");
    let mut app = app_on(&db, actor(), ROUTE).await;
    let row = &queues(&app).feed.rows[0];
    assert_eq!((row.job_id, row.status.as_str()), (job.id, "queued"));

    ch(&mut app, 'x');
    assert!(queues(&app).modal.is_some());
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(
        app.flash().is_some_and(|f| f.text.contains("cancelled")),
        "{:?}",
        app.flash()
    );
    assert_eq!(status(&db, &job).await, "cancelled");
    assert_eq!(audits(&db, "job.cancel", &job).await, 1);
}

#[tokio::test]
async fn running_jobs_cannot_be_cancelled_and_enter_opens_the_detail() {
    let (db, _dir) = db_with(0).await;
    let job = enqueue(&db, "provisioning", "provision.createacct", None).await;
    jobs::claim(&db, "worker-t", &["provisioning".into()], 1, Duration::from_secs(30))
        .await
        .unwrap();
    let mut app = app_on(&db, actor(), ROUTE).await;
    assert_eq!(queues(&app).running.len(), 1);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(queues(&app).focus, Panel::Running);
    ch(&mut app, 'x');
    assert!(queues(&app).modal.is_none());
    assert!(app.flash().is_some_and(|f| f.text.contains("is running")));

    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let detail = queues(&app).detail.as_ref().expect("detail open");
    assert_eq!(detail.job.as_ref().map(|j| j.id), Some(job.id));
    let text = screen_text(&render(&mut app, 100, 30));
    assert!(text.contains("worker-t"), "{text}");
    assert!(text.contains("no failed attempts"), "{text}");
    press(&mut app, KeyCode::Esc);
    assert!(queues(&app).detail.is_none());
    assert_eq!(app.route().path(), ROUTE);
}

#[tokio::test]
async fn a_read_only_actor_is_told_no_and_nothing_changes() {
    let (db, _dir) = db_with(1).await;
    let tenant = backend::tenants::get(&db, &actor(), "acme-hosting").await.unwrap().id;
    let job = failed_job(&db, "dns", JobError::Permanent("boom".into()), Some(tenant)).await;
    let on_call = Actor::tenant_user("olga", Role::OnCall, tenant);
    let mut app = app_on(&db, on_call, ROUTE).await;
    assert_eq!(queues(&app).feed.rows.len(), 1, "on-call staff can watch");

    ch(&mut app, 'r');
    let flash = app.flash().expect("a message").clone();
    // Refused before any call: on-call staff lack jobs:manage (and `r` is not offered).
    assert!(flash.text.contains("lacks jobs:manage"), "{}", flash.text);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(!app.offers(&painel_ui::action::Action::Retry));
    assert!(queues(&app).modal.is_none());
    assert_eq!(status(&db, &job).await, "failed");
    assert_eq!(audits(&db, "job.retry", &job).await, 0);
}

#[tokio::test]
async fn without_jobs_read_the_screen_says_so() {
    let (db, _dir) = db_with(1).await;
    let tenant = backend::tenants::get(&db, &actor(), "acme-hosting").await.unwrap().id;
    let reseller = Actor::tenant_user("rita", Role::Reseller, tenant);
    let mut app = app_on(&db, reseller, ROUTE).await;
    assert!(app.screen_as::<painel_ui::screens::Forbidden>().is_some());
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("needs the jobs:read"), "{text}");
}

#[tokio::test]
async fn with_redis_the_feed_says_live_redis_and_failures_arrive_from_it() {
    let Ok(url) = std::env::var("PAINEL_TEST_REDIS_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs with Redis (PAINEL_TEST_REDIS_URL)"
        );
        eprintln!("skipping: PAINEL_TEST_REDIS_URL is not set");
        return;
    };
    let (db, _dir) = db_with(0).await;
    let db = db.with_bus(Some(backend::bus::Bus::connect(&url).unwrap()));
    let mut app = app_on(&db, actor(), ROUTE).await;
    pump_until(&mut app, Duration::from_secs(20), |app| {
        queues(app).source == Some("redis")
    })
    .await;

    let job = failed_job(&db, "redis-q", JobError::Permanent("provider said no".into()), None).await;
    pump_until(&mut app, Duration::from_secs(20), |app| {
        queues(app)
            .feed
            .rows
            .iter()
            .any(|r| r.job_id == job.id && r.status == "failed")
    })
    .await;
    assert!(queues(&app).feed.live_failures >= 1, "it came as a Redis event");
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("Failures · live: redis"), "{text}");
    assert!(text.contains("provider said no"), "{text}");
}
