//! Hosting services: orders and their lifecycle (docs/adr/0021). Every operation here only
//! changes painel's rows and enqueues a job in the same transaction; the jobs
//! ([`super::provision`]) talk to WHM. One lifecycle job per service at a time: they share the
//! unique key `service:<id>`, so a second order while one is queued or running is refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::placement;
use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::billing::invoices::{self, Invoice};
use crate::billing::prices::{self, prorate, ItemKind, QuoteItem, QuoteRequest};
use crate::db::{now, Arg, Db, Tx};
use crate::error::ServiceError;
use crate::ids::Target;
use crate::jobs::{self, Job, NewJob};
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};
use crate::reseller::{self, Reach};
use crate::sensitive;
use crate::{args, customers, validate};

/// Published (service id) after every committed change of a service: live screens reload it.
pub const SERVICES_CHANNEL: &str = "painel:services";
/// The queue hosting jobs run on.
pub const QUEUE: &str = "hosting";

/// Services belong to a customer, so to that customer's reseller subtree.
pub const REACH: Reach = Reach::Owned {
    reseller: None,
    customer: Some("x.customer_id"),
};

pub const IDS: Target = Target {
    what: "service",
    from: "services x",
    id_col: "x.id",
    tenant_col: Some("x.tenant_id"),
    reach: REACH,
};

pub(crate) const FROM: &str = "services x JOIN tenants t ON t.id = x.tenant_id \
    JOIN customers c ON c.id = x.customer_id JOIN plans p ON p.id = x.plan_id \
    LEFT JOIN servers s ON s.id = x.server_id";

pub(crate) const COLUMNS: &str = "x.id, x.tenant_id, t.slug AS tenant_slug, x.customer_id, c.name AS customer_name, \
    x.plan_id, p.code AS plan_code, p.external_package AS package, x.server_id, s.name AS server_name, x.status, \
    x.domain, x.username, x.price_minor, x.currency, x.activated_at, x.suspended_at, x.suspend_reason, \
    x.terminated_at, x.last_error, x.created_at, x.updated_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Service {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub plan_id: Uuid,
    pub plan_code: String,
    pub package: Option<String>,
    pub server_id: Option<Uuid>,
    pub server_name: Option<String>,
    pub status: String,
    pub domain: Option<String>,
    pub username: Option<String>,
    pub price_minor: i64,
    pub currency: String,
    pub activated_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspend_reason: Option<String>,
    pub terminated_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewService {
    /// Customer id or unique short id.
    pub customer: String,
    /// Plan id or code (of the customer's tenant).
    pub plan: String,
    pub domain: String,
    /// Region to place in; empty = the plan's.
    #[serde(default)]
    pub region: String,
    /// A coupon code: the order is then billed at once (an issued order invoice with the
    /// discount) and the coupon redeemed in the order's transaction.
    #[serde(default)]
    pub coupon: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceQuery {
    pub status: Option<String>,
    pub customer: Option<String>,
    pub filter: Option<String>,
    pub limit: usize,
    pub dir: SortDir,
    pub at: PageAt,
}

/// What an order returns: the service as committed and the job that will carry it out.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub service: Service,
    pub job: Job,
    /// The order invoice, when the order carried a coupon.
    pub invoice: Option<Invoice>,
}

/// What a plan change did: the lifecycle job and what was charged or credited.
#[derive(Debug, Clone, Serialize)]
pub struct PlanChange {
    pub job: Job,
    pub proration: Proration,
}

/// The prorated difference of a plan change for the rest of the current period
/// (docs/adr/0026): charged on an issued invoice, or credited to the customer's balance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Proration {
    pub old_price_minor: i64,
    pub new_price_minor: i64,
    pub currency: String,
    /// Seconds of the current period elapsed and in all; 0/0 without a running period.
    pub elapsed_s: i64,
    pub period_s: i64,
    /// > 0 charged, < 0 credited, 0 nothing.
    pub amount_minor: i64,
    pub invoice: Option<Invoice>,
    pub balance_after_minor: Option<i64>,
}

pub const STATUSES: [&str; 6] = ["pending", "provisioning", "active", "suspended", "terminated", "error"];

fn err(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, message)
}

