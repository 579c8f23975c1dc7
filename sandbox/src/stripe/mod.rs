//! A Stripe simulator (shared/providers/stripe.md): Checkout Sessions over Stripe's wire
//! format (form-encoded POST with Bearer or Basic auth, JSON answers and error bodies,
//! `Idempotency-Key` replays) on a loopback port, and webhook delivery — signed with the
//! simulator's own implementation ([`sign`]) — with the faults Stripe's sender shows:
//! duplicates, out-of-order events, bad signatures, stale timestamps and replays.

mod deliver;
mod form;
pub mod sign;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::watch;

pub use deliver::Answer;

use crate::SandboxError;

#[derive(Debug, Clone)]
pub struct StripeInit {
    /// The secret key clients authenticate with (`sk_test_…`).
    pub api_key: String,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: String,
}

/// How one webhook delivery is sent.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// Signed now with the endpoint secret.
    Signed,
    /// Signed with a wrong secret.
    BadSignature,
    /// Signed correctly but with a timestamp `secs` in the past (a replay, or a stuck queue).
    Stale { secs: i64 },
    /// While the secret rolls: one `v1` per secret, the endpoint's among them.
    Rolling { old_secret: String },
    /// Signed correctly, then one byte of the body changed.
    Tampered,
    /// No `Stripe-Signature` header.
    Unsigned,
}

/// A delivery as sent, kept so it can be replayed byte for byte.
#[derive(Debug, Clone)]
pub struct Sent {
    pub event_id: String,
    pub signature: Option<String>,
    pub body: Vec<u8>,
    pub answer: Answer,
}

#[derive(Default)]
struct Store {
    sessions: HashMap<String, Value>,
    /// Idempotency-Key → (request parameters, answer status, answer body).
    idempotency: HashMap<String, (Value, u16, Value)>,
    sent: Vec<Sent>,
}

struct Inner {
    init: StripeInit,
    store: Mutex<Store>,
    seq: AtomicU64,
}

impl Inner {
    fn next_id(&self, prefix: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}_test_{:016x}{n:06}", std::process::id())
    }
}

/// A running simulator; stops when dropped.
pub struct StripeSim {
    url: String,
    inner: Arc<Inner>,
    _stop: watch::Sender<bool>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl StripeSim {
    /// Serves the API on a free loopback port (plain HTTP: clients set `api_base`).
    pub async fn start(init: StripeInit) -> Result<StripeSim, SandboxError> {
        if init.api_key.is_empty() || init.webhook_secret.is_empty() {
            return Err(SandboxError::InvalidInit(
                "api_key and webhook_secret are required".into(),
            ));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let inner = Arc::new(Inner {
            init,
            store: Mutex::new(Store::default()),
            seq: AtomicU64::new(1),
        });
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .with_state(inner.clone());
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        Ok(StripeSim {
            url,
            inner,
            _stop: stop,
        })
    }

    /// The API base (`http://127.0.0.1:PORT`), for `stripe.api_base` and clients.
    pub fn api_base(&self) -> &str {
        &self.url
    }

    pub fn session(&self, id: &str) -> Option<Value> {
        self.inner.store.lock().ok()?.sessions.get(id).cloned()
    }

    /// The buyer pays: the session becomes `complete`/`paid` with a PaymentIntent, and the
    /// `checkout.session.completed` event is returned (not yet delivered).
    pub fn complete_session(&self, id: &str) -> Result<Value, SandboxError> {
        let pi = self.inner.next_id("pi");
        let mut store = self
            .inner
            .store
            .lock()
            .map_err(|_| SandboxError::InvalidInit("state poisoned".into()))?;
        let s = store
            .sessions
            .get_mut(id)
            .ok_or_else(|| SandboxError::InvalidInit(format!("no checkout session {id}")))?;
        s["status"] = json!("complete");
        s["payment_status"] = json!("paid");
        if s["mode"] == "payment" {
            s["payment_intent"] = json!(pi);
        }
        let email = s["customer_email"].clone();
        s["customer_details"] = json!({ "email": email });
        let object = s.clone();
        drop(store);
        Ok(self.event("checkout.session.completed", object))
    }

    /// An Event envelope around `object`, with a fresh `evt_…` id.
    pub fn event(&self, kind: &str, object: Value) -> Value {
        json!({
            "id": self.inner.next_id("evt"),
            "object": "event",
            "api_version": "2024-06-20",
            "created": now(),
            "type": kind,
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "data": { "object": object }
        })
    }

    /// A Stripe Invoice object of `status` for `amount` whose metadata links `invoice_id`.
    pub fn invoice_object(&self, invoice_id: &str, amount: i64, status: &str) -> Value {
        json!({
            "id": self.inner.next_id("in"),
            "object": "invoice",
            "status": status,
            "amount_due": amount,
            "amount_paid": if status == "paid" { amount } else { 0 },
            "currency": "brl",
            "attempt_count": 1,
            "billing_reason": "subscription_cycle",
            "metadata": { "invoice_id": invoice_id }
        })
    }

    /// Sends `event` to `target` as `how` says, and keeps what was sent.
    pub async fn deliver(&self, target: &str, event: &Value, how: Delivery) -> Result<Sent, SandboxError> {
        let mut body = serde_json::to_vec_pretty(event).map_err(|e| SandboxError::InvalidInit(e.to_string()))?;
        let secret = self.inner.init.webhook_secret.as_str();
        let t = now();
        let signature = match &how {
            Delivery::Signed | Delivery::Tampered => Some(sign::header(&[secret], t, &body)),
            Delivery::BadSignature => Some(sign::header(&["whsec_not_the_endpoint_secret"], t, &body)),
            Delivery::Stale { secs } => Some(sign::header(&[secret], t - secs, &body)),
            Delivery::Rolling { old_secret } => Some(sign::header(&[old_secret.as_str(), secret], t, &body)),
            Delivery::Unsigned => None,
        };
        if matches!(how, Delivery::Tampered) {
            // "amount_total": 4990 → 5990, or any byte when there is no digit.
            if let Some(i) = body.iter().position(u8::is_ascii_digit) {
                body[i] = if body[i] == b'9' { b'1' } else { body[i] + 1 };
            }
        }
        self.send(target, event["id"].as_str().unwrap_or("").to_owned(), signature, body)
            .await
    }

    /// Sends a kept delivery again, byte for byte (its signature's timestamp included).
    pub async fn replay(&self, target: &str, sent: &Sent) -> Result<Sent, SandboxError> {
        self.send(target, sent.event_id.clone(), sent.signature.clone(), sent.body.clone())
            .await
    }

    async fn send(
        &self,
        target: &str,
        event_id: String,
        signature: Option<String>,
        body: Vec<u8>,
    ) -> Result<Sent, SandboxError> {
        let answer = deliver::post(target, signature.as_deref(), &body).await?;
        let sent = Sent {
            event_id,
            signature,
            body,
            answer,
        };
        if let Ok(mut s) = self.inner.store.lock() {
            s.sent.push(sent.clone());
        }
        Ok(sent)
    }

    /// Every delivery so far, oldest first.
    pub fn sent(&self) -> Vec<Sent> {
        self.inner.store.lock().map(|s| s.sent.clone()).unwrap_or_default()
    }
}

fn error(status: StatusCode, kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Response {
    let mut e = json!({ "type": kind, "message": message });
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, axum::Json(json!({ "error": e }))).into_response()
}

/// Bearer, or Basic with the key as the user name and an empty password.
fn authorised(inner: &Inner, headers: &HeaderMap) -> bool {
    use base64_decode as b64;
    let Some(h) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if let Some(k) = h.strip_prefix("Bearer ") {
        return k.trim() == inner.init.api_key;
    }
    if let Some(b) = h.strip_prefix("Basic ") {
        return b64(b.trim()).is_some_and(|d| d == format!("{}:", inner.init.api_key));
    }
    false
}

/// Standard base64 (RFC 4648) for the Basic header; `None` when malformed.
fn base64_decode(s: &str) -> Option<String> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).ok()
}

