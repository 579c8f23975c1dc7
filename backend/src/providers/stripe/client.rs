//! The calls. Every POST carries an `Idempotency-Key` chosen by the caller from its own
//! operation (`checkout:<row id>`, `refund:<row id>`), so a job retried after a crash or a
//! timeout gets Stripe's stored answer instead of a second session or refund. GETs carry
//! none. The API version is pinned; no redirects are followed; no proxy from the
//! environment sees the key; at most [`MAX_BODY_BYTES`] are read.

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::error::{ApiError, StripeError};
use super::wire::{form_encode, Charge, CheckoutSession, Dispute, NewCheckoutSession, NewRefund, Refund};
use super::{Secret, StripeEndpoint};
use crate::providers::whm::{check_base_url, client_config, TlsPolicy};

pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// The version painel's reading of objects was written against (shared/providers/stripe.md).
pub const API_VERSION: &str = "2024-06-20";
/// Stripe objects are small; anything bigger is not one.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    key: Secret,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    pub fn new(endpoint: StripeEndpoint) -> Result<StripeClient, StripeError> {
        let base = check_base_url(&endpoint.api_base).map_err(|e| StripeError::Config(e.to_string()))?;
        let key = endpoint.secret_key;
        if key.is_empty() || key.expose().contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(StripeError::Config("the secret key is empty or holds spaces".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
            .map_err(|_| StripeError::Config("the secret key holds characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let tls = client_config(TlsPolicy::Verify).map_err(|e| StripeError::Config(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(endpoint.timeout.min(std::time::Duration::from_secs(10)))
            .timeout(endpoint.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("painel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StripeError::Config(format!("HTTP client: {e}")))?;
        Ok(StripeClient { http, base, auth, key })
    }

    pub fn api_base(&self) -> &str {
        self.base.as_str()
    }

    /// `POST /v1/checkout/sessions`.
    pub async fn create_checkout_session(
        &self,
        req: &NewCheckoutSession,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, StripeError> {
        self.call(
            Method::POST,
            "/v1/checkout/sessions",
            Some(&req.form()),
            Some(idempotency_key),
        )
        .await
    }

    /// `GET /v1/checkout/sessions/{id}`.
    pub async fn retrieve_checkout_session(&self, id: &str) -> Result<CheckoutSession, StripeError> {
        self.call(
            Method::GET,
            &format!("/v1/checkout/sessions/{}", path_id(id)?),
            None,
            None,
        )
        .await
    }

    /// `POST /v1/refunds`.
    pub async fn create_refund(&self, req: &NewRefund, idempotency_key: &str) -> Result<Refund, StripeError> {
        if req.charge.is_none() && req.payment_intent.is_none() {
            return Err(StripeError::Config(
                "a refund needs a charge or a payment_intent".into(),
            ));
        }
        self.call(Method::POST, "/v1/refunds", Some(&req.form()), Some(idempotency_key))
            .await
    }

    /// `GET /v1/charges/{id}`.
    pub async fn retrieve_charge(&self, id: &str) -> Result<Charge, StripeError> {
        self.call(Method::GET, &format!("/v1/charges/{}", path_id(id)?), None, None)
            .await
    }

    /// `GET /v1/disputes/{id}`.
    pub async fn retrieve_dispute(&self, id: &str) -> Result<Dispute, StripeError> {
        self.call(Method::GET, &format!("/v1/disputes/{}", path_id(id)?), None, None)
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(String, String)]>,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let call = format!("{method} {path}");
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| StripeError::Config(format!("URL for {path}: {e}")))?;
        let mut req = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
            .header("Stripe-Version", API_VERSION);
        if let Some(k) = idempotency_key {
            if k.is_empty() || k.len() > 255 {
                return Err(StripeError::Config("Idempotency-Key must be 1–255 characters".into()));
            }
            req = req.header("Idempotency-Key", k);
        }
        if let Some(f) = form {
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form_encode(f));
        }
        let mut resp = req.send().await.map_err(|e| self.transport(&call, &e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() + c.len() > MAX_BODY_BYTES {
                        return Err(StripeError::Malformed {
                            call,
                            detail: format!("answer exceeds {MAX_BODY_BYTES} bytes"),
                        });
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(self.transport(&call, &e)),
                Err(e) => {
                    return Err(StripeError::Malformed {
                        call,
                        detail: self.scrub(&format!("body cut short after {} bytes: {e}", body.len())),
                    })
                }
            }
        }
        if !(200..300).contains(&status) {
            return Err(self.api_error(call, status, &headers, &body));
        }
        serde_json::from_slice(&body).map_err(|e| StripeError::Malformed {
            call,
            detail: self.scrub(&e.to_string()),
        })
    }

    fn api_error(&self, call: String, status: u16, headers: &HeaderMap, body: &[u8]) -> StripeError {
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let env: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let e = env.get("error");
        let field = |k: &str| e.and_then(|e| e.get(k)).and_then(|v| v.as_str()).map(|s| self.scrub(s));
        StripeError::Api(Box::new(ApiError {
            call,
            status,
            kind: field("type").unwrap_or_else(|| "api_error".into()),
            code: field("code"),
            message: field("message").unwrap_or_else(|| format!("HTTP {status} without an error body")),
            param: field("param"),
            request_id: header("request-id"),
            should_retry: header("stripe-should-retry").and_then(|v| match v.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
        }))
    }

    fn transport(&self, call: &str, e: &reqwest::Error) -> StripeError {
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            src = s.source();
        }
        StripeError::Transport {
            call: call.to_owned(),
            timeout: e.is_timeout(),
            detail: self.scrub(&detail),
        }
    }

    /// A server could echo the key back (a proxy's error page): it never reaches a message.
    fn scrub(&self, text: &str) -> String {
        text.replace(self.key.expose(), "[secret key]")
    }
}

/// An id in a path: Stripe's ids are `[A-Za-z0-9_]`; anything else is refused here rather
/// than sent.
fn path_id(id: &str) -> Result<&str, StripeError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(StripeError::Config(format!("not a Stripe id: {id:?}")))
    }
}