/// The plan's disk in GB from its resources (`disk_gb`), 0 when it says nothing.
pub fn plan_disk_gb(resources: &serde_json::Value) -> i64 {
    resources
        .get("disk_gb")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0)
}

#[derive(sqlx::FromRow)]
pub(crate) struct PlanRow {
    pub id: Uuid,
    pub code: String,
    pub kind: String,
    pub status: String,
    pub price_minor: i64,
    pub billing_cycle: String,
    pub external_package: Option<String>,
    pub resources: serde_json::Value,
    pub region: String,
}

pub(crate) async fn plan_of(db: &Db, tenant: Uuid, key: &str) -> Result<PlanRow, ServiceError> {
    let key = key.trim();
    let by_id = Uuid::parse_str(key).ok();
    let p: Option<PlanRow> = db
        .fetch_optional(
            "SELECT id, code, kind, status, price_minor, billing_cycle, external_package, resources, region \
             FROM plans WHERE tenant_id = $1 AND (id = $2 OR code = $3)",
            args![tenant, by_id, key],
        )
        .await?;
    p.ok_or_else(|| ServiceError::not_found("plan", key))
}

fn hosting_plan(p: &PlanRow) -> Result<String, ServiceError> {
    if !matches!(p.kind.as_str(), "hosting" | "reseller_hosting") {
        return Err(err("plan", format!("plan {} is not a hosting plan", p.code)));
    }
    if p.status == "retired" {
        return Err(err("plan", format!("plan {} is retired", p.code)));
    }
    p.external_package
        .clone()
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| err("plan", format!("plan {} has no WHM package", p.code)))
}

async fn fetch(tx: &mut Tx, id: Uuid) -> Result<Service, ServiceError> {
    tx.fetch_one(&format!("SELECT {COLUMNS} FROM {FROM} WHERE x.id = $1"), args![id])
        .await
}

/// Enqueues a lifecycle job of `service`; another one queued or running for it is a conflict.
pub(crate) async fn enqueue_for(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    service: Uuid,
    kind: &str,
    mut payload: serde_json::Value,
) -> Result<Job, ServiceError> {
    // The unique key hands back a job already queued for the service: ours only if it carries
    // this order's id.
    let op = Uuid::now_v7();
    if let Some(m) = payload.as_object_mut() {
        m.insert("service_id".into(), json!(service));
        m.insert("op_id".into(), json!(op));
    }
    let job = jobs::enqueue(
        tx,
        NewJob {
            queue: QUEUE.into(),
            kind: kind.into(),
            payload,
            max_attempts: Some(8),
            unique_key: Some(format!("service:{service}")),
            tenant_id: Some(tenant),
            enqueued_by: actor.name.clone(),
            ..NewJob::default()
        },
    )
    .await?;
    if job.payload.get("op_id") != Some(&json!(op)) {
        return Err(ServiceError::Conflict(format!(
            "service already has {} job {} in progress",
            job.kind, job.id
        )));
    }
    Ok(job)
}

/// Orders a hosting service: places it (server + username), stores it `pending` and enqueues
/// `hosting.create` in one transaction.
pub async fn create(db: &Db, actor: &Actor, input: NewService) -> Result<Order, ServiceError> {
    match create_inner(db, actor, input, None).await? {
        (service, Next::Job(job, invoice)) => Ok(Order {
            service,
            job,
            invoice: invoice.map(|i| *i),
        }),
        (_, Next::Invoice(i)) => Err(ServiceError::Conflict(format!("order billed by invoice {}", i.number))),
    }
}

async fn create_inner(
    db: &Db,
    actor: &Actor,
    input: NewService,
    bill_first: Option<i64>,
) -> Result<(Service, Next), ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let customer = customers::get(db, actor, &input.customer).await?;
    let domain = validate::domain(&input.domain).map_err(|m| err("domain", m))?;
    if customer.status != "active" {
        return Err(ServiceError::Conflict(format!("customer is {}", customer.status)));
    }
    let region = input.region.trim().to_owned();
    if region.len() > 40 || region.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '-')) {
        return Err(err("region", "must be a region name like gru"));
    }
    // Placement reads other connections (every tenant's services on the server): done before
    // this order's transaction, which on SQLite holds the write lock, so that a pool busy with
    // writers waiting for that lock cannot starve it. A username taken meanwhile by a
    // concurrent order fails the insert on the unique index: placed again then.
    let mut tries = 0;
    loop {
        tries += 1;
        match place_and_insert(db, actor, &customer, &input, &region, &domain, bill_first).await {
            Err(ServiceError::Conflict(m)) if tries < 4 && m.contains("username") => continue,
            other => return other,
        }
    }
}

