//! The money figures of the dashboard (docs/adr/0025), from the invoices, payments and
//! services tables and scoped like every other figure: paid in the last 24 hours, overdue
//! (count and sum), and MRR — the active services' prices as a monthly equivalent.
//!
//! "Today" is a rolling 24 hours, not a UTC calendar day: the operators are in Brazil (UTC−3),
//! where a UTC day would start at nine in the evening.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::authz::{allows, require, Permission};
use crate::billing::invoices::{self, Status};
use crate::dashboard::Stat;
use crate::db::{now, Arg, Db};
use crate::error::ServiceError;
use crate::money;
use crate::page::where_clause;
use crate::reseller::{self, Reach};

/// Months a billing cycle covers; one-time charges recur never and count nothing.
pub fn cycle_months(cycle: &str) -> Option<i64> {
    Some(match cycle {
        "monthly" => 1,
        "quarterly" => 3,
        "semiannual" => 6,
        "annual" => 12,
        "biennial" => 24,
        "triennial" => 36,
        _ => return None,
    })
}

/// Monthly recurring revenue per currency from (cycle, currency, summed price) rows. Each
/// cycle's sum is divided once (rounded down), so rounding loses less than a minor unit per
/// cycle and currency. Pure, so it is tested without a database.
pub fn mrr(rows: &[(String, String, i64)]) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for (cycle, currency, sum) in rows {
        if let Some(m) = cycle_months(cycle) {
            *out.entry(currency.clone()).or_default() += sum / m;
        }
    }
    out
}

/// `1,234.00 BRL · 10.00 USD`, or `0` when there is nothing.
pub fn join(sums: &BTreeMap<String, i64>) -> String {
    if sums.is_empty() {
        return "0".into();
    }
    sums.iter()
        .map(|(c, v)| money::format(*v, c))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The start of today (UTC), where "paid today" begins.
pub fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_hms_opt(0, 0, 0).map_or(at, |d| d.and_utc())
}

/// Payments that succeeded since `since`: (count, sum per currency).
pub async fn paid_since(
    db: &Db,
    actor: &Actor,
    since: DateTime<Utc>,
    tenant: Option<Uuid>,
) -> Result<(i64, BTreeMap<String, i64>), ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut a: Vec<Arg> = args![since];
    let mut conds = vec!["p.status = 'succeeded'".to_owned(), "p.paid_at >= $1".to_owned()];
    for t in [actor.tenant_id, tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("p.tenant_id = ${}", a.len()));
    }
    let reach = Reach::Owned {
        reseller: Some("i.user_id"),
        customer: Some("i.customer_id"),
    };
    reseller::restrict(actor, reach, "payments", &mut conds, &mut a)?;
    let rows: Vec<(String, i64, i64)> = db
        .fetch_all(
            &format!(
                "SELECT p.currency, COUNT(*), CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) FROM payments p \
                 JOIN invoices i ON i.id = p.invoice_id {} GROUP BY p.currency",
                where_clause(&conds)
            ),
            a,
        )
        .await?;
    let count = rows.iter().map(|r| r.1).sum();
    Ok((count, rows.into_iter().map(|(c, _, s)| (c, s)).collect()))
}

/// Active services (count) and their monthly-equivalent price per currency.
pub async fn recurring(
    db: &Db,
    actor: &Actor,
    tenant: Option<Uuid>,
) -> Result<(i64, BTreeMap<String, i64>), ServiceError> {
    require(actor, Permission::BillingRead)?;
    let mut a: Vec<Arg> = Vec::new();
    let mut conds = vec!["s.status = 'active'".to_owned()];
    for t in [actor.tenant_id, tenant].into_iter().flatten() {
        a.push(t.into());
        conds.push(format!("s.tenant_id = ${}", a.len()));
    }
    let reach = Reach::Owned {
        reseller: None,
        customer: Some("s.customer_id"),
    };
    reseller::restrict(actor, reach, "services", &mut conds, &mut a)?;
    let rows: Vec<(String, String, i64, i64)> = db
        .fetch_all(
            &format!(
                "SELECT s.billing_cycle, s.currency, COUNT(*), CAST(COALESCE(SUM(s.price_minor), 0) AS BIGINT) \
                 FROM services s {} GROUP BY s.billing_cycle, s.currency",
                where_clause(&conds)
            ),
            a,
        )
        .await?;
    let count = rows.iter().map(|r| r.2).sum();
    let sums: Vec<(String, String, i64)> = rows.into_iter().map(|(c, cur, _, s)| (c, cur, s)).collect();
    Ok((count, mrr(&sums)))
}

/// The three money cards of the dashboard, each leading to its filtered list.
pub async fn dashboard(db: &Db, actor: &Actor) -> Result<Vec<Stat>, ServiceError> {
    let (paid, paid_sums) = paid_since(db, actor, now() - chrono::TimeDelta::hours(24), None).await?;
    let overdue = invoices::totals(db, actor, Status::Overdue, None).await?;
    let overdue_count = overdue.iter().map(|f| f.count).sum();
    let overdue_sums: BTreeMap<String, i64> = overdue.iter().map(|f| (f.currency.clone(), f.sum_minor)).collect();
    let mut out = vec![
        Stat {
            label: "Paid (24 h)",
            value: paid,
            route: "billing/payments?24h",
            text: Some(format!("{paid} · {}", join(&paid_sums))),
        },
        Stat {
            label: "Overdue invoices",
            value: overdue_count,
            route: "billing/invoices?overdue",
            text: Some(format!("{overdue_count} · {}", join(&overdue_sums))),
        },
    ];
    if allows(actor, Permission::ServicesRead) {
        let (active, sums) = recurring(db, actor, None).await?;
        out.push(Stat {
            label: "MRR",
            value: active,
            route: "services/list?active",
            text: Some(join(&sums)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrr_is_the_monthly_equivalent_and_ignores_one_time() {
        let rows = vec![
            ("monthly".to_owned(), "BRL".to_owned(), 10_000),
            ("annual".to_owned(), "BRL".to_owned(), 120_000),
            ("quarterly".to_owned(), "USD".to_owned(), 3_000),
            ("one_time".to_owned(), "BRL".to_owned(), 99_999),
        ];
        let m = mrr(&rows);
        assert_eq!(m.get("BRL"), Some(&20_000));
        assert_eq!(m.get("USD"), Some(&1_000));
        assert_eq!(join(&m), "200.00 BRL · 10.00 USD");
        assert_eq!(join(&BTreeMap::new()), "0");
    }
}
