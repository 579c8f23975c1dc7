//! OpenSSH public keys (`type base64 [comment]`), parsed from the wire format (RFC 4253 §6.6,
//! RFC 5656 §3.1, RFC 8709) so that what reaches `authorized_keys` is re-serialised from the
//! parsed key, never the text the user pasted (options or a newline there would become a line
//! of their own).

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

/// RSA keys below this many bits are refused (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;
/// Longer than any RSA-16384 key's text: bounds the work done on hostile input.
const MAX_LINE: usize = 16 * 1024;
const LABEL_MAX: usize = 100;

/// A key that parsed and is acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, …, `ssh-rsa`.
    pub key_type: String,
    /// `type base64`, no comment.
    pub line: String,
    /// `SHA256:` + unpadded base64 of SHA-256 of the key blob, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The comment, printable characters only, at most 100.
    pub label: String,
    /// Modulus size for RSA, curve size for ECDSA, 256 for Ed25519.
    pub bits: usize,
}

/// Parses one public key line. Refused: control characters (a newline would inject a line),
/// `authorized_keys` options before the type, unknown types, malformed blobs, short RSA keys.
pub fn parse(text: &str) -> Result<PublicKey, String> {
    let text = text.trim_matches(|c| c == ' ' || c == '\n' || c == '\r' || c == '\t');
    if text.len() > MAX_LINE {
        return Err("the key is too long".into());
    }
    if text.chars().any(char::is_control) {
        return Err("one key, on one line, without control characters".into());
    }
    let mut parts = text.splitn(3, ' ');
    let key_type = parts.next().unwrap_or_default();
    let b64 = parts.next().unwrap_or_default().trim();
    let comment = parts.next().unwrap_or_default();
    if !KNOWN_TYPES.contains(&key_type) {
        return Err(if key_type.contains('=') || key_type.contains(',') {
            "authorized_keys options are not accepted: paste only `type base64 [comment]`".into()
        } else {
            format!("unsupported key type '{}': use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa (≥ {MIN_RSA_BITS} bits)", label_of(key_type))
        });
    }
    let blob = STANDARD
        .decode(b64)
        .map_err(|_| "the key's base64 part is malformed".to_owned())?;
    let bits = check_blob(key_type, &blob)?;
    let canonical = STANDARD.encode(&blob);
    Ok(PublicKey {
        key_type: key_type.to_owned(),
        line: format!("{key_type} {canonical}"),
        fingerprint: format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(&blob))),
        label: label_of(comment),
        bits,
    })
}

const KNOWN_TYPES: [&str; 5] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
];

/// Printable, single-line, bounded: the label is shown in terminals.
pub fn label_of(comment: &str) -> String {
    comment
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(LABEL_MAX)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Reads SSH wire-format fields (uint32 length + bytes).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn string(&mut self) -> Result<&'a [u8], String> {
        let bad = || "the key blob is truncated or malformed".to_owned();
        let len_bytes: [u8; 4] = self.0.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let body = self.0.get(4..4 + len).ok_or_else(bad)?;
        self.0 = &self.0[4 + len..];
        Ok(body)
    }

    fn end(&self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err("the key blob has trailing bytes".into())
        }
    }
}

fn check_blob(key_type: &str, blob: &[u8]) -> Result<usize, String> {
    let mut r = Reader(blob);
    if r.string()? != key_type.as_bytes() {
        return Err("the key's type does not match its blob".into());
    }
    let bits = match key_type {
        "ssh-ed25519" => {
            if r.string()?.len() != 32 {
                return Err("an Ed25519 key is 32 bytes".into());
            }
            256
        }
        "ssh-rsa" => {
            let e = r.string()?;
            let n = r.string()?;
            if e.is_empty() || e[0] & 0x80 != 0 || n.is_empty() || n[0] & 0x80 != 0 {
                return Err("the RSA key's numbers are malformed".into());
            }
            let n = strip_zeros(n);
            let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA keys need at least {MIN_RSA_BITS} bits (this one has {bits})"
                ));
            }
            bits
        }
        _ => {
            let (curve, bits, point) = match key_type {
                "ecdsa-sha2-nistp256" => ("nistp256", 256, 65),
                "ecdsa-sha2-nistp384" => ("nistp384", 384, 97),
                _ => ("nistp521", 521, 133),
            };
            if r.string()? != curve.as_bytes() {
                return Err("the ECDSA key's curve does not match its type".into());
            }
            let q = r.string()?;
            if q.len() != point || q[0] != 0x04 {
                return Err("the ECDSA key's point is malformed".into());
            }
            bits
        }
    };
    r.end()?;
    Ok(bits)
}

