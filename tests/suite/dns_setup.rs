//! `dns.service.setup` — a new hosting service's zone and records — against the Cloudflare
//! simulator over loopback HTTP, in a real worker: the zone is created once, the records its
//! plan asks for reach Cloudflare, a second run changes nothing, and a Cloudflare refusal
//! fails the job with Cloudflare's words while our tables stay as they were.

use backend::dns::jobs::SERVICE_SETUP;
use backend::jobs::{enqueue, NewJob};
use backend::{args, Db};
use sandbox::{FaultKind, FaultSpec, Sandbox};
use serde_json::json;
use uuid::Uuid;

use crate::common::{fresh, TestDb};
use crate::dns::{cf_sandbox, configure, start_worker};
use crate::servers::catalogue;
use crate::servers_whm::until;

const IP: &str = "203.0.113.10";

async fn service(t: &TestDb, ids: (Uuid, Uuid, Uuid), server: Uuid, domain: &str, user: &str) -> Uuid {
    let id = Uuid::now_v7();
    t.owner
        .execute(
            "INSERT INTO services (id, tenant_id, customer_id, plan_id, server_id, status, domain, username, price_minor) \
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, 1990)",
            args![id, ids.0, ids.1, ids.2, server, domain, user],
        )
        .await
        .unwrap();
    id
}

