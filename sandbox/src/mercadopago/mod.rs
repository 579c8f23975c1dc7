//! A Mercado Pago simulator (shared/providers/mercadopago.md): `POST /v1/payments` for PIX
//! (Bearer token, mandatory `X-Idempotency-Key` with replays, the error envelope) and
//! `GET /v1/payments/{id}`, on a loopback port; the payer paying ([`MercadoPagoSim::pay`])
//! and signed notifications (`x-signature` over the manifest, with its own HMAC) with the
//! faults a sender shows: bad signatures, stale timestamps, duplicates, replays, unsigned.
//! API faults per operation (`create_payment`, `get_payment`) come from `faults.rs`.

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

use crate::faults::{lock, FaultKind, FaultSpec, Faults};
use crate::stripe::Answer;
use crate::SandboxError;

#[derive(Debug, Clone)]
pub struct MercadoPagoInit {
    /// What clients send as `Authorization: Bearer …` (`TEST-…`).
    pub access_token: String,
    /// The "assinatura secreta" notifications are signed with.
    pub webhook_secret: String,
}

/// How one notification is sent.
#[derive(Debug, Clone)]
pub enum Delivery {
    Signed,
    /// Signed with another secret.
    BadSignature,
    /// Signed correctly with a `ts` this many seconds old.
    Stale {
        secs: i64,
    },
    /// No `x-signature` header.
    Unsigned,
}

/// A notification as sent, kept for replays.
#[derive(Debug, Clone)]
pub struct Sent {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub answer: Answer,
}

#[derive(Default)]
struct Store {
    payments: HashMap<String, Value>,
    idempotency: HashMap<String, String>,
    sent: Vec<Sent>,
}

struct Inner {
    init: MercadoPagoInit,
    store: Mutex<Store>,
    faults: Faults,
    seq: AtomicU64,
}

/// A running simulator; stops when dropped.
pub struct MercadoPagoSim {
    url: String,
    inner: Arc<Inner>,
    _stop: watch::Sender<bool>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn sign(secret: &str, manifest: &str) -> String {
    hex::encode(crate::stripe::sign::hmac_sha256(secret.as_bytes(), manifest.as_bytes()))
}

impl MercadoPagoSim {
    pub async fn start(init: MercadoPagoInit) -> Result<MercadoPagoSim, SandboxError> {
        if init.access_token.is_empty() || init.webhook_secret.is_empty() {
            return Err(SandboxError::InvalidInit(
                "access_token and webhook_secret are required".into(),
            ));
        }
        let inner = Arc::new(Inner {
            init,
            store: Mutex::new(Store::default()),
            faults: Faults::new(0, "mercadopago"),
            seq: AtomicU64::new(1_327_410_519),
        });
        let app = Router::new()
            .route("/v1/payments", post(create_payment))
            .route("/v1/payments/{id}", get(get_payment))
            .with_state(inner.clone());
        let (url, stop) = crate::server::start_plain(app).await?;
        Ok(MercadoPagoSim {
            url,
            inner,
            _stop: stop,
        })
    }

    /// `http://127.0.0.1:PORT`, the client's `api_base`.
    pub fn api_base(&self) -> &str {
        &self.url
    }

    /// Sets the fault of `operation` (`create_payment`, `get_payment`, `*`).
    pub fn set_fault(&self, operation: &str, spec: FaultSpec) -> Result<(), SandboxError> {
        spec.validate()?;
        self.inner.faults.set(operation, spec);
        Ok(())
    }

    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    pub fn payment(&self, id: &str) -> Option<Value> {
        lock(&self.inner.store).payments.get(id).cloned()
    }

    pub fn payments(&self) -> Vec<Value> {
        lock(&self.inner.store).payments.values().cloned().collect()
    }

