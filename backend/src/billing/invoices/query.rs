//! The invoices list as screens and verbs read it (docs/adr/0025): keyset pages newest first,
//! a status filter (overdue = pending past due), a tenant, a customer, and a search over the
//! number, the customer and the tenant. The `/` line of the screen and `painel invoices list`
//! share [`InvoiceQuery::parse_filter`], so `overdue acme` means the same in both.

use uuid::Uuid;

use super::{columns, Invoice, Status, FROM, REACH};
use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Db};
use crate::error::ServiceError;
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};
use crate::reseller;
use crate::validate;

#[derive(Debug, Clone, Default)]
pub struct InvoiceQuery {
    pub status: Option<Status>,
    pub tenant: Option<Uuid>,
    pub customer: Option<Uuid>,
    /// Words matched against the number, the customer's name and the tenant's slug.
    pub search: Option<String>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    pub limit: usize,
    pub at: PageAt,
}

impl InvoiceQuery {
    /// Reads a filter line: a status word (`overdue`, `status:paid`) picks the status, the
    /// rest is the search. Two status words are refused rather than one silently winning.
    pub fn parse_filter(&mut self, line: &str) -> Result<(), String> {
        let mut rest = Vec::new();
        for word in line.split_whitespace() {
            let bare = word.strip_prefix("status:").unwrap_or(word);
            match Status::parse(bare) {
                Some(s) if self.status.is_some_and(|x| x != s) => {
                    return Err(format!(
                        "two statuses: {} and {}",
                        self.status.map_or("", Status::as_str),
                        s.as_str()
                    ))
                }
                Some(s) => self.status = Some(s),
                None if word.starts_with("status:") => {
                    return Err(format!(
                        "unknown status {bare}: draft, pending, overdue, paid, cancelled or refunded"
                    ))
                }
                None => rest.push(word),
            }
        }
        self.search = (!rest.is_empty()).then(|| rest.join(" "));
        Ok(())
    }
}

/// The total of a status filter over the actor's invoices, shared by lists and the dashboard:
/// `overdue` is stored `overdue` or pending past its due date; `pending` is pending, not due.
pub(crate) fn status_cond(s: Status, now_param: usize, a: &mut Vec<Arg>) -> String {
    match s {
        Status::Overdue => {
            format!("(i.status = 'overdue' OR (i.status = 'pending' AND i.due_at < ${now_param}))")
        }
        Status::Pending => format!("i.status = 'pending' AND i.due_at >= ${now_param}"),
        s => {
            a.push(s.as_str().into());
            format!("i.status = ${}", a.len())
        }
    }
}

/// One page of the invoices the actor reaches.
pub async fn page(db: &Db, actor: &Actor, q: &InvoiceQuery) -> Result<Page<Invoice>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let limit = q.limit.clamp(1, crate::tenants::MAX_PAGE);
    let mut conds = Vec::new();
    let mut a: Vec<Arg> = args![now()];
    if let Some(s) = q.status {
        let c = status_cond(s, 1, &mut a);
        conds.push(c);
    }
    for t in [actor.tenant_id, q.tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("i.tenant_id = ${}", a.len()));
    }
    if let Some(c) = q.customer {
        a.push(c.into());
        conds.push(format!("i.customer_id = ${}", a.len()));
    }
    if let Some(words) = q.search.as_deref() {
        for w in words.split_whitespace().take(8) {
            a.push(validate::like_contains(w).into());
            conds.push(format!(
                "lower(i.number || ' ' || coalesce(c.name, '') || ' ' || t.slug) LIKE ${} ESCAPE '\\'",
                a.len()
            ));
        }
    }
    reseller::restrict(actor, REACH, "invoices", &mut conds, &mut a)?;
    let dir = if q.oldest_first { SortDir::Asc } else { SortDir::Desc };
    let order = apply_keyset(&["i.created_at", "i.id"], dir, &q.at, &mut conds, &mut a)?;
    let sql = format!(
        "SELECT {} FROM {FROM} {} ORDER BY {order} LIMIT {}",
        columns(1),
        where_clause(&conds),
        limit + 1
    );
    let rows: Vec<Invoice> = db.fetch_all(&sql, a).await?;
    Ok(finish(rows, limit, &q.at, |i| {
        Cursor(vec![KeyPart::Time(i.created_at), KeyPart::Uuid(i.id)])
    }))
}

/// Sum and count of money figures, per currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Figure {
    pub currency: String,
    pub count: i64,
    pub sum_minor: i64,
}

/// Counts and sums per currency of the actor's invoices in `status` (overdue computed).
pub async fn totals(db: &Db, actor: &Actor, status: Status, tenant: Option<Uuid>) -> Result<Vec<Figure>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut a: Vec<Arg> = args![now()];
    let mut conds = vec![status_cond(status, 1, &mut a)];
    for t in [actor.tenant_id, tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("i.tenant_id = ${}", a.len()));
    }
    reseller::restrict(actor, REACH, "invoices", &mut conds, &mut a)?;
    db.fetch_all(
        &format!(
            "SELECT i.currency, COUNT(*) AS count, CAST(COALESCE(SUM(i.total_minor), 0) AS BIGINT) AS sum_minor \
             FROM invoices i {} GROUP BY i.currency ORDER BY i.currency",
            where_clause(&conds)
        ),
        a,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_words_pick_the_status_and_leave_the_search() {
        let mut q = InvoiceQuery::default();
        q.parse_filter("overdue acme 0001").unwrap();
        assert_eq!(q.status, Some(Status::Overdue));
        assert_eq!(q.search.as_deref(), Some("acme 0001"));
        let mut q = InvoiceQuery::default();
        q.parse_filter("status:paid").unwrap();
        assert_eq!((q.status, q.search), (Some(Status::Paid), None));
        assert!(InvoiceQuery::default().parse_filter("paid overdue").is_err());
        assert!(InvoiceQuery::default().parse_filter("status:open").is_err());
    }
}
