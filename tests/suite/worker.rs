//! The worker: slots, handlers, retries, shutdown with drain and release, and crash recovery
//! through the real `painel worker` process.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::args;
use backend::jobs::admin::{self, EnqueueRequest};
use backend::jobs::{self, backoff::RetryPolicy, Handlers, Job, JobError, NewJob, Worker, WorkerConfig};
use backend::{Actor, Db, Role, ServiceError};
use serde_json::json;
use tokio::sync::watch;
use uuid::Uuid;

use crate::common::{fresh, operator, TestDb};

fn new_job(queue: &str, kind: &str, payload: serde_json::Value) -> NewJob {
    NewJob {
        queue: queue.into(),
        kind: kind.into(),
        payload,
        enqueued_by: "test".into(),
        ..Default::default()
    }
}

async fn put_many(db: &Db, jobs: Vec<NewJob>) -> Vec<Uuid> {
    let mut tx = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for j in jobs {
        ids.push(jobs::enqueue(&mut tx, j).await.unwrap().id);
    }
    tx.commit().await.unwrap();
    ids
}

async fn get(db: &Db, id: Uuid) -> Job {
    admin::get(db, &operator(), &id.to_string()).await.unwrap()
}

async fn count_status(db: &Db, status: &str) -> i64 {
    db.scalar("SELECT COUNT(*) FROM jobs WHERE status = $1", args![status])
        .await
        .unwrap()
}

/// Polls until `cond` holds, failing after `limit`.
async fn wait_for<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fast(id: &str, queue: &str) -> WorkerConfig {
    let mut c = WorkerConfig::new(id, vec![queue.to_owned()]);
    c.poll = Duration::from_millis(20);
    c.lease = Duration::from_secs(5);
    c.reclaim_every = Duration::from_millis(200);
    c.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    };
    c
}

#[tokio::test]
async fn four_slots_run_noop_unknown_and_transient_jobs() {
    let t = fresh().await;
    let mut batch: Vec<NewJob> = (0..200).map(|i| new_job("w", "noop", json!({ "i": i }))).collect();
    batch.push(new_job("w", "nobody.handles.this", json!({})));
    batch.push(new_job("w", "flaky", json!({})));
    let ids = put_many(&t.db, batch).await;
    let (unknown, flaky) = (ids[200], ids[201]);

    let mut handlers = Handlers::builtin();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    handlers.register("flaky", move |job: Job, _db: Db| {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            if job.attempts < 3 {
                Err(JobError::Transient(format!("try {} failed", job.attempts)))
            } else {
                Ok(())
            }
        }
    });
    let mut cfg = fast("w-inproc", "w");
    cfg.concurrency = 4;
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(Worker::new(t.db.clone(), cfg, handlers).run(stopped));

    let db = t.db.clone();
    wait_for(Duration::from_secs(60), "all jobs to finish", || {
        let db = db.clone();
        async move { count_status(&db, "succeeded").await + count_status(&db, "failed").await == 202 }
    })
    .await;
    stop.send(true).unwrap();
    let stats = worker.await.unwrap().unwrap();

    assert_eq!(count_status(&t.db, "succeeded").await, 201);
    let u = get(&t.db, unknown).await;
    assert_eq!(u.status, "failed");
    assert_eq!(u.attempts, 1);
    assert_eq!(u.last_error.as_deref(), Some("no handler for kind nobody.handles.this"));
    assert_eq!(u.error_history[0]["kind"], "permanent");
    let f = get(&t.db, flaky).await;
    assert_eq!((f.status.as_str(), f.attempts), ("succeeded", 3));
    assert_eq!(f.error_history.as_array().unwrap().len(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(stats.succeeded, 201);
    assert_eq!(stats.failed, 3);
    assert_eq!(stats.released, 0);
}

#[tokio::test]
async fn shutdown_drains_running_jobs_and_releases_the_rest() {
    let t = fresh().await;
    let ids = put_many(
        &t.db,
        vec![
            new_job("s", "slow", json!({ "ms": 300 })),
            new_job("s", "slow", json!({ "ms": 600_000 })),
        ],
    )
    .await;
    let (short, long) = (ids[0], ids[1]);
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let mut handlers = Handlers::new();
    handlers.register("slow", move |job: Job, _db: Db| {
        let s = s.clone();
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            let ms = job.payload["ms"].as_u64().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(())
        }
    });
    let mut cfg = fast("w-drain", "s");
    cfg.concurrency = 2;
    // Long enough for the 300 ms job on a loaded machine; the other one outlives it.
    cfg.drain = Duration::from_secs(5);
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(Worker::new(t.db.clone(), cfg, handlers).run(stopped));
    let st = started.clone();
    wait_for(Duration::from_secs(30), "both jobs to start", || {
        let st = st.clone();
        async move { st.load(Ordering::SeqCst) == 2 }
    })
    .await;
    stop.send(true).unwrap();
    let stats = worker.await.unwrap().unwrap();

    let a = get(&t.db, short).await;
    assert_eq!((a.status.as_str(), a.attempts), ("succeeded", 1));
    let b = get(&t.db, long).await;
    assert_eq!(
        (b.status.as_str(), b.attempts, b.locked_by.as_deref(), b.lease_until),
        ("queued", 0, None, None)
    );
    assert_eq!(b.error_history, json!([]));
    assert_eq!((stats.succeeded, stats.released), (1, 1));
}

