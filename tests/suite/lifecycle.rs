//! The hosting service lifecycle end to end (docs/adr/0021): orders through the service layer,
//! jobs run by a real worker, WHM calls over HTTPS (pinned certificate) to the sandbox's
//! simulated servers, with its faults. Both engines.

use std::time::{Duration, Instant};

use backend::customers::{self, NewCustomer};
use backend::hosting::plans::{self, PlanInput};
use backend::hosting::servers::{self, NewServer};
use backend::hosting::services::{self, NewService, Service};
use backend::hosting::{register_handlers, HostingEnv};
use backend::identity::accounts::{self, NewUser};
use backend::jobs::{Handlers, RetryPolicy, Worker, WorkerConfig};
use backend::secrets::{Keys, MasterKey};
use backend::sensitive::{self, Proof};
use backend::{args, tenants, Db, Role, ServiceError};
use sandbox::{FaultKind, FaultSpec, Sandbox, WhmInit};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator, TestDb};

const TOKEN: &str = "SANDBOXTOKEN0123456789";

pub struct World {
    pub t: TestDb,
    pub sb: Sandbox,
    pub keys: Keys,
    pub tenant: Uuid,
    pub customer: Uuid,
    pub servers: Vec<(String, Uuid)>,
}

/// A tenant with a customer and the hosting plans `start` (10 GB, region gru) and `plus`
/// (20 GB), and the sandbox's servers `(name, region, max_accounts)` registered in painel with
/// the sandbox certificate pinned and a short call timeout.
pub async fn world(specs: &[(&str, &str, i64)]) -> World {
    let t = fresh().await;
    let mut b = Sandbox::builder().seed(11);
    for (name, _, max) in specs {
        b = b.whm(
            name,
            WhmInit::new("root", TOKEN).limits(u32::try_from(*max).unwrap(), 10_000_000),
        );
    }
    let sb = b.start().await.unwrap();
    let keys = Keys::new(MasterKey::from_bytes([21; 32]), vec![]);
    let mut ids = Vec::new();
    for (name, region, max) in specs {
        let s = servers::create(
            &t.db,
            &operator(),
            Some(&keys),
            NewServer {
                name: (*name).into(),
                hostname: format!("{name}.example.net"),
                ip: "203.0.113.10".into(),
                region: (*region).into(),
                kind: "whm".into(),
                whm_url: sb.whm_url(name).unwrap(),
                api_user: "root".into(),
                api_token: TOKEN.into(),
                tls: format!("pin:{}", sb.cert_sha256_hex()),
                max_accounts: Some(*max),
                disk_total_gb: 10_000,
            },
        )
        .await
        .unwrap();
        ids.push(((*name).to_owned(), s.id));
    }
    // Short enough for the timeout faults to cost little.
    t.owner
        .execute("UPDATE servers SET api_timeout_ms = 1500", args![])
        .await
        .unwrap();
    let tenant = tenants::create(&t.db, &operator(), new_tenant("Host BR", "hostbr.example"))
        .await
        .unwrap()
        .id;
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
    for (code, disk, region) in [("start", 10, "gru"), ("plus", 20, "")] {
        plans::create(&t.db, &operator(), plan_input(code, disk, region))
            .await
            .unwrap();
    }
    World {
        t,
        sb,
        keys,
        tenant,
        customer,
        servers: ids,
    }
}

pub fn plan_input(code: &str, disk: u64, region: &str) -> PlanInput {
    PlanInput {
        tenant: "host-br".into(),
        code: code.into(),
        name: format!("Plan {code}"),
        price: "29.90".into(),
        currency: "BRL".into(),
        billing_cycle: "monthly".into(),
        package: format!("hb_{code}"),
        region: region.into(),
        resources: json!({ "disk_gb": disk, "bandwidth_gb": 100, "mailboxes": 5, "databases": 2, "sites": 1 }),
    }
}

pub fn worker_config(id: &str) -> WorkerConfig {
    let mut c = WorkerConfig::new(id, vec![services::QUEUE.to_owned()]);
    c.concurrency = 4;
    c.poll = Duration::from_millis(20);
    c.lease = Duration::from_secs(2);
    c.reclaim_every = Duration::from_millis(200);
    c.retry = RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
    };
    c
}

pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl World {
    pub fn start_worker(&self, id: &str) -> Running {
        let mut h = Handlers::builtin();
        register_handlers(&mut h, HostingEnv::new(Some(self.keys.clone())));
        let (stop, stopped) = watch::channel(false);
        let w = Worker::new(self.t.db.clone(), worker_config(id), h);
        let task = tokio::spawn(async move {
            w.run(stopped).await.unwrap();
        });
        Running { stop, task }
    }

    /// Runs a worker until no hosting job is queued or running.
    pub async fn drain(&self) {
        let w = self.start_worker("w-drain");
        wait_for(Duration::from_secs(60), "the hosting queue to drain", || async {
            let n: i64 = self
                .t
                .db
                .scalar(
                    "SELECT COUNT(*) FROM jobs WHERE queue = 'hosting' AND status IN ('queued', 'running')",
                    args![],
                )
                .await
                .unwrap();
            n == 0
        })
        .await;
        let _ = w.stop.send(true);
        w.task.await.unwrap();
    }

    pub async fn order(&self, domain: &str, plan: &str) -> Result<Service, ServiceError> {
        services::create(
            &self.t.db,
            &operator(),
            NewService {
                customer: self.customer.to_string(),
                plan: plan.into(),
                domain: domain.into(),
                region: String::new(),
                coupon: None,
            },
        )
        .await
        .map(|o| o.service)
    }

    pub async fn service(&self, id: Uuid) -> Service {
        services::get(&self.t.db, &operator(), &id.to_string()).await.unwrap()
    }

    /// Accounts of `domain` on the simulated server `name`.
    pub fn accounts(&self, name: &str, domain: &str) -> Vec<sandbox::Account> {
        self.sb
            .whm_accounts(name)
            .unwrap()
            .into_iter()
            .filter(|a| a.domain == domain)
            .collect()
    }

    async fn count(&self, sql: &str, id: Uuid) -> i64 {
        self.t.db.scalar(sql, args![id]).await.unwrap()
    }
}

pub async fn wait_for<F, Fut>(limit: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn every_operation_over_http_with_its_audit_trail() {
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    w.drain().await; // the plans' packages
    let pk = w.sb.whm_packages("whm-gru-01").unwrap();
    let start = pk.iter().find(|p| p.name == "hb_start").expect("package pushed");
    assert_eq!(start.settings.get("QUOTA").map(String::as_str), Some("10240"));

    let s = w.order("joanasilva.com.br", "start").await.unwrap();
    assert_eq!(
        (s.status.as_str(), s.username.as_deref()),
        ("pending", Some("joanasil"))
    );
    assert_eq!(s.server_name.as_deref(), Some("whm-gru-01"));
    // One lifecycle job per service at a time.
    let again = services::suspend(&w.t.db, &operator(), &s.id.to_string(), "x").await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!(s.status, "active", "{:?}", s.last_error);
    let acct = w.accounts("whm-gru-01", "joanasilva.com.br");
    assert_eq!(acct.len(), 1);
    assert_eq!((acct[0].user.as_str(), acct[0].plan.as_str()), ("joanasil", "hb_start"));

    let id = s.id.to_string();
    services::suspend(&w.t.db, &operator(), &id, "Nonpayment")
        .await
        .unwrap();
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!(
        (s.status.as_str(), s.suspend_reason.as_deref()),
        ("suspended", Some("Nonpayment"))
    );
    assert!(w.accounts("whm-gru-01", "joanasilva.com.br")[0].suspended);

    services::unsuspend(&w.t.db, &operator(), &id).await.unwrap();
    w.drain().await;
    assert_eq!(w.service(s.id).await.status, "active");
    assert!(!w.accounts("whm-gru-01", "joanasilva.com.br")[0].suspended);

    services::change_plan(&w.t.db, &operator(), &id, "plus").await.unwrap();
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!((s.status.as_str(), s.plan_code.as_str()), ("active", "plus"));
    assert_eq!(w.accounts("whm-gru-01", "joanasilva.com.br")[0].plan, "hb_plus");

    services::terminate(&w.t.db, &operator(), &id, &Proof::confirm("joanasilva.com.br"))
        .await
        .unwrap();
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!(s.status, "terminated");
    assert!(w.accounts("whm-gru-01", "joanasilva.com.br").is_empty());

    let trail: Vec<(String, String)> =
        w.t.db
            .fetch_all(
                "SELECT action, actor_name FROM audit_log WHERE entity = 'service' AND entity_id = $1 ORDER BY seq",
                args![s.id.to_string()],
            )
            .await
            .unwrap();
    let actions: Vec<&str> = trail.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "service.create",
            "service.provisioning",
            "service.activate",
            "service.suspend",
            "service.suspended",
            "service.unsuspend",
            "service.unsuspended",
            "service.change_plan",
            "service.plan_changed",
            "service.terminate",
            "service.terminated",
        ]
    );
    let tickets = w
        .count("SELECT COUNT(*) FROM tickets WHERE service_id = $1", s.id)
        .await;
    assert_eq!(tickets, 0);
}

