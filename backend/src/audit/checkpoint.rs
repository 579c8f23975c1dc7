//! Signed checkpoints, kept outside the database (docs/adr/0013): `{seq, head, rows, at,
//! key_id, mac}` per line of `audit-checkpoints.jsonl` (0600) in the data dir, and on stdout
//! for shipping elsewhere. The MAC is an HMAC-SHA256 under a key derived from the master key
//! (not the chain's key), so neither a database writer nor someone who learnt a chain key can
//! forge one. [`verify_with`] holds the chain against them: rows a checkpoint saw that are
//! gone (a cut tail, a wiped table), or a head that differs (a rebuilt chain), are reported.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::actor::Actor;
use crate::db::{now, Db};
use crate::error::ServiceError;

use super::verify::{keyed_since, require_platform, walk_chain, BadRow, VerifyReport, Walk};
use super::*;

/// One signed checkpoint: the chain had `rows` rows up to `seq`, whose hash was `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub head: String,
    pub rows: i64,
    /// When it was taken (RFC 3339, UTC, microseconds) — signed as written.
    pub at: String,
    /// The master key whose derived checkpoint key signed it.
    pub key_id: String,
    /// HMAC-SHA256 (hex) of [`Checkpoint::signed_text`].
    pub mac: String,
}

impl Checkpoint {
    fn signed_text(&self) -> String {
        format!(
            "painel audit checkpoint v1\n{}\n{}\n{}\n{}\n{}",
            self.seq, self.head, self.rows, self.at, self.key_id
        )
    }

    /// Whether the MAC verifies under `keys`; `None` when they lack the signing master key.
    fn authentic(&self, keys: &AuditKeys) -> Option<bool> {
        let want = keys.checkpoint_mac(&self.key_id, &self.signed_text())?;
        Some(bool::from(want.as_bytes().ct_eq(self.mac.as_bytes())))
    }
}

/// Reads and authenticates every checkpoint of `path`. A missing file is no checkpoint (unless
/// `must_exist`); a line that does not parse or verify is the finding (`Err(BadRow)`).
pub(super) fn read_checkpoints(
    keys: Option<&AuditKeys>,
    path: &Path,
    must_exist: bool,
) -> Result<Result<Vec<Checkpoint>, BadRow>, ServiceError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(Ok(Vec::new())),
        Err(e) => {
            return Err(ServiceError::Unavailable(format!(
                "cannot read checkpoints {}: {e}",
                path.display()
            )))
        }
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let n = i + 1;
        let bad = |reason: String| Ok(Err(BadRow { seq: 0, reason }));
        let Ok(cp) = serde_json::from_str::<Checkpoint>(line) else {
            return bad(format!(
                "checkpoint line {n} of {} is not a checkpoint (edited?)",
                path.display()
            ));
        };
        let Some(keys) = keys else {
            return Err(ServiceError::Unavailable(format!(
                "checking the checkpoints of {} needs the master key: run painel as the deployment's user or set PAINEL_MASTER_KEY",
                path.display()
            )));
        };
        match cp.authentic(keys) {
            Some(true) => out.push(cp),
            Some(false) => {
                return Ok(Err(BadRow {
                    seq: cp.seq,
                    reason: format!(
                        "checkpoint line {n} of {} is forged or edited: its signature does not verify",
                        path.display()
                    ),
                }))
            }
            None => {
                return Ok(Err(BadRow {
                    seq: cp.seq,
                    reason: format!(
                        "checkpoint line {n} of {} is signed with master key {}, which this process does not hold",
                        path.display(),
                        cp.key_id
                    ),
                }))
            }
        }
    }
    Ok(Ok(out))
}

/// Verifies the rows added since the last checkpoint of the configured file (all rows when
/// there is none), then signs and appends a checkpoint of the chain's head and returns it.
/// Refused when the chain does not verify (a broken chain is not vouched for) or when this
/// process has no master key.
pub async fn checkpoint(db: &Db, actor: &Actor) -> Result<Checkpoint, ServiceError> {
    require_platform(actor)?;
    let keys = db.audit_keys().ok_or_else(|| {
        ServiceError::Unavailable(format!(
            "audit checkpoints are signed with the master key: {NO_AUDIT_KEY}"
        ))
    })?;
    let path = keys
        .checkpoint_file()
        .ok_or_else(|| ServiceError::Unavailable("no checkpoint file is configured for this process".into()))?;
    let known = match read_checkpoints(Some(keys), path, false)? {
        Ok(cps) => cps,
        Err(bad) => return Err(ServiceError::Conflict(format!("{}; no checkpoint written", bad.reason))),
    };
    let mut walk = Walk::genesis();
    if let Some(last) = known.iter().max_by_key(|c| c.seq) {
        walk.prev_seq = last.seq;
        walk.prev_hash.clone_from(&last.head);
        walk.rows = last.rows;
        // The rows it covered were keyed when it was signed; only that key's chain may follow.
        walk.keyed_seen = last.seq > 0;
    }
    walk.keyed_since = keyed_since(db).await?;
    let mut report = VerifyReport {
        rows: 0,
        ok: true,
        first_bad: None,
        last_seq: None,
        head_hash: None,
        keyed_rows: 0,
        checkpoints: known.len(),
    };
    if let Some(bad) = walk_chain(db, Some(keys), &mut walk, &known, &mut report).await? {
        return Err(ServiceError::Conflict(format!(
            "audit chain broken at seq {}: {}; no checkpoint written (run `painel audit verify`)",
            bad.seq, bad.reason
        )));
    }
    // Nothing after the last checkpoint: its rows must all still be there (a cut tail would
    // otherwise be signed over).
    if walk.prev_seq > 0 && report.rows == 0 {
        let present: i64 = db
            .scalar(
                "SELECT COUNT(*) FROM audit_log WHERE seq = $1",
                crate::args![walk.prev_seq],
            )
            .await?;
        if present == 0 {
            return Err(ServiceError::Conflict(format!(
                "seq {} of the last checkpoint is gone: run `painel audit verify`; no checkpoint written",
                walk.prev_seq
            )));
        }
    }
    let mut cp = Checkpoint {
        seq: walk.prev_seq,
        head: walk.prev_hash.clone(),
        rows: walk.rows,
        at: now().to_rfc3339_opts(SecondsFormat::Micros, true),
        key_id: keys.current_id().to_owned(),
        mac: String::new(),
    };
    cp.mac = keys
        .checkpoint_mac(&cp.key_id, &cp.signed_text())
        .ok_or_else(|| ServiceError::Unavailable(NO_AUDIT_KEY.into()))?;
    append_line(path, &cp)?;
    Ok(cp)
}

/// Appends one JSON line to `path` (created 0600; refused when others may read or write it).
fn append_line(path: &Path, cp: &Checkpoint) -> Result<(), ServiceError> {
    let fail = |what: &str, e: std::io::Error| {
        ServiceError::Unavailable(format!("cannot {what} checkpoint file {}: {e}", path.display()))
    };
    let mut line = serde_json::to_string(cp).map_err(|e| ServiceError::Unavailable(e.to_string()))?;
    line.push('\n');
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fail("open", e))?;
    let mode = f.metadata().map_err(|e| fail("inspect", e))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ServiceError::Unavailable(format!(
            "checkpoint file {} is accessible by other users (mode {mode:o}); run `chmod 600` on it",
            path.display()
        )));
    }
    f.write_all(line.as_bytes()).map_err(|e| fail("write", e))?;
    f.sync_all().map_err(|e| fail("sync", e))
}