    /// Changes a payment's status as Mercado Pago would (`approved` sets `date_approved`).
    pub fn set_status(&self, id: &str, status: &str, detail: &str) -> Result<Value, SandboxError> {
        let mut st = lock(&self.inner.store);
        let p = st
            .payments
            .get_mut(id)
            .ok_or_else(|| SandboxError::InvalidInit(format!("no payment {id}")))?;
        p["status"] = json!(status);
        p["status_detail"] = json!(detail);
        if status == "approved" {
            p["date_approved"] = json!("2026-12-06T12:00:00.000-03:00");
        }
        Ok(p.clone())
    }

    /// The payer pays: the payment is `approved`/`accredited`, and a signed
    /// `payment.updated` notification goes to its `notification_url` (if it had one).
    pub async fn pay(&self, id: &str) -> Result<Option<Sent>, SandboxError> {
        let p = self.set_status(id, "approved", "accredited")?;
        match p["notification_url"].as_str() {
            Some(target) => Ok(Some(self.notify(target, id, Delivery::Signed).await?)),
            None => Ok(None),
        }
    }

    /// Sends a `payment.updated` notification about payment `id` to `target` (the
    /// webhook URL without query), as `how` says.
    pub async fn notify(&self, target: &str, id: &str, how: Delivery) -> Result<Sent, SandboxError> {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&json!({
            "id": 112_233_000_000i64 + n as i64,
            "live_mode": false,
            "type": "payment",
            "date_created": "2026-12-06T12:00:00.000-03:00",
            "user_id": 1664124048,
            "api_version": "v1",
            "action": "payment.updated",
            "data": { "id": id }
        }))
        .map_err(|e| SandboxError::InvalidInit(e.to_string()))?;
        let request_id = format!("{:08x}-6aae-46ac-982e-{:012x}", n, n);
        let secret = self.inner.init.webhook_secret.as_str();
        let ts = match how {
            Delivery::Stale { secs } => unix_now() - secs,
            _ => unix_now(),
        };
        let manifest = format!("id:{id};request-id:{request_id};ts:{ts};");
        let mut headers = vec![("x-request-id".to_owned(), request_id.clone())];
        match how {
            Delivery::Signed | Delivery::Stale { .. } => {
                headers.push(("x-signature".into(), format!("ts={ts},v1={}", sign(secret, &manifest))))
            }
            Delivery::BadSignature => headers.push((
                "x-signature".into(),
                format!("ts={ts},v1={}", sign("not-the-secret", &manifest)),
            )),
            Delivery::Unsigned => {}
        }
        let sep = if target.contains('?') { '&' } else { '?' };
        let url = format!("{target}{sep}data.id={id}&type=payment");
        self.send(url, headers, body).await
    }

    /// Sends a kept notification again, byte for byte.
    pub async fn replay(&self, sent: &Sent) -> Result<Sent, SandboxError> {
        self.send(sent.url.clone(), sent.headers.clone(), sent.body.clone())
            .await
    }

    async fn send(&self, url: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Result<Sent, SandboxError> {
        let h: Vec<(&str, String)> = headers.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let answer = crate::post::post(&url, &h, &body).await?;
        let sent = Sent {
            url,
            headers,
            body,
            answer,
        };
        lock(&self.inner.store).sent.push(sent.clone());
        Ok(sent)
    }

    pub fn sent(&self) -> Vec<Sent> {
        lock(&self.inner.store).sent.clone()
    }
}

fn error(status: StatusCode, error: &str, message: &str, cause: Option<(i64, &str)>) -> Response {
    let cause = cause
        .map(|(c, d)| json!([{ "code": c, "description": d, "data": null }]))
        .unwrap_or_else(|| json!([]));
    (
        status,
        axum::Json(json!({ "message": message, "error": error, "status": status.as_u16(), "cause": cause })),
    )
        .into_response()
}

fn authorised(inner: &Inner, h: &HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == inner.init.access_token)
}

