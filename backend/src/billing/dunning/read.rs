//! What the screens and verbs show of dunning: the renewals overview (upcoming renewals,
//! reminders sent, suspensions pending, failures), the notifications list, and one invoice's
//! dunning timeline. Reads only, `billing:read`, scoped to the actor's tenant.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{policy, EMAIL, RENEWALS};
use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Db};
use crate::error::ServiceError;

fn tenant_cond(actor: &Actor, col: &str, conds: &mut Vec<String>, a: &mut Vec<Arg>) {
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("{col} = ${}", a.len()));
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Upcoming {
    pub service_id: Uuid,
    pub tenant_slug: String,
    pub domain: Option<String>,
    pub customer_name: String,
    pub status: String,
    pub price_minor: i64,
    pub currency: String,
    pub next_due_at: DateTime<Utc>,
    /// The period's invoice when already issued.
    pub invoice_number: Option<String>,
    pub invoice_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Notice {
    pub id: Uuid,
    pub tenant_slug: Option<String>,
    pub recipient: String,
    pub subject: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Overdue {
    pub service_id: Uuid,
    pub tenant_id: Uuid,
    pub domain: Option<String>,
    pub status: String,
    pub invoice_number: String,
    pub due_at: DateTime<Utc>,
    /// When the grace period ends (suspension) — filled from the tenant's policy.
    #[sqlx(skip)]
    pub suspend_at: Option<DateTime<Utc>>,
}

/// The Billing › Renewals page in one read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overview {
    pub upcoming: Vec<Upcoming>,
    pub reminders: Vec<Notice>,
    pub suspensions: Vec<Overdue>,
    pub failures: Vec<Notice>,
    /// Failed or dead dunning jobs (`billing.renewals`, `notify.email`).
    pub failed_jobs: i64,
}

const NOTICE_COLS: &str = "n.id, t.slug AS tenant_slug, n.recipient, n.subject, n.status, n.attempts, n.last_error, \
    n.dedupe_key, n.created_at, n.sent_at";

/// Notifications newest first, optionally of one status.
pub async fn notifications(
    db: &Db,
    actor: &Actor,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Notice>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = Vec::new();
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        const ST: [&str; 7] = ["queued", "sending", "sent", "delivered", "read", "failed", "cancelled"];
        if !ST.contains(&s) {
            return Err(ServiceError::invalid(
                "status",
                format!("must be one of {}", ST.join(", ")),
            ));
        }
        a.push(s.into());
        conds.push(format!("n.status = ${}", a.len()));
    }
    tenant_cond(actor, "n.tenant_id", &mut conds, &mut a);
    if actor.tenant_id.is_none() {
        // Staff's in-app notices are not customer mail.
        conds.push("n.channel <> 'in_app'".into());
    }
    a.push(limit.clamp(1, 1000).into());
    let w = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    db.fetch_all(
        &format!(
            "SELECT {NOTICE_COLS} FROM notifications n LEFT JOIN tenants t ON t.id = n.tenant_id {w} \
             ORDER BY n.created_at DESC, n.id DESC LIMIT ${}",
            a.len()
        ),
        a,
    )
    .await
}

/// Upcoming renewals within `days`, reminders sent, services past due (suspension pending),
/// and failures.
pub async fn overview(db: &Db, actor: &Actor, days: i64) -> Result<Overview, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let at = now();
    let mut conds = vec![
        "s.status IN ('active', 'suspended')".to_owned(),
        "s.next_due_at IS NOT NULL".to_owned(),
        "s.next_due_at <= $1".to_owned(),
    ];
    let mut a: Vec<Arg> = args![at + Duration::days(days.clamp(1, 366))];
    tenant_cond(actor, "s.tenant_id", &mut conds, &mut a);
    let upcoming: Vec<Upcoming> = db
        .fetch_all(
            &format!(
                "SELECT s.id AS service_id, t.slug AS tenant_slug, s.domain, c.name AS customer_name, s.status, \
                 s.price_minor, s.currency, s.next_due_at, \
                 (SELECT i.number FROM invoices i JOIN invoice_items it ON it.invoice_id = i.id \
                  WHERE it.service_id = s.id AND it.period_start = s.next_due_at ORDER BY i.created_at DESC LIMIT 1) AS invoice_number, \
                 (SELECT i.status FROM invoices i JOIN invoice_items it ON it.invoice_id = i.id \
                  WHERE it.service_id = s.id AND it.period_start = s.next_due_at ORDER BY i.created_at DESC LIMIT 1) AS invoice_status \
                 FROM services s JOIN tenants t ON t.id = s.tenant_id JOIN customers c ON c.id = s.customer_id \
                 WHERE {} ORDER BY s.next_due_at, s.id LIMIT 200",
                conds.join(" AND ")
            ),
            a,
        )
        .await?;
    let mut conds = vec![
        "i.status IN ('pending', 'overdue')".to_owned(),
        "i.due_at < $1".to_owned(),
        "s.status = 'active'".to_owned(),
    ];
    let mut a: Vec<Arg> = args![at];
    tenant_cond(actor, "s.tenant_id", &mut conds, &mut a);
    let mut suspensions: Vec<Overdue> = db
        .fetch_all(
            &format!(
                "SELECT DISTINCT s.id AS service_id, s.tenant_id, s.domain, s.status, i.number AS invoice_number, i.due_at \
                 FROM invoices i JOIN invoice_items it ON it.invoice_id = i.id JOIN services s ON s.id = it.service_id \
                 WHERE {} ORDER BY i.due_at LIMIT 200",
                conds.join(" AND ")
            ),
            a,
        )
        .await?;
    for s in &mut suspensions {
        let p = policy(db, s.tenant_id).await?;
        s.suspend_at = Some(s.due_at + Duration::days(p.grace_days));
    }
    let reminders = notifications(db, actor, Some("sent"), 50).await?;
    let failures = notifications(db, actor, Some("failed"), 50).await?;
    let mut conds = vec!["status IN ('failed', 'dead')".to_owned(), "kind IN ($1, $2)".to_owned()];
    let mut a: Vec<Arg> = args![RENEWALS, EMAIL];
    tenant_cond(actor, "tenant_id", &mut conds, &mut a);
    let failed_jobs: i64 = db
        .scalar(&format!("SELECT COUNT(*) FROM jobs WHERE {}", conds.join(" AND ")), a)
        .await?;
    Ok(Overview {
        upcoming,
        reminders,
        suspensions,
        failures,
        failed_jobs,
    })
}

