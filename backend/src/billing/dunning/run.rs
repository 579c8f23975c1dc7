//! The renewal run: [`run`] (the `billing.renewals` job, `painel billing run-renewals`).
//!
//! Each step is one transaction for one service or invoice, decided from what is stored and
//! guarded by a key, so a run that repeats, races another or dies half-way does each thing
//! once: the period's invoice by `invoices.dedupe_key`, a reminder by `notifications.dedupe_key`,
//! a suspension or termination by the service's one lifecycle job and its status. `--dry-run`
//! runs the same steps and rolls each back.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::mail::{queue_email, Email};
use super::{policy, Policy};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::billing::fulfil::{issue_period, job_in_flight, period_end, PeriodBill, NON_PAYMENT};
use crate::db::{now, Arg, Db, Tx};
use crate::error::ServiceError;
use crate::hosting::services::{enqueue_for, SERVICES_CHANNEL};
use crate::jobs::{Job, JobError};

/// One thing a run did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `invoice`, `reminder`, `suspend`, `terminate`, `unsuspend`, `provision`.
    pub action: &'static str,
    pub tenant_id: Uuid,
    pub service_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub at: Option<DateTime<Utc>>,
    pub steps: Vec<Step>,
}

impl Report {
    pub fn count(&self, action: &str) -> usize {
        self.steps.iter().filter(|s| s.action == action).count()
    }
}

/// Runs the renewal steps at time `at` over the actor's tenant (platform staff and the
/// scheduler: every tenant).
pub async fn run(db: &Db, actor: &Actor, at: DateTime<Utc>, dry_run: bool) -> Result<Report, ServiceError> {
    require(actor, Permission::InvoicesCreate)?;
    let mut r = Report {
        dry_run,
        at: Some(at),
        steps: Vec::new(),
    };
    let mut policies: HashMap<Uuid, Policy> = HashMap::new();
    issue(db, actor, at, dry_run, &mut policies, &mut r).await?;
    remind(db, actor, at, dry_run, &mut policies, &mut r).await?;
    escalate(db, actor, at, dry_run, &mut policies, &mut r).await?;
    reconcile(db, actor, dry_run, &mut r).await?;
    Ok(r)
}

async fn policy_of<'a>(db: &Db, cache: &'a mut HashMap<Uuid, Policy>, t: Uuid) -> Result<&'a Policy, ServiceError> {
    if let std::collections::hash_map::Entry::Vacant(e) = cache.entry(t) {
        e.insert(policy(db, t).await?);
    }
    cache
        .get(&t)
        .ok_or_else(|| ServiceError::Unavailable("policy cache".into()))
}

fn scope(actor: &Actor, col: &str, conds: &mut Vec<String>, a: &mut Vec<Arg>) {
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("{col} = ${}", a.len()));
    }
}

async fn finish(tx: Tx, dry_run: bool) -> Result<(), ServiceError> {
    if dry_run {
        tx.rollback().await
    } else {
        tx.commit().await
    }
}

#[derive(sqlx::FromRow)]
struct Due {
    id: Uuid,
    tenant_id: Uuid,
    customer_id: Uuid,
    price_minor: i64,
    currency: String,
    billing_cycle: String,
    next_due_at: DateTime<Utc>,
    domain: Option<String>,
    plan_code: String,
}

fn money_vars(
    number: &str,
    total: i64,
    currency: &str,
    due: DateTime<Utc>,
    at: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("number".into(), number.to_owned());
    v.insert("total".into(), crate::money::format(total, currency));
    v.insert("due_date".into(), due.format("%d/%m/%Y").to_string());
    v.insert("days".into(), ((due - at).num_hours().max(0) / 24).to_string());
    v.insert("link".into(), String::new());
    v
}

