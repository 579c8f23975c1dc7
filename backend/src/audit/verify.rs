//! Verification: walking the hash chain.

use serde::Serialize;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::Db;
use crate::error::ServiceError;

use super::*;

/// The first row that breaks the chain and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows examined (all of them when `ok`; up to and including the bad one otherwise).
    pub rows: i64,
    pub ok: bool,
    pub first_bad: Option<BadRow>,
    /// seq and hash of the last row examined: keep them elsewhere to detect a cut-off tail.
    pub last_seq: Option<i64>,
    pub head_hash: Option<String>,
}

/// Walks the whole chain in seq order, recomputing every hash. Platform staff only: the
/// chain spans every tenant.
pub async fn verify(db: &Db, actor: &Actor) -> Result<VerifyReport, ServiceError> {
    require(actor, Permission::AuditRead)?;
    if !actor.is_platform() {
        return Err(ServiceError::PermissionDenied(format!(
            "{} is confined to one tenant; verifying the audit chain reads every tenant's rows",
            actor.name
        )));
    }
    let mut report = VerifyReport {
        rows: 0,
        ok: true,
        first_bad: None,
        last_seq: None,
        head_hash: None,
    };
    let mut prev_seq = 0i64;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let page: Vec<AuditRecord> = db
            .fetch_all(
                &format!("SELECT {RECORD_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT {VERIFY_PAGE}"),
                args![prev_seq],
            )
            .await?;
        let full = page.len() == VERIFY_PAGE;
        for r in page {
            report.rows += 1;
            report.last_seq = Some(r.seq);
            report.head_hash.clone_from(&r.hash);
            if let Some(reason) = check_row(&r, prev_seq, &prev_hash) {
                report.ok = false;
                report.first_bad = Some(BadRow { seq: r.seq, reason });
                return Ok(report);
            }
            prev_seq = r.seq;
            prev_hash = r.hash.unwrap_or_default();
        }
        if !full {
            return Ok(report);
        }
    }
}

/// Why `r` does not follow the row (`prev_seq`, `prev_hash`), if it does not.
pub(super) fn check_row(r: &AuditRecord, prev_seq: i64, prev_hash: &str) -> Option<String> {
    if r.seq != prev_seq + 1 {
        let missing = if r.seq - 1 == prev_seq + 1 {
            format!("seq {} is missing", prev_seq + 1)
        } else {
            format!("seq {}..{} are missing", prev_seq + 1, r.seq - 1)
        };
        return Some(format!("{missing}: rows before this one were removed"));
    }
    let Some(hash) = r.hash.as_deref() else {
        return Some("row has no hash (written before the chain existed or forged)".into());
    };
    let stored_prev = r.prev_hash.as_deref().unwrap_or("");
    if stored_prev != prev_hash {
        let of = if prev_seq == 0 {
            "the genesis value".to_owned()
        } else {
            format!("the hash of seq {prev_seq}")
        };
        return Some(format!(
            "prev_hash does not match {of}: a row before this one was removed or rewritten"
        ));
    }
    if row_hash(stored_prev, r) != hash {
        return Some("hash mismatch: this row's content was altered".into());
    }
    None
}
