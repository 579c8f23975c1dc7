//! Reading the certificate a domain serves: a TLS handshake on its port 443 (SNI = the
//! domain) whose verifier accepts whatever is presented and keeps it — the point is to read an
//! invalid certificate and say what is wrong with it, not to refuse it — then a
//! classification of what was read: expiry, the name, the chain (webpki, against Mozilla's
//! roots plus the configured extra ones).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;

/// What a check concluded about a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Valid,
    /// Valid, but fewer than the renewal window's days left.
    Expiring,
    Expired,
    /// The server answered TCP but completed no TLS handshake for the name.
    Missing,
    /// The certificate served does not name the domain.
    Mismatch,
    /// The chain does not lead to a trusted root (self-signed, unknown CA).
    Untrusted,
    /// No TCP connection (refused, timed out, no address).
    Unreachable,
}

impl CheckState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Valid => "valid",
            CheckState::Expiring => "expiring",
            CheckState::Expired => "expired",
            CheckState::Missing => "missing",
            CheckState::Mismatch => "mismatch",
            CheckState::Untrusted => "untrusted",
            CheckState::Unreachable => "unreachable",
        }
    }

    /// The coarse lifecycle the `status` column keeps for older readers.
    pub fn lifecycle(self) -> &'static str {
        match self {
            CheckState::Valid => "active",
            CheckState::Expiring => "expiring",
            CheckState::Expired => "expired",
            _ => "failed",
        }
    }

    /// Whether AutoSSL can fix it (everything but an unreachable server).
    pub fn wants_autossl(self) -> bool {
        !matches!(self, CheckState::Valid | CheckState::Unreachable)
    }
}

/// Where and how the checker connects.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// The port checked when no override names one.
    pub port: u16,
    /// Overrides: a domain, or `server:<name>` for every domain of that server → `host:port`.
    pub connect: BTreeMap<String, String>,
    /// Trusted besides Mozilla's roots (DER).
    pub extra_roots: Vec<Vec<u8>>,
    /// Connect + handshake budget.
    pub timeout: Duration,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            port: 443,
            connect: BTreeMap::new(),
            extra_roots: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl ProbeConfig {
    /// Where `domain` is checked: its override, its server's override, the server's address
    /// on [`Self::port`], or the domain itself (resolved by the system) on that port.
    pub fn target(&self, domain: &str, server_name: Option<&str>, server_ip: Option<&str>) -> String {
        if let Some(t) = self.connect.get(&domain.to_lowercase()) {
            return t.clone();
        }
        if let Some(t) = server_name.and_then(|n| self.connect.get(&format!("server:{n}"))) {
            return t.clone();
        }
        match server_ip.filter(|ip| !ip.trim().is_empty()) {
            Some(ip) if ip.contains(':') => format!("[{ip}]:{}", self.port),
            Some(ip) => format!("{ip}:{}", self.port),
            None => format!("{domain}:{}", self.port),
        }
    }

    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for der in &self.extra_roots {
            // A root that does not parse is ignored: it could not anchor anything.
            let _ = roots.add(CertificateDer::from(der.clone()));
        }
        roots
    }
}

/// The certificates in a trust file: PEM (`-----BEGIN CERTIFICATE-----` blocks) or one DER.
pub fn trust_file_certs(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(vec![bytes.to_vec()]);
    };
    if !text.contains("-----BEGIN") {
        return Err("neither PEM nor DER".into());
    }
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b = body.take().ok_or("END without BEGIN")?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| format!("bad base64 in a certificate: {e}"))?;
            out.push(der);
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if out.is_empty() {
        return Err("no CERTIFICATE block".into());
    }
    Ok(out)
}

/// What the handshake gave.
#[derive(Debug, Clone)]
pub enum Served {
    /// The chain presented, leaf first.
    Chain(Vec<Vec<u8>>),
    /// TCP connected but no handshake completed (an alert, not TLS at all).
    NoHandshake(String),
    Unreachable(String),
}

