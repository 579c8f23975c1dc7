//! What `painel demo` needs to make the sandbox's sites match the seeded certificates, and the
//! one certificate it turns expired so that AutoSSL renews it live (docs/adr/0032).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db};
use crate::error::ServiceError;

/// A hosted domain's certificate as seeded, with the server that hosts it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DemoSite {
    pub certificate_id: Uuid,
    pub server: String,
    pub domain: String,
    /// The seeded lifecycle (active, expiring, expired, failed, pending).
    pub status: String,
    pub not_after: Option<DateTime<Utc>>,
}

/// Every certificate of a live service on a WHM server.
pub async fn demo_sites(db: &Db) -> Result<Vec<DemoSite>, ServiceError> {
    db.fetch_all(
        "SELECT x.id AS certificate_id, s.name AS server, x.common_name AS domain, x.status, x.not_after \
         FROM certificates x JOIN services sv ON sv.id = x.service_id JOIN servers s ON s.id = sv.server_id \
         WHERE sv.status IN ('active', 'suspended') AND s.kind IN ('whm', 'cpanel') ORDER BY x.common_name",
        args![],
    )
    .await
}

/// Turns the first valid AutoSSL certificate on a server that answers into one that expired
/// two days ago (audited as `actor`); returns its domain.
pub async fn expire_one(db: &Db, actor: &Actor) -> Result<Option<String>, ServiceError> {
    let row: Option<(Uuid, Uuid, String)> = db
        .fetch_optional(
            "SELECT x.id, x.tenant_id, x.common_name FROM certificates x JOIN services sv ON sv.id = x.service_id \
             JOIN servers s ON s.id = sv.server_id WHERE x.status = 'active' AND x.provider = 'autossl' \
             AND sv.status = 'active' AND s.status = 'online' AND sv.username IS NOT NULL \
             ORDER BY x.common_name LIMIT 1",
            args![],
        )
        .await?;
    let Some((id, tenant, domain)) = row else {
        return Ok(None);
    };
    let at = now();
    let expired = at - TimeDelta::days(2);
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE certificates SET status = 'expired', check_status = 'expired', not_before = $2, not_after = $3, \
         last_error = $4, updated_at = $5 WHERE id = $1",
        args![
            id,
            expired - TimeDelta::days(90),
            expired,
            format!("expired {}", expired.format("%Y-%m-%d %H:%M UTC")),
            at
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "certificate.demo_expire",
            entity: "certificate",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({"domain": domain, "not_after": expired})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(domain))
}
