//! The DNS jobs — the only code that talks to Cloudflare (docs/adr/0031). Each looks
//! before it acts, so a retry after a lost answer converges instead of duplicating:
//! * `dns.zone.sync` — the zone at Cloudflare (found by name, else created) and its records
//!   pushed: deletions, creations (an identical remote record is adopted), updates (PUT).
//! * `dns.zone.activate` — after NS verification: activation check, the zone's status read
//!   back, then the records pushed.
//! * `dns.verify` — one nameserver verification cycle (scheduled; or one domain).
//! * `dns.service.setup` — a new hosting service's domain, zone and records (from its plan),
//!   then `dns.zone.sync`.

use serde_json::{json, Value};
use uuid::Uuid;

use super::provider;
use super::records::{validate, RecordInput};
use super::verify;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::jobs::{enqueue, Job, JobError, NewJob};
use crate::providers::cloudflare::{CfError, CloudflareClient, DnsRecord, NewRecord};
use crate::secrets::Keys;

pub const ZONE_SYNC: &str = "dns.zone.sync";
pub const ZONE_ACTIVATE: &str = "dns.zone.activate";
pub const VERIFY: &str = "dns.verify";
pub const SERVICE_SETUP: &str = "dns.service.setup";
/// The queue of the jobs that talk to Cloudflare and resolvers.
pub const QUEUE: &str = "dns";
/// Left on every record painel creates, so an operator at Cloudflare sees whose it is.
pub const COMMENT: &str = "managed-by:painel";

fn db_err(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

fn zone_id(job: &Job) -> Result<Uuid, JobError> {
    job.payload
        .get("zone_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.zone_id must be a zone's id".into()))
}

