//! `painel dns …`: zones, records, nameserver verification and the failure feed through
//! the service layer (docs/adr/0031). A verb never calls Cloudflare: it commits the change
//! with its job; `dns verify` waits for the check a worker runs.

use std::time::Duration;

use anyhow::Result;
use backend::dns::failures::{self, Failure};
use backend::dns::provider::{self, ProviderInput, ProviderView};
use backend::dns::records::RecordInput;
use backend::dns::zones::{self, NewZone, Record as DnsRecord, RecordEdit, Zone};
use backend::{Actor, Db, ServiceError};
use chrono::SecondsFormat;
use clap::Subcommand;
use serde::Serialize;

use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum DnsCmd {
    /// DNS zones at Cloudflare.
    #[command(subcommand)]
    Zones(ZonesCmd),
    /// Records of a zone: add, edit, rm (validated per type; pushed by a job).
    #[command(subcommand)]
    Records(RecordsCmd),
    /// Resolve a pending domain's nameservers now and report.
    Verify {
        domain: String,
        /// How long to wait for a worker's check.
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
    },
    /// What needs a person: refused records, zones in error, stalled verifications.
    Failures {
        #[arg(long, default_value_t = 200)]
        limit: i64,
    },
    /// The Cloudflare account (platform): show, or set with the token read from a file.
    #[command(subcommand)]
    Provider(ProviderCmd),
}

#[derive(Subcommand, Debug)]
pub enum ZonesCmd {
    List {
        /// pending, active, error… (zone or domain status).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 500)]
        limit: i64,
    },
    /// One zone: the nameservers to give the customer, the verification, the records.
    Show { zone: String },
    /// A zone for a domain registered elsewhere (Registro.br): created at Cloudflare by a job.
    Create {
        name: String,
        /// Tenant slug (platform operators).
        #[arg(long)]
        tenant: Option<String>,
        /// registro_br (default), external or other.
        #[arg(long)]
        registrar: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RecordsCmd {
    /// Add a record: `painel dns records add loja.com.br A www 203.0.113.10`.
    Add {
        zone: String,
        #[arg(value_name = "TYPE")]
        record_type: String,
        /// `@`, a relative name or the FQDN.
        name: String,
        content: String,
        /// 1 = automatic, else 60–86400.
        #[arg(long)]
        ttl: Option<i64>,
        /// MX priority.
        #[arg(long)]
        priority: Option<i64>,
        #[arg(long)]
        proxied: bool,
    },
    /// Edit a record by id (the last 8 hex digits are enough): the fields given change.
    Edit {
        zone: String,
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        content: Option<String>,
        #[arg(long)]
        ttl: Option<i64>,
        #[arg(long)]
        priority: Option<i64>,
        #[arg(long)]
        proxied: Option<bool>,
    },
    /// Remove a record by id.
    Rm { zone: String, id: String },
}

#[derive(Subcommand, Debug)]
pub enum ProviderCmd {
    Show,
    /// Set the Cloudflare account; the API token is read from a file (never an argument).
    Set {
        #[arg(long, default_value = backend::providers::cloudflare::DEFAULT_BASE_URL)]
        api_url: String,
        #[arg(long)]
        account_id: String,
        /// File holding the API token (`-` = standard input).
        #[arg(long)]
        token_file: Option<String>,
        /// Resolvers NS verification asks (`ip` or `ip:port`), repeatable; none = the system's.
        #[arg(long = "resolver")]
        resolvers: Vec<String>,
        /// Seconds a domain may stay pending before it is reported stalled.
        #[arg(long)]
        stall_after: Option<i64>,
    },
}

fn ts(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

impl Record for Zone {
    fn columns() -> &'static [&'static str] {
        &[
            "zone",
            "tenant",
            "status",
            "verification",
            "nameservers",
            "records",
            "checked_at",
            "error",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.tenant_slug.clone(),
            self.status.clone(),
            self.verification().to_owned(),
            self.nameservers().join(" "),
            self.records.to_string(),
            ts(&self.ns_last_checked_at),
            self.last_error.clone().unwrap_or_default(),
        ]
    }
}

impl Record for DnsRecord {
    fn columns() -> &'static [&'static str] {
        &[
            "id", "type", "name", "content", "ttl", "priority", "proxied", "sync", "error",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            backend::ids::short(self.id),
            self.record_type.clone(),
            self.name.clone(),
            self.content.clone(),
            if self.ttl == 1 {
                "auto".into()
            } else {
                self.ttl.to_string()
            },
            self.priority.map(|p| p.to_string()).unwrap_or_default(),
            self.proxied.to_string(),
            self.sync_status.clone(),
            self.last_error.clone().unwrap_or_default(),
        ]
    }
}

impl Record for Failure {
    fn columns() -> &'static [&'static str] {
        &["source", "kind", "subject", "detail", "tenant", "since"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.source.clone(),
            self.kind.clone(),
            self.subject.clone(),
            self.detail.clone(),
            self.tenant_slug.clone(),
            self.since.to_rfc3339_opts(SecondsFormat::Secs, true),
        ]
    }
}

impl Record for ProviderView {
    fn columns() -> &'static [&'static str] {
        &[
            "provider",
            "api_url",
            "account_id",
            "token_set",
            "resolvers",
            "stall_after_secs",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.provider.clone(),
            self.api_url.clone(),
            self.account_id.clone(),
            self.token_set.to_string(),
            self.resolvers.join(" "),
            self.stall_after_secs.to_string(),
        ]
    }
}

/// A zone with its records, as one JSON document.
#[derive(Debug, Serialize)]
struct ZoneDetail {
    zone: Zone,
    records: Vec<DnsRecord>,
}

