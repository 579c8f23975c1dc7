//! `audit.checkpoint`: signs and appends an audit checkpoint (docs/adr/0013). A default
//! schedule runs it regularly, so a cut-off tail or a rebuilt chain is caught against a
//! checkpoint at most one period old.

use super::{Job, JobError};
use crate::actor::Actor;
use crate::audit;
use crate::db::Db;
use crate::error::ServiceError;

/// Takes a checkpoint as the system. Without the master key (a worker not run as the
/// deployment's user) or over a broken chain nothing is signed: the job fails permanently
/// with the reason, which lands in the dead letters for the operators.
pub async fn audit_checkpoint(_job: Job, db: Db) -> Result<(), JobError> {
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
