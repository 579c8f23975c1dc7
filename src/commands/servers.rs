//! `painel servers list|show|create|update|remove|test|metrics` (docs/adr/0020). The token is
//! read from a file or standard input (never an argument: argv is visible to every user of
//! the machine) and never printed; `test` enqueues the connection test and waits for a
//! worker's answer.

use std::time::Duration;

use anyhow::{Context, Result};
use backend::hosting::jobs as hjobs;
use backend::hosting::metrics::{self, Point};
use backend::hosting::servers::{self, NewServer, Server, ServerPatch, ServerQuery, ServiceCount};
use backend::sensitive::Proof;
use backend::{Actor, Db, ServiceError};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::auth;
use crate::config::Config;
use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum ServersCmd {
    /// List servers (with --all, every one; a fleet is one page).
    List {
        /// Case-insensitive text found in name, hostname or region.
        #[arg(long)]
        filter: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        region: Option<String>,
        /// Accepted for habit's sake: servers always list whole.
        #[arg(long)]
        all: bool,
    },
    /// One server with its latest metrics, capacity and services.
    Show { key: String },
    /// Add a server. The API token comes from --token-file (`-`: standard input).
    Create(ServerCreateArgs),
    /// Change a server's details, token, TLS policy, limits or maintenance status.
    Update(ServerUpdateArgs),
    /// Remove a server (sensitive: type its name with --confirm; refused while it hosts
    /// active, suspended or provisioning services).
    Remove {
        key: String,
        #[arg(long)]
        confirm: String,
        /// A current 2FA code (needed unless one was given in the last 5 minutes).
        #[arg(long)]
        totp: Option<String>,
    },
    /// Test the connection (WHM `version`) through a job, and wait for the answer.
    Test {
        key: String,
        /// How long to wait for a worker to answer.
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
    },
    /// A server's metric points (raw for 48 h, hourly before).
    Metrics {
        key: String,
        /// RFC 3339 time, date or age (24h, 7d). Default: 24h.
        #[arg(long, default_value = "24h")]
        since: String,
    },
}

#[derive(Args, Debug)]
pub struct ServerCreateArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub hostname: String,
    #[arg(long)]
    pub ip: String,
    #[arg(long)]
    pub region: String,
    /// whm, cpanel, xui, xtream, dns, mail or other.
    #[arg(long, default_value = "whm")]
    pub kind: String,
    /// https://host:2087 (http only for loopback test servers).
    #[arg(long, default_value = "")]
    pub whm_url: String,
    #[arg(long, default_value = "root")]
    pub api_user: String,
    /// A file holding the API token; `-` reads standard input.
    #[arg(long)]
    pub token_file: Option<String>,
    /// verify, pin:<sha256 fingerprint> or trust (audited).
    #[arg(long, default_value = "verify")]
    pub tls: String,
    /// A number or "unlimited".
    #[arg(long, default_value = "unlimited")]
    pub max_accounts: String,
    #[arg(long, default_value_t = 0)]
    pub disk_total_gb: i64,
}

#[derive(Args, Debug)]
pub struct ServerUpdateArgs {
    pub key: String,
    #[arg(long)]
    pub hostname: Option<String>,
    #[arg(long)]
    pub ip: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub whm_url: Option<String>,
    #[arg(long)]
    pub api_user: Option<String>,
    /// Replace the token with the one in this file; `-` reads standard input.
    #[arg(long)]
    pub token_file: Option<String>,
    #[arg(long)]
    pub tls: Option<String>,
    #[arg(long)]
    pub max_accounts: Option<String>,
    #[arg(long)]
    pub disk_total_gb: Option<i64>,
    /// online or maintenance.
    #[arg(long)]
    pub status: Option<String>,
}

fn read_token(path: &str) -> Result<String> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the token from standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
    };
    Ok(text.trim().to_owned())
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_ts(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(ts).unwrap_or_default()
}

fn pct(used: i64, total: Option<i64>) -> String {
    match total {
        Some(t) if t > 0 => format!("{}%", used * 100 / t),
        _ => String::new(),
    }
}

/// A server as batch mode prints it: the token only as set / not set.
#[derive(Serialize)]
pub struct ServerRow<'a>(pub &'a Server);

impl Record for ServerRow<'_> {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "name",
            "region",
            "kind",
            "status",
            "accounts",
            "max_accounts",
            "disk_gb",
            "disk_total_gb",
            "tls",
            "token",
            "last_error",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let s = self.0;
        vec![
            backend::ids::short(s.id),
            s.name.clone(),
            s.region.clone(),
            s.kind.clone(),
            s.status.clone(),
            s.accounts_count.to_string(),
            s.max_accounts
                .map(|m| m.to_string())
                .unwrap_or_else(|| "unlimited".into()),
            s.disk_used_gb.to_string(),
            s.disk_total_gb.to_string(),
            s.tls_mode.clone(),
            if s.token_set { "set" } else { "not set" }.into(),
            s.last_error.clone().unwrap_or_default(),
        ]
    }
    fn csv_cells(&self) -> Vec<String> {
        let mut c = self.cells();
        c[0] = self.0.id.to_string();
        if self.0.max_accounts.is_none() {
            c[6] = String::new();
        }
        c
    }
}