/// A "bill first" order: placed and stored `pending` like [`create`], but instead of the
/// create job its order invoice is issued in the same transaction; paying it provisions the
/// service (`billing::fulfil::on_paid`, docs/adr/0027).
pub async fn create_billed(
    db: &Db,
    actor: &Actor,
    input: NewService,
    due_in_days: i64,
) -> Result<BilledOrder, ServiceError> {
    require(actor, Permission::InvoicesCreate)?;
    if !(0..=90).contains(&due_in_days) {
        return Err(err("due_in_days", "must be 0 to 90"));
    }
    if input.coupon.as_deref().is_some_and(|c| !c.trim().is_empty()) {
        return Err(err(
            "coupon",
            "a bill-first order is billed at its price: leave the coupon out",
        ));
    }
    let (service, next) = create_inner(db, actor, input, Some(due_in_days)).await?;
    match next {
        Next::Invoice(invoice) => Ok(BilledOrder { service, invoice }),
        Next::Job(j, _) => Err(ServiceError::Conflict(format!(
            "order enqueued {} instead of billing",
            j.kind
        ))),
    }
}

/// What a "bill first" order returns: the pending service and the invoice that will start it.
#[derive(Debug, Clone, Serialize)]
pub struct BilledOrder {
    pub service: Service,
    pub invoice: crate::billing::invoices::Invoice,
}

enum Next {
    /// The create job, and the order invoice when a coupon billed the order at once.
    Job(Job, Option<Box<crate::billing::invoices::Invoice>>),
    Invoice(crate::billing::invoices::Invoice),
}

async fn place_and_insert(
    db: &Db,
    actor: &Actor,
    customer: &customers::Customer,
    input: &NewService,
    region: &str,
    domain: &str,
    bill_first: Option<i64>,
) -> Result<(Service, Next), ServiceError> {
    let plan = plan_of(db, customer.tenant_id, &input.plan).await?;
    hosting_plan(&plan)?;
    let region = if region.is_empty() {
        plan.region.as_str()
    } else {
        region
    };
    let (server, username) =
        placement::place(db, customer.tenant_id, region, plan_disk_gb(&plan.resources), domain).await?;
    let mut tx = db.begin().await?;
    let live: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM services WHERE tenant_id = $1 AND domain = $2 AND status <> 'terminated'",
            args![customer.tenant_id, domain],
        )
        .await?;
    if live > 0 {
        return Err(ServiceError::Conflict(format!("{domain} already has a live service")));
    }
    // The customer's price: the nearest reseller override, the tenant's list, the catalogue.
    let coupon = input.coupon.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let quote = prices::quote(
        &mut tx,
        customer.tenant_id,
        &QuoteRequest {
            customer: Some(customer.id),
            reseller: None,
            items: vec![QuoteItem::Catalogue {
                kind: ItemKind::Plan,
                item: plan.id.to_string(),
                cycle: Some(plan.billing_cycle.clone()),
                quantity: 1,
                unit_price_minor: None,
            }],
            coupon: coupon.map(str::to_owned),
        },
    )
    .await?;
    let price = quote.lines.first().map_or(plan.price_minor, |l| l.unit_price_minor);
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO services (id, tenant_id, customer_id, plan_id, server_id, status, domain, username, price_minor, \
         currency, billing_cycle, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $11)",
        args![
            id,
            customer.tenant_id,
            customer.id,
            plan.id,
            server.id,
            domain,
            username.as_str(),
            price,
            quote.currency.as_str(),
            plan.billing_cycle.as_str(),
            at,
        ],
    )
    .await?;
    let service = fetch(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "service.create",
            entity: "service",
            entity_id: Some(id.to_string()),
            tenant_id: Some(customer.tenant_id),
            before: None,
            after: snapshot(&json!({ "service": &service, "placement": &server })),
        },
    )
    .await?;
    let next = match (bill_first, coupon) {
        (Some(days), _) => Next::Invoice(crate::billing::fulfil::order_invoice(&mut tx, actor, &service, days).await?),
        (None, Some(_)) => {
            // A coupon's discount needs an invoice to land on: the order is billed at once.
            let mut quote = quote;
            for l in &mut quote.lines {
                l.service_id = Some(id);
                l.description = format!("{} — {domain}", l.description);
            }
            let invoice = invoices::insert(
                &mut tx,
                actor,
                invoices::Draft {
                    customer: Some(customer.id),
                    user: None,
                    reason: "order",
                    issue: true,
                    due_in_days: 7,
                    notes: "",
                    quote: &quote,
                },
            )
            .await?;
            let job = enqueue_for(&mut tx, actor, customer.tenant_id, id, "hosting.create", json!({})).await?;
            Next::Job(job, Some(Box::new(invoice)))
        }
        (None, None) => Next::Job(
            enqueue_for(&mut tx, actor, customer.tenant_id, id, "hosting.create", json!({})).await?,
            None,
        ),
    };
    tx.after_commit(SERVICES_CHANNEL, id.to_string());
    tx.commit().await?;
    Ok((service, next))
}

