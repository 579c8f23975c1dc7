//! The PagBank (PagSeguro) Orders API client for PIX (shared/providers/pagseguro.md): create an
//! order with a QR code, read an order back. Money in integer centavos. Only jobs call it;
//! the token is a [`Secret`], never printed.

mod wire;

#[cfg(test)]
mod tests;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, Url};
use serde_json::{json, Value};

pub use wire::{Charge, Order, QrCode};

use crate::providers::http;
use crate::providers::whm::Secret;

#[derive(Clone, Debug)]
pub struct PagSeguroConfig {
    /// `https://api.pagseguro.com` (sandbox `https://sandbox.api.pagseguro.com`).
    pub api_base: String,
    pub token: Secret,
    pub timeout: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PagSeguroError {
    #[error("pagseguro configuration: {0}")]
    Config(String),
    #[error("pagseguro unreachable: {0}")]
    Transport(String),
    #[error("pagseguro answered {status}: {}", .messages.join("; "))]
    Api { status: u16, messages: Vec<String> },
    #[error("pagseguro answered something unreadable: {0}")]
    Malformed(String),
}

impl PagSeguroError {
    pub fn is_transient(&self) -> bool {
        match self {
            PagSeguroError::Transport(_) | PagSeguroError::Malformed(_) => true,
            PagSeguroError::Api { status, .. } => *status == 429 || *status >= 500,
            PagSeguroError::Config(_) => false,
        }
    }
}

/// A PIX order to create.
#[derive(Debug, Clone)]
pub struct NewPixOrder {
    /// Our invoice id.
    pub reference_id: String,
    pub customer_name: String,
    pub customer_email: String,
    pub item_name: String,
    pub amount_minor: i64,
    /// RFC 3339 with offset.
    pub expiration_date: String,
    pub notification_url: Option<String>,
}

#[derive(Clone)]
pub struct PagSeguroClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    token: Secret,
}

impl std::fmt::Debug for PagSeguroClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PagSeguroClient({}, token redacted)", self.base)
    }
}

impl PagSeguroClient {
    pub fn new(cfg: PagSeguroConfig) -> Result<PagSeguroClient, PagSeguroError> {
        let base = http::base_url(&cfg.api_base).map_err(PagSeguroError::Config)?;
        if cfg.token.is_empty() {
            return Err(PagSeguroError::Config("token is empty".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", cfg.token.expose()))
            .map_err(|_| PagSeguroError::Config("token holds characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        Ok(PagSeguroClient {
            http: http::client(cfg.timeout).map_err(PagSeguroError::Config)?,
            base,
            auth,
            token: cfg.token,
        })
    }

    /// `POST /orders` with one QR code. The API documents no idempotency key: the caller
    /// stores the returned id at once and never creates a second order for one attempt.
    pub async fn create_pix_order(&self, o: &NewPixOrder) -> Result<Order, PagSeguroError> {
        if o.amount_minor <= 0 {
            return Err(PagSeguroError::Config("amount must be positive".into()));
        }
        let mut body = json!({
            "reference_id": o.reference_id,
            "customer": { "name": o.customer_name, "email": o.customer_email },
            "items": [{ "reference_id": o.reference_id, "name": o.item_name, "quantity": 1, "unit_amount": o.amount_minor }],
            "qr_codes": [{ "amount": { "value": o.amount_minor }, "expiration_date": o.expiration_date }],
        });
        if let Some(u) = &o.notification_url {
            body["notification_urls"] = json!([u]);
        }
        self.call(Method::POST, "orders", Some(body)).await
    }

    pub async fn get_order(&self, id: &str) -> Result<Order, PagSeguroError> {
        if id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
            return Err(PagSeguroError::Config(format!("order id {id:?} is not an id")));
        }
        self.call(Method::GET, &format!("orders/{id}"), None).await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Order, PagSeguroError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| PagSeguroError::Config(format!("URL: {e}")))?;
        let mut req = self.http.request(method, url).header(AUTHORIZATION, self.auth.clone());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let scrub = |s: &str| http::scrub(s, self.token.expose());
        let res = req
            .send()
            .await
            .map_err(|e| PagSeguroError::Transport(scrub(&e.to_string())))?;
        let status = res.status().as_u16();
        let bytes = http::body(res)
            .await
            .map_err(|e| PagSeguroError::Transport(scrub(&e.to_string())))?;
        if !(200..300).contains(&status) {
            let messages = serde_json::from_slice::<wire::ErrorBody>(&bytes)
                .map(|e| e.messages().into_iter().map(|m| scrub(&m)).collect())
                .unwrap_or_else(|_| vec![scrub(&String::from_utf8_lossy(&bytes))]);
            return Err(PagSeguroError::Api { status, messages });
        }
        serde_json::from_slice(&bytes).map_err(|e| PagSeguroError::Malformed(scrub(&e.to_string())))
    }
}
