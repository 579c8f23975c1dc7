//! The hosting jobs: the only code that changes accounts on WHM (docs/adr/0021).
//!
//! Every handler looks before it acts, because a job can run again after a timeout, a crash
//! or a lost lease: `hosting.create` asks `accountsummary` first and adopts an account that
//! already holds our domain (the "succeeded but the answer was lost" case) instead of creating
//! it twice; suspend, unsuspend, change_plan and terminate compare the account's state with
//! the goal and call WHM only when they differ. A transient WHM error is retried with the
//! queue's backoff, a permanent one fails the job at once; on the final failure the service
//! goes to `error`, a support ticket carries the job's error history, and a server failing
//! [`INCIDENT_FAILURES`] services within [`INCIDENT_WINDOW_MIN`] minutes opens one incident.

use chrono::Duration;
use serde_json::{json, Value};
use uuid::Uuid;

use super::placement;
use super::plans::Limits;
use super::services::SERVICES_CHANNEL;
use super::HostingEnv;
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::jobs::{Job, JobError};
use crate::providers::whm::{Account, CreateAccount, Limit, Package, PackageSpec, WhmClient, WhmError};

pub const CREATE: &str = "hosting.create";
pub const SUSPEND: &str = "hosting.suspend";
pub const UNSUSPEND: &str = "hosting.unsuspend";
pub const CHANGE_PLAN: &str = "hosting.change_plan";
pub const TERMINATE: &str = "hosting.terminate";
pub const PUSH_PACKAGE: &str = "hosting.push_package";
pub const SYNC_PACKAGES: &str = "hosting.sync_packages";

/// Services of one server failing within [`INCIDENT_WINDOW_MIN`] minutes that open an incident.
pub const INCIDENT_FAILURES: i64 = 3;
pub const INCIDENT_WINDOW_MIN: i64 = 10;

fn db_err(e: ServiceError) -> JobError {
    match e {
        ServiceError::NotFound { .. } | ServiceError::Validation(_) | ServiceError::PermissionDenied(_) => {
            JobError::Permanent(e.to_string())
        }
        _ => JobError::Transient(e.to_string()),
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Uuid,
    customer_id: Uuid,
    server_id: Option<Uuid>,
    status: String,
    domain: Option<String>,
    username: Option<String>,
    package: Option<String>,
    email: String,
}

fn service_id(job: &Job) -> Result<Uuid, JobError> {
    job.payload
        .get("service_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.service_id must be a service id".into()))
}

async fn load(db: &Db, id: Uuid) -> Result<Row, JobError> {
    db.fetch_optional(
        "SELECT x.id, x.tenant_id, x.customer_id, x.server_id, x.status, x.domain, x.username, \
         p.external_package AS package, c.email FROM services x JOIN plans p ON p.id = x.plan_id \
         JOIN customers c ON c.id = x.customer_id WHERE x.id = $1",
        args![id],
    )
    .await
    .map_err(db_err)?
    .ok_or_else(|| JobError::Permanent(format!("service {id} not found")))
}

/// The server's client. Servers are platform rows (or the tenant's): read platform-wide, as
/// a tenant's job could not see a platform server under row-level security.
async fn connect(env: &HostingEnv, db: &Db, server: Uuid) -> Result<WhmClient, JobError> {
    let keys = env.keys.as_ref().ok_or_else(|| {
        JobError::Permanent("this worker holds no registered master key: it cannot open the server's API token".into())
    })?;
    super::connect::whm_client(&db.scoped(None), keys, server)
        .await
        .map_err(db_err)
}

async fn client(env: &HostingEnv, db: &Db, s: &Row) -> Result<(WhmClient, String), JobError> {
    let server = s
        .server_id
        .ok_or_else(|| JobError::Permanent("service has no server".into()))?;
    let user = s
        .username
        .clone()
        .ok_or_else(|| JobError::Permanent("service has no username".into()))?;
    Ok((connect(env, db, server).await?, user))
}