async fn resolve(db: &Db, actor: &Actor, key: &str) -> Result<Uuid, ServiceError> {
    let id = crate::ids::expand(db, actor, &IDS, key).await?;
    Uuid::parse_str(id.trim()).map_err(|_| err("id", "must be a service id (UUID) or a unique id prefix"))
}

fn scope(actor: &Actor, conds: &mut Vec<String>, args: &mut Vec<Arg>) -> Result<(), ServiceError> {
    if let Some(t) = actor.tenant_id {
        args.push(t.into());
        conds.push(format!("x.tenant_id = ${}", args.len()));
    }
    reseller::restrict(actor, REACH, "services", conds, args)
}

pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<Service, ServiceError> {
    require(actor, Permission::ServicesRead)?;
    let id = resolve(db, actor, key).await?;
    let mut conds = vec!["x.id = $1".to_owned()];
    let mut args: Vec<Arg> = args![id];
    scope(actor, &mut conds, &mut args)?;
    let s: Option<Service> = db
        .fetch_optional(&format!("SELECT {COLUMNS} FROM {FROM} {}", where_clause(&conds)), args)
        .await?;
    s.ok_or_else(|| ServiceError::not_found("service", key))
}

pub async fn list(db: &Db, actor: &Actor, q: &ServiceQuery) -> Result<Page<Service>, ServiceError> {
    require(actor, Permission::ServicesRead)?;
    let limit = q.limit.clamp(1, crate::tenants::MAX_PAGE);
    let mut conds = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    scope(actor, &mut conds, &mut args)?;
    if let Some(st) = q.status.as_deref().filter(|s| !s.is_empty()) {
        if !STATUSES.contains(&st) {
            return Err(err("status", format!("must be one of {}", STATUSES.join(", "))));
        }
        args.push(st.into());
        conds.push(format!("x.status = ${}", args.len()));
    }
    if let Some(c) = q.customer.as_deref().filter(|s| !s.is_empty()) {
        let c = customers::get(db, actor, c).await?;
        args.push(c.id.into());
        conds.push(format!("x.customer_id = ${}", args.len()));
    }
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        args.push(validate::like_contains(&f.to_lowercase()).into());
        conds.push(format!(
            "lower(coalesce(x.domain, '') || ' ' || coalesce(x.username, '') || ' ' || c.name || ' ' || x.status) LIKE ${} ESCAPE '\\'",
            args.len()
        ));
    }
    let order = apply_keyset(&["x.id"], q.dir, &q.at, &mut conds, &mut args)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} {} ORDER BY {order} LIMIT {}",
        where_clause(&conds),
        limit + 1
    );
    let rows: Vec<Service> = db.fetch_all(&sql, args).await?;
    Ok(finish(rows, limit, &q.at, |s| Cursor(vec![KeyPart::Uuid(s.id)])))
}

