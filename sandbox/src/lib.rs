//! Provider simulators on loopback (docs/adr/0018).
//!
//! A [`Sandbox`] runs one simulated WHM server per loopback port (HTTPS with a certificate made
//! at start, or plain HTTP), each holding real state, with faults per server and operation
//! decided by streams derived from one seed, and a control API on a port of its own.
//!
//! ```no_run
//! # async fn f() -> Result<(), painel_sandbox::SandboxError> {
//! use painel_sandbox::{FaultKind, FaultSpec, Sandbox, WhmInit};
//! let sb = Sandbox::builder().seed(7).whm("whm-gru-01", WhmInit::new("root", "TOKEN")).start().await?;
//! let url = sb.whm_url("whm-gru-01");
//! sb.set_fault("whm-gru-01", "createacct", FaultSpec::with_rate(FaultKind::Timeout, 0.3))?;
//! # Ok(()) }
//! ```

pub mod cloudflare;
mod control;
pub mod dns;
mod faults;
pub mod mercadopago;
pub mod pagseguro;
mod post;
mod rng;
mod server;
pub mod smtp;
pub mod stripe;
mod tls;
pub mod whm;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use control::{FaultRequest, ServerInfo};
pub use faults::{FaultEntry, FaultKind, FaultSpec, ANY_OPERATION};
pub use whm::autossl::{CertInit, SiteCert};
pub use whm::{source_password, Account, AccountInit, Package, WhmInit, WhmLimits, WhmSnapshot};

/// An API token for `server` derived from the seed (32 upper-case hex digits, like WHM's): a
/// restart with the same seed keeps the credentials a client was given.
pub fn token_for(seed: u64, server: &str) -> String {
    format!(
        "{:016X}{:016X}",
        rng::mix(seed, &[server, "token"]),
        rng::mix(seed, &[server, "token", "2"])
    )
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on loopback: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot make the sandbox certificate: {0}")]
    Tls(String),
    #[error("no simulated server named {0:?}")]
    UnknownServer(String),
    #[error("invalid fault: {0}")]
    InvalidFault(String),
    #[error("invalid sandbox setup: {0}")]
    InvalidInit(String),
}

pub(crate) struct CfEntry {
    pub server: Arc<cloudflare::CfServer>,
    pub url: String,
}

pub(crate) struct WhmEntry {
    pub server: Arc<whm::WhmServer>,
    pub url: String,
    /// The server's sites port (its :443), serving each domain's certificate by SNI.
    pub sites: std::net::SocketAddr,
}

/// What the control API and the handle share.
pub(crate) struct Inner {
    pub seed: u64,
    pub fingerprint: String,
    pub whm: BTreeMap<String, WhmEntry>,
    pub smtp: Option<Arc<smtp::SmtpSink>>,
    pub cloudflare: Option<CfEntry>,
}

impl Inner {
    pub fn server_infos(&self) -> Vec<ServerInfo> {
        self.whm
            .iter()
            .map(|(name, e)| ServerInfo {
                name: name.clone(),
                kind: "whm".into(),
                url: e.url.clone(),
                api_user: e.server.api_user().to_owned(),
                token: e.server.token().to_owned(),
            })
            .chain(self.cloudflare.iter().map(|e| ServerInfo {
                name: cloudflare::SERVER_NAME.into(),
                kind: "cloudflare".into(),
                url: format!("{}/client/v4", e.url),
                api_user: e.server.account_id(),
                token: e.server.token().to_owned(),
            }))
            .collect()
    }

    pub fn set_fault(&self, server: &str, operation: &str, spec: FaultSpec) -> Result<(), SandboxError> {
        spec.validate()?;
        if operation.is_empty() {
            return Err(SandboxError::InvalidFault("no operation (use * for all)".into()));
        }
        if let Some(cf) = self.cloudflare.as_ref().filter(|_| server == cloudflare::SERVER_NAME) {
            cf.server.faults.set(operation, spec);
            return Ok(());
        }
        let e = self
            .whm
            .get(server)
            .ok_or_else(|| SandboxError::UnknownServer(server.to_owned()))?;
        e.server.faults.set(operation, spec);
        Ok(())
    }

    pub fn clear_faults(&self) {
        for e in self.whm.values() {
            e.server.faults.clear();
        }
        if let Some(cf) = &self.cloudflare {
            cf.server.faults.clear();
        }
    }

    pub fn faults(&self) -> Vec<FaultEntry> {
        self.whm
            .values()
            .flat_map(|e| e.server.faults.list())
            .chain(self.cloudflare.iter().flat_map(|e| e.server.faults.list()))
            .collect()
    }
}

/// How to start a sandbox: the seed, the servers, HTTPS or plain HTTP.
#[derive(Debug, Clone, Default)]
pub struct SandboxBuilder {
    seed: u64,
    whm: Vec<(String, WhmInit)>,
    plain_http: bool,
    smtp: bool,
    transfer_pace: Option<std::time::Duration>,
    cloudflare: Option<cloudflare::CloudflareInit>,
    dns: bool,
}

