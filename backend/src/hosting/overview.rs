//! Everything the server screen shows, read in one call: the row, its recent points, the
//! failure feed, services per status, and the log (its audit rows and its jobs).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::metrics::{self, Failure, Point};
use super::servers::{self, Server, ServiceCount};
use crate::actor::Actor;
use crate::args;
use crate::authz::{allows, Permission};
use crate::db::{now, Db};
use crate::error::ServiceError;

/// One line of a server's log: an audit row or one of its jobs.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    /// `audit` or `job`.
    pub source: String,
    /// The audit action or the job kind.
    pub what: String,
    /// Who acted (audit) or the job's status.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerView {
    pub server: Server,
    /// The last 48 h (raw) and older hourly points within `since`, oldest first.
    pub points: Vec<Point>,
    pub failures: Vec<Failure>,
    pub services: Vec<ServiceCount>,
    pub log: Vec<LogLine>,
}

/// The server `key` with what its screen shows; the audit part only for actors who may read
/// the audit log.
pub async fn view(db: &Db, actor: &Actor, key: &str) -> Result<ServerView, ServiceError> {
    let server = servers::get(db, actor, key).await?;
    let points = metrics::points(db, actor, server.id, now() - TimeDelta::hours(48)).await?;
    let failures = metrics::failures(db, actor, Some(server.id), 10).await?;
    let services = servers::service_counts(db, actor, server.id).await?;
    let mut log: Vec<LogLine> = db
        .fetch_all(
            "SELECT created_at AS at, 'job' AS source, kind AS what, status AS detail FROM jobs \
             WHERE unique_key IN ($1, $2) ORDER BY created_at DESC LIMIT 20",
            args![
                format!("server.test:{}", server.id),
                format!("server.poll:{}", server.id)
            ],
        )
        .await?;
    if allows(actor, Permission::AuditRead) {
        let audit: Vec<LogLine> = db
            .fetch_all(
                "SELECT at, 'audit' AS source, action AS what, actor_name AS detail FROM audit_log \
                 WHERE entity_id = $1 ORDER BY seq DESC LIMIT 30",
                args![server.id.to_string()],
            )
            .await?;
        log.extend(audit);
    }
    log.sort_by_key(|l| std::cmp::Reverse(l.at));
    Ok(ServerView {
        server,
        points,
        failures,
        services,
        log,
    })
}