fn strip_zeros(n: &[u8]) -> &[u8] {
    let first = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    &n[first..]
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with ssh-keygen for these tests; public halves only.
    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIJ1ADrjo5vknsGcOgT5c1Rf6O8MCtbFuyC79/LU/syW ana@laptop";

    fn blob(parts: &[&[u8]]) -> String {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(&(p.len() as u32).to_be_bytes());
            out.extend_from_slice(p);
        }
        STANDARD.encode(out)
    }

    #[test]
    fn ed25519_is_reserialised_without_its_comment() {
        let k = parse(ED).unwrap();
        assert_eq!(k.key_type, "ssh-ed25519");
        assert_eq!(
            k.line,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIJ1ADrjo5vknsGcOgT5c1Rf6O8MCtbFuyC79/LU/syW"
        );
        assert_eq!(k.label, "ana@laptop");
        // As `ssh-keygen -lf` prints it.
        assert_eq!(k.fingerprint, "SHA256:xFxuRK2XIFYVXFC1Tj66dBrhfQySkYDPgfH2tfubn7o");
    }

    #[test]
    fn newlines_options_and_control_characters_are_refused() {
        assert!(parse(&format!("{ED}\nssh-ed25519 AAAA evil")).is_err());
        assert!(parse(&format!("command=\"sh\" {ED}")).unwrap_err().contains("options"));
        assert!(parse(&format!("{ED}\x1b[31m")).is_err());
        assert!(parse("ssh-dss AAAAB3NzaC1kc3MAAACBAP").is_err());
        assert!(parse("ssh-ed25519 !!!notbase64").is_err());
    }

    #[test]
    fn blobs_must_match_their_type_and_size() {
        let short = blob(&[b"ssh-ed25519", &[7u8; 31]]);
        assert!(parse(&format!("ssh-ed25519 {short}")).is_err());
        let trailing = blob(&[b"ssh-ed25519", &[7u8; 32], b"x"]);
        assert!(parse(&format!("ssh-ed25519 {trailing}")).is_err());
        let wrong = blob(&[b"ssh-rsa", &[7u8; 32]]);
        assert!(parse(&format!("ssh-ed25519 {wrong}")).is_err());
        let mut q = vec![4u8];
        q.extend([1u8; 64]);
        let ec = blob(&[b"ecdsa-sha2-nistp256", b"nistp256", &q]);
        assert_eq!(parse(&format!("ecdsa-sha2-nistp256 {ec}")).unwrap().bits, 256);
        let ec_bad = blob(&[b"ecdsa-sha2-nistp256", b"nistp384", &q]);
        assert!(parse(&format!("ecdsa-sha2-nistp256 {ec_bad}")).is_err());
    }

    #[test]
    fn rsa_needs_2048_bits() {
        let mut n = vec![0u8];
        n.extend([0xffu8; 256]);
        let ok = blob(&[b"ssh-rsa", &[1, 0, 1], &n]);
        assert_eq!(parse(&format!("ssh-rsa {ok}")).unwrap().bits, 2048);
        let mut n = vec![0u8];
        n.extend([0xffu8; 128]);
        let weak = blob(&[b"ssh-rsa", &[1, 0, 1], &n]);
        assert!(parse(&format!("ssh-rsa {weak}")).unwrap_err().contains("2048"));
    }

    #[test]
    fn labels_lose_control_and_bidi_characters() {
        assert_eq!(label_of("a\u{202e}b\x07c"), "abc");
        assert_eq!(label_of(&"x".repeat(300)).len(), 100);
    }
}