/// Step 1: the invoice of each service's next period, `lead_days` before it is due.
async fn issue(
    db: &Db,
    actor: &Actor,
    at: DateTime<Utc>,
    dry_run: bool,
    policies: &mut HashMap<Uuid, Policy>,
    r: &mut Report,
) -> Result<(), ServiceError> {
    let mut conds = vec![
        "s.status IN ('active', 'suspended')".to_owned(),
        "s.auto_renew = $1".to_owned(),
        "s.next_due_at IS NOT NULL".to_owned(),
        "s.next_due_at <= $2".to_owned(),
        "s.billing_cycle <> 'one_time'".to_owned(),
    ];
    let mut a: Vec<Arg> = args![true, at + Duration::days(90)];
    scope(actor, "s.tenant_id", &mut conds, &mut a);
    let due: Vec<Due> = db
        .fetch_all(
            &format!(
                "SELECT s.id, s.tenant_id, s.customer_id, s.price_minor, s.currency, s.billing_cycle, s.next_due_at, \
                 s.domain, p.code AS plan_code FROM services s JOIN plans p ON p.id = s.plan_id WHERE {} \
                 ORDER BY s.next_due_at, s.id LIMIT 5000",
                conds.join(" AND ")
            ),
            a,
        )
        .await?;
    for s in due {
        let lead = policy_of(db, policies, s.tenant_id).await?.lead_days;
        if s.next_due_at > at + Duration::days(lead) {
            continue;
        }
        let description = format!(
            "{} ({}) {} – {}",
            s.domain.as_deref().unwrap_or("hosting"),
            s.plan_code,
            s.next_due_at.format("%d/%m/%Y"),
            period_end(s.next_due_at, &s.billing_cycle)
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_default()
        );
        let bill = PeriodBill {
            service: s.id,
            customer: s.customer_id,
            description: &description,
            price_minor: s.price_minor,
            currency: &s.currency,
            reason: "renewal",
            start: s.next_due_at,
            end: period_end(s.next_due_at, &s.billing_cycle),
            due: s.next_due_at,
            dedupe_key: format!("renewal:{}:{}", s.id, s.next_due_at.format("%Y-%m-%d")),
        };
        let mut tx = db.begin().await?;
        let made = match issue_period(&mut tx, actor, s.tenant_id, &bill).await {
            Ok(m) => m,
            // A concurrent run issued it first (the unique key): nothing to do.
            Err(ServiceError::Conflict(_)) => None,
            Err(e) => return Err(e),
        };
        let Some(inv) = made else {
            tx.rollback().await?;
            continue;
        };
        queue_email(
            &mut tx,
            actor,
            Email {
                tenant: s.tenant_id,
                customer: s.customer_id,
                key: "invoice.created",
                vars: money_vars(&inv.number, inv.total_minor, &inv.currency, inv.due_at, at),
                dedupe_key: format!("invoice:{}:created", inv.id),
            },
        )
        .await?;
        finish(tx, dry_run).await?;
        r.steps.push(Step {
            action: "invoice",
            tenant_id: s.tenant_id,
            service_id: Some(s.id),
            invoice_id: Some(inv.id),
            detail: format!("invoice {} for {}", inv.number, description),
        });
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Open {
    id: Uuid,
    tenant_id: Uuid,
    customer_id: Uuid,
    number: String,
    total_minor: i64,
    currency: String,
    due_at: DateTime<Utc>,
}

/// The latest reminder stage reached at `at`: `before-N` or `after-N`, with the template.
pub fn stage(p: &Policy, due: DateTime<Utc>, at: DateTime<Utc>) -> Option<(String, &'static str)> {
    let mut best: Option<(DateTime<Utc>, String, &'static str)> = None;
    let stages = p
        .remind_before
        .iter()
        .map(|d| (due - Duration::days(*d), format!("before-{d}"), "invoice.reminder"))
        .chain(
            p.remind_after
                .iter()
                .map(|d| (due + Duration::days(*d), format!("after-{d}"), "invoice.overdue")),
        );
    for (when, name, key) in stages {
        // A before-stage is moot once the invoice is due.
        if when > at || (key == "invoice.reminder" && at >= due) {
            continue;
        }
        if best.as_ref().is_none_or(|b| when > b.0) {
            best = Some((when, name, key));
        }
    }
    best.map(|b| (b.1, b.2))
}

/// Step 2: one reminder per stage reached, only the latest (a run after a pause does not
/// send the stages it missed).
async fn remind(
    db: &Db,
    actor: &Actor,
    at: DateTime<Utc>,
    dry_run: bool,
    policies: &mut HashMap<Uuid, Policy>,
    r: &mut Report,
) -> Result<(), ServiceError> {
    let mut conds = vec![
        "i.status IN ('pending', 'overdue')".to_owned(),
        "i.customer_id IS NOT NULL".to_owned(),
        "i.due_at <= $1".to_owned(),
        "i.due_at >= $2".to_owned(),
    ];
    let mut a: Vec<Arg> = args![at + Duration::days(90), at - Duration::days(400)];
    scope(actor, "i.tenant_id", &mut conds, &mut a);
    let open: Vec<Open> = db
        .fetch_all(
            &format!(
                "SELECT i.id, i.tenant_id, i.customer_id, i.number, i.total_minor, i.currency, i.due_at \
                 FROM invoices i WHERE {} ORDER BY i.due_at, i.id LIMIT 5000",
                conds.join(" AND ")
            ),
            a,
        )
        .await?;
    for i in open {
        let p = policy_of(db, policies, i.tenant_id).await?.clone();
        let Some((name, key)) = stage(&p, i.due_at, at) else {
            continue;
        };
        let mut tx = db.begin().await?;
        let queued = queue_email(
            &mut tx,
            actor,
            Email {
                tenant: i.tenant_id,
                customer: i.customer_id,
                key,
                vars: money_vars(&i.number, i.total_minor, &i.currency, i.due_at, at),
                dedupe_key: format!("invoice:{}:reminder:{name}", i.id),
            },
        )
        .await?;
        let Some(nid) = queued else {
            tx.rollback().await?;
            continue;
        };
        tx.execute(
            "UPDATE invoices SET reminders_sent = reminders_sent + 1, last_reminder_at = $1 WHERE id = $2",
            args![at, i.id],
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "invoice.reminder",
                entity: "invoice",
                entity_id: Some(i.id.to_string()),
                tenant_id: Some(i.tenant_id),
                before: None,
                after: Some(json!({ "stage": name, "template": key, "notification_id": nid })),
            },
        )
        .await?;
        finish(tx, dry_run).await?;
        r.steps.push(Step {
            action: "reminder",
            tenant_id: i.tenant_id,
            service_id: None,
            invoice_id: Some(i.id),
            detail: format!("invoice {} {name} ({key})", i.number),
        });
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Late {
    service_id: Uuid,
    tenant_id: Uuid,
    customer_id: Uuid,
    status: String,
    suspend_reason: Option<String>,
    domain: Option<String>,
    invoice_id: Uuid,
    number: String,
    due_at: DateTime<Utc>,
}

/// Step 3: suspension after the grace period, termination after the longer one — through
/// the lifecycle jobs, reason non-payment, with an e-mail each.
async fn escalate(
    db: &Db,
    actor: &Actor,
    at: DateTime<Utc>,
    dry_run: bool,
    policies: &mut HashMap<Uuid, Policy>,
    r: &mut Report,
) -> Result<(), ServiceError> {
    let mut conds = vec![
        "i.status IN ('pending', 'overdue')".to_owned(),
        "i.due_at < $1".to_owned(),
        "s.status IN ('active', 'suspended')".to_owned(),
    ];
    let mut a: Vec<Arg> = args![at];
    scope(actor, "s.tenant_id", &mut conds, &mut a);
    let late: Vec<Late> = db
        .fetch_all(
            &format!(
                "SELECT DISTINCT s.id AS service_id, s.tenant_id, s.customer_id, s.status, s.suspend_reason, s.domain, \
                 i.id AS invoice_id, i.number, i.due_at FROM invoices i \
                 JOIN invoice_items it ON it.invoice_id = i.id JOIN services s ON s.id = it.service_id \
                 WHERE {} ORDER BY i.due_at LIMIT 5000",
                conds.join(" AND ")
            ),
            a,
        )
        .await?;
    let mut seen = std::collections::HashSet::new();
    for l in late {
        if !seen.insert(l.service_id) {
            continue;
        }
        let p = policy_of(db, policies, l.tenant_id).await?.clone();
        let (kind, action, template) = if l.status == "active" && at >= l.due_at + Duration::days(p.grace_days) {
            ("hosting.suspend", "suspend", "service.suspended")
        } else if l.status == "suspended"
            && l.suspend_reason.as_deref() == Some(NON_PAYMENT)
            && at >= l.due_at + Duration::days(p.terminate_days)
        {
            ("hosting.terminate", "terminate", "service.terminated")
        } else {
            continue;
        };
        let mut tx = db.begin().await?;
        if job_in_flight(&mut tx, l.tenant_id, l.service_id).await?.is_some() {
            tx.rollback().await?;
            continue;
        }
        let job = enqueue_for(
            &mut tx,
            actor,
            l.tenant_id,
            l.service_id,
            kind,
            json!({ "reason": NON_PAYMENT, "invoice_id": l.invoice_id }),
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: if action == "suspend" {
                    "service.suspend"
                } else {
                    "service.terminate"
                },
                entity: "service",
                entity_id: Some(l.service_id.to_string()),
                tenant_id: Some(l.tenant_id),
                before: Some(json!({ "status": l.status })),
                after: Some(json!({ "reason": NON_PAYMENT, "invoice_id": l.invoice_id, "job_id": job.id })),
            },
        )
        .await?;
        let mut vars = BTreeMap::new();
        vars.insert("domain".to_owned(), l.domain.clone().unwrap_or_default());
        vars.insert("number".to_owned(), l.number.clone());
        queue_email(
            &mut tx,
            actor,
            Email {
                tenant: l.tenant_id,
                customer: l.customer_id,
                key: template,
                vars,
                dedupe_key: format!("service:{}:{action}:{}", l.service_id, l.invoice_id),
            },
        )
        .await?;
        tx.after_commit(SERVICES_CHANNEL, l.service_id.to_string());
        finish(tx, dry_run).await?;
        r.steps.push(Step {
            action,
            tenant_id: l.tenant_id,
            service_id: Some(l.service_id),
            invoice_id: Some(l.invoice_id),
            detail: format!("{} unpaid since {} ({kind})", l.number, l.due_at.format("%Y-%m-%d")),
        });
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Stuck {
    id: Uuid,
    tenant_id: Uuid,
    status: String,
}

/// Step 4: what a payment asked for while another lifecycle job held the service — a
/// non-payment suspension with nothing owed is lifted; a billed order whose invoice is paid
/// is provisioned.
async fn reconcile(db: &Db, actor: &Actor, dry_run: bool, r: &mut Report) -> Result<(), ServiceError> {
    let mut conds = vec![format!(
        "((s.status = 'suspended' AND s.suspend_reason = '{NON_PAYMENT}' AND NOT EXISTS (SELECT 1 FROM invoice_items it \
         JOIN invoices i ON i.id = it.invoice_id WHERE it.service_id = s.id AND i.status IN ('pending', 'overdue'))) \
         OR (s.status = 'pending' AND EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = s.tenant_id \
         AND i.dedupe_key = 'order:' || {} AND i.status = 'paid')))",
        uuid_text(db)
    )];
    let mut a: Vec<Arg> = Vec::new();
    scope(actor, "s.tenant_id", &mut conds, &mut a);
    let stuck: Vec<Stuck> = db
        .fetch_all(
            &format!(
                "SELECT s.id, s.tenant_id, s.status FROM services s WHERE {} LIMIT 1000",
                conds.join(" AND ")
            ),
            a,
        )
        .await?;
    for s in stuck {
        let (kind, action) = if s.status == "pending" {
            ("hosting.create", "provision")
        } else {
            ("hosting.unsuspend", "unsuspend")
        };
        let mut tx = db.begin().await?;
        if job_in_flight(&mut tx, s.tenant_id, s.id).await?.is_some() {
            tx.rollback().await?;
            continue;
        }
        let job = enqueue_for(&mut tx, actor, s.tenant_id, s.id, kind, json!({ "reason": "paid" })).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: if action == "provision" {
                    "service.provision"
                } else {
                    "service.unsuspend"
                },
                entity: "service",
                entity_id: Some(s.id.to_string()),
                tenant_id: Some(s.tenant_id),
                before: Some(json!({ "status": s.status })),
                after: Some(json!({ "reason": "paid", "job_id": job.id, "by": "renewal run" })),
            },
        )
        .await?;
        tx.after_commit(SERVICES_CHANNEL, s.id.to_string());
        finish(tx, dry_run).await?;
        r.steps.push(Step {
            action,
            tenant_id: s.tenant_id,
            service_id: Some(s.id),
            invoice_id: None,
            detail: format!("{kind} (paid, nothing owed)"),
        });
    }
    Ok(())
}

/// A service id as the text `order:<id>` keys hold, per engine (a BLOB on SQLite).
fn uuid_text(db: &Db) -> &'static str {
    match db.backend() {
        crate::db::Backend::Postgres => "s.id::text",
        crate::db::Backend::Sqlite => {
            "lower(substr(hex(s.id),1,8)||'-'||substr(hex(s.id),9,4)||'-'||substr(hex(s.id),13,4)||'-'||\
             substr(hex(s.id),17,4)||'-'||substr(hex(s.id),21,12))"
        }
    }
}

/// The `billing.renewals` job: the run at the job's time, as the job's actor.
pub async fn handle(job: Job, db: Db) -> Result<(), JobError> {
    let r = run(&db, &job.actor(), now(), false)
        .await
        .map_err(|e| JobError::Transient(e.to_string()))?;
    tracing::info!(
        invoices = r.count("invoice"),
        reminders = r.count("reminder"),
        suspensions = r.count("suspend"),
        terminations = r.count("terminate"),
        "renewal run"
    );
    Ok(())
}
