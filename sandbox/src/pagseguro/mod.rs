//! A PagBank (PagSeguro) simulator (shared/providers/pagseguro.md): `POST /orders` with a PIX
//! QR code and `GET /orders/{id}` (Bearer token, integer centavos, the `error_messages`
//! envelope) on a loopback port; the payer paying ([`PagSeguroSim::pay`]) adds a `PAID`
//! charge and POSTs the order to its `notification_urls` with `x-authenticity-token` =
//! sha256("{token}-{body}"). API faults per operation (`create_order`, `get_order`).

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
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::faults::{lock, FaultKind, FaultSpec, Faults};
use crate::stripe::Answer;
use crate::SandboxError;

#[derive(Debug, Clone)]
pub struct PagSeguroInit {
    pub token: String,
}

#[derive(Debug, Clone)]
pub enum Delivery {
    Signed,
    /// The token of another account.
    BadSignature,
    /// No `x-authenticity-token` (seen in sandbox notifications).
    Unsigned,
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub url: String,
    pub token_header: Option<String>,
    pub body: Vec<u8>,
    pub answer: Answer,
}

#[derive(Default)]
struct Store {
    orders: HashMap<String, Value>,
    sent: Vec<Sent>,
}

struct Inner {
    init: PagSeguroInit,
    store: Mutex<Store>,
    faults: Faults,
    seq: AtomicU64,
}

pub struct PagSeguroSim {
    url: String,
    inner: Arc<Inner>,
    _stop: watch::Sender<bool>,
}

fn authenticity(token: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(token.as_bytes());
    h.update(b"-");
    h.update(body);
    hex::encode(h.finalize())
}

impl PagSeguroSim {
    pub async fn start(init: PagSeguroInit) -> Result<PagSeguroSim, SandboxError> {
        if init.token.is_empty() {
            return Err(SandboxError::InvalidInit("token is required".into()));
        }
        let inner = Arc::new(Inner {
            init,
            store: Mutex::new(Store::default()),
            faults: Faults::new(0, "pagseguro"),
            seq: AtomicU64::new(1),
        });
        let app = Router::new()
            .route("/orders", post(create_order))
            .route("/orders/{id}", get(get_order))
            .with_state(inner.clone());
        let (url, stop) = crate::server::start_plain(app).await?;
        Ok(PagSeguroSim {
            url,
            inner,
            _stop: stop,
        })
    }

    pub fn api_base(&self) -> &str {
        &self.url
    }

    pub fn set_fault(&self, operation: &str, spec: FaultSpec) -> Result<(), SandboxError> {
        spec.validate()?;
        self.inner.faults.set(operation, spec);
        Ok(())
    }

    pub fn order(&self, id: &str) -> Option<Value> {
        lock(&self.inner.store).orders.get(id).cloned()
    }

    pub fn orders(&self) -> Vec<Value> {
        lock(&self.inner.store).orders.values().cloned().collect()
    }

    /// Adds a charge of `status` paying `amount` centavos (normally the QR's amount).
    pub fn add_charge(&self, id: &str, status: &str, amount: i64) -> Result<Value, SandboxError> {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let mut st = lock(&self.inner.store);
        let o = st
            .orders
            .get_mut(id)
            .ok_or_else(|| SandboxError::InvalidInit(format!("no order {id}")))?;
        let charge = json!({
            "id": format!("CHAR_{n:08X}-SANDBOX"),
            "reference_id": o["reference_id"],
            "status": status,
            "paid_at": if status == "PAID" { json!("2026-12-06T12:00:00.000-03:00") } else { Value::Null },
            "amount": { "value": amount, "currency": "BRL", "summary": { "total": amount, "paid": if status == "PAID" { amount } else { 0 }, "refunded": 0 } },
            "payment_method": { "type": "PIX", "pix": { "end_to_end_id": format!("E18236120202612061200{n:08}") } }
        });
        if let Some(cs) = o["charges"].as_array_mut() {
            cs.push(charge);
        } else {
            o["charges"] = json!([charge]);
        }
        Ok(o.clone())
    }

    /// The payer pays the QR in full, and the order goes to its notification URLs.
    pub async fn pay(&self, id: &str) -> Result<Vec<Sent>, SandboxError> {
        let amount = self
            .order(id)
            .and_then(|o| o["qr_codes"][0]["amount"]["value"].as_i64())
            .ok_or_else(|| SandboxError::InvalidInit(format!("no order {id} with a QR code")))?;
        let o = self.add_charge(id, "PAID", amount)?;
        let mut sent = Vec::new();
        for url in o["notification_urls"].as_array().cloned().unwrap_or_default() {
            if let Some(u) = url.as_str() {
                sent.push(self.notify(u, id, Delivery::Signed).await?);
            }
        }
        Ok(sent)
    }

