//! The Cloudflare API v4 client, zones and DNS records (wire format in
//! /work/shared/providers/cloudflare.md; docs/adr/0031): `client` (the calls, pagination and
//! the rate-limit window), `wire` (the envelope, zones, records), `error` (what failed and
//! whether to retry). Same shape as `providers::whm`; only jobs call it.

use std::time::Duration;

mod client;
mod error;
mod wire;

#[cfg(test)]
mod tests;

pub use client::{CloudflareClient, MAX_BODY_BYTES};
pub use error::CfError;
pub use wire::{ApiMessage, DnsRecord, NewRecord, RecordPatch, ResultInfo, Zone, ZoneAccount};

pub use super::whm::Secret;

/// The real API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// The budget of one call (connect + answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to reach the API: one account, one API token.
#[derive(Clone, Debug)]
pub struct CfEndpoint {
    /// `https://api.cloudflare.com/client/v4`; `http://` only for loopback hosts (the sandbox).
    pub base_url: String,
    /// The account zones are created in and listed from (zone names are unique per account).
    pub account_id: String,
    pub token: Secret,
    pub timeout: Duration,
}

impl CfEndpoint {
    pub fn new(base_url: impl Into<String>, account_id: impl Into<String>, token: impl Into<Secret>) -> CfEndpoint {
        CfEndpoint {
            base_url: base_url.into(),
            account_id: account_id.into(),
            token: token.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> CfEndpoint {
        self.timeout = timeout;
        self
    }
}