#[tokio::test]
async fn the_lost_answer_adopts_the_account_instead_of_creating_it_twice() {
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    w.drain().await;
    w.sb.set_fault("whm-gru-01", "createacct", FaultSpec::times(FaultKind::Lost, 1))
        .unwrap();
    let s = w.order("lojadaana.com", "start").await.unwrap();
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!(s.status, "active", "{:?}", s.last_error);
    assert_eq!(
        w.accounts("whm-gru-01", "lojadaana.com").len(),
        1,
        "exactly one account"
    );
    let calls = w.sb.whm_state("whm-gru-01").unwrap().calls;
    assert_eq!(calls.get("createacct"), Some(&1), "createacct was not sent again");
    let how: String =
        w.t.db
            .scalar(
                "SELECT CAST(after AS TEXT) FROM audit_log WHERE action = 'service.activate' AND entity_id = $1",
                args![s.id.to_string()],
            )
            .await
            .unwrap();
    assert!(how.contains("adopted"), "{how}");
}

#[tokio::test]
async fn each_fault_kind_is_retried_or_dead_lettered() {
    let w = world(&[("whm-gru-01", "gru", 500)]).await;
    w.drain().await;
    let transient = [
        ("f5xx.com", FaultKind::Http5xx { status: 503 }),
        ("f429.com", FaultKind::RateLimited { retry_after_secs: 0 }),
        ("fmal.com", FaultKind::Malformed),
        ("ftru.com", FaultKind::Truncated),
        ("ftim.com", FaultKind::Timeout),
        ("fdro.com", FaultKind::Drop),
        ("flos.com", FaultKind::Lost),
        (
            "fenv.com",
            FaultKind::Envelope {
                reason: "The system is temporarily unable to complete the request.".into(),
            },
        ),
    ];
    for (domain, kind) in transient {
        w.sb.set_fault("whm-gru-01", "createacct", FaultSpec::times(kind.clone(), 1))
            .unwrap();
        let s = w.order(domain, "start").await.unwrap();
        w.drain().await;
        let s = w.service(s.id).await;
        assert_eq!(s.status, "active", "{kind:?}: {:?}", s.last_error);
        assert_eq!(w.accounts("whm-gru-01", domain).len(), 1, "{kind:?}");
        let attempts: i64 =
            w.t.db
                .scalar(
                    "SELECT attempts FROM jobs WHERE kind = 'hosting.create' AND unique_key = $1",
                    args![format!("service:{}", s.id)],
                )
                .await
                .unwrap();
        assert_eq!(attempts, 2, "{kind:?}: one transient failure, then success");
    }

    // A refusal is permanent: no retry, the service in error with a ticket.
    w.sb.set_fault(
        "whm-gru-01",
        "createacct",
        FaultSpec::times(
            FaultKind::Envelope {
                reason: "Sorry, a domain with that name already exists on this server.".into(),
            },
            1,
        ),
    )
    .unwrap();
    let s = w.order("fperm.com", "start").await.unwrap();
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!(s.status, "error");
    assert!(
        s.last_error.as_deref().unwrap_or("").contains("already exists"),
        "{:?}",
        s.last_error
    );
    assert!(w.accounts("whm-gru-01", "fperm.com").is_empty());
    let (status, attempts): (String, i64) =
        w.t.db
            .fetch_optional(
                "SELECT status, attempts FROM jobs WHERE kind = 'hosting.create' AND unique_key = $1",
                args![format!("service:{}", s.id)],
            )
            .await
            .unwrap()
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("failed", 1));
}