#[tokio::test]
async fn release_returns_only_the_callers_running_jobs_uncounted() {
    let t = fresh().await;
    let ids = put_many(&t.db, (0..3).map(|_| new_job("r", "noop", json!({}))).collect()).await;
    let lease = Duration::from_secs(30);
    let mine = jobs::claim(&t.db, "w1", &["r".to_owned()], 2, lease).await.unwrap();
    let theirs = jobs::claim(&t.db, "w2", &["r".to_owned()], 1, lease).await.unwrap();
    jobs::complete(&t.db, "w1", mine[0].id).await.unwrap();
    let all: Vec<Uuid> = ids.clone();
    let released = jobs::release(&t.db, "w1", &all).await.unwrap();
    assert_eq!(released, vec![mine[1].id]);
    let r = get(&t.db, mine[1].id).await;
    assert_eq!((r.status.as_str(), r.attempts, r.locked_by), ("queued", 0, None));
    assert_eq!(get(&t.db, mine[0].id).await.status, "succeeded");
    assert_eq!(get(&t.db, theirs[0].id).await.status, "running");
    assert!(jobs::release(&t.db, "w1", &[]).await.unwrap().is_empty());
    // Released jobs are claimable again, and the next claim counts as attempt 1.
    let again = jobs::claim(&t.db, "w3", &["r".to_owned()], 5, lease).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
}

#[tokio::test]
async fn audit_note_applies_once_per_key_and_rejects_bad_payloads() {
    let t = fresh().await;
    let job = |payload: serde_json::Value| Job {
        id: Uuid::now_v7(),
        queue: "q".into(),
        kind: "audit.note".into(),
        payload,
        status: "running".into(),
        attempts: 1,
        max_attempts: 5,
        run_at: chrono::Utc::now(),
        lease_until: None,
        locked_by: None,
        last_error: None,
        error_history: json!([]),
        unique_key: None,
        tenant_id: None,
        enqueued_by: "test".into(),
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        finished_at: None,
        started_at: None,
    };
    let j = job(json!({"key": "k1", "note": "hello"}));
    for _ in 0..3 {
        jobs::handlers::audit_note(j.clone(), t.db.clone()).await.unwrap();
    }
    assert_eq!(notes(&t.db, "k1").await, 1);
    let bad = jobs::handlers::audit_note(job(json!({"key": 5})), t.db.clone()).await;
    assert!(matches!(bad, Err(JobError::Permanent(_))), "{bad:?}");
    let bad = jobs::handlers::audit_note(job(json!("x")), t.db.clone()).await;
    assert!(matches!(bad, Err(JobError::Permanent(_))), "{bad:?}");
}

