//! A Stripe simulator (shared/providers/stripe.md): Checkout Sessions over Stripe's wire
//! format (form-encoded POST with Bearer or Basic auth, JSON answers and error bodies,
//! `Idempotency-Key` replays) on a loopback port, and webhook delivery — signed with the
//! simulator's own implementation ([`sign`]) — with the faults Stripe's sender shows:
//! duplicates, out-of-order events, bad signatures, stale timestamps and replays.

mod deliver;
mod form;
mod money;
pub mod sign;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{json, Value};
use tokio::sync::watch;

pub use deliver::Answer;

use crate::faults::{lock, FaultEntry, FaultKind, FaultSpec, Faults};
use crate::server::ConnKill;
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
    charges: HashMap<String, Value>,
    refunds: HashMap<String, Value>,
    disputes: HashMap<String, Value>,
    /// Events the simulator produced (refunds, disputes), oldest first, until taken.
    outbox: Vec<Value>,
}

struct Inner {
    init: StripeInit,
    store: Mutex<Store>,
    seq: AtomicU64,
    faults: Faults,
    /// Where produced events are also delivered (signed), when set.
    target: Mutex<Option<String>>,
}

impl Inner {
    fn next_id(&self, prefix: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}_test_{:016x}{n:06}", std::process::id())
    }

    /// An Event envelope around `object`, with a fresh `evt_…` id.
    fn event(&self, kind: &str, object: Value) -> Value {
        json!({
            "id": self.next_id("evt"),
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

    /// Keeps a produced event, and sends it signed to the webhook target when one is set.
    fn emit(&self, event: Value) {
        lock(&self.store).outbox.push(event.clone());
        let Some(target) = lock(&self.target).clone() else {
            return;
        };
        let Ok(body) = serde_json::to_vec(&event) else {
            return;
        };
        let sig = sign::header(&[self.init.webhook_secret.as_str()], now(), &body);
        tokio::spawn(async move {
            if let Err(e) = deliver::post(&target, Some(&sig), &body).await {
                tracing::warn!(error = %e, "stripe sandbox: event delivery failed");
            }
        });
    }
}

/// Runs `answer` unless a fault for `operation` fires first; the faults are the sandbox's
/// (docs/adr/0018) in Stripe's shapes: an error envelope, 5xx `api_error`, 429 with
/// `rate_limit`, a body that is not JSON, a cut body, a hang, a dropped connection, and
/// `lost` (the operation happens, the answer never arrives: a retry with the same
/// Idempotency-Key must get the stored answer).
async fn faulted(inner: &Inner, operation: &str, kill: &ConnKill, answer: impl FnOnce() -> Response) -> Response {
    match inner.faults.decide(operation) {
        None => answer(),
        Some(FaultKind::Latency { ms }) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            answer()
        }
        Some(FaultKind::Envelope { reason }) => error(
            StatusCode::PAYMENT_REQUIRED,
            "card_error",
            Some("card_declined"),
            &reason,
            None,
        ),
        Some(FaultKind::Http5xx { status }) => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "api_error",
            None,
            "An unknown error occurred (sandbox fault).",
            None,
        ),
        Some(FaultKind::RateLimited { retry_after_secs }) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request_error",
                Some("rate_limit"),
                "Request rate limit exceeded.",
                None,
            );
            if let Ok(v) = retry_after_secs.to_string().parse() {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
        Some(FaultKind::Malformed) => (StatusCode::OK, "<html>upstream connect error</html>").into_response(),
        Some(FaultKind::Truncated) => {
            let full = answer();
            let bytes = axum::body::to_bytes(full.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            (StatusCode::OK, bytes.slice(..bytes.len() / 2)).into_response()
        }
        Some(FaultKind::Timeout) => {
            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
            kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Drop) => {
            kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Lost) => {
            drop(answer());
            kill.kill();
            std::future::pending().await
        }
    }
}

fn unauthorised() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        None,
        "Invalid API Key provided.",
        None,
    )
}

/// Stripe's idempotency: the same key with the same parameters gets the stored answer; with
/// other parameters, an `idempotency_error`.
fn replayed(inner: &Inner, key: Option<&str>, params: &Value) -> Option<Response> {
    let store = lock(&inner.store);
    let (p, status, answer) = store.idempotency.get(key?)?;
    if p != params {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            None,
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            None,
        ));
    }
    let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
    Some((status, [("idempotent-replayed", "true")], axum::Json(answer.clone())).into_response())
}