#[tokio::test]
async fn a_final_failure_opens_a_ticket_with_the_history_and_one_incident_per_server() {
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    w.drain().await;
    // Transient every time: the attempts run out (8), each kept in the history.
    w.sb.set_fault(
        "whm-gru-01",
        "accountsummary",
        FaultSpec::always(FaultKind::Http5xx { status: 502 }),
    )
    .unwrap();
    let mut ids = Vec::new();
    for d in ["a1x.com", "b2x.com", "c3x.com", "d4x.com"] {
        ids.push(w.order(d, "start").await.unwrap().id);
    }
    w.drain().await;
    for id in &ids {
        let s = w.service(*id).await;
        assert_eq!(s.status, "error");
        assert!(
            s.last_error.as_deref().unwrap_or("").contains("502"),
            "{:?}",
            s.last_error
        );
    }
    let body: String =
        w.t.db
            .scalar(
                "SELECT m.body FROM tickets k JOIN ticket_messages m ON m.ticket_id = k.id \
             WHERE k.service_id = $1 AND k.source = 'system'",
                args![ids[0]],
            )
            .await
            .unwrap();
    assert_eq!(body.lines().count(), 8, "{body}");
    assert!(body.lines().all(|l| l.contains("502")), "{body}");
    let tickets: i64 =
        w.t.db
            .scalar("SELECT COUNT(*) FROM tickets WHERE source = 'system'", args![])
            .await
            .unwrap();
    assert_eq!(tickets, 4);
    let incidents: i64 =
        w.t.db
            .scalar(
                "SELECT COUNT(*) FROM incidents WHERE source = 'job' AND server_id = $1 AND status <> 'resolved'",
                args![w.servers[0].1],
            )
            .await
            .unwrap();
    assert_eq!(incidents, 1, "one incident however many services failed");
    assert!(w.sb.whm_accounts("whm-gru-01").unwrap().is_empty());
}

#[tokio::test]
async fn a_worker_killed_mid_call_leaves_a_lease_that_another_worker_resumes() {
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    w.drain().await;
    w.sb.set_fault(
        "whm-gru-01",
        "createacct",
        FaultSpec::times(FaultKind::Latency { ms: 1000 }, 1),
    )
    .unwrap();
    let s = w.order("killed.com", "start").await.unwrap();
    let first = w.start_worker("w-doomed");
    wait_for(Duration::from_secs(20), "createacct to be in flight", || async {
        w.sb.whm_state("whm-gru-01")
            .unwrap()
            .calls
            .get("createacct")
            .copied()
            .unwrap_or(0)
            >= 1
    })
    .await;
    // Killed: the future is dropped mid-call, nothing reports or releases the job.
    first.task.abort();
    let _ = first.task.await;
    let (status, locked): (String, Option<String>) =
        w.t.db
            .fetch_optional(
                "SELECT status, locked_by FROM jobs WHERE kind = 'hosting.create'",
                args![],
            )
            .await
            .unwrap()
            .unwrap();
    assert_eq!((status.as_str(), locked.as_deref()), ("running", Some("w-doomed")));
    assert_eq!(w.service(s.id).await.status, "provisioning");
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!(s.status, "active", "{:?}", s.last_error);
    assert_eq!(w.accounts("whm-gru-01", "killed.com").len(), 1);
}

