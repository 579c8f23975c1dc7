//! AutoSSL on the simulated server: each server also serves its accounts' sites over TLS on
//! a port of its own (the server's :443), picking the certificate by SNI, and
//! `start_autossl_check_for_one_user` issues a fresh one for the account's domain from the
//! sandbox's AutoSSL CA — so the next TLS check of that domain sees it renewed.
//!
//! Faults: the function takes the usual per-operation faults (an envelope fault with
//! "This system has AutoSSL disabled." is what a disabled provider looks like); the operation
//! [`DCV`] decides, per run, that domain control validation fails — the call answers OK (as
//! WHM does: the check runs in the background) but no certificate comes out.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::handlers::{Outcome, Params};
use super::WhmServer;
use crate::faults::lock;
use crate::SandboxError;

/// The WHM function.
pub const FUNCTION: &str = "start_autossl_check_for_one_user";
/// The fault operation that makes an AutoSSL run's domain control validation fail.
pub const DCV: &str = "autossl_dcv";
/// What AutoSSL issues: 90 days, like Let's Encrypt and cPanel's Sectigo.
pub const ISSUED_DAYS: i64 = 90;
const DAY: i64 = 86_400;

/// What a site serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SiteCert {
    /// Issued by the sandbox AutoSSL CA (trusted by whoever adds [`ca_der`] as a root).
    Issued { not_before: i64, not_after: i64 },
    /// Self-signed for the domain.
    SelfSigned { not_before: i64, not_after: i64 },
    /// The server's own hostname certificate: what cPanel serves a domain that has none.
    Hostname,
}

impl SiteCert {
    /// An AutoSSL certificate with `days_left` days to go at unix time `now`.
    pub fn issued(now: i64, days_left: i64) -> SiteCert {
        let not_after = now + days_left * DAY;
        SiteCert::Issued {
            not_before: not_after - ISSUED_DAYS * DAY,
            not_after,
        }
    }
}

/// What `painel sandbox cert` (the control API's `POST /servers/{name}/certs`) asks a site to
/// serve: `issued` (by the sandbox AutoSSL CA, `days_left` to go, 90 by default; negative =
/// expired), `self-signed` (the same dates), `hostname` (the server's own) or `none`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertRequest {
    pub domain: String,
    pub kind: String,
    #[serde(default)]
    pub days_left: Option<i64>,
}

impl CertRequest {
    /// The certificate at unix time `now` (`None` = no certificate).
    pub fn cert(&self, now: i64) -> Result<Option<SiteCert>, crate::SandboxError> {
        let bad = |m: String| crate::SandboxError::InvalidInit(m);
        let d = self.domain.trim();
        if d.is_empty() || d.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/') {
            return Err(bad(format!("{:?} is not a domain", self.domain)));
        }
        let days = self.days_left.unwrap_or(ISSUED_DAYS);
        let issued = SiteCert::issued(now, days);
        Ok(match self.kind.to_ascii_lowercase().replace('_', "-").as_str() {
            "issued" | "autossl" | "valid" => Some(issued),
            "self-signed" | "selfsigned" => match issued {
                SiteCert::Issued { not_before, not_after } => Some(SiteCert::SelfSigned { not_before, not_after }),
                other => Some(other),
            },
            "hostname" | "mismatch" => Some(SiteCert::Hostname),
            "none" | "missing" => None,
            other => {
                return Err(bad(format!(
                    "certificate kind {other:?} (issued, self-signed, hostname or none)"
                )))
            }
        })
    }
}

/// A site as the server starts with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInit {
    pub domain: String,
    pub cert: SiteCert,
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

fn make_ca() -> Result<Ca, String> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "painel sandbox AutoSSL CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "painel sandbox");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(3650);
    params.not_after = now + time::Duration::days(3650);
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok(Ca {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    })
}

fn ca() -> Result<&'static Ca, SandboxError> {
    static CA: OnceLock<Result<Ca, String>> = OnceLock::new();
    CA.get_or_init(make_ca)
        .as_ref()
        .map_err(|e| SandboxError::Tls(e.clone()))
}

/// The sandbox AutoSSL CA's certificate (DER), one per process: a checker trusts it as a root.
pub fn ca_der() -> Result<Vec<u8>, SandboxError> {
    Ok(ca()?.der.as_ref().to_vec())
}

fn when(t: i64) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::from_unix_timestamp(t).map_err(|e| e.to_string())
}

