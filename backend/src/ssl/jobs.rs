//! The SSL jobs (docs/adr/0032): `ssl.check_all` (scheduled; records a certificate row for
//! every hosted domain that has none, then fans out one `ssl.check` per certificate, so a
//! slow site holds one worker slot for its own timeout), `ssl.check` (one TLS check, recorded;
//! asks for AutoSSL when the certificate is missing or inside the renewal window) and
//! `ssl.autossl` (WHM's `start_autossl_check_for_one_user` for the service's cPanel user,
//! then a re-check once AutoSSL has had time to work).
//!
//! All three are platform work: they read servers and the platform settings. A failed TLS
//! connection is an answer (recorded), not a job failure.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{probe, record, settings, Certificate};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::hosting::HostingEnv;
use crate::jobs::{enqueue, Handlers, Job, JobError, NewJob};

pub const CHECK_ALL: &str = "ssl.check_all";
pub const CHECK: &str = "ssl.check";
pub const AUTOSSL: &str = "ssl.autossl";
pub const QUEUE: &str = "ssl";
/// The job kinds [`register_handlers`] adds.
pub const KINDS: [&str; 3] = [CHECK_ALL, CHECK, AUTOSSL];
/// AutoSSL is not asked for again for the same certificate sooner than this by the checker
/// (a DCV that fails keeps failing until someone fixes DNS; asking every hour spams WHM).
pub const AUTOSSL_COOLDOWN: TimeDelta = TimeDelta::hours(6);

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

fn certificate_id(job: &Job) -> Result<Uuid, JobError> {
    job.payload
        .get("certificate_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.certificate_id must be a certificate's id".into()))
}

fn platform(job: &Job) -> Result<(), JobError> {
    match job.tenant_id {
        Some(_) => Err(JobError::Permanent(format!("{} is platform work", job.kind))),
        None => Ok(()),
    }
}

/// Registers the SSL kinds (`ssl.autossl` opens the servers' tokens with `env.keys`).
pub fn register_handlers(h: &mut Handlers, env: HostingEnv) {
    h.register(CHECK_ALL, check_all);
    let probe = env.ssl.clone();
    h.register(CHECK, move |job, db| check(job, db, probe.clone()));
    h.register(AUTOSSL, move |job, db| autossl(job, db, env.clone()));
}

fn check_job(cert: Uuid, domain: &str, by: &str, run_at: Option<DateTime<Utc>>) -> NewJob {
    NewJob {
        queue: QUEUE.into(),
        kind: CHECK.into(),
        payload: json!({"certificate_id": cert, "domain": domain}),
        run_at,
        // The next scheduled round is the retry.
        max_attempts: Some(1),
        unique_key: Some(format!("{CHECK}:{cert}")),
        enqueued_by: by.to_owned(),
        ..NewJob::default()
    }
}

/// `ssl.check_all`: the inventory follows the hosted domains, then every one is checked.
pub async fn check_all(job: Job, db: Db) -> Result<(), JobError> {
    platform(&job)?;
    let actor = job.actor();
    let missing: Vec<(Uuid, Uuid, String)> = db
        .fetch_all(
            "SELECT sv.id, sv.tenant_id, lower(sv.domain) FROM services sv WHERE sv.status IN ('active', 'suspended') \
             AND sv.domain IS NOT NULL AND sv.domain <> '' AND NOT EXISTS (SELECT 1 FROM certificates x \
             WHERE x.service_id = sv.id AND lower(x.common_name) = lower(sv.domain)) ORDER BY sv.id",
            args![],
        )
        .await
        .map_err(transient)?;
    if !missing.is_empty() {
        let mut tx = db.begin().await.map_err(transient)?;
        for (service, tenant, domain) in &missing {
            discover(&mut tx, &actor, *service, *tenant, domain)
                .await
                .map_err(transient)?;
        }
        tx.commit().await.map_err(transient)?;
    }
    // A certificate of a domain without a hosting service (a site elsewhere, a domain kept
    // for e-mail) is checked too: where it is served comes from the overrides or its DNS.
    let certs: Vec<(Uuid, String)> = db
        .fetch_all(
            "SELECT x.id, x.common_name FROM certificates x LEFT JOIN services sv ON sv.id = x.service_id \
             WHERE (x.service_id IS NULL OR sv.status IN ('active', 'suspended')) \
             AND (x.status IS NULL OR x.status <> 'revoked') ORDER BY x.not_after, x.id",
            args![],
        )
        .await
        .map_err(transient)?;
    let mut tx = db.begin().await.map_err(transient)?;
    for (id, domain) in &certs {
        enqueue(&mut tx, check_job(*id, domain, &job.enqueued_by, None))
            .await
            .map_err(transient)?;
    }
    tx.commit().await.map_err(transient)?;
    tracing::info!(discovered = missing.len(), checks = certs.len(), "ssl check round");
    Ok(())
}

