//! Redis wake-ups and live job events, and what happens without Redis or when it dies:
//! polling takes over, nothing is lost, and signals come back with the server.

use std::time::{Duration, Instant};

use backend::args;
use backend::bus::{Bus, WAKE_CHANNEL};
use backend::jobs::feed::{self, WatchFilter, WatchItem};
use backend::jobs::{self, EventKind, Handlers, JobError, NewJob, Worker, WorkerConfig};
use backend::{Actor, Db, Role};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator, redis_url, OwnRedis};

fn job(queue: &str, kind: &str, payload: serde_json::Value) -> NewJob {
    NewJob {
        queue: queue.into(),
        kind: kind.into(),
        payload,
        enqueued_by: "test".into(),
        ..Default::default()
    }
}

async fn put(db: &Db, j: NewJob) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, j).await.unwrap().id;
    tx.commit().await.unwrap();
    id
}

async fn status(db: &Db, id: Uuid) -> String {
    db.scalar("SELECT status FROM jobs WHERE id = $1", args![id])
        .await
        .unwrap()
}

async fn wait_status(db: &Db, id: Uuid, want: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if status(db, id).await == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "job {id} not {want} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn slow_poll(id: &str, queue: &str, poll: Duration) -> WorkerConfig {
    let mut c = WorkerConfig::new(id, vec![queue.to_owned()]);
    c.poll = poll;
    c.reclaim_every = Duration::from_secs(1);
    c
}

/// Receives until an event matching `f` arrives.
async fn expect_event(rx: &mut mpsc::Receiver<WatchItem>, limit: Duration, f: impl Fn(&jobs::JobEvent) -> bool) {
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(WatchItem::Event(e))) if f(&e) => return,
            Ok(Some(_)) => {}
            Ok(None) => panic!("watch ended"),
            Err(_) => panic!("expected event did not arrive within {limit:?}"),
        }
    }
}

async fn expect_source(rx: &mut mpsc::Receiver<WatchItem>, want: &str, limit: Duration) {
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, rx.recv()).await {
            Ok(Some(WatchItem::Source(s))) if s == want => return,
            Ok(Some(_)) => {}
            Ok(None) => panic!("watch ended"),
            Err(_) => panic!("watch did not switch to {want} within {limit:?}"),
        }
    }
}

#[tokio::test]
async fn a_wake_up_starts_an_idle_worker_long_before_its_poll() {
    // A server of its own: its subscriber count is this worker's alone.
    let Some(redis) = OwnRedis::start() else { return };
    let t = fresh().await;
    let db = t.db.clone().with_bus(Some(Bus::connect(&redis.url()).unwrap()));
    let queue = format!("wake-{}", Uuid::new_v4().simple());
    let (stop, stopped) = watch::channel(false);
    let w = tokio::spawn(
        Worker::new(
            db.clone(),
            slow_poll("wake", &queue, Duration::from_secs(30)),
            Handlers::builtin(),
        )
        .run(stopped),
    );
    redis.wait_subscribed(WAKE_CHANNEL, 1, Duration::from_secs(10)).await;
    for _ in 0..3 {
        let id = put(&db, job(&queue, "noop", json!({}))).await;
        let took = wait_status(&db, id, "succeeded", Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(2), "took {took:?} with a 30 s poll");
    }
    stop.send(true).unwrap();
    assert_eq!(w.await.unwrap().unwrap().succeeded, 3);
}

