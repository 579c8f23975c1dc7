//! DNS at Cloudflare with nameserver verification, end to end against the sandbox: the
//! Cloudflare simulator (plain HTTP on loopback) and the loopback DNS server that plays the
//! registrar's side. Jobs run in a real worker; conditions are polled, never slept on.

use std::time::Duration;

use backend::dns::failures;
use backend::dns::provider::{self, ProviderInput};
use backend::dns::records::RecordInput;
use backend::dns::verify;
use backend::dns::zones::{self, NewZone, RecordEdit};
use backend::error::ServiceError;
use backend::jobs::{self, Handlers, RetryPolicy, Worker, WorkerConfig};
use backend::secrets::{Keys, MasterKey};
use backend::{args, tenants, Actor, Db, Role};
use sandbox::cloudflare::CloudflareInit;
use sandbox::{FaultKind, FaultSpec, Sandbox};
use tokio::sync::watch;

use crate::common::{fresh, new_tenant, operator};
use crate::servers_whm::until;

pub const CF_TOKEN: &str = "cf-sandbox-token-0123456789";
pub const CF_ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";

pub fn keys() -> Keys {
    Keys::new(MasterKey::from_bytes([31; 32]), vec![])
}

pub async fn cf_sandbox() -> Sandbox {
    Sandbox::builder()
        .seed(5)
        .cloudflare(CloudflareInit::new(CF_ACCOUNT, CF_TOKEN))
        .dns(true)
        .start()
        .await
        .unwrap()
}

/// The provider pointed at the sandbox, its DNS server as the only resolver.
pub async fn configure(db: &Db, sb: &Sandbox, stall_after_secs: i64) {
    provider::configure(
        db,
        Some(&keys()),
        &operator(),
        ProviderInput {
            api_url: sb.cloudflare_url().unwrap(),
            account_id: CF_ACCOUNT.into(),
            token: Some(CF_TOKEN.into()),
            resolvers: vec![sb.dns_addr().unwrap().to_string()],
            stall_after_secs: Some(stall_after_secs),
        },
    )
    .await
    .unwrap();
}

pub fn start_worker(db: &Db) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let mut h = Handlers::builtin();
    backend::dns::register_handlers(&mut h, Some(keys()));
    let mut c = WorkerConfig::new("dns-w", vec![jobs::ALL_QUEUES.to_owned()]);
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

async fn job_done(db: &Db, id: uuid::Uuid) {
    until("the job to finish", || async {
        db.scalar::<String>("SELECT status FROM jobs WHERE id = $1", args![id])
            .await
            .is_ok_and(|s| s == "succeeded")
    })
    .await;
}

async fn audits(db: &Db, action: &str) -> i64 {
    db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1", args![action])
        .await
        .unwrap()
}

