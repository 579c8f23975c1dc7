//! Disputes (chargebacks) from `charge.dispute.*` events: one row per provider dispute id,
//! tied to our payment. Delivery order does not matter: a closed dispute (won, lost,
//! closed) never reopens when a late `created` arrives, and a `closed` that comes first
//! creates the row already closed. Read sorted by the evidence deadline: open ones first, the
//! nearest deadline on top.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::refunds::find_payment;
use super::{from_unix, lock_suffix};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Db, Tx};
use crate::error::ServiceError;
use crate::ids::{self, Target};
use crate::page::where_clause;
use crate::providers::stripe::Dispute;
use crate::reseller::{self, Reach};

const REACH: Reach = Reach::Owned {
    reseller: Some("i.user_id"),
    customer: Some("i.customer_id"),
};

/// Short ids of disputes.
pub const DISPUTES: Target = Target {
    what: "dispute",
    from: "disputes d JOIN payments p ON p.id = d.payment_id JOIN invoices i ON i.id = p.invoice_id",
    id_col: "d.id",
    tenant_col: Some("d.tenant_id"),
    reach: REACH,
};

pub fn is_closed(status: &str) -> bool {
    matches!(status, "won" | "lost" | "closed")
}

/// A dispute as screens and verbs show it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DisputeRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub payment_id: Uuid,
    pub invoice_id: Uuid,
    pub invoice_number: String,
    pub customer_name: Option<String>,
    pub provider: String,
    pub external_id: String,
    /// needs_response, under_review, won, lost, closed.
    pub status: String,
    pub reason: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub evidence_due_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl DisputeRow {
    /// Whole days until the evidence is due (negative: overdue); `None` once closed or
    /// without a deadline.
    pub fn days_left(&self, at: DateTime<Utc>) -> Option<i64> {
        if is_closed(&self.status) {
            return None;
        }
        self.evidence_due_at.map(|d| (d - at).num_seconds().div_euclid(86_400))
    }
}

const COLUMNS: &str =
    "d.id, d.tenant_id, t.slug AS tenant_slug, d.payment_id, p.invoice_id, i.number AS invoice_number, \
     c.name AS customer_name, d.provider, d.external_id, d.status, d.reason, d.amount_minor, d.currency, \
     d.evidence_due_at, d.closed_at, d.created_at";
const FROM: &str = "disputes d JOIN tenants t ON t.id = d.tenant_id JOIN payments p ON p.id = d.payment_id \
     JOIN invoices i ON i.id = p.invoice_id LEFT JOIN customers c ON c.id = i.customer_id";
/// Open first, nearest deadline first (no deadline last), then newest.
const ORDER: &str = "CASE WHEN d.status IN ('won', 'lost', 'closed') THEN 1 ELSE 0 END, \
     CASE WHEN d.evidence_due_at IS NULL THEN 1 ELSE 0 END, d.evidence_due_at, d.created_at DESC, d.id";

#[derive(Debug, Clone, Default)]
pub struct DisputeFilter {
    /// Only disputes still open (needs_response, under_review).
    pub open: bool,
    pub tenant: Option<Uuid>,
    pub limit: i64,
}

/// Disputes the actor reaches, by evidence deadline.
pub async fn list(db: &Db, actor: &Actor, f: DisputeFilter) -> Result<Vec<DisputeRow>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = Vec::new();
    if f.open {
        conds.push("d.status NOT IN ('won', 'lost', 'closed')".to_owned());
    }
    for t in [actor.tenant_id, f.tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("d.tenant_id = ${}", a.len()));
    }
    reseller::restrict(actor, REACH, "disputes", &mut conds, &mut a)?;
    a.push(f.limit.clamp(1, 1000).into());
    db.fetch_all(
        &format!(
            "SELECT {COLUMNS} FROM {FROM} {} ORDER BY {ORDER} LIMIT ${}",
            where_clause(&conds),
            a.len()
        ),
        a,
    )
    .await
}

/// One dispute by id, prefix or the last 8 hex digits.
pub async fn show(db: &Db, actor: &Actor, key: &str) -> Result<DisputeRow, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let id = ids::expand(db, actor, &DISPUTES, key).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ServiceError::not_found("dispute", key))?;
    let mut conds = vec!["d.id = $1".to_owned()];
    let mut a: Vec<Arg> = args![id];
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("d.tenant_id = ${}", a.len()));
    }
    reseller::restrict(actor, REACH, "disputes", &mut conds, &mut a)?;
    db.fetch_optional(&format!("SELECT {COLUMNS} FROM {FROM} {}", where_clause(&conds)), a)
        .await?
        .ok_or_else(|| ServiceError::not_found("dispute", key))
}

