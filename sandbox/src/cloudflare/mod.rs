//! A Cloudflare API v4 simulator (zones + DNS records, /work/shared/providers/cloudflare.md)
//! on a loopback port, under `/client/v4` like the real base URL: Bearer tokens, the
//! `success/errors/messages/result/result_info` envelope, page/per_page pagination, the
//! error codes painel maps (1061, 81057, 10000, 81044), `X-RateLimit-*` headers, and the
//! sandbox's switchable faults per operation (`zones.list`, `zones.create`, `zones.get`,
//! `zones.activation_check`, `zones.delete`, `dns_records.list`, `dns_records.create`,
//! `dns_records.update`, `dns_records.patch`, `dns_records.delete`, `tokens.verify`).
//! An activation check turns a zone active when the sandbox DNS table delegates it to the
//! zone's nameservers.

mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Extension, Router};
use serde_json::{json, Value};

pub use state::{SimRecord, SimZone};

use crate::dns::DnsTable;
use crate::faults::{lock, FaultKind, Faults};
use crate::server::ConnKill;
use state::{ApiErr, CfState};

/// The simulator's name in fault settings and the control API.
pub const SERVER_NAME: &str = "cloudflare";

#[derive(Debug, Clone)]
pub struct CloudflareInit {
    pub account_id: String,
    pub token: String,
}

impl CloudflareInit {
    pub fn new(account_id: &str, token: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            token: token.to_owned(),
        }
    }
}

pub(crate) struct CfServer {
    token: String,
    pub state: Mutex<CfState>,
    pub faults: Faults,
    dns: Option<DnsTable>,
}

impl CfServer {
    pub fn new(seed: u64, init: &CloudflareInit, dns: Option<DnsTable>) -> Self {
        Self {
            token: init.token.clone(),
            state: Mutex::new(CfState::new(seed, &init.account_id)),
            faults: Faults::new(seed, SERVER_NAME),
            dns,
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn account_id(&self) -> String {
        lock(&self.state).account_id.clone()
    }

    pub fn zones(&self) -> Vec<SimZone> {
        lock(&self.state).zones.values().cloned().collect()
    }

    pub fn calls(&self) -> std::collections::BTreeMap<String, u64> {
        lock(&self.state).calls.clone()
    }
}

/// The nameservers the simulator assigns `zone` under `seed` (what a zone create answers).
pub fn nameservers_for(seed: u64, zone: &str) -> Vec<String> {
    CfState::nameservers_for(seed, zone)
}

pub(crate) fn router(s: Arc<CfServer>) -> Router {
    Router::new()
        .route("/client/v4/user/tokens/verify", get(verify))
        .route("/client/v4/zones", get(zones_list).post(zone_create))
        .route("/client/v4/zones/{zone}", get(zone_get).delete(zone_delete))
        .route("/client/v4/zones/{zone}/activation_check", put(activation))
        .route(
            "/client/v4/zones/{zone}/dns_records",
            get(records_list).post(record_create),
        )
        .route(
            "/client/v4/zones/{zone}/dns_records/{id}",
            get(record_get)
                .put(record_put)
                .patch(record_patch)
                .delete(record_delete),
        )
        .fallback(|| async { envelope_err(404, 7000, "No route for that URI") })
        .with_state(s)
}

type Q = Query<HashMap<String, String>>;

struct Call {
    s: Arc<CfServer>,
    kill: ConnKill,
}

/// Auth, call counting and faults, then `op` against the state.
async fn run(
    c: Call,
    headers: &HeaderMap,
    name: &str,
    op: impl FnOnce(&mut CfState, Option<&DnsTable>) -> Result<(Value, Option<Value>), ApiErr>,
) -> Response {
    *lock(&c.s.state).calls.entry(name.to_owned()).or_insert(0) += 1;
    let expected = format!("Bearer {}", c.s.token);
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| constant_time_eq(v.trim().as_bytes(), expected.as_bytes()));
    if !ok {
        return envelope_err(403, 10000, "Authentication error");
    }
    let fault = c.s.faults.decide(name);
    tracing::debug!(%name, ?fault, "cloudflare call");
    let apply = || {
        let mut st = lock(&c.s.state);
        match op(&mut st, c.s.dns.as_ref()) {
            Ok((result, info)) => envelope_ok(result, info),
            Err((status, code, msg)) => envelope_err(status, code, &msg),
        }
    };
    match fault {
        None => apply(),
        Some(FaultKind::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            apply()
        }
        Some(FaultKind::Timeout) => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            c.kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Drop) => {
            c.kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Lost) => {
            drop(apply());
            c.kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Envelope { reason }) => envelope_err(400, 1000, &reason),
        Some(FaultKind::Http5xx { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let text = format!("<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center><hr><center>cloudflare</center></body></html>");
            (status, [(header::CONTENT_TYPE, "text/html")], text).into_response()
        }
        Some(FaultKind::RateLimited { retry_after_secs }) => {
            let mut r = envelope_err(429, 971, "Please wait and consider throttling your request speed");
            let h = r.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
            h.insert("x-ratelimit-reset", HeaderValue::from(retry_after_secs));
            r
        }
        Some(FaultKind::Malformed) => json_body(
            StatusCode::OK,
            Bytes::from_static(b"{\"success\":true,\"errors\":[],\"result\":{\"id\":"),
        ),
        Some(FaultKind::Truncated) => truncated(apply()).await,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json_body(status: StatusCode, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert("x-ratelimit-limit", HeaderValue::from_static("1200"));
    h.entry("x-ratelimit-remaining")
        .or_insert(HeaderValue::from_static("1199"));
    r
}

fn envelope_ok(result: Value, info: Option<Value>) -> Response {
    let mut v = json!({ "success": true, "errors": [], "messages": [], "result": result });
    if let Some(i) = info {
        v["result_info"] = i;
    }
    json_body(StatusCode::OK, Bytes::from(v.to_string()))
}

fn envelope_err(status: u16, code: i64, message: &str) -> Response {
    let v =
        json!({ "success": false, "errors": [{ "code": code, "message": message }], "messages": [], "result": null });
    json_body(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Bytes::from(v.to_string()),
    )
}

async fn truncated(full: Response) -> Response {
    let (mut parts, body) = full.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    use futures::StreamExt;
    let rest = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox: truncated",
        ))
    });
    Response::from_parts(parts, Body::from_stream(futures::stream::iter([Ok(half)]).chain(rest)))
}