/// Enqueues `dns.zone.sync` for a zone inside the caller's transaction (one waiting per zone).
pub async fn enqueue_sync(tx: &mut Tx, zone: Uuid, name: &str, tenant: Uuid, by: &str) -> Result<Job, ServiceError> {
    enqueue(
        tx,
        NewJob {
            queue: QUEUE.into(),
            kind: ZONE_SYNC.into(),
            payload: json!({ "zone_id": zone, "zone": name }),
            run_at: None,
            max_attempts: Some(8),
            unique_key: Some(format!("{ZONE_SYNC}:{zone}")),
            tenant_id: Some(tenant),
            enqueued_by: by.to_owned(),
        },
    )
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ZoneRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    external_id: Option<String>,
    status: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct LocalRecord {
    id: Uuid,
    record_type: String,
    name: String,
    content: String,
    ttl: i64,
    priority: Option<i64>,
    proxied: bool,
    external_id: Option<String>,
    sync_status: String,
}

async fn load_zone(db: &Db, id: Uuid) -> Result<ZoneRow, JobError> {
    db.fetch_optional(
        "SELECT id, tenant_id, name, external_id, status FROM dns_zones WHERE id = $1",
        args![id],
    )
    .await
    .map_err(db_err)?
    .ok_or_else(|| JobError::Permanent(format!("zone {id} not found")))
}

async fn client(db: &Db, keys: Option<&Keys>) -> Result<CloudflareClient, JobError> {
    provider::client(&db.scoped(None), keys)
        .await
        .map_err(|e| JobError::Permanent(e.to_string()))
}

/// A failure that will not pass by retrying is written on the zone (the failure feed) and
/// fails the job; a transient one is retried.
async fn zone_failed(db: &Db, job: &Job, z: &ZoneRow, e: CfError) -> JobError {
    let je: JobError = e.clone().into();
    if matches!(je, JobError::Permanent(_)) || job.attempts >= job.max_attempts {
        let r = async {
            let mut tx = db.begin().await?;
            tx.execute(
                "UPDATE dns_zones SET status = 'error', last_error = $2, updated_at = $3 WHERE id = $1",
                args![z.id, e.to_string(), now()],
            )
            .await?;
            audit::record(
                &mut tx,
                &job.actor(),
                Change {
                    action: "dns.zone.error",
                    entity: "dns_zone",
                    entity_id: Some(z.id.to_string()),
                    tenant_id: Some(z.tenant_id),
                    before: Some(json!({ "status": z.status })),
                    after: Some(json!({ "status": "error", "error": e.to_string(), "job_id": job.id })),
                },
            )
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(w) = r {
            return JobError::Transient(format!("{je:?}; and recording it failed: {w}"));
        }
    }
    je
}

fn wire(r: &LocalRecord) -> NewRecord {
    NewRecord {
        record_type: r.record_type.clone(),
        name: r.name.clone(),
        content: r.content.clone(),
        ttl: u32::try_from(r.ttl).unwrap_or(1),
        proxied: matches!(r.record_type.as_str(), "A" | "AAAA" | "CNAME").then_some(r.proxied),
        priority: r.priority.and_then(|p| u16::try_from(p).ok()),
        comment: Some(COMMENT.into()),
    }
}

fn same(remote: &DnsRecord, r: &LocalRecord) -> bool {
    remote.record_type.eq_ignore_ascii_case(&r.record_type)
        && verify::norm(&remote.name) == verify::norm(&r.name)
        && remote
            .content
            .trim_end_matches('.')
            .eq_ignore_ascii_case(r.content.trim_end_matches('.'))
}

/// Ensures the zone exists at Cloudflare and records its id, nameservers and status.
async fn ensure_zone(db: &Db, job: &Job, c: &CloudflareClient, z: &ZoneRow) -> Result<String, JobError> {
    let remote = match &z.external_id {
        Some(id) => match c.zone(id).await {
            Ok(r) => Some(r),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(zone_failed(db, job, z, e).await),
        },
        None => None,
    };
    let remote = match remote {
        Some(r) => r,
        None => match c.find_zone(&z.name).await {
            Ok(Some(r)) => r,
            Ok(None) => match c.create_zone(&z.name).await {
                Ok(r) => r,
                Err(e) => return Err(zone_failed(db, job, z, e).await),
            },
            Err(e) => return Err(zone_failed(db, job, z, e).await),
        },
    };
    let status = match remote.status.as_str() {
        "active" => "active",
        "moved" => "moved",
        _ => "pending",
    };
    let mut tx = db.begin().await.map_err(db_err)?;
    tx.execute(
        "UPDATE dns_zones SET external_id = $2, name_servers = $3, status = $4, last_checked_at = $5, \
         activated_at = CASE WHEN $4 = 'active' AND activated_at IS NULL THEN $5 ELSE activated_at END, \
         last_error = NULL, updated_at = $5 WHERE id = $1",
        args![z.id, remote.id.as_str(), json!(remote.name_servers), status, now()],
    )
    .await
    .map_err(db_err)?;
    if z.external_id.as_deref() != Some(remote.id.as_str()) || z.status != status {
        audit::record(
            &mut tx,
            &job.actor(),
            Change {
                action: "dns.zone.provisioned",
                entity: "dns_zone",
                entity_id: Some(z.id.to_string()),
                tenant_id: Some(z.tenant_id),
                before: Some(json!({ "status": z.status, "external_id": z.external_id })),
                after: Some(json!({ "status": status, "external_id": remote.id, "name_servers": remote.name_servers, "job_id": job.id })),
            },
        )
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(remote.id)
}

async fn mark_record(
    db: &Db,
    id: Uuid,
    status: &str,
    external: Option<&str>,
    error: Option<String>,
) -> Result<(), JobError> {
    db.execute(
        "UPDATE dns_records SET sync_status = $2, external_id = COALESCE($3, external_id), last_error = $4, updated_at = $5 WHERE id = $1",
        args![id, status, external, error, now()],
    )
    .await
    .map_err(db_err)
    .map(|_| ())
}

/// Pushes the zone's records that are not in sync; returns (pushed, failed). A change
/// committed while this job runs finds the job's unique key taken and no new job: so the
/// pass repeats while it finds changes it has not pushed yet.
async fn push_records(db: &Db, c: &CloudflareClient, zone_ext: &str, z: &ZoneRow) -> Result<(usize, usize), JobError> {
    let (mut pushed, mut failed) = (0, 0);
    let mut seen: Vec<(Uuid, String)> = Vec::new();
    for _ in 0..5 {
        let (p, f, done) = push_pass(db, c, zone_ext, z, &mut seen).await?;
        pushed += p;
        failed += f;
        if done {
            break;
        }
    }
    Ok((pushed, failed))
}

async fn push_pass(
    db: &Db,
    c: &CloudflareClient,
    zone_ext: &str,
    z: &ZoneRow,
    seen: &mut Vec<(Uuid, String)>,
) -> Result<(usize, usize, bool), JobError> {
    let local: Vec<LocalRecord> = db
        .fetch_all(
            "SELECT id, record_type, name, content, ttl, priority, proxied, external_id, sync_status \
             FROM dns_records WHERE zone_id = $1 AND sync_status <> 'synced' ORDER BY created_at, id",
            args![z.id],
        )
        .await
        .map_err(db_err)?;
    // A record in error was tried in this job already (or before): left for the operator.
    let local: Vec<LocalRecord> = local
        .into_iter()
        .filter(|r| {
            r.sync_status != "error" && !seen.contains(&(r.id, format!("{}|{}|{}", r.sync_status, r.content, r.ttl)))
        })
        .collect();
    if local.is_empty() {
        return Ok((0, 0, true));
    }
    seen.extend(
        local
            .iter()
            .map(|r| (r.id, format!("{}|{}|{}", r.sync_status, r.content, r.ttl))),
    );
    let remote = c.list_records(zone_ext, None, None).await.map_err(JobError::from)?;
    let (mut pushed, mut failed) = (0, 0);
    for r in &local {
        let outcome: Result<Option<String>, CfError> = match (r.sync_status.as_str(), &r.external_id) {
            ("deleting", Some(ext)) => c.delete_record(zone_ext, ext).await.map(|_| None),
            ("deleting", None) => Ok(None),
            (_, Some(ext)) if remote.iter().any(|x| &x.id == ext) => {
                c.update_record(zone_ext, ext, &wire(r)).await.map(|x| Some(x.id))
            }
            _ => match remote.iter().find(|x| same(x, r)) {
                Some(x) => Ok(Some(x.id.clone())),
                None => match c.create_record(zone_ext, &wire(r)).await {
                    Ok(x) => Ok(Some(x.id)),
                    Err(e) if e.already_exists() => c
                        .list_records(zone_ext, Some(&r.name), Some(&r.record_type))
                        .await
                        .map(|l| l.into_iter().find(|x| same(x, r)).map(|x| x.id)),
                    Err(e) => Err(e),
                },
            },
        };
        match outcome {
            Ok(_) if r.sync_status == "deleting" => {
                db.execute("DELETE FROM dns_records WHERE id = $1", args![r.id])
                    .await
                    .map_err(db_err)?;
                pushed += 1;
            }
            Ok(ext) => {
                mark_record(db, r.id, "synced", ext.as_deref(), None).await?;
                pushed += 1;
            }
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                mark_record(db, r.id, "error", None, Some(e.to_string())).await?;
                failed += 1;
            }
        }
    }
    Ok((pushed, failed, false))
}

async fn record_sync(
    db: &Db,
    job: &Job,
    z: &ZoneRow,
    action: &str,
    pushed: usize,
    failed: usize,
) -> Result<(), JobError> {
    let mut tx = db.begin().await.map_err(db_err)?;
    audit::record(
        &mut tx,
        &job.actor(),
        Change {
            action,
            entity: "dns_zone",
            entity_id: Some(z.id.to_string()),
            tenant_id: Some(z.tenant_id),
            before: None,
            after: Some(json!({ "records_pushed": pushed, "records_failed": failed, "job_id": job.id })),
        },
    )
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// `dns.zone.sync`.
pub async fn zone_sync(job: Job, db: Db, keys: Option<Keys>) -> Result<(), JobError> {
    let z = load_zone(&db, zone_id(&job)?).await?;
    if z.status == "deleted" {
        return Ok(());
    }
    let c = client(&db, keys.as_ref()).await?;
    let ext = ensure_zone(&db, &job, &c, &z).await?;
    let (pushed, failed) = push_records(&db, &c, &ext, &z).await?;
    if pushed + failed > 0 {
        record_sync(&db, &job, &z, "dns.zone.sync", pushed, failed).await?;
    }
    Ok(())
}

/// `dns.zone.activate`: the NS now point at us; ask Cloudflare to check and read the status.
pub async fn zone_activate(job: Job, db: Db, keys: Option<Keys>) -> Result<(), JobError> {
    let z = load_zone(&db, zone_id(&job)?).await?;
    let c = client(&db, keys.as_ref()).await?;
    let ext = ensure_zone(&db, &job, &c, &z).await?;
    let z = load_zone(&db, z.id).await?;
    if z.status != "active" {
        match c.activation_check(&ext).await {
            // 1224: not pending any more (activated meanwhile) — read the status below.
            Ok(()) => {}
            Err(e) if e.has_code(1224) => {}
            Err(e) => return Err(zone_failed(&db, &job, &z, e).await),
        }
        ensure_zone(&db, &job, &c, &z).await?;
    }
    let (pushed, failed) = push_records(&db, &c, &ext, &z).await?;
    record_sync(&db, &job, &z, "dns.zone.activate", pushed, failed).await
}

/// `dns.verify`: one cycle (payload `domain` narrows it to one).
pub async fn verify_cycle(job: Job, db: Db) -> Result<(), JobError> {
    let only = job.payload.get("domain").and_then(Value::as_str).map(str::to_owned);
    let report = verify::cycle(&db, &job.actor(), only.as_deref())
        .await
        .map_err(db_err)?;
    tracing::info!(
        checked = report.checked,
        verified = report.verified.len(),
        stalled = report.stalled.len(),
        elapsed_ms = report.elapsed_ms as u64,
        "ns verification cycle"
    );
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct ServiceRow {
    id: Uuid,
    tenant_id: Uuid,
    customer_id: Uuid,
    domain: Option<String>,
    ip: Option<String>,
    ipv6: Option<String>,
    resources: Value,
}

/// The record kinds a plan asks for (`resources.dns`, e.g. `["A","AAAA","MX","CNAME"]`);
/// without it: A, MX and the www CNAME.
pub fn plan_kinds(resources: &Value) -> Vec<String> {
    match resources.get("dns").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_ascii_uppercase))
            .collect(),
        None => vec!["A".into(), "MX".into(), "CNAME".into()],
    }
}

/// The records a hosting service's zone starts with.
pub fn template(domain: &str, kinds: &[String], ip: Option<&str>, ipv6: Option<&str>) -> Vec<RecordInput> {
    let rec = |t: &str, name: &str, content: &str, priority: Option<i64>| RecordInput {
        record_type: t.into(),
        name: name.into(),
        content: content.into(),
        ttl: None,
        priority,
        proxied: false,
    };
    let mut out = Vec::new();
    for k in kinds {
        match (k.as_str(), ip, ipv6) {
            ("A", Some(ip), _) => out.push(rec("A", "@", ip, None)),
            ("AAAA", _, Some(v6)) => out.push(rec("AAAA", "@", v6, None)),
            ("MX", Some(ip), _) => {
                out.push(rec("MX", "@", &format!("mail.{domain}"), Some(10)));
                out.push(rec("A", "mail", ip, None));
            }
            ("CNAME", _, _) => out.push(rec("CNAME", "www", domain, None)),
            _ => {}
        }
    }
    out
}

/// Enqueues `dns.service.setup` for a service that just went active (one line in
/// `hosting::provision`); idempotent by its unique key and by the job looking first.
pub async fn on_service_active(db: &Db, job: &Job, service: Uuid, tenant: Uuid) -> Result<(), JobError> {
    let mut tx = db.begin().await.map_err(db_err)?;
    enqueue(
        &mut tx,
        NewJob {
            queue: QUEUE.into(),
            kind: SERVICE_SETUP.into(),
            payload: json!({ "service_id": service }),
            run_at: None,
            max_attempts: Some(8),
            unique_key: Some(format!("{SERVICE_SETUP}:{service}")),
            tenant_id: Some(tenant),
            enqueued_by: job.enqueued_by.clone(),
        },
    )
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// The zone at Cloudflare for a service's new domain, found or created before any row is
/// written: a refusal fails the job with Cloudflare's words and leaves our tables as they were
/// (a retry, or a run after a lost answer, adopts the zone by name instead of creating another).
async fn remote_zone_for_setup(
    db: &Db,
    keys: Option<&Keys>,
    domain: &str,
) -> Result<crate::providers::cloudflare::Zone, JobError> {
    let c = client(db, keys).await?;
    let found = match c.find_zone(domain).await {
        Ok(Some(z)) => return Ok(z),
        Ok(None) => c.create_zone(domain).await,
        Err(e) => Err(e),
    };
    found.map_err(|e| {
        let text = format!("Cloudflare refused the zone {domain}: {e}");
        match JobError::from(e) {
            JobError::Transient(_) => JobError::Transient(text),
            _ => JobError::Permanent(text),
        }
    })
}

/// `dns.service.setup`.
pub async fn service_setup(job: Job, db: Db, keys: Option<Keys>) -> Result<(), JobError> {
    let id = job
        .payload
        .get("service_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.service_id must be a service's id".into()))?;
    let platform = db.scoped(None);
    let s: ServiceRow = platform
        .fetch_optional(
            "SELECT s.id, s.tenant_id, s.customer_id, s.domain, sv.ip, sv.ipv6, p.resources \
             FROM services s JOIN plans p ON p.id = s.plan_id LEFT JOIN servers sv ON sv.id = s.server_id WHERE s.id = $1",
            args![id],
        )
        .await
        .map_err(db_err)?
        .ok_or_else(|| JobError::Permanent(format!("service {id} not found")))?;
    let Some(raw) = s.domain.as_deref() else { return Ok(()) };
    let domain = crate::validate::domain(raw).map_err(JobError::Permanent)?;
    let known: Option<(Uuid,)> = platform
        .fetch_optional(
            "SELECT id FROM dns_zones WHERE name = $1 AND status <> 'deleted' AND external_id IS NOT NULL",
            args![domain.as_str()],
        )
        .await
        .map_err(db_err)?;
    let remote = match known {
        Some(_) => None,
        None => Some(remote_zone_for_setup(&db, keys.as_ref(), &domain).await?),
    };
    let mut tx = db.begin().await.map_err(db_err)?;
    let existing: Option<(Uuid, Uuid)> = tx
        .fetch_optional(
            "SELECT id, tenant_id FROM domains WHERE name = $1 AND status NOT IN ('cancelled', 'transferred')",
            args![domain.as_str()],
        )
        .await
        .map_err(db_err)?;
    let domain_id = match existing {
        Some((_, t)) if t != s.tenant_id => {
            return Err(JobError::Permanent(format!("{domain} belongs to another tenant")));
        }
        Some((d, _)) => d,
        None => {
            let d = Uuid::now_v7();
            tx.execute(
                "INSERT INTO domains (id, tenant_id, customer_id, service_id, name, registrar, sale_mode, status) \
                 VALUES ($1, $2, $3, $4, $5, 'registro_br', 'external', 'pending')",
                args![d, s.tenant_id, s.customer_id, s.id, domain.as_str()],
            )
            .await
            .map_err(db_err)?;
            d
        }
    };
    let zone: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM dns_zones WHERE name = $1 AND status <> 'deleted'",
            args![domain.as_str()],
        )
        .await
        .map_err(db_err)?;
    let zone_id = match zone {
        Some((z,)) => {
            if let Some(r) = &remote {
                tx.execute(
                    "UPDATE dns_zones SET external_id = $2, name_servers = $3, last_error = NULL, updated_at = $4 \
                     WHERE id = $1 AND external_id IS NULL",
                    args![z, r.id.as_str(), json!(r.name_servers), now()],
                )
                .await
                .map_err(db_err)?;
            }
            z
        }
        None => {
            let z = Uuid::now_v7();
            // `pending` even when Cloudflare says active: the sync reads the status back and
            // stamps `activated_at` with its audit row.
            let (ext, ns) = match &remote {
                Some(r) => (Some(r.id.as_str()), json!(r.name_servers)),
                None => (None, json!([])),
            };
            tx.execute(
                "INSERT INTO dns_zones (id, tenant_id, domain_id, customer_id, service_id, name, provider, status, external_id, name_servers) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'cloudflare', 'pending', $7, $8)",
                args![z, s.tenant_id, domain_id, s.customer_id, s.id, domain.as_str(), ext, ns],
            )
            .await
            .map_err(db_err)?;
            z
        }
    };
    let have: Vec<(String, String)> = tx
        .fetch_all(
            "SELECT record_type, name FROM dns_records WHERE zone_id = $1",
            args![zone_id],
        )
        .await
        .map_err(db_err)?;
    let mut added = Vec::new();
    for input in template(&domain, &plan_kinds(&s.resources), s.ip.as_deref(), s.ipv6.as_deref()) {
        let v = validate(&domain, &input).map_err(|e| JobError::Permanent(e.to_string()))?;
        if have.iter().any(|(t, n)| *t == v.record_type && *n == v.name) {
            continue;
        }
        tx.execute(
            "INSERT INTO dns_records (id, tenant_id, zone_id, record_type, name, content, ttl, priority, proxied) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                Uuid::now_v7(),
                s.tenant_id,
                zone_id,
                v.record_type.as_str(),
                v.name.as_str(),
                v.content.as_str(),
                v.ttl,
                v.priority,
                v.proxied
            ],
        )
        .await
        .map_err(db_err)?;
        added.push(json!({ "type": v.record_type, "name": v.name, "content": v.content }));
    }
    audit::record(
        &mut tx,
        &job.actor(),
        Change {
            action: "dns.service.setup",
            entity: "dns_zone",
            entity_id: Some(zone_id.to_string()),
            tenant_id: Some(s.tenant_id),
            before: None,
            after: Some(json!({ "service_id": s.id, "domain": domain, "records_added": added, "job_id": job.id })),
        },
    )
    .await
    .map_err(db_err)?;
    enqueue_sync(&mut tx, zone_id, &domain, s.tenant_id, &job.enqueued_by)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}