/// Reads the service for a change, checking the actor may manage it and it is in one of
/// `from` states.
async fn for_change(
    db: &Db,
    actor: &Actor,
    key: &str,
    from: &[&str],
    what: &str,
) -> Result<(Tx, Service), ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let s = get(db, actor, key).await?;
    let mut tx = db.begin().await?;
    let s = fetch(&mut tx, s.id).await?;
    if !from.contains(&s.status.as_str()) {
        return Err(ServiceError::Conflict(format!(
            "cannot {what} a service that is {}",
            s.status
        )));
    }
    Ok((tx, s))
}

async fn order(
    mut tx: Tx,
    actor: &Actor,
    s: &Service,
    action: &'static str,
    kind: &str,
    payload: serde_json::Value,
) -> Result<Job, ServiceError> {
    audit::record(
        &mut tx,
        actor,
        Change {
            action,
            entity: "service",
            entity_id: Some(s.id.to_string()),
            tenant_id: Some(s.tenant_id),
            before: snapshot(s),
            after: Some(payload.clone()),
        },
    )
    .await?;
    let job = enqueue_for(&mut tx, actor, s.tenant_id, s.id, kind, payload).await?;
    tx.after_commit(SERVICES_CHANNEL, s.id.to_string());
    tx.commit().await?;
    Ok(job)
}

/// Asks for the account to be suspended (the job sets `suspended`).
pub async fn suspend(db: &Db, actor: &Actor, key: &str, reason: &str) -> Result<Job, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 200 || reason.chars().any(char::is_control) {
        return Err(err("reason", "a reason (1–200 printable characters) is required"));
    }
    let (tx, s) = for_change(db, actor, key, &["active"], "suspend").await?;
    order(
        tx,
        actor,
        &s,
        "service.suspend",
        "hosting.suspend",
        json!({ "reason": reason }),
    )
    .await
}

pub async fn unsuspend(db: &Db, actor: &Actor, key: &str) -> Result<Job, ServiceError> {
    let (tx, s) = for_change(db, actor, key, &["suspended"], "unsuspend").await?;
    order(tx, actor, &s, "service.unsuspend", "hosting.unsuspend", json!({})).await
}

