//! `painel serve`: the HTTP side (docs/adr/0023). Stateless — every request's state is in
//! the database — so several instances can run behind a load balancer. Routes: `/healthz`,
//! `/readyz`, `/metrics`, `POST /webhooks/stripe`. SIGTERM or Ctrl-C stops accepting, lets
//! requests in flight finish (their events committed and answered), then exits.

mod metrics;
mod pix;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use backend::billing::webhooks::{stripe, Intake, IntakeConfig, Outcome};
use backend::{args, Db};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use metrics::Metrics;

use crate::cli::ServeArgs;
use crate::config::Config;

/// Environment variable with the Stripe endpoint's signing secret(s), comma-separated while
/// rolling it. It is read once at start and never printed.
pub const STRIPE_SECRET_ENV: &str = "PAINEL_STRIPE_WEBHOOK_SECRET";
/// The secret file's name in the data directory (one secret per line, mode 0600).
pub const STRIPE_SECRET_FILE: &str = "stripe-webhook-secret";

/// What one server instance shares between requests: handles, never request state.
struct AppState {
    db: Db,
    intake: Intake,
    stripe: Option<stripe::SigningSecrets>,
    pix: crate::pix_config::PixSecrets,
    metrics: Arc<Metrics>,
}

pub struct ServeOptions {
    pub listen: SocketAddr,
    pub stripe: Option<stripe::SigningSecrets>,
    pub pix: crate::pix_config::PixSecrets,
    pub intake: IntakeConfig,
}

/// A server started by [`start`]: its address, and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, waits for the intake's writers.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("serve task failed")?
    }
}

pub async fn start(db: Db, opts: ServeOptions) -> Result<Running> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let (intake, writers) = Intake::start(db.clone(), opts.intake);
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(AppState {
        db,
        intake,
        stripe: opts.stripe,
        pix: opts.pix,
        metrics: metrics.clone(),
    });
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .route("/webhooks/stripe", post(stripe_webhook))
        .route("/webhooks/mercadopago", post(pix::mercadopago_webhook))
        .route("/webhooks/pagseguro", post(pix::pagseguro_webhook))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state);
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .context("HTTP server failed")?;
        // The router (and with it the last Intake) is gone: writers drain and stop.
        for w in writers {
            let _ = w.await;
        }
        Ok(())
    });
    Ok(Running {
        addr,
        metrics,
        stop,
        task,
    })
}

/// The signing secrets: the environment variable, else the file (`--stripe-secret-file`, or
/// `stripe-webhook-secret` in the data directory), which must not be readable by others.
pub fn stripe_secrets(cfg: &Config, file: Option<&Path>) -> Result<Option<stripe::SigningSecrets>> {
    if let Ok(v) = std::env::var(STRIPE_SECRET_ENV) {
        if !v.trim().is_empty() {
            return Ok(stripe::SigningSecrets::new(v.split(',').map(str::to_owned)));
        }
    }
    let path: PathBuf = file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cfg.data_dir.join(STRIPE_SECRET_FILE));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.is_none() => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} is readable by others (mode {:o}): chmod 600 it, it holds the webhook signing secret",
                path.display(),
                mode & 0o777
            );
        }
    }
    Ok(stripe::SigningSecrets::new(text.lines().map(str::to_owned)))
}

/// `painel serve`: until SIGTERM or SIGINT.
pub async fn run(cfg: &Config, db: &Db, args: ServeArgs) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let stripe = stripe_secrets(cfg, args.stripe_secret_file.as_deref())?;
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let secrets = stripe
        .as_ref()
        .map(|s| format!("{} Stripe signing secret(s)", s.len()))
        .unwrap_or_else(|| "no Stripe signing secret: /webhooks/stripe answers 503".into());
    let running = start(
        db.clone(),
        ServeOptions {
            listen: args.listen,
            stripe,
            pix: crate::pix_config::secrets(&cfg.data_dir)?,
            intake: IntakeConfig {
                batching: !args.no_batching,
                max_batch: args.max_batch,
                writers: args.writers,
            },
        },
    )
    .await?;
    // Tests and supervisors read this line for the address (with --listen …:0 too).
    eprintln!("painel serve listening on http://{} ({secrets})", running.addr);
    tracing::info!(addr = %running.addr, "serve started");
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    eprintln!("painel serve: {name}, finishing requests in flight");
    running.shutdown().await?;
    eprintln!("painel serve stopped");
    Ok(())
}

async fn count_requests(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    st.metrics.request(&route, res.status().as_u16());
    res
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into() + "\n",
    )
        .into_response()
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok")
}

const READY_TIMEOUT: Duration = Duration::from_secs(2);

async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let db = tokio::time::timeout(READY_TIMEOUT, st.db.scalar::<i64>("SELECT CAST(1 AS BIGINT)", args![])).await;
    match db {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return text(StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}")),
        Err(_) => return text(StatusCode::SERVICE_UNAVAILABLE, "database: no answer within 2 s"),
    }
    if let Some(bus) = st.db.bus() {
        if let Err(e) = bus.ping().await {
            return text(StatusCode::SERVICE_UNAVAILABLE, format!("redis: {e}"));
        }
    }
    text(StatusCode::OK, "ready")
}

async fn metrics_page(State(st): State<Arc<AppState>>) -> Response {
    match st.metrics.render(&st.db).await {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}")),
    }
}

/// Verify on the raw bytes, record (group commit), then answer: 200 once the event and its
/// job are committed (a duplicate too), 400 for what will never verify, 503 when it could
/// not be recorded (the provider retries).
async fn stripe_webhook(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secrets) = &st.stripe else {
        st.metrics.webhook("stripe", "unconfigured");
        return text(StatusCode::SERVICE_UNAVAILABLE, "stripe webhooks are not configured");
    };
    let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let ev = match stripe::accept(secrets, header, &body, now) {
        Ok(ev) => ev,
        Err(r) => {
            st.metrics.webhook("stripe", r.label());
            return text(StatusCode::BAD_REQUEST, r.reason());
        }
    };
    match st.intake.submit(ev).await {
        Ok(outcome) => {
            st.metrics.webhook("stripe", outcome.label());
            let duplicate = outcome == Outcome::Duplicate;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{{\"received\":true,\"duplicate\":{duplicate}}}"),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "stripe webhook not recorded");
            st.metrics.webhook("stripe", "error");
            text(StatusCode::SERVICE_UNAVAILABLE, "not recorded; retry later")
        }
    }
}
