//! Secrets at rest: AES-256-GCM under a master key (docs/adr/0006-secrets-at-rest.md).
//!
//! Every encrypted column (`*_enc`) holds one self-describing value:
//!
//! ```text
//! [0x01 format] [key id: 4 bytes] [nonce: 12 random bytes] [ciphertext + 16-byte tag]
//! ```
//!
//! The key id is a fingerprint of the master key that sealed the value, so a reader holding
//! several keys (the current one and retired ones) picks the right one, and `keys rotate`
//! can tell old values from new. The associated data binds the header and the column
//! ("users.totp_secret_enc"): a value copied into another column, or with its key id edited,
//! fails to open.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

mod keyfile;
mod rotate;

pub use keyfile::{load, KeyConfig, KeyFiles, KeySource, Loaded};
pub use rotate::{rotate, RotateReport, ENCRYPTED_COLUMNS};

const FORMAT: u8 = 1;
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
    #[error("encrypted value failed authentication (wrong key, wrong column or tampered)")]
    Inauthentic,
    #[error("no randomness available: {0}")]
    Random(String),
    #[error("master key file: {0}")]
    File(String),
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

    fn cipher(&self) -> Result<Aes256Gcm, SecretError> {
        Aes256Gcm::new_from_slice(&self.bytes).map_err(|_| SecretError::BadKey("wrong length".into()))
    }
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
}

#[derive(Debug)]
struct KeysInner {
    current: MasterKey,
    retired: Vec<MasterKey>,
}

fn aad(context: &str, header: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(header.len() + context.len() + 1);
    a.extend_from_slice(&header[..1 + KEY_ID_LEN]);
    a.push(b'|');
    a.extend_from_slice(context.as_bytes());
    a
}

impl Keys {
    pub fn new(current: MasterKey, retired: Vec<MasterKey>) -> Keys {
        let retired = retired.into_iter().filter(|k| k.id != current.id).collect();
        Keys {
            inner: Arc::new(KeysInner { current, retired }),
        }
    }

    /// A copy that seals with `key` and still opens everything this one opens.
    pub fn rotated_to(&self, key: MasterKey) -> Keys {
        let mut retired = vec![self.inner.current.clone()];
        retired.extend(self.inner.retired.iter().cloned());
        Keys::new(key, retired)
    }

    pub fn current_id(&self) -> KeyId {
        self.inner.current.id
    }

    pub fn retired_ids(&self) -> Vec<KeyId> {
        self.inner.retired.iter().map(|k| k.id).collect()
    }

    fn find(&self, id: KeyId) -> Option<&MasterKey> {
        std::iter::once(&self.inner.current)
            .chain(self.inner.retired.iter())
            .find(|k| k.id == id)
    }

    /// Seals `plaintext` for the column named by `context` (`table.column`).
    pub fn encrypt(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        let key = &self.inner.current;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
        out.push(FORMAT);
        out.extend_from_slice(&key.id.0);
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        out.extend_from_slice(&nonce);
        let aad = aad(context, &out);
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

    /// Opens a value sealed by [`Keys::encrypt`] for the same `context`.
    pub fn decrypt(&self, context: &str, value: &[u8]) -> Result<Vec<u8>, SecretError> {
        let id = key_id_of(value).ok_or(SecretError::Malformed)?;
        let key = self.find(id).ok_or_else(|| SecretError::UnknownKey(id.to_string()))?;
        let nonce = Nonce::try_from(&value[1 + KEY_ID_LEN..HEADER_LEN]).map_err(|_| SecretError::Malformed)?;
        let aad = aad(context, value);
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

    pub fn encrypt_str(&self, context: &str, plaintext: &str) -> Result<Vec<u8>, SecretError> {
        self.encrypt(context, plaintext.as_bytes())
    }

    pub fn decrypt_str(&self, context: &str, value: &[u8]) -> Result<String, SecretError> {
        String::from_utf8(self.decrypt(context, value)?).map_err(|_| SecretError::Malformed)
    }
}

/// The id of the key that sealed `value`, if it is a value of this format.
pub fn key_id_of(value: &[u8]) -> Option<KeyId> {
    if value.len() < HEADER_LEN + 16 || value.first() != Some(&FORMAT) {
        return None;
    }
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&value[1..1 + KEY_ID_LEN]);
    Some(KeyId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> MasterKey {
        MasterKey::from_bytes([b; 32])
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let keys = Keys::new(key(1), vec![]);
        let a = keys.encrypt("users.totp_secret_enc", b"JBSWY3DPEHPK3PXP").unwrap();
        let b = keys.encrypt("users.totp_secret_enc", b"JBSWY3DPEHPK3PXP").unwrap();
        assert_ne!(a, b, "a random nonce per value");
        assert_eq!(a[0], FORMAT);
        assert_eq!(key_id_of(&a), Some(keys.current_id()));
        assert!(!a.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(keys.decrypt("users.totp_secret_enc", &a).unwrap(), b"JBSWY3DPEHPK3PXP");
    }

    #[test]
    fn context_header_and_bytes_are_authenticated() {
        let keys = Keys::new(key(1), vec![]);
        let v = keys.encrypt("servers.api_token_enc", b"token").unwrap();
        assert!(matches!(
            keys.decrypt("integrations.secret_enc", &v),
            Err(SecretError::Inauthentic)
        ));
        let mut flipped = v.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(
            keys.decrypt("servers.api_token_enc", &flipped),
            Err(SecretError::Inauthentic)
        ));
        assert!(matches!(keys.decrypt("x", b"short"), Err(SecretError::Malformed)));
    }

    #[test]
    fn retired_keys_open_old_values_and_unknown_keys_are_named() {
        let old = Keys::new(key(1), vec![]);
        let v = old.encrypt("c", b"s").unwrap();
        let new = old.rotated_to(key(2));
        assert_eq!(new.decrypt("c", &v).unwrap(), b"s");
        assert_eq!(key_id_of(&new.encrypt("c", b"s").unwrap()), Some(key(2).id()));
        let stranger = Keys::new(key(3), vec![]);
        match stranger.decrypt("c", &v) {
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
