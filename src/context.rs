//! Contexts, like kubectl's: named databases in `<config dir>/contexts.toml` (0600: a URL may
//! carry a password), one of them selected. The selected context's database is used by every
//! verb unless `--database-url` or `PAINEL_DATABASE_URL` says otherwise (docs/adr/0017).
//! URLs are never printed unmasked: lists and the status bar show [`describe`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use backend::ServiceError;
use serde::{Deserialize, Serialize};

use crate::cli::ContextCmd;
use crate::config::Config;
use crate::output::{Printer, Record};

/// The context `painel demo` creates and selects.
pub const DEMO: &str = "demo";

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contexts {
    /// The selected context's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub database_url: String,
}

/// `contexts.toml` next to the config file.
pub fn file_for(config_file: &Path) -> PathBuf {
    config_file
        .parent()
        .map(|d| d.join("contexts.toml"))
        .unwrap_or_else(|| PathBuf::from("contexts.toml"))
}

impl Contexts {
    /// The contexts in `path`; none when the file does not exist.
    pub fn load(path: &Path) -> Result<Contexts> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("invalid contexts file {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contexts::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the file as 0600 (created so, never widened), through a rename.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            crate::config::private_dir(dir)?;
        }
        let text = toml::to_string(self)?;
        let tmp = path.with_extension("toml.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }

    /// The selected context's name and URL, if one is selected and exists.
    pub fn selected(&self) -> Option<(&str, &str)> {
        let name = self.current.as_deref()?;
        self.contexts.get(name).map(|e| (name, e.database_url.as_str()))
    }
}

/// Where a database URL points, for people: the file of a SQLite URL, `host:port/db` of a
/// PostgreSQL one — never a user's password.
pub fn describe(url: &str) -> String {
    backend::db::describe_url(url)
}

fn check_name(name: &str) -> Result<(), ServiceError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "name",
            "must be 1–64 letters, digits, '-', '_' or '.'",
        ))
    }
}

/// Adds (or replaces) `name` and selects it: what `painel demo` does for its database.
pub fn remember_and_select(cfg: &Config, name: &str, url: &str) -> Result<()> {
    let path = file_for(&cfg.config_file);
    let mut all = Contexts::load(&path)?;
    all.contexts.insert(
        name.to_owned(),
        Entry {
            database_url: url.to_owned(),
        },
    );
    all.current = Some(name.to_owned());
    all.save(&path)
}

/// One context as `context list|show` print it.
#[derive(Serialize)]
struct Row {
    name: String,
    current: bool,
    /// The URL with its password masked.
    database_url: String,
    /// File or host, as the status bar shows it.
    database: String,
}

impl Record for Row {
    fn columns() -> &'static [&'static str] {
        &["current", "name", "database", "database_url"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            if self.current { "*".into() } else { String::new() },
            self.name.clone(),
            self.database.clone(),
            self.database_url.clone(),
        ]
    }
}

fn row(all: &Contexts, name: &str, e: &Entry) -> Row {
    Row {
        name: name.to_owned(),
        current: all.current.as_deref() == Some(name),
        database_url: crate::config::mask_url(&e.database_url),
        database: describe(&e.database_url),
    }
}

pub fn run(cfg: &Config, cmd: ContextCmd, out: &mut Printer) -> Result<()> {
    let path = file_for(&cfg.config_file);
    let mut all = Contexts::load(&path)?;
    match cmd {
        ContextCmd::List => {
            let rows: Vec<Row> = all.contexts.iter().map(|(n, e)| row(&all, n, e)).collect();
            out.list(&rows)
        }
        ContextCmd::Show { name } => {
            let name = match name.or_else(|| all.current.clone()) {
                Some(n) => n,
                None => {
                    // No context: say what this run uses instead.
                    return out.one(&Row {
                        name: "(none)".into(),
                        current: true,
                        database_url: crate::config::mask_url(&cfg.database_url),
                        database: describe(&cfg.database_url),
                    });
                }
            };
            let e = all
                .contexts
                .get(&name)
                .ok_or_else(|| ServiceError::not_found("context", name.clone()))?;
            out.one(&row(&all, &name, e))
        }
        ContextCmd::Use { name } => {
            if !all.contexts.contains_key(&name) {
                let known: Vec<&str> = all.contexts.keys().map(String::as_str).collect();
                return Err(ServiceError::not_found(
                    "context",
                    format!(
                        "{name} (known: {})",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
                .into());
            }
            all.current = Some(name.clone());
            all.save(&path)?;
            if std::env::var("PAINEL_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
                eprintln!("note: PAINEL_DATABASE_URL is set and wins over the context");
            }
            let e = &all.contexts[&name];
            out.one(&row(&all, &name, e))
        }
        ContextCmd::Add { name, url } => {
            check_name(&name)?;
            if url.trim().is_empty() {
                bail!(ServiceError::invalid("url", "must be a sqlite:// or postgres:// URL"));
            }
            all.contexts.insert(
                name.clone(),
                Entry {
                    database_url: url.trim().to_owned(),
                },
            );
            all.save(&path)?;
            out.one(&row(&all, &name, &all.contexts[&name]))
        }
        ContextCmd::Remove { name } => {
            let e = all
                .contexts
                .remove(&name)
                .ok_or_else(|| ServiceError::not_found("context", name.clone()))?;
            if all.current.as_deref() == Some(name.as_str()) {
                all.current = None;
            }
            all.save(&path)?;
            let mut r = row(&all, &name, &e);
            r.current = false;
            out.one(&r)
        }
    }
}