#[derive(Debug)]
struct Capture {
    chain: Mutex<Vec<Vec<u8>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.as_ref().to_vec()];
        chain.extend(intermediates.iter().map(|c| c.as_ref().to_vec()));
        if let Ok(mut slot) = self.chain.lock() {
            *slot = chain;
        }
        // Accepted here on purpose: the classification judges it after the handshake.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Connects to `addr` (`host:port`) and reads the chain served for `domain`.
pub async fn fetch(addr: &str, domain: &str, timeout: Duration) -> Served {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let capture = Arc::new(Capture {
        chain: Mutex::new(Vec::new()),
        provider: provider.clone(),
    });
    let config = match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(capture.clone())
            .with_no_client_auth(),
        Err(e) => return Served::NoHandshake(format!("TLS setup: {e}")),
    };
    let Ok(name) = ServerName::try_from(domain.to_owned()) else {
        return Served::NoHandshake(format!("{domain} is not a DNS name"));
    };
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => return Served::Unreachable(format!("{addr}: no TCP connection within {}s", timeout.as_secs())),
        Ok(Err(e)) => return Served::Unreachable(format!("{addr}: {e}")),
        Ok(Ok(s)) => s,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Err(_) => Served::NoHandshake(format!("{addr}: no TLS handshake within {}s", timeout.as_secs())),
        Ok(Err(e)) => Served::NoHandshake(format!("{addr}: TLS handshake failed: {e}")),
        Ok(Ok(_stream)) => {
            let chain = capture.chain.lock().map(|c| c.clone()).unwrap_or_default();
            if chain.is_empty() {
                Served::NoHandshake(format!("{addr}: no certificate presented"))
            } else {
                Served::Chain(chain)
            }
        }
    }
}

/// What one check read and concluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub state: CheckState,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub sans: Vec<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    /// SHA-256 of the leaf (hex).
    pub fingerprint: Option<String>,
    /// Why it is not valid (none when valid or merely expiring).
    pub error: Option<String>,
}

impl Reading {
    fn failed(state: CheckState, error: String) -> Reading {
        Reading {
            state,
            issuer: None,
            subject: None,
            sans: Vec::new(),
            not_before: None,
            not_after: None,
            fingerprint: None,
            error: Some(error),
        }
    }
}

fn name_of(n: &x509_parser::x509::X509Name<'_>) -> Option<String> {
    let cn = n.iter_common_name().next().and_then(|a| a.as_str().ok());
    let org = n.iter_organization().next().and_then(|a| a.as_str().ok());
    cn.or(org)
        .map(str::to_owned)
        .or_else(|| Some(n.to_string()).filter(|s| !s.is_empty()))
}

fn utc(t: x509_parser::time::ASN1Time) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(t.timestamp(), 0).single()
}

