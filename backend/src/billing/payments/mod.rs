//! Payments as operators read them (docs/adr/0025): a list with provider and status filters,
//! one payment with its invoice, and an invoice's payments. Writing a payment happens only in
//! `billing::settle` — through a provider's verified event or a manual entry ([`manual`]).

pub mod manual;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::{Arg, Db, Tx};
use crate::error::ServiceError;
use crate::ids::Target;
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};
use crate::reseller::{self, Reach};
use crate::validate;

pub use manual::{record_manual, ManualPayment, Recorded};

pub const PROVIDERS: [&str; 6] = ["stripe", "pix", "mercadopago", "pagseguro", "credit", "manual"];
pub const STATUSES: [&str; 7] = [
    "pending",
    "processing",
    "succeeded",
    "failed",
    "cancelled",
    "expired",
    "refunded",
];

/// Short ids of payments; resellers reach the payments of their subtree's invoices.
pub const PAYMENTS: Target = Target {
    what: "payment",
    from: "payments p JOIN invoices i ON i.id = p.invoice_id",
    id_col: "p.id",
    tenant_col: Some("p.tenant_id"),
    reach: REACH,
};

const REACH: Reach = Reach::Owned {
    reseller: Some("i.user_id"),
    customer: Some("i.customer_id"),
};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Payment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub invoice_id: Uuid,
    pub invoice_number: String,
    pub customer_name: Option<String>,
    pub provider: String,
    pub method: Option<String>,
    pub external_id: Option<String>,
    pub status: String,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub currency: String,
    pub paid_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "p.id, p.tenant_id, t.slug AS tenant_slug, p.invoice_id, i.number AS invoice_number, \
     c.name AS customer_name, p.provider, p.method, p.external_id, p.status, p.amount_minor, p.refunded_minor, \
     p.currency, p.paid_at, p.failure_reason, p.created_at";
const FROM: &str = "payments p JOIN invoices i ON i.id = p.invoice_id JOIN tenants t ON t.id = p.tenant_id \
     LEFT JOIN customers c ON c.id = i.customer_id";

#[derive(Debug, Clone, Default)]
pub struct PaymentQuery {
    pub provider: Option<String>,
    pub status: Option<String>,
    pub tenant: Option<Uuid>,
    pub invoice: Option<Uuid>,
    /// Succeeded since this moment (`24h` in a filter line: the last 24 hours, as the
    /// dashboard's card; `today`: since 00:00 UTC).
    pub paid_since: Option<DateTime<Utc>>,
    /// Words matched against the invoice number, the customer, the tenant and the provider's id.
    pub search: Option<String>,
    pub limit: usize,
    pub at: PageAt,
}

impl PaymentQuery {
    /// Reads a filter line: a provider or status word picks that filter, the rest searches.
    pub fn parse_filter(&mut self, line: &str) -> Result<(), String> {
        let mut rest = Vec::new();
        for word in line.split_whitespace() {
            let w = word.to_lowercase();
            if let Some(p) = w.strip_prefix("provider:") {
                self.provider = Some(p.to_owned());
            } else if let Some(s) = w.strip_prefix("status:") {
                self.status = Some(s.to_owned());
            } else if w == "today" || w == "24h" {
                let now = crate::db::now();
                self.paid_since = Some(if w == "today" {
                    crate::billing::figures::day_start(now)
                } else {
                    now - chrono::TimeDelta::hours(24)
                });
                self.status = Some("succeeded".into());
            } else if PROVIDERS.contains(&w.as_str()) {
                self.provider = Some(w);
            } else if STATUSES.contains(&w.as_str()) {
                self.status = Some(w);
            } else {
                rest.push(word);
            }
        }
        check(self.provider.as_deref(), &PROVIDERS, "provider")?;
        check(self.status.as_deref(), &STATUSES, "status")?;
        self.search = (!rest.is_empty()).then(|| rest.join(" "));
        Ok(())
    }
}

