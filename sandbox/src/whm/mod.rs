//! The WHM API 1 simulator: one server per port, serving `/json-api/<function>` from the root
//! path like cpsrvd on :2087.

pub mod autossl;
mod handlers;
mod state;
pub(crate) mod transfer;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use serde_json::{json, Value};

pub use state::{Account, AccountInit, Package, WhmLimits, WhmSnapshot};
pub use transfer::{source_password, DEFAULT_PACE, STAGES};

use crate::faults::{lock, FaultKind, Faults};
use crate::server::ConnKill;
use handlers::{Outcome, Params};
use state::WhmState;

/// How a simulated WHM server starts: its credentials, capacity, packages and accounts.
#[derive(Debug, Clone)]
pub struct WhmInit {
    pub api_user: String,
    pub token: String,
    pub limits: WhmLimits,
    /// Packages besides `default` (which every server has).
    pub packages: Vec<Package>,
    pub accounts: Vec<AccountInit>,
    /// What `version` answers.
    pub version: String,
    /// The shared IP accounts get.
    pub ip: String,
    /// Disk the server uses besides the accounts it holds (None: 3–8 % of the disk, from the
    /// seed).
    pub system_disk_mb: Option<u64>,
    /// The sites its :443 serves at start (AutoSSL adds and renews them).
    pub certs: Vec<autossl::CertInit>,
}

impl WhmInit {
    pub fn new(api_user: &str, token: &str) -> Self {
        Self {
            api_user: api_user.to_owned(),
            token: token.to_owned(),
            limits: WhmLimits::default(),
            packages: Vec::new(),
            accounts: Vec::new(),
            version: "11.118.0.15".to_owned(),
            ip: "203.0.113.10".to_owned(),
            system_disk_mb: None,
            certs: Vec::new(),
        }
    }

    pub fn limits(mut self, max_accounts: u32, disk_total_mb: u64) -> Self {
        self.limits = WhmLimits {
            max_accounts,
            disk_total_mb,
        };
        self
    }

    pub fn package(mut self, p: Package) -> Self {
        self.packages.push(p);
        self
    }

    pub fn account(mut self, a: AccountInit) -> Self {
        self.accounts.push(a);
        self
    }

    /// A site certificate the server serves from the start.
    pub fn cert(mut self, domain: &str, cert: autossl::SiteCert) -> Self {
        self.certs.push(autossl::CertInit {
            domain: domain.to_owned(),
            cert,
        });
        self
    }
}

/// One running simulated server.
pub(crate) struct WhmServer {
    pub name: String,
    api_user: String,
    token: String,
    pub state: Mutex<WhmState>,
    pub faults: Faults,
    seed: u64,
    /// The other servers, for transfers from them.
    network: Arc<transfer::Network>,
    transfers: Mutex<transfer::Sessions>,
    /// About how long one stage of a transferred account takes.
    transfer_pace: Duration,
    pub sites: Mutex<autossl::Sites>,
}

/// A call that is never answered is given up on by the server after this long, so a hung
/// connection cannot outlive a long manual session.
const HANG_FOR: Duration = Duration::from_secs(600);

impl WhmServer {
    pub fn new(
        seed: u64,
        name: &str,
        init: &WhmInit,
        network: Arc<transfer::Network>,
        transfer_pace: Duration,
    ) -> Result<Self, String> {
        let mut st = WhmState::new(seed, name, &init.api_user, &init.ip, &init.version, init.limits);
        if let Some(mb) = init.system_disk_mb {
            st.set_system_disk_mb(mb);
        }
        for p in &init.packages {
            st.packages.insert(p.name.clone(), p.clone());
        }
        let now = unix_now();
        for a in &init.accounts {
            st.seed_account(a, now)
                .map_err(|e| format!("account {}: {e}", a.user))?;
        }
        Ok(Self {
            name: name.to_owned(),
            api_user: init.api_user.clone(),
            token: init.token.clone(),
            state: Mutex::new(st),
            faults: Faults::new(seed, name),
            seed,
            network,
            transfers: Mutex::new(transfer::Sessions::default()),
            transfer_pace,
            sites: Mutex::new(autossl::Sites::new(&init.certs)),
        })
    }

