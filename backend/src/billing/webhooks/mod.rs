//! Inbound payment webhooks (docs/adr/0023-serve-and-webhook-intake.md).
//!
//! `painel serve` verifies a delivery on its raw body ([`stripe::accept`]), then hands the
//! event to the [`Intake`], which records it in `webhook_events` — idempotently, by provider
//! event id — together with a `billing.webhook` job, in one transaction shared by every
//! request that arrived meanwhile (group commit), and only then answers. The job
//! ([`process::handle`]) does the work.

mod intake;
pub mod process;
pub mod stripe;
mod stripe_events;

use serde_json::Value;
use uuid::Uuid;

pub use intake::{record_batch, Intake, IntakeConfig};

/// The job kind (and its queue) that processes a recorded webhook event.
pub const JOB_KIND: &str = "billing.webhook";
pub const JOB_QUEUE: &str = "billing";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Stripe,
}

impl Provider {
    /// The `webhook_events.provider` value (and the metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
        }
    }
}

/// A verified, parsed delivery, ready to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub provider: Provider,
    pub event_id: String,
    pub event_type: String,
    pub payload: Value,
}

/// Why a delivery is refused with 400, before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    BadSignature(&'static str),
    /// The signed timestamp is outside the tolerance (a replay, or a skewed clock).
    Stale,
    Malformed(&'static str),
}

impl Rejection {
    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::BadSignature(_) => "bad_signature",
            Rejection::Stale => "stale",
            Rejection::Malformed(_) => "malformed",
        }
    }

    /// The short reason in the 400 answer: says what was wrong, never anything secret.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::BadSignature(r) | Rejection::Malformed(r) => r,
            Rejection::Stale => "timestamp outside the tolerance",
        }
    }
}

/// What recording one verified event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New: stored with its job (the `webhook_events` row id).
    Recorded(Uuid),
    /// Already stored by an earlier delivery: nothing changed.
    Duplicate,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Recorded(_) => "recorded",
            Outcome::Duplicate => "duplicate",
        }
    }
}
