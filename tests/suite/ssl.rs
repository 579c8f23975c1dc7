//! SSL monitoring against the sandbox: each simulated server serves its sites over TLS
//! (certificates made with rcgen: valid, 5 days left, expired, another host's, self-signed,
//! none), a real worker checks them, asks WHM for AutoSSL, re-checks and sees them renewed;
//! incidents open and resolve; AutoSSL refusals and failed validations feed the failures
//! list; permissions and audit of the verbs' service functions.

use std::collections::BTreeMap;

use backend::hosting::HostingEnv;
use backend::ssl::{self, CheckState, ProbeConfig};
use backend::{args, Actor, Db, Role};
use chrono::Utc;
use sandbox::{AccountInit, FaultKind, FaultSpec, Sandbox, SiteCert, WhmInit};
use serde_json::json;
use uuid::Uuid;

use crate::common::{fresh, operator, TestDb};
use crate::servers::{catalogue, keys};
use crate::servers_whm::{add_server, start_worker_with, until, GRU, TOKEN};

const DAY: i64 = 86_400;

/// (user, domain, what its site serves)
fn sites(now: i64) -> Vec<(&'static str, &'static str, Option<SiteCert>)> {
    vec![
        ("valid01", "valid.com.br", Some(SiteCert::issued(now, 60))),
        ("soon01", "soon.com.br", Some(SiteCert::issued(now, 5))),
        ("old01", "old.com.br", Some(SiteCert::issued(now, -3))),
        ("other01", "other.com.br", Some(SiteCert::Hostname)),
        (
            "self01",
            "self.com.br",
            Some(SiteCert::SelfSigned {
                not_before: now - DAY,
                not_after: now + 300 * DAY,
            }),
        ),
        ("none01", "none.com.br", None),
    ]
}

async fn sandbox_with_sites() -> Sandbox {
    let now = Utc::now().timestamp();
    let mut init = WhmInit::new("root", TOKEN);
    for (user, domain, cert) in sites(now) {
        init = init.account(AccountInit {
            user: user.into(),
            domain: domain.into(),
            plan: "default".into(),
            email: None,
            suspended: None,
        });
        if let Some(c) = cert {
            init = init.cert(domain, c);
        }
    }
    Sandbox::builder().seed(32).whm(GRU, init).start().await.unwrap()
}

struct World {
    t: TestDb,
    sb: Sandbox,
    tenant: Uuid,
    /// What `[ssl]` in the worker's config.toml would say: the sandbox's sites and CA.
    probe: ProbeConfig,
}

async fn world() -> World {
    let t = fresh().await;
    let sb = sandbox_with_sites().await;
    let ids = catalogue(&t).await;
    let server = add_server(&t.db, &sb, GRU, &format!("pin:{}", sb.cert_sha256_hex())).await;
    for (user, domain, _) in sites(0) {
        t.owner
            .execute(
                "INSERT INTO services (id, tenant_id, customer_id, plan_id, server_id, status, domain, username, price_minor) \
                 VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, 1990)",
                args![Uuid::now_v7(), ids.0, ids.1, ids.2, server.id, domain, user],
            )
            .await
            .unwrap();
    }
    let mut connect = BTreeMap::new();
    connect.insert(format!("server:{GRU}"), sb.sites_addr(GRU).unwrap().to_string());
    ssl::set_recheck_seconds(&t.db, &operator(), 1).await.unwrap();
    let probe = ProbeConfig {
        connect,
        extra_roots: vec![sb.autossl_ca_der().unwrap()],
        ..Default::default()
    };
    World {
        t,
        sb,
        tenant: ids.0,
        probe,
    }
}

impl World {
    /// A worker whose ssl jobs are configured with [`World::probe`].
    fn worker(&self) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        start_worker_with(&self.t.db, HostingEnv::new(Some(keys())).with_ssl(self.probe.clone()))
    }
}

async fn state_of(db: &Db, domain: &str) -> String {
    ssl::get(db, &operator(), domain)
        .await
        .map(|c| c.state)
        .unwrap_or_default()
}