#[tokio::test]
async fn placement_follows_region_and_headroom() {
    let w = world(&[
        ("whm-gru-01", "gru", 10),
        ("whm-gru-02", "gru", 10),
        ("whm-iad-01", "iad", 1000),
    ])
    .await;
    w.t.owner
        .execute(
            "UPDATE servers SET accounts_count = 9 WHERE name = 'whm-gru-01'",
            args![],
        )
        .await
        .unwrap();
    // Region gru (the plan's): the emptier gru server, never iad however roomy.
    let s = w.order("um.com", "start").await.unwrap();
    assert_eq!(s.server_name.as_deref(), Some("whm-gru-02"));
    // Any region: iad has the most headroom.
    let s = w.order("dois.com", "plus").await.unwrap();
    assert_eq!(s.server_name.as_deref(), Some("whm-iad-01"));
    // Full gru servers: refused, nothing stored.
    w.t.owner
        .execute("UPDATE servers SET accounts_count = 10 WHERE region = 'gru'", args![])
        .await
        .unwrap();
    let r = w.order("tres.com", "start").await;
    assert!(
        matches!(&r, Err(ServiceError::Conflict(m)) if m.contains("region gru")),
        "{r:?}"
    );
    // An offline server is never chosen.
    w.t.owner
        .execute(
            "UPDATE servers SET accounts_count = 0, status = 'offline' WHERE name = 'whm-gru-02'",
            args![],
        )
        .await
        .unwrap();
    let s = w.order("quatro.com", "start").await;
    assert!(s.is_err(), "{s:?}");
    // Same domain twice: refused.
    let r = w.order("um.com", "start").await;
    assert!(matches!(r, Err(ServiceError::Conflict(_))), "{r:?}");
}

/// An order that reaches a server before its plan's package (the push job still queued, or
/// the package removed by hand) puts the package there and creates the account.
#[tokio::test]
async fn an_order_ahead_of_its_package_puts_the_package_on_the_server() {
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    w.t.owner
        .execute("DELETE FROM jobs WHERE kind = 'hosting.push_package'", args![])
        .await
        .unwrap();
    assert!(w
        .sb
        .whm_packages("whm-gru-01")
        .unwrap()
        .iter()
        .all(|p| p.name != "hb_start"));
    let s = w.order("adiantado.com", "start").await.unwrap();
    w.drain().await;
    let after = w.service(s.id).await;
    assert_eq!(after.status, "active", "{:?}", after.last_error);
    assert!(w
        .sb
        .whm_packages("whm-gru-01")
        .unwrap()
        .iter()
        .any(|p| p.name == "hb_start"));
    assert_eq!(w.accounts("whm-gru-01", "adiantado.com").len(), 1);
    let synced: i64 =
        w.t.db
            .scalar(
                "SELECT COUNT(*) FROM plan_packages WHERE package = 'hb_start' AND state = 'synced'",
                args![],
            )
            .await
            .unwrap();
    assert_eq!(synced, 1);
}

#[tokio::test]
async fn terminate_needs_a_fresh_second_factor() {
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    let admin = accounts::create_user(
        &w.t.db,
        &operator(),
        NewUser {
            username: "ana".into(),
            email: "ana@example.com".into(),
            password: Some(crate::identity::PASSWORD.into()),
            role: Some(Role::TenantAdmin),
            tenant_id: Some(w.tenant),
            ..Default::default()
        },
        &Proof::confirm("ana"),
    )
    .await
    .unwrap()
    .actor(None, "test")
    .unwrap();
    let db: Db = w.t.db.scoped(Some(w.tenant));
    let s = services::create(
        &db,
        &admin,
        NewService {
            customer: w.customer.to_string(),
            plan: "start".into(),
            domain: "seguro.com".into(),
            region: String::new(),
            coupon: None,
        },
    )
    .await
    .unwrap()
    .service;
    w.drain().await;
    let r = services::terminate(&db, &admin, &s.id.to_string(), &Proof::confirm("seguro.com")).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_ENROLMENT),
        "{r:?}"
    );
    let refused: i64 =
        w.t.db
            .scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'sensitive.refused' AND entity_id = 'service.terminate'",
                args![],
            )
            .await
            .unwrap();
    assert_eq!(refused, 1);
    let queued: i64 =
        w.t.db
            .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.terminate'", args![])
            .await
            .unwrap();
    assert_eq!(queued, 0);
    let after = w.service(s.id).await;
    assert_eq!(after.status, "active", "{:?}", after.last_error);
    assert_eq!(w.accounts("whm-gru-01", "seguro.com").len(), 1);
}

