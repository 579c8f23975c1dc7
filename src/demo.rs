//! `painel demo` and opening the TUI.

use std::path::Path;

use anyhow::{bail, Context, Result};
use backend::{Actor, Db};

use crate::config::Config;

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

pub async fn open_tui(cfg: &Config, db: &Db, actor: Actor, route: Option<String>) -> Result<()> {
    let theme = load_theme(cfg)?;
    ui::run(
        db.clone(),
        actor,
        ui::UiOptions {
            theme,
            backend_label: db.backend().as_str().to_owned(),
            start_route: route,
        },
    )
    .await
}

/// Seeds a fresh database and opens the TUI on it. Without `--database-url` the database is
/// `demo.sqlite` in the data dir, recreated on every run so the demo always starts clean.
pub async fn run(cfg: &Config, explicit_url: Option<&str>, seed_only: bool) -> Result<()> {
    let url = match explicit_url {
        Some(u) => u.to_owned(),
        None => {
            std::fs::create_dir_all(&cfg.data_dir)
                .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
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
    let report = backend::seed::demo(&db).await?;
    tracing::info!(?report, "demo data seeded");
    if seed_only {
        eprintln!("demo data seeded into {}", crate::config::mask_url(&url));
        println!("{}", serde_json::to_string_pretty(&report)?);
        db.close().await;
        return Ok(());
    }
    let result = open_tui(cfg, &db, Actor::local_operator(), None).await;
    db.close().await;
    result
}