/// Judges what was served for `domain` at `now`, with `warn_days` the renewal window.
pub fn classify(served: &Served, domain: &str, now: DateTime<Utc>, warn_days: i64, roots: &RootCertStore) -> Reading {
    let chain = match served {
        Served::Unreachable(e) => return Reading::failed(CheckState::Unreachable, e.clone()),
        Served::NoHandshake(e) => return Reading::failed(CheckState::Missing, e.clone()),
        Served::Chain(c) => c,
    };
    let Some(leaf_der) = chain.first() else {
        return Reading::failed(CheckState::Missing, "no certificate presented".into());
    };
    let fingerprint = Some(hex::encode(Sha256::digest(leaf_der)));
    let parsed = match x509_parser::parse_x509_certificate(leaf_der) {
        Ok((_, c)) => c,
        Err(e) => {
            let mut r = Reading::failed(CheckState::Untrusted, format!("unreadable certificate: {e}"));
            r.fingerprint = fingerprint;
            return r;
        }
    };
    let mut sans: Vec<String> = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    sans.truncate(100);
    let not_before = utc(parsed.validity().not_before);
    let not_after = utc(parsed.validity().not_after);
    let mut reading = Reading {
        state: CheckState::Valid,
        issuer: name_of(parsed.issuer()),
        subject: name_of(parsed.subject()),
        sans,
        not_before,
        not_after,
        fingerprint,
        error: None,
    };
    let leaf = CertificateDer::from(leaf_der.clone());
    let intermediates: Vec<CertificateDer<'_>> = chain[1..].iter().map(|c| CertificateDer::from(c.clone())).collect();
    let webpki = match rustls::server::ParsedCertificate::try_from(&leaf) {
        Ok(p) => p,
        Err(e) => {
            reading.state = CheckState::Untrusted;
            reading.error = Some(format!("unusable certificate: {e}"));
            return reading;
        }
    };
    if let Some(na) = not_after.filter(|t| *t < now) {
        reading.state = CheckState::Expired;
        reading.error = Some(format!("expired {}", na.format("%Y-%m-%d %H:%M UTC")));
        return reading;
    }
    let name_ok = ServerName::try_from(domain.to_owned())
        .ok()
        .is_some_and(|n| rustls::client::verify_server_name(&webpki, &n).is_ok());
    if !name_ok {
        reading.state = CheckState::Mismatch;
        let names = if reading.sans.is_empty() {
            reading.subject.clone().unwrap_or_default()
        } else {
            reading.sans.join(", ")
        };
        reading.error = Some(format!("certificate names {names}, not {domain}"));
        return reading;
    }
    // The chain judged inside its own validity, so that trust and expiry stay separate answers.
    let at = not_before.map(|nb| nb.max(now)).unwrap_or(now).timestamp().max(0);
    let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(at).unwrap_or(0)));
    let algs = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    if let Err(e) = rustls::client::verify_server_cert_signed_by_trust_anchor(&webpki, roots, &intermediates, at, algs)
    {
        reading.state = CheckState::Untrusted;
        let why = match e {
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
                if parsed.issuer() == parsed.subject() {
                    "self-signed certificate".to_owned()
                } else {
                    "issued by an unknown authority".to_owned()
                }
            }
            other => other.to_string(),
        };
        reading.error = Some(why);
        return reading;
    }
    if not_after.is_some_and(|t| super::days_between(now, t) < warn_days) {
        reading.state = CheckState::Expiring;
    }
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_prefers_the_domain_then_the_server_then_its_address() {
        let mut c = ProbeConfig::default();
        assert_eq!(
            c.target("a.com.br", Some("gru"), Some("203.0.113.5")),
            "203.0.113.5:443"
        );
        assert_eq!(c.target("a.com.br", None, None), "a.com.br:443");
        assert_eq!(c.target("a.com.br", None, Some("2001:db8::1")), "[2001:db8::1]:443");
        c.connect.insert("server:gru".into(), "127.0.0.1:9".into());
        assert_eq!(c.target("a.com.br", Some("gru"), Some("203.0.113.5")), "127.0.0.1:9");
        c.connect.insert("a.com.br".into(), "127.0.0.1:10".into());
        assert_eq!(c.target("A.com.br", Some("gru"), None), "127.0.0.1:10");
    }

    #[test]
    fn unreachable_and_no_handshake_are_their_own_states() {
        let roots = ProbeConfig::default().roots();
        let now = Utc::now();
        let r = classify(&Served::Unreachable("refused".into()), "a.com", now, 21, &roots);
        assert_eq!(r.state, CheckState::Unreachable);
        assert!(!r.state.wants_autossl());
        let r = classify(&Served::NoHandshake("alert".into()), "a.com", now, 21, &roots);
        assert_eq!(r.state, CheckState::Missing);
        assert!(r.state.wants_autossl());
        assert_eq!(r.state.lifecycle(), "failed");
    }
}
