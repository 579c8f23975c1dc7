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

mod control;
mod faults;
mod rng;
mod server;
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
pub use whm::{Account, AccountInit, Package, WhmInit, WhmLimits, WhmSnapshot};

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
            .collect()
    }

    pub fn set_fault(&self, server: &str, operation: &str, spec: FaultSpec) -> Result<(), SandboxError> {
        spec.validate()?;
        if operation.is_empty() {
            return Err(SandboxError::InvalidFault("no operation (use * for all)".into()));
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
    }

    pub fn faults(&self) -> Vec<FaultEntry> {
        self.whm.values().flat_map(|e| e.server.faults.list()).collect()
    }
}

/// How to start a sandbox: the seed, the servers, HTTPS or plain HTTP.
#[derive(Debug, Clone, Default)]
pub struct SandboxBuilder {
    seed: u64,
    whm: Vec<(String, WhmInit)>,
    plain_http: bool,
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

    /// Serve the simulators over plain HTTP instead of HTTPS.
    pub fn plain_http(mut self, yes: bool) -> Self {
        self.plain_http = yes;
        self
    }

    pub async fn start(self) -> Result<Sandbox, SandboxError> {
        let tls = tls::self_signed()?;
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut whm = BTreeMap::new();
        let scheme = if self.plain_http { "http" } else { "https" };
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
                whm::WhmServer::new(self.seed, name, init)
                    .map_err(|e| SandboxError::InvalidInit(format!("{name}: {e}")))?,
            );
            let listener = server::bind().await?;
            let url = format!("{scheme}://127.0.0.1:{}", listener.local_addr()?.port());
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
        let inner = Arc::new(Inner {
            seed: self.seed,
            fingerprint: tls.fingerprint.clone(),
            whm,
        });
        let listener = server::bind().await?;
        let control_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        tasks.push(server::spawn(listener, control::router(inner.clone()), None, rx));
        Ok(Sandbox {
            inner,
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

    pub fn whm_accounts(&self, name: &str) -> Option<Vec<Account>> {
        self.whm_state(name).map(|s| s.accounts)
    }

    pub fn whm_packages(&self, name: &str) -> Option<Vec<Package>> {
        self.whm_state(name).map(|s| s.packages)
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