fn rec(t: &str, name: &str, content: &str) -> RecordInput {
    RecordInput {
        record_type: t.into(),
        name: name.into(),
        content: content.into(),
        ..RecordInput::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_records_and_verification_against_cloudflare_and_the_dns_server() {
    let t = fresh().await;
    let sb = cf_sandbox().await;
    configure(&t.db, &sb, 172_800).await;
    let tenant = tenants::create(&t.db, &operator(), new_tenant("Loja BR", "lojabr.example"))
        .await
        .unwrap();
    let (stop, worker) = start_worker(&t.db);

    // The zone is created at Cloudflare by the job; the nameservers it assigns are stored.
    let (z, job) = zones::create(
        &t.db,
        &operator(),
        NewZone {
            name: "Loja.com.br".into(),
            tenant: Some("loja-br".into()),
            registrar: None,
        },
    )
    .await
    .unwrap();
    assert_eq!((z.name.as_str(), z.status.as_str()), ("loja.com.br", "pending"));
    job_done(&t.db, job.id).await;
    let (z, _) = zones::get(&t.db, &operator(), "loja.com.br").await.unwrap();
    let ours = sandbox::cloudflare::nameservers_for(5, "loja.com.br");
    assert_eq!(z.nameservers(), ours);
    assert!(z.external_id.is_some());
    assert_eq!(sb.cloudflare_zones().len(), 1);
    assert_eq!(audits(&t.db, "dns.zone.create").await, 1);

    // Records: validated per type, stored, pushed; invalid ones refused by field.
    let bad = zones::add_record(&t.db, &operator(), "loja.com.br", &rec("A", "www", "2001:db8::1")).await;
    assert!(
        matches!(&bad, Err(ServiceError::Validation(f)) if f[0].field == "content"),
        "{bad:?}"
    );
    let bad = zones::add_record(&t.db, &operator(), "loja.com.br", &rec("MX", "@", "mail.loja.com.br")).await;
    assert!(
        matches!(&bad, Err(ServiceError::Validation(f)) if f[0].field == "priority"),
        "{bad:?}"
    );
    let (www, _) = zones::add_record(&t.db, &operator(), "loja.com.br", &rec("A", "www", "203.0.113.10"))
        .await
        .unwrap();
    let mx = RecordInput {
        priority: Some(10),
        ..rec("MX", "@", "mail.loja.com.br")
    };
    let (_, job) = zones::add_record(&t.db, &operator(), "loja.com.br", &mx).await.unwrap();
    let dup = zones::add_record(&t.db, &operator(), "loja.com.br", &rec("A", "www", "203.0.113.10")).await;
    assert!(matches!(dup, Err(ServiceError::Conflict(_))), "{dup:?}");
    let clash = zones::add_record(&t.db, &operator(), "loja.com.br", &rec("CNAME", "www", "loja.com.br")).await;
    assert!(matches!(clash, Err(ServiceError::Validation(_))), "{clash:?}");
    job_done(&t.db, job.id).await;
    until("both records synced", || async {
        zones::get(&t.db, &operator(), "loja.com.br")
            .await
            .is_ok_and(|(_, r)| r.len() == 2 && r.iter().all(|r| r.sync_status == "synced"))
    })
    .await;
    let remote = &sb.cloudflare_zones()[0].records;
    assert_eq!(remote.len(), 2);
    assert!(remote
        .iter()
        .any(|r| r.record_type == "MX" && r.priority == Some(10) && r.name == "loja.com.br"));
    assert_eq!(audits(&t.db, "dns.record.add").await, 2);

    // Edit (PUT at Cloudflare) and remove (DELETE), each audited.
    let key = &www.id.simple().to_string()[24..];
    let (_, job) = zones::edit_record(
        &t.db,
        &operator(),
        "loja.com.br",
        key,
        &RecordEdit {
            content: Some("203.0.113.20".into()),
            ..RecordEdit::default()
        },
    )
    .await
    .unwrap();
    job_done(&t.db, job.id).await;
    until("the edit at Cloudflare", || async {
        sb.cloudflare_zones()[0]
            .records
            .iter()
            .any(|r| r.name == "www.loja.com.br" && r.content == "203.0.113.20")
    })
    .await;
    let bad = zones::edit_record(
        &t.db,
        &operator(),
        "loja.com.br",
        key,
        &RecordEdit {
            ttl: Some(5),
            ..RecordEdit::default()
        },
    )
    .await;
    assert!(
        matches!(&bad, Err(ServiceError::Validation(f)) if f[0].field == "ttl"),
        "{bad:?}"
    );
    let (_, job) = zones::remove_record(&t.db, &operator(), "loja.com.br", key)
        .await
        .unwrap();
    job_done(&t.db, job.unwrap().id).await;
    until("the record gone at Cloudflare", || async {
        sb.cloudflare_zones()[0].records.len() == 1
    })
    .await;
    let (_, recs) = zones::get(&t.db, &operator(), "loja.com.br").await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(audits(&t.db, "dns.record.edit").await, 1);
    assert_eq!(audits(&t.db, "dns.record.remove").await, 1);

    // Verification: the registrar still points elsewhere → pending; once the customer sets
    // our nameservers at the registrar (the DNS server's table) → verified, activated.
    let table = sb.dns_table().unwrap();
    table.set_ns("loja.com.br", &["a.dns.br", "b.dns.br"]);
    let r = verify::cycle(&t.db, &operator(), None).await.unwrap();
    assert_eq!((r.checked, r.still_pending, r.verified.len()), (1, 1, 0), "{r:?}");
    let (z, _) = zones::get(&t.db, &operator(), "loja.com.br").await.unwrap();
    assert_eq!(z.observed_ns, Some(serde_json::json!(["a.dns.br", "b.dns.br"])));
    assert!(z.ns_last_checked_at.is_some());
    let refs: Vec<&str> = ours.iter().map(String::as_str).collect();
    table.set_ns("loja.com.br", &refs);
    let (_, job) = zones::request_verify(&t.db, &operator(), "loja.com.br").await.unwrap();
    job_done(&t.db, job.id).await;
    until("the zone active", || async {
        zones::get(&t.db, &operator(), "loja.com.br")
            .await
            .is_ok_and(|(z, _)| z.status == "active" && z.domain_status.as_deref() == Some("active"))
    })
    .await;
    assert_eq!(sb.cloudflare_zones()[0].status, "active");
    assert_eq!(audits(&t.db, "dns.domain.verified").await, 1);

    // A tenant user sees its own zones only, and a read-only one changes nothing.
    let other = Actor::tenant_user("ana", Role::TenantAdmin, uuid::Uuid::now_v7());
    assert!(zones::list(&t.db, &other, None, 100).await.unwrap().is_empty());
    let own = Actor::tenant_user("rui", Role::TenantAdmin, tenant.id);
    assert_eq!(
        zones::list(&t.db.scoped(Some(tenant.id)), &own, None, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    let ro = own.clone().read_only();
    let refused = zones::add_record(
        &t.db.scoped(Some(tenant.id)),
        &ro,
        "loja.com.br",
        &rec("A", "x", "203.0.113.1"),
    )
    .await;
    assert!(matches!(refused, Err(ServiceError::PermissionDenied(_))), "{refused:?}");

    let _ = stop.send(true);
    worker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_verifications_and_refused_records_feed_the_failures() {
    let t = fresh().await;
    let sb = cf_sandbox().await;
    configure(&t.db, &sb, 3600).await;
    tenants::create(&t.db, &operator(), new_tenant("Loja BR", "lojabr.example"))
        .await
        .unwrap();
    let (stop, worker) = start_worker(&t.db);
    let (_, job) = zones::create(
        &t.db,
        &operator(),
        NewZone {
            name: "parado.com.br".into(),
            tenant: Some("loja-br".into()),
            registrar: None,
        },
    )
    .await
    .unwrap();
    job_done(&t.db, job.id).await;

    // Never delegated (NXDOMAIN at the registrar) and older than the threshold: stalled once.
    t.owner
        .execute(
            "UPDATE domains SET created_at = $1 WHERE name = 'parado.com.br'",
            args![backend::db::now() - chrono::Duration::hours(2)],
        )
        .await
        .unwrap();
    let r = verify::cycle(&t.db, &operator(), None).await.unwrap();
    assert_eq!(r.stalled, ["parado.com.br"]);
    let again = verify::cycle(&t.db, &operator(), None).await.unwrap();
    assert!(again.stalled.is_empty(), "declared once: {again:?}");
    assert_eq!(audits(&t.db, "dns.domain.stalled").await, 1);
    let (z, _) = zones::get(&t.db, &operator(), "parado.com.br").await.unwrap();
    assert_eq!(z.verification(), "stalled");

    // Cloudflare refuses a record (a permanent envelope error): the record is in error.
    sb.set_fault(
        "cloudflare",
        "dns_records.create",
        FaultSpec::always(FaultKind::Envelope {
            reason: "DNS record content invalid".into(),
        }),
    )
    .unwrap();
    let (_, job) = zones::add_record(&t.db, &operator(), "parado.com.br", &rec("TXT", "@", "v=spf1 -all"))
        .await
        .unwrap();
    job_done(&t.db, job.id).await;
    let feed = failures::all(&t.db, &operator(), 50).await.unwrap();
    let kinds: Vec<(&str, &str)> = feed.iter().map(|f| (f.kind.as_str(), f.subject.as_str())).collect();
    assert!(kinds.contains(&("verification", "parado.com.br")), "{kinds:?}");
    assert!(
        kinds.contains(&("record", "TXT parado.com.br v=spf1 -all")),
        "{kinds:?}"
    );
    assert!(
        feed.iter().any(|f| f.detail.contains("DNS record content invalid")),
        "{feed:?}"
    );

    // A 503 from Cloudflare is retried, and the push converges once it passes.
    sb.clear_faults();
    sb.set_fault(
        "cloudflare",
        "dns_records.list",
        FaultSpec::times(FaultKind::Http5xx { status: 503 }, 2),
    )
    .unwrap();
    let (_, job) = zones::add_record(&t.db, &operator(), "parado.com.br", &rec("A", "@", "203.0.113.9"))
        .await
        .unwrap();
    job_done(&t.db, job.id).await;
    assert!(sb.cloudflare_zones()[0]
        .records
        .iter()
        .any(|r| r.content == "203.0.113.9"));
    assert!(sb.cloudflare_calls()["dns_records.list"] >= 3);

    let _ = stop.send(true);
    worker.await.unwrap();
}

#[tokio::test]
async fn the_token_is_sealed_and_the_provider_is_platform_only() {
    let t = fresh().await;
    let sb = cf_sandbox().await;
    configure(&t.db, &sb, 60).await;
    let stored: Vec<u8> =
        t.db.scalar("SELECT api_token_enc FROM dns_providers", args![])
            .await
            .unwrap();
    assert!(!stored.windows(CF_TOKEN.len()).any(|w| w == CF_TOKEN.as_bytes()));
    let audit: String =
        t.db.scalar(
            "SELECT CAST(after AS TEXT) FROM audit_log WHERE action = 'dns.provider.configure'",
            args![],
        )
        .await
        .unwrap();
    assert!(!audit.contains(CF_TOKEN), "{audit}");
    let view = provider::show(&t.db, &operator()).await.unwrap().unwrap();
    assert!(view.token_set);
    let tenant_admin = Actor::tenant_user("ana", Role::TenantAdmin, uuid::Uuid::now_v7());
    let refused = provider::configure(&t.db, Some(&keys()), &tenant_admin, ProviderInput::default()).await;
    assert!(matches!(refused, Err(ServiceError::PermissionDenied(_))), "{refused:?}");
    let bad = provider::configure(
        &t.db,
        Some(&keys()),
        &operator(),
        ProviderInput {
            api_url: "http://api.cloudflare.com/client/v4".into(),
            account_id: CF_ACCOUNT.into(),
            ..ProviderInput::default()
        },
    )
    .await;
    assert!(matches!(bad, Err(ServiceError::Validation(_))), "{bad:?}");
}