    /// POSTs the order as it is now to `target`.
    pub async fn notify(&self, target: &str, id: &str, how: Delivery) -> Result<Sent, SandboxError> {
        let o = self
            .order(id)
            .ok_or_else(|| SandboxError::InvalidInit(format!("no order {id}")))?;
        let body = serde_json::to_vec(&o).map_err(|e| SandboxError::InvalidInit(e.to_string()))?;
        let token_header = match how {
            Delivery::Signed => Some(authenticity(&self.inner.init.token, &body)),
            Delivery::BadSignature => Some(authenticity("another-account-token", &body)),
            Delivery::Unsigned => None,
        };
        self.send(target.to_owned(), token_header, body).await
    }

    pub async fn replay(&self, sent: &Sent) -> Result<Sent, SandboxError> {
        self.send(sent.url.clone(), sent.token_header.clone(), sent.body.clone())
            .await
    }

    async fn send(&self, url: String, token_header: Option<String>, body: Vec<u8>) -> Result<Sent, SandboxError> {
        let headers: Vec<(&str, String)> = token_header
            .iter()
            .map(|t| ("x-authenticity-token", t.clone()))
            .collect();
        let answer = crate::post::post(&url, &headers, &body).await?;
        let sent = Sent {
            url,
            token_header,
            body,
            answer,
        };
        lock(&self.inner.store).sent.push(sent.clone());
        Ok(sent)
    }
}

fn error(status: StatusCode, code: &str, description: &str, parameter: Option<&str>) -> Response {
    let mut m = json!({ "code": code, "description": description });
    if let Some(p) = parameter {
        m["parameter_name"] = json!(p);
    }
    (status, axum::Json(json!({ "error_messages": [m] }))).into_response()
}

fn authorised(inner: &Inner, h: &HeaderMap) -> bool {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == inner.init.token)
}

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
                "Too Many Requests",
            )
                .into_response(),
        ),
        FaultKind::Malformed => Some((StatusCode::OK, "{\"id\": \"ORDE_").into_response()),
        FaultKind::Envelope { reason } => Some(error(StatusCode::FORBIDDEN, "ACCESS_DENIED", &reason, None)),
        // Answered above (crate::server::common_fault).
        _ => None,
    }
}

async fn create_order(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Invalid credential", None);
    }
    if let Some(r) = fault(&inner, "create_order").await {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "40001", "invalid_json", None);
    };
    let Some(amount) = req["qr_codes"][0]["amount"]["value"].as_i64().filter(|a| *a > 0) else {
        return error(
            StatusCode::BAD_REQUEST,
            "40002",
            "invalid_parameter",
            Some("qr_codes[0].amount.value"),
        );
    };
    if req["reference_id"].as_str().is_none_or(str::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "40002",
            "invalid_parameter",
            Some("reference_id"),
        );
    }
    let n = inner.seq.fetch_add(1, Ordering::Relaxed);
    let id = format!("ORDE_{n:08X}-2144-4247-ABC5-26232D8F04B9");
    let qr = format!("QRCO_{n:08X}-FCD5-43B9-8AE3-2D17F9E1D52F");
    let code = crate::post::psp_brcode(
        "f7d7a43a-fcd5-43b9-8ae3-2d17f9e1d52f",
        amount,
        "SANDBOX PAGBANK",
        "SAO PAULO",
        "***",
    );
    let order = json!({
        "id": id,
        "reference_id": req["reference_id"],
        "created_at": "2026-12-06T12:00:00.000-03:00",
        "customer": req["customer"],
        "items": req["items"],
        "qr_codes": [{
            "id": qr,
            "expiration_date": req["qr_codes"][0].get("expiration_date").cloned().unwrap_or(Value::Null),
            "amount": { "value": amount },
            "text": code,
            "arrangements": ["PIX"],
            "links": [
                { "rel": "QRCODE.PNG", "href": format!("{}/qrcode/{qr}/png", inner_url()), "media": "image/png", "type": "GET" }
            ]
        }],
        "notification_urls": req.get("notification_urls").cloned().unwrap_or_else(|| json!([])),
        "links": [{ "rel": "SELF", "href": format!("/orders/{id}"), "media": "application/json", "type": "GET" }]
    });
    lock(&inner.store).orders.insert(id, order.clone());
    (StatusCode::CREATED, axum::Json(order)).into_response()
}

fn inner_url() -> &'static str {
    "https://sandbox.api.pagseguro.com"
}

async fn get_order(State(inner): State<Arc<Inner>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Invalid credential", None);
    }
    if let Some(r) = fault(&inner, "get_order").await {
        return r;
    }
    match lock(&inner.store).orders.get(&id).cloned() {
        Some(o) => axum::Json(o).into_response(),
        None => error(StatusCode::NOT_FOUND, "40400", "order not found", Some("id")),
    }
}
