//! What a DNS record may hold, per type (docs/adr/0031): checked once here, by the service
//! layer, before anything is stored or sent to the provider.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{FieldError, ServiceError};

/// The record types painel manages.
pub const TYPES: [&str; 7] = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "CAA"];

/// Longest TXT content Cloudflare takes (split in 255-byte strings on the wire).
pub const TXT_MAX: usize = 2048;

/// A record as typed by an operator (name relative, `@` or FQDN).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct RecordInput {
    pub record_type: String,
    pub name: String,
    pub content: String,
    /// 1 = automatic; else 60–86400 seconds.
    #[serde(default)]
    pub ttl: Option<i64>,
    /// MX only (0–65535).
    #[serde(default)]
    pub priority: Option<i64>,
    /// A/AAAA/CNAME only.
    #[serde(default)]
    pub proxied: bool,
}

/// A record that passed every rule: type upper-case, name the FQDN, content normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub record_type: String,
    pub name: String,
    pub content: String,
    pub ttl: i64,
    pub priority: Option<i64>,
    pub proxied: bool,
}

fn host(raw: &str) -> Result<String, String> {
    crate::validate::domain(raw).map_err(|_| "must be a host name like mail.example.com.br".to_owned())
}

/// The record's FQDN within `zone`: `@`/empty = the apex, a relative name gets the zone
/// appended, an FQDN must end in the zone. Labels: a-z 0-9 `-` `_`, a leading `*` allowed.
pub fn fqdn(zone: &str, raw: &str) -> Result<String, String> {
    let n = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let full = if n.is_empty() || n == "@" {
        return Ok(zone.to_owned());
    } else if n == zone || n.ends_with(&format!(".{zone}")) {
        n
    } else {
        format!("{n}.{zone}")
    };
    if full.len() > 253 {
        return Err("the full name is longer than 253 characters".into());
    }
    let rel = &full[..full.len() - zone.len()].trim_end_matches('.');
    for (i, l) in rel.split('.').enumerate() {
        let ok = !l.is_empty()
            && l.len() <= 63
            && (l == "*" && i == 0
                || l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                    && !l.starts_with('-')
                    && !l.ends_with('-'));
        if !ok {
            return Err(format!("{l:?} is not a valid label (a-z, 0-9, '-', '_'; '*' first)"));
        }
    }
    Ok(full)
}

/// Checks `input` for a record of `zone`; every failing field is reported at once.
pub fn validate(zone: &str, input: &RecordInput) -> Result<Valid, ServiceError> {
    let mut errors = Vec::new();
    let mut err = |field: &str, m: String| {
        errors.push(FieldError {
            field: field.to_owned(),
            message: m,
        })
    };
    let rtype = input.record_type.trim().to_ascii_uppercase();
    if !TYPES.contains(&rtype.as_str()) {
        err("type", format!("must be one of {}", TYPES.join(", ")));
    }
    let name = fqdn(zone, &input.name).unwrap_or_else(|e| {
        err("name", e);
        String::new()
    });
    let raw = input.content.trim();
    let mut priority = None;
    let content = match rtype.as_str() {
        "A" => raw
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| "must be an IPv4 address like 203.0.113.10".to_owned()),
        "AAAA" => raw
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| "must be an IPv6 address like 2001:db8::10".to_owned()),
        "CNAME" | "NS" => host(raw),
        "MX" => {
            match input.priority {
                Some(p) if (0..=65_535).contains(&p) => priority = Some(p),
                Some(_) => err("priority", "must be 0–65535".into()),
                None => err("priority", "an MX record needs a priority (e.g. 10)".into()),
            }
            host(raw)
        }
        "TXT" => {
            let t = raw.trim_matches('"');
            if t.is_empty() {
                Err("must not be empty".into())
            } else if t.len() > TXT_MAX {
                Err(format!("at most {TXT_MAX} characters"))
            } else if t.chars().any(|c| c.is_control()) {
                Err("must not hold control characters".into())
            } else {
                Ok(t.to_owned())
            }
        }
        "CAA" => caa(raw),
        _ => Ok(raw.to_owned()),
    };
    let content = content.unwrap_or_else(|e| {
        err("content", e);
        String::new()
    });
    if rtype != "MX" && input.priority.is_some() {
        err("priority", "only MX records take a priority".into());
    }
    if rtype == "CNAME" && name == zone {
        err("name", "a CNAME cannot sit at the zone apex (@)".into());
    }
    let ttl = input.ttl.unwrap_or(1);
    if ttl != 1 && !(60..=86_400).contains(&ttl) {
        err("ttl", "must be 1 (automatic) or 60–86400 seconds".into());
    }
    if input.proxied && !matches!(rtype.as_str(), "A" | "AAAA" | "CNAME") {
        err("proxied", "only A, AAAA and CNAME records can be proxied".into());
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    Ok(Valid {
        record_type: rtype,
        name,
        content,
        ttl,
        priority,
        proxied: input.proxied,
    })
}