#[tokio::test]
async fn a_malformed_answer_is_a_typed_error_and_changes_nothing() {
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    w.drain().await;
    w.sb.set_fault("whm-gru-01", "accountsummary", FaultSpec::always(FaultKind::Malformed))
        .unwrap();
    let s = w.order("quebrado.com", "start").await.unwrap();
    let run = w.start_worker("w-mal");
    wait_for(Duration::from_secs(20), "a failed attempt", || async {
        let n: i64 =
            w.t.db
                .scalar(
                    "SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.create' AND attempts >= 2",
                    args![],
                )
                .await
                .unwrap();
        n > 0
    })
    .await;
    let _ = run.stop.send(true);
    run.task.await.unwrap();
    let last: String =
        w.t.db
            .scalar("SELECT last_error FROM jobs WHERE kind = 'hosting.create'", args![])
            .await
            .unwrap();
    assert!(last.to_lowercase().contains("accountsummary"), "{last}");
    assert_eq!(w.service(s.id).await.status, "provisioning");
    assert!(w.sb.whm_accounts("whm-gru-01").unwrap().is_empty());
    assert_eq!(w.sb.whm_state("whm-gru-01").unwrap().calls.get("createacct"), None);
}

#[tokio::test]
async fn a_username_taken_on_the_server_is_renamed_and_packages_drift_is_recorded() {
    let t0 = Instant::now();
    let w = world(&[("whm-gru-01", "gru", 50)]).await;
    w.drain().await;
    // Someone else's account already holds the generated name.
    let c = backend::hosting::connect::whm_client(&w.t.db, &w.keys, w.servers[0].1)
        .await
        .unwrap();
    c.create_account(&backend::providers::whm::CreateAccount {
        username: "vizinho".into(),
        domain: "outro-vizinho.com".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let s = w.order("vizinho.com", "start").await.unwrap();
    assert_eq!(s.username.as_deref(), Some("vizinho"));
    w.drain().await;
    let s = w.service(s.id).await;
    assert_eq!((s.status.as_str(), s.username.as_deref()), ("active", Some("vizinho1")));

    // Drift: a package edited behind painel's back, and a plan whose push failed.
    c.edit_package(&backend::providers::whm::PackageSpec {
        name: "hb_plus".into(),
        quota: Some(backend::providers::whm::Limit::Value(1)),
        ..Default::default()
    })
    .await
    .unwrap();
    w.sb.set_fault(
        "whm-gru-01",
        "addpkg",
        FaultSpec::always(FaultKind::Envelope {
            reason: "Sorry, you cannot create packages.".into(),
        }),
    )
    .unwrap();
    plans::create(&w.t.db, &operator(), plan_input("max", 50, ""))
        .await
        .unwrap();
    w.drain().await;
    w.sb.clear_faults();
    plans::sync(&w.t.db, &operator()).await.unwrap();
    w.drain().await;
    let drift = plans::drift(&w.t.db, &operator(), true).await.unwrap();
    let got: Vec<(&str, &str)> = drift.iter().map(|d| (d.plan_code.as_str(), d.state.as_str())).collect();
    assert_eq!(got, [("max", "missing"), ("plus", "different")], "{drift:?}");
    assert!(
        drift[1].detail.contains("QUOTA plan 20480 server 1"),
        "{}",
        drift[1].detail
    );
    // Pushing again (an edit) converges.
    plans::update(&w.t.db, &operator(), "plus", plan_input("plus", 20, ""))
        .await
        .unwrap();
    plans::update(&w.t.db, &operator(), "max", plan_input("max", 50, ""))
        .await
        .unwrap();
    w.drain().await;
    assert!(plans::drift(&w.t.db, &operator(), true).await.unwrap().is_empty());
    assert!(t0.elapsed() < Duration::from_secs(120));
}