#[tokio::test]
async fn events_reach_watchers_in_scope_only() {
    let Some(url) = redis_url() else { return };
    let t = fresh().await;
    let db = t.db.clone().with_bus(Some(Bus::connect(&url).unwrap()));
    let queue = format!("ev-{}", Uuid::new_v4().simple());
    let a = backend::tenants::create(&db, &operator(), new_tenant("Alpha", "alpha.example"))
        .await
        .unwrap();
    let b = backend::tenants::create(&db, &operator(), new_tenant("Beta", "beta.example"))
        .await
        .unwrap();
    let filter = WatchFilter {
        queue: Some(queue.clone()),
        failures_only: false,
    };
    let mut all = feed::watch(&db, &operator(), filter.clone()).unwrap();
    let mut alpha = feed::watch(&db, &Actor::tenant_user("a", Role::SupportAgent, a.id), filter.clone()).unwrap();
    expect_source(&mut all, "redis", Duration::from_secs(5)).await;
    expect_source(&mut alpha, "redis", Duration::from_secs(5)).await;
    assert!(feed::watch(&db, &Actor::tenant_user("r", Role::Reseller, a.id), filter).is_err());

    let mut on_b = job(&queue, "nobody.handles.this", json!({}));
    on_b.tenant_id = Some(b.id);
    let b_job = put(&db, on_b).await;
    let mut on_a = job(&queue, "noop", json!({}));
    on_a.tenant_id = Some(a.id);
    let a_job = put(&db, on_a).await;
    let (stop, stopped) = watch::channel(false);
    let w = tokio::spawn(
        Worker::new(
            db.clone(),
            slow_poll("ev", &queue, Duration::from_millis(50)),
            Handlers::builtin(),
        )
        .run(stopped),
    );
    // The two outcomes may arrive in either order.
    let (mut failed, mut succeeded) = (false, false);
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while !(failed && succeeded) {
        match tokio::time::timeout_at(end, all.recv()).await {
            Ok(Some(WatchItem::Event(e))) => {
                failed |= e.job_id == b_job
                    && e.event == EventKind::Failed
                    && e.error.as_deref().is_some_and(|m| m.contains("no handler"));
                succeeded |= e.job_id == a_job && e.event == EventKind::Succeeded;
            }
            Ok(Some(_)) => {}
            other => panic!("platform watcher missed events (failed {failed}, succeeded {succeeded}): {other:?}"),
        }
    }
    expect_event(&mut alpha, Duration::from_secs(5), |e| {
        e.job_id == a_job && e.event == EventKind::Succeeded
    })
    .await;
    stop.send(true).unwrap();
    w.await.unwrap().unwrap();
    // Whatever Alpha's watcher received, none of it was Beta's.
    while let Ok(item) = alpha.try_recv() {
        if let WatchItem::Event(e) = item {
            assert_eq!(e.tenant_id, Some(a.id), "{e:?}");
        }
    }
}

#[tokio::test]
async fn without_redis_the_feed_polls_the_database() {
    let t = fresh().await;
    let queue = "poll-feed";
    let mut rx = feed::watch(
        &t.db,
        &operator(),
        WatchFilter {
            queue: Some(queue.into()),
            failures_only: true,
        },
    )
    .unwrap();
    expect_source(&mut rx, "polling", Duration::from_secs(1)).await;
    put(&t.db, job(queue, "noop", json!({}))).await;
    let id = put(&t.db, job(queue, "x", json!({}))).await;
    let claimed = jobs::claim(&t.db, "w", &[queue.to_owned()], 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    jobs::fail(&t.db, "w", id, JobError::Permanent("boom".into()))
        .await
        .unwrap();
    expect_event(&mut rx, Duration::from_secs(3), |e| {
        e.job_id == id && e.event == EventKind::Failed && e.error.as_deref() == Some("boom")
    })
    .await;
}

/// The Redis server dies mid-run and comes back: jobs enqueued meanwhile run by polling,
/// every effect lands once, and wake-ups and live events resume with the server.
#[tokio::test]
async fn redis_stopped_and_restarted_during_a_run_loses_no_job() {
    let Some(mut redis) = OwnRedis::start() else { return };
    let t = fresh().await;
    let db = t.db.clone().with_bus(Some(Bus::connect(&redis.url()).unwrap()));
    let queue = "restart";
    let mut rx = feed::watch(
        &db,
        &operator(),
        WatchFilter {
            queue: Some(queue.into()),
            failures_only: false,
        },
    )
    .unwrap();
    expect_source(&mut rx, "redis", Duration::from_secs(5)).await;
    let (stop, stopped) = watch::channel(false);
    let mut cfg = slow_poll("restart", queue, Duration::from_secs(3));
    cfg.concurrency = 4;
    let w = tokio::spawn(Worker::new(db.clone(), cfg, Handlers::builtin()).run(stopped));
    redis.wait_subscribed(WAKE_CHANNEL, 1, Duration::from_secs(10)).await;

    let note = |i: usize| job(queue, "audit.note", json!({ "key": format!("restart-{i}") }));
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(put(&db, note(i)).await);
    }
    wait_status(&db, ids[29], "succeeded", Duration::from_secs(10)).await;

    redis.down();
    expect_source(&mut rx, "polling", Duration::from_secs(5)).await;
    for i in 30..60 {
        ids.push(put(&db, note(i)).await);
    }
    // Without wake-ups the worker's poll finds them.
    for id in &ids[30..] {
        wait_status(&db, *id, "succeeded", Duration::from_secs(15)).await;
    }
    expect_event(&mut rx, Duration::from_secs(5), |e| {
        e.job_id == ids[59] && e.event == EventKind::Succeeded
    })
    .await;

    redis.up();
    expect_source(&mut rx, "redis", Duration::from_secs(10)).await;
    // The worker's own subscription is back too.
    redis.wait_subscribed(WAKE_CHANNEL, 1, Duration::from_secs(10)).await;
    let mut fast = 0;
    for i in 60..63 {
        let id = put(&db, note(i)).await;
        ids.push(id);
        if wait_status(&db, id, "succeeded", Duration::from_secs(10)).await < Duration::from_millis(1500) {
            fast += 1;
        }
        expect_event(&mut rx, Duration::from_secs(5), |e| {
            e.job_id == id && e.event == EventKind::Succeeded
        })
        .await;
    }
    // A claim resets the 3 s poll, so at most the first can have been found by polling.
    assert!(
        fast >= 2,
        "only {fast} of 3 jobs started by wake-up after Redis returned"
    );
    stop.send(true).unwrap();
    let stats = w.await.unwrap().unwrap();
    assert_eq!(stats.succeeded, 63);
    let notes: i64 = db
        .scalar(
            "SELECT COUNT(DISTINCT entity_id) FROM audit_log WHERE entity = 'note' AND entity_id LIKE 'restart-%'",
            args![],
        )
        .await
        .unwrap();
    let rows: i64 = db
        .scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'note'", args![])
        .await
        .unwrap();
    assert_eq!((notes, rows), (63, 63));
}

