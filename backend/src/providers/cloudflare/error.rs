//! What can go wrong talking to Cloudflare, and whether trying again can help.
//!
//! Cloudflare answers with `success` + HTTP status, refined by integer codes in `errors[]`
//! (cloudflare.md): 1061 zone exists, 81057/81058 record exists, 10000 authentication. Texts
//! from the server are kept raw (data); the token never appears in them (the client scrubs it).

use std::time::Duration;

use super::wire::ApiMessage;
use crate::jobs::JobError;

/// Zone already exists on create.
pub const ZONE_EXISTS: i64 = 1061;
/// A record with the same type/name/content exists.
pub const RECORD_EXISTS: i64 = 81057;
/// An identical record exists.
pub const RECORD_IDENTICAL: i64 = 81058;
/// Authentication error (bad token or missing permission).
pub const AUTH: i64 = 10000;
/// Record or zone not found (`Record does not exist.` / `Invalid zone identifier`).
pub const NOT_FOUND_CODES: [i64; 3] = [81044, 7003, 1001];

#[derive(Debug, Clone, thiserror::Error)]
pub enum CfError {
    /// Unusable as configured (bad URL, empty token). Nothing was sent.
    #[error("Cloudflare endpoint misconfigured: {0}")]
    Config(String),
    #[error("Cloudflare {op}: {kind} ({detail})")]
    Transport {
        op: String,
        /// `timeout`, `connect`, `tls` or `dropped`.
        kind: &'static str,
        detail: String,
    },
    #[error("Cloudflare {op}: authentication refused (HTTP {status}){}", first(errors))]
    Auth {
        op: String,
        status: u16,
        errors: Vec<ApiMessage>,
    },
    /// HTTP 429, or a call refused here because the last 429's window is still open.
    #[error("Cloudflare {op}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited { op: String, retry_after: Option<Duration> },
    /// `success: false` (or a 4xx/5xx with the envelope): `errors[]` say why.
    #[error("Cloudflare {op} failed (HTTP {status}){}", first(errors))]
    Api {
        op: String,
        status: u16,
        errors: Vec<ApiMessage>,
    },
    /// A non-2xx answer without the envelope (a proxy's HTML page).
    #[error("Cloudflare {op}: HTTP {status}")]
    Http { op: String, status: u16 },
    #[error("Cloudflare {op}: malformed response: {detail}")]
    Malformed { op: String, detail: String },
}

fn first(errors: &[ApiMessage]) -> String {
    errors
        .iter()
        .map(|e| format!(": {} {}", e.code, e.message))
        .next()
        .unwrap_or_default()
}

impl CfError {
    /// Whether the same call may succeed later (retry with backoff) rather than fail the same
    /// way: 5xx, 408, 429, network errors but TLS, and answers cut short.
    pub fn is_transient(&self) -> bool {
        match self {
            CfError::Config(_) | CfError::Auth { .. } => false,
            CfError::Transport { kind, .. } => *kind != "tls",
            CfError::RateLimited { .. } => true,
            CfError::Api { status, .. } | CfError::Http { status, .. } => *status >= 500 || *status == 408,
            CfError::Malformed { .. } => true,
        }
    }

    /// Whether one of the envelope's error codes is `code`.
    pub fn has_code(&self, code: i64) -> bool {
        match self {
            CfError::Api { errors, .. } | CfError::Auth { errors, .. } => errors.iter().any(|e| e.code == code),
            _ => false,
        }
    }

    /// "Already there": zone exists (1061) or record exists (81057/81058).
    pub fn already_exists(&self) -> bool {
        self.has_code(ZONE_EXISTS) || self.has_code(RECORD_EXISTS) || self.has_code(RECORD_IDENTICAL)
    }

    /// The zone or record addressed does not exist (HTTP 404, or a not-found code).
    pub fn is_not_found(&self) -> bool {
        match self {
            CfError::Api { status, .. } | CfError::Http { status, .. } if *status == 404 => true,
            _ => NOT_FOUND_CODES.iter().any(|c| self.has_code(*c)),
        }
    }

    /// The kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CfError::Config(_) => "config",
            CfError::Transport { .. } => "transport",
            CfError::Auth { .. } => "auth",
            CfError::RateLimited { .. } => "rate_limited",
            CfError::Api { .. } => "api",
            CfError::Http { .. } => "http",
            CfError::Malformed { .. } => "malformed",
        }
    }
}

impl From<CfError> for JobError {
    fn from(e: CfError) -> Self {
        if e.is_transient() {
            JobError::Transient(e.to_string())
        } else {
            JobError::Permanent(e.to_string())
        }
    }
}
