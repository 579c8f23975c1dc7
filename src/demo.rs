//! `painel demo` and opening the TUI.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use backend::identity::{self, sessions, LoginOutcome, LoginRequest, NewSession};
use backend::seed::{DEMO_ADMIN, DEMO_LOGINS, DEMO_PASSWORD, DEMO_TOTP_SECRET};
use backend::{Actor, Db, ServiceError};

use crate::cli::OutputFormat;
use crate::commands::auth;
use crate::config::Config;
use crate::session_store::SessionStore;

/// Picks the configured theme: a built-in name, or a user file `themes/<name>.toml` in the
/// config dir that patches the dark theme.
fn load_theme(cfg: &Config) -> Result<widgets::Theme> {
    if let Ok(t) = widgets::Theme::builtin(&cfg.theme) {
        return Ok(t);
    }
    let dir = cfg.config_file.parent().unwrap_or(Path::new("."));
    let path = dir.join("themes").join(format!("{}.toml", cfg.theme));
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "theme '{}' is not built in and {} cannot be read",
            cfg.theme,
            path.display()
        )
    })?;
    let base = widgets::Theme::dark();
    widgets::Theme::from_toml_patch(&base, &text).with_context(|| format!("invalid theme file {}", path.display()))
}

/// The keymap: the preset, with `keymap.toml` next to the config file laid over it when there
/// is one. A bad entry stops the start with the file, line and column (docs/adr/0016).
pub fn load_keymap(cfg: &Config) -> Result<ui::keymap::Keymap> {
    let dir = cfg.config_file.parent().unwrap_or(Path::new("."));
    let path = dir.join("keymap.toml");
    let preset = ui::keymap::Keymap::default_keymap();
    match std::fs::read_to_string(&path) {
        Ok(text) => preset
            .with_user(&text)
            .map_err(|e| anyhow::anyhow!("keymap file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(preset),
        Err(e) => Err(e).with_context(|| format!("cannot read keymap file {}", path.display())),
    }
}

pub async fn open_tui(
    cfg: &Config,
    db: &Db,
    actor: Actor,
    route: Option<String>,
    login: Option<ui::LoginOptions>,
    read_only: bool,
) -> Result<()> {
    let theme = load_theme(cfg)?;
    let keymap = load_keymap(cfg)?;
    ui::run(
        db.clone(),
        actor,
        ui::UiOptions {
            theme,
            backend_label: status_label(cfg),
            start_route: route,
            keys: Some(auth::key_config(cfg)),
            login,
            read_only,
            keymap: Some(keymap),
        },
    )
    .await
}

/// What the status bar names: the context (when one chose the database) and where the
/// database is (file or host, never a password).
pub fn status_label(cfg: &Config) -> String {
    let place = crate::context::describe(&cfg.database_url);
    match &cfg.context {
        Some(name) => format!("{name} · {place}"),
        None => place,
    }
}

/// `painel` / `painel tui`: as the stored session's user (or the local operator before any
/// account exists); with accounts but no valid session, behind the login screen, which keeps
/// the new session's token like `painel login` does.
pub async fn tui(cfg: &Config, db: &Db, route: Option<String>, read_only: bool) -> Result<()> {
    let (actor, token, notice) = match auth::resolve(cfg, db).await {
        Ok(auth::Identity::Local(a)) => return open_tui(cfg, db, a, route, None, read_only).await,
        Ok(auth::Identity::Session(s, token)) => (s.actor, Some(token), None),
        Err(e) => match e.downcast_ref::<ServiceError>() {
            Some(ServiceError::PermissionDenied(m)) if m == sessions::NOT_LOGGED_IN => {
                (Actor::local_operator(), None, None)
            }
            Some(ServiceError::PermissionDenied(m)) => (Actor::local_operator(), None, Some(m.clone())),
            _ => return Err(e),
        },
    };
    let login = login_options(SessionStore::new(cfg)?, token, notice);
    open_tui(cfg, db, actor, route, Some(login), read_only).await
}

/// The TUI's login: new sessions are kept in `store`; with `token` the TUI starts signed in
/// and re-checks it periodically (an expired or revoked session brings the login back).
fn login_options(store: SessionStore, token: Option<String>, notice: Option<String>) -> ui::LoginOptions {
    let store = Arc::new(store);
    ui::LoginOptions {
        notice,
        token,
        end_on_sign_out: false,
        on_login: Some(Arc::new(move |s: &NewSession| {
            if let Err(e) = store.save(&s.token) {
                tracing::warn!(error = %e, "cannot keep the session token");
            }
        })),
    }
}

/// What `painel demo` does after seeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Open the TUI (the simulators run while it is open).
    Tui,
    /// Print the report and exit (the simulators stop with it).
    SeedOnly,
    /// Keep the simulators running without the TUI until Ctrl-C.
    Headless,
}

/// Seeds a fresh database, starts the provider sandbox and points the demo's servers at it,
/// then opens the TUI on it. Without `--database-url` the database is `demo.sqlite` in the
/// data dir, recreated on every run so the demo always starts clean.
pub async fn run(cfg: &Config, explicit_url: Option<&str>, mode: Mode, format: OutputFormat) -> Result<()> {
    let url = match explicit_url {
        Some(u) => u.to_owned(),
        None => {
            crate::config::private_dir(&cfg.data_dir)?;
            let path = cfg.data_dir.join("demo.sqlite");
            for suffix in ["", "-wal", "-shm"] {
                let p = format!("{}{suffix}", path.display());
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => bail!("cannot remove the old demo database {p}: {e}"),
                }
            }
            format!("sqlite://{}", path.display())
        }
    };
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    // The demo is an explicit setup: it creates (or reuses) the data dir's master key and
    // registers it, so its audit chain is keyed like a deployment's (docs/adr/0013).
    let (db, _) = crate::commands::keys::setup(cfg, &db, &Actor::local_operator()).await?;
    let report = backend::seed::demo(&db).await?;
    tracing::info!(?report, "demo data seeded");
    // The admin gets 2FA with the README's secret, so sensitive actions work in the demo: the
    // login below passes its code, and later codes come from any authenticator.
    let keys = auth::load_keys(cfg, &db).await?;
    identity::totp::enable_with_known_secret(&db, &keys, &Actor::system("demo-seed"), DEMO_ADMIN, DEMO_TOTP_SECRET)
        .await?;
    // The simulated WHM servers, on fresh loopback ports; the rows now name them.
    let sandbox = crate::demo_sandbox::start(&db, &keys).await?;
    // Stripe, simulated: card payments, a refunded one and a dispute due soon. Before the
    // PIX charge: its short-lived worker takes the billing queue, and would take the PIX
    // job too without its handler ("no handler for kind billing.pix_charge").
    let stripe = crate::demo_stripe::start(&db, &keys).await?;
    // The demo's worker checks the sandbox's sites, as `[ssl]` in config.toml would say.
    let mut worker_cfg = cfg.clone();
    worker_cfg.ssl = crate::demo_ssl::probe(&sandbox)?;
    // A PIX charge paid by the Mercado Pago simulator while the demo runs (not for --seed-only).
    let _pix = if mode == Mode::SeedOnly {
        None
    } else {
        crate::demo_pix::start(cfg, &db).await?
    };
    // A few migrations from a simulated legacy server, run live by the in-process worker.
    let migrations = crate::demo_migrations::start(&db, &keys, &sandbox).await?;
    tracing::info!(migrations, "demo migrations started");
    // Later runs (`painel tenants list`, `whoami`) act on the demo database, as the demo
    // admin, until another context is selected.
    crate::context::remember_and_select(cfg, crate::context::DEMO, &url)?;
    if mode != Mode::Tui {
        demo_session(cfg, &db, &keys, &url).await?;
        eprintln!(
            "context {} selected: batch commands now use the demo database as {DEMO_ADMIN}",
            crate::context::DEMO
        );
        eprintln!("demo data seeded into {}", crate::config::mask_url(&url));
        let logins: Vec<String> = DEMO_LOGINS.iter().map(|(u, r)| format!("{u} ({r})")).collect();
        eprintln!("demo accounts, password {DEMO_PASSWORD}: {}", logins.join(", "));
        eprintln!("{DEMO_ADMIN}'s 2FA codes: oathtool --totp -b {DEMO_TOTP_SECRET} (or any authenticator app)");
        if mode == Mode::SeedOnly {
            eprintln!("the simulated WHM servers stop with this command (`painel demo --headless` keeps them)");
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            let record = crate::sandbox_cmd::Record::write(cfg, &sandbox)?;
            let worker = crate::commands::worker::InProcess::start(&worker_cfg, &db).await?;
            if format.is_json() {
                println!("{}", serde_json::to_string(&record.running)?);
            } else {
                crate::sandbox_cmd::print_human(&record.running, "HTTPS", &record.path);
                println!("demo running headless; Ctrl-C stops");
            }
            std::io::Write::flush(&mut std::io::stdout())?;
            crate::sandbox_cmd::wait_for_signal().await?;
            worker.stop().await;
            drop(record);
        }
        drop(sandbox);
        drop(stripe);
        db.close().await;
        return Ok(());
    }
    // `painel sandbox fault …` from another terminal reaches this sandbox while the TUI runs.
    let record = crate::sandbox_cmd::Record::write(cfg, &sandbox)?;
    // A worker and the scheduler run beside the TUI: orders, tests, polls and retries really
    // happen against the sandbox while the operator watches.
    let worker = crate::commands::worker::InProcess::start(&worker_cfg, &db).await?;
    let result = match demo_session(cfg, &db, &keys, &url).await {
        Ok((actor, token)) => {
            let login = SessionStore::for_database(cfg, &url).map(|store| login_options(store, Some(token), None));
            match login {
                Ok(login) => {
                    let mut here = cfg.clone();
                    here.database_url = url.clone();
                    here.context = Some(crate::context::DEMO.to_owned());
                    open_tui(&here, &db, actor, None, Some(login), false).await
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    worker.stop().await;
    drop(record);
    drop(sandbox);
    drop(stripe);
    db.close().await;
    result
}

/// Logs in as the demo super admin, through the real login service (so the session, the
/// attempt and the audit row are the same as an operator's), and keeps the token for batch
/// commands run against the demo database.
async fn demo_session(cfg: &Config, db: &Db, keys: &backend::secrets::Keys, url: &str) -> Result<(Actor, String)> {
    let req = LoginRequest {
        username: DEMO_ADMIN.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
        code: Some(identity::totp::code_at(DEMO_TOTP_SECRET, backend::db::now())?),
        source: backend::actor::detect_source(),
    };
    let LoginOutcome::Session(s) = identity::login(db, Some(keys), &req).await? else {
        bail!("the demo admin's login asked for a second factor although its code was given");
    };
    if let Err(e) = SessionStore::for_database(cfg, url).and_then(|store| store.save(&s.token)) {
        tracing::warn!(error = %e, "cannot keep the demo session token");
    }
    Ok((s.actor, s.token))
}