impl SandboxBuilder {
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A simulated WHM server named `name` (lowercase letters, digits and `-`).
    pub fn whm(mut self, name: &str, init: WhmInit) -> Self {
        self.whm.push((name.to_owned(), init));
        self
    }

    /// An SMTP sink on loopback too (docs/adr/0027), read with [`Sandbox::smtp`] or the
    /// control API's `GET /smtp/messages`.
    pub fn smtp(mut self, yes: bool) -> Self {
        self.smtp = yes;
        self
    }

    /// The Cloudflare API simulator (docs/adr/0031), under `/client/v4`, over plain HTTP.
    pub fn cloudflare(mut self, init: cloudflare::CloudflareInit) -> Self {
        self.cloudflare = Some(init);
        self
    }

    /// A loopback DNS server (UDP, ephemeral port) answering NS/A for the sandbox's table;
    /// with Cloudflare on, activation checks consult it.
    pub fn dns(mut self, yes: bool) -> Self {
        self.dns = yes;
        self
    }

    /// Serve the simulators over plain HTTP instead of HTTPS.
    pub fn plain_http(mut self, yes: bool) -> Self {
        self.plain_http = yes;
        self
    }

    /// About how long one stage (e-mail, databases, files…) of an account in a WHM transfer
    /// session takes (default [`whm::DEFAULT_PACE`]).
    pub fn transfer_pace(mut self, pace: std::time::Duration) -> Self {
        self.transfer_pace = Some(pace);
        self
    }

    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        let tls = tls::self_signed()?;
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut whm = BTreeMap::new();
        let scheme = if self.plain_http { "http" } else { "https" };
        let network = Arc::new(whm::transfer::Network::default());
        let pace = self.transfer_pace.unwrap_or(whm::DEFAULT_PACE);
        for (name, init) in &self.whm {
            let valid = !name.is_empty()
                && name.len() <= 63
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(SandboxError::InvalidInit(format!("server name {name:?}")));
            }
            if whm.contains_key(name) {
                return Err(SandboxError::InvalidInit(format!("two servers named {name}")));
            }
            let server = Arc::new(
                whm::WhmServer::new(self.seed, name, init, network.clone(), pace)
                    .map_err(|e| SandboxError::InvalidInit(format!("{name}: {e}")))?,
            );
            let listener = server::bind().await?;
            let port = listener.local_addr()?.port();
            network.add(name, port, &server);
            let url = format!("{scheme}://127.0.0.1:{port}");
            let acceptor = (!self.plain_http).then(|| tls.acceptor.clone());
            tasks.push(server::spawn(
                listener,
                whm::router(server.clone()),
                acceptor,
                rx.clone(),
            ));
            let sites_listener = server::bind().await?;
            let sites = sites_listener.local_addr()?;
            tasks.push(server::spawn(
                sites_listener,
                whm::autossl::site_router(),
                Some(whm::autossl::acceptor(server.clone())?),
                rx.clone(),
            ));
            whm.insert(name.clone(), WhmEntry { server, url, sites });
        }
        let smtp = match self.smtp {
            true => Some(Arc::new(smtp::SmtpSink::start().await?)),
            false => None,
        };
        let dns = match self.dns {
            true => Some(dns::DnsServer::start(dns::DnsTable::default()).await?),
            false => None,
        };
        let mut cf = None;
        if let Some(init) = &self.cloudflare {
            let server = Arc::new(cloudflare::CfServer::new(
                self.seed,
                init,
                dns.as_ref().map(|d| d.table().clone()),
            ));
            let listener = server::bind().await?;
            // Plain HTTP on loopback always: the client takes http:// only for loopback hosts
            // and otherwise verifies the public PKI, which a self-signed sandbox cannot pass.
            let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
            tasks.push(server::spawn(
                listener,
                cloudflare::router(server.clone()),
                None,
                rx.clone(),
            ));
            cf = Some(CfEntry { server, url });
        }
        let inner = Arc::new(Inner {
            seed: self.seed,
            fingerprint: tls.fingerprint.clone(),
            whm,
            smtp,
            cloudflare: cf,
        });
        let listener = server::bind().await?;
        let control_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        tasks.push(server::spawn(listener, control::router(inner.clone()), None, rx));
        Ok(Sandbox {
            inner,
            dns,
            control_url,
            cert_der: tls.cert_der,
            shutdown,
            tasks,
        })
    }
}

