//! The servers' jobs against the WHM simulator over real HTTPS (the sandbox's self-signed
//! certificate, pinned): the connection test, the poll into the time series, an unreachable
//! server → failure feed → incident → resolved, and the TLS policy really enforced.
//! Conditions are polled, never slept on.

use std::future::Future;
use std::time::Duration;

use backend::hosting::jobs as hjobs;
use backend::hosting::metrics::{self, INCIDENT_AFTER};
use backend::hosting::servers::{self, NewServer, Server, ServerPatch};
use backend::hosting::{register_handlers, HostingEnv};
use backend::jobs::{self, Handlers, NewJob, RetryPolicy, Worker, WorkerConfig};
use backend::{args, Actor, Db};
use sandbox::{AccountInit, FaultKind, FaultSpec, Sandbox, WhmInit};
use serde_json::json;
use tokio::sync::watch;

use crate::common::{fresh, operator};
use crate::servers::keys;

pub const TOKEN: &str = "ABCDEF0123456789ABCDEF0123456789";
pub const GRU: &str = "whm-gru-01";

pub async fn sandbox() -> Sandbox {
    let acct = |user: &str, domain: &str| AccountInit {
        user: user.into(),
        domain: domain.into(),
        plan: "default".into(),
        email: None,
        suspended: None,
    };
    Sandbox::builder()
        .seed(11)
        .whm(
            GRU,
            WhmInit::new("root", TOKEN)
                .account(acct("joao01", "joaosilva.com.br"))
                .account(acct("maria", "maria.com.br")),
        )
        .start()
        .await
        .unwrap()
}

pub async fn add_server(db: &Db, sb: &Sandbox, name: &str, tls: &str) -> Server {
    servers::create(
        db,
        &operator(),
        Some(&keys()),
        NewServer {
            name: name.into(),
            hostname: format!("{name}.sandbox.test"),
            ip: "127.0.0.1".into(),
            region: "sa-east-1".into(),
            whm_url: sb.whm_url(GRU).unwrap(),
            api_token: TOKEN.into(),
            tls: tls.into(),
            max_accounts: Some(10),
            disk_total_gb: 100,
            ..NewServer::default()
        },
    )
    .await
    .unwrap()
}

pub fn start_worker(db: &Db) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    start_worker_with(db, HostingEnv::new(Some(keys())))
}

pub fn start_worker_with(db: &Db, env: HostingEnv) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let mut h = Handlers::builtin();
    register_handlers(&mut h, env);
    let mut c = WorkerConfig::new("servers-w", vec![jobs::ALL_QUEUES.to_owned()]);
    c.poll = Duration::from_millis(20);
    c.concurrency = 4;
    c.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    };
    let (stop, stopped) = watch::channel(false);
    let w = Worker::new(db.clone(), c, h);
    let task = tokio::spawn(async move {
        w.run(stopped).await.unwrap();
    });
    (stop, task)
}

