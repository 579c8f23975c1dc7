//! `painel sandbox`: the provider simulators alone, for manual trials, and their faults set
//! from the command line through a running sandbox's control API (docs/adr/0018).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use sandbox::{FaultEntry, FaultRequest, Package, Sandbox, ServerInfo, WhmInit};
use serde::{Deserialize, Serialize};

use crate::cli::OutputFormat;
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum SandboxCmd {
    /// Run the simulators on loopback until Ctrl-C, printing each server's URL, token and
    /// certificate fingerprint and the control URL.
    Run {
        /// Seed of every fault decision and simulated figure (the same seed replays a run).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Names of the simulated WHM servers.
        #[arg(long, value_delimiter = ',', default_value = "whm-gru-01,whm-fra-01")]
        servers: Vec<String>,
        /// Serve plain HTTP instead of HTTPS.
        #[arg(long)]
        http: bool,
    },
    /// Set a fault on a running sandbox, e.g. `fault whm-gru-01 createacct timeout --rate 0.3`.
    Fault(FaultArgs),
    /// List or clear a running sandbox's faults.
    #[command(subcommand)]
    Faults(FaultsCmd),
    /// What a site of a running sandbox serves on its server's sites port, e.g.
    /// `cert whm-gru-01 loja.com.br issued --days 5` (also self-signed, hostname, none).
    Cert(CertArgs),
    /// A simulated server's state (accounts, packages, disk, calls) as JSON.
    State {
        server: String,
        #[arg(long)]
        control: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct FaultArgs {
    /// Server name, e.g. whm-gru-01.
    pub server: String,
    /// WHM function (createacct, listaccts, …) or * for every one.
    pub operation: String,
    /// envelope, 5xx, 429, malformed, truncated, latency, timeout, drop or lost.
    pub kind: String,
    /// Share of calls that fail, 0..1.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Milliseconds of latency.
    #[arg(long)]
    pub ms: Option<u64>,
    /// HTTP status of a 5xx fault.
    #[arg(long)]
    pub status: Option<u16>,
    /// Reason of an envelope fault.
    #[arg(long)]
    pub reason: Option<String>,
    /// Retry-After seconds of a 429 fault.
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// Fire at most this many times.
    #[arg(long)]
    pub times: Option<u32>,
    /// Control URL of the sandbox (default: the one `painel sandbox run` recorded).
    #[arg(long)]
    pub control: Option<String>,
}

#[derive(Args, Debug)]
pub struct CertArgs {
    /// Server name, e.g. whm-gru-01.
    pub server: String,
    pub domain: String,
    /// issued (by the sandbox AutoSSL CA), self-signed, hostname (the server's own: a name
    /// mismatch) or none (no certificate: the handshake fails).
    pub kind: String,
    /// Days left (issued, self-signed; negative = expired days ago). Default 90.
    #[arg(long, allow_hyphen_values = true)]
    pub days: Option<i64>,
    /// Control URL of the sandbox (default: the one `painel sandbox run` recorded).
    #[arg(long)]
    pub control: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum FaultsCmd {
    List {
        #[arg(long)]
        control: Option<String>,
    },
    /// Clear every fault (or one server's).
    Clear {
        #[arg(long)]
        server: Option<String>,
        #[arg(long)]
        control: Option<String>,
    },
}

/// What `run` records in the data dir (0600) so later commands find the running sandbox.
#[derive(Debug, Serialize, Deserialize)]
pub struct Running {
    pub pid: u32,
    pub seed: u64,
    pub control_url: String,
    pub cert_sha256: String,
    pub servers: Vec<ServerInfo>,
}

pub fn record_path(cfg: &Config) -> PathBuf {
    cfg.data_dir.join("sandbox.json")
}

/// The packages a manual sandbox starts with, so createacct has plans to name.
pub fn standard_packages() -> Vec<Package> {
    vec![
        Package::new("basic_1gb", Some(1024), Some(10_240)),
        Package::new("plus_10gb", Some(10_240), Some(102_400)),
        Package::new("pro_50gb", Some(51_200), None),
    ]
}

pub async fn run(cfg: &Config, cmd: SandboxCmd, format: OutputFormat) -> Result<()> {
    match cmd {
        SandboxCmd::Run { seed, servers, http } => serve(cfg, seed, &servers, http, format).await,
        SandboxCmd::Fault(a) => {
            let req = FaultRequest {
                server: a.server,
                operation: a.operation,
                kind: a.kind,
                rate: Some(a.rate),
                ms: a.ms,
                status: a.status,
                reason: a.reason,
                retry_after: a.retry_after,
                times: a.times,
            };
            let url = control_url(cfg, a.control)?;
            let r = client()?.post(format!("{url}/faults")).json(&req).send().await;
            let list: Vec<FaultEntry> = answer(r, &url).await?.json().await?;
            print_faults(&list, format)
        }
        SandboxCmd::Faults(FaultsCmd::List { control }) => {
            let url = control_url(cfg, control)?;
            let r = client()?.get(format!("{url}/faults")).send().await;
            let list: Vec<FaultEntry> = answer(r, &url).await?.json().await?;
            print_faults(&list, format)
        }
        SandboxCmd::Faults(FaultsCmd::Clear { server, control }) => {
            let url = control_url(cfg, control)?;
            let target = match &server {
                Some(s) => format!("{url}/faults/{s}"),
                None => format!("{url}/faults"),
            };
            answer(client()?.delete(target).send().await, &url).await?;
            eprintln!("faults cleared");
            Ok(())
        }
        SandboxCmd::Cert(a) => {
            let req = sandbox::whm::autossl::CertRequest {
                domain: a.domain,
                kind: a.kind,
                days_left: a.days,
            };
            let url = control_url(cfg, a.control)?;
            let r = client()?
                .post(format!("{url}/servers/{}/certs", a.server))
                .json(&req)
                .send()
                .await;
            let sites: serde_json::Value = answer(r, &url).await?.json().await?;
            if format.is_json() {
                println!("{}", serde_json::to_string(&sites)?);
            } else {
                for s in sites.as_array().into_iter().flatten() {
                    let domain = s["domain"].as_str().unwrap_or_default();
                    let kind = s["cert"]["kind"].as_str().unwrap_or_default();
                    let until = s["cert"]["not_after"]
                        .as_i64()
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                        .map(|t| format!(" until {}", t.format("%Y-%m-%d")))
                        .unwrap_or_default();
                    println!("{}  {kind}{until}", crate::output::clean(domain));
                }
            }
            Ok(())
        }
        SandboxCmd::State { server, control } => {
            let url = control_url(cfg, control)?;
            let r = client()?.get(format!("{url}/servers/{server}/state")).send().await;
            let v: serde_json::Value = answer(r, &url).await?.json().await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}

/// Starts the simulators (each named server with a token derived from the seed and the
/// standard packages).
pub async fn start(seed: u64, servers: &[String], http: bool) -> Result<Sandbox> {
    let mut b = Sandbox::builder().seed(seed).plain_http(http);
    for name in servers {
        let mut init = WhmInit::new("root", &sandbox::token_for(seed, name));
        init.packages = standard_packages();
        b = b.whm(name, init);
    }
    Ok(b.start().await?)
}

async fn serve(cfg: &Config, seed: u64, servers: &[String], http: bool, format: OutputFormat) -> Result<()> {
    if servers.is_empty() {
        bail!("no servers named (--servers whm-gru-01,whm-fra-01)");
    }
    let sb = start(seed, servers, http).await?;
    let record = Record::write(cfg, &sb)?;
    if format.is_json() {
        println!("{}", serde_json::to_string(&record.running)?);
    } else {
        let scheme = if http { "plain HTTP" } else { "HTTPS" };
        print_human(&record.running, scheme, &record.path);
        println!("Ctrl-C stops");
    }
    std::io::stdout().flush()?;
    wait_for_signal().await?;
    drop(record);
    drop(sb);
    Ok(())
}

/// The lines a person reads: where each server listens and its credentials.
pub fn print_human(r: &Running, scheme: &str, path: &Path) {
    println!(
        "sandbox seed {}, {scheme}; certificate sha256 {}",
        r.seed, r.cert_sha256
    );
    println!("control   {}", r.control_url);
    for s in &r.servers {
        println!("{:<15}{}  user {}  token {}", s.name, s.url, s.api_user, s.token);
    }
    println!("recorded in {} (painel sandbox fault … uses it)", path.display());
}

/// `sandbox.json` in the data dir while a sandbox runs (0600: it holds the tokens); removed
/// when dropped unless another sandbox has replaced it since.
pub struct Record {
    pub running: Running,
    pub path: PathBuf,
}

impl Record {
    pub fn write(cfg: &Config, sb: &Sandbox) -> Result<Record> {
        let running = Running {
            pid: std::process::id(),
            seed: sb.seed(),
            control_url: sb.control_url(),
            cert_sha256: sb.cert_sha256_hex(),
            servers: sb.servers(),
        };
        let path = record_path(cfg);
        write_private(&path, &serde_json::to_vec_pretty(&running)?)?;
        Ok(Record { running, path })
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read(&self.path) {
            if serde_json::from_slice::<Running>(&text).is_ok_and(|r| r.control_url == self.running.control_url) {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

pub async fn wait_for_signal() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        crate::config::private_dir(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// `--control`, else the URL the running sandbox recorded. Only loopback: the control API is
/// a local tool and this must never send anything elsewhere.
fn control_url(cfg: &Config, flag: Option<String>) -> Result<String> {
    let url = match flag {
        Some(u) => u,
        None => {
            let path = record_path(cfg);
            let text = std::fs::read(&path).with_context(|| {
                format!(
                    "no running sandbox recorded in {} (start one with `painel sandbox run`, or pass --control URL)",
                    path.display()
                )
            })?;
            serde_json::from_slice::<Running>(&text)
                .with_context(|| format!("{} is not a sandbox record", path.display()))?
                .control_url
        }
    };
    let url = url.trim_end_matches('/').to_owned();
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if !loopback.iter().any(|p| url.starts_with(p)) {
        bail!("the control URL must be http:// on loopback, not {url}");
    }
    Ok(url)
}

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .no_proxy()
        .build()?)
}

async fn answer(r: reqwest::Result<reqwest::Response>, url: &str) -> Result<reqwest::Response> {
    let r = r.with_context(|| format!("no sandbox answers at {url} (is `painel sandbox run` running?)"))?;
    if r.status().is_success() {
        return Ok(r);
    }
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    let msg = body["error"].as_str().unwrap_or("no detail").to_owned();
    bail!("sandbox refused ({status}): {msg}")
}

fn print_faults(list: &[FaultEntry], format: OutputFormat) -> Result<()> {
    if format.is_json() {
        println!("{}", serde_json::to_string_pretty(list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no faults");
    }
    for f in list {
        let kind = serde_json::to_value(&f.spec.kind)?;
        let detail: Vec<String> = kind
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "kind")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect()
            })
            .unwrap_or_default();
        let times = f.spec.times.map(|t| format!(" times={t}")).unwrap_or_default();
        println!(
            "{:<12} {:<16} {:<12} rate={} fired={}{times} {}",
            f.server,
            f.operation,
            kind["kind"].as_str().unwrap_or("?"),
            f.spec.rate,
            f.fired,
            detail.join(" ")
        );
    }
    Ok(())
}