    pub fn api_user(&self) -> &str {
        &self.api_user
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn snapshot(&self) -> WhmSnapshot {
        lock(&self.state).snapshot()
    }

    /// The transfer sessions held, as (id, state name).
    pub fn transfer_sessions(&self) -> Vec<(String, String)> {
        lock(&self.transfers).list()
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let expected = format!("whm {}:{}", self.api_user, self.token);
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| constant_time_eq(v.trim().as_bytes(), expected.as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

pub(crate) fn router(server: Arc<WhmServer>) -> Router {
    Router::new()
        .route("/json-api/{function}", any(call))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") })
        .with_state(server)
}

async fn call(
    State(s): State<Arc<WhmServer>>,
    Path(function): Path<String>,
    Extension(kill): Extension<ConnKill>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    *lock(&s.state).calls.entry(function.clone()).or_insert(0) += 1;
    if !s.authorized(&headers) {
        return access_denied();
    }
    let api1 = params.get("api.version") == Some("1");
    let fault = s.faults.decide(&function);
    tracing::debug!(server = %s.name, %function, ?fault, "whm call");
    match fault {
        None => answer(&s, &function, &params, api1),
        Some(FaultKind::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            answer(&s, &function, &params, api1)
        }
        Some(FaultKind::Timeout) => {
            tokio::time::sleep(HANG_FOR).await;
            kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Drop) => {
            kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Lost) => {
            drop(answer(&s, &function, &params, api1));
            kill.kill();
            std::future::pending().await
        }
        Some(FaultKind::Envelope { reason }) => render(&function, Outcome::fail(reason), api1),
        Some(FaultKind::Http5xx { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let text = format!(
                "<html><head><title>{status}</title></head><body><h1>{status}</h1>cpsrvd could not complete the request.</body></html>"
            );
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], text).into_response()
        }
        Some(FaultKind::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                (header::RETRY_AFTER, retry_after_secs.to_string()),
            ],
            "Too Many Requests",
        )
            .into_response(),
        Some(FaultKind::Malformed) => json_response(
            StatusCode::OK,
            Bytes::from_static(
                b"{\"metadata\":{\"result\":1,\"reason\":\"OK\"<br />\n<b>Warning</b>: cpsrvd output interrupted",
            ),
        ),
        Some(FaultKind::Truncated) => truncated(answer(&s, &function, &params, api1)).await,
    }
}

/// Runs the function against the state and renders its envelope.
fn answer(s: &WhmServer, function: &str, params: &Params, api1: bool) -> Response {
    if let Some(o) = transfer::dispatch(s, function, params) {
        return render(function, o, api1);
    }
    if function == autossl::FUNCTION {
        return render(function, autossl::start(s, params, unix_now()), api1);
    }
    let outcome = {
        let mut st = lock(&s.state);
        handlers::dispatch(&mut st, function, params, unix_now())
    };
    let outcome = outcome.unwrap_or_else(|| {
        Outcome::fail(format!(
            "Unknown app (“{function}”) requested for this version (1) of the API."
        ))
    });
    render(function, outcome, api1)
}

fn render(function: &str, o: Outcome, api1: bool) -> Response {
    let body = if api1 {
        let mut metadata = json!({
            "version": 1, "command": function, "result": u8::from(o.ok), "reason": o.reason,
        });
        if let Some(raw) = o.raw {
            metadata["output"] = json!({ "raw": raw });
        }
        let mut v = json!({ "metadata": metadata });
        if let Some(data) = o.data {
            v["data"] = data;
        }
        v
    } else {
        legacy(o)
    };
    json_response(StatusCode::OK, Bytes::from(body.to_string()))
}

/// Without `api.version=1` cpsrvd runs the call as the deprecated API 0, whose shape has no
/// `metadata` at all.
fn legacy(o: Outcome) -> Value {
    let mut entry = json!({ "status": u8::from(o.ok), "statusmsg": o.reason });
    if let (Some(Value::Object(data)), Some(e)) = (o.data, entry.as_object_mut()) {
        e.extend(data);
    }
    if let Some(raw) = o.raw {
        entry["rawout"] = Value::String(raw);
    }
    json!({ "result": [entry] })
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    r
}

/// cpsrvd's answer to a wrong or missing token: HTTP 403 with a legacy body, not an envelope.
fn access_denied() -> Response {
    let body = r#"{"cpanelresult":{"apiversion":"2","error":"Access denied","data":{"reason":"Access denied","result":"0"},"type":"text"}}"#;
    json_response(StatusCode::FORBIDDEN, Bytes::from_static(body.as_bytes()))
}

/// The whole answer is announced, half of it is sent, then the connection breaks.
async fn truncated(full: Response) -> Response {
    let (mut parts, body) = full.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    use futures::StreamExt;
    // The pause lets the half be flushed before the break, as when a link fails mid-answer.
    let rest = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err::<Bytes, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox: truncated",
        ))
    });
    let chunks = futures::stream::iter([Ok(half)]).chain(rest);
    Response::from_parts(parts, Body::from_stream(chunks))
}