/// `flags tag "value"`: flags 0–255, tag issue/issuewild/iodef.
fn caa(raw: &str) -> Result<String, String> {
    let bad = || "must be like: 0 issue \"letsencrypt.org\"".to_owned();
    let mut parts = raw.splitn(3, ' ');
    let flags: u8 = parts.next().and_then(|f| f.parse().ok()).ok_or_else(bad)?;
    let tag = parts
        .next()
        .filter(|t| ["issue", "issuewild", "iodef"].contains(t))
        .ok_or_else(bad)?;
    let value = parts
        .next()
        .map(str::trim)
        .filter(|v| v.len() >= 2 && v.starts_with('"') && v.ends_with('"'))
        .ok_or_else(bad)?;
    Ok(format!("{flags} {tag} {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: &str, name: &str, content: &str) -> RecordInput {
        RecordInput {
            record_type: t.into(),
            name: name.into(),
            content: content.into(),
            ..RecordInput::default()
        }
    }

    fn fields(r: Result<Valid, ServiceError>) -> Vec<String> {
        r.unwrap_err().fields().iter().map(|f| f.field.clone()).collect()
    }

    const Z: &str = "loja.com.br";

    #[test]
    fn each_type_checks_its_content() {
        let a = validate(Z, &rec("a", "www", "203.0.113.10")).unwrap();
        assert_eq!((a.record_type.as_str(), a.name.as_str()), ("A", "www.loja.com.br"));
        assert_eq!(fields(validate(Z, &rec("A", "@", "2001:db8::1"))), ["content"]);
        assert_eq!(fields(validate(Z, &rec("A", "@", "300.1.1.1"))), ["content"]);
        assert_eq!(
            validate(Z, &rec("AAAA", "@", "2001:DB8::1")).unwrap().content,
            "2001:db8::1"
        );
        assert_eq!(fields(validate(Z, &rec("AAAA", "@", "203.0.113.10"))), ["content"]);
        assert_eq!(fields(validate(Z, &rec("MX", "@", "mail.loja.com.br"))), ["priority"]);
        let mx = validate(
            Z,
            &RecordInput {
                priority: Some(10),
                ..rec("MX", "@", "mail.loja.com.br.")
            },
        )
        .unwrap();
        assert_eq!((mx.name.as_str(), mx.priority), ("loja.com.br", Some(10)));
        assert_eq!(fields(validate(Z, &rec("CNAME", "@", "loja.com.br"))), ["name"]);
        assert_eq!(fields(validate(Z, &rec("CNAME", "www", "not a host"))), ["content"]);
        assert_eq!(
            fields(validate(Z, &rec("TXT", "@", &"x".repeat(TXT_MAX + 1)))),
            ["content"]
        );
        assert_eq!(
            validate(Z, &rec("TXT", "@", "\"v=spf1 -all\"")).unwrap().content,
            "v=spf1 -all"
        );
        assert_eq!(fields(validate(Z, &rec("TXT", "@", "a\u{1b}[2J"))), ["content"]);
        assert!(validate(Z, &rec("CAA", "@", "0 issue \"letsencrypt.org\"")).is_ok());
        assert_eq!(fields(validate(Z, &rec("CAA", "@", "issue letsencrypt"))), ["content"]);
        assert_eq!(fields(validate(Z, &rec("SPF", "@", "x"))), ["type"]);
    }

    #[test]
    fn names_ttl_and_proxy() {
        assert_eq!(fqdn(Z, "@").unwrap(), Z);
        assert_eq!(fqdn(Z, "_dmarc").unwrap(), "_dmarc.loja.com.br");
        assert_eq!(fqdn(Z, "*.app").unwrap(), "*.app.loja.com.br");
        assert!(fqdn(Z, "a..b").is_err());
        assert!(fqdn(Z, "app.*").is_err());
        assert!(fqdn(Z, "-x").is_err());
        assert_eq!(
            fields(validate(
                Z,
                &RecordInput {
                    ttl: Some(30),
                    ..rec("A", "@", "203.0.113.1")
                }
            )),
            ["ttl"]
        );
        assert!(validate(
            Z,
            &RecordInput {
                ttl: Some(300),
                ..rec("A", "@", "203.0.113.1")
            }
        )
        .is_ok());
        assert_eq!(
            fields(validate(
                Z,
                &RecordInput {
                    proxied: true,
                    priority: Some(1),
                    ..rec("TXT", "@", "x")
                }
            )),
            ["priority", "proxied"]
        );
    }
}
