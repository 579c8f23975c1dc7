//! Verification: walking the chain with the key, and holding it against signed checkpoints.

use std::path::PathBuf;

use serde::Serialize;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::Db;
use crate::error::ServiceError;

use super::checkpoint::{read_checkpoints, Checkpoint};
use super::*;

/// The first row that breaks the chain and why (for a checkpoint finding: the checkpoint's
/// seq).
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
    /// Rows hashed with a key derived from the master key; the others are the plain SHA-256
    /// rows of earlier versions (a prefix of the chain).
    pub keyed_rows: i64,
    /// Signed checkpoints read and held against the chain.
    pub checkpoints: usize,
}

/// One audit row with the id of the master key its hash is keyed with.
#[derive(sqlx::FromRow)]
pub(super) struct ChainRow {
    #[sqlx(flatten)]
    pub record: AuditRecord,
    pub key_id: Option<String>,
}

/// Where the walk stands: the last row accepted.
pub(super) struct Walk {
    pub prev_seq: i64,
    pub prev_hash: String,
    pub rows: i64,
    pub keyed_rows: i64,
    pub keyed_seen: bool,
    /// When the deployment registered its first master key: later rows must be keyed.
    pub keyed_since: Option<DateTime<Utc>>,
}

impl Walk {
    pub fn genesis() -> Walk {
        Walk {
            prev_seq: 0,
            prev_hash: GENESIS.to_owned(),
            rows: 0,
            keyed_rows: 0,
            keyed_seen: false,
            keyed_since: None,
        }
    }
}

/// Walks the whole chain in seq order, recomputing every hash, and checks the checkpoints of
/// the configured file. Platform staff only: the chain spans every tenant.
pub async fn verify(db: &Db, actor: &Actor) -> Result<VerifyReport, ServiceError> {
    verify_with(db, actor, &[]).await
}

/// [`verify`], also checking the checkpoints in `extra` files (e.g. copies shipped elsewhere).
pub async fn verify_with(db: &Db, actor: &Actor, extra: &[PathBuf]) -> Result<VerifyReport, ServiceError> {
    require_platform(actor)?;
    let keys = db.audit_keys();
    let mut files: Vec<(PathBuf, bool)> = extra.iter().map(|p| (p.clone(), true)).collect();
    if let Some(default) = keys.and_then(AuditKeys::checkpoint_file) {
        files.push((default.to_path_buf(), false));
    }
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut report = VerifyReport {
        rows: 0,
        ok: true,
        first_bad: None,
        last_seq: None,
        head_hash: None,
        keyed_rows: 0,
        checkpoints: 0,
    };
    for (path, must_exist) in &files {
        match read_checkpoints(keys, path, *must_exist)? {
            Ok(mut cps) => checkpoints.append(&mut cps),
            Err(bad) => return Ok(fail(report, bad)),
        }
    }
    report.checkpoints = checkpoints.len();
    let mut walk = Walk::genesis();
    walk.keyed_since = keyed_since(db).await?;
    if let Some(bad) = walk_chain(db, keys, &mut walk, &checkpoints, &mut report).await? {
        return Ok(fail(report, bad));
    }
    // Rows a checkpoint saw that the chain no longer has: the tail was cut or the table wiped.
    if let Some(cp) = checkpoints.iter().max_by_key(|c| c.seq) {
        if cp.seq > walk.prev_seq {
            let reason = if walk.rows == 0 {
                format!(
                    "the audit table is empty, but the signed checkpoint of {} saw {} row(s) up to seq {}: the table was wiped",
                    cp.at, cp.rows, cp.seq
                )
            } else {
                format!(
                    "rows after seq {} are missing: the signed checkpoint of {} saw the chain up to seq {} ({} rows) — the tail was cut off",
                    walk.prev_seq, cp.at, cp.seq, cp.rows
                )
            };
            return Ok(fail(report, BadRow { seq: cp.seq, reason }));
        }
    }
    Ok(report)
}

fn fail(mut report: VerifyReport, bad: BadRow) -> VerifyReport {
    report.ok = false;
    report.first_bad = Some(bad);
    report
}

pub(super) fn require_platform(actor: &Actor) -> Result<(), ServiceError> {
    require(actor, Permission::AuditRead)?;
    if !actor.is_platform() {
        return Err(ServiceError::PermissionDenied(format!(
            "{} is confined to one tenant; the audit chain spans every tenant's rows",
            actor.name
        )));
    }
    Ok(())
}

/// When the deployment registered its first master key (`keys init`), if it has.
pub(super) async fn keyed_since(db: &Db) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let first: Option<(DateTime<Utc>,)> = db
        .fetch_optional(
            "SELECT registered_at FROM master_keys ORDER BY registered_at LIMIT 1",
            args![],
        )
        .await?;
    Ok(first.map(|f| f.0))
}