impl Record for ZoneDetail {
    fn columns() -> &'static [&'static str] {
        Zone::columns()
    }

    fn cells(&self) -> Vec<String> {
        self.zone.cells()
    }
}

/// What `dns verify` reports.
#[derive(Debug, Serialize)]
struct Verification {
    domain: String,
    verification: String,
    expected: Vec<String>,
    observed: Vec<String>,
    checked_at: String,
}

impl Record for Verification {
    fn columns() -> &'static [&'static str] {
        &["domain", "verification", "expected", "observed", "checked_at"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.domain.clone(),
            self.verification.clone(),
            self.expected.join(" "),
            self.observed.join(" "),
            self.checked_at.clone(),
        ]
    }
}

fn read_token(path: &str) -> Result<String> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path)?
    };
    Ok(text.trim().to_owned())
}

pub async fn run(
    db: &Db,
    keys: Option<&backend::secrets::Keys>,
    actor: &Actor,
    cmd: DnsCmd,
    out: &mut Printer,
) -> Result<()> {
    match cmd {
        DnsCmd::Zones(ZonesCmd::List { status, limit }) => {
            out.list(&zones::list(db, actor, status.as_deref(), limit).await?)
        }
        DnsCmd::Zones(ZonesCmd::Show { zone }) => {
            let (z, recs) = zones::get(db, actor, &zone).await?;
            if out.format.is_json() {
                return out.one(&ZoneDetail { zone: z, records: recs });
            }
            out.one(&z)?;
            out.list(&recs)
        }
        DnsCmd::Zones(ZonesCmd::Create {
            name,
            tenant,
            registrar,
        }) => {
            let (z, job) = zones::create(
                db,
                actor,
                NewZone {
                    name,
                    tenant,
                    registrar,
                },
            )
            .await?;
            eprintln!(
                "zone {} stored; job {} creates it at Cloudflare, then `painel dns zones show {}` lists the nameservers for the registrar",
                z.name,
                backend::ids::short(job.id),
                z.name
            );
            out.one(&z)
        }
        DnsCmd::Records(RecordsCmd::Add {
            zone,
            record_type,
            name,
            content,
            ttl,
            priority,
            proxied,
        }) => {
            let input = RecordInput {
                record_type,
                name,
                content,
                ttl,
                priority,
                proxied,
            };
            let (r, job) = zones::add_record(db, actor, &zone, &input).await?;
            eprintln!("record stored; job {} pushes it", backend::ids::short(job.id));
            out.one(&r)
        }
        DnsCmd::Records(RecordsCmd::Edit {
            zone,
            id,
            name,
            content,
            ttl,
            priority,
            proxied,
        }) => {
            let edit = RecordEdit {
                name,
                content,
                ttl,
                priority,
                proxied,
            };
            let (r, job) = zones::edit_record(db, actor, &zone, &id, &edit).await?;
            eprintln!("record changed; job {} pushes it", backend::ids::short(job.id));
            out.one(&r)
        }
        DnsCmd::Records(RecordsCmd::Rm { zone, id }) => {
            let (r, job) = zones::remove_record(db, actor, &zone, &id).await?;
            if let Some(j) = job {
                eprintln!(
                    "record marked for removal; job {} deletes it at Cloudflare",
                    backend::ids::short(j.id)
                );
            }
            out.one(&r)
        }
        DnsCmd::Verify { domain, wait_secs } => verify(db, actor, &domain, Duration::from_secs(wait_secs), out).await,
        DnsCmd::Failures { limit } => out.list(&failures::all(db, actor, limit).await?),
        DnsCmd::Provider(ProviderCmd::Show) => match provider::show(db, actor).await? {
            Some(v) => out.one(&v),
            None => Err(ServiceError::not_found("dns provider", "cloudflare").into()),
        },
        DnsCmd::Provider(ProviderCmd::Set {
            api_url,
            account_id,
            token_file,
            resolvers,
            stall_after,
        }) => {
            let token = token_file.as_deref().map(read_token).transpose()?;
            let input = ProviderInput {
                api_url,
                account_id,
                token,
                resolvers,
                stall_after_secs: stall_after,
            };
            out.one(&provider::configure(db, keys, actor, input).await?)
        }
    }
}

/// Enqueues a check of `domain` and waits until a worker has looked (its check time moves).
async fn verify(db: &Db, actor: &Actor, domain: &str, wait: Duration, out: &mut Printer) -> Result<()> {
    let (before, job) = zones::request_verify(db, actor, domain).await?;
    let short = backend::ids::short(job.id);
    eprintln!("check of {} queued as job {short}; waiting for a worker…", before.name);
    let deadline = tokio::time::Instant::now() + wait;
    let z = loop {
        let (z, _) = zones::get(db, actor, domain).await?;
        if z.ns_last_checked_at != before.ns_last_checked_at || z.domain_status != before.domain_status {
            break z;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ServiceError::Unavailable(format!(
                "no check within {}s: job {short} is still waiting (is `painel worker` running?)",
                wait.as_secs()
            ))
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let observed = z
        .observed_ns
        .as_ref()
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    out.one(&Verification {
        domain: z.name.clone(),
        verification: z.verification().to_owned(),
        expected: z.nameservers(),
        observed,
        checked_at: ts(&z.ns_last_checked_at),
    })
}

/// The verb as dispatched: the master key is loaded only when a token is to be sealed.
pub async fn dispatch(
    cfg: &crate::config::Config,
    db: &Db,
    actor: &Actor,
    cmd: DnsCmd,
    out: &mut Printer,
) -> Result<()> {
    let keys = match &cmd {
        DnsCmd::Provider(ProviderCmd::Set {
            token_file: Some(_), ..
        }) => Some(super::auth::load_keys(cfg, db).await?),
        _ => None,
    };
    run(db, keys.as_ref(), actor, cmd, out).await
}
