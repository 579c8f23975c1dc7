//! What a critical failure leaves for on-call: the migration failed with its error (the
//! failure feed is the failed migrations, [`super::failures`]) and an incident naming it, both
//! audited in the failure's transaction.

use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Tx};
use crate::error::ServiceError;

/// Opens the incident of a critical migration failure; returns its id.
pub(super) async fn open_incident(
    tx: &mut Tx,
    actor: &Actor,
    tenant: Uuid,
    migration: Uuid,
    server: &str,
    error: &str,
) -> Result<Uuid, ServiceError> {
    let id = Uuid::now_v7();
    let at = now();
    let short: String = migration
        .simple()
        .to_string()
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let title = format!("Migration {short} to {server} failed");
    let description = format!("The WHM transfer session stopped on a critical error: {error}. The session was aborted; its whole log is kept on the migration.");
    // Not tied to the server row: a server keeps at most one open job incident (its
    // provisioning's), and a failed migration is the migration's matter.
    tx.execute(
        "INSERT INTO incidents (id, tenant_id, server_id, title, description, severity, status, source, started_at, \
         created_at, updated_at) VALUES ($1, $2, NULL, $3, $4, 'high', 'investigating', 'job', $5, $5, $5)",
        args![id, tenant, title.as_str(), description.as_str(), at],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "incident.open",
            entity: "incident",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({"title": title, "migration": migration, "error": error})),
        },
    )
    .await?;
    Ok(id)
}
