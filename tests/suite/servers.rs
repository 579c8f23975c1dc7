//! Servers (docs/adr/0020): CRUD with audit and permissions, the sealed token, the audited TLS
//! choice, the sensitive removal, the failure feed and incidents, retention. Time is
//! injected, never slept.

use backend::hosting::jobs as hjobs;
use backend::hosting::metrics::{self, Sample, INCIDENT_AFTER};
use backend::hosting::servers::{self, NewServer, ServerPatch, ServerQuery, TOKEN_CONTEXT};
use backend::secrets::{Keys, MasterKey};
use backend::sensitive::{self, Proof};
use backend::{args, Actor, Db, Role, ServiceError};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator};

pub const TOKEN: &str = "TOKEN0123456789ABCDEFSECRET";

pub fn keys() -> Keys {
    Keys::new(MasterKey::from_bytes([9; 32]), vec![])
}

pub fn new_server(name: &str) -> NewServer {
    NewServer {
        name: name.into(),
        hostname: format!("{name}.painel.example"),
        ip: "203.0.113.7".into(),
        region: "sa-east-1".into(),
        whm_url: format!("https://{name}.painel.example:2087"),
        api_token: TOKEN.into(),
        max_accounts: Some(100),
        disk_total_gb: 500,
        ..NewServer::default()
    }
}

async fn actions(db: &Db, entity_id: &str) -> Vec<String> {
    let rows: Vec<(String,)> = db
        .fetch_all(
            "SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY seq",
            args![entity_id],
        )
        .await
        .unwrap();
    rows.into_iter().map(|(a,)| a).collect()
}

async fn audit_after(db: &Db, action: &str) -> Vec<serde_json::Value> {
    let rows: Vec<(Option<serde_json::Value>,)> = db
        .fetch_all(
            "SELECT after FROM audit_log WHERE action = $1 ORDER BY seq",
            args![action],
        )
        .await
        .unwrap();
    rows.into_iter().filter_map(|(v,)| v).collect()
}