fn int(v: &Value) -> Option<i64> {
    v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_i64())
}

async fn create_session(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            "Invalid API Key provided.",
            None,
        );
    }
    let params = match form::parse(&body) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, &m, None),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(k) = &key {
        if let Ok(store) = inner.store.lock() {
            if let Some((p, status, answer)) = store.idempotency.get(k) {
                if *p != params {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        None,
                    );
                }
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                return (status, [("idempotent-replayed", "true")], axum::Json(answer.clone())).into_response();
            }
        }
    }
    let mode = params["mode"].as_str().unwrap_or("");
    if mode.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: mode.",
            Some("mode"),
        );
    }
    if !matches!(mode, "payment" | "subscription" | "setup") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid_empty"),
            "Invalid mode: must be one of payment, setup, or subscription",
            Some("mode"),
        );
    }
    let Some(success_url) = params["success_url"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: success_url.",
            Some("success_url"),
        );
    };
    let mut total = 0i64;
    let mut currency = None;
    for (i, item) in params["line_items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let (Some(unit), Some(qty)) = (
            int(&item["price_data"]["unit_amount"]),
            int(&item["quantity"]).or(Some(1)),
        ) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("parameter_missing"),
                &format!("Missing required param: line_items[{i}][price_data][unit_amount]."),
                Some(&format!("line_items[{i}][price_data][unit_amount]")),
            );
        };
        total += unit * qty;
        currency = item["price_data"]["currency"].as_str().map(str::to_owned);
    }
    let id = inner.next_id("cs");
    let created = now();
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "url": format!("https://checkout.stripe.com/c/pay/{id}"),
        "mode": mode,
        "status": "open",
        "payment_status": "unpaid",
        "amount_subtotal": total,
        "amount_total": total,
        "currency": currency,
        "customer": params.get("customer").cloned().unwrap_or(Value::Null),
        "customer_email": params.get("customer_email").cloned().unwrap_or(Value::Null),
        "customer_details": null,
        "client_reference_id": params.get("client_reference_id").cloned().unwrap_or(Value::Null),
        "metadata": params.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "payment_intent": null,
        "subscription": null,
        "invoice": null,
        "success_url": success_url,
        "cancel_url": params.get("cancel_url").cloned().unwrap_or(Value::Null),
        "created": created,
        "expires_at": int(&params["expires_at"]).unwrap_or(created + 86_400),
        "livemode": false
    });
    if let Ok(mut store) = inner.store.lock() {
        store.sessions.insert(id, session.clone());
        if let Some(k) = key {
            store.idempotency.insert(k, (params, 200, session.clone()));
        }
    }
    axum::Json(session).into_response()
}

async fn get_session(State(inner): State<Arc<Inner>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&inner, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            "Invalid API Key provided.",
            None,
        );
    }
    match inner.store.lock().ok().and_then(|s| s.sessions.get(&id).cloned()) {
        Some(s) => axum::Json(s).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such checkout.session: '{id}'"),
            Some("id"),
        ),
    }
}
