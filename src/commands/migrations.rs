//! `painel migrations list|show|create|abort|retry|watch` (docs/adr/0030). The source's
//! password is read from a file or standard input (never an argument: argv is visible to
//! every user of the machine) and sealed by the service layer; nothing here talks to a WHM
//! server — `create`, `abort` and `retry` enqueue the step job, `watch` follows the row.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context, Result};
use backend::providers::whm::Secret;
use backend::transfers::{self, Credentials, ListFilter, LogLine, Migration, MigrationView, NewMigration};
use backend::{Actor, Db};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::auth;
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum MigrationsCmd {
    /// Migrations, newest first.
    List {
        /// queued, validating, running, success, failed or aborted.
        #[arg(long)]
        status: Option<String>,
        /// Only the ones not finished.
        #[arg(long)]
        active: bool,
        #[arg(long, default_value_t = 200)]
        limit: i64,
    },
    /// One migration; with --log, its log lines (of one --stage).
    Show {
        key: String,
        #[arg(long)]
        log: bool,
        /// credentials, session, email, databases, files, dns, ssl or finish.
        #[arg(long)]
        stage: Option<String>,
    },
    /// Move cPanel accounts from another server to one of ours (through a job).
    Create(CreateArgs),
    /// Stop a queued or running migration (the WHM session is aborted), or give up a failed one
    /// (its sealed credentials are wiped).
    Abort { key: String },
    /// Run a failed or aborted migration again. A failed one reuses its sealed credentials;
    /// an aborted one needs the password again (--password-file).
    Retry {
        key: String,
        #[arg(long)]
        password_file: Option<String>,
    },
    /// Follow a migration until it ends: a progress bar on a terminal, JSON Lines otherwise.
    Watch {
        key: String,
        /// How often to look, in milliseconds.
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
    },
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The tenant the migration is for (platform staff; a tenant's users get their own).
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long)]
    pub customer: Option<String>,
    /// The source server: hostname, IP, host:port or https://host:2087.
    #[arg(long)]
    pub source_host: String,
    /// The source's SSH port (root sessions).
    #[arg(long)]
    pub ssh_port: Option<u16>,
    /// root (every account of the source) or user (one cPanel account, its own password).
    #[arg(long, default_value = "root")]
    pub auth: String,
    /// The login on the source (root, a wheel user, or the cPanel user).
    #[arg(long, default_value = "root")]
    pub user: String,
    /// A file holding the source's password; `-` reads standard input.
    #[arg(long)]
    pub password_file: String,
    /// The accounts to move (repeat, or comma-separated).
    #[arg(long = "account", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// The destination WHM server (name or id).
    #[arg(long)]
    pub target: String,
}

fn read_secret(path: &str) -> Result<Secret> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the password from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
    };
    Ok(Secret::new(text.trim_end_matches(['\r', '\n'])))
}

fn ts(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A migration as batch mode prints it (the row, its accounts and stage progress).
#[derive(Serialize)]
pub struct Row(pub MigrationView);

impl Record for Row {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "tenant",
            "source",
            "accounts",
            "target",
            "status",
            "stage",
            "progress",
            "stages",
            "attempts",
            "error",
            "created_at",
            "finished_at",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let v = &self.0;
        let m = &v.migration;
        vec![
            m.short_id(),
            m.tenant_slug.clone(),
            m.source_host.clone(),
            v.accounts.join(","),
            m.server_name.clone(),
            m.status.clone(),
            m.stage.clone().unwrap_or_default(),
            format!("{}%", m.progress),
            v.stages
                .iter()
                .map(|s| format!("{}:{}", s.stage, s.percent))
                .collect::<Vec<_>>()
                .join(" "),
            m.attempts.to_string(),
            m.error.clone().unwrap_or_default(),
            ts(&Some(m.created_at)),
            ts(&m.finished_at),
        ]
    }
    fn csv_cells(&self) -> Vec<String> {
        let mut c = self.cells();
        c[0] = self.0.migration.id.to_string();
        c
    }
}

#[derive(Serialize)]
struct Line(LogLine);

impl Record for Line {
    fn columns() -> &'static [&'static str] {
        &["seq", "at", "stage", "level", "message"]
    }
    fn cells(&self) -> Vec<String> {
        let l = &self.0;
        vec![
            l.seq.to_string(),
            ts(&Some(l.at)),
            l.stage.clone(),
            l.level.clone(),
            l.message.clone(),
        ]
    }
}

fn view(m: Migration) -> Row {
    Row(MigrationView::from(m))
}

