//! What can go wrong talking to WHM, and whether trying again can help (docs/adr/0019).
//!
//! Texts coming from the server (reasons, bodies) are kept raw, as data: printing them is the
//! caller's business (through the terminal sanitiser). The API token never appears in any of
//! them: the client scrubs it from every server-supplied text before building an error.

use std::time::Duration;

use crate::jobs::JobError;

/// How the connection itself failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No answer within the call's time budget (connect, headers or body).
    Timeout,
    /// TCP connect refused/unreachable, DNS failure.
    Connect,
    /// The TLS handshake failed: certificate not trusted, pin mismatch, protocol error.
    Tls,
    /// The connection dropped while sending the request or reading the answer.
    Dropped,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Connect => "connect",
            TransportKind::Tls => "tls",
            TransportKind::Dropped => "dropped",
        }
    }
}

/// Why a body could not be read as a WHM API 1 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedKind {
    /// The body ended early (connection closed mid-body, JSON cut short).
    Truncated,
    /// Not JSON at all (an HTML error page from a proxy, a restarting cpsrvd).
    NotJson,
    /// JSON, but not the API 1 envelope (e.g. an API 0 answer: `api.version=1` was ignored).
    NotEnvelope,
    /// The envelope is there but `data` does not have the documented shape.
    Shape,
    /// Larger than the client reads (`MAX_BODY_BYTES`).
    TooLarge,
}

impl MalformedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MalformedKind::Truncated => "truncated",
            MalformedKind::NotJson => "not JSON",
            MalformedKind::NotEnvelope => "not a WHM API 1 envelope",
            MalformedKind::Shape => "unexpected data shape",
            MalformedKind::TooLarge => "too large",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum WhmError {
    /// The endpoint is unusable as configured (bad URL, `http://` to a non-loopback host,
    /// unusable TLS settings). Nothing was sent.
    #[error("WHM endpoint misconfigured: {0}")]
    Config(String),
    #[error("WHM {command}: {} ({detail})", kind.as_str())]
    Transport {
        command: String,
        kind: TransportKind,
        detail: String,
    },
    /// The token was refused (HTTP 401/403, or the legacy "Access denied" body).
    #[error("WHM {command}: authentication refused (HTTP {status}): {reason}")]
    Auth {
        command: String,
        status: u16,
        reason: String,
    },
    #[error("WHM {command}: rate limited (HTTP 429){}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        command: String,
        retry_after: Option<Duration>,
    },
    #[error("WHM {command}: HTTP {status}")]
    Http { command: String, status: u16 },
    /// `metadata.result = 0`: the server ran the call and refused it; `reason` is its text.
    #[error("WHM {command} failed: {reason}")]
    Api { command: String, reason: String },
    #[error("WHM {command}: malformed response ({}): {detail}", kind.as_str())]
    Malformed {
        command: String,
        kind: MalformedKind,
        detail: String,
    },
}

/// Fragments of `metadata.reason` that mean "the server is busy, try later". Everything
/// else a server refuses (validation, "already exists", "does not exist", permissions) will
/// be refused again, so it is permanent.
const TRANSIENT_REASONS: &[&str] = &[
    "try again",
    "temporarily",
    "timed out",
    "timeout",
    "is locked",
    "lock file",
    "already running",
    "currently running",
    "in progress",
    "too many",
    "busy",
    "upcp",
    "restarting",
];

/// How WHM says "no such account" ("Account does not exist.", "The user “x” does not exist.").
const NO_SUCH_ACCOUNT: &[&str] = &[
    "does not exist",
    "doesn't exist",
    "no such user",
    "no such account",
    "not a valid user",
    "unknown user",
];

impl WhmError {
    /// Whether the same call may succeed if tried again later (retry with backoff) rather
    /// than fail the same way (dead letter at once). The table is in docs/adr/0019.
    pub fn is_transient(&self) -> bool {
        match self {
            WhmError::Config(_) | WhmError::Auth { .. } => false,
            WhmError::Transport { kind, .. } => !matches!(kind, TransportKind::Tls),
            WhmError::RateLimited { .. } => true,
            WhmError::Http { status, .. } => *status >= 500 || *status == 408,
            WhmError::Api { reason, .. } => {
                let r = reason.to_lowercase();
                TRANSIENT_REASONS.iter().any(|m| r.contains(m))
            }
            WhmError::Malformed { kind, .. } => matches!(kind, MalformedKind::Truncated | MalformedKind::NotJson),
        }
    }

    /// The WHM function the error came from (empty for configuration errors).
    pub fn command(&self) -> &str {
        match self {
            WhmError::Config(_) => "",
            WhmError::Transport { command, .. }
            | WhmError::Auth { command, .. }
            | WhmError::RateLimited { command, .. }
            | WhmError::Http { command, .. }
            | WhmError::Api { command, .. }
            | WhmError::Malformed { command, .. } => command,
        }
    }