fn make_key(domain: &str, server: &str, cert: &SiteCert) -> Result<Arc<CertifiedKey>, String> {
    let names = match cert {
        SiteCert::Hostname => vec![format!("{server}.sandbox.example")],
        _ => vec![domain.to_owned(), format!("www.{domain}")],
    };
    let mut params = CertificateParams::new(names.clone()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(DnType::CommonName, names[0].as_str());
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut chain = Vec::new();
    match cert {
        SiteCert::Issued { not_before, not_after } => {
            params.not_before = when(*not_before)?;
            params.not_after = when(*not_after)?;
            let ca = ca().map_err(|e| e.to_string())?;
            chain.push(
                params
                    .signed_by(&key, &ca.issuer)
                    .map_err(|e| e.to_string())?
                    .der()
                    .clone(),
            );
            chain.push(ca.der.clone());
        }
        SiteCert::SelfSigned { not_before, not_after } => {
            params.not_before = when(*not_before)?;
            params.not_after = when(*not_after)?;
            chain.push(params.self_signed(&key).map_err(|e| e.to_string())?.der().clone());
        }
        SiteCert::Hostname => {
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::days(30);
            params.not_after = now + time::Duration::days(335);
            chain.push(params.self_signed(&key).map_err(|e| e.to_string())?.der().clone());
        }
    }
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signer = rustls::crypto::aws_lc_rs::sign::any_supported_type(&der).map_err(|e| e.to_string())?;
    Ok(Arc::new(CertifiedKey::new(chain, signer)))
}

struct Site {
    cert: SiteCert,
    key: Option<Arc<CertifiedKey>>,
}

/// The sites a server serves and what AutoSSL did to them.
#[derive(Default)]
pub(crate) struct Sites {
    sites: BTreeMap<String, Site>,
    next_pid: u64,
    /// Runs whose DCV failed (a fault), for tests.
    pub dcv_failures: u64,
    /// Certificates issued by AutoSSL runs.
    pub issued: u64,
}

impl Sites {
    pub fn new(init: &[CertInit]) -> Sites {
        let mut s = Sites {
            next_pid: 41_202,
            ..Sites::default()
        };
        for c in init {
            s.set(&c.domain, c.cert.clone());
        }
        s
    }

    pub fn set(&mut self, domain: &str, cert: SiteCert) {
        self.sites.insert(domain.to_ascii_lowercase(), Site { cert, key: None });
    }

    pub fn remove(&mut self, domain: &str) {
        self.sites.remove(&domain.to_ascii_lowercase());
    }

    pub fn list(&self) -> Vec<CertInit> {
        self.sites
            .iter()
            .map(|(d, s)| CertInit {
                domain: d.clone(),
                cert: s.cert.clone(),
            })
            .collect()
    }

    fn key_for(&mut self, name: &str, server: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.to_ascii_lowercase();
        let domain = if self.sites.contains_key(&name) {
            name
        } else {
            name.strip_prefix("www.").map(str::to_owned)?
        };
        let site = self.sites.get_mut(&domain)?;
        if site.key.is_none() {
            match make_key(&domain, server, &site.cert) {
                Ok(k) => site.key = Some(k),
                Err(e) => {
                    tracing::warn!(%domain, error = %e, "sandbox: cannot make the site certificate");
                    return None;
                }
            }
        }
        site.key.clone()
    }
}

/// Picks the site certificate by SNI; no site for the name = no certificate (the handshake
/// fails, which a checker reads as "missing").
pub(crate) struct SiteResolver {
    pub server: Arc<WhmServer>,
}

impl std::fmt::Debug for SiteResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteResolver")
            .field("server", &self.server.name)
            .finish()
    }
}

impl ResolvesServerCert for SiteResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.to_owned();
        lock(&self.server.sites).key_for(&name, &self.server.name)
    }
}

/// The TLS acceptor of a server's sites port.
pub(crate) fn acceptor(server: Arc<WhmServer>) -> Result<tokio_rustls::TlsAcceptor, SandboxError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SiteResolver { server }));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// What a site answers once the handshake is done.
pub(crate) fn site_router() -> axum::Router {
    axum::Router::new().fallback(|| async { "painel sandbox site\n" })
}

/// `start_autossl_check_for_one_user`: the account's domain gets a fresh certificate unless
/// the [`DCV`] fault says validation failed this run.
pub(crate) fn start(s: &WhmServer, p: &Params, now: i64) -> Outcome {
    let user = p.get("username").unwrap_or_default().trim().to_owned();
    if user.is_empty() {
        return Outcome::fail("The “username” argument is required.");
    }
    let domain = match lock(&s.state).accounts.get(&user) {
        Some(a) => a.domain.clone(),
        None => return Outcome::fail(format!("The user “{user}” does not exist.")),
    };
    let dcv_fails = s.faults.decide(DCV).is_some();
    let mut sites = lock(&s.sites);
    sites.next_pid += 1;
    let pid = sites.next_pid;
    if dcv_fails {
        sites.dcv_failures += 1;
    } else {
        sites.set(&domain, SiteCert::issued(now, ISSUED_DAYS));
        sites.issued += 1;
    }
    Outcome {
        ok: true,
        reason: "OK".into(),
        data: Some(json!({ "pid": pid.to_string() })),
        raw: None,
    }
}
