//! The Mercado Pago Payments API client for PIX (shared/providers/mercadopago.md): create a
//! payment with `payment_method_id = pix` (the copy-and-paste code, its QR as PNG base64,
//! the expiry), read a payment back. Only jobs call it. The access token is a [`Secret`]:
//! never printed, scrubbed from anything the server sends back.

mod client;
mod wire;

#[cfg(test)]
mod tests;

pub use client::{MercadoPagoClient, NewPixPayment};
pub use wire::{Payment, PixData};

use crate::providers::whm::Secret;

/// Where and how to reach the API.
#[derive(Clone, Debug)]
pub struct MercadoPagoConfig {
    /// `https://api.mercadopago.com`; `http://` only to loopback (the sandbox).
    pub api_base: String,
    pub access_token: Secret,
    pub timeout: std::time::Duration,
}

/// What failed, and whether a retry may help.
#[derive(Debug, thiserror::Error)]
pub enum MercadoPagoError {
    #[error("mercadopago configuration: {0}")]
    Config(String),
    #[error("mercadopago unreachable: {0}")]
    Transport(String),
    #[error("mercadopago answered {status} {error}: {message}{}", causes_text(.causes))]
    Api {
        status: u16,
        error: String,
        message: String,
        causes: Vec<(String, String)>,
    },
    #[error("mercadopago answered something unreadable: {0}")]
    Malformed(String),
}

fn causes_text(c: &[(String, String)]) -> String {
    if c.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = c.iter().map(|(code, d)| format!("{code} {d}")).collect();
    format!(" ({})", parts.join("; "))
}

impl MercadoPagoError {
    /// 429, 5xx and transport failures may pass; the rest will not by themselves.
    pub fn is_transient(&self) -> bool {
        match self {
            MercadoPagoError::Transport(_) | MercadoPagoError::Malformed(_) => true,
            MercadoPagoError::Api { status, .. } => *status == 429 || *status >= 500,
            MercadoPagoError::Config(_) => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            MercadoPagoError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