/// Streams the rows after `walk`'s position, checking each; stops at the first bad one.
pub(super) async fn walk_chain(
    db: &Db,
    keys: Option<&AuditKeys>,
    walk: &mut Walk,
    checkpoints: &[Checkpoint],
    report: &mut VerifyReport,
) -> Result<Option<BadRow>, ServiceError> {
    loop {
        let page: Vec<ChainRow> = db
            .fetch_all(
                &format!(
                    "SELECT {RECORD_COLUMNS}, key_id FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT {VERIFY_PAGE}"
                ),
                args![walk.prev_seq],
            )
            .await?;
        let full = page.len() == VERIFY_PAGE;
        for row in page {
            let r = &row.record;
            report.rows += 1;
            walk.rows += 1;
            report.last_seq = Some(r.seq);
            report.head_hash.clone_from(&r.hash);
            let reason = match check_row(r, walk.prev_seq, &walk.prev_hash) {
                Some(reason) => Some(reason),
                None => check_key(keys, &row, walk)?,
            };
            let reason = reason.or_else(|| against_checkpoints(r, walk.rows, checkpoints));
            if let Some(reason) = reason {
                return Ok(Some(BadRow { seq: r.seq, reason }));
            }
            if row.key_id.is_some() {
                walk.keyed_seen = true;
                walk.keyed_rows += 1;
                report.keyed_rows += 1;
            }
            walk.prev_seq = r.seq;
            walk.prev_hash = r.hash.clone().unwrap_or_default();
        }
        if !full {
            return Ok(None);
        }
    }
}

/// A row the signed checkpoints disagree with: the chain was rebuilt from here or earlier.
fn against_checkpoints(r: &AuditRecord, rows: i64, checkpoints: &[Checkpoint]) -> Option<String> {
    let cp = checkpoints.iter().find(|c| c.seq == r.seq)?;
    if r.hash.as_deref() != Some(cp.head.as_str()) {
        return Some(format!(
            "hash differs from the signed checkpoint of {}: the chain was rewritten up to this row",
            cp.at
        ));
    }
    if rows != cp.rows {
        return Some(format!(
            "{rows} rows up to here, but the signed checkpoint of {} counted {}",
            cp.at, cp.rows
        ));
    }
    None
}

/// Checks the row's hash under its key (linking and seq are [`check_row`]'s).
fn check_key(keys: Option<&AuditKeys>, row: &ChainRow, walk: &Walk) -> Result<Option<String>, ServiceError> {
    let r = &row.record;
    let stored = r.hash.as_deref().unwrap_or("");
    let prev = r.prev_hash.as_deref().unwrap_or("");
    let Some(id) = row.key_id.as_deref() else {
        if walk.keyed_seen {
            return Ok(Some(
                "row is not keyed although earlier rows are: the chain was recomputed without the master key".into(),
            ));
        }
        if walk.keyed_since.is_some_and(|since| r.at >= since) {
            return Ok(Some(
                "row is not keyed although it was written after the deployment registered its master key: \
                 the chain was recomputed without the key"
                    .into(),
            ));
        }
        return Ok((row_hash(prev, r) != stored).then(|| "hash mismatch: this row's content was altered".into()));
    };
    let Some(keys) = keys else {
        return Err(ServiceError::Unavailable(format!(
            "the audit chain is keyed (seq {} onwards) and this process has no master key to verify it: {}",
            r.seq, "run painel as the deployment's user or set PAINEL_MASTER_KEY"
        )));
    };
    match keyed_row_hash(keys, id, prev, r) {
        None => Ok(Some(format!(
            "row claims master key {id}, which this process does not hold (a retired key missing from \
             master.key.retired / PAINEL_MASTER_KEY_PREVIOUS, or a forged key id)"
        ))),
        Some(h) if h != stored => Ok(Some(
            "hash mismatch: this row's content was altered, or the chain was recomputed without the right key".into(),
        )),
        Some(_) => Ok(None),
    }
}

/// Why `r` does not follow the row (`prev_seq`, `prev_hash`) by seq and link, if it does not.
pub(super) fn check_row(r: &AuditRecord, prev_seq: i64, prev_hash: &str) -> Option<String> {
    if r.seq != prev_seq + 1 {
        let missing = if r.seq - 1 == prev_seq + 1 {
            format!("seq {} is missing", prev_seq + 1)
        } else {
            format!("seq {}..{} are missing", prev_seq + 1, r.seq - 1)
        };
        return Some(format!("{missing}: rows before this one were removed"));
    }
    if r.hash.is_none() {
        return Some("row has no hash (written before the chain existed or forged)".into());
    }
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
    None
}
