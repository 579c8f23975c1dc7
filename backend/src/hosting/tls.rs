//! The per-server TLS choice for WHM's certificate (port 2087 is often self-signed): verify
//! against the system's roots (the default), pin the certificate's SHA-256, or trust any
//! certificate. Pinning or trusting is an explicit, audited choice (docs/adr/0019, 0020).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", content = "sha256", rename_all = "lowercase")]
pub enum TlsChoice {
    Verify,
    /// 64 lower-case hex digits.
    Pin(String),
    Trust,
}

impl TlsChoice {
    /// `verify`, `trust`, or `pin:<sha256>` (hex, colons allowed as `openssl x509 -fingerprint`
    /// prints them).
    pub fn parse(raw: &str) -> Result<TlsChoice, String> {
        let v = raw.trim();
        match v.to_ascii_lowercase().as_str() {
            "verify" => return Ok(TlsChoice::Verify),
            "trust" => return Ok(TlsChoice::Trust),
            _ => {}
        }
        let Some(fp) = v
            .strip_prefix("pin:")
            .or_else(|| v.strip_prefix("PIN:"))
            .or_else(|| v.strip_prefix("sha256:"))
        else {
            return Err("must be verify, pin:<sha256 fingerprint> or trust".into());
        };
        let hex: String = fp
            .chars()
            .filter(|c| *c != ':')
            .collect::<String>()
            .to_ascii_lowercase();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("the pin must be a SHA-256 fingerprint: 64 hex digits".into());
        }
        Ok(TlsChoice::Pin(hex))
    }

    /// The stored form: `tls_mode`, `tls_pin_sha256`.
    pub fn columns(&self) -> (&'static str, Option<String>) {
        match self {
            TlsChoice::Verify => ("verify", None),
            TlsChoice::Pin(h) => ("pin", Some(h.clone())),
            TlsChoice::Trust => ("trust", None),
        }
    }

    /// Reads the stored form back; anything unrecognised verifies (the safe side).
    pub fn from_columns(mode: &str, pin: Option<&str>) -> TlsChoice {
        match (mode, pin) {
            ("pin", Some(p)) => TlsChoice::Pin(p.to_owned()),
            ("trust", _) => TlsChoice::Trust,
            _ => TlsChoice::Verify,
        }
    }

    /// What an operator reads: `verify`, `pin sha256:ab12…`, `trust (no verification)`.
    pub fn describe(&self) -> String {
        match self {
            TlsChoice::Verify => "verify".into(),
            TlsChoice::Pin(h) => format!("pin sha256:{h}"),
            TlsChoice::Trust => "trust (any certificate)".into(),
        }
    }

    /// Whether the certificate is checked at all (pinning checks it against the pin).
    pub fn verifies(&self) -> bool {
        !matches!(self, TlsChoice::Trust)
    }

    /// The argument form `parse` reads back (for forms and `--tls`).
    pub fn as_arg(&self) -> String {
        match self {
            TlsChoice::Verify => "verify".into(),
            TlsChoice::Pin(h) => format!("pin:{h}"),
            TlsChoice::Trust => "trust".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_choices_and_refuses_bad_pins() {
        assert_eq!(TlsChoice::parse(" verify "), Ok(TlsChoice::Verify));
        assert_eq!(TlsChoice::parse("TRUST"), Ok(TlsChoice::Trust));
        let colons = (0..32).map(|_| "AB").collect::<Vec<_>>().join(":");
        assert_eq!(
            TlsChoice::parse(&format!("pin:{colons}")),
            Ok(TlsChoice::Pin("ab".repeat(32)))
        );
        assert!(TlsChoice::parse("pin:abc").is_err());
        assert!(TlsChoice::parse(&format!("pin:{}", "g".repeat(64))).is_err());
        assert!(TlsChoice::parse("insecure").is_err());
        let pin = TlsChoice::Pin("0".repeat(64));
        let (mode, p) = pin.columns();
        assert_eq!(TlsChoice::from_columns(mode, p.as_deref()), pin);
        assert_eq!(TlsChoice::parse(&pin.as_arg()), Ok(pin));
        assert_eq!(TlsChoice::from_columns("bogus", None), TlsChoice::Verify);
    }
}
