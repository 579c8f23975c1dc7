//! Hosting plans ↔ WHM packages (docs/adr/0021). Creating or editing a plan stores it and
//! enqueues `hosting.push_package` in the same transaction; `hosting.sync_packages` compares
//! every server's `listpkgs` with the plans and records the drift in `plan_packages`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Db, Tx};
use crate::error::{FieldError, ServiceError};
use crate::jobs::{self, Job, NewJob};
use crate::page::where_clause;
use crate::{args, money, tenants, validate};

const COLUMNS: &str = "x.id, x.tenant_id, t.slug AS tenant_slug, x.code, x.name, x.kind, x.status, x.price_minor, \
    x.currency, x.billing_cycle, x.external_package, x.resources, x.region, x.created_at, x.updated_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Plan {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub price_minor: i64,
    pub currency: String,
    pub billing_cycle: String,
    pub external_package: Option<String>,
    pub resources: Value,
    pub region: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A plan's limits as a WHM package takes them (what the push sends and the sync compares).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// MiB.
    pub quota_mb: Option<u64>,
    /// MiB per month.
    pub bwlimit_mb: Option<u64>,
    pub maxpop: Option<u64>,
    pub maxsql: Option<u64>,
    pub maxaddon: Option<u64>,
}

impl Limits {
    /// From the plan's resources (`disk_gb`, `bandwidth_gb`, `mailboxes`, `databases`,
    /// `sites`); an absent value is unlimited.
    pub fn of(resources: &Value) -> Limits {
        let n = |k: &str| resources.get(k).and_then(Value::as_u64);
        Limits {
            quota_mb: n("disk_gb").map(|g| g * 1024),
            bwlimit_mb: n("bandwidth_gb").map(|g| g * 1024),
            maxpop: n("mailboxes"),
            maxsql: n("databases"),
            maxaddon: n("sites").map(|s| s.saturating_sub(1)),
        }
    }

    /// `(field, ours, theirs)` for each limit that differs.
    pub fn diff(&self, other: &Limits) -> Vec<(&'static str, Option<u64>, Option<u64>)> {
        let pairs = [
            ("QUOTA", self.quota_mb, other.quota_mb),
            ("BWLIMIT", self.bwlimit_mb, other.bwlimit_mb),
            ("MAXPOP", self.maxpop, other.maxpop),
            ("MAXSQL", self.maxsql, other.maxsql),
            ("MAXADDON", self.maxaddon, other.maxaddon),
        ];
        pairs.into_iter().filter(|(_, a, b)| a != b).collect()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlanInput {
    /// Tenant id or slug (create only).
    pub tenant: String,
    pub code: String,
    pub name: String,
    /// Price like `29.90`.
    pub price: String,
    pub currency: String,
    pub billing_cycle: String,
    /// WHM package name.
    pub package: String,
    pub region: String,
    /// `disk_gb`, `bandwidth_gb`, `mailboxes`, `databases`, `sites`.
    pub resources: Value,
}

/// What a sync saw for one plan on one server.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Drift {
    pub plan_id: Uuid,
    pub plan_code: String,
    pub server_id: Uuid,
    pub server_name: String,
    pub package: String,
    pub state: String,
    pub detail: String,
    pub checked_at: DateTime<Utc>,
}

pub(crate) const CYCLES: [&str; 7] = [
    "one_time",
    "monthly",
    "quarterly",
    "semiannual",
    "annual",
    "biennial",
    "triennial",
];
const RESOURCE_KEYS: [&str; 6] = ["disk_gb", "bandwidth_gb", "mailboxes", "databases", "sites", "ssl"];

fn package_name(v: &str) -> Result<String, String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(v.to_owned())
    } else {
        Err("must be a WHM package name (letters, digits, _ and -, up to 64)".into())
    }
}

/// A [`PlanInput`] checked, defaults applied.
struct Checked {
    code: String,
    name: String,
    price: i64,
    currency: String,
    cycle: String,
    package: String,
    region: String,
    resources: Value,
}