/// One event of an invoice's dunning story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `issued`, `reminder`, `paid`, `suspend`, `unsuspend`, `terminate`, `e-mail` …
    pub what: String,
    pub detail: String,
    /// `ok`, `pending`, `failed`.
    pub state: String,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    at: DateTime<Utc>,
    action: String,
    entity: String,
    after: Option<serde_json::Value>,
}

/// The dunning timeline of invoice `id` (the actor must reach it): its audit trail, its
/// services' lifecycle steps since it was created, and its e-mails, oldest first.
pub async fn timeline(db: &Db, actor: &Actor, key: &str) -> Result<Vec<Event>, ServiceError> {
    let (inv, items) = crate::billing::invoices::show(db, actor, key).await?;
    let services: Vec<String> = items
        .iter()
        .filter_map(|i| i.service_id)
        .map(|s| s.to_string())
        .collect();
    let mut events = Vec::new();
    let rows: Vec<AuditRow> = db
        .fetch_all(
            "SELECT at, action, entity, after FROM audit_log WHERE tenant_id = $1 AND \
             ((entity = 'invoice' AND entity_id = $2) OR (entity = 'service' AND entity_id = $3 AND at >= $4)) ORDER BY seq LIMIT 500",
            args![
                inv.tenant_id,
                inv.id.to_string(),
                services.first().cloned().unwrap_or_default(),
                inv.created_at
            ],
        )
        .await?;
    for r in rows {
        let detail = r
            .after
            .as_ref()
            .map(|a| {
                ["stage", "reason", "status", "provider", "number"]
                    .iter()
                    .filter_map(|k| a.get(*k).and_then(|v| v.as_str()).map(|v| format!("{k} {v}")))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let what = match (r.entity.as_str(), r.action.as_str()) {
            ("invoice", "invoice.create") => "issued".to_owned(),
            ("invoice", a) => a.trim_start_matches("invoice.").to_owned(),
            (_, a) => a.to_owned(),
        };
        events.push(Event {
            at: r.at,
            what,
            detail,
            state: "ok".into(),
        });
    }
    let mails: Vec<Notice> = db
        .fetch_all(
            &format!(
                "SELECT {NOTICE_COLS} FROM notifications n LEFT JOIN tenants t ON t.id = n.tenant_id \
                 WHERE n.tenant_id = $1 AND (n.dedupe_key LIKE $2 OR n.dedupe_key LIKE $3) ORDER BY n.created_at LIMIT 100"
            ),
            args![
                inv.tenant_id,
                format!("invoice:{}:%", inv.id),
                format!("service:%:{}", inv.id)
            ],
        )
        .await?;
    for m in mails {
        let state = match m.status.as_str() {
            "sent" | "delivered" | "read" => "ok",
            "failed" | "cancelled" => "failed",
            _ => "pending",
        };
        events.push(Event {
            at: m.sent_at.unwrap_or(m.created_at),
            what: "e-mail".into(),
            detail: format!(
                "{} → {}{}",
                m.subject.unwrap_or_default(),
                m.recipient,
                m.last_error.map(|e| format!(" ({e})")).unwrap_or_default()
            ),
            state: state.into(),
        });
    }
    events.sort_by_key(|e| e.at);
    Ok(events)
}