async fn run_round(db: &Db) {
    let mut tx = db.begin().await.unwrap();
    backend::jobs::enqueue(
        &mut tx,
        backend::jobs::NewJob {
            queue: ssl::jobs::QUEUE.into(),
            kind: ssl::jobs::CHECK_ALL.into(),
            payload: json!({}),
            enqueued_by: "scheduler".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn each_kind_of_certificate_is_classified_by_a_real_handshake() {
    let w = world().await;
    let cfg = w.probe.clone();
    let roots = cfg.roots();
    let now = Utc::now();
    let expect = [
        ("valid.com.br", CheckState::Valid),
        ("soon.com.br", CheckState::Expiring),
        ("old.com.br", CheckState::Expired),
        ("other.com.br", CheckState::Mismatch),
        ("self.com.br", CheckState::Untrusted),
        ("none.com.br", CheckState::Missing),
    ];
    for (domain, state) in expect {
        let addr = cfg.target(domain, Some(GRU), Some("203.0.113.7"));
        let served = ssl::probe::fetch(&addr, domain, cfg.timeout).await;
        let r = ssl::probe::classify(&served, domain, now, 21, &roots);
        assert_eq!(r.state, state, "{domain}: {r:?}");
        if state == CheckState::Valid || state == CheckState::Expiring {
            assert_eq!(r.issuer.as_deref(), Some("painel sandbox AutoSSL CA"));
            assert!(r.sans.contains(&domain.to_owned()), "{:?}", r.sans);
            assert!(r.error.is_none());
        } else {
            assert!(r.error.is_some(), "{domain}");
        }
    }
    let soon = ssl::probe::classify(
        &ssl::probe::fetch(&cfg.target("soon.com.br", Some(GRU), None), "soon.com.br", cfg.timeout).await,
        "soon.com.br",
        now,
        21,
        &roots,
    );
    let left = ssl::days_between(now, soon.not_after.unwrap());
    assert!((4..=5).contains(&left), "{left}");
    // Without the sandbox CA as a root, an AutoSSL certificate is not trusted.
    let bare = ProbeConfig::default().roots();
    let r = ssl::probe::classify(
        &ssl::probe::fetch(
            &cfg.target("valid.com.br", Some(GRU), None),
            "valid.com.br",
            cfg.timeout,
        )
        .await,
        "valid.com.br",
        now,
        21,
        &bare,
    );
    assert_eq!(r.state, CheckState::Untrusted);
    // Nothing listening: unreachable.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = gone.local_addr().unwrap().to_string();
    drop(gone);
    let r = ssl::probe::classify(
        &ssl::probe::fetch(&addr, "valid.com.br", cfg.timeout).await,
        "valid.com.br",
        now,
        21,
        &roots,
    );
    assert_eq!(r.state, CheckState::Unreachable);
}

#[tokio::test]
async fn the_round_checks_every_domain_and_autossl_renews_what_it_can() {
    let w = world().await;
    let db = &w.t.db;
    // AutoSSL's validation fails for one account's runs: it stays expired.
    w.sb.set_fault(GRU, "autossl_dcv", FaultSpec::times(FaultKind::Drop, 100))
        .unwrap();
    let (stop, task) = w.worker();
    run_round(db).await;
    until("the first checks", || async {
        ssl::list(db, &operator(), &Default::default())
            .await
            .is_ok_and(|l| l.len() == 6 && l.iter().all(|c| c.last_checked_at.is_some()))
    })
    .await;
    until("autossl to be asked for the five broken ones", || async {
        db.scalar::<i64>(
            "SELECT COUNT(*) FROM certificates WHERE renew_requested_at IS NOT NULL",
            args![],
        )
        .await
        .is_ok_and(|n| n == 5)
    })
    .await;
    assert_eq!(state_of(db, "valid.com.br").await, "valid");
    let opened: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM incidents WHERE certificate_id IS NOT NULL",
            args![],
        )
        .await
        .unwrap();
    // expired, mismatch, untrusted, missing — and 5 days left is not yet under 3.
    assert_eq!(opened, 4);
    let fails = ssl::failures(db, &operator()).await.unwrap();
    assert!(fails
        .iter()
        .any(|f| f.domain == "old.com.br" && f.severity == "critical"));
    assert!(fails
        .iter()
        .any(|f| f.domain == "soon.com.br" && f.severity == "warning"));
    assert!(!fails.iter().any(|f| f.domain == "valid.com.br"));
    // Every DCV failed: nothing renewed, incidents still open, no second request (cool-down).
    let snap = w.sb.site_certs(GRU).unwrap();
    assert!(!snap.iter().any(|c| c.domain == "none.com.br"));
    w.sb.clear_faults();
    // An operator asks again by hand: this time AutoSSL issues, and the re-check sees it.
    for d in [
        "soon.com.br",
        "old.com.br",
        "other.com.br",
        "self.com.br",
        "none.com.br",
    ] {
        ssl::request_renew(db, &operator(), d).await.unwrap();
    }
    until("every certificate renewed", || async {
        let l = ssl::list(db, &operator(), &Default::default())
            .await
            .unwrap_or_default();
        l.len() == 6 && l.iter().all(|c| c.state == "valid")
    })
    .await;
    until("the incidents resolved", || async {
        db.scalar::<i64>(
            "SELECT COUNT(*) FROM incidents WHERE certificate_id IS NOT NULL AND status <> 'resolved'",
            args![],
        )
        .await
        .is_ok_and(|n| n == 0)
    })
    .await;
    let old = ssl::get(db, &operator(), "old.com.br").await.unwrap();
    assert!(old.days_left(Utc::now()).unwrap() >= 89);
    assert!(old.renew_error.is_none());
    assert!(ssl::failures(db, &operator()).await.unwrap().is_empty());
    let actions: Vec<(String,)> = db
        .fetch_all(
            "SELECT action FROM audit_log WHERE entity IN ('certificate', 'incident') ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    let actions: Vec<&str> = actions.iter().map(|(a,)| a.as_str()).collect();
    for a in [
        "certificate.discover",
        "certificate.check",
        "certificate.autossl",
        "certificate.autossl.request",
        "incident.open",
        "incident.resolve",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let _ = stop.send(true);
    task.await.unwrap();
}

#[tokio::test]
async fn an_autossl_refusal_is_recorded_and_listed() {
    let w = world().await;
    let db = &w.t.db;
    w.sb.set_fault(
        GRU,
        ssl_fn(),
        FaultSpec::times(
            FaultKind::Envelope {
                reason: "This system has AutoSSL disabled.".into(),
            },
            100,
        ),
    )
    .unwrap();
    let (stop, task) = w.worker();
    run_round(db).await;
    until("the refusal recorded", || async {
        ssl::get(db, &operator(), "old.com.br")
            .await
            .is_ok_and(|c| c.renew_error.as_deref().is_some_and(|e| e.contains("AutoSSL disabled")))
    })
    .await;
    let fails = ssl::failures(db, &operator()).await.unwrap();
    let old = fails.iter().find(|f| f.domain == "old.com.br").unwrap();
    assert_eq!(old.state, "expired");
    let _ = stop.send(true);
    task.await.unwrap();
}

fn ssl_fn() -> &'static str {
    "start_autossl_check_for_one_user"
}

#[tokio::test]
async fn reads_are_scoped_and_requests_need_services_manage_and_are_audited() {
    let w = world().await;
    let db = &w.t.db;
    let (stop, task) = w.worker();
    run_round(db).await;
    until("the inventory", || async {
        ssl::list(db, &operator(), &Default::default())
            .await
            .is_ok_and(|l| l.len() == 6)
    })
    .await;
    let _ = stop.send(true);
    task.await.unwrap();

    let admin = Actor::tenant_user("ana", Role::TenantAdmin, w.tenant);
    assert_eq!(ssl::list(db, &admin, &Default::default()).await.unwrap().len(), 6);
    let stranger = Actor::tenant_user("eve", Role::TenantAdmin, Uuid::now_v7());
    assert!(ssl::list(db, &stranger, &Default::default()).await.unwrap().is_empty());
    assert!(matches!(
        ssl::request_renew(db, &stranger, "old.com.br").await,
        Err(backend::ServiceError::NotFound { .. })
    ));
    let on_call = Actor {
        role: Role::OnCall,
        ..Actor::system("oncall")
    };
    assert_eq!(ssl::get(db, &on_call, "old.com.br").await.unwrap().domain, "old.com.br");
    assert!(matches!(
        ssl::request_check(db, &on_call, "old.com.br").await,
        Err(backend::ServiceError::PermissionDenied(_))
    ));
    let (cert, job) = ssl::request_check(db, &admin, "old.com.br").await.unwrap();
    assert_eq!(job.kind, "ssl.check");
    let (_, again) = ssl::request_check(db, &admin, "old.com.br").await.unwrap();
    assert_eq!(again.id, job.id, "one waiting check per certificate");
    let (_, renew) = ssl::request_renew(db, &admin, &cert.id.to_string()).await.unwrap();
    assert_eq!(renew.kind, "ssl.autossl");
    let rows: Vec<(String, String)> = db
        .fetch_all(
            "SELECT action, actor_name FROM audit_log WHERE entity = 'certificate' AND entity_id = $1 ORDER BY seq",
            args![cert.id.to_string()],
        )
        .await
        .unwrap();
    assert!(
        rows.contains(&("certificate.check.request".into(), "ana".into())),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("certificate.autossl.request".into(), "ana".into())),
        "{rows:?}"
    );
    assert!(ssl::list(
        db,
        &operator(),
        &ssl::CertQuery {
            states: vec!["bogus".into()],
            ..Default::default()
        }
    )
    .await
    .is_err());

    // The renewal window: a tenant sets its own, not another's; validated.
    ssl::set_renew_days(db, &admin, None, 30).await.unwrap();
    assert_eq!(ssl::renew_days(db, Some(w.tenant)).await.unwrap(), 30);
    assert_eq!(ssl::renew_days(db, None).await.unwrap(), 21);
    assert!(ssl::set_renew_days(db, &admin, Some(Uuid::now_v7()), 30).await.is_err());
    assert!(ssl::set_renew_days(db, &admin, None, 0).await.is_err());
    // When AutoSSL is looked at again is the platform's: not a tenant's.
    assert!(matches!(
        ssl::set_recheck_seconds(db, &admin, 60).await,
        Err(backend::ServiceError::PermissionDenied(_))
    ));
}

#[tokio::test]
async fn a_certificate_without_a_hosting_service_is_checked_in_the_round() {
    let mut w = world().await;
    let now = Utc::now().timestamp();
    // A site served elsewhere (no service of ours): where it answers comes from the overrides.
    w.sb.set_site_cert(GRU, "solo.com.br", Some(SiteCert::issued(now, -2)))
        .unwrap();
    let sites = w.sb.sites_addr(GRU).unwrap().to_string();
    w.probe.connect.insert("solo.com.br".into(), sites);
    let db = &w.t.db;
    w.t.owner.execute(
        "INSERT INTO certificates (id, tenant_id, common_name, san, status) VALUES ($1, $2, 'solo.com.br', $3, 'active')",
        args![Uuid::now_v7(), w.tenant, json!(["solo.com.br"])],
    )
    .await
    .unwrap();
    let (stop, task) = w.worker();
    run_round(db).await;
    until("the certificate without a service to be checked", || async {
        state_of(db, "solo.com.br").await == "expired"
    })
    .await;
    let _ = stop.send(true);
    task.await.unwrap();
    let c = ssl::get(db, &operator(), "solo.com.br").await.unwrap();
    assert!(c.last_checked_at.is_some());
    assert!(c.renew_requested_at.is_none(), "no cPanel account to ask AutoSSL for");
    let fails = ssl::failures(db, &operator()).await.unwrap();
    assert!(fails
        .iter()
        .any(|f| f.domain == "solo.com.br" && f.severity == "critical"));
}