fn store_answer(inner: &Inner, key: Option<String>, params: Value, status: u16, answer: &Value) {
    if let Some(k) = key {
        lock(&inner.store)
            .idempotency
            .insert(k, (params, status, answer.clone()));
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
        let inner = Arc::new(Inner {
            init,
            store: Mutex::new(Store::default()),
            seq: AtomicU64::new(1),
            faults: Faults::new(0, "stripe"),
            target: Mutex::new(None),
        });
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/checkout/sessions/{id}", get(get_session))
            .route("/v1/refunds", post(money::create_refund))
            .route("/v1/{kind}/{id}", get(money::retrieve))
            .route("/_sandbox/disputes", post(money::control_open))
            .route("/_sandbox/disputes/{id}/close", post(money::control_close))
            .with_state(inner.clone());
        let (url, stop) = crate::server::start_plain(app).await?;
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
        let invoice = if s["mode"] == "payment" {
            s["payment_intent"] = json!(pi);
            None
        } else {
            s["subscription"] = json!(self.inner.next_id("sub"));
            let inv = self.inner.next_id("in");
            s["invoice"] = json!(inv);
            Some(inv)
        };
        let email = s["customer_email"].clone();
        s["customer_details"] = json!({ "email": email });
        let object = s.clone();
        let charge = money::charge_for(&self.inner, &object, &pi, invoice.as_deref());
        store
            .charges
            .insert(charge["id"].as_str().unwrap_or("").to_owned(), charge);
        drop(store);
        Ok(self.event("checkout.session.completed", object))
    }

    /// An Event envelope around `object`, with a fresh `evt_…` id.
    pub fn event(&self, kind: &str, object: Value) -> Value {
        self.inner.event(kind, object)
    }

    /// The charge of a paid session, by `ch_…` id or PaymentIntent.
    pub fn charge(&self, key: &str) -> Option<Value> {
        let store = lock(&self.inner.store);
        store
            .charges
            .get(key)
            .or_else(|| store.charges.values().find(|c| c["payment_intent"] == key))
            .cloned()
    }

    /// How many Checkout Sessions were created.
    pub fn session_count(&self) -> usize {
        lock(&self.inner.store).sessions.len()
    }

    /// How many produced events wait in the outbox.
    pub fn pending_events(&self) -> usize {
        lock(&self.inner.store).outbox.len()
    }

    pub fn refund(&self, id: &str) -> Option<Value> {
        lock(&self.inner.store).refunds.get(id).cloned()
    }

    /// Opens a dispute on a charge (`ch_…` or its PaymentIntent), evidence due in
    /// `due_in_secs`; returns the `charge.dispute.created` event (also sent to the webhook
    /// target when set).
    pub fn open_dispute(&self, charge: &str, reason: &str, due_in_secs: i64) -> Result<Value, SandboxError> {
        self.inner.open_dispute(charge, reason, due_in_secs)
    }

    /// Closes dispute `id` as `won`, `lost` or `warning_closed`; returns `charge.dispute.closed`.
    pub fn close_dispute(&self, id: &str, status: &str) -> Result<Value, SandboxError> {
        self.inner.close_dispute(id, status)
    }

    /// Events the simulator produced (refunds, disputes) since the last call, oldest first.
    pub fn take_events(&self) -> Vec<Value> {
        std::mem::take(&mut lock(&self.inner.store).outbox)
    }

    /// Also deliver produced events, signed, to `url` (`painel serve`'s `/webhooks/stripe`).
    pub fn set_webhook_target(&self, url: Option<String>) {
        *lock(&self.inner.target) = url;
    }

    /// Sets the fault of an operation (`checkout.sessions.create`, `refunds.create`,
    /// `charges.retrieve`, …, or `*`).
    pub fn set_fault(&self, operation: &str, spec: FaultSpec) -> Result<(), SandboxError> {
        spec.validate()?;
        self.inner.faults.set(operation, spec);
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    pub fn faults(&self) -> Vec<FaultEntry> {
        self.inner.faults.list()
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

async fn create_session(
    State(inner): State<Arc<Inner>>,
    Extension(kill): Extension<ConnKill>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorised();
    }
    let params = match form::parse(&body) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, &m, None),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(r) = replayed(&inner, key.as_deref(), &params) {
        return r;
    }
    let inner2 = inner.clone();
    faulted(&inner, "checkout.sessions.create", &kill, move || {
        new_session(&inner2, params, key)
    })
    .await
}

fn new_session(inner: &Inner, params: Value, key: Option<String>) -> Response {
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
    lock(&inner.store).sessions.insert(id, session.clone());
    store_answer(inner, key, params, 200, &session);
    axum::Json(session).into_response()
}

async fn get_session(State(inner): State<Arc<Inner>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorised();
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
