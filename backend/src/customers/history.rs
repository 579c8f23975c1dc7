//! A customer's activity: the audit rows that touch it and the jobs that name it, newest
//! first. Readable by whoever may read the customer (`customers:read`), not only by holders
//! of `audit:read`: a reseller or a support agent needs the story of the customers it serves.
//!
//! A reseller that transferred a customer away no longer reaches it, yet the transfer was its
//! act: it still reads the history up to and including the transfer out of its tree.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::get;
use crate::actor::Actor;
use crate::authz::{require, Permission};
use crate::db::Arg;
use crate::error::ServiceError;
use crate::{args, Db};

/// How many rows of each source the history shows.
pub const HISTORY_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Activity {
    pub at: DateTime<Utc>,
    /// `audit` or `job`.
    pub source: String,
    /// Who acted (audit) or the queue (job).
    pub actor: String,
    /// The audit action or the job kind.
    pub action: String,
    /// The entity and its id (audit) or the job's status (job).
    pub detail: String,
}

#[derive(sqlx::FromRow)]
struct TransferOut {
    seq: i64,
    before: Option<String>,
}

/// The activity of customer `key` visible to `actor`, newest first, at most
/// [`HISTORY_LIMIT`] rows of each source.
pub async fn history(db: &Db, actor: &Actor, key: &str) -> Result<Vec<Activity>, ServiceError> {
    require(actor, Permission::CustomersRead)?;
    let (id, tenant, until) = match get(db, actor, key).await {
        Ok(c) => (c.id, c.tenant_id, None),
        Err(e @ ServiceError::NotFound { .. }) => match transferred_away(db, actor, key).await? {
            Some(found) => found,
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let text = id.to_string();
    let mut a: Vec<Arg> = args![tenant, text.clone(), format!("%{text}%")];
    let mut upto = String::new();
    if let Some(seq) = until {
        a.push(seq.into());
        upto = " AND seq <= $4".to_owned();
    }
    let limit = HISTORY_LIMIT;
    let mut rows: Vec<Activity> = db
        .fetch_all(
            &format!(
                "SELECT at, 'audit' AS source, actor_name AS actor, action, \
                 entity || ' ' || COALESCE(entity_id, '') AS detail FROM audit_log \
                 WHERE tenant_id = $1 AND (entity_id = $2 OR CAST(before AS TEXT) LIKE $3 \
                 OR CAST(after AS TEXT) LIKE $3){upto} ORDER BY seq DESC LIMIT {limit}"
            ),
            a,
        )
        .await?;
    // Jobs of a customer that was transferred away are the new owner's business.
    if until.is_none() {
        let jobs: Vec<Activity> = db
            .fetch_all(
                &format!(
                    "SELECT created_at AS at, 'job' AS source, queue AS actor, kind AS action, status AS detail \
                     FROM jobs WHERE tenant_id = $1 AND CAST(payload AS TEXT) LIKE $2 \
                     ORDER BY created_at DESC LIMIT {limit}"
                ),
                args![tenant, format!("%{text}%")],
            )
            .await?;
        rows.extend(jobs);
        rows.sort_by_key(|r| std::cmp::Reverse(r.at));
    }
    Ok(rows)
}

/// For a reseller-family actor that no longer reaches customer `key` (a whole id): the
/// customer's id, tenant and the seq of the last transfer out of the actor's tree, if any.
async fn transferred_away(
    db: &Db,
    actor: &Actor,
    key: &str,
) -> Result<Option<(Uuid, Uuid, Option<i64>)>, ServiceError> {
    let (Some(root), Some(tenant)) = (actor.reseller_root(), actor.tenant_id) else {
        return Ok(None);
    };
    let Ok(id) = Uuid::parse_str(key.trim()) else {
        return Ok(None);
    };
    let rows: Vec<TransferOut> = db
        .fetch_all(
            "SELECT seq, CAST(before AS TEXT) AS before FROM audit_log \
             WHERE tenant_id = $1 AND entity = 'customer' AND entity_id = $2 AND action = 'customer.transfer' \
             ORDER BY seq DESC",
            args![tenant, id.to_string()],
        )
        .await?;
    for r in rows {
        let from = r
            .before
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|v| v.get("reseller_id").and_then(|x| x.as_str()).map(str::to_owned))
            .and_then(|s| Uuid::parse_str(&s).ok());
        if let Some(from) = from {
            let n: i64 = db
                .scalar(
                    &format!(
                        "SELECT COUNT(*) FROM users WHERE id = $2 AND id IN ({})",
                        crate::reseller::subtree(1)
                    ),
                    args![root, from],
                )
                .await?;
            if n > 0 {
                return Ok(Some((id, tenant, Some(r.seq))));
            }
        }
    }
    Ok(None)
}

/// The pseudo-view name under which screens show [`history`] as a table.
pub const ACTIVITY_VIEW: &str = "customer_activity";

/// [`history`] as a browse table (one page), narrowed to rows containing `filter`.
pub async fn history_table(
    db: &Db,
    actor: &Actor,
    customer: Uuid,
    filter: Option<&str>,
) -> Result<crate::browse::Table, ServiceError> {
    use crate::browse::{ColumnInfo, Table};
    use crate::db::Cell;
    let needle = filter.map(|f| f.trim().to_lowercase()).filter(|f| !f.is_empty());
    let rows = history(db, actor, &customer.to_string())
        .await?
        .into_iter()
        .filter(|a| {
            needle.as_deref().is_none_or(|n| {
                [&a.source, &a.actor, &a.action, &a.detail]
                    .iter()
                    .any(|v| v.to_lowercase().contains(n))
            })
        })
        .map(|a| {
            vec![
                Cell::Time(a.at),
                Cell::Text(a.source),
                Cell::Text(a.actor),
                Cell::Text(a.action),
                Cell::Text(a.detail),
            ]
        })
        .collect();
    let col = |title| ColumnInfo { title, numeric: false };
    Ok(Table {
        columns: vec![
            col("When"),
            col("Source"),
            col("Who / queue"),
            col("Action"),
            col("Detail"),
        ],
        rows,
        has_next: false,
        has_prev: false,
        first: None,
        last: None,
        empty: "No activity yet.",
    })
}