/// Moves the service to `status` (when it is in one of `from`), with `extra` SQL assignments,
/// audited as the job, published after commit. Returns false when it was not in `from`.
#[allow(clippy::too_many_arguments)] // one call shape for five operations reads better than a struct
async fn transition(
    db: &Db,
    job: &Job,
    s: &Row,
    from: &[&str],
    status: &str,
    extra: &str,
    extra_args: Vec<crate::db::Arg>,
    action: &'static str,
    detail: Value,
) -> Result<bool, JobError> {
    let mut tx = db.begin().await.map_err(db_err)?;
    let current: Option<(String,)> = tx
        .fetch_optional("SELECT status FROM services WHERE id = $1", args![s.id])
        .await
        .map_err(db_err)?;
    let Some((current,)) = current else {
        return Err(JobError::Permanent(format!("service {} not found", s.id)));
    };
    if !from.contains(&current.as_str()) {
        return Ok(false);
    }
    let mut args: Vec<crate::db::Arg> = args![s.id, status, now()];
    args.extend(extra_args);
    tx.execute(
        &format!("UPDATE services SET status = $2, updated_at = $3{extra} WHERE id = $1"),
        args,
    )
    .await
    .map_err(db_err)?;
    audit::record(
        &mut tx,
        &job.actor(),
        Change {
            action,
            entity: "service",
            entity_id: Some(s.id.to_string()),
            tenant_id: Some(s.tenant_id),
            before: Some(json!({ "status": current })),
            after: Some(json!({ "status": status, "job_id": job.id, "detail": detail })),
        },
    )
    .await
    .map_err(db_err)?;
    tx.after_commit(SERVICES_CHANNEL, s.id.to_string());
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// Runs one lifecycle operation; its final failure marks the service and opens the ticket.
async fn guarded<F>(db: &Db, job: &Job, op: F) -> Result<(), JobError>
where
    F: std::future::Future<Output = Result<(), JobError>>,
{
    let result = op.await;
    if let Err(e) = &result {
        let last = matches!(e, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
        if last {
            if let Ok(id) = service_id(job) {
                // The job fails either way; a failure here is reported with it.
                if let Err(f) = final_failure(db, job, id, e).await {
                    return Err(JobError::Transient(format!(
                        "{}; recording the failure: {}",
                        e.message(),
                        f
                    )));
                }
            }
        }
    }
    result
}

fn whm(e: crate::providers::whm::WhmError) -> JobError {
    JobError::from(e)
}

pub async fn create(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    guarded(&db, &job, create_inner(&env, &job, &db)).await
}

async fn create_inner(env: &HostingEnv, job: &Job, db: &Db) -> Result<(), JobError> {
    let s = load(db, service_id(job)?).await?;
    if matches!(s.status.as_str(), "active" | "suspended" | "terminated") {
        return Ok(());
    }
    transition(
        db,
        job,
        &s,
        &["pending", "error"],
        "provisioning",
        "",
        vec![],
        "service.provisioning",
        json!({}),
    )
    .await?;
    let domain = s
        .domain
        .clone()
        .ok_or_else(|| JobError::Permanent("service has no domain".into()))?;
    let package = s
        .package
        .clone()
        .ok_or_else(|| JobError::Permanent("plan has no WHM package".into()))?;
    let (c, mut user) = client(env, db, &s).await?;
    for _ in 0..5 {
        match c.account_summary(&user).await.map_err(whm)? {
            Some(acct) if acct.domain.eq_ignore_ascii_case(&domain) => {
                return activate(db, job, &s, &user, "adopted", &acct).await;
            }
            Some(_) => {
                // The server has an account by that name that painel did not make: take the next.
                let server = s.server_id.unwrap_or_default();
                let next = placement::rename(db, server, &domain, &user).await.map_err(db_err)?;
                rename(db, job, &s, &user, &next).await?;
                user = next;
            }
            None => {
                let new = CreateAccount {
                    username: user.clone(),
                    domain: domain.clone(),
                    plan: Some(package.clone()),
                    contact_email: Some(s.email.clone()),
                    ..CreateAccount::default()
                };
                match c.create_account(&new).await {
                    Err(e) if e.is_no_such_package() => {
                        // The plan's package has not reached this server yet (a new server
                        // whose push job is still queued, or a package removed by hand): put
                        // it there and create once more instead of failing the order.
                        put_package(env, db, &s).await?;
                        c.create_account(&new).await.map_err(whm)?;
                    }
                    r => {
                        r.map_err(whm)?;
                    }
                }
                let acct = Account {
                    user: user.clone(),
                    domain: domain.clone(),
                    plan: package.clone(),
                    ..Account::default()
                };
                return activate(db, job, &s, &user, "created", &acct).await;
            }
        }
    }
    Err(JobError::Permanent(format!(
        "no free username for {domain} on the server"
    )))
}

/// Adds the service's plan package to its server (already there: fine) and records it synced.
async fn put_package(env: &HostingEnv, db: &Db, s: &Row) -> Result<(), JobError> {
    let server = s
        .server_id
        .ok_or_else(|| JobError::Permanent("service has no server".into()))?;
    let p: PlanPkg = db
        .fetch_optional(
            "SELECT p.id, p.tenant_id, p.external_package AS package, p.resources, p.region FROM plans p \
             JOIN services x ON x.plan_id = p.id WHERE x.id = $1 AND p.external_package IS NOT NULL",
            args![s.id],
        )
        .await
        .map_err(db_err)?
        .ok_or_else(|| JobError::Permanent("plan has no WHM package".into()))?;
    let c = connect(env, db, server).await?;
    match c.add_package(&package_of(&p.package, &Limits::of(&p.resources))).await {
        Ok(_) => {}
        // The push job got there first.
        Err(WhmError::Api { reason, .. }) if reason.to_lowercase().contains("already exists") => {}
        Err(e) => return Err(whm(e)),
    }
    record_state(db, &p, server, "synced", "").await.map_err(db_err)
}

async fn rename(db: &Db, job: &Job, s: &Row, from: &str, to: &str) -> Result<(), JobError> {
    let mut tx = db.begin().await.map_err(db_err)?;
    tx.execute(
        "UPDATE services SET username = $2, updated_at = $3 WHERE id = $1",
        args![s.id, to, now()],
    )
    .await
    .map_err(db_err)?;
    audit::record(
        &mut tx,
        &job.actor(),
        Change {
            action: "service.rename",
            entity: "service",
            entity_id: Some(s.id.to_string()),
            tenant_id: Some(s.tenant_id),
            before: Some(json!({ "username": from })),
            after: Some(json!({ "username": to, "why": "taken on the server by another domain", "job_id": job.id })),
        },
    )
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

async fn activate(db: &Db, job: &Job, s: &Row, user: &str, how: &str, acct: &Account) -> Result<(), JobError> {
    let at = now();
    transition(
        db,
        job,
        s,
        &["pending", "provisioning", "error"],
        "active",
        ", activated_at = $4, external_ref = $5, last_error = NULL",
        args![at, user],
        "service.activate",
        json!({ "how": how, "username": user, "package": acct.plan }),
    )
    .await?;
    // The zone and records follow through their own job (docs/adr/0031); not being able to
    // enqueue it must not fail the hosting account that now exists.
    if let Err(e) = crate::dns::jobs::on_service_active(db, job, s.id, s.tenant_id).await {
        tracing::warn!(service = %s.id, error = e.message(), "cannot enqueue dns.service.setup");
    }
    Ok(())
}

/// The account on the server, which the operation needs to exist.
async fn account(c: &WhmClient, user: &str) -> Result<Account, JobError> {
    c.account_summary(user)
        .await
        .map_err(whm)?
        .ok_or_else(|| JobError::Permanent(format!("account {user} does not exist on the server")))
}

pub async fn suspend(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    guarded(&db, &job, async {
        let s = load(&db, service_id(&job)?).await?;
        if s.status == "suspended" {
            return Ok(());
        }
        let reason = job
            .payload
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("suspended")
            .to_owned();
        let (c, user) = client(&env, &db, &s).await?;
        if !account(&c, &user).await?.suspended {
            c.suspend(&user, &reason).await.map_err(whm)?;
        }
        transition(
            &db,
            &job,
            &s,
            &["active", "error"],
            "suspended",
            ", suspended_at = $4, suspend_reason = $5, last_error = NULL",
            args![now(), reason.as_str()],
            "service.suspended",
            json!({ "reason": reason }),
        )
        .await
        .map(|_| ())
    })
    .await
}

pub async fn unsuspend(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    guarded(&db, &job, async {
        let s = load(&db, service_id(&job)?).await?;
        if s.status == "active" {
            return Ok(());
        }
        let (c, user) = client(&env, &db, &s).await?;
        if account(&c, &user).await?.suspended {
            c.unsuspend(&user).await.map_err(whm)?;
        }
        transition(
            &db,
            &job,
            &s,
            &["suspended", "error"],
            "active",
            ", suspended_at = NULL, suspend_reason = NULL, last_error = NULL",
            vec![],
            "service.unsuspended",
            json!({}),
        )
        .await
        .map(|_| ())
    })
    .await
}

pub async fn change_plan(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    guarded(&db, &job, async {
        let s = load(&db, service_id(&job)?).await?;
        let plan = job
            .payload
            .get("plan_id")
            .and_then(Value::as_str)
            .and_then(|p| Uuid::parse_str(p).ok())
            .ok_or_else(|| JobError::Permanent("payload.plan_id must be a plan id".into()))?;
        let package = job
            .payload
            .get("package")
            .and_then(Value::as_str)
            .ok_or_else(|| JobError::Permanent("payload.package must be a package name".into()))?
            .to_owned();
        let (c, user) = client(&env, &db, &s).await?;
        if account(&c, &user).await?.plan != package {
            c.change_package(&user, &package).await.map_err(whm)?;
        }
        let price: Option<(i64,)> = db
            .fetch_optional("SELECT price_minor FROM plans WHERE id = $1", args![plan])
            .await
            .map_err(db_err)?;
        let price = price
            .map(|p| p.0)
            .ok_or_else(|| JobError::Permanent("plan not found".into()))?;
        // The price quoted when the change was ordered (reseller overrides, price lists);
        // the plan's own price only for jobs queued before quotes existed.
        let price = job.payload.get("price_minor").and_then(Value::as_i64).unwrap_or(price);
        // Same status: the change is the plan; `transition` audits and publishes it.
        let back = if s.status == "error" {
            "active"
        } else {
            s.status.as_str()
        };
        transition(
            &db,
            &job,
            &s,
            &["active", "suspended", "error"],
            back,
            ", plan_id = $4, price_minor = $5, last_error = NULL",
            args![plan, price],
            "service.plan_changed",
            json!({ "plan_id": plan, "package": package }),
        )
        .await
        .map(|_| ())
    })
    .await
}

pub async fn terminate(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    guarded(&db, &job, async {
        let s = load(&db, service_id(&job)?).await?;
        if s.status == "terminated" {
            return Ok(());
        }
        let (c, user) = client(&env, &db, &s).await?;
        // Removal after a timeout: an account already gone is the goal reached.
        if c.account_summary(&user).await.map_err(whm)?.is_some() {
            c.remove(&user).await.map_err(whm)?;
        }
        transition(
            &db,
            &job,
            &s,
            &["active", "suspended", "error", "pending", "provisioning"],
            "terminated",
            ", terminated_at = $4",
            args![now()],
            "service.terminated",
            json!({ "username": user }),
        )
        .await
        .map(|_| ())
    })
    .await
}

/// The job's error history as text, this attempt's error last.
fn history(job: &Job, e: &JobError) -> String {
    let mut lines: Vec<String> = job
        .error_history
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| {
                    format!(
                        "attempt {} at {}: {} ({})",
                        h.get("attempt").and_then(Value::as_i64).unwrap_or(0),
                        h.get("at").and_then(Value::as_str).unwrap_or(""),
                        h.get("error").and_then(Value::as_str).unwrap_or(""),
                        h.get("kind").and_then(Value::as_str).unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    lines.push(format!(
        "attempt {} at {}: {} ({})",
        job.attempts,
        now().to_rfc3339(),
        e.message(),
        e.kind()
    ));
    lines.join("\n")
}

/// The final failure of a lifecycle job: the service goes to `error` with the reason, a
/// system ticket (one per job) carries the error history, and the server gets an incident
/// when it has failed several services lately.
async fn final_failure(db: &Db, job: &Job, id: Uuid, e: &JobError) -> Result<(), ServiceError> {
    let Some(s) = db
        .fetch_optional::<Row>(
            "SELECT x.id, x.tenant_id, x.customer_id, x.server_id, x.status, x.domain, x.username, \
             p.external_package AS package, c.email FROM services x JOIN plans p ON p.id = x.plan_id \
             JOIN customers c ON c.id = x.customer_id WHERE x.id = $1",
            args![id],
        )
        .await?
    else {
        return Ok(());
    };
    let subject = format!(
        "{} failed for {} (job {})",
        job.kind,
        s.domain.as_deref().unwrap_or("?"),
        job.id
    );
    let mut tx = db.begin().await?;
    let at = now();
    tx.execute(
        "UPDATE services SET status = 'error', last_error = $2, updated_at = $3 WHERE id = $1 AND status <> 'terminated'",
        args![s.id, e.message(), at],
    )
    .await?;
    let refunded = if job.kind == CHANGE_PLAN {
        let who = crate::billing::plan_change::Subject {
            tenant: s.tenant_id,
            customer: s.customer_id,
            service: s.id,
        };
        crate::billing::plan_change::undo(&mut tx, &job.actor(), who, &job.payload).await?
    } else {
        None
    };
    let open: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM tickets WHERE service_id = $1 AND source = 'system' AND subject = $2",
            args![s.id, subject.as_str()],
        )
        .await?;
    let ticket = Uuid::now_v7();
    if open == 0 {
        tx.execute(
            "INSERT INTO tickets (id, tenant_id, customer_id, service_id, subject, status, priority, source, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'open', 'high', 'system', $6, $6)",
            args![ticket, s.tenant_id, s.customer_id, s.id, subject.as_str(), at],
        )
        .await?;
        tx.execute(
            "INSERT INTO ticket_messages (id, tenant_id, ticket_id, body, internal, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![Uuid::now_v7(), s.tenant_id, ticket, history(job, e), true, at],
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &job.actor(),
        Change {
            action: "service.error",
            entity: "service",
            entity_id: Some(s.id.to_string()),
            tenant_id: Some(s.tenant_id),
            before: Some(json!({ "status": s.status })),
            after: Some(json!({
                "status": "error", "error": e.message(), "job_id": job.id, "ticket_id": (open == 0).then_some(ticket),
                "billing_undone": refunded,
            })),
        },
    )
    .await?;
    tx.after_commit(SERVICES_CHANNEL, s.id.to_string());
    tx.commit().await?;
    if let Some(server) = s.server_id {
        server_incident(db, job, server).await?;
    }
    Ok(())
}

/// Opens the server's job incident once it has failed [`INCIDENT_FAILURES`] services (of any
/// tenant) in the window; the partial unique index keeps it to one open incident per server.
async fn server_incident(db: &Db, job: &Job, server: Uuid) -> Result<(), ServiceError> {
    let platform = db.scoped(None);
    let since = now() - Duration::minutes(INCIDENT_WINDOW_MIN);
    let failed: i64 = platform
        .scalar(
            "SELECT COUNT(*) FROM services WHERE server_id = $1 AND status = 'error' AND updated_at >= $2",
            args![server, since],
        )
        .await?;
    if failed < INCIDENT_FAILURES {
        return Ok(());
    }
    let mut tx = platform.begin().await?;
    let id = Uuid::now_v7();
    let at = now();
    let title = format!("{failed} services failed on one server in {INCIDENT_WINDOW_MIN} minutes");
    let n = tx
        .execute(
            "INSERT INTO incidents (id, server_id, title, description, severity, status, source, started_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'high', 'investigating', 'job', $5, $5, $5) \
             ON CONFLICT (server_id) WHERE source = 'job' AND status <> 'resolved' AND server_id IS NOT NULL DO NOTHING",
            args![id, server, title.as_str(), format!("latest: {} (job {})", job.kind, job.id), at],
        )
        .await?;
    if n > 0 {
        audit::record(
            &mut tx,
            &Actor::system("worker"),
            Change {
                action: "incident.open",
                entity: "incident",
                entity_id: Some(id.to_string()),
                tenant_id: None,
                before: None,
                after: Some(json!({ "server_id": server, "title": title, "job_id": job.id })),
            },
        )
        .await?;
    }
    tx.commit().await
}

fn limit(v: Option<u64>) -> Limit {
    v.map_or(Limit::Unlimited, Limit::Value)
}

fn limits_of(p: &Package) -> Limits {
    Limits {
        quota_mb: p.quota.value(),
        bwlimit_mb: p.bwlimit.value(),
        maxpop: p.maxpop.value(),
        maxsql: p.maxsql.value(),
        maxaddon: p.maxaddon.value(),
    }
}

fn package_of(name: &str, l: &Limits) -> PackageSpec {
    PackageSpec {
        name: name.to_owned(),
        quota: Some(limit(l.quota_mb)),
        bwlimit: Some(limit(l.bwlimit_mb)),
        maxpop: Some(limit(l.maxpop)),
        maxsql: Some(limit(l.maxsql)),
        maxaddon: Some(limit(l.maxaddon)),
        ..PackageSpec::default()
    }
}

#[derive(sqlx::FromRow)]
struct PlanPkg {
    id: Uuid,
    tenant_id: Uuid,
    package: String,
    resources: Value,
    region: String,
}

async fn record_state(db: &Db, p: &PlanPkg, server: Uuid, state: &str, detail: &str) -> Result<(), ServiceError> {
    db.execute(
        "INSERT INTO plan_packages (id, tenant_id, plan_id, server_id, package, state, detail, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (plan_id, server_id) DO UPDATE SET \
         package = excluded.package, state = excluded.state, detail = excluded.detail, checked_at = excluded.checked_at",
        args![Uuid::now_v7(), p.tenant_id, p.id, server, p.package.as_str(), state, detail, now()],
    )
    .await
    .map(|_| ())
}

fn describe(diff: &[(&str, Option<u64>, Option<u64>)]) -> String {
    let show = |v: &Option<u64>| v.map_or("unlimited".to_owned(), |n| n.to_string());
    diff.iter()
        .map(|(k, ours, theirs)| format!("{k} plan {} server {}", show(ours), show(theirs)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `hosting.push_package`: adds or edits the plan's package on every online server of its
/// region it may use; an identical package is left alone.
pub async fn push_package(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    let plan = job
        .payload
        .get("plan_id")
        .and_then(Value::as_str)
        .and_then(|p| Uuid::parse_str(p).ok())
        .ok_or_else(|| JobError::Permanent("payload.plan_id must be a plan id".into()))?;
    let p: PlanPkg = db
        .fetch_optional(
            "SELECT id, tenant_id, external_package AS package, resources, region FROM plans \
             WHERE id = $1 AND external_package IS NOT NULL",
            args![plan],
        )
        .await
        .map_err(db_err)?
        .ok_or_else(|| JobError::Permanent(format!("plan {plan} not found or without package")))?;
    let want = Limits::of(&p.resources);
    let servers = placement::servers(&db, p.tenant_id, &p.region).await.map_err(db_err)?;
    let mut failed = Vec::new();
    for s in &servers {
        let outcome = async {
            let c = connect(&env, &db, s.id).await?;
            let have = c.list_packages().await.map_err(whm)?;
            match have.iter().find(|k| k.name == p.package) {
                None => {
                    c.add_package(&package_of(&p.package, &want)).await.map_err(whm)?;
                }
                Some(k) if !want.diff(&limits_of(k)).is_empty() => {
                    c.edit_package(&package_of(&p.package, &want)).await.map_err(whm)?;
                }
                Some(_) => {}
            }
            Ok::<(), JobError>(())
        }
        .await;
        match outcome {
            Ok(()) => record_state(&db, &p, s.id, "synced", "").await.map_err(db_err)?,
            Err(e) => {
                record_state(&db, &p, s.id, "pending", e.message())
                    .await
                    .map_err(db_err)?;
                failed.push((s.name.clone(), e));
            }
        }
    }
    match failed
        .iter()
        .find(|(_, e)| matches!(e, JobError::Transient(_)))
        .or(failed.first())
    {
        None => Ok(()),
        Some((name, e)) => {
            let msg = format!("package {} on {name}: {}", p.package, e.message());
            Err(match e {
                JobError::Transient(_) => JobError::Transient(msg),
                JobError::Permanent(_) => JobError::Permanent(msg),
            })
        }
    }
}

/// `hosting.sync_packages`: reads `listpkgs` of every online server and records, per plan
/// and server, whether the package is there with the plan's limits.
pub async fn sync_packages(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    let plans: Vec<PlanPkg> = db
        .fetch_all(
            "SELECT id, tenant_id, external_package AS package, resources, region FROM plans \
             WHERE external_package IS NOT NULL AND kind IN ('hosting', 'reseller_hosting') AND status <> 'retired' \
             AND ($1 IS NULL OR tenant_id = $1)",
            args![job.tenant_id],
        )
        .await
        .map_err(db_err)?;
    let servers: Vec<(Uuid, Option<Uuid>, String, String)> = db
        .scoped(None)
        .fetch_all(
            "SELECT id, tenant_id, name, region FROM servers WHERE kind = 'whm' AND status = 'online' AND whm_url IS NOT NULL",
            vec![],
        )
        .await
        .map_err(db_err)?;
    let mut errors = Vec::new();
    for (server, owner, name, region) in &servers {
        let mine: Vec<&PlanPkg> = plans
            .iter()
            .filter(|p| owner.is_none_or(|o| o == p.tenant_id) && (p.region.is_empty() || &p.region == region))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let have = match connect(&env, &db, *server).await {
            Ok(c) => c.list_packages().await.map_err(whm),
            Err(e) => Err(e),
        };
        let have = match have {
            Ok(h) => h,
            Err(e) => {
                errors.push(format!("{name}: {}", e.message()));
                continue;
            }
        };
        for p in mine {
            let (state, detail) = match have.iter().find(|k| k.name == p.package) {
                None => ("missing", String::new()),
                Some(k) => {
                    let d = Limits::of(&p.resources).diff(&limits_of(k));
                    if d.is_empty() {
                        ("synced", String::new())
                    } else {
                        ("different", describe(&d))
                    }
                }
            };
            record_state(&db, p, *server, state, &detail).await.map_err(db_err)?;
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(JobError::Transient(format!("listpkgs failed on {}", errors.join("; "))))
    }
}
