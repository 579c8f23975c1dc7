//! The Stripe API client (docs/adr/0028; wire format in /work/shared/providers/stripe.md):
//! `client` (the calls: Checkout Sessions, refunds, charges, disputes), `wire` (the objects
//! and the form encoding), `error` (the error envelope and whether to retry). Only jobs call
//! it. The secret key is a [`Secret`]: never in `Debug`, never in an error text.

use std::time::Duration;

mod client;
mod error;
mod wire;

#[cfg(test)]
mod tests;

pub use crate::providers::whm::Secret;
pub use client::{StripeClient, API_VERSION, DEFAULT_API_BASE};
pub use error::{ApiError, StripeError};
pub use wire::{
    form_encode, Charge, CheckoutSession, Dispute, LineItem, NewCheckoutSession, NewRefund, Refund, RefundList,
};

/// The budget of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and with which key to reach Stripe.
#[derive(Clone, Debug)]
pub struct StripeEndpoint {
    /// `https://api.stripe.com` (the simulator: `http://127.0.0.1:PORT`, loopback only).
    pub api_base: String,
    /// `sk_live_…`, `sk_test_…` or a restricted `rk_…` key.
    pub secret_key: Secret,
    pub timeout: Duration,
}

impl StripeEndpoint {
    pub fn new(api_base: impl Into<String>, secret_key: impl Into<Secret>) -> StripeEndpoint {
        StripeEndpoint {
            api_base: api_base.into(),
            secret_key: secret_key.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}
