//! Secrets at rest: AES-256-GCM under a master key (docs/adr/0006-secrets-at-rest.md).
//!
//! Every encrypted column (`*_enc`) holds one self-describing value:
//!
//! ```text
//! [0x02 format] [key id: 4 bytes] [nonce: 12 random bytes] [ciphertext + 16-byte tag]
//! ```
//!
//! The key id is a fingerprint of the master key that sealed the value, so a reader holding
//! several keys (the current one and retired ones) picks the right one, and `keys rotate`
//! can tell old values from new. The associated data binds the header, the column
//! ("users.totp_secret_enc") and the row's id: a value copied into another column or another
//! row, or with its key id edited, fails to open. Format 0x01 (earlier versions: column only)
//! opens only while being re-sealed by `keys init`/`keys rotate` (docs/adr/0013).

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ServiceError;

mod keyfile;
mod registry;
mod rotate;

pub use keyfile::{create_key_file, load, KeyConfig, KeyFiles, KeySource, Loaded, NO_MASTER_KEY};
pub use registry::{any_registered, check_value, init, registered, InitReport, Registered};
pub use rotate::{rotate, RotateReport, ENCRYPTED_COLUMNS};

/// Values sealed with the row's id in the associated data.
const FORMAT: u8 = 2;
/// Values of earlier versions, bound to their column only: opened only to be re-sealed.
const FORMAT_V1: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("invalid master key: {0}")]
    BadKey(String),
    #[error("value was sealed under master key {0}, which is not configured (PAINEL_MASTER_KEY_PREVIOUS or the retired key file)")]
    UnknownKey(String),
    #[error("encrypted value is malformed")]
    Malformed,
    #[error("encrypted value failed authentication (wrong key, moved from another column or row, or tampered)")]
    Inauthentic,
    #[error("value was sealed by an earlier version without its row binding; run `painel keys init` (or `keys rotate`) to re-seal it")]
    Legacy,
    #[error("master key {0} is not registered with this database; run `painel keys init` to set the deployment up (docs/adr/0013)")]
    Unregistered(String),
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("master key file: {0}")]
    File(String),
    #[error("{0}")]
    NoKey(String),
}

impl From<SecretError> for ServiceError {
    fn from(e: SecretError) -> Self {
        ServiceError::Unavailable(format!("secrets: {e}"))
    }
}

/// The 4-byte fingerprint of a master key, shown as 8 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One 256-bit master key. Its bytes never leave this module except to be written to the key
/// file; `Debug` shows only the id.
#[derive(Clone)]
pub struct MasterKey {
    id: KeyId,
    bytes: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        let digest = Sha256::new()
            .chain_update(b"painel master key id\n")
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        MasterKey { id: KeyId(id), bytes }
    }

    pub fn generate() -> Result<MasterKey, SecretError> {
        let mut bytes = [0u8; 32];
        random(&mut bytes)?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// Base64 (standard, padded) or hex of exactly 32 bytes; surrounding whitespace ignored.
    pub fn parse(text: &str) -> Result<MasterKey, SecretError> {
        let t = text.trim();
        let raw = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| SecretError::BadKey("not hex".into()))?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| SecretError::BadKey("expected 32 bytes as base64 or 64 hex digits".into()))?
        };
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|v: Vec<u8>| SecretError::BadKey(format!("expected 32 bytes, got {}", v.len())))?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// The text form written to key files (base64).
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes)
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    /// A 256-bit key for one purpose, derived from this master key: HMAC-SHA256 keyed with the
    /// master key over a fixed label, so knowing one derived key reveals neither the master
    /// key nor any other derived key. Never stored.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&hmac_sha256(&self.bytes, &[b"painel derived key\n", label.as_bytes()]));
        out
    }

    fn cipher(&self) -> Result<Aes256Gcm, SecretError> {
        Aes256Gcm::new_from_slice(&self.bytes).map_err(|_| SecretError::BadKey("wrong length".into()))
    }
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length: new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0u8; 32];
    };
    for p in parts {
        mac.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random(buf: &mut [u8]) -> Result<(), SecretError> {
    getrandom::fill(buf).map_err(|e| SecretError::Random(e.to_string()))
}

/// The keys this process holds: the current one seals new values; retired ones still open
/// values sealed before a rotation (and backups). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Keys {
    inner: Arc<KeysInner>,
    /// A deployment that has not registered any key yet (an upgrade before `keys init`):
    /// values of earlier versions still open, so an operator with 2FA can log in to run
    /// `keys init`, but nothing is sealed (docs/adr/0013).
    unregistered: bool,
}

#[derive(Debug)]
struct KeysInner {
    current: MasterKey,
    retired: Vec<MasterKey>,
}

/// Header (format + key id), column and — from format 2 on — the row's id.
fn aad(context: &str, row: Option<Uuid>, header: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(header.len() + context.len() + 40);
    a.extend_from_slice(&header[..1 + KEY_ID_LEN]);
    a.push(b'|');
    a.extend_from_slice(context.as_bytes());
    if let Some(row) = row {
        a.push(b'|');
        a.extend_from_slice(row.as_hyphenated().to_string().as_bytes());
    }
    a
}

