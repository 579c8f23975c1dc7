//! Small loopback servers for the tests: an axum app answering canned bodies per WHM
//! function (and recording what it was sent), and raw TCP servers that misbehave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::providers::whm::{Secret, TlsPolicy, WhmClient, WhmEndpoint};

pub const TOKEN: &str = "T0KEN9F3A2C1B0E4D5F60718293A4B5C6D7";

#[derive(Clone)]
struct Canned {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub command: String,
    pub query: String,
    pub body: String,
    pub auth: String,
}

#[derive(Clone, Default)]
struct Shared {
    routes: Arc<Mutex<HashMap<String, Canned>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub struct FixtureServer {
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/whm/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    Path(command): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    shared.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        command: command.clone(),
        query: query.unwrap_or_default(),
        body: String::from_utf8_lossy(&body).into_owned(),
        auth,
    });
    let canned = shared.routes.lock().unwrap().get(&command).cloned();
    let Some(c) = canned else {
        return (StatusCode::NOT_FOUND, "no such function").into_response();
    };
    let mut b = Response::builder()
        .status(c.status)
        .header("content-type", "application/json");
    for (k, v) in &c.headers {
        b = b.header(*k, v);
    }
    b.body(axum::body::Body::from(c.body)).unwrap()
}

impl FixtureServer {
    pub async fn start() -> FixtureServer {
        let shared = Shared::default();
        let app = Router::new()
            .route("/json-api/{command}", any(handle))
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FixtureServer { url, shared, task }
    }

    pub fn answer(&self, command: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.answer_with(command, status, body, vec![]);
    }

    pub fn answer_with(
        &self,
        command: &str,
        status: u16,
        body: impl Into<Vec<u8>>,
        headers: Vec<(&'static str, String)>,
    ) {
        self.shared.routes.lock().unwrap().insert(
            command.to_owned(),
            Canned {
                status,
                body: body.into(),
                headers,
            },
        );
    }

    pub fn fixture(&self, command: &str, file: &str) {
        self.answer(command, 200, fixture(file));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn client(&self) -> WhmClient {
        client_for(&self.url, TlsPolicy::Verify, Duration::from_secs(5))
    }
}

pub fn client_for(url: &str, tls: TlsPolicy, timeout: Duration) -> WhmClient {
    WhmClient::new(WhmEndpoint {
        base_url: url.to_owned(),
        api_user: "root".into(),
        token: Secret::new(TOKEN),
        tls,
        timeout,
    })
    .unwrap()
}

/// Reads one request's head (enough for these tests: bodies are not read).
pub async fn read_head(s: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return,
        }
    }
}

/// A raw server: each connection is handed to `f` after its request head was read.
pub async fn raw_server<F, Fut>(f: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let f = Arc::new(f);
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let f = f.clone();
            tokio::spawn(async move {
                read_head(&mut s).await;
                f(s).await;
            });
        }
    });
    (url, task)
}

/// Writes `head` + `body` and keeps the connection open for `hold`.
pub async fn write_and_hold(mut s: TcpStream, bytes: Vec<u8>, hold: Duration) {
    let _ = s.write_all(&bytes).await;
    let _ = s.flush().await;
    tokio::time::sleep(hold).await;
}