#[tokio::test]
async fn completions_are_batched_but_only_for_the_holder() {
    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    let n = jobs::enqueue_many(&mut tx, (0..40).map(|_| job("batch", "noop", json!({}))).collect())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 40);
    let mine = jobs::claim(&t.db, "me", &["batch".into()], 30, Duration::from_secs(30))
        .await
        .unwrap();
    let theirs = jobs::claim(&t.db, "them", &["batch".into()], 30, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!((mine.len(), theirs.len()), (30, 10));
    let mut ids: Vec<Uuid> = mine.iter().map(|j| j.id).collect();
    ids.push(theirs[0].id);
    let done = jobs::complete_many(&t.db, "me", &ids).await.unwrap();
    assert_eq!(done.len(), 30);
    assert!(!done.contains(&theirs[0].id));
    assert_eq!(status(&t.db, theirs[0].id).await, "running");
    assert!(jobs::complete_many(&t.db, "me", &ids).await.unwrap().is_empty());

    let mut tx = t.db.begin().await.unwrap();
    let mut bad = job("batch", "noop", json!({}));
    bad.unique_key = Some("k".into());
    let err = jobs::enqueue_many(&mut tx, vec![job("batch", "noop", json!({})), bad]).await;
    assert!(
        matches!(&err, Err(backend::ServiceError::Validation(f)) if f[0].field == "jobs[1].unique_key"),
        "{err:?}"
    );
}