async fn discover(tx: &mut Tx, actor: &Actor, service: Uuid, tenant: Uuid, domain: &str) -> Result<(), ServiceError> {
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO certificates (id, tenant_id, service_id, common_name, san, provider, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'autossl', 'pending', $6, $6)",
        args![id, tenant, service, domain, json!([domain]), at],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "certificate.discover",
            entity: "certificate",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({"domain": domain, "service_id": service})),
        },
    )
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Target {
    tenant_id: Uuid,
    common_name: String,
    auto_renew: bool,
    renew_requested_at: Option<DateTime<Utc>>,
    username: Option<String>,
    server_id: Option<Uuid>,
    server_name: Option<String>,
    server_ip: Option<String>,
    whm_url: Option<String>,
}

async fn target(db: &Db, id: Uuid) -> Result<Option<Target>, ServiceError> {
    db.fetch_optional(
        "SELECT x.tenant_id, x.common_name, x.auto_renew, x.renew_requested_at, sv.username, sv.server_id, \
         s.name AS server_name, s.ip AS server_ip, s.whm_url FROM certificates x \
         LEFT JOIN services sv ON sv.id = x.service_id LEFT JOIN servers s ON s.id = sv.server_id WHERE x.id = $1",
        args![id],
    )
    .await
}

/// `ssl.check`: one domain's TLS check, recorded; AutoSSL asked for when it can help.
pub async fn check(job: Job, db: Db, cfg: probe::ProbeConfig) -> Result<(), JobError> {
    platform(&job)?;
    let id = certificate_id(&job)?;
    let Some(t) = target(&db, id).await.map_err(transient)? else {
        return Ok(());
    };
    let warn = settings::renew_days(&db, Some(t.tenant_id)).await.map_err(transient)?;
    let addr = cfg.target(&t.common_name, t.server_name.as_deref(), t.server_ip.as_deref());
    let served = probe::fetch(&addr, &t.common_name, cfg.timeout).await;
    let at = now();
    let reading = probe::classify(&served, &t.common_name, at, warn, &cfg.roots());
    let actor = job.actor();
    let Some(rec) = record::record(&db, &actor, id, &reading, at).await.map_err(transient)? else {
        return Ok(());
    };
    tracing::info!(domain = %t.common_name, %addr, state = reading.state.as_str(), previous = %rec.previous, "ssl check");
    let cooled = t.renew_requested_at.is_none_or(|r| at - r >= AUTOSSL_COOLDOWN);
    let can = t.username.is_some() && t.server_id.is_some() && t.whm_url.is_some();
    if reading.state.wants_autossl() && t.auto_renew && can && cooled {
        let mut tx = db.begin().await.map_err(transient)?;
        enqueue(&mut tx, autossl_job(id, &t.common_name, &job.enqueued_by, false))
            .await
            .map_err(transient)?;
        tx.commit().await.map_err(transient)?;
    }
    Ok(())
}

fn autossl_job(cert: Uuid, domain: &str, by: &str, manual: bool) -> NewJob {
    NewJob {
        queue: QUEUE.into(),
        kind: AUTOSSL.into(),
        payload: json!({"certificate_id": cert, "domain": domain, "manual": manual}),
        max_attempts: Some(3),
        unique_key: Some(format!("{AUTOSSL}:{cert}")),
        enqueued_by: by.to_owned(),
        ..NewJob::default()
    }
}