impl Keys {
    pub fn new(current: MasterKey, retired: Vec<MasterKey>) -> Keys {
        let retired = retired.into_iter().filter(|k| k.id != current.id).collect();
        Keys {
            inner: Arc::new(KeysInner { current, retired }),
            unregistered: false,
        }
    }

    /// A copy that seals with `key` and still opens everything this one opens.
    pub fn rotated_to(&self, key: MasterKey) -> Keys {
        let mut retired = vec![self.inner.current.clone()];
        retired.extend(self.inner.retired.iter().cloned());
        Keys::new(key, retired)
    }

    /// These keys for a database that registered none yet: they open (old values included)
    /// but refuse to seal.
    pub(crate) fn before_registration(&self) -> Keys {
        Keys {
            inner: self.inner.clone(),
            unregistered: true,
        }
    }

    /// Whether values may be sealed with these keys (the current key is registered).
    pub fn can_seal(&self) -> bool {
        !self.unregistered
    }

    pub fn current_id(&self) -> KeyId {
        self.inner.current.id
    }

    pub fn retired_ids(&self) -> Vec<KeyId> {
        self.inner.retired.iter().map(|k| k.id).collect()
    }

    /// The current key first, then the retired ones.
    pub fn all(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.inner.current).chain(self.inner.retired.iter())
    }

    pub fn current(&self) -> &MasterKey {
        &self.inner.current
    }

    fn find(&self, id: KeyId) -> Option<&MasterKey> {
        std::iter::once(&self.inner.current)
            .chain(self.inner.retired.iter())
            .find(|k| k.id == id)
    }

    /// Seals `plaintext` for the column named by `context` (`table.column`) of the row `row`
    /// (its `id`).
    pub fn encrypt(&self, context: &str, row: Uuid, plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        if self.unregistered {
            return Err(SecretError::Unregistered(self.current_id().to_string()));
        }
        let key = &self.inner.current;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
        out.push(FORMAT);
        out.extend_from_slice(&key.id.0);
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        out.extend_from_slice(&nonce);
        let aad = aad(context, Some(row), &out);
        let nonce = Nonce::try_from(&nonce[..]).map_err(|_| SecretError::Malformed)?;
        let sealed = key
            .cipher()?
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::Inauthentic)?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed by [`Keys::encrypt`] for the same `context` and `row`. Values of
    /// the earlier, row-unbound format are refused ([`SecretError::Legacy`]): they could have
    /// been swapped between rows — except before the deployment registered a key, when they
    /// open as they did in earlier versions, so that `keys init` can be reached.
    pub fn decrypt(&self, context: &str, row: Uuid, value: &[u8]) -> Result<Vec<u8>, SecretError> {
        if value.first() == Some(&FORMAT_V1) {
            if self.unregistered {
                return self.open(context, None, value);
            }
            return Err(SecretError::Legacy);
        }
        self.open(context, Some(row), value)
    }

    /// Opens a value of either format, for re-sealing only (`keys init`, `keys rotate`).
    pub(crate) fn decrypt_for_reseal(&self, context: &str, row: Uuid, value: &[u8]) -> Result<Vec<u8>, SecretError> {
        let bound = (value.first() != Some(&FORMAT_V1)).then_some(row);
        self.open(context, bound, value)
    }

    fn open(&self, context: &str, row: Option<Uuid>, value: &[u8]) -> Result<Vec<u8>, SecretError> {
        let id = key_id_of(value).ok_or(SecretError::Malformed)?;
        let key = self.find(id).ok_or_else(|| SecretError::UnknownKey(id.to_string()))?;
        let nonce = Nonce::try_from(&value[1 + KEY_ID_LEN..HEADER_LEN]).map_err(|_| SecretError::Malformed)?;
        let aad = aad(context, row, value);
        key.cipher()?
            .decrypt(
                &nonce,
                Payload {
                    msg: &value[HEADER_LEN..],
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::Inauthentic)
    }

    pub fn encrypt_str(&self, context: &str, row: Uuid, plaintext: &str) -> Result<Vec<u8>, SecretError> {
        self.encrypt(context, row, plaintext.as_bytes())
    }

    pub fn decrypt_str(&self, context: &str, row: Uuid, value: &[u8]) -> Result<String, SecretError> {
        String::from_utf8(self.decrypt(context, row, value)?).map_err(|_| SecretError::Malformed)
    }

    /// Whether `value` is of the earlier, row-unbound format.
    pub fn is_legacy(value: &[u8]) -> bool {
        value.first() == Some(&FORMAT_V1)
    }
}