/// `servers show`: the row, its latest point, capacity and services per status.
#[derive(Serialize)]
pub struct ServerDetail {
    #[serde(flatten)]
    pub server: Server,
    pub tls: String,
    pub latest: Option<Point>,
    pub accounts_pct: Option<i64>,
    pub disk_pct: Option<i64>,
    pub services: Vec<ServiceCount>,
}

impl Record for ServerDetail {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "name",
            "hostname",
            "ip",
            "region",
            "kind",
            "whm_url",
            "api_user",
            "token",
            "tls",
            "status",
            "accounts",
            "disk",
            "load",
            "last_checked_at",
            "last_error",
            "whm_version",
            "last_test_at",
            "last_test_error",
            "services",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let s = &self.server;
        let load = self
            .latest
            .as_ref()
            .map(|p| {
                format!(
                    "{:.2} {:.2} {:.2} at {}",
                    p.load_1.unwrap_or(0.0),
                    p.load_5.unwrap_or(0.0),
                    p.load_15.unwrap_or(0.0),
                    ts(&p.at)
                )
            })
            .unwrap_or_default();
        vec![
            s.id.to_string(),
            s.name.clone(),
            s.hostname.clone(),
            s.ip.clone(),
            s.region.clone(),
            s.kind.clone(),
            s.whm_url.clone().unwrap_or_default(),
            s.api_user.clone().unwrap_or_default(),
            if s.token_set { "set" } else { "not set" }.into(),
            self.tls.clone(),
            s.status.clone(),
            format!(
                "{} / {} {}",
                s.accounts_count,
                s.max_accounts
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "unlimited".into()),
                pct(s.accounts_count, s.max_accounts)
            ),
            format!(
                "{} / {} GB {}",
                s.disk_used_gb,
                s.disk_total_gb,
                pct(s.disk_used_gb, Some(s.disk_total_gb))
            ),
            load,
            opt_ts(&s.last_checked_at),
            s.last_error.clone().unwrap_or_default(),
            s.whm_version.clone().unwrap_or_default(),
            opt_ts(&s.last_test_at),
            s.last_test_error.clone().unwrap_or_default(),
            self.services
                .iter()
                .map(|c| format!("{} {}", c.n, c.status))
                .collect::<Vec<_>>()
                .join(", "),
        ]
    }
}

#[derive(Serialize)]
struct PointRow<'a>(&'a Point);

impl Record for PointRow<'_> {
    fn columns() -> &'static [&'static str] {
        &[
            "at",
            "resolution",
            "status",
            "load_1",
            "load_5",
            "load_15",
            "disk_used_gb",
            "accounts",
            "bandwidth_mb",
            "latency_ms",
            "samples",
            "error",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let p = self.0;
        let f = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_default();
        let i = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        vec![
            ts(&p.at),
            p.resolution.clone(),
            p.status.clone(),
            f(p.load_1),
            f(p.load_5),
            f(p.load_15),
            i(p.disk_used_gb),
            i(p.accounts_count),
            i(p.bandwidth_mb),
            i(p.latency_ms),
            p.samples.to_string(),
            p.error.clone().unwrap_or_default(),
        ]
    }
}

/// What `servers test` answers.
#[derive(Serialize)]
struct TestOutcome {
    server: String,
    job_id: String,
    ok: bool,
    version: Option<String>,
    error: Option<String>,
    tested_at: Option<DateTime<Utc>>,
}

impl Record for TestOutcome {
    fn columns() -> &'static [&'static str] {
        &["server", "job", "ok", "version", "error", "tested_at"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.server.clone(),
            self.job_id.clone(),
            if self.ok { "yes" } else { "no" }.into(),
            self.version.clone().unwrap_or_default(),
            self.error.clone().unwrap_or_default(),
            opt_ts(&self.tested_at),
        ]
    }
}

async fn keys_for_token(cfg: &Config, db: &Db, token: &Option<String>) -> Result<Option<backend::secrets::Keys>> {
    match token {
        Some(_) => Ok(Some(auth::load_keys(cfg, db).await?)),
        None => Ok(None),
    }
}

pub async fn detail(db: &Db, actor: &Actor, key: &str) -> Result<ServerDetail, ServiceError> {
    let server = servers::get(db, actor, key).await?;
    let latest = metrics::latest(db, actor, server.id).await?;
    let services = servers::service_counts(db, actor, server.id).await?;
    let accounts_pct = server
        .max_accounts
        .filter(|m| *m > 0)
        .map(|m| server.accounts_count * 100 / m);
    let disk_pct = (server.disk_total_gb > 0).then(|| server.disk_used_gb * 100 / server.disk_total_gb);
    Ok(ServerDetail {
        tls: server.tls().describe(),
        server,
        latest,
        accounts_pct,
        disk_pct,
        services,
    })
}