#[tokio::test]
async fn crud_is_validated_audited_and_the_token_stays_sealed() {
    let t = fresh().await;
    let k = keys();
    let op = operator();
    // Validation names every bad field at once.
    let bad = servers::create(
        &t.db,
        &op,
        Some(&k),
        NewServer {
            name: "Bad Name".into(),
            hostname: "nodot".into(),
            ip: "300.1.1.1".into(),
            region: "".into(),
            whm_url: "http://whm.example.net:2087".into(),
            tls: "pin:abc".into(),
            max_accounts: Some(-1),
            ..NewServer::default()
        },
    )
    .await
    .unwrap_err();
    let fields: Vec<&str> = bad.fields().iter().map(|f| f.field.as_str()).collect();
    for f in ["name", "hostname", "ip", "region", "whm_url", "tls", "max_accounts"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    // A token without keys would be stored in the clear: refused.
    let r = servers::create(&t.db, &op, None, new_server("whm-gru-01")).await;
    assert!(matches!(r, Err(ServiceError::Unavailable(_))), "{r:?}");

    let pin = "AB:".repeat(31) + "AB";
    let s = servers::create(
        &t.db,
        &op,
        Some(&k),
        NewServer {
            tls: format!("pin:{pin}"),
            ..new_server("whm-gru-01")
        },
    )
    .await
    .unwrap();
    assert!(s.token_set);
    assert_eq!(s.tls_mode, "pin");
    assert_eq!(s.tls_pin_sha256.as_deref(), Some("ab".repeat(32).as_str()));
    // Loopback test servers may speak plain http.
    servers::create(
        &t.db,
        &op,
        None,
        NewServer {
            whm_url: "http://127.0.0.1:20870".into(),
            api_token: String::new(),
            ..new_server("whm-local")
        },
    )
    .await
    .unwrap();
    let dup = servers::create(&t.db, &op, Some(&k), new_server("whm-gru-01")).await;
    assert!(
        matches!(&dup, Err(ServiceError::Validation(f)) if f[0].field == "name"),
        "{dup:?}"
    );

    // Sealed at rest, bound to the row: the column holds no plaintext and opens only here.
    let (enc,): (Vec<u8>,) =
        t.db.fetch_optional("SELECT api_token_enc FROM servers WHERE id = $1", args![s.id])
            .await
            .unwrap()
            .unwrap();
    assert!(!enc.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    assert_eq!(k.decrypt_str(TOKEN_CONTEXT, s.id, &enc).unwrap(), TOKEN);
    assert!(k.decrypt_str(TOKEN_CONTEXT, Uuid::now_v7(), &enc).is_err());

    // Found by name, id and short id; listed with filters.
    assert_eq!(servers::get(&t.db, &op, "whm-gru-01").await.unwrap().id, s.id);
    assert_eq!(
        servers::get(&t.db, &op, &backend::ids::short(s.id)).await.unwrap().id,
        s.id
    );
    let listed = servers::list(
        &t.db,
        &op,
        &ServerQuery {
            filter: Some("GRU".into()),
            ..ServerQuery::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["whm-gru-01"]
    );

    // A new token and a weaker TLS policy: both audited, the token never.
    let u = servers::update(
        &t.db,
        &op,
        Some(&k),
        "whm-gru-01",
        ServerPatch {
            api_token: Some("NEWTOKEN-9876543210".into()),
            tls: Some("trust".into()),
            max_accounts: Some(None),
            ..ServerPatch::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(u.tls_mode, "trust");
    assert_eq!(u.max_accounts, None);
    let (enc2,): (Vec<u8>,) =
        t.db.fetch_optional("SELECT api_token_enc FROM servers WHERE id = $1", args![s.id])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        k.decrypt_str(TOKEN_CONTEXT, s.id, &enc2).unwrap(),
        "NEWTOKEN-9876543210"
    );
    assert_eq!(
        actions(&t.db, &s.id.to_string()).await,
        ["server.create", "server.tls", "server.update", "server.tls"]
    );
    let tls = audit_after(&t.db, "server.tls").await;
    assert_eq!(tls.len(), 3, "{tls:?}");
    let last = tls.last().unwrap();
    assert_eq!(last["tls"], "trust (any certificate)");
    assert_eq!(last["verifies"], false);
    let updates = audit_after(&t.db, "server.update").await;
    assert_eq!(updates[0]["credential_replaced"], true);
    let rows: Vec<(Option<String>, Option<String>)> =
        t.db.fetch_all(
            "SELECT CAST(before AS TEXT), CAST(after AS TEXT) FROM audit_log",
            args![],
        )
        .await
        .unwrap();
    for (b, a) in rows {
        for v in [b, a].into_iter().flatten() {
            assert!(
                !v.contains(TOKEN) && !v.contains("NEWTOKEN"),
                "token in the audit log: {v}"
            );
        }
    }
    // An empty patch is refused rather than audited as a change.
    let r = servers::update(&t.db, &op, None, "whm-gru-01", ServerPatch::default()).await;
    assert!(matches!(r, Err(ServiceError::Validation(_))), "{r:?}");
}

#[tokio::test]
async fn tenant_users_never_reach_servers() {
    let t = fresh().await;
    let tenant = backend::tenants::create(&t.db, &operator(), new_tenant("Acme", "acme.com.br"))
        .await
        .unwrap();
    let s = servers::create(&t.db, &operator(), Some(&keys()), new_server("whm-gru-01"))
        .await
        .unwrap();
    let admin = Actor::tenant_user("ana", Role::TenantAdmin, tenant.id);
    let db = t.db.scoped(Some(tenant.id));
    fn denied<T>(r: &Result<T, ServiceError>) -> bool {
        matches!(r, Err(ServiceError::PermissionDenied(_)))
    }
    assert!(denied(&servers::list(&db, &admin, &ServerQuery::default()).await));
    assert!(denied(&servers::get(&db, &admin, "whm-gru-01").await));
    assert!(denied(
        &servers::create(&db, &admin, Some(&keys()), new_server("whm-x")).await
    ));
    assert!(denied(
        &servers::update(
            &db,
            &admin,
            None,
            "whm-gru-01",
            ServerPatch {
                region: Some("us-east-1".into()),
                ..ServerPatch::default()
            }
        )
        .await
    ));
    assert!(denied(
        &servers::remove(&db, &admin, "whm-gru-01", &Proof::confirm("whm-gru-01")).await
    ));
    assert!(denied(
        &hjobs::request_test(&db, &admin, "whm-gru-01").await.map(|_| ())
    ));
    assert!(denied(&metrics::failures(&db, &admin, None, 10).await));
    // On-call staff read servers but change nothing.
    let on_call = Actor {
        role: Role::OnCall,
        ..Actor::system("oncall")
    };
    assert_eq!(servers::get(&t.db, &on_call, "whm-gru-01").await.unwrap().id, s.id);
    assert!(denied(
        &servers::remove(&t.db, &on_call, "whm-gru-01", &Proof::confirm("whm-gru-01")).await
    ));
    assert_eq!(actions(&t.db, &s.id.to_string()).await, ["server.create", "server.tls"]);
}

/// A tenant, a customer and a plan to hang services on; returns (tenant, customer, plan).
pub async fn catalogue(t: &crate::common::TestDb) -> (Uuid, Uuid, Uuid) {
    let tenant = backend::tenants::create(&t.db, &operator(), new_tenant("Acme", "acme.com.br"))
        .await
        .unwrap();
    let c = backend::customers::create(
        &t.db,
        &operator(),
        backend::customers::NewCustomer {
            tenant: tenant.slug.clone(),
            name: "Maria Souza".into(),
            email: "maria@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let plan = Uuid::now_v7();
    t.owner
        .execute(
            "INSERT INTO plans (id, tenant_id, code, name, price_minor) VALUES ($1, $2, 'basic', 'Basic', 1990)",
            args![plan, tenant.id],
        )
        .await
        .unwrap();
    (tenant.id, c.id, plan)
}

async fn add_service(t: &crate::common::TestDb, ids: (Uuid, Uuid, Uuid), server: Uuid, status: &str) -> Uuid {
    let id = Uuid::now_v7();
    t.owner
        .execute(
            "INSERT INTO services (id, tenant_id, customer_id, plan_id, server_id, status, price_minor) \
             VALUES ($1, $2, $3, $4, $5, $6, 1990)",
            args![id, ids.0, ids.1, ids.2, server, status],
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn removal_is_sensitive_and_refused_while_services_live_there() {
    let t = fresh().await;
    let ids = catalogue(&t).await;
    let s = servers::create(&t.db, &operator(), Some(&keys()), new_server("whm-gru-01"))
        .await
        .unwrap();
    let active = add_service(&t, ids, s.id, "active").await;
    let gone = add_service(&t, ids, s.id, "terminated").await;
    let op = operator();
    // The typed name must match.
    let r = servers::remove(&t.db, &op, "whm-gru-01", &Proof::confirm("whm-gru-02")).await;
    assert!(
        matches!(&r, Err(ServiceError::Validation(f)) if f[0].field == "confirm"),
        "{r:?}"
    );
    // A user account without 2FA may not remove servers at all (and the refusal is audited).
    let u = crate::identity::user(&t.db, "fabio", Role::SuperAdmin).await;
    let fabio = Actor {
        user_id: Some(u.id),
        name: "fabio".into(),
        ..Actor::system("fabio")
    };
    let r = servers::remove(&t.db, &fabio, "whm-gru-01", &Proof::confirm("whm-gru-01")).await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_ENROLMENT),
        "{r:?}"
    );
    let refused = audit_after(&t.db, "sensitive.refused").await;
    assert!(
        refused
            .iter()
            .any(|v| v["action"] == "server.remove" && v["reason"] == "2fa_not_enrolled"),
        "{refused:?}"
    );
    // Hosting an active service: refused, nothing changed.
    for status in ["active", "suspended", "provisioning"] {
        t.owner
            .execute("UPDATE services SET status = $2 WHERE id = $1", args![active, status])
            .await
            .unwrap();
        let r = servers::remove(&t.db, &op, "whm-gru-01", &Proof::confirm("whm-gru-01")).await;
        assert!(
            matches!(&r, Err(ServiceError::Conflict(m)) if m.contains("1 active")),
            "{status}: {r:?}"
        );
    }
    assert!(servers::get(&t.db, &op, "whm-gru-01").await.is_ok());
    // Once the service is gone the server goes; the terminated services keep their history.
    t.owner
        .execute("UPDATE services SET status = 'terminated' WHERE id = $1", args![active])
        .await
        .unwrap();
    servers::remove(&t.db, &op, "whm-gru-01", &Proof::confirm("whm-gru-01"))
        .await
        .unwrap();
    assert!(matches!(
        servers::get(&t.db, &op, "whm-gru-01").await,
        Err(ServiceError::NotFound { .. })
    ));
    let n: i64 = t
        .owner
        .scalar(
            "SELECT COUNT(*) FROM services WHERE id IN ($1, $2) AND server_id IS NULL",
            args![active, gone],
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let removed = audit_after(&t.db, "server.remove").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["detached_services"], 2);
}

fn sample(load: f64, accounts: i64) -> Sample {
    Sample {
        load_1: load,
        load_5: load,
        load_15: load,
        disk_used_gb: Some(40),
        accounts_count: Some(accounts),
        bandwidth_mb: Some(1000),
        latency_ms: Some(12),
    }
}

async fn open_incidents(db: &Db, server: Uuid) -> Vec<(Uuid, String)> {
    db.fetch_all(
        "SELECT id, status FROM incidents WHERE server_id = $1 AND status <> 'resolved'",
        args![server],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_unreachable_server_shows_at_once_opens_one_incident_and_closes_it_when_back() {
    let t = fresh().await;
    let s = servers::create(&t.db, &operator(), Some(&keys()), new_server("whm-gru-01"))
        .await
        .unwrap();
    let poller = Actor::system("scheduler");
    let t0: DateTime<Utc> = backend::db::now() - TimeDelta::minutes(30);
    let rec = metrics::record_ok(&t.db, &poller, s.id, &sample(0.5, 7), t0)
        .await
        .unwrap();
    assert_eq!(rec, metrics::Recorded::default());
    let row = servers::get(&t.db, &poller, "whm-gru-01").await.unwrap();
    assert_eq!(
        (row.status.as_str(), row.accounts_count, row.disk_used_gb),
        ("online", 7, 40)
    );

    // The first failure: offline at once, in the feed, no incident yet.
    let rec = metrics::record_failure(
        &t.db,
        &poller,
        s.id,
        "timeout: WHM systemloadavg: timeout",
        t0 + TimeDelta::minutes(1),
    )
    .await
    .unwrap();
    assert!(rec.went_offline && rec.incident_opened.is_none());
    let row = servers::get(&t.db, &poller, "whm-gru-01").await.unwrap();
    assert_eq!(row.status, "offline");
    assert_eq!(row.consecutive_failures, 1);
    assert!(row.last_error.as_deref().unwrap().starts_with("timeout"));
    let feed = metrics::failures(&t.db, &poller, None, 10).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].server, "whm-gru-01");
    assert!(open_incidents(&t.db, s.id).await.is_empty());

    // The Nth failure in a row opens one incident; more failures do not open another.
    let mut opened = None;
    for i in 2..=INCIDENT_AFTER + 2 {
        let rec = metrics::record_failure(&t.db, &poller, s.id, "connect: refused", t0 + TimeDelta::minutes(i))
            .await
            .unwrap();
        assert!(!rec.went_offline);
        if i == INCIDENT_AFTER {
            opened = rec.incident_opened;
            assert!(opened.is_some());
        } else {
            assert!(rec.incident_opened.is_none(), "failure {i}");
        }
    }
    assert_eq!(open_incidents(&t.db, s.id).await.len(), 1);
    // The database refuses a second open health-check incident for the server too.
    let dup =
        t.db.execute(
            "INSERT INTO incidents (id, server_id, title, source) VALUES ($1, $2, 'dup', 'health_check')",
            args![Uuid::now_v7(), s.id],
        )
        .await;
    assert!(dup.is_err());

    // It answers again: online, the incident resolved, both audited as the poller.
    let rec = metrics::record_ok(&t.db, &poller, s.id, &sample(0.7, 8), t0 + TimeDelta::minutes(10))
        .await
        .unwrap();
    assert!(rec.came_back);
    assert_eq!(rec.incident_resolved, opened);
    assert!(open_incidents(&t.db, s.id).await.is_empty());
    let row = servers::get(&t.db, &poller, "whm-gru-01").await.unwrap();
    assert_eq!(
        (row.status.as_str(), row.consecutive_failures, row.last_error.as_deref()),
        ("online", 0, None)
    );
    let (who, source): (String, String) =
        t.db.fetch_optional(
            "SELECT actor_name, source FROM audit_log WHERE action = 'incident.open'",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((who.as_str(), source.as_str()), ("scheduler", "system"));
    let mut seen: Vec<String> = t
        .db
        .fetch_all::<(String,)>(
            "SELECT action FROM audit_log WHERE action IN ('server.offline', 'server.online', 'incident.open', 'incident.resolve') ORDER BY seq",
            args![],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|(a,)| a)
        .collect();
    assert_eq!(
        seen,
        ["server.offline", "incident.open", "server.online", "incident.resolve"]
    );
    // A later outage opens a new incident (the old one is closed).
    for i in 0..INCIDENT_AFTER {
        metrics::record_failure(
            &t.db,
            &poller,
            s.id,
            "connect: refused",
            t0 + TimeDelta::minutes(20 + i),
        )
        .await
        .unwrap();
    }
    assert_eq!(open_incidents(&t.db, s.id).await.len(), 1);
    seen.clear();
    // A server in maintenance is expected to be down: no incident, status kept.
    let m = servers::create(&t.db, &operator(), Some(&keys()), new_server("whm-gru-02"))
        .await
        .unwrap();
    servers::update(
        &t.db,
        &operator(),
        None,
        "whm-gru-02",
        ServerPatch {
            status: Some("maintenance".into()),
            ..ServerPatch::default()
        },
    )
    .await
    .unwrap();
    for i in 0..INCIDENT_AFTER + 1 {
        let rec = metrics::record_failure(&t.db, &poller, m.id, "connect: refused", t0 + TimeDelta::minutes(i))
            .await
            .unwrap();
        assert_eq!(rec, metrics::Recorded::default());
    }
    assert_eq!(
        servers::get(&t.db, &poller, "whm-gru-02").await.unwrap().status,
        "maintenance"
    );
    assert!(open_incidents(&t.db, m.id).await.is_empty());
}

#[tokio::test]
async fn raw_points_fold_into_hours_after_48h_and_old_hours_go() {
    let t = fresh().await;
    let s = servers::create(&t.db, &operator(), Some(&keys()), new_server("whm-gru-01"))
        .await
        .unwrap();
    let sys = Actor::system("scheduler");
    let now: DateTime<Utc> = "2026-12-06T12:30:00Z".parse().unwrap();
    let old_hour: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
    // Three polls in one old hour (one failed), two in the next, and recent ones.
    metrics::record_ok(&t.db, &sys, s.id, &sample(1.0, 5), old_hour + TimeDelta::minutes(1))
        .await
        .unwrap();
    metrics::record_ok(&t.db, &sys, s.id, &sample(3.0, 6), old_hour + TimeDelta::minutes(20))
        .await
        .unwrap();
    metrics::record_failure(&t.db, &sys, s.id, "timeout: x", old_hour + TimeDelta::minutes(40))
        .await
        .unwrap();
    metrics::record_ok(&t.db, &sys, s.id, &sample(2.0, 9), old_hour + TimeDelta::minutes(61))
        .await
        .unwrap();
    metrics::record_ok(&t.db, &sys, s.id, &sample(4.0, 9), old_hour + TimeDelta::minutes(62))
        .await
        .unwrap();
    let recent = now - TimeDelta::hours(47);
    metrics::record_ok(&t.db, &sys, s.id, &sample(9.0, 9), recent)
        .await
        .unwrap();
    // An hourly point from long ago, past the hourly retention.
    t.db.execute(
        "INSERT INTO server_metrics (id, server_id, at, resolution, status, samples) VALUES ($1, $2, $3, 'hour', 'online', 60)",
        args![Uuid::now_v7(), s.id, now - TimeDelta::days(91)],
    )
    .await
    .unwrap();

    let r = metrics::downsample(&t.db, &sys, now).await.unwrap();
    assert_eq!(
        r,
        metrics::Retention {
            folded: 5,
            hours_written: 2,
            hourly_deleted: 1
        }
    );
    let pts = metrics::points(&t.db, &sys, s.id, now - TimeDelta::days(30))
        .await
        .unwrap();
    let shape: Vec<(String, String, i64)> = pts
        .iter()
        .map(|p| (p.at.to_rfc3339(), p.resolution.clone(), p.samples))
        .collect();
    assert_eq!(
        shape,
        [
            ("2026-12-03T10:00:00+00:00".to_owned(), "hour".to_owned(), 3),
            ("2026-12-03T11:00:00+00:00".to_owned(), "hour".to_owned(), 2),
            (recent.to_rfc3339(), "raw".to_owned(), 1),
        ]
    );
    // The first hour: load averaged over the polls that answered, offline because one failed.
    assert_eq!(pts[0].load_1, Some(2.0));
    assert_eq!(pts[0].status, "offline");
    assert_eq!(pts[0].accounts_count, Some(6));
    assert_eq!(pts[1].load_1, Some(3.0));
    assert_eq!(pts[1].status, "online");
    // Idempotent: nothing more to fold; a late raw point of a folded hour merges into it.
    assert_eq!(
        metrics::downsample(&t.db, &sys, now).await.unwrap(),
        metrics::Retention::default()
    );
    metrics::record_ok(&t.db, &sys, s.id, &sample(6.0, 9), old_hour + TimeDelta::minutes(90))
        .await
        .unwrap();
    let r = metrics::downsample(&t.db, &sys, now).await.unwrap();
    assert_eq!((r.folded, r.hours_written), (1, 0));
    let pts = metrics::points(&t.db, &sys, s.id, old_hour).await.unwrap();
    assert_eq!(pts[1].samples, 3);
    assert_eq!(pts[1].load_1, Some(4.0));
    assert_eq!(audit_after(&t.db, "server_metrics.retention").await.len(), 2);
}

#[tokio::test]
async fn a_test_request_is_one_audited_job_and_its_answer_lands_on_the_row() {
    let t = fresh().await;
    let s = servers::create(&t.db, &operator(), Some(&keys()), new_server("whm-gru-01"))
        .await
        .unwrap();
    let (_, job) = hjobs::request_test(&t.db, &operator(), "whm-gru-01").await.unwrap();
    assert_eq!(job.kind, "server.test");
    assert_eq!(job.max_attempts, 1);
    // Asked twice while queued: the same job.
    let (_, again) = hjobs::request_test(&t.db, &operator(), "whm-gru-01").await.unwrap();
    assert_eq!(again.id, job.id);
    hjobs::record_test(&t.db, &job.actor(), s.id, Ok("11.118.0.15".into()), backend::db::now())
        .await
        .unwrap();
    let row = servers::get(&t.db, &operator(), "whm-gru-01").await.unwrap();
    assert_eq!(row.whm_version.as_deref(), Some("11.118.0.15"));
    assert!(row.last_test_error.is_none() && row.last_test_at.is_some());
    hjobs::record_test(
        &t.db,
        &job.actor(),
        s.id,
        Err("auth: WHM version: authentication refused".into()),
        backend::db::now(),
    )
    .await
    .unwrap();
    let row = servers::get(&t.db, &operator(), "whm-gru-01").await.unwrap();
    assert!(row.last_test_error.as_deref().unwrap().starts_with("auth:"));
    assert_eq!(
        actions(&t.db, &s.id.to_string()).await,
        [
            "server.create",
            "server.tls",
            "server.test.request",
            "server.test",
            "server.test"
        ]
    );
    // Servers that do not speak WHM have nothing to test.
    servers::create(
        &t.db,
        &operator(),
        None,
        NewServer {
            kind: "xui".into(),
            whm_url: String::new(),
            api_token: String::new(),
            ..new_server("xui-01")
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        hjobs::request_test(&t.db, &operator(), "xui-01").await,
        Err(ServiceError::Validation(_))
    ));
}