/// The id of the key that sealed `value`, if it is a value of this format.
pub fn key_id_of(value: &[u8]) -> Option<KeyId> {
    if value.len() < HEADER_LEN + 16 || !matches!(value.first(), Some(&FORMAT) | Some(&FORMAT_V1)) {
        return None;
    }
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&value[1..1 + KEY_ID_LEN]);
    Some(KeyId(id))
}

/// Sealing as earlier versions did (format 1, column-bound only), for tests of re-sealing.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub fn seal_v1(keys: &Keys, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let key = keys.current();
        let mut out = vec![FORMAT_V1];
        out.extend_from_slice(&key.id.0);
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce).unwrap();
        out.extend_from_slice(&nonce);
        let aad = aad(context, None, &out);
        let sealed = key
            .cipher()
            .unwrap()
            .encrypt(
                &Nonce::try_from(&nonce[..]).unwrap(),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .unwrap();
        out.extend_from_slice(&sealed);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: Uuid = Uuid::from_u128(0x0191_0000_0000_7000_8000_0000_0000_0001);

    fn key(b: u8) -> MasterKey {
        MasterKey::from_bytes([b; 32])
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let keys = Keys::new(key(1), vec![]);
        let a = keys.encrypt("users.totp_secret_enc", ROW, b"JBSWY3DPEHPK3PXP").unwrap();
        let b = keys.encrypt("users.totp_secret_enc", ROW, b"JBSWY3DPEHPK3PXP").unwrap();
        assert_ne!(a, b, "a random nonce per value");
        assert_eq!(a[0], FORMAT);
        assert_eq!(key_id_of(&a), Some(keys.current_id()));
        assert!(!a.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(
            keys.decrypt("users.totp_secret_enc", ROW, &a).unwrap(),
            b"JBSWY3DPEHPK3PXP"
        );
    }

    #[test]
    fn context_header_and_bytes_are_authenticated() {
        let keys = Keys::new(key(1), vec![]);
        let v = keys.encrypt("servers.api_token_enc", ROW, b"token").unwrap();
        assert!(matches!(
            keys.decrypt("integrations.secret_enc", ROW, &v),
            Err(SecretError::Inauthentic)
        ));
        let mut flipped = v.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            keys.decrypt("servers.api_token_enc", ROW, &flipped),
            Err(SecretError::Inauthentic)
        ));
        assert!(matches!(keys.decrypt("x", ROW, b"short"), Err(SecretError::Malformed)));
        let other_row = Uuid::from_u128(2);
        assert!(
            matches!(
                keys.decrypt("servers.api_token_enc", other_row, &v),
                Err(SecretError::Inauthentic)
            ),
            "a value moved to another row does not open"
        );
    }

    #[test]
    fn legacy_values_open_only_for_resealing() {
        let keys = Keys::new(key(1), vec![]);
        let legacy = tests_support::seal_v1(&keys, "c", b"old");
        assert!(Keys::is_legacy(&legacy));
        assert_eq!(key_id_of(&legacy), Some(keys.current_id()));
        assert!(matches!(keys.decrypt("c", ROW, &legacy), Err(SecretError::Legacy)));
        assert_eq!(keys.decrypt_for_reseal("c", ROW, &legacy).unwrap(), b"old");
        assert!(matches!(
            keys.decrypt_for_reseal("other", ROW, &legacy),
            Err(SecretError::Inauthentic)
        ));
    }

    #[test]
    fn derived_keys_differ_by_label_and_master_key() {
        let (a, b) = (key(1), key(2));
        assert_ne!(a.derive("audit chain"), a.derive("audit checkpoint"));
        assert_ne!(a.derive("audit chain"), b.derive("audit chain"));
        assert_eq!(a.derive("audit chain"), key(1).derive("audit chain"));
        assert_ne!(a.derive("audit chain"), [1u8; 32]);
    }

    #[test]
    fn retired_keys_open_old_values_and_unknown_keys_are_named() {
        let old = Keys::new(key(1), vec![]);
        let v = old.encrypt("c", ROW, b"s").unwrap();
        let new = old.rotated_to(key(2));
        assert_eq!(new.decrypt("c", ROW, &v).unwrap(), b"s");
        assert_eq!(key_id_of(&new.encrypt("c", ROW, b"s").unwrap()), Some(key(2).id()));
        let stranger = Keys::new(key(3), vec![]);
        match stranger.decrypt("c", ROW, &v) {
            Err(SecretError::UnknownKey(id)) => assert_eq!(id, key(1).id().to_string()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_parse_from_base64_or_hex() {
        let k = key(7);
        assert_eq!(MasterKey::parse(&k.encode()).unwrap().id(), k.id());
        let hex: String = [7u8; 32].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(MasterKey::parse(&format!(" {hex}\n")).unwrap().id(), k.id());
        assert!(MasterKey::parse("c2hvcnQ=").is_err());
        assert!(MasterKey::parse("not a key").is_err());
        assert_eq!(
            format!("{k:?}"),
            format!("MasterKey({})", k.id()),
            "no key bytes in Debug"
        );
    }
}