async fn notes(db: &Db, key: &str) -> i64 {
    db.scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'note' AND entity_id = $1",
        args![key],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn enqueue_service_checks_permission_and_audits() {
    let t = fresh().await;
    let req = EnqueueRequest {
        queue: "default".into(),
        kind: "noop".into(),
        payload: json!({"a": 1}),
        unique_key: Some("u1".into()),
        ..Default::default()
    };
    let a = admin::enqueue(&t.db, &operator(), req.clone()).await.unwrap();
    let b = admin::enqueue(&t.db, &operator(), req.clone()).await.unwrap();
    assert_eq!(a.id, b.id);
    let audited: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'job.enqueue' AND entity_id = $1",
            args![a.id.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(audited, 1);
    let agent = Actor::tenant_user("agent", Role::SupportAgent, Uuid::now_v7());
    let denied = admin::enqueue(&t.db, &agent, req).await;
    assert!(matches!(denied, Err(ServiceError::PermissionDenied(_))), "{denied:?}");
}

fn spawn_worker(t: &TestDb, home: &std::path::Path, queue: &str, lease_secs: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url, "worker", "--queues", queue])
        .args(["--concurrency", "4", "--poll-ms", "50", "--lease-secs", lease_secs])
        .args(["--drain-secs", "20"])
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env_remove("PAINEL_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The slow stand-in for real work that the crash tests need. It lives here, not among the
/// production handlers: the worker process below registers it next to the built-ins.
const SLOW_NOTE: &str = "test.slow_note";

/// A worker process with the test's own handlers: this test binary again, running only
/// [`worker_process`] (ignored in normal runs) against `t`'s database. It handles SIGTERM and
/// SIGINT like `painel worker` (stop claiming, drain, release).
fn spawn_test_worker(t: &TestDb, queue: &str, lease_secs: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "worker::worker_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PAINEL_TEST_WORKER_DB", &t.url)
        .env("PAINEL_TEST_WORKER_QUEUE", queue)
        .env("PAINEL_TEST_WORKER_LEASE", lease_secs.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The body of [`spawn_test_worker`]'s process; does nothing unless started by it.
#[tokio::test]
#[ignore = "run as a child process by the crash and drain tests"]
async fn worker_process() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(url) = std::env::var("PAINEL_TEST_WORKER_DB") else {
        return;
    };
    let queue = std::env::var("PAINEL_TEST_WORKER_QUEUE").unwrap();
    let lease: u64 = std::env::var("PAINEL_TEST_WORKER_LEASE").unwrap().parse().unwrap();
    let db = Db::connect(&url).await.unwrap();
    let mut handlers = Handlers::builtin();
    handlers.register(SLOW_NOTE, |job: Job, db: Db| async move {
        let ms = job.payload["sleep_ms"].as_u64().unwrap_or(0);
        // A file the test waits for: the handler runs (a claimed job may still sit in the
        // prefetch buffer, and a buffered job is released, not drained, at shutdown).
        if let Some(path) = job.payload["started_file"].as_str() {
            std::fs::write(path, b"started").unwrap();
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
        jobs::handlers::audit_note(job, db).await
    });
    let mut cfg = WorkerConfig::new(format!("test-worker:{}", std::process::id()), vec![queue]);
    cfg.concurrency = 4;
    cfg.poll = Duration::from_millis(50);
    cfg.lease = Duration::from_secs(lease);
    cfg.drain = Duration::from_secs(20);
    cfg.reclaim_every = (cfg.lease / 2).max(Duration::from_secs(1));
    let mut term = signal(SignalKind::terminate()).unwrap();
    let mut int = signal(SignalKind::interrupt()).unwrap();
    let (stop, stopped) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = stop.send(true);
        stop
    });
    Worker::new(db, cfg, handlers).run(stopped).await.unwrap();
    watcher.abort();
}

/// Kills the child on drop, so a failing test leaves no worker behind.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_killed_worker_process_loses_no_job_and_applies_each_once() {
    let t = fresh().await;
    let keys: Vec<String> = (0..8).map(|i| format!("crash:{i}")).collect();
    let ids = put_many(
        &t.db,
        keys.iter()
            .map(|k| new_job("crash", SLOW_NOTE, json!({"key": k, "note": k, "sleep_ms": 1500})))
            .collect(),
    )
    .await;

    let mut first = Reap(spawn_test_worker(&t, "crash", 2));
    let db = t.db.clone();
    wait_for(Duration::from_secs(30), "the first worker to claim", || {
        let db = db.clone();
        async move { count_status(&db, "running").await > 0 }
    })
    .await;
    first.0.kill().unwrap(); // SIGKILL: no drain, no release
    first.0.wait().unwrap();

    let _second = Reap(spawn_test_worker(&t, "crash", 2));
    wait_for(Duration::from_secs(60), "every job to succeed", || {
        let db = db.clone();
        async move { count_status(&db, "succeeded").await == 8 }
    })
    .await;
    for k in &keys {
        assert_eq!(notes(&t.db, k).await, 1, "{k}");
    }
    // Some jobs were taken by the killed worker and came back through lease expiry.
    let mut reclaimed = 0;
    for id in ids {
        let j = get(&t.db, id).await;
        if j.attempts > 1 {
            reclaimed += 1;
            assert_eq!(j.error_history[0]["kind"], "lease");
        }
    }
    assert!(reclaimed > 0);
}

