//! Migrations through the WHM Transfer Tool end to end (docs/adr/0030): the service layer,
//! the step job run by a real worker, the simulated source and target servers over HTTPS
//! (pinned), stage faults, abort, retry and a worker killed mid-migration. Both engines.

use std::time::Duration;

use backend::audit;
use backend::customers::{self, NewCustomer};
use backend::hosting::plans;
use backend::hosting::servers::{self, NewServer};
use backend::jobs::{Handlers, RetryPolicy, Worker, WorkerConfig};
use backend::providers::whm::Secret;
use backend::secrets::{Keys, MasterKey};
use backend::transfers::{self, Credentials, ListFilter, Migration, NewMigration, TransfersEnv};
use backend::{args, tenants, Actor, ServiceError};
use sandbox::{AccountInit, FaultKind, FaultSpec, Package, Sandbox, WhmInit};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator, TestDb};
use crate::lifecycle::plan_input;

const TOKEN: &str = "SANDBOXTOKEN0123456789";
const SRC: &str = "whm-old-01";
const DST: &str = "whm-gru-02";

struct World {
    t: TestDb,
    sb: Sandbox,
    keys: Keys,
    customer: Uuid,
    dst: Uuid,
    src: Uuid,
}

fn acct(user: &str, domain: &str) -> AccountInit {
    AccountInit {
        user: user.into(),
        domain: domain.into(),
        plan: "hb_start".into(),
        email: None,
        suspended: None,
    }
}

async fn world(pace_ms: u64) -> World {
    let t = fresh().await;
    let src = WhmInit::new("root", TOKEN)
        .package(Package::new("hb_start", Some(10240), None))
        .account(acct("joao01", "joaosilva.com.br"))
        .account(acct("maria02", "mariaflores.com.br"))
        .account(acct("pedro03", "pedrobar.com.br"));
    let sb = Sandbox::builder()
        .seed(3)
        .transfer_pace(Duration::from_millis(pace_ms))
        .whm(SRC, src)
        .whm(DST, WhmInit::new("root", TOKEN))
        .start()
        .await
        .unwrap();
    let keys = Keys::new(MasterKey::from_bytes([30; 32]), vec![]);
    let mut ids = Vec::new();
    for name in [SRC, DST] {
        let s = servers::create(
            &t.db,
            &operator(),
            Some(&keys),
            NewServer {
                name: name.into(),
                hostname: format!("{name}.example.net"),
                ip: "203.0.113.10".into(),
                region: "gru".into(),
                kind: "whm".into(),
                whm_url: sb.whm_url(name).unwrap(),
                api_user: "root".into(),
                api_token: TOKEN.into(),
                tls: format!("pin:{}", sb.cert_sha256_hex()),
                max_accounts: Some(100),
                disk_total_gb: 10_000,
            },
        )
        .await
        .unwrap();
        ids.push(s.id);
    }
    tenants::create(&t.db, &operator(), new_tenant("Host BR", "hostbr.example"))
        .await
        .unwrap();
    let customer = customers::create(
        &t.db,
        &operator(),
        NewCustomer {
            tenant: "host-br".into(),
            name: "Joana Silva".into(),
            email: "joana@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    World {
        t,
        sb,
        keys,
        customer,
        src: ids[0],
        dst: ids[1],
    }
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
    }

    /// A crash: the worker is gone without draining (its job keeps its lease).
    fn kill(self) {
        self.task.abort();
    }
}