#[tokio::test]
async fn jobs_watch_streams_json_lines_from_the_binary() {
    let t = fresh().await;
    let home = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_painel"))
        .args([
            "--database-url",
            &t.url,
            "-o",
            "json",
            "jobs",
            "watch",
            "--queue",
            "cli-watch",
            "--failures",
        ])
        .args(["--count", "2", "--seconds", "30"])
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env_remove("PAINEL_REDIS_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Ready when it says what it watches (it has taken its starting point by then).
    let mut child = child;
    let stderr = child.stderr.take().unwrap();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let said = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut said = Vec::new();
        let mut ready = Some(ready_tx);
        for line in lines.by_ref().map_while(Result::ok) {
            if line.starts_with("watching job events") {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            }
            said.push(line);
        }
        said.join("\n")
    });
    tokio::time::timeout(Duration::from_secs(20), ready_rx)
        .await
        .expect("jobs watch did not report it was watching")
        .unwrap();
    let a = put(&t.db, job("cli-watch", "x", json!({}))).await;
    let b = put(&t.db, job("cli-watch", "x", json!({}))).await;
    let other = put(&t.db, job("elsewhere", "x", json!({}))).await;
    let queues = ["cli-watch".to_owned(), "elsewhere".to_owned()];
    assert_eq!(
        jobs::claim(&t.db, "w", &queues, 3, Duration::from_secs(30))
            .await
            .unwrap()
            .len(),
        3
    );
    for id in [other, a, b] {
        jobs::fail(&t.db, "w", id, JobError::Permanent(format!("boom {id}")))
            .await
            .unwrap();
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let said = said.await.unwrap();
    assert!(out.status.success(), "{out:?} {said}");
    assert!(said.contains("watching job events (polling)"), "{said}");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["job_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want = vec![a.to_string(), b.to_string()];
    want.sort();
    assert_eq!(ids, want, "{events:?}");
    assert!(events
        .iter()
        .all(|e| e["event"] == "failed" && e["error"].as_str().unwrap().starts_with("boom")));
}

#[tokio::test]
async fn three_workers_run_each_of_many_jobs_once() {
    let t = fresh().await;
    let queue = "many";
    let mut tx = t.db.begin().await.unwrap();
    let batch = (0..600)
        .map(|i| job(queue, "audit.note", json!({ "key": format!("many-{i}") })))
        .collect();
    jobs::enqueue_many(&mut tx, batch).await.unwrap();
    tx.commit().await.unwrap();
    let (stop, stopped) = watch::channel(false);
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let mut cfg = slow_poll(&format!("many-{i}"), queue, Duration::from_millis(20));
            cfg.concurrency = 8;
            cfg.prefetch = 16;
            tokio::spawn(Worker::new(t.db.clone(), cfg, Handlers::builtin()).run(stopped.clone()))
        })
        .collect();
    let start = Instant::now();
    loop {
        let left: i64 =
            t.db.scalar("SELECT COUNT(*) FROM jobs WHERE status <> 'succeeded'", args![])
                .await
                .unwrap();
        if left == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{left} jobs left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    let mut total = 0;
    for w in workers {
        let s = w.await.unwrap().unwrap();
        assert_eq!((s.failed, s.lost, s.released), (0, 0, 0), "{s:?}");
        total += s.succeeded;
    }
    assert_eq!(total, 600);
    let (rows, keys): (i64, i64) = (
        t.db.scalar("SELECT COUNT(*) FROM audit_log WHERE entity = 'note'", args![])
            .await
            .unwrap(),
        t.db.scalar(
            "SELECT COUNT(DISTINCT entity_id) FROM audit_log WHERE entity = 'note'",
            args![],
        )
        .await
        .unwrap(),
    );
    assert_eq!((rows, keys), (600, 600));
    let attempts: i64 = t.db.scalar("SELECT MAX(attempts) FROM jobs", args![]).await.unwrap();
    assert_eq!(attempts, 1, "no job ran twice");
}

#[tokio::test]
async fn the_overview_counts_depths_throughput_running_and_failures_in_scope() {
    let t = fresh().await;
    let op = operator();
    let tenant = backend::tenants::create(&t.db, &op, new_tenant("Gamma", "gamma.example"))
        .await
        .unwrap();
    let q = "ov".to_owned();
    let mut mine = job(&q, "x", json!({}));
    mine.tenant_id = Some(tenant.id);
    let mine = put(&t.db, mine).await;
    let platform_jobs: Vec<Uuid> = put_many(&t.db, &q, 4).await;
    let claimed = jobs::claim(&t.db, "w", std::slice::from_ref(&q), 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
    jobs::fail(&t.db, "w", mine, JobError::Transient("flaky".into()))
        .await
        .unwrap();
    jobs::fail(&t.db, "w", platform_jobs[0], JobError::Permanent("broken".into()))
        .await
        .unwrap();
    jobs::complete_many(&t.db, "w", &platform_jobs[1..3]).await.unwrap();

    let ov = feed::overview(&t.db, &op, 50).await.unwrap();
    let count = |status: &str| {
        ov.depths
            .iter()
            .filter(|d| d.queue == q && d.status == status)
            .map(|d| d.count)
            .sum::<i64>()
    };
    assert_eq!(
        (count("queued"), count("running"), count("failed"), count("succeeded")),
        (1, 1, 1, 2)
    );
    assert_eq!(ov.throughput.len(), feed::THROUGHPUT_MINUTES);
    assert_eq!(*ov.throughput.last().unwrap(), 3, "{:?}", ov.throughput);
    assert_eq!(ov.running.len(), 1);
    assert!(ov.running[0].started_at.is_some());
    let failed: Vec<Uuid> = ov.failures.iter().map(|j| j.id).collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.contains(&mine) && failed.contains(&platform_jobs[0]));

    let scoped = feed::overview(&t.db, &Actor::tenant_user("g", Role::SupportAgent, tenant.id), 50)
        .await
        .unwrap();
    assert_eq!(scoped.depths.iter().map(|d| d.count).sum::<i64>(), 1);
    assert!(scoped.running.is_empty());
    assert_eq!(scoped.failures.iter().map(|j| j.id).collect::<Vec<_>>(), vec![mine]);
    assert!(scoped.throughput.iter().all(|n| *n == 0));
    assert!(
        feed::overview(&t.db, &Actor::tenant_user("r", Role::Reseller, tenant.id), 50)
            .await
            .is_err()
    );
}

async fn put_many(db: &Db, queue: &str, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(put(db, job(queue, "x", json!({}))).await);
    }
    ids
}
