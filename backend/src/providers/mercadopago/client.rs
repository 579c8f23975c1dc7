//! The calls: `POST /v1/payments` (with the mandatory `X-Idempotency-Key`) and
//! `GET /v1/payments/{id}`.

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::wire::{ErrorBody, Payment};
use super::{MercadoPagoConfig, MercadoPagoError};
use crate::providers::http;
use crate::providers::whm::Secret;

/// A PIX payment to create.
#[derive(Debug, Clone)]
pub struct NewPixPayment {
    pub amount_minor: i64,
    pub description: String,
    /// Our invoice id: comes back in every payment we read.
    pub external_reference: String,
    pub notification_url: Option<String>,
    /// RFC 3339 with offset.
    pub date_of_expiration: String,
    pub payer_email: String,
    pub metadata: Value,
}

#[derive(Clone)]
pub struct MercadoPagoClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    token: Secret,
}

impl std::fmt::Debug for MercadoPagoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MercadoPagoClient({}, token redacted)", self.base)
    }
}

/// Centavos as the API's decimal reais, from integers only: 4990 → 49.9.
fn reais(minor: i64) -> Value {
    let text = format!("{}.{:02}", minor / 100, minor % 100);
    serde_json::from_str::<serde_json::Number>(&text)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

impl MercadoPagoClient {
    pub fn new(cfg: MercadoPagoConfig) -> Result<MercadoPagoClient, MercadoPagoError> {
        let base = http::base_url(&cfg.api_base).map_err(MercadoPagoError::Config)?;
        if cfg.access_token.is_empty() {
            return Err(MercadoPagoError::Config("access token is empty".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", cfg.access_token.expose()))
            .map_err(|_| MercadoPagoError::Config("access token holds characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        Ok(MercadoPagoClient {
            http: http::client(cfg.timeout).map_err(MercadoPagoError::Config)?,
            base,
            auth,
            token: cfg.access_token,
        })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Creates a PIX payment. `idempotency_key` must be the same on every retry of one
    /// attempt: the API then returns the payment it already created.
    pub async fn create_pix_payment(
        &self,
        p: &NewPixPayment,
        idempotency_key: &str,
    ) -> Result<Payment, MercadoPagoError> {
        if p.amount_minor <= 0 {
            return Err(MercadoPagoError::Config("amount must be positive".into()));
        }
        let mut body = json!({
            "transaction_amount": reais(p.amount_minor),
            "description": p.description,
            "payment_method_id": "pix",
            "external_reference": p.external_reference,
            "date_of_expiration": p.date_of_expiration,
            "payer": { "email": p.payer_email },
            "metadata": p.metadata,
        });
        if let Some(u) = &p.notification_url {
            body["notification_url"] = json!(u);
        }
        self.call(Method::POST, "v1/payments", Some((body, idempotency_key)))
            .await
    }

    pub async fn get_payment(&self, id: &str) -> Result<Payment, MercadoPagoError> {
        if id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(MercadoPagoError::Config(format!("payment id {id:?} is not an id")));
        }
        self.call(Method::GET, &format!("v1/payments/{id}"), None).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(Value, &str)>,
    ) -> Result<T, MercadoPagoError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| MercadoPagoError::Config(format!("URL: {e}")))?;
        let mut req = self.http.request(method, url).header(AUTHORIZATION, self.auth.clone());
        if let Some((b, key)) = body {
            req = req.header("X-Idempotency-Key", key).json(&b);
        }
        let scrub = |s: &str| http::scrub(s, self.token.expose());
        let res = req
            .send()
            .await
            .map_err(|e| MercadoPagoError::Transport(scrub(&e.to_string())))?;
        let status = res.status().as_u16();
        let bytes = http::body(res)
            .await
            .map_err(|e| MercadoPagoError::Transport(scrub(&e.to_string())))?;
        if !(200..300).contains(&status) {
            let e: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
            let (error, message, causes) = match e {
                Some(e) => (
                    scrub(e.error.as_deref().unwrap_or("")),
                    scrub(e.message.as_deref().unwrap_or("")),
                    e.causes().into_iter().map(|(c, d)| (scrub(&c), scrub(&d))).collect(),
                ),
                None => (String::new(), scrub(&String::from_utf8_lossy(&bytes)), Vec::new()),
            };
            return Err(MercadoPagoError::Api {
                status,
                error,
                message,
                causes,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| MercadoPagoError::Malformed(scrub(&e.to_string())))
    }
}