/// Waits for `child` to exit (failing after 30 s) and returns its exit code.
async fn exit_code(child: &mut Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "worker did not exit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &Child) {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
}

#[tokio::test]
async fn sigterm_drains_the_running_job_and_exits_zero() {
    let t = fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let ids = put_many(
        &t.db,
        vec![new_job(
            "term",
            SLOW_NOTE,
            json!({"key": "term:1", "sleep_ms": 1000, "started_file": started.to_str().unwrap()}),
        )],
    )
    .await;
    let mut w = Reap(spawn_test_worker(&t, "term", 30));
    wait_for(Duration::from_secs(30), "the handler to start", || {
        let started = started.clone();
        async move { started.exists() }
    })
    .await;
    sigterm(&w.0);
    assert_eq!(exit_code(&mut w.0).await, Some(0));
    let j = get(&t.db, ids[0]).await;
    assert_eq!((j.status.as_str(), j.attempts), ("succeeded", 1));
    assert_eq!(notes(&t.db, "term:1").await, 1);
}

#[tokio::test]
async fn painel_worker_runs_jobs_and_exits_zero_on_sigterm() {
    let t = fresh().await;
    let home = tempfile::tempdir().unwrap();
    let ids = put_many(&t.db, vec![new_job("bin", "audit.note", json!({"key": "bin:1"}))]).await;
    let mut w = Reap(spawn_worker(&t, home.path(), "bin", "30"));
    let db = t.db.clone();
    wait_for(Duration::from_secs(30), "the worker to run the job", || {
        let db = db.clone();
        async move { count_status(&db, "succeeded").await == 1 }
    })
    .await;
    sigterm(&w.0);
    assert_eq!(exit_code(&mut w.0).await, Some(0));
    assert_eq!(get(&t.db, ids[0]).await.attempts, 1);
    assert_eq!(notes(&t.db, "bin:1").await, 1);
}

#[tokio::test]
async fn jobs_enqueue_through_the_binary() {
    let t = fresh().await;
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_painel"))
            .args(["--database-url", &t.url, "-o", "json", "jobs", "enqueue"])
            .args(args)
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env_remove("PAINEL_DATABASE_URL")
            .output()
            .unwrap()
    };
    let ok = run(&[
        "--kind",
        "audit.note",
        "--queue",
        "mail",
        "--payload",
        r#"{"note":"hi"}"#,
        "--unique-key",
        "k",
        "--run-at",
        "2030-01-01T00:00:00Z",
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        (v["queue"].as_str(), v["payload"]["note"].as_str()),
        (Some("mail"), Some("hi"))
    );
    assert!(v["run_at"].as_str().unwrap().starts_with("2030-01-01T00:00:00"));
    let again = run(&["--kind", "audit.note", "--queue", "mail", "--unique-key", "k"]);
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["id"], v["id"]);
    assert_eq!(run(&["--kind", "x", "--payload", "{nope"]).status.code(), Some(2));
    assert_eq!(run(&["--kind", "x", "--run-at", "tomorrow"]).status.code(), Some(2));
}