async fn setup(db: &Db, service: Uuid, tenant: Uuid) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let job = enqueue(
        &mut tx,
        NewJob {
            queue: backend::dns::jobs::QUEUE.into(),
            kind: SERVICE_SETUP.into(),
            payload: json!({ "service_id": service }),
            max_attempts: Some(3),
            unique_key: Some(format!("{SERVICE_SETUP}:{service}")),
            tenant_id: Some(tenant),
            enqueued_by: "test".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    job.id
}

/// (status, last_error) once the job has ended.
async fn ended(db: &Db, id: Uuid) -> (String, Option<String>) {
    until("the job to end", || async {
        db.scalar::<String>("SELECT status FROM jobs WHERE id = $1", args![id])
            .await
            .is_ok_and(|s| matches!(s.as_str(), "succeeded" | "failed" | "dead"))
    })
    .await;
    db.fetch_optional("SELECT status, last_error FROM jobs WHERE id = $1", args![id])
        .await
        .unwrap()
        .unwrap()
}

async fn idle(db: &Db) {
    until("no DNS job left to run", || async {
        db.scalar::<i64>(
            "SELECT COUNT(*) FROM jobs WHERE queue = 'dns' AND status IN ('queued', 'running')",
            args![],
        )
        .await
        .is_ok_and(|n| n == 0)
    })
    .await;
}

/// What our tables hold for DNS, as text: compared whole before and after a failure.
async fn our_rows(db: &Db) -> Vec<String> {
    let mut out: Vec<String> = db
        .fetch_all::<(String, String)>("SELECT name, status FROM domains ORDER BY name", args![])
        .await
        .unwrap()
        .into_iter()
        .map(|(n, s)| format!("domain {n} {s}"))
        .collect();
    out.extend(
        db.fetch_all::<(String, String, Option<String>)>(
            "SELECT name, status, external_id FROM dns_zones ORDER BY name",
            args![],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|(n, s, e)| format!("zone {n} {s} {e:?}")),
    );
    out.extend(
        db.fetch_all::<(String, String, String, String)>(
            "SELECT z.name, r.record_type, r.name, r.sync_status FROM dns_records r JOIN dns_zones z ON z.id = r.zone_id \
             ORDER BY z.name, r.record_type, r.name",
            args![],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|(z, t, n, s)| format!("record {z} {t} {n} {s}")),
    );
    out.extend(
        db.fetch_all::<(String, i64)>(
            "SELECT action, COUNT(*) FROM audit_log WHERE action LIKE 'dns.%' GROUP BY action ORDER BY action",
            args![],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|(a, n)| format!("audit {a} {n}")),
    );
    out
}

fn remote_records(sb: &Sandbox, zone: &str) -> Vec<(String, String, String, Option<u64>)> {
    let mut v: Vec<_> = sb
        .cloudflare_zones()
        .into_iter()
        .filter(|z| z.name == zone)
        .flat_map(|z| z.records)
        .map(|r| (r.record_type, r.name, r.content, r.priority))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_service_gets_its_zone_and_records_once_and_a_refusal_changes_nothing() {
    let t = fresh().await;
    let sb = cf_sandbox().await;
    configure(&t.db, &sb, 3600).await;
    let ids = catalogue(&t).await;
    let server = Uuid::now_v7();
    t.owner
        .execute(
            "INSERT INTO servers (id, name, hostname, ip) VALUES ($1, 'gru-1', 'gru-1.example.net', $2)",
            args![server, IP],
        )
        .await
        .unwrap();
    let loja = service(&t, ids, server, "lojanova.com.br", "lojanova").await;
    let (stop, worker) = start_worker(&t.db);

    let job = setup(&t.db, loja, ids.0).await;
    assert_eq!(ended(&t.db, job).await.0, "succeeded");
    idle(&t.db).await;
    let zones: Vec<_> = sb.cloudflare_zones().into_iter().map(|z| z.name).collect();
    assert_eq!(zones, ["lojanova.com.br"]);
    let want = vec![
        ("A".to_owned(), "lojanova.com.br".to_owned(), IP.to_owned(), None),
        ("A".to_owned(), "mail.lojanova.com.br".to_owned(), IP.to_owned(), None),
        (
            "CNAME".to_owned(),
            "www.lojanova.com.br".to_owned(),
            "lojanova.com.br".to_owned(),
            None,
        ),
        (
            "MX".to_owned(),
            "lojanova.com.br".to_owned(),
            "mail.lojanova.com.br".to_owned(),
            Some(10),
        ),
    ];
    assert_eq!(remote_records(&sb, "lojanova.com.br"), want);
    let rows = our_rows(&t.db).await;
    assert!(rows.contains(&"domain lojanova.com.br pending".to_owned()), "{rows:?}");
    for r in [
        "record lojanova.com.br A lojanova.com.br synced",
        "record lojanova.com.br A mail.lojanova.com.br synced",
        "record lojanova.com.br CNAME www.lojanova.com.br synced",
    ] {
        assert!(rows.contains(&r.to_owned()), "{r} in {rows:?}");
    }
    let ext: Option<String> =
        t.db.scalar(
            "SELECT external_id FROM dns_zones WHERE name = 'lojanova.com.br'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(ext.as_deref(), Some(sb.cloudflare_zones()[0].id.as_str()));
    let creates = sb.cloudflare_calls().get("zones.create").copied().unwrap_or(0);
    assert_eq!(creates, 1);

    // Run twice: nothing new here or at Cloudflare.
    let job = setup(&t.db, loja, ids.0).await;
    assert_eq!(ended(&t.db, job).await.0, "succeeded");
    idle(&t.db).await;
    assert_eq!(sb.cloudflare_zones().len(), 1);
    assert_eq!(remote_records(&sb, "lojanova.com.br"), want);
    assert_eq!(sb.cloudflare_calls().get("zones.create").copied().unwrap_or(0), 1);
    let n: i64 = t.db.scalar("SELECT COUNT(*) FROM dns_records", args![]).await.unwrap();
    assert_eq!(n, 4);

    // Cloudflare refuses the zone: the job says why, and our tables are as they were.
    sb.set_fault(
        "cloudflare",
        "zones.create",
        FaultSpec::always(FaultKind::Envelope {
            reason: "Invalid zone name for this account".into(),
        }),
    )
    .unwrap();
    let before = our_rows(&t.db).await;
    let outra = service(&t, ids, server, "recusada.com.br", "recusada").await;
    let job = setup(&t.db, outra, ids.0).await;
    let (status, error) = ended(&t.db, job).await;
    assert_ne!(status, "succeeded");
    let error = error.unwrap_or_default();
    assert!(
        error.contains("recusada.com.br") && error.contains("Invalid zone name for this account"),
        "{error}"
    );
    idle(&t.db).await;
    assert_eq!(our_rows(&t.db).await, before);
    assert_eq!(sb.cloudflare_zones().len(), 1);

    let _ = stop.send(true);
    worker.await.unwrap();
}