/// A running sandbox; dropping it stops every simulator and closes their connections.
pub struct Sandbox {
    inner: Arc<Inner>,
    dns: Option<dns::DnsServer>,
    control_url: String,
    cert_der: Vec<u8>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sandbox {
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The server's base URL (`https://127.0.0.1:PORT`, no trailing slash); WHM serves from
    /// the root path.
    pub fn whm_url(&self, name: &str) -> Option<String> {
        self.inner.whm.get(name).map(|e| e.url.clone())
    }

    /// SHA-256 of the sandbox certificate (DER), lower-case hex: the pin for its servers.
    pub fn cert_sha256_hex(&self) -> String {
        self.inner.fingerprint.clone()
    }

    /// The certificate itself (DER), for clients that add it as a trust root.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The SMTP sink, when the builder asked for one.
    pub fn smtp(&self) -> Option<&smtp::SmtpSink> {
        self.inner.smtp.as_deref()
    }

    pub fn control_url(&self) -> String {
        self.control_url.clone()
    }

    pub fn servers(&self) -> Vec<ServerInfo> {
        self.inner.server_infos()
    }

    /// Sets (replaces) the fault of `operation` (a WHM function name, or [`ANY_OPERATION`]).
    pub fn set_fault(&self, server: &str, operation: &str, spec: FaultSpec) -> Result<(), SandboxError> {
        self.inner.set_fault(server, operation, spec)
    }

    pub fn clear_faults(&self) {
        self.inner.clear_faults();
    }

    pub fn faults(&self) -> Vec<FaultEntry> {
        self.inner.faults()
    }

    /// A copy of the server's accounts, packages, disk and call counts.
    pub fn whm_state(&self, name: &str) -> Option<WhmSnapshot> {
        self.inner.whm.get(name).map(|e| e.server.snapshot())
    }

    /// Changes a server's capacity while it runs (a disk filling up, a licence shrinking);
    /// what it already holds stays.
    pub fn set_whm_limits(&self, name: &str, limits: WhmLimits) -> Result<(), SandboxError> {
        let e = self
            .inner
            .whm
            .get(name)
            .ok_or_else(|| SandboxError::UnknownServer(name.to_owned()))?;
        faults::lock(&e.server.state).limits = limits;
        Ok(())
    }

    /// Where server `name` serves its sites over TLS (what its :443 would be).
    pub fn sites_addr(&self, name: &str) -> Option<std::net::SocketAddr> {
        self.inner.whm.get(name).map(|e| e.sites)
    }

    /// The certificates server `name` serves, per domain.
    pub fn site_certs(&self, name: &str) -> Option<Vec<whm::autossl::CertInit>> {
        self.inner.whm.get(name).map(|e| faults::lock(&e.server.sites).list())
    }

    /// Changes what a site serves while the sandbox runs (`None`: no certificate at all).
    pub fn set_site_cert(
        &self,
        name: &str,
        domain: &str,
        cert: Option<whm::autossl::SiteCert>,
    ) -> Result<(), SandboxError> {
        let e = self
            .inner
            .whm
            .get(name)
            .ok_or_else(|| SandboxError::UnknownServer(name.to_owned()))?;
        let mut sites = faults::lock(&e.server.sites);
        match cert {
            Some(c) => sites.set(domain, c),
            None => sites.remove(domain),
        }
        Ok(())
    }

    /// The sandbox AutoSSL CA (DER): a TLS checker trusts it as a root.
    pub fn autossl_ca_der(&self) -> Result<Vec<u8>, SandboxError> {
        whm::autossl::ca_der()
    }

    /// A simulated server's transfer sessions as (id, state), oldest first.
    pub fn whm_transfer_sessions(&self, name: &str) -> Option<Vec<(String, String)>> {
        self.inner.whm.get(name).map(|e| e.server.transfer_sessions())
    }

    pub fn whm_accounts(&self, name: &str) -> Option<Vec<Account>> {
        self.whm_state(name).map(|s| s.accounts)
    }

    pub fn whm_packages(&self, name: &str) -> Option<Vec<Package>> {
        self.whm_state(name).map(|s| s.packages)
    }

    /// The password of `user` (`root` or an account) on simulated server `server`: what a
    /// transfer session from it must be given.
    pub fn source_password(&self, server: &str, user: &str) -> String {
        whm::source_password(self.inner.seed, server, user)
    }

    /// The Cloudflare API base URL (`…/client/v4`), when the simulator runs.
    pub fn cloudflare_url(&self) -> Option<String> {
        self.inner.cloudflare.as_ref().map(|e| format!("{}/client/v4", e.url))
    }

    /// The Cloudflare simulator's zones (with their records) as they stand.
    pub fn cloudflare_zones(&self) -> Vec<cloudflare::SimZone> {
        self.inner
            .cloudflare
            .as_ref()
            .map(|e| e.server.zones())
            .unwrap_or_default()
    }

    /// Calls per operation the Cloudflare simulator answered (faults included).
    pub fn cloudflare_calls(&self) -> BTreeMap<String, u64> {
        self.inner
            .cloudflare
            .as_ref()
            .map(|e| e.server.calls())
            .unwrap_or_default()
    }

    /// The loopback DNS server's address, when it runs.
    pub fn dns_addr(&self) -> Option<std::net::SocketAddr> {
        self.dns.as_ref().map(|d| d.addr())
    }

    /// The DNS server's table (change delegations while it runs).
    pub fn dns_table(&self) -> Option<dns::DnsTable> {
        self.dns.as_ref().map(|d| d.table().clone())
    }

    /// Stops the simulators now (the same as dropping the handle).
    pub fn shutdown(self) {}
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}