/// `ssl.autossl`: asks WHM to run AutoSSL for the certificate's cPanel user, records the
/// answer (a refusal feeds the failures screen) and schedules the re-check.
pub async fn autossl(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    platform(&job)?;
    let id = certificate_id(&job)?;
    let Some(t) = target(&db, id).await.map_err(transient)? else {
        return Ok(());
    };
    let (Some(user), Some(server)) = (t.username.clone(), t.server_id) else {
        return Err(JobError::Permanent(format!(
            "{} has no cPanel account to run AutoSSL for",
            t.common_name
        )));
    };
    let keys = env
        .keys
        .as_ref()
        .ok_or_else(|| JobError::Permanent("no registered master key: cannot open the server's API token".into()))?;
    let client = crate::hosting::connect::whm_client(&db, keys, server)
        .await
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let answer = client.start_autossl_check_for_one_user(&user).await;
    let at = now();
    let actor = job.actor();
    let recheck = settings::recheck_after(&db).await.map_err(transient)?;
    let mut tx = db.begin().await.map_err(transient)?;
    let (after, retry) = match &answer {
        Ok(pid) => {
            tx.execute(
                "UPDATE certificates SET renew_requested_at = $2, renew_error = NULL, updated_at = $2 WHERE id = $1",
                args![id, at],
            )
            .await
            .map_err(transient)?;
            enqueue(
                &mut tx,
                check_job(id, &t.common_name, &job.enqueued_by, Some(at + recheck)),
            )
            .await
            .map_err(transient)?;
            (
                json!({"domain": t.common_name, "user": user, "ok": true, "pid": pid}),
                None,
            )
        }
        Err(e) => {
            let text: String = e.to_string().chars().take(500).collect();
            tx.execute(
                "UPDATE certificates SET renew_requested_at = $2, renew_error = $3, updated_at = $2 WHERE id = $1",
                args![id, at, text.as_str()],
            )
            .await
            .map_err(transient)?;
            let retry = e.is_transient().then(|| JobError::Transient(text.clone()));
            (
                json!({"domain": t.common_name, "user": user, "ok": false, "error": text}),
                retry,
            )
        }
    };
    audit::record(
        &mut tx,
        &actor,
        Change {
            action: "certificate.autossl",
            entity: "certificate",
            entity_id: Some(id.to_string()),
            tenant_id: Some(t.tenant_id),
            before: None,
            after: Some(after),
        },
    )
    .await
    .map_err(transient)?;
    tx.commit().await.map_err(transient)?;
    match retry {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn enqueue_for(
    db: &Db,
    actor: &Actor,
    cert: &Certificate,
    new: NewJob,
    action: &str,
) -> Result<Job, ServiceError> {
    let mut tx = db.begin().await?;
    let job = enqueue(&mut tx, new).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action,
            entity: "certificate",
            entity_id: Some(cert.id.to_string()),
            tenant_id: Some(cert.tenant_id),
            before: None,
            after: Some(json!({"domain": cert.domain, "job_id": job.id})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(job)
}

/// Asks for a check of certificate `key` now (`services:manage` on its service): enqueues
/// `ssl.check`, audited; one already waiting is returned instead.
pub async fn request_check(db: &Db, actor: &Actor, key: &str) -> Result<(Certificate, Job), ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let cert = super::get(db, actor, key).await?;
    let job = enqueue_for(
        db,
        actor,
        &cert,
        check_job(cert.id, &cert.domain, &actor.name, None),
        "certificate.check.request",
    )
    .await?;
    Ok((cert, job))
}

/// Asks WHM for AutoSSL for certificate `key` (`services:manage`): enqueues `ssl.autossl`
/// (whatever the cool-down), audited. Refused when the domain has no cPanel account.
pub async fn request_renew(db: &Db, actor: &Actor, key: &str) -> Result<(Certificate, Job), ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let cert = super::get(db, actor, key).await?;
    if cert.username.is_none() || cert.server_id.is_none() {
        return Err(ServiceError::invalid(
            "certificate",
            format!(
                "{} has no cPanel account on a WHM server: AutoSSL cannot run for it",
                cert.domain
            ),
        ));
    }
    let job = enqueue_for(
        db,
        actor,
        &cert,
        autossl_job(cert.id, &cert.domain, &actor.name, true),
        "certificate.autossl.request",
    )
    .await?;
    Ok((cert, job))
}
