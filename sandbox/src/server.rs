//! The accept loop each simulator runs on its own loopback port: HTTP/1.1 (over TLS unless
//! plain HTTP was asked for), with a per-connection switch a fault uses to drop the connection
//! mid-request.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Put in every request's extensions: `kill()` closes the request's connection without an
/// answer (no TLS close_notify, no HTTP status).
#[derive(Clone, Default)]
pub(crate) struct ConnKill(Arc<Notify>);

impl ConnKill {
    pub fn kill(&self) {
        self.0.notify_one();
    }
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn bind() -> std::io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", 0)).await
}

/// The answer to a fault that every JSON provider simulator gives alike (latency, a hung call,
/// an HTTP 5xx page, a connection-level failure as an opaque 502): `Ok(None)` to answer normally
/// afterwards, `Ok(Some(_))` to answer with it, `Err(kind)` for the kinds whose body is the
/// provider's own (rate limit, malformed body, an API refusal).
pub(crate) async fn common_fault(kind: crate::FaultKind) -> Result<Option<axum::response::Response>, crate::FaultKind> {
    use crate::FaultKind;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    match kind {
        FaultKind::Latency { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(None)
        }
        FaultKind::Timeout => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(None)
        }
        FaultKind::Http5xx { status } => Ok(Some(
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                "<html><body>upstream error</body></html>",
            )
                .into_response(),
        )),
        FaultKind::Drop | FaultKind::Lost | FaultKind::Truncated => {
            Ok(Some((StatusCode::BAD_GATEWAY, "bad gateway").into_response()))
        }
        other => Err(other),
    }
}

/// Serves `router` over plain HTTP on a new loopback port, on our accept loop (so a fault can
/// drop a connection mid-request); returns the base URL and the sender that stops it
/// (dropping the sender stops it too).
pub(crate) async fn start_plain(router: Router) -> std::io::Result<(String, watch::Sender<bool>)> {
    let listener = bind().await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = watch::channel(false);
    spawn(listener, router, None, stopped);
    Ok((url, stop))
}

/// Serves `router` on `listener` until `shutdown` changes or its sender goes away.
pub(crate) fn spawn(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                _ = shutdown.changed() => break,
            };
            let tcp = match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(error = %e, "sandbox accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(connection(tcp, router.clone(), tls.clone(), shutdown.clone()));
        }
    })
}

async fn connection(
    tcp: tokio::net::TcpStream,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
) {
    match tls {
        Some(acceptor) => {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                // A client that refuses our certificate (it is not pinned) ends here.
                _ => return,
            };
            serve(TokioIo::new(stream), router, shutdown).await;
        }
        None => serve(TokioIo::new(tcp), router, shutdown).await,
    }
}

async fn serve<I>(io: I, router: Router, mut shutdown: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let kill = ConnKill::default();
    let svc = TowerToHyperService::new(router);
    let for_requests = kill.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(for_requests.clone());
        hyper::service::Service::call(&svc, req)
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc);
    tokio::select! {
        _ = conn => {}
        _ = kill.0.notified() => {}
        _ = shutdown.changed() => {}
    }
}