#[tokio::test]
async fn a_kind_can_override_the_workers_backoff() {
    let t = fresh().await;
    let ids = put_many(
        &t.db,
        vec![
            new_job("kinds", "slow.retry", json!({})),
            new_job("kinds", "fast.retry", json!({})),
        ],
    )
    .await;
    let mut handlers = Handlers::new();
    for kind in ["slow.retry", "fast.retry"] {
        handlers.register(kind, |_job, _db| async { Err(JobError::Transient("try later".into())) });
    }
    handlers.retry_policy(
        "slow.retry",
        RetryPolicy {
            base: Duration::from_secs(600),
            cap: Duration::from_secs(3600),
        },
    );
    let (stop, stopped) = watch::channel(false);
    let w = tokio::spawn(Worker::new(t.db.clone(), fast("kinds-w", "kinds"), handlers).run(stopped));
    wait_for(Duration::from_secs(10), "the slow kind's first failure", || async {
        get(&t.db, ids[0]).await.attempts >= 1 && get(&t.db, ids[0]).await.status == "queued"
    })
    .await;
    // The default (10–50 ms) keeps retrying the fast kind meanwhile.
    wait_for(Duration::from_secs(10), "the fast kind to be dead", || async {
        get(&t.db, ids[1]).await.status == "dead"
    })
    .await;
    stop.send(true).unwrap();
    w.await.unwrap().unwrap();
    let slow = get(&t.db, ids[0]).await;
    let wait = slow.run_at - chrono::Utc::now();
    assert!(wait > chrono::Duration::seconds(400), "slow kind retries in {wait:?}");
    assert_eq!(slow.attempts, 1);
}

/// `painel worker` without `--queues` serves every queue (the demo's `maintenance` schedule
/// was never run when it took only `default`) and says so; `--queues '*'` means the same.
#[tokio::test]
async fn painel_worker_serves_every_queue_by_default_and_says_so() {
    for queues in [None, Some("*")] {
        let t = fresh().await;
        let home = tempfile::tempdir().unwrap();
        put_many(
            &t.db,
            vec![
                new_job("maintenance", "audit.note", json!({"key": "m:1"})),
                new_job("default", "audit.note", json!({"key": "d:1"})),
                new_job("zz-later", "noop", json!({})),
            ],
        )
        .await;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_painel"));
        cmd.args(["--database-url", &t.url, "worker", "--poll-ms", "50", "--no-scheduler"]);
        if let Some(q) = queues {
            cmd.args(["--queues", q]);
        }
        let child = cmd
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env_remove("PAINEL_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut w = Reap(child);
        let db = t.db.clone();
        wait_for(Duration::from_secs(30), "every queue's jobs to run", || {
            let db = db.clone();
            async move { count_status(&db, "succeeded").await == 3 }
        })
        .await;
        sigterm(&w.0);
        assert_eq!(exit_code(&mut w.0).await, Some(0));
        let mut err = String::new();
        std::io::Read::read_to_string(&mut w.0.stderr.take().unwrap(), &mut err).unwrap();
        assert!(err.contains("started: every queue"), "{queues:?}: {err}");
    }
}

/// The queue screen marks kinds this build cannot run.
#[test]
fn kinds_without_a_handler_are_known_as_such() {
    assert!(admin::has_handler("audit.note") && admin::has_handler("noop"));
    assert!(!admin::has_handler("billing.renewal_invoices"));
    assert!(admin::known_kinds().contains(&"jobs.cleanup".to_owned()));
}
