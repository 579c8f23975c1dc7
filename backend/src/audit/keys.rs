//! The audit chain's keys: per master key, one key for row hashes and one for checkpoint
//! signatures, both derived from it with fixed labels (docs/adr/0013). Never stored: whoever
//! can only write the database cannot compute a row hash or a checkpoint signature that
//! verifies.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::secrets::{hmac_sha256, Keys};

const CHAIN_LABEL: &str = "audit chain v1";
const CHECKPOINT_LABEL: &str = "audit checkpoint v1";

/// The file checkpoints are appended to, in the data dir.
pub const CHECKPOINT_FILE: &str = "audit-checkpoints.jsonl";

#[derive(Clone)]
struct Pair {
    id: String,
    chain: [u8; 32],
    checkpoint: [u8; 32],
}

/// The derived keys of the current master key (which keys new rows) and of retired ones
/// (which still verify older rows and checkpoints), plus where checkpoints are kept.
#[derive(Clone)]
pub struct AuditKeys {
    pairs: Vec<Pair>,
    checkpoint_file: Option<PathBuf>,
}

impl fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.pairs.iter().map(|p| p.id.as_str()).collect();
        f.debug_struct("AuditKeys")
            .field("key_ids", &ids)
            .field("checkpoint_file", &self.checkpoint_file)
            .finish()
    }
}

impl AuditKeys {
    /// Derives from every master key `keys` holds; the first (current) one keys new rows.
    pub fn from_keys(keys: &Keys) -> AuditKeys {
        AuditKeys {
            pairs: keys
                .all()
                .map(|k| Pair {
                    id: k.id().to_string(),
                    chain: k.derive(CHAIN_LABEL),
                    checkpoint: k.derive(CHECKPOINT_LABEL),
                })
                .collect(),
            checkpoint_file: None,
        }
    }

    /// Checkpoints go to (and are read back from) `path`.
    pub fn with_checkpoint_file(mut self, path: &Path) -> AuditKeys {
        self.checkpoint_file = Some(path.to_path_buf());
        self
    }

    pub fn checkpoint_file(&self) -> Option<&Path> {
        self.checkpoint_file.as_deref()
    }

    /// Id of the master key new rows are keyed with.
    pub fn current_id(&self) -> &str {
        self.pairs.first().map_or("", |p| p.id.as_str())
    }

    fn pair(&self, id: &str) -> Option<&Pair> {
        self.pairs.iter().find(|p| p.id == id)
    }

    /// HMAC-SHA256 (hex) of a row under the chain key of master key `id`.
    pub(super) fn chain_mac(&self, id: &str, parts: &[&[u8]]) -> Option<String> {
        self.pair(id).map(|p| hex(&hmac_sha256(&p.chain, parts)))
    }

    /// HMAC-SHA256 (hex) of a checkpoint's text under the checkpoint key of master key `id`.
    pub(super) fn checkpoint_mac(&self, id: &str, text: &str) -> Option<String> {
        self.pair(id)
            .map(|p| hex(&hmac_sha256(&p.checkpoint, &[text.as_bytes()])))
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