impl World {
    fn worker(&self, id: &str) -> Running {
        let mut h = Handlers::builtin();
        transfers::register_handlers(
            &mut h,
            TransfersEnv::new(Some(self.keys.clone())).with_poll(Duration::from_millis(30)),
        );
        let mut c = WorkerConfig::new(id, vec![transfers::QUEUE.to_owned()]);
        c.concurrency = 4;
        c.poll = Duration::from_millis(20);
        c.lease = Duration::from_secs(2);
        c.reclaim_every = Duration::from_millis(200);
        c.retry = RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(100),
        };
        let (stop, stopped) = watch::channel(false);
        let w = Worker::new(self.t.db.clone(), c, h);
        let task = tokio::spawn(async move {
            let _ = w.run(stopped).await;
        });
        Running { stop, task }
    }

    fn input(&self, accounts: &[&str]) -> NewMigration {
        NewMigration {
            tenant: Some("host-br".into()),
            customer: Some(self.customer.to_string()),
            source_host: self.sb.whm_url(SRC).unwrap(),
            ssh_port: None,
            credentials: Credentials {
                kind: "root".into(),
                user: "root".into(),
                password: Secret::new(self.sb.source_password(SRC, "root")),
            },
            accounts: accounts.iter().map(|a| (*a).to_owned()).collect(),
            target: DST.into(),
        }
    }

    async fn create(&self, accounts: &[&str]) -> Migration {
        transfers::create(&self.t.db, &operator(), Some(&self.keys), self.input(accounts))
            .await
            .unwrap()
            .0
    }

    async fn get(&self, id: Uuid) -> Migration {
        transfers::get(&self.t.db, &operator(), &id.to_string()).await.unwrap()
    }

    async fn until(&self, id: Uuid, what: &str, f: impl Fn(&Migration) -> bool) -> Migration {
        let start = std::time::Instant::now();
        loop {
            let m = self.get(id).await;
            if f(&m) {
                return m;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let jobs: Vec<(String, String, Option<String>)> = self
                    .t
                    .db
                    .fetch_all(
                        "SELECT kind, status, last_error FROM jobs WHERE queue = 'transfers'",
                        args![],
                    )
                    .await
                    .unwrap();
                panic!("timed out waiting for {what}: {m:?}\njobs: {jobs:#?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn calls(&self, server: &str, function: &str) -> u64 {
        self.sb
            .whm_state(server)
            .unwrap()
            .calls
            .get(function)
            .copied()
            .unwrap_or(0)
    }

    fn on(&self, server: &str) -> Vec<String> {
        self.sb
            .whm_accounts(server)
            .unwrap()
            .into_iter()
            .map(|a| a.user)
            .collect()
    }

    async fn audit_actions(&self, id: Uuid) -> Vec<String> {
        let rows: Vec<(String,)> = self
            .t
            .db
            .fetch_all(
                "SELECT action FROM audit_log WHERE entity = 'migration' AND entity_id = $1 ORDER BY seq",
                args![id.to_string()],
            )
            .await
            .unwrap();
        rows.into_iter().map(|r| r.0).collect()
    }
}

#[tokio::test]
async fn a_migration_moves_accounts_repoints_services_and_wipes_credentials() {
    let w = world(10).await;
    // joao01's hosting service lives on the old server (in painel too).
    plans::create(&w.t.db, &operator(), plan_input("start", 10, "gru"))
        .await
        .unwrap();
    let svc = Uuid::now_v7();
    w.t.owner
        .execute(
            "INSERT INTO services (id, tenant_id, customer_id, plan_id, server_id, status, domain, username, price_minor) \
             SELECT $1, c.tenant_id, c.id, p.id, $2, 'active', 'joaosilva.com.br', 'joao01', 2990 \
             FROM customers c JOIN plans p ON p.tenant_id = c.tenant_id WHERE c.id = $3",
            args![svc, w.src, w.customer],
        )
        .await
        .unwrap();
    let m = w.create(&["joao01", "maria02"]).await;
    assert_eq!((m.status.as_str(), m.step.as_str()), ("queued", "validate"));
    assert!(m.credentials_held);
    let sealed: Option<Vec<u8>> =
        w.t.owner
            .scalar("SELECT credentials_enc FROM migrations WHERE id = $1", args![m.id])
            .await
            .unwrap();
    let sealed = sealed.unwrap();
    let password = w.sb.source_password(SRC, "root");
    assert!(
        !String::from_utf8_lossy(&sealed).contains(&password),
        "stored sealed, never in clear"
    );

    let r = w.worker("w1");
    let done = w.until(m.id, "the migration to end", Migration::is_finished).await;
    r.stop().await;
    assert_eq!(done.status, "success", "{:?}", done.error);
    assert_eq!(done.progress, 100);
    assert!(!done.credentials_held, "credentials wiped at the end");
    assert!(done.stages().iter().all(|(_, p)| *p == 100), "{:?}", done.stages());
    assert_eq!(w.on(DST), vec!["joao01", "maria02"]);
    assert_eq!(w.calls(DST, "create_remote_root_transfer_session"), 1);

    let server: Option<Uuid> =
        w.t.db
            .scalar("SELECT server_id FROM services WHERE id = $1", args![svc])
            .await
            .unwrap();
    assert_eq!(server, Some(w.dst), "the service points at the new server");
    let logs = transfers::logs(&w.t.db, &operator(), m.id, None, None, 10_000)
        .await
        .unwrap();
    for stage in [
        "credentials",
        "session",
        "email",
        "databases",
        "files",
        "dns",
        "ssl",
        "finish",
    ] {
        assert!(logs.iter().any(|l| l.stage == stage), "a {stage} line in {logs:#?}");
    }
    let dbs = transfers::logs(&w.t.db, &operator(), m.id, Some("databases"), None, 10_000)
        .await
        .unwrap();
    assert!(dbs.iter().all(|l| l.stage == "databases") && !dbs.is_empty());
    // `after` follows the log like tail -f.
    let last = logs.last().unwrap().seq;
    assert!(transfers::logs(&w.t.db, &operator(), m.id, None, Some(last), 100)
        .await
        .unwrap()
        .is_empty());
    let actions = w.audit_actions(m.id).await;
    for a in ["migration.create", "migration.session", "migration.success"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    assert!(audit::verify(&w.t.db, &operator()).await.unwrap().ok);
}

#[tokio::test]
async fn a_temporary_stage_failure_gets_a_new_session() {
    let w = world(10).await;
    // The link to the source breaks once, while the files are copied.
    w.sb.set_fault(
        DST,
        "transfer:files",
        FaultSpec {
            kind: FaultKind::Drop,
            rate: 1.0,
            times: Some(1),
        },
    )
    .unwrap();
    let m = w.create(&["joao01"]).await;
    let r = w.worker("w1");
    let done = w.until(m.id, "the migration to end", Migration::is_finished).await;
    r.stop().await;
    assert_eq!(done.status, "success", "{:?}", done.error);
    assert_eq!(done.attempts, 2);
    assert_eq!(w.calls(DST, "create_remote_root_transfer_session"), 2);
    let logs = transfers::logs(&w.t.db, &operator(), m.id, None, None, 10_000)
        .await
        .unwrap();
    assert!(
        logs.iter()
            .any(|l| l.level == "warn" && l.message.contains("temporary failure")),
        "{logs:#?}"
    );
    assert_eq!(w.on(DST), vec!["joao01"]);
}

#[tokio::test]
async fn a_critical_failure_fails_alerts_keeps_the_log_and_a_retry_without_the_password_finishes_it() {
    let w = world(10).await;
    w.sb.set_fault(
        DST,
        "transfer:databases",
        FaultSpec::times(
            FaultKind::Envelope {
                reason: "MySQL dump of maria02_wp is corrupt".into(),
            },
            1,
        ),
    )
    .unwrap();
    let m = w.create(&["maria02"]).await;
    let r = w.worker("w1");
    let failed = w.until(m.id, "the migration to end", Migration::is_finished).await;
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.stage.as_deref(), Some("databases"));
    assert!(
        failed.error.as_deref().unwrap().contains("corrupt"),
        "{:?}",
        failed.error
    );
    assert!(failed.credentials_held, "kept sealed for a retry");
    let incident: (String, String) =
        w.t.db
            .fetch_optional(
                "SELECT title, severity FROM incidents WHERE id = $1",
                args![failed.incident_id.unwrap()],
            )
            .await
            .unwrap()
            .unwrap();
    assert!(incident.0.contains(DST), "{incident:?}");
    let feed = transfers::failures(&w.t.db, &operator(), 10).await.unwrap();
    assert_eq!(feed.iter().map(|f| f.id).collect::<Vec<_>>(), vec![m.id]);
    let logs = transfers::logs(&w.t.db, &operator(), m.id, None, None, 10_000)
        .await
        .unwrap();
    assert!(
        logs.iter().any(|l| l.level == "error" && l.stage == "databases"),
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.message.contains("email done")),
        "the whole log is kept"
    );
    assert!(w.on(DST).is_empty());

    // The retry reuses the sealed credentials: no password asked; success wipes them.
    transfers::retry(&w.t.db, &operator(), Some(&w.keys), &m.short_id(), Secret::new(""))
        .await
        .unwrap();
    let done = w.until(m.id, "the retry to end", |m| m.is_finished()).await;
    r.stop().await;
    assert_eq!(done.status, "success", "{:?}", done.error);
    assert!(!done.credentials_held, "wiped on success");
    assert_eq!(w.on(DST), vec!["maria02"]);
    let actions = w.audit_actions(m.id).await;
    assert!(actions.iter().any(|a| a == "migration.fail") && actions.iter().any(|a| a == "migration.retry"));
}

#[tokio::test]
async fn abort_stops_the_session_and_wipes_the_credentials() {
    let w = world(400).await;
    let m = w.create(&["joao01", "maria02", "pedro03"]).await;
    let r = w.worker("w1");
    w.until(m.id, "the session to run", |m| m.step == "monitor").await;
    let (asked, _) = transfers::abort(&w.t.db, &operator(), &m.short_id()).await.unwrap();
    assert!(asked.abort_requested);
    let e = transfers::abort(&w.t.db, &operator(), &m.short_id()).await;
    assert!(matches!(e, Err(ServiceError::Conflict(_))), "{e:?}");
    let done = w.until(m.id, "the abort", Migration::is_finished).await;
    r.stop().await;
    assert_eq!(done.status, "aborted");
    assert!(!done.credentials_held);
    assert_eq!(w.calls(DST, "abort_transfer_session"), 1);
    assert!(w.on(DST).len() < 3, "the session stopped before the end");
}

#[tokio::test]
async fn a_worker_killed_mid_migration_resumes_without_a_second_session() {
    let w = world(60).await;
    let m = w.create(&["joao01", "maria02"]).await;
    // The state polls answer slowly, so the kill lands while a step job is in flight.
    w.sb.set_fault(
        DST,
        "get_transfer_session_state",
        FaultSpec::times(FaultKind::Latency { ms: 1500 }, 2),
    )
    .unwrap();
    let r = w.worker("w1");
    w.until(m.id, "the session to be created", |m| m.transfer_session_id.is_some())
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    r.kill();
    let running: i64 =
        w.t.db
            .scalar(
                "SELECT COUNT(*) FROM jobs WHERE queue = 'transfers' AND status = 'running'",
                args![],
            )
            .await
            .unwrap();
    assert_eq!(running, 1, "the killed worker's job is left running under its lease");
    // Another worker reclaims the job when its lease runs out and goes on from the row.
    let r = w.worker("w2");
    let done = w.until(m.id, "the migration to end", Migration::is_finished).await;
    r.stop().await;
    assert_eq!(done.status, "success", "{:?}", done.error);
    assert_eq!(
        w.calls(DST, "create_remote_root_transfer_session"),
        1,
        "one WHM session"
    );
    assert_eq!(w.calls(DST, "start_transfer_session"), 1, "started once");
    assert_eq!(w.on(DST), vec!["joao01", "maria02"]);

    // The same from a state a crash between `start` and its record leaves.
    let m2 = transfers::create(&w.t.db, &operator(), Some(&w.keys), w.input(&["pedro03"]))
        .await
        .unwrap()
        .0;
    let r = w.worker("w3");
    w.until(m2.id, "monitoring", |m| m.step == "monitor").await;
    r.stop().await;
    w.t.owner
        .execute("UPDATE migrations SET step = 'start' WHERE id = $1", args![m2.id])
        .await
        .unwrap();
    let tick: i64 =
        w.t.db
            .scalar("SELECT tick FROM migrations WHERE id = $1", args![m2.id])
            .await
            .unwrap();
    let pending: i64 =
        w.t.db
            .scalar(
                "SELECT COUNT(*) FROM jobs WHERE queue = 'transfers' AND status = 'queued'",
                args![],
            )
            .await
            .unwrap();
    assert_eq!(pending, 1, "the next poll (tick {tick}) waits");
    let r = w.worker("w4");
    let done = w.until(m2.id, "the second migration", Migration::is_finished).await;
    r.stop().await;
    assert_eq!(done.status, "success", "{:?}", done.error);
    assert_eq!(w.calls(DST, "create_remote_root_transfer_session"), 2);
    assert_eq!(
        w.calls(DST, "start_transfer_session"),
        2,
        "one start per session, none repeated"
    );
}

#[tokio::test]
async fn validation_scope_and_permissions() {
    let w = world(10).await;
    let mut bad = w.input(&["Joao!"]);
    let e = transfers::create(&w.t.db, &operator(), Some(&w.keys), bad.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ServiceError::Validation(f) if f[0].field == "accounts"),
        "{e:?}"
    );
    bad.accounts = vec!["joao01".into()];
    bad.source_host = "x;rm -rf /".into();
    let e = transfers::create(&w.t.db, &operator(), Some(&w.keys), bad.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ServiceError::Validation(f) if f[0].field == "source_host"),
        "{e:?}"
    );
    // No key, no stored password.
    let e = transfers::create(&w.t.db, &operator(), None, w.input(&["joao01"]))
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Unavailable(_)), "{e:?}");
    // A user session moves only its own account.
    let mut user = w.input(&["joao01", "maria02"]);
    user.credentials = Credentials {
        kind: "user".into(),
        user: "joao01".into(),
        password: Secret::new("x"),
    };
    assert!(transfers::create(&w.t.db, &operator(), Some(&w.keys), user)
        .await
        .is_err());

    let m = w.create(&["joao01"]).await;
    let other = tenants::create(&w.t.db, &operator(), new_tenant("Outra", "outra.example"))
        .await
        .unwrap();
    let mut stranger = Actor::system("outra-admin");
    stranger.tenant_id = Some(other.id);
    stranger.role = backend::Role::TenantAdmin;
    let e = transfers::get(&w.t.db, &stranger, &m.id.to_string()).await.unwrap_err();
    assert!(matches!(e, ServiceError::NotFound { .. }), "{e:?}");
    assert!(transfers::list(&w.t.db, &stranger, &ListFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(transfers::abort(&w.t.db, &stranger, &m.id.to_string()).await.is_err());
    let mut support = Actor::system("support");
    support.role = backend::Role::SupportAgent;
    let e = transfers::abort(&w.t.db, &support, &m.id.to_string())
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::PermissionDenied(_)), "{e:?}");
    assert_eq!(
        transfers::list(&w.t.db, &support, &ListFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn batch_verbs_list_show_and_watch_through_the_binary() {
    use crate::cli::{painel, stderr, stdout};
    let w = world(10).await;
    let m = w.create(&["joao01"]).await;
    let r = w.worker("w1");
    w.until(m.id, "the migration to end", Migration::is_finished).await;
    r.stop().await;

    let csv = painel(&w.t, &["-o", "csv", "migrations", "list"]);
    assert_eq!(csv.status.code(), Some(0), "{}", stderr(&csv));
    let text = stdout(&csv);
    assert!(
        text.starts_with("id,tenant,source,accounts,target,status,stage,progress,stages"),
        "{text}"
    );
    assert!(
        text.contains(&m.id.to_string()) && text.contains("success") && text.contains("email:100"),
        "{text}"
    );

    let show = painel(&w.t, &["-o", "json", "migrations", "show", &m.short_id()]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    let json: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(json["status"], "success");
    assert_eq!(json["accounts"], serde_json::json!(["joao01"]));
    assert_eq!(
        json["stages"][1],
        serde_json::json!({"stage": "databases", "percent": 100})
    );
    assert_eq!(json["credentials_held"], false);

    let log = painel(
        &w.t,
        &[
            "-o",
            "json",
            "migrations",
            "show",
            &m.short_id(),
            "--stage",
            "databases",
        ],
    );
    let lines: serde_json::Value = serde_json::from_str(&stdout(&log)).unwrap();
    let lines = lines.as_array().unwrap();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l["stage"] == "databases"),
        "{lines:?}"
    );

    // Not a terminal: JSON Lines, one per change; a finished migration prints once and ends.
    let watch = painel(&w.t, &["migrations", "watch", &m.short_id()]);
    assert_eq!(watch.status.code(), Some(0), "{}", stderr(&watch));
    let out = stdout(&watch);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], "success");
    assert_eq!(first["progress"], 100);
    assert!(first["log"].as_array().unwrap().len() > 5);

    let missing = painel(&w.t, &["migrations", "abort", &m.short_id()]);
    assert_ne!(missing.status.code(), Some(0), "a finished migration is not aborted");
}