pub async fn run(cfg: &Config, db: &Db, actor: &Actor, cmd: ServersCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        ServersCmd::List {
            filter,
            status,
            region,
            all: _,
        } => {
            let rows = servers::list(db, actor, &ServerQuery { filter, status, region }).await?;
            out.list(&rows.iter().map(ServerRow).collect::<Vec<_>>())
        }
        ServersCmd::Show { key } => out.one(&detail(db, actor, &key).await?),
        ServersCmd::Create(a) => {
            let token = a.token_file.as_deref().map(read_token).transpose()?;
            let keys = keys_for_token(cfg, db, &token).await?;
            let max_accounts = backend::validate::parse_limit(&a.max_accounts)
                .map_err(|m| ServiceError::invalid("max_accounts", m))?;
            let s = servers::create(
                db,
                actor,
                keys.as_ref(),
                NewServer {
                    name: a.name,
                    hostname: a.hostname,
                    ip: a.ip,
                    region: a.region,
                    kind: a.kind,
                    whm_url: a.whm_url,
                    api_user: a.api_user,
                    api_token: token.unwrap_or_default(),
                    tls: a.tls,
                    max_accounts,
                    disk_total_gb: a.disk_total_gb,
                },
            )
            .await?;
            out.one(&ServerRow(&s))
        }
        ServersCmd::Update(a) => {
            let token = a.token_file.as_deref().map(read_token).transpose()?;
            let keys = keys_for_token(cfg, db, &token).await?;
            let max_accounts = a
                .max_accounts
                .as_deref()
                .map(backend::validate::parse_limit)
                .transpose()
                .map_err(|m| ServiceError::invalid("max_accounts", m))?;
            let patch = ServerPatch {
                hostname: a.hostname,
                ip: a.ip,
                region: a.region,
                whm_url: a.whm_url,
                api_user: a.api_user,
                api_token: token,
                tls: a.tls,
                max_accounts,
                disk_total_gb: a.disk_total_gb,
                status: a.status,
            };
            let s = servers::update(db, actor, keys.as_ref(), &a.key, patch).await?;
            out.one(&ServerRow(&s))
        }
        ServersCmd::Remove { key, confirm, totp } => {
            let keys = auth::step_up_keys(cfg, db, totp.as_deref()).await?;
            let proof = Proof::confirm(&confirm).with_step_up(totp.as_deref(), keys.as_ref());
            let s = servers::remove(db, actor, &key, &proof).await?;
            out.one(&ServerRow(&s))
        }
        ServersCmd::Test { key, wait_secs } => test(db, actor, &key, Duration::from_secs(wait_secs), out).await,
        ServersCmd::Metrics { key, since } => {
            let now = backend::db::now();
            let since =
                backend::audit::filter::parse_time(&since, now).map_err(|m| ServiceError::invalid("since", m))?;
            let s = servers::get(db, actor, &key).await?;
            let pts = metrics::points(db, actor, s.id, since).await?;
            out.list(&pts.iter().map(PointRow).collect::<Vec<_>>())
        }
    }
}

const FINISHED: [&str; 3] = ["succeeded", "dead", "cancelled"];

/// Enqueues the test and polls the job until a worker has finished it or `wait` passes.
async fn test(db: &Db, actor: &Actor, key: &str, wait: Duration, out: &mut Printer) -> Result<()> {
    let (server, job) = hjobs::request_test(db, actor, key).await?;
    let short = backend::ids::short(job.id);
    eprintln!("test of {} queued as job {short}; waiting for a worker…", server.name);
    let deadline = tokio::time::Instant::now() + wait;
    let job = loop {
        let j = backend::jobs::admin::get(db, actor, &job.id.to_string()).await?;
        if FINISHED.contains(&j.status.as_str()) || (j.status == "failed" && j.attempts >= j.max_attempts) {
            break j;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ServiceError::Unavailable(format!(
                "no answer within {}s: job {short} is still {} (is `painel worker` running?); \
                 see it with `painel jobs show {short}`",
                wait.as_secs(),
                j.status
            ))
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if job.status != "succeeded" {
        return Err(ServiceError::Unavailable(format!(
            "the test job {short} ended {}: {}",
            job.status,
            job.last_error.unwrap_or_default()
        ))
        .into());
    }
    let s = servers::get(db, actor, &server.id.to_string()).await?;
    let outcome = TestOutcome {
        server: s.name.clone(),
        job_id: job.id.to_string(),
        ok: s.last_test_error.is_none(),
        version: s.whm_version.clone().filter(|_| s.last_test_error.is_none()),
        error: s.last_test_error.clone(),
        tested_at: s.last_test_at,
    };
    out.one(&outcome)?;
    match outcome.error {
        Some(e) => Err(ServiceError::Unavailable(format!("connection test of {} failed: {e}", s.name)).into()),
        None => Ok(()),
    }
}