/// One page of `items` as `(result, result_info)`.
fn page(items: Vec<Value>, q: &HashMap<String, String>, default_per: usize, max_per: usize) -> (Value, Option<Value>) {
    let per = q
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(default_per)
        .clamp(1, max_per);
    let page = q.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let total = items.len();
    let chunk: Vec<Value> = items.into_iter().skip((page - 1) * per).take(per).collect();
    let info = json!({
        "page": page, "per_page": per, "count": chunk.len(), "total_count": total,
        "total_pages": total.div_ceil(per),
    });
    (Value::Array(chunk), Some(info))
}

fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    q.get(k)
        .or_else(|| q.get(&format!("{k}.exact")))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn parse_body(body: &Bytes) -> Result<Value, ApiErr> {
    serde_json::from_slice(body).map_err(|e| (400, 6007, format!("Malformed JSON in request body: {e}")))
}

async fn verify(State(s): State<Arc<CfServer>>, Extension(kill): Extension<ConnKill>, h: HeaderMap) -> Response {
    run(Call { s, kill }, &h, "tokens.verify", |_, _| {
        Ok((
            json!({ "id": "f267e341f3dd4697bd3b9f71dd96247f", "status": "active" }),
            None,
        ))
    })
    .await
}

async fn zones_list(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Query(q): Q,
) -> Response {
    run(Call { s, kill }, &h, "zones.list", move |st, _| {
        let name = param(&q, "name").map(str::to_ascii_lowercase);
        let status = param(&q, "status");
        if param(&q, "account.id").is_some_and(|a| a != st.account_id) {
            return Ok(page(Vec::new(), &q, 20, 50));
        }
        let items = st
            .zones
            .values()
            .filter(|z| name.as_deref().is_none_or(|n| z.name == n) && status.is_none_or(|s| z.status == s))
            .map(|z| st.zone_json(z))
            .collect();
        Ok(page(items, &q, 20, 50))
    })
    .await
}