#[tokio::test]
async fn giving_up_a_failed_migration_wipes_its_credentials_and_a_retry_then_needs_the_password() {
    let w = world(10).await;
    w.sb.set_fault(
        DST,
        "transfer:files",
        FaultSpec::times(
            FaultKind::Envelope {
                reason: "disk quota exceeded on /home".into(),
            },
            1,
        ),
    )
    .unwrap();
    let m = w.create(&["pedro03"]).await;
    let r = w.worker("w1");
    let failed = w.until(m.id, "the failure", Migration::is_finished).await;
    assert_eq!(failed.status, "failed");
    assert!(failed.credentials_held);
    transfers::abort(&w.t.db, &operator(), &m.short_id()).await.unwrap();
    let gone = w.until(m.id, "the abort", |m| m.status == "aborted").await;
    assert!(!gone.credentials_held, "wiped when given up");
    let e = transfers::retry(&w.t.db, &operator(), Some(&w.keys), &m.short_id(), Secret::new("")).await;
    assert!(matches!(e, Err(ServiceError::Validation(_))), "{e:?}");
    let password = Secret::new(w.sb.source_password(SRC, "root"));
    transfers::retry(&w.t.db, &operator(), Some(&w.keys), &m.short_id(), password)
        .await
        .unwrap();
    let done = w.until(m.id, "the retry", |m| m.status == "success").await;
    r.stop().await;
    assert!(!done.credentials_held);
    assert_eq!(w.on(DST), vec!["pedro03"]);
}

