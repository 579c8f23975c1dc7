//! Writing what a check read: the certificate row, an audit row when its state changes, and
//! the incident rule — a critical certificate (expired, under [`super::INCIDENT_DAYS`] days,
//! missing, mismatched, untrusted) has one open incident, resolved by the first check that
//! finds it fixed. Same transaction for all of it.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::probe::Reading;
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{Backend, Db, Tx};
use crate::error::ServiceError;

/// What recording changed, for the job's log and the tests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recorded {
    pub previous: String,
    pub changed: bool,
    pub incident_opened: Option<Uuid>,
    pub incident_resolved: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Uuid,
    common_name: String,
    state: String,
    fingerprint: Option<String>,
}

async fn open_incident(tx: &mut Tx, cert: Uuid) -> Result<Option<Uuid>, ServiceError> {
    let id: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM incidents WHERE certificate_id = $1 AND status <> 'resolved'",
            args![cert],
        )
        .await?;
    Ok(id.map(|(i,)| i))
}

/// Records `reading` for certificate `id` at `at`; `None` when the row is gone.
pub async fn record(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    reading: &Reading,
    at: DateTime<Utc>,
) -> Result<Option<Recorded>, ServiceError> {
    let mut tx = db.begin().await?;
    let mut sql = format!(
        "SELECT x.tenant_id, x.common_name, {} AS state, x.fingerprint FROM certificates x WHERE x.id = $1",
        super::STATE_SQL
    );
    if tx.backend() == Backend::Postgres {
        sql.push_str(" FOR UPDATE");
    }
    let Some(row) = tx.fetch_optional::<Row>(&sql, args![id]).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let state = reading.state.as_str();
    let error: Option<String> = reading.error.as_ref().map(|e| e.chars().take(500).collect());
    let read_something = reading.fingerprint.is_some();
    // A failed connection keeps what was last read (issuer, dates): it says nothing new of them.
    tx.execute(
        "UPDATE certificates SET check_status = $2, status = $3, last_checked_at = $4, last_error = $5, updated_at = $4, \
         issuer = CASE WHEN $6 THEN $7 ELSE issuer END, subject = CASE WHEN $6 THEN $8 ELSE subject END, \
         san = CASE WHEN $6 THEN $9 ELSE san END, not_before = CASE WHEN $6 THEN $10 ELSE not_before END, \
         not_after = CASE WHEN $6 THEN $11 ELSE not_after END, fingerprint = CASE WHEN $6 THEN $12 ELSE fingerprint END \
         WHERE id = $1",
        args![
            id,
            state,
            reading.state.lifecycle(),
            at,
            error.clone(),
            read_something,
            reading.issuer.clone(),
            reading.subject.clone(),
            json!(reading.sans),
            reading.not_before,
            reading.not_after,
            reading.fingerprint.clone()
        ],
    )
    .await?;
    let renewed = read_something && row.fingerprint.is_some() && row.fingerprint != reading.fingerprint;
    let mut rec = Recorded {
        previous: row.state.clone(),
        changed: row.state != state || renewed,
        ..Recorded::default()
    };
    if rec.changed {
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "certificate.check",
                entity: "certificate",
                entity_id: Some(id.to_string()),
                tenant_id: Some(row.tenant_id),
                before: Some(json!({"state": row.state, "fingerprint": row.fingerprint})),
                after: Some(json!({
                    "domain": row.common_name, "state": state, "not_after": reading.not_after,
                    "issuer": reading.issuer, "fingerprint": reading.fingerprint, "error": error,
                })),
            },
        )
        .await?;
    }
    let days_left = reading.not_after.map(|t| super::days_between(at, t));
    let critical = super::severity(state, days_left, i64::MAX) == "critical";
    let open = open_incident(&mut tx, id).await?;
    if critical && open.is_none() {
        let incident = Uuid::now_v7();
        let title = format!("SSL {state}: {}", row.common_name);
        let description = match (&error, days_left) {
            (Some(e), _) => e.clone(),
            (None, Some(d)) => format!("certificate expires in {d} day(s)"),
            (None, None) => state.to_owned(),
        };
        tx.execute(
            "INSERT INTO incidents (id, tenant_id, certificate_id, title, description, severity, status, source, \
             started_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'high', 'investigating', 'health_check', $6, $6, $6)",
            args![incident, row.tenant_id, id, title.as_str(), description.as_str(), at],
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "incident.open",
                entity: "incident",
                entity_id: Some(incident.to_string()),
                tenant_id: Some(row.tenant_id),
                before: None,
                after: Some(json!({"title": title, "certificate_id": id, "state": state})),
            },
        )
        .await?;
        rec.incident_opened = Some(incident);
    } else if let Some(incident) = open.filter(|_| !critical && state != "unreachable") {
        // An unreachable site says nothing of its certificate: the incident stays until a
        // check reads one that is fine.
        tx.execute(
            "UPDATE incidents SET status = 'resolved', resolved_at = $2, resolution_notes = $3, updated_at = $2 WHERE id = $1",
            args![incident, at, format!("{} serves a {state} certificate", row.common_name)],
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "incident.resolve",
                entity: "incident",
                entity_id: Some(incident.to_string()),
                tenant_id: Some(row.tenant_id),
                before: Some(json!({"status": "investigating"})),
                after: Some(json!({"status": "resolved", "domain": row.common_name, "state": state})),
            },
        )
        .await?;
        rec.incident_resolved = Some(incident);
    }
    tx.commit().await?;
    Ok(Some(rec))
}
