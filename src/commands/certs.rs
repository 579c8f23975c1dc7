//! `painel certs list|show|check|renew` (docs/adr/0032): the certificate inventory sorted by
//! days left; `check` and `renew` enqueue the TLS check / the AutoSSL request and, unless
//! `--no-wait`, wait for a worker and print the certificate as it then stands.

use std::time::Duration;

use anyhow::Result;
use backend::ssl::{self, CertQuery, Certificate};
use backend::{Actor, Db, ServiceError};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use serde::Serialize;

use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum CertsCmd {
    /// Certificates, most urgent first (nothing read, expired, then fewest days left).
    List {
        /// Only these states (comma-separated): valid, expiring, expired, missing, mismatch,
        /// untrusted, unreachable, unchecked.
        #[arg(long)]
        state: Option<String>,
        /// Text found in the domain.
        #[arg(long)]
        filter: Option<String>,
        /// Accepted for habit's sake: the list is whole.
        #[arg(long)]
        all: bool,
    },
    /// One certificate (by domain or id): issuer, names, dates, last check and AutoSSL.
    Show { key: String },
    /// Check the domain's certificate now (a job), and wait for the answer.
    Check {
        key: String,
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
        /// Enqueue and return at once.
        #[arg(long)]
        no_wait: bool,
    },
    /// Ask WHM for AutoSSL for the domain's cPanel account (a job), and wait for WHM's answer.
    Renew {
        key: String,
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
        #[arg(long)]
        no_wait: bool,
    },
}

fn ts(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A certificate with its days left, as every format prints it.
#[derive(Serialize)]
pub struct CertRow {
    #[serde(flatten)]
    pub cert: Certificate,
    pub days_left: Option<i64>,
    pub sans: Vec<String>,
}

impl CertRow {
    fn new(cert: Certificate) -> CertRow {
        let days_left = cert.days_left(backend::db::now());
        let sans = cert.sans();
        CertRow { cert, days_left, sans }
    }
}

impl Record for CertRow {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "domain",
            "state",
            "days_left",
            "not_after",
            "issuer",
            "tenant",
            "server",
            "checked",
            "error",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let c = &self.cert;
        vec![
            backend::ids::short(c.id),
            c.domain.clone(),
            c.state.clone(),
            self.days_left.map(|d| d.to_string()).unwrap_or_default(),
            ts(&c.not_after),
            c.issuer.clone().unwrap_or_default(),
            c.tenant_slug.clone(),
            c.server_name.clone().unwrap_or_default(),
            ts(&c.last_checked_at),
            c.last_error
                .clone()
                .or_else(|| c.renew_error.as_ref().map(|e| format!("AutoSSL: {e}")))
                .unwrap_or_default(),
        ]
    }
    fn csv_cells(&self) -> Vec<String> {
        let mut c = self.cells();
        c[0] = self.cert.id.to_string();
        c
    }
}

/// `show`: every field, one per line in a table.
#[derive(Serialize)]
struct CertDetail(CertRow);

impl Record for CertDetail {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "domain",
            "state",
            "days_left",
            "issuer",
            "subject",
            "sans",
            "not_before",
            "not_after",
            "fingerprint",
            "tenant",
            "server",
            "cpanel_user",
            "auto_renew",
            "last_checked_at",
            "last_error",
            "renew_requested_at",
            "renew_error",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        let c = &r.cert;
        vec![
            c.id.to_string(),
            c.domain.clone(),
            c.state.clone(),
            r.days_left.map(|d| d.to_string()).unwrap_or_default(),
            c.issuer.clone().unwrap_or_default(),
            c.subject.clone().unwrap_or_default(),
            r.sans.join(", "),
            ts(&c.not_before),
            ts(&c.not_after),
            c.fingerprint.clone().unwrap_or_default(),
            c.tenant_slug.clone(),
            c.server_name.clone().unwrap_or_default(),
            c.username.clone().unwrap_or_default(),
            if c.auto_renew { "yes" } else { "no" }.into(),
            ts(&c.last_checked_at),
            c.last_error.clone().unwrap_or_default(),
            ts(&c.renew_requested_at),
            c.renew_error.clone().unwrap_or_default(),
        ]
    }
}

const FINISHED: [&str; 3] = ["succeeded", "dead", "cancelled"];

async fn wait_job(db: &Db, actor: &Actor, id: uuid::Uuid, what: &str, wait: Duration) -> Result<()> {
    let short = backend::ids::short(id);
    eprintln!("{what} queued as job {short}; waiting for a worker…");
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let j = match backend::jobs::admin::get(db, actor, &id.to_string()).await {
            Ok(j) => j,
            // Without jobs:read the request stands; only the waiting is not possible.
            Err(ServiceError::PermissionDenied(_)) => {
                eprintln!("job {short} queued; this account cannot watch jobs (jobs:read)");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        if FINISHED.contains(&j.status.as_str()) || (j.status == "failed" && j.attempts >= j.max_attempts) {
            if j.status != "succeeded" {
                return Err(ServiceError::Unavailable(format!(
                    "job {short} ended {}: {}",
                    j.status,
                    j.last_error.unwrap_or_default()
                ))
                .into());
            }
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ServiceError::Unavailable(format!(
                "no answer within {}s: job {short} is still {} (is `painel worker` running?)",
                wait.as_secs(),
                j.status
            ))
            .into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn run(db: &Db, actor: &Actor, cmd: CertsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        CertsCmd::List { state, filter, all: _ } => {
            let states = state
                .map(|s| {
                    s.split(',')
                        .map(|x| x.trim().to_owned())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let q = CertQuery {
                states,
                filter,
                limit: None,
            };
            let rows: Vec<CertRow> = ssl::list(db, actor, &q).await?.into_iter().map(CertRow::new).collect();
            out.list(&rows)
        }
        CertsCmd::Show { key } => out.one(&CertDetail(CertRow::new(ssl::get(db, actor, &key).await?))),
        CertsCmd::Check {
            key,
            wait_secs,
            no_wait,
        } => {
            let (cert, job) = ssl::request_check(db, actor, &key).await?;
            if !no_wait {
                wait_job(
                    db,
                    actor,
                    job.id,
                    &format!("check of {}", cert.domain),
                    Duration::from_secs(wait_secs),
                )
                .await?;
            }
            out.one(&CertDetail(CertRow::new(
                ssl::get(db, actor, &cert.id.to_string()).await?,
            )))
        }
        CertsCmd::Renew {
            key,
            wait_secs,
            no_wait,
        } => {
            let (cert, job) = ssl::request_renew(db, actor, &key).await?;
            if !no_wait {
                wait_job(
                    db,
                    actor,
                    job.id,
                    &format!("AutoSSL for {}", cert.domain),
                    Duration::from_secs(wait_secs),
                )
                .await?;
            }
            let now = ssl::get(db, actor, &cert.id.to_string()).await?;
            if let Some(e) = &now.renew_error {
                out.one(&CertDetail(CertRow::new(now.clone())))?;
                return Err(ServiceError::Unavailable(format!("WHM refused AutoSSL for {}: {e}", now.domain)).into());
            }
            out.one(&CertDetail(CertRow::new(now)))
        }
    }
}