async fn lost_sessions(w: &World, id: Uuid) -> i64 {
    w.t.db
        .scalar("SELECT lost_sessions FROM migrations WHERE id = $1", args![id])
        .await
        .unwrap()
}

async fn says_lost(w: &World, id: Uuid) -> bool {
    transfers::logs(&w.t.db, &operator(), id, None, None, 10_000)
        .await
        .unwrap()
        .iter()
        .any(|l| l.level == "warn" && l.message.contains("never reached us") && l.message.contains(DST))
}

#[tokio::test]
async fn a_session_created_but_never_recorded_is_reported_and_the_migration_goes_on() {
    let w = world(10).await;
    // WHM creates the session, then the connection dies before its answer reaches us.
    w.sb.set_fault(
        DST,
        "create_remote_root_transfer_session",
        FaultSpec::times(FaultKind::Lost, 1),
    )
    .unwrap();
    let m = w.create(&["joao01"]).await;
    let r = w.worker("w1");
    let done = w.until(m.id, "the migration to end", Migration::is_finished).await;
    assert_eq!(done.status, "success", "{:?}", done.error);
    let sessions = w.sb.whm_transfer_sessions(DST).unwrap();
    let states: Vec<&str> = sessions.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(states, ["PENDING", "COMPLETED"], "the orphan and the one used");
    assert_eq!(done.transfer_session_id.as_deref(), Some(sessions[1].0.as_str()));
    assert_eq!(lost_sessions(&w, m.id).await, 1);
    assert!(says_lost(&w, m.id).await);
    assert!(w
        .audit_actions(m.id)
        .await
        .iter()
        .any(|a| a == "migration.session.lost"));

    // A worker killed while the create call is in flight: the next worker reclaims the job
    // after the lease, reports the session that may exist, and finishes with a new one.
    w.sb.set_fault(
        DST,
        "create_remote_root_transfer_session",
        FaultSpec::times(FaultKind::Latency { ms: 800 }, 1),
    )
    .unwrap();
    let m2 = w.create(&["maria02"]).await;
    let calls = w.calls(DST, "create_remote_root_transfer_session");
    let start = std::time::Instant::now();
    while w.calls(DST, "create_remote_root_transfer_session") == calls {
        assert!(start.elapsed() < Duration::from_secs(30), "the create call never came");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    r.kill();
    let asked: Option<chrono::DateTime<chrono::Utc>> =
        w.t.db
            .scalar(
                "SELECT session_requested_at FROM migrations WHERE id = $1",
                args![m2.id],
            )
            .await
            .unwrap();
    assert!(asked.is_some(), "the intent is on record before the call");
    let r = w.worker("w2");
    let done = w.until(m2.id, "the second migration", Migration::is_finished).await;
    r.stop().await;
    assert_eq!(done.status, "success", "{:?}", done.error);
    assert_eq!(lost_sessions(&w, m2.id).await, 1);
    assert!(says_lost(&w, m2.id).await);
    let used = done.transfer_session_id.unwrap();
    for (id, state) in w.sb.whm_transfer_sessions(DST).unwrap() {
        assert!(id == used || state != "RUNNING", "{id} {state}");
    }
    assert_eq!(w.on(DST), vec!["joao01", "maria02"]);
}
