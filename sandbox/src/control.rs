//! The control API (plain HTTP on its own loopback port): which servers run where, faults on
//! and off, and a server's state as JSON — for `painel sandbox fault` and manual trials.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::faults::{FaultKind, FaultSpec};
use crate::{Inner, SandboxError};

/// One simulated server as the control API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub api_user: String,
    pub token: String,
}

/// `POST /faults`: a fault by name, with the parameters its kind takes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultRequest {
    pub server: String,
    pub operation: String,
    pub kind: String,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub ms: Option<u64>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultRequest {
    pub fn spec(&self) -> Result<FaultSpec, SandboxError> {
        let kind = FaultKind::from_name(
            &self.kind,
            self.ms,
            self.status,
            self.reason.as_deref(),
            self.retry_after,
        )?;
        Ok(FaultSpec {
            kind,
            rate: self.rate.unwrap_or(1.0),
            times: self.times,
        })
    }
}

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/servers", get(servers))
        .route("/servers/{name}/state", get(state))
        .route("/servers/{name}/certs", get(site_certs).post(set_site_cert))
        .route("/faults", get(list_faults).post(set_fault).delete(clear_all))
        .route("/faults/{server}", delete(clear_server))
        .route("/smtp/messages", get(smtp_messages))
        .with_state(inner)
}

fn error(e: &SandboxError) -> Response {
    let status = match e {
        SandboxError::UnknownServer(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
}

async fn overview(State(inner): State<Arc<Inner>>) -> Response {
    Json(serde_json::json!({
        "seed": inner.seed,
        "cert_sha256": inner.fingerprint,
        "servers": inner.server_infos(),
    }))
    .into_response()
}

async fn servers(State(inner): State<Arc<Inner>>) -> Response {
    Json(inner.server_infos()).into_response()
}

async fn state(State(inner): State<Arc<Inner>>, Path(name): Path<String>) -> Response {
    match inner.whm.get(&name) {
        Some(s) => Json(s.server.snapshot()).into_response(),
        None => error(&SandboxError::UnknownServer(name)),
    }
}

async fn site_certs(State(inner): State<Arc<Inner>>, Path(name): Path<String>) -> Response {
    match inner.whm.get(&name) {
        Some(s) => Json(crate::faults::lock(&s.server.sites).list()).into_response(),
        None => error(&SandboxError::UnknownServer(name)),
    }
}

/// `POST /servers/{name}/certs`: what one site serves from now on; answers every site's.
async fn set_site_cert(
    State(inner): State<Arc<Inner>>,
    Path(name): Path<String>,
    Json(req): Json<crate::whm::autossl::CertRequest>,
) -> Response {
    let Some(s) = inner.whm.get(&name) else {
        return error(&SandboxError::UnknownServer(name));
    };
    match req.cert(crate::whm::unix_now()) {
        Ok(cert) => {
            let mut sites = crate::faults::lock(&s.server.sites);
            let domain = req.domain.trim().to_ascii_lowercase();
            match cert {
                Some(c) => sites.set(&domain, c),
                None => sites.remove(&domain),
            }
            Json(sites.list()).into_response()
        }
        Err(e) => error(&e),
    }
}

async fn list_faults(State(inner): State<Arc<Inner>>) -> Response {
    Json(inner.faults()).into_response()
}

async fn set_fault(State(inner): State<Arc<Inner>>, Json(req): Json<FaultRequest>) -> Response {
    match req
        .spec()
        .and_then(|spec| inner.set_fault(&req.server, &req.operation, spec))
    {
        Ok(()) => (StatusCode::OK, Json(inner.faults())).into_response(),
        Err(e) => error(&e),
    }
}

async fn clear_all(State(inner): State<Arc<Inner>>) -> Response {
    inner.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_server(State(inner): State<Arc<Inner>>, Path(server): Path<String>) -> Response {
    match inner.whm.get(&server) {
        Some(s) => {
            s.server.faults.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(&SandboxError::UnknownServer(server)),
    }
}

/// Every message the SMTP sink kept, oldest first (404 without a sink).
async fn smtp_messages(State(inner): State<Arc<Inner>>) -> Response {
    match &inner.smtp {
        Some(s) => Json(s.messages()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": "no SMTP sink" })),
        )
            .into_response(),
    }
}