async fn zone_create(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    run(Call { s, kill }, &h, "zones.create", move |st, _| {
        let b = parse_body(&body)?;
        let name = b.get("name").and_then(Value::as_str).unwrap_or("");
        let account = b.pointer("/account/id").and_then(Value::as_str);
        Ok((st.create_zone(name, account)?, None))
    })
    .await
}

async fn zone_get(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path(zone): Path<String>,
) -> Response {
    run(Call { s, kill }, &h, "zones.get", move |st, _| {
        let z = st
            .zones
            .get(&zone)
            .ok_or((404, 7003, "Invalid zone identifier".to_owned()))?;
        Ok((st.zone_json(z), None))
    })
    .await
}

async fn zone_delete(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path(zone): Path<String>,
) -> Response {
    run(Call { s, kill }, &h, "zones.delete", move |st, _| {
        Ok((st.delete_zone(&zone)?, None))
    })
    .await
}

async fn activation(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path(zone): Path<String>,
) -> Response {
    run(Call { s, kill }, &h, "zones.activation_check", move |st, dns| {
        Ok((st.activation_check(&zone, dns)?, None))
    })
    .await
}

async fn records_list(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path(zone): Path<String>,
    Query(q): Q,
) -> Response {
    run(Call { s, kill }, &h, "dns_records.list", move |st, _| {
        let z = st
            .zones
            .get(&zone)
            .ok_or((404, 7003, "Invalid zone identifier".to_owned()))?;
        let name = param(&q, "name").map(|n| n.trim_end_matches('.').to_ascii_lowercase());
        let rtype = param(&q, "type").map(str::to_ascii_uppercase);
        let content = param(&q, "content");
        let items = z
            .records
            .iter()
            .filter(|r| {
                name.as_deref().is_none_or(|n| r.name == n)
                    && rtype.as_deref().is_none_or(|t| r.record_type == t)
                    && content.is_none_or(|c| r.content == c)
            })
            .map(|r| CfState::record_json(z, r))
            .collect();
        Ok(page(items, &q, 100, 5000))
    })
    .await
}

async fn record_create(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path(zone): Path<String>,
    body: Bytes,
) -> Response {
    run(Call { s, kill }, &h, "dns_records.create", move |st, _| {
        Ok((st.create_record(&zone, &parse_body(&body)?)?, None))
    })
    .await
}

async fn record_get(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path((zone, id)): Path<(String, String)>,
) -> Response {
    run(Call { s, kill }, &h, "dns_records.get", move |st, _| {
        let z = st
            .zones
            .get(&zone)
            .ok_or((404, 7003, "Invalid zone identifier".to_owned()))?;
        let r = z
            .records
            .iter()
            .find(|r| r.id == id)
            .ok_or((404, 81044, "Record does not exist.".to_owned()))?;
        Ok((CfState::record_json(z, r), None))
    })
    .await
}

async fn record_write(
    s: Arc<CfServer>,
    kill: ConnKill,
    h: HeaderMap,
    zone: String,
    id: String,
    body: Bytes,
    m: Method,
) -> Response {
    let partial = m == Method::PATCH;
    let name = if partial {
        "dns_records.patch"
    } else {
        "dns_records.update"
    };
    run(Call { s, kill }, &h, name, move |st, _| {
        Ok((st.update_record(&zone, &id, &parse_body(&body)?, partial)?, None))
    })
    .await
}

async fn record_put(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path((zone, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    record_write(s, kill, h, zone, id, body, Method::PUT).await
}

async fn record_patch(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path((zone, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    record_write(s, kill, h, zone, id, body, Method::PATCH).await
}

async fn record_delete(
    State(s): State<Arc<CfServer>>,
    Extension(kill): Extension<ConnKill>,
    h: HeaderMap,
    Path((zone, id)): Path<(String, String)>,
) -> Response {
    run(Call { s, kill }, &h, "dns_records.delete", move |st, _| {
        Ok((st.delete_record(&zone, &id)?, None))
    })
    .await
}
