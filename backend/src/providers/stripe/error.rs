//! What can go wrong talking to Stripe, and whether trying again can help.
//!
//! Stripe's error envelope (`{"error": {"type", "code", "message", "param", …}}`) is kept as
//! data; `Stripe-Should-Retry`, when sent, decides. Texts from the server are raw: printing
//! them is the caller's business (through the terminal sanitiser). The secret key never
//! appears in any of them.

use crate::jobs::JobError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// Unusable as configured (bad base URL, empty key). Nothing was sent.
    #[error("Stripe misconfigured: {0}")]
    Config(String),
    /// No answer: connect refused, timeout, connection dropped.
    #[error("Stripe {call}: {detail}")]
    Transport {
        call: String,
        timeout: bool,
        detail: String,
    },
    /// Stripe answered with an error envelope (or at least an error status).
    #[error("Stripe {}: HTTP {} {}{}: {}", .0.call, .0.status, .0.kind, .0.code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), .0.message)]
    Api(Box<ApiError>),
    /// A 2xx whose body is not the object asked for.
    #[error("Stripe {call}: malformed answer: {detail}")]
    Malformed { call: String, detail: String },
}

/// Stripe's error envelope (`{"error": {…}}`) with the answer's status and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub call: String,
    pub status: u16,
    /// `type`: invalid_request_error, card_error, idempotency_error, api_error, …
    pub kind: String,
    pub code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    pub request_id: Option<String>,
    /// `Stripe-Should-Retry`, when present.
    pub should_retry: Option<bool>,
}

impl StripeError {
    /// Whether the same call (with the same Idempotency-Key) may succeed later: Stripe's own
    /// header first; else 409 (a concurrent request with the key), 429, 5xx, no answer, and
    /// a cut-short body. Validation, auth, card and idempotency errors fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            StripeError::Config(_) => false,
            StripeError::Transport { .. } | StripeError::Malformed { .. } => true,
            StripeError::Api(e) => e
                .should_retry
                .unwrap_or(e.status == 409 || e.status == 429 || e.status >= 500 || e.kind == "api_error"),
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            StripeError::Api(e) => Some(e.status),
            _ => None,
        }
    }
}

impl From<StripeError> for JobError {
    fn from(e: StripeError) -> JobError {
        if e.is_transient() {
            JobError::Transient(e.to_string())
        } else {
            JobError::Permanent(e.to_string())
        }
    }
}