/// Upgrade or downgrade: `changepackage` to the new plan's package (same tenant, hosting),
/// in its job; here, in the order's transaction, the new plan is priced for the customer on
/// the service's cycle and the prorated difference for the rest of the current period is
/// charged (an issued invoice) or credited (the customer's balance), docs/adr/0026.
pub async fn change_plan(db: &Db, actor: &Actor, key: &str, plan: &str) -> Result<PlanChange, ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let current = get(db, actor, key).await?;
    let p = plan_of(db, current.tenant_id, plan).await?;
    let package = hosting_plan(&p)?;
    let (mut tx, s) = for_change(db, actor, key, &["active", "suspended"], "change the plan of").await?;
    if p.id == s.plan_id {
        return Err(ServiceError::Conflict(format!("service is already on plan {}", p.code)));
    }
    let (cycle, due): (String, Option<DateTime<Utc>>) = tx
        .fetch_one(
            "SELECT billing_cycle, next_due_at FROM services WHERE id = $1",
            args![s.id],
        )
        .await?;
    let quote = prices::quote(
        &mut tx,
        s.tenant_id,
        &QuoteRequest {
            customer: Some(s.customer_id),
            reseller: None,
            items: vec![QuoteItem::Catalogue {
                kind: ItemKind::Plan,
                item: p.id.to_string(),
                cycle: Some(cycle.clone()),
                quantity: 1,
                unit_price_minor: None,
            }],
            coupon: None,
        },
    )
    .await
    .map_err(|e| match e {
        ServiceError::Validation(_) => err("plan", format!("plan {} is not sold {cycle}", p.code)),
        other => other,
    })?;
    let new_price = quote.lines.first().map_or(p.price_minor, |l| l.unit_price_minor);
    let mut proration = Proration {
        old_price_minor: s.price_minor,
        new_price_minor: new_price,
        currency: quote.currency.clone(),
        ..Proration::default()
    };
    if let Some((elapsed, period)) = prorate::position(&cycle, due, now()) {
        proration.elapsed_s = elapsed;
        proration.period_s = period;
        proration.amount_minor = prorate::remaining(new_price - s.price_minor, elapsed, period);
    }
    let days_left = (proration.period_s - proration.elapsed_s) / 86_400;
    let what = format!("{} → {}, prorated for {days_left} days left", s.plan_code, p.code);
    if proration.amount_minor > 0 {
        let mut q = quote.clone();
        q.lines = vec![prices::Line {
            kind: "custom".into(),
            item_kind: None,
            item_id: None,
            service_id: Some(s.id),
            code: p.code.clone(),
            description: format!("Plan change {what} — {}", s.domain.as_deref().unwrap_or("")),
            billing_cycle: Some(cycle.clone()),
            quantity: 1,
            unit_price_minor: proration.amount_minor,
            amount_minor: proration.amount_minor,
            source: "proration".into(),
        }];
        q.subtotal_minor = proration.amount_minor;
        q.discount_minor = 0;
        q.total_minor = proration.amount_minor;
        proration.invoice = Some(
            invoices::insert(
                &mut tx,
                actor,
                invoices::Draft {
                    customer: Some(s.customer_id),
                    user: None,
                    reason: "order",
                    issue: true,
                    due_in_days: 7,
                    notes: "",
                    quote: &q,
                },
            )
            .await?,
        );
    } else if proration.amount_minor < 0 {
        proration.balance_after_minor = Some(
            crate::billing::balance::credit(
                &mut tx,
                actor,
                (s.tenant_id, s.customer_id, &quote.currency),
                -proration.amount_minor,
                crate::billing::balance::Refs {
                    service: Some(s.id),
                    invoice: None,
                },
                &format!("Plan change {what}"),
            )
            .await?,
        );
    }
    let job = order(
        tx,
        actor,
        &s,
        "service.change_plan",
        "hosting.change_plan",
        json!({
            "plan_id": p.id, "plan": p.code, "package": package, "price_minor": new_price,
            "prorated_minor": proration.amount_minor, "currency": proration.currency,
            // What the job's final failure gives back (billing::plan_change::undo).
            "invoice_id": proration.invoice.as_ref().map(|i| i.id),
        }),
    )
    .await?;
    Ok(PlanChange { job, proration })
}

/// Removes the account for good: a sensitive action (the domain typed again + a fresh 2FA).
pub async fn terminate(db: &Db, actor: &Actor, key: &str, proof: &sensitive::Proof<'_>) -> Result<Job, ServiceError> {
    let (tx, s) = for_change(
        db,
        actor,
        key,
        &["active", "suspended", "error", "pending"],
        "terminate",
    )
    .await?;
    let name = s.domain.clone().unwrap_or_else(|| s.id.to_string());
    let target = sensitive::Target {
        action: "service.terminate",
        name: &name,
        tenant_id: Some(s.tenant_id),
    };
    let tx = sensitive::require(tx, actor, &target, proof).await?;
    order(tx, actor, &s, "service.terminate", "hosting.terminate", json!({})).await
}

/// The service's lifecycle jobs, newest first.
pub async fn jobs_of(db: &Db, actor: &Actor, key: &str) -> Result<Vec<Job>, ServiceError> {
    let s = get(db, actor, key).await?;
    db.fetch_all(
        &format!(
            "SELECT {} FROM jobs WHERE tenant_id = $1 AND unique_key = $2 ORDER BY created_at DESC LIMIT 50",
            jobs::COLUMNS
        ),
        args![s.tenant_id, format!("service:{}", s.id)],
    )
    .await
}

/// One step of a service's audit trail, for its screen.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor_name: String,
}

/// The service's audit trail (orders and job outcomes), newest first: part of reading the
/// service, so `services:read` in its scope is enough.
pub async fn history(db: &Db, actor: &Actor, key: &str) -> Result<Vec<Step>, ServiceError> {
    let s = get(db, actor, key).await?;
    db.fetch_all(
        "SELECT at, action, actor_name FROM audit_log WHERE entity = 'service' AND entity_id = $1 \
         AND tenant_id = $2 ORDER BY seq DESC LIMIT 50",
        args![s.id.to_string(), s.tenant_id],
    )
    .await
}