/// What an event did to our dispute row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The dispute's charge is not one of our payments.
    NoPayment,
    /// Nothing new (a duplicate, or a late event about a dispute already closed).
    Unchanged {
        tenant_id: Uuid,
    },
    Opened {
        tenant_id: Uuid,
        id: Uuid,
    },
    Updated {
        tenant_id: Uuid,
        id: Uuid,
    },
}

#[derive(sqlx::FromRow)]
struct Existing {
    id: Uuid,
    tenant_id: Uuid,
    status: String,
    evidence_due_at: Option<DateTime<Utc>>,
}

/// Records a Stripe dispute as an event reports it, in the event's transaction.
pub async fn record(tx: &mut Tx, actor: &Actor, d: &Dispute) -> Result<Recorded, ServiceError> {
    let status = d.our_status();
    let due = d.evidence_details.due_by.and_then(from_unix);
    let at = now();
    let existing: Option<Existing> = tx
        .fetch_optional(
            &format!(
                "SELECT id, tenant_id, status, evidence_due_at FROM disputes WHERE provider = 'stripe' AND external_id = $1{}",
                lock_suffix(tx)
            ),
            args![d.id.as_str()],
        )
        .await?;
    let closed_at = is_closed(status).then_some(at);
    let Some(ex) = existing else {
        let Some(p) = find_payment(tx, &[d.payment_intent.as_deref(), d.charge.as_deref()]).await? else {
            return Ok(Recorded::NoPayment);
        };
        let id = Uuid::now_v7();
        tx.execute(
            "INSERT INTO disputes (id, tenant_id, payment_id, provider, external_id, status, reason, amount_minor, currency, \
             evidence_due_at, closed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 'stripe', $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            args![
                id,
                p.tenant_id,
                p.id,
                d.id.as_str(),
                status,
                d.reason.clone(),
                d.amount,
                d.currency.to_uppercase(),
                due,
                closed_at,
                at
            ],
        )
        .await?;
        audit::record(
            tx,
            actor,
            Change {
                action: "dispute.opened",
                entity: "dispute",
                entity_id: Some(id.to_string()),
                tenant_id: Some(p.tenant_id),
                before: None,
                after: Some(json!({
                    "external_id": d.id,
                    "payment_id": p.id,
                    "status": status,
                    "stripe_status": d.status,
                    "reason": d.reason,
                    "amount_minor": d.amount,
                    "evidence_due_at": due,
                })),
            },
        )
        .await?;
        return Ok(Recorded::Opened {
            tenant_id: p.tenant_id,
            id,
        });
    };
    let reopening = is_closed(&ex.status) && !is_closed(status);
    let same = ex.status == status && (due.is_none() || due == ex.evidence_due_at);
    if reopening || same {
        return Ok(Recorded::Unchanged {
            tenant_id: ex.tenant_id,
        });
    }
    tx.execute(
        "UPDATE disputes SET status = $1, evidence_due_at = COALESCE($2, evidence_due_at), \
         closed_at = COALESCE(closed_at, $3), updated_at = $4 WHERE id = $5",
        args![status, due, closed_at, at, ex.id],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: if is_closed(status) {
                "dispute.closed"
            } else {
                "dispute.update"
            },
            entity: "dispute",
            entity_id: Some(ex.id.to_string()),
            tenant_id: Some(ex.tenant_id),
            before: Some(json!({ "status": ex.status, "evidence_due_at": ex.evidence_due_at })),
            after: Some(
                json!({ "status": status, "stripe_status": d.status, "evidence_due_at": due.or(ex.evidence_due_at) }),
            ),
        },
    )
    .await?;
    Ok(Recorded::Updated {
        tenant_id: ex.tenant_id,
        id: ex.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_counts_whole_days_and_stops_when_closed() {
        let at = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut d = DisputeRow {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            tenant_slug: "t".into(),
            payment_id: Uuid::nil(),
            invoice_id: Uuid::nil(),
            invoice_number: "1".into(),
            customer_name: None,
            provider: "stripe".into(),
            external_id: "dp_1".into(),
            status: "needs_response".into(),
            reason: None,
            amount_minor: 1,
            currency: "BRL".into(),
            evidence_due_at: Some(at + chrono::TimeDelta::hours(50)),
            closed_at: None,
            created_at: at,
        };
        assert_eq!(d.days_left(at), Some(2));
        d.evidence_due_at = Some(at - chrono::TimeDelta::hours(1));
        assert_eq!(d.days_left(at), Some(-1));
        d.status = "won".into();
        assert_eq!(d.days_left(at), None);
    }
}
