//! Writing audit rows. Called by every mutating service function inside its own
//! transaction, so a change and its audit entry commit or roll back together.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::db::{now, Tx};
use crate::error::ServiceError;

/// What changed: `entity` and `action` are stable identifiers (`tenant`, `tenant.suspend`).
pub struct Change<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(tx: &mut Tx, actor: &Actor, change: Change<'_>) -> Result<Uuid, ServiceError> {
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO audit_log (id, at, actor_user_id, actor_name, actor_role, tenant_id, action, entity, \
         entity_id, before, after, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        args![
            id,
            now(),
            actor.user_id,
            actor.name.as_str(),
            actor.role.as_str(),
            change.tenant_id,
            change.action,
            change.entity,
            change.entity_id,
            change.before,
            change.after,
            actor.source.as_str(),
        ],
    )
    .await?;
    Ok(id)
}

/// Serialises a record for the before/after columns; a value that cannot be serialised is
/// recorded as null rather than failing the change it describes.
pub fn snapshot<T: Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

/// One audit row as the screens and `audit` verbs show it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub actor_role: String,
    pub tenant_id: Option<Uuid>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub source: String,
}