/// A fault's answer, or `None` to answer normally (after any latency).
async fn fault(inner: &Inner, operation: &str) -> Option<Response> {
    let kind = match crate::server::common_fault(inner.faults.decide(operation)?).await {
        Ok(answer) => return answer,
        Err(kind) => kind,
    };
    match kind {
        FaultKind::RateLimited { retry_after_secs } => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after_secs.to_string())],
                axum::Json(
                    json!({ "message": "too many requests", "error": "too_many_requests", "status": 429, "cause": [] }),
                ),
            )
                .into_response(),
        ),
        FaultKind::Malformed => Some((StatusCode::OK, "{\"id\": 1, \"status\"").into_response()),
        FaultKind::Envelope { reason } => Some(error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            &reason,
            Some((4020, &reason)),
        )),
        // Answered above (crate::server::common_fault).
        _ => None,
    }
}

/// Reais (a JSON number) → centavos, from its decimal text.
fn centavos(v: &Value) -> Option<i64> {
    let t = v.as_number()?.to_string();
    let (i, f) = t.split_once('.').unwrap_or((&t, ""));
    if f.len() > 2 {
        return None;
    }
    let f = format!("{f:0<2}");
    Some(i.parse::<i64>().ok()? * 100 + f.parse::<i64>().ok()?)
}

async fn create_payment(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid access token", None);
    }
    let Some(key) = headers
        .get("x-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "X-Idempotency-Key is required",
            None,
        );
    };
    if let Some(r) = fault(&inner, "create_payment").await {
        return r;
    }
    let replay = {
        let st = lock(&inner.store);
        st.idempotency.get(&key).and_then(|id| st.payments.get(id).cloned())
    };
    if let Some(p) = replay {
        return (StatusCode::CREATED, axum::Json(p)).into_response();
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "body is not JSON", None);
    };
    if req["payment_method_id"] != "pix" {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "payment_method_id must be pix",
            Some((4050, "invalid payment_method_id")),
        );
    }
    let Some(amount) = centavos(&req["transaction_amount"]).filter(|a| *a > 0) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "transaction_amount must be positive",
            Some((4037, "Invalid transaction_amount")),
        );
    };
    if req["payer"]["email"].as_str().is_none_or(|e| !e.contains('@')) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "payer.email is required",
            Some((4050, "payer.email must be a valid email")),
        );
    }
    let id = inner.seq.fetch_add(1, Ordering::Relaxed);
    let txid = format!("mpqrinter{id}");
    let code = crate::post::psp_brcode(
        "b76aa9c2-2ec4-4110-954e-ebfe34f05b61",
        amount,
        "SANDBOX MP",
        "SAO PAULO",
        &txid,
    );
    let payment = json!({
        "id": id,
        "status": "pending",
        "status_detail": "pending_waiting_transfer",
        "date_created": "2026-12-06T12:00:00.000-03:00",
        "date_of_expiration": req.get("date_of_expiration").cloned().unwrap_or(Value::Null),
        "date_approved": null,
        "payment_method_id": "pix",
        "payment_type_id": "bank_transfer",
        "transaction_amount": req["transaction_amount"],
        "currency_id": "BRL",
        "description": req.get("description").cloned().unwrap_or(Value::Null),
        "external_reference": req.get("external_reference").cloned().unwrap_or(Value::Null),
        "notification_url": req.get("notification_url").cloned().unwrap_or(Value::Null),
        "live_mode": false,
        "payer": req["payer"],
        "metadata": req.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "point_of_interaction": {
            "type": "PIX",
            "transaction_data": {
                "qr_code": code,
                "qr_code_base64": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
                "ticket_url": format!("https://www.mercadopago.com.br/sandbox/payments/{id}/ticket")
            }
        }
    });
    let mut st = lock(&inner.store);
    st.payments.insert(id.to_string(), payment.clone());
    st.idempotency.insert(key, id.to_string());
    (StatusCode::CREATED, axum::Json(payment)).into_response()
}

async fn get_payment(State(inner): State<Arc<Inner>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "invalid access token", None);
    }
    if let Some(r) = fault(&inner, "get_payment").await {
        return r;
    }
    match lock(&inner.store).payments.get(&id).cloned() {
        Some(p) => axum::Json(p).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Payment not found",
            Some((2000, "Payment not found")),
        ),
    }
}