fn check(v: Option<&str>, allowed: &[&str], what: &str) -> Result<(), String> {
    match v {
        Some(x) if !allowed.contains(&x) => Err(format!("unknown {what} {x}: one of {}", allowed.join(", "))),
        _ => Ok(()),
    }
}

/// One page of payments the actor reaches, newest first.
pub async fn list(db: &Db, actor: &Actor, q: &PaymentQuery) -> Result<Page<Payment>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    check(q.provider.as_deref(), &PROVIDERS, "provider").map_err(|e| ServiceError::invalid("provider", e))?;
    check(q.status.as_deref(), &STATUSES, "status").map_err(|e| ServiceError::invalid("status", e))?;
    let limit = q.limit.clamp(1, crate::tenants::MAX_PAGE);
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = Vec::new();
    if let Some(p) = &q.provider {
        a.push(p.as_str().into());
        conds.push(format!("p.provider = ${}", a.len()));
    }
    if let Some(s) = &q.status {
        a.push(s.as_str().into());
        conds.push(format!("p.status = ${}", a.len()));
    }
    for t in [actor.tenant_id, q.tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("p.tenant_id = ${}", a.len()));
    }
    if let Some(since) = q.paid_since {
        a.push(since.into());
        conds.push(format!("p.paid_at >= ${}", a.len()));
    }
    if let Some(inv) = q.invoice {
        a.push(inv.into());
        conds.push(format!("p.invoice_id = ${}", a.len()));
    }
    if let Some(words) = q.search.as_deref() {
        for w in words.split_whitespace().take(8) {
            a.push(validate::like_contains(w).into());
            conds.push(format!(
                "lower(i.number || ' ' || coalesce(c.name, '') || ' ' || t.slug || ' ' || coalesce(p.external_id, '')) \
                 LIKE ${} ESCAPE '\\'",
                a.len()
            ));
        }
    }
    reseller::restrict(actor, REACH, "payments", &mut conds, &mut a)?;
    let order = apply_keyset(&["p.created_at", "p.id"], SortDir::Desc, &q.at, &mut conds, &mut a)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} {} ORDER BY {order} LIMIT {}",
        where_clause(&conds),
        limit + 1
    );
    let rows: Vec<Payment> = db.fetch_all(&sql, a).await?;
    Ok(finish(rows, limit, &q.at, |p| {
        Cursor(vec![KeyPart::Time(p.created_at), KeyPart::Uuid(p.id)])
    }))
}

/// One payment (id or short id) the actor reaches.
pub async fn show(db: &Db, actor: &Actor, key: &str) -> Result<Payment, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let id = crate::ids::expand(db, actor, &PAYMENTS, key).await?;
    let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::not_found("payment", key))?;
    let mut conds = vec!["p.id = $1".to_owned()];
    let mut a: Vec<Arg> = args![id];
    if let Some(t) = actor.tenant_id {
        a.push(t.into());
        conds.push(format!("p.tenant_id = ${}", a.len()));
    }
    reseller::restrict(actor, REACH, "payments", &mut conds, &mut a)?;
    db.fetch_optional(&format!("SELECT {COLUMNS} FROM {FROM} {}", where_clause(&conds)), a)
        .await?
        .ok_or_else(|| ServiceError::not_found("payment", key))
}

/// Every payment of one invoice, oldest first (the caller has checked the invoice's reach).
pub(crate) async fn of_invoice(tx: &mut Tx, invoice: Uuid) -> Result<Vec<Payment>, ServiceError> {
    tx.fetch_all(
        &format!("SELECT {COLUMNS} FROM {FROM} WHERE p.invoice_id = $1 ORDER BY p.created_at, p.id"),
        args![invoice],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_words_pick_provider_and_status() {
        let mut q = PaymentQuery::default();
        q.parse_filter("stripe refunded 000042").unwrap();
        assert_eq!(q.provider.as_deref(), Some("stripe"));
        assert_eq!(q.status.as_deref(), Some("refunded"));
        assert_eq!(q.search.as_deref(), Some("000042"));
        assert!(PaymentQuery::default().parse_filter("provider:paypal").is_err());
    }
}