pub async fn run(cfg: &Config, db: &Db, actor: &Actor, cmd: MigrationsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        MigrationsCmd::List { status, active, limit } => {
            let f = ListFilter {
                status,
                active,
                limit: Some(limit),
            };
            let rows: Vec<Row> = transfers::list(db, actor, &f).await?.into_iter().map(view).collect();
            out.list(&rows)
        }
        MigrationsCmd::Show { key, log, stage } => {
            let m = transfers::get(db, actor, &key).await?;
            if log || stage.is_some() {
                let lines = transfers::logs(db, actor, m.id, stage.as_deref(), None, 100_000).await?;
                return out.list(&lines.into_iter().map(Line).collect::<Vec<_>>());
            }
            out.one(&view(m))
        }
        MigrationsCmd::Create(a) => {
            let password = read_secret(&a.password_file)?;
            let keys = auth::load_keys(cfg, db).await?;
            let input = NewMigration {
                tenant: a.tenant,
                customer: a.customer,
                source_host: a.source_host,
                ssh_port: a.ssh_port,
                credentials: Credentials {
                    kind: a.auth,
                    user: a.user,
                    password,
                },
                accounts: a.accounts,
                target: a.target,
            };
            let (m, _job) = transfers::create(db, actor, Some(&keys), input).await?;
            out.one(&view(m))
        }
        MigrationsCmd::Abort { key } => out.one(&view(transfers::abort(db, actor, &key).await?.0)),
        MigrationsCmd::Retry { key, password_file } => {
            let password = match password_file {
                Some(f) => read_secret(&f)?,
                None => Secret::new(""),
            };
            let keys = auth::load_keys(cfg, db).await?;
            out.one(&view(transfers::retry(db, actor, Some(&keys), &key, password).await?.0))
        }
        MigrationsCmd::Watch { key, interval_ms } => watch(db, actor, &key, interval_ms, out).await,
    }
}

/// One line of `watch` in JSON Lines: the migration's state, and the log lines since the
/// previous one.
#[derive(Serialize)]
struct Tick {
    #[serde(flatten)]
    migration: MigrationView,
    log: Vec<LogLine>,
}

impl Record for Tick {
    fn columns() -> &'static [&'static str] {
        &["id", "status", "stage", "progress"]
    }
    fn cells(&self) -> Vec<String> {
        let m = &self.migration.migration;
        vec![
            m.short_id(),
            m.status.clone(),
            m.stage.clone().unwrap_or_default(),
            m.progress.to_string(),
        ]
    }
}

/// A text progress bar `[#####-----]` of `width` cells.
pub fn bar(pct: i64, width: usize) -> String {
    let filled = usize::try_from(pct.clamp(0, 100)).unwrap_or(0) * width / 100;
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

async fn watch(db: &Db, actor: &Actor, key: &str, interval_ms: u64, out: &mut Printer) -> Result<()> {
    let first = transfers::get(db, actor, key).await?;
    let id = first.id;
    let tty = std::io::stdout().is_terminal() && out.format == OutputFormat::Table;
    let mut after = 0i64;
    let mut last_state = String::new();
    let every = Duration::from_millis(interval_ms.clamp(50, 60_000));
    loop {
        let m = transfers::get(db, actor, &id.to_string()).await?;
        let lines = transfers::logs(db, actor, id, None, Some(after), 100_000).await?;
        if let Some(l) = lines.last() {
            after = l.seq;
        }
        let finished = m.is_finished();
        if tty {
            let mut o = std::io::stdout().lock();
            for l in &lines {
                // Stored text is hostile: the log comes from the source server.
                writeln!(
                    o,
                    "\r\x1b[2K{} {:<11} {}",
                    l.level,
                    l.stage,
                    widgets::text::sanitize(&l.message)
                )?;
            }
            let stages: String = m
                .stages()
                .iter()
                .map(|(s, p)| format!("{s} {p}%"))
                .collect::<Vec<_>>()
                .join("  ");
            write!(
                o,
                "\r\x1b[2K{} {} {:>3}% {} {}",
                m.short_id(),
                bar(m.progress, 30),
                m.progress,
                m.status,
                stages
            )?;
            if finished {
                writeln!(o)?;
            }
            o.flush()?;
        } else {
            let state = format!("{}|{:?}|{}|{}", m.status, m.stage, m.progress, m.stage_progress);
            if state != last_state || !lines.is_empty() {
                last_state = state;
                out.stream(&Tick {
                    migration: MigrationView::from(m.clone()),
                    log: lines,
                })?;
            }
        }
        if finished {
            if m.status == "success" {
                return Ok(());
            }
            return Err(anyhow::anyhow!(
                "migration {} ended {}{}",
                m.short_id(),
                m.status,
                m.error.map(|e| format!(": {e}")).unwrap_or_default()
            ));
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars() {
        assert_eq!(super::bar(0, 10), "[----------]");
        assert_eq!(super::bar(55, 10), "[#####-----]");
        assert_eq!(super::bar(140, 4), "[####]");
    }
}