pub async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Enqueues the scheduled poll once the previous one has fully finished: a `server.poll`
/// still marked running (the worker writes successes in batches) holds the unique key, and
/// a fan-out meanwhile would add nothing.
async fn enqueue_poll(db: &Db) {
    until("the previous poll to finish", || async {
        db.scalar::<i64>(
            "SELECT COUNT(*) FROM jobs WHERE kind IN ('servers.poll', 'server.poll') AND status IN ('queued', 'running')",
            args![],
        )
        .await
        .is_ok_and(|n| n == 0)
    })
    .await;
    let mut tx = db.begin().await.unwrap();
    jobs::enqueue(
        &mut tx,
        NewJob {
            queue: hjobs::QUEUE.into(),
            kind: hjobs::SERVERS_POLL.into(),
            payload: json!({}),
            enqueued_by: "scheduler".into(),
            ..NewJob::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn points(db: &Db, server: &Server) -> i64 {
    db.scalar(
        "SELECT COUNT(*) FROM server_metrics WHERE server_id = $1",
        args![server.id],
    )
    .await
    .unwrap()
}

async fn test_answer(db: &Db, name: &str) -> Server {
    let (s, job) = hjobs::request_test(db, &operator(), name).await.unwrap();
    until("the test job", || async {
        backend::jobs::admin::get(db, &operator(), &job.id.to_string())
            .await
            .is_ok_and(|j| j.status == "succeeded")
    })
    .await;
    servers::get(db, &operator(), &s.id.to_string()).await.unwrap()
}

#[tokio::test]
async fn test_and_poll_talk_to_the_simulator_and_failures_open_then_close_an_incident() {
    let t = fresh().await;
    let sb = sandbox().await;
    let pinned = add_server(&t.db, &sb, GRU, &format!("pin:{}", sb.cert_sha256_hex())).await;
    let (stop, worker) = start_worker(&t.db);

    // The connection test answers with the simulator's version.
    let s = test_answer(&t.db, GRU).await;
    assert!(s.last_test_error.is_none(), "{:?}", s.last_test_error);
    assert!(
        s.whm_version.as_deref().is_some_and(|v| v.starts_with("11.")),
        "{:?}",
        s.whm_version
    );

    // The scheduled poll fans out and the point lands, with the accounts the server holds.
    enqueue_poll(&t.db).await;
    until("the first point", || async { points(&t.db, &pinned).await >= 1 }).await;
    let s = servers::get(&t.db, &operator(), GRU).await.unwrap();
    assert_eq!((s.status.as_str(), s.accounts_count), ("online", 2));
    assert!(s.last_ok_at.is_some());
    let p = metrics::latest(&t.db, &operator(), s.id).await.unwrap().unwrap();
    assert!(
        p.load_1.is_some() && p.bandwidth_mb.is_some() && p.latency_ms.is_some(),
        "{p:?}"
    );

    // WHM starts refusing: offline at the first failure, an incident at the Nth, one only.
    sb.set_fault(
        GRU,
        "systemloadavg",
        FaultSpec::always(FaultKind::Http5xx { status: 503 }),
    )
    .unwrap();
    for n in 1..=INCIDENT_AFTER + 1 {
        enqueue_poll(&t.db).await;
        until("a failed poll", || async {
            servers::get(&t.db, &operator(), GRU)
                .await
                .is_ok_and(|s| s.consecutive_failures >= n)
        })
        .await;
    }
    let s = servers::get(&t.db, &operator(), GRU).await.unwrap();
    assert_eq!(s.status, "offline");
    assert!(
        s.last_error.as_deref().is_some_and(|e| e.starts_with("http:")),
        "{:?}",
        s.last_error
    );
    let feed = metrics::failures(&t.db, &operator(), Some(s.id), 50).await.unwrap();
    assert_eq!(feed.len() as i64, INCIDENT_AFTER + 1);
    let open: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM incidents WHERE server_id = $1 AND status <> 'resolved'",
            args![s.id],
        )
        .await
        .unwrap();
    assert_eq!(open, 1);

    // It answers again: online, the incident resolved.
    sb.clear_faults();
    enqueue_poll(&t.db).await;
    until("the server back online", || async {
        servers::get(&t.db, &operator(), GRU)
            .await
            .is_ok_and(|s| s.status == "online")
    })
    .await;
    let resolved: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM incidents WHERE server_id = $1 AND status = 'resolved' AND resolved_at IS NOT NULL",
            args![s.id],
        )
        .await
        .unwrap();
    assert_eq!(resolved, 1);

    // The TLS policy is enforced: verifying the self-signed certificate fails the test with
    // a typed error; trusting it (an audited choice) passes.
    servers::update(
        &t.db,
        &operator(),
        None,
        GRU,
        ServerPatch {
            tls: Some("verify".into()),
            ..ServerPatch::default()
        },
    )
    .await
    .unwrap();
    let s = test_answer(&t.db, GRU).await;
    assert!(
        s.last_test_error.as_deref().is_some_and(|e| e.starts_with("tls:")),
        "{:?}",
        s.last_test_error
    );
    servers::update(
        &t.db,
        &operator(),
        None,
        GRU,
        ServerPatch {
            tls: Some("trust".into()),
            ..ServerPatch::default()
        },
    )
    .await
    .unwrap();
    let s = test_answer(&t.db, GRU).await;
    assert!(s.last_test_error.is_none(), "{:?}", s.last_test_error);

    // A wrong token is an answer too, not a crash.
    let wrong = Actor::system("test-operator");
    servers::update(
        &t.db,
        &wrong,
        Some(&keys()),
        GRU,
        ServerPatch {
            api_token: Some("WRONGTOKEN-000000".into()),
            ..ServerPatch::default()
        },
    )
    .await
    .unwrap();
    let s = test_answer(&t.db, GRU).await;
    assert!(
        s.last_test_error.as_deref().is_some_and(|e| e.starts_with("auth:")),
        "{:?}",
        s.last_test_error
    );

    stop.send(true).unwrap();
    worker.await.unwrap();
}

fn painel_in(t: &crate::common::TestDb, home: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_painel"));
    c.args(["--database-url", &t.url, "--data-dir"])
        .arg(home.join("data"))
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("PAINEL_OPERATOR", "cli-tester")
        .env_remove("PAINEL_DATABASE_URL")
        .env_remove("PAINEL_MASTER_KEY")
        .env_remove("PAINEL_MASTER_KEY_PREVIOUS");
    c
}

fn run(t: &crate::common::TestDb, home: &std::path::Path, args: &[&str]) -> std::process::Output {
    painel_in(t, home).args(args).output().unwrap()
}

/// Kills the worker it holds when dropped, so a failed assertion leaves no process behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// The sandbox serves from this process while the test blocks on the binary: it needs
// threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_verbs_through_the_binary_and_test_waits_for_a_worker() {
    use crate::cli::{stderr, stdout};
    let t = fresh().await;
    let sb = sandbox().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let init = run(&t, h, &["keys", "init"]);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    let token_file = h.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let url = sb.whm_url(GRU).unwrap();
    let pin = format!("pin:{}", sb.cert_sha256_hex());
    let created = run(
        &t,
        h,
        &[
            "-o",
            "json",
            "servers",
            "create",
            "--name",
            GRU,
            "--hostname",
            "whm-gru-01.sandbox.test",
            "--ip",
            "127.0.0.1",
            "--region",
            "sa-east-1",
            "--whm-url",
            &url,
            "--token-file",
            token_file.to_str().unwrap(),
            "--tls",
            &pin,
            "--max-accounts",
            "10",
            "--disk-total-gb",
            "100",
        ],
    );
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    assert!(!stdout(&created).contains(TOKEN));
    let json: serde_json::Value = serde_json::from_str(&stdout(&created)).unwrap();
    assert_eq!(
        (json["token_set"].as_bool(), json["tls_mode"].as_str()),
        (Some(true), Some("pin"))
    );

    // No worker yet: the wait ends with the job's id and a hint, and a failure exit code.
    let waited = run(&t, h, &["servers", "test", GRU, "--wait-secs", "1"]);
    assert_ne!(waited.status.code(), Some(0));
    let err = stderr(&waited);
    assert!(
        err.contains("no answer within 1s") && err.contains("painel jobs show"),
        "{err}"
    );

    let _worker = Child(
        painel_in(&t, h)
            .args(["worker", "--no-scheduler"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let tested = run(&t, h, &["-o", "json", "servers", "test", GRU]);
    assert_eq!(tested.status.code(), Some(0), "{}", stderr(&tested));
    let json: serde_json::Value = serde_json::from_str(&stdout(&tested)).unwrap();
    assert_eq!(json["ok"], true, "{json}");
    assert!(json["version"].as_str().is_some_and(|v| v.starts_with("11.")), "{json}");

    // show: latest answer, capacity, no token anywhere in any format.
    for format in ["json", "table", "csv"] {
        let shown = run(&t, h, &["-o", format, "servers", "show", GRU]);
        assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
        let text = stdout(&shown);
        assert!(!text.contains(TOKEN), "{format}: {text}");
        assert!(text.contains("11."), "{format}: {text}");
    }
    let listed = run(&t, h, &["-o", "csv", "servers", "list", "--all"]);
    let text = stdout(&listed);
    assert!(text.starts_with("id,name,region"), "{text}");
    assert!(text.contains(",set,"), "{text}");

    // A wrong token: the test answers with the typed error and fails the command.
    std::fs::write(&token_file, "WRONGTOKEN-0000000000").unwrap();
    let upd = run(
        &t,
        h,
        &["servers", "update", GRU, "--token-file", token_file.to_str().unwrap()],
    );
    assert_eq!(upd.status.code(), Some(0), "{}", stderr(&upd));
    let bad = run(&t, h, &["-o", "json", "servers", "test", GRU]);
    assert_ne!(bad.status.code(), Some(0));
    assert!(stderr(&bad).contains("auth:"), "{}", stderr(&bad));

    // Removal needs the name typed again.
    let refused = run(&t, h, &["servers", "remove", GRU, "--confirm", "whm-gru-02"]);
    assert_ne!(refused.status.code(), Some(0));
    let removed = run(&t, h, &["servers", "remove", GRU, "--confirm", GRU]);
    assert_eq!(removed.status.code(), Some(0), "{}", stderr(&removed));
}