    /// A timeout: the call may or may not have run on the server (createacct, removeacct:
    /// look before trying again).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            WhmError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        )
    }

    /// Whether the call may have had its effect on the server although no success came back
    /// (the request was sent, the answer is missing or unreadable).
    pub fn outcome_unknown(&self) -> bool {
        match self {
            WhmError::Transport { kind, .. } => matches!(kind, TransportKind::Timeout | TransportKind::Dropped),
            WhmError::Malformed { .. } => true,
            WhmError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Whether the server refused because the account does not exist (accountsummary,
    /// removeacct or suspendacct of a user that is not there).
    pub fn is_no_such_account(&self) -> bool {
        let WhmError::Api { reason, .. } = self else {
            return false;
        };
        let r = reason.to_lowercase().replace('\u{2019}', "'");
        NO_SUCH_ACCOUNT.iter().any(|m| r.contains(m))
    }

    /// Whether the server refused because the named hosting package is not there (createacct
    /// or changepackage naming a package the server does not have).
    pub fn is_no_such_package(&self) -> bool {
        let WhmError::Api { reason, .. } = self else {
            return false;
        };
        let r = reason.to_lowercase().replace('\u{2019}', "'");
        r.contains("package")
            && (NO_SUCH_ACCOUNT.iter().any(|m| r.contains(m))
                || r.contains("not found")
                || r.contains("unable to find"))
    }

    /// The server's own reason text, for `Api` and `Auth` errors.
    pub fn reason(&self) -> Option<&str> {
        match self {
            WhmError::Api { reason, .. } | WhmError::Auth { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// A short machine-readable kind for logs and job histories.
    pub fn kind(&self) -> &'static str {
        match self {
            WhmError::Config(_) => "config",
            WhmError::Transport { kind, .. } => match kind {
                TransportKind::Timeout => "timeout",
                TransportKind::Connect => "connect",
                TransportKind::Tls => "tls",
                TransportKind::Dropped => "dropped",
            },
            WhmError::Auth { .. } => "auth",
            WhmError::RateLimited { .. } => "rate_limited",
            WhmError::Http { .. } => "http",
            WhmError::Api { .. } => "api",
            WhmError::Malformed { .. } => "malformed",
        }
    }
}

impl From<WhmError> for JobError {
    fn from(e: WhmError) -> Self {
        if e.is_transient() {
            JobError::Transient(e.to_string())
        } else {
            JobError::Permanent(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(reason: &str) -> WhmError {
        WhmError::Api {
            command: "createacct".into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn classification_table() {
        let t = |kind| WhmError::Transport {
            command: "version".into(),
            kind,
            detail: String::new(),
        };
        assert!(t(TransportKind::Timeout).is_transient());
        assert!(t(TransportKind::Connect).is_transient());
        assert!(t(TransportKind::Dropped).is_transient());
        assert!(!t(TransportKind::Tls).is_transient());
        let http = |status| WhmError::Http {
            command: "version".into(),
            status,
        };
        assert!(http(500).is_transient());
        assert!(http(503).is_transient());
        assert!(http(408).is_transient());
        assert!(!http(404).is_transient());
        assert!(!http(400).is_transient());
        assert!(WhmError::RateLimited {
            command: "version".into(),
            retry_after: None
        }
        .is_transient());
        assert!(!WhmError::Auth {
            command: "version".into(),
            status: 403,
            reason: "Access denied".into()
        }
        .is_transient());
        assert!(!WhmError::Config("x".into()).is_transient());
        assert!(!api("Sorry, a group for that username already exists.").is_transient());
        assert!(!api("Account does not exist.").is_transient());
        assert!(!api("The password you selected cannot be used").is_transient());
        assert!(api("Unable to obtain a lock: try again later").is_transient());
        assert!(api("The system is currently running upcp").is_transient());
        let m = |kind| WhmError::Malformed {
            command: "listaccts".into(),
            kind,
            detail: String::new(),
        };
        assert!(m(MalformedKind::Truncated).is_transient());
        assert!(m(MalformedKind::NotJson).is_transient());
        assert!(!m(MalformedKind::NotEnvelope).is_transient());
        assert!(!m(MalformedKind::Shape).is_transient());
        assert!(!m(MalformedKind::TooLarge).is_transient());
    }

    #[test]
    fn a_missing_package_is_told_from_a_missing_account() {
        assert!(api("The package “hb_start” does not exist.").is_no_such_package());
        assert!(api("Unable to find package: hb_start").is_no_such_package());
        assert!(!api("Account does not exist.").is_no_such_package());
        assert!(!api("The package “hb_start” already exists.").is_no_such_package());
    }

    #[test]
    fn job_errors_follow_the_classification() {
        let e: JobError = WhmError::Http {
            command: "version".into(),
            status: 502,
        }
        .into();
        assert!(matches!(e, JobError::Transient(ref m) if m.contains("HTTP 502")));
        let e: JobError = api("Sorry, a group for that username already exists.").into();
        assert!(matches!(e, JobError::Permanent(ref m) if m.contains("already exists")));
    }
}
