//! `audit.checkpoint`: signs and appends an audit checkpoint (docs/adr/0013). A default
//! schedule runs it regularly, so a cut-off tail or a rebuilt chain is caught against a
//! checkpoint at most one period old.

use super::{Job, JobError};
use crate::actor::Actor;
use crate::audit;
use crate::db::Db;
use crate::error::ServiceError;
use crate::secrets;

/// Takes a checkpoint as the system. Without the master key of a set-up deployment (a worker
/// not run as the deployment's user) or over a broken chain nothing is signed: the job fails
/// permanently with the reason, which lands in the dead letters for the operators.
pub async fn audit_checkpoint(_job: Job, db: Db) -> Result<(), JobError> {
    if db.audit_keys().is_none() {
        let registered = secrets::any_registered(&db)
            .await
            .map_err(|e| JobError::Transient(e.to_string()))?;
        if !registered {
            // A deployment never set up (development, a fresh install) has no chain to vouch
            // for: say so in the log rather than filling the dead letters every period.
            tracing::warn!("audit checkpoint skipped: no master key is registered (run `painel keys init`)");
            return Ok(());
        }
    }
    match audit::checkpoint(&db, &Actor::system("worker")).await {
        Ok(cp) => {
            tracing::info!(seq = cp.seq, rows = cp.rows, "audit checkpoint written");
            Ok(())
        }
        Err(e @ (ServiceError::Database(_) | ServiceError::Unavailable(_))) if db.audit_keys().is_some() => {
            Err(JobError::Transient(e.to_string()))
        }
        Err(e) => Err(JobError::Permanent(e.to_string())),
    }
}