fn check(input: &PlanInput, creating: bool) -> Result<Checked, ServiceError> {
    let mut e: Vec<FieldError> = Vec::new();
    let mut push = |f: &str, m: String| {
        e.push(FieldError {
            field: f.into(),
            message: m,
        })
    };
    let code = validate::slug(&input.code).unwrap_or_else(|m| {
        if creating {
            push("code", m);
        }
        String::new()
    });
    let name = validate::name(&input.name, 120).unwrap_or_else(|m| {
        push("name", m);
        String::new()
    });
    let currency = match input.currency.trim() {
        "" => "BRL".to_owned(),
        c => validate::currency(c).unwrap_or_else(|m| {
            push("currency", m);
            "BRL".to_owned()
        }),
    };
    let price = money::parse(&input.price, &currency).unwrap_or_else(|m| {
        push("price", m);
        0
    });
    let cycle = match input.billing_cycle.trim() {
        "" => "monthly".to_owned(),
        c if CYCLES.contains(&c) => c.to_owned(),
        _ => {
            push("billing_cycle", format!("must be one of {}", CYCLES.join(", ")));
            String::new()
        }
    };
    let package = package_name(&input.package).unwrap_or_else(|m| {
        push("package", m);
        String::new()
    });
    let region = input.region.trim().to_owned();
    if region.len() > 40 || region.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '-')) {
        push("region", "must be a region name like gru".into());
    }
    let resources = match &input.resources {
        Value::Null => json!({}),
        Value::Object(m)
            if m.iter()
                .all(|(k, v)| RESOURCE_KEYS.contains(&k.as_str()) && (v.is_u64() || k == "ssl")) =>
        {
            input.resources.clone()
        }
        _ => {
            push(
                "resources",
                format!(
                    "must be an object of whole numbers with keys {}",
                    RESOURCE_KEYS.join(", ")
                ),
            );
            json!({})
        }
    };
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    Ok(Checked {
        code,
        name,
        price,
        currency,
        cycle,
        package,
        region,
        resources,
    })
}

fn push_job(actor: &Actor, plan: &Plan) -> NewJob {
    NewJob {
        queue: super::services::QUEUE.into(),
        kind: "hosting.push_package".into(),
        payload: json!({ "plan_id": plan.id }),
        unique_key: Some(format!("plan:{}:push", plan.id)),
        tenant_id: Some(plan.tenant_id),
        enqueued_by: actor.name.clone(),
        ..NewJob::default()
    }
}

async fn fetch(tx: &mut Tx, id: Uuid) -> Result<Plan, ServiceError> {
    tx.fetch_one(
        &format!("SELECT {COLUMNS} FROM plans x JOIN tenants t ON t.id = x.tenant_id WHERE x.id = $1"),
        args![id],
    )
    .await
}

/// Creates a hosting plan and enqueues the push of its package to the servers.
pub async fn create(db: &Db, actor: &Actor, input: PlanInput) -> Result<(Plan, Job), ServiceError> {
    require(actor, Permission::PlansManage)?;
    let tenant = tenants::get(db, actor, &input.tenant).await?;
    let Checked {
        code,
        name,
        price,
        currency,
        cycle,
        package,
        region,
        resources,
    } = check(&input, true)?;
    let mut tx = db.begin().await?;
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO plans (id, tenant_id, code, name, kind, status, price_minor, currency, billing_cycle, \
         external_package, resources, region, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'hosting', 'active', $5, $6, $7, $8, $9, $10, $11, $11)",
        args![id, tenant.id, code, name, price, currency, cycle, package, resources, region, at],
    )
    .await?;
    let plan = fetch(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "plan.create",
            entity: "plan",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: snapshot(&plan),
        },
    )
    .await?;
    let job = jobs::enqueue(&mut tx, push_job(actor, &plan)).await?;
    tx.commit().await?;
    Ok((plan, job))
}

/// Edits a plan's name, price, package, region and limits; pushes the package again.
pub async fn update(db: &Db, actor: &Actor, key: &str, input: PlanInput) -> Result<(Plan, Job), ServiceError> {
    require(actor, Permission::PlansManage)?;
    let before = get(db, actor, key).await?;
    let Checked {
        name,
        price,
        currency,
        cycle,
        package,
        region,
        resources,
        ..
    } = check(&input, false)?;
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE plans SET name = $2, price_minor = $3, currency = $4, billing_cycle = $5, external_package = $6, \
         resources = $7, region = $8, updated_at = $9 WHERE id = $1",
        args![
            before.id,
            name,
            price,
            currency,
            cycle,
            package,
            resources,
            region,
            now()
        ],
    )
    .await?;
    let plan = fetch(&mut tx, before.id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "plan.update",
            entity: "plan",
            entity_id: Some(plan.id.to_string()),
            tenant_id: Some(plan.tenant_id),
            before: snapshot(&before),
            after: snapshot(&plan),
        },
    )
    .await?;
    let job = jobs::enqueue(&mut tx, push_job(actor, &plan)).await?;
    tx.commit().await?;
    Ok((plan, job))
}

fn scope(actor: &Actor, conds: &mut Vec<String>, args: &mut Vec<Arg>) {
    if let Some(t) = actor.tenant_id {
        args.push(t.into());
        conds.push(format!("x.tenant_id = ${}", args.len()));
    }
}

pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<Plan, ServiceError> {
    require(actor, Permission::ServicesRead)?;
    let key = key.trim();
    let mut conds = vec!["(x.id = $1 OR x.code = $2)".to_owned()];
    let mut args: Vec<Arg> = args![Uuid::parse_str(key).ok(), key];
    scope(actor, &mut conds, &mut args);
    let rows: Vec<Plan> = db
        .fetch_all(
            &format!(
                "SELECT {COLUMNS} FROM plans x JOIN tenants t ON t.id = x.tenant_id {} LIMIT 2",
                where_clause(&conds)
            ),
            args,
        )
        .await?;
    match rows.len() {
        0 => Err(ServiceError::not_found("plan", key)),
        1 => Ok(rows
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::not_found("plan", key))?),
        _ => Err(ServiceError::invalid(
            "plan",
            format!("code {key} exists in several tenants: use the id"),
        )),
    }
}

/// Hosting plans the actor sees (at most 1000), by tenant and sort order.
pub async fn list(db: &Db, actor: &Actor, tenant: Option<&str>) -> Result<Vec<Plan>, ServiceError> {
    require(actor, Permission::ServicesRead)?;
    let mut conds = vec!["x.kind IN ('hosting', 'reseller_hosting')".to_owned()];
    let mut args: Vec<Arg> = Vec::new();
    scope(actor, &mut conds, &mut args);
    if let Some(t) = tenant.filter(|t| !t.trim().is_empty()) {
        let t = tenants::get(db, actor, t).await?;
        args.push(t.id.into());
        conds.push(format!("x.tenant_id = ${}", args.len()));
    }
    db.fetch_all(
        &format!(
            "SELECT {COLUMNS} FROM plans x JOIN tenants t ON t.id = x.tenant_id {} \
             ORDER BY t.slug, x.sort_order, x.code LIMIT 1000",
            where_clause(&conds)
        ),
        args,
    )
    .await
}

/// Enqueues `hosting.sync_packages` for the actor's tenant (platform staff: every tenant).
pub async fn sync(db: &Db, actor: &Actor) -> Result<Job, ServiceError> {
    require(actor, Permission::PlansManage)?;
    let mut tx = db.begin().await?;
    let job = jobs::enqueue(
        &mut tx,
        NewJob {
            queue: super::services::QUEUE.into(),
            kind: "hosting.sync_packages".into(),
            payload: json!({}),
            unique_key: Some("hosting.sync_packages".into()),
            tenant_id: actor.tenant_id,
            enqueued_by: actor.name.clone(),
            ..NewJob::default()
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "plan.sync",
            entity: "plan",
            entity_id: None,
            tenant_id: actor.tenant_id,
            before: None,
            after: Some(json!({ "job_id": job.id })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(job)
}

/// What the last push or sync saw per plan and server; `only_drift` leaves out `synced`.
pub async fn drift(db: &Db, actor: &Actor, only_drift: bool) -> Result<Vec<Drift>, ServiceError> {
    require(actor, Permission::ServicesRead)?;
    let mut conds = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    scope(actor, &mut conds, &mut args);
    if only_drift {
        conds.push("x.state <> 'synced'".into());
    }
    // Server names are infrastructure tenants do not otherwise read; the name of a server
    // their own plan is on is theirs to know.
    db.scoped(None)
        .fetch_all(
            &format!(
                "SELECT x.plan_id, p.code AS plan_code, x.server_id, s.name AS server_name, x.package, x.state, x.detail, \
                 x.checked_at FROM plan_packages x JOIN plans p ON p.id = x.plan_id JOIN servers s ON s.id = x.server_id {} \
                 ORDER BY p.code, s.name",
                where_clause(&conds)
            ),
            args,
        )
        .await
}

/// Addons of the catalogue the actor sees.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Addon {
    pub id: Uuid,
    pub tenant_slug: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub price_minor: i64,
    pub currency: String,
    pub billing_cycle: String,
}

pub async fn addons(db: &Db, actor: &Actor) -> Result<Vec<Addon>, ServiceError> {
    require(actor, Permission::ServicesRead)?;
    let mut conds = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    scope(actor, &mut conds, &mut args);
    db.fetch_all(
        &format!(
            "SELECT x.id, t.slug AS tenant_slug, x.code, x.name, x.kind, x.status, x.price_minor, x.currency, \
             x.billing_cycle FROM addons x JOIN tenants t ON t.id = x.tenant_id {} ORDER BY t.slug, x.name LIMIT 1000",
            where_clause(&conds)
        ),
        args,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_resources_and_their_diff() {
        let l = Limits::of(&json!({"disk_gb": 10, "bandwidth_gb": 100, "sites": 1, "mailboxes": 5, "databases": 2}));
        assert_eq!(l.quota_mb, Some(10240));
        assert_eq!(l.maxaddon, Some(0));
        let mut other = l;
        other.maxpop = None;
        assert_eq!(l.diff(&other), vec![("MAXPOP", Some(5), None)]);
        assert!(l.diff(&l).is_empty());
    }
}
