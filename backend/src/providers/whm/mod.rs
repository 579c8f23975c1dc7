//! The WHM API 1 client (cPanel & WHM servers, docs/adr/0019; wire format in
//! /work/shared/providers/whm.md): `client` (the calls), `wire` (the envelope and each
//! function's data), `error` (what failed and whether to retry), `tls` (verify, pin or trust).
//! Only jobs call it (never a keypress or a request path).

use std::fmt;
use std::time::Duration;

mod autossl;
mod client;
mod error;
mod tls;
mod transfer;
mod wire;

#[cfg(test)]
mod tests;

pub use autossl::START_FOR_ONE_USER;
pub(crate) use client::check_base_url;
pub use client::{CreateAccount, PackageSpec, SearchField, WhmClient, MAX_BODY_BYTES};
pub use error::{MalformedKind, TransportKind, WhmError};
pub(crate) use tls::client_config;
pub(crate) use tls::client_config as tls_config;
pub use tls::{cert_sha256, parse_sha256_hex, TlsPolicy};
pub use transfer::{
    CreatedSession, NewTransferSession, SessionState, TransferAuth, TransferItem, MASTER_ERROR_LOG, MASTER_LOG,
};
pub use wire::{
    Account, AccountBandwidth, Answer, Bandwidth, CreatedAccount, DiskUsage, Limit, LoadAverage, Output, Package,
};

/// The default budget of one ordinary call (connect + answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A secret string (API token, account password): `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

/// Where and how to reach one WHM server.
#[derive(Clone, Debug)]
pub struct WhmEndpoint {
    /// `https://host:2087` (a path prefix is kept); `http://` only for loopback hosts.
    pub base_url: String,
    /// `root` or a reseller.
    pub api_user: String,
    pub token: Secret,
    pub tls: TlsPolicy,
    /// The budget of one ordinary call; createacct and removeacct get
    /// [`SLOW_CALL_FACTOR`] times as much (they build or tear down a whole account).
    pub timeout: Duration,
}

/// How many ordinary budgets createacct and removeacct get (30 s → 3 min).
pub const SLOW_CALL_FACTOR: u32 = 6;

impl WhmEndpoint {
    pub fn new(base_url: impl Into<String>, api_user: impl Into<String>, token: impl Into<Secret>) -> WhmEndpoint {
        WhmEndpoint {
            base_url: base_url.into(),
            api_user: api_user.into(),
            token: token.into(),
            tls: TlsPolicy::Verify,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn with_tls(mut self, tls: TlsPolicy) -> WhmEndpoint {
        self.tls = tls;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> WhmEndpoint {
        self.timeout = timeout;
        self
    }
}
