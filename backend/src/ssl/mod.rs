//! SSL monitoring and AutoSSL (docs/adr/0032): the certificate inventory per hosted domain,
//! what a TLS check of the domain read (`probe`), how a reading is recorded with its
//! incident (`record`), and the jobs that check and ask WHM for AutoSSL (`jobs`).
//!
//! Reads are tenant-scoped and reseller-restricted through the certificate's service;
//! asking for a check or a renewal is `services:manage` on that service (the certificate is
//! part of the hosting it sells), audited, and only enqueues: the TLS connection and the WHM
//! call happen in jobs.

pub mod demo;
pub mod jobs;
pub mod probe;
pub mod record;
pub mod settings;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::{Arg, Db};
use crate::error::ServiceError;
use crate::page::where_clause;
use crate::reseller::{self, Reach};

pub use jobs::{register_handlers, request_check, request_renew, KINDS};
pub use probe::{CheckState, ProbeConfig};
pub use settings::{recheck_after, renew_days, set_recheck_seconds, set_renew_days};

/// Below this many days left a certificate opens an incident (expired ones always do).
pub const INCIDENT_DAYS: i64 = 3;
/// The screen paints a certificate red below this many days left.
pub const RED_DAYS: i64 = 7;
/// The most rows one list returns.
pub const MAX_ROWS: i64 = 5000;

const REACH: Reach = Reach::Owned {
    reseller: None,
    customer: Some("sv.customer_id"),
};

pub(crate) const FROM: &str = "certificates x JOIN tenants t ON t.id = x.tenant_id \
    LEFT JOIN services sv ON sv.id = x.service_id LEFT JOIN servers s ON s.id = sv.server_id";

/// The checker's word when there is one; rows never checked show their seeded lifecycle.
pub(crate) const STATE_SQL: &str = "COALESCE(x.check_status, CASE x.status WHEN 'active' THEN 'valid' \
    WHEN 'expiring' THEN 'expiring' WHEN 'expired' THEN 'expired' WHEN 'failed' THEN 'missing' ELSE 'unchecked' END)";

pub(crate) fn columns() -> String {
    format!(
        "x.id, x.tenant_id, t.slug AS tenant_slug, x.service_id, sv.username, sv.server_id, s.name AS server_name, \
         x.common_name AS domain, CAST(x.san AS TEXT) AS san, x.provider, x.issuer, x.subject, {STATE_SQL} AS state, \
         x.status, x.not_before, x.not_after, x.auto_renew, x.fingerprint, x.last_checked_at, x.last_error, \
         x.renew_requested_at, x.renew_error, x.updated_at"
    )
}

/// One certificate as the inventory shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Certificate {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub service_id: Option<Uuid>,
    /// The cPanel user AutoSSL runs for.
    pub username: Option<String>,
    pub server_id: Option<Uuid>,
    pub server_name: Option<String>,
    pub domain: String,
    /// The subject alternative names, a JSON array.
    pub san: String,
    pub provider: String,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    /// valid, expiring, expired, missing, mismatch, untrusted, unreachable (or unchecked).
    pub state: String,
    /// The coarse lifecycle older readers use (active, expiring, expired, failed, pending).
    pub status: String,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    pub auto_renew: bool,
    pub fingerprint: Option<String>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub renew_requested_at: Option<DateTime<Utc>>,
    pub renew_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Certificate {
    /// Whole days until `not_after` (negative once expired); `None` when nothing was read.
    pub fn days_left(&self, now: DateTime<Utc>) -> Option<i64> {
        self.not_after.map(|t| days_between(now, t))
    }

    pub fn sans(&self) -> Vec<String> {
        serde_json::from_str(&self.san).unwrap_or_default()
    }

    /// How urgent the certificate is: `critical` (incident territory), `warning` or `ok`.
    pub fn severity(&self, now: DateTime<Utc>, warn_days: i64) -> &'static str {
        severity(&self.state, self.days_left(now), warn_days)
    }
}

/// Whole days from `now` to `t`, rounded down (so an hour past expiry is day -1).
pub fn days_between(now: DateTime<Utc>, t: DateTime<Utc>) -> i64 {
    (t - now).num_seconds().div_euclid(86_400)
}

/// `critical`: expired, fewer than [`INCIDENT_DAYS`] left, or the site serves no usable
/// certificate; `warning`: expiring or unreachable; `ok` otherwise.
pub fn severity(state: &str, days_left: Option<i64>, warn_days: i64) -> &'static str {
    match state {
        "expired" | "missing" | "mismatch" | "untrusted" => "critical",
        _ if days_left.is_some_and(|d| d < INCIDENT_DAYS) && state != "unreachable" && state != "unchecked" => {
            "critical"
        }
        "expiring" | "unreachable" => "warning",
        _ if days_left.is_some_and(|d| d < warn_days) => "warning",
        _ => "ok",
    }
}

/// What [`list`] returns: every certificate the actor may read, most urgent first.
#[derive(Debug, Clone, Default)]
pub struct CertQuery {
    /// Only these states (valid, expiring, …); empty = all.
    pub states: Vec<String>,
    /// A substring of the domain.
    pub filter: Option<String>,
    pub limit: Option<i64>,
}

pub const STATES: [&str; 8] = [
    "valid",
    "expiring",
    "expired",
    "missing",
    "mismatch",
    "untrusted",
    "unreachable",
    "unchecked",
];

fn scope(actor: &Actor, conds: &mut Vec<String>, args: &mut Vec<Arg>) -> Result<(), ServiceError> {
    if let Some(t) = actor.tenant_id {
        args.push(t.into());
        conds.push(format!("x.tenant_id = ${}", args.len()));
    }
    reseller::restrict(actor, REACH, "certificates", conds, args)
}

/// Sorted by days left: nothing read first (missing, unreachable), then the soonest expiry.
const ORDER: &str = "CASE WHEN x.not_after IS NULL THEN 0 ELSE 1 END, x.not_after, x.common_name, x.id";

/// The certificates the actor may read (`dns:read`), sorted by days left.
pub async fn list(db: &Db, actor: &Actor, q: &CertQuery) -> Result<Vec<Certificate>, ServiceError> {
    require(actor, Permission::DnsRead)?;
    let mut conds = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    scope(actor, &mut conds, &mut args)?;
    if !q.states.is_empty() {
        let mut marks = Vec::new();
        for st in &q.states {
            if !STATES.contains(&st.as_str()) {
                return Err(ServiceError::invalid(
                    "state",
                    format!("must be one of {}", STATES.join(", ")),
                ));
            }
            args.push(st.as_str().into());
            marks.push(format!("${}", args.len()));
        }
        conds.push(format!("{STATE_SQL} IN ({})", marks.join(", ")));
    }
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        args.push(crate::validate::like_contains(&f.trim().to_lowercase()).into());
        conds.push(format!("lower(x.common_name) LIKE ${} ESCAPE '\\'", args.len()));
    }
    let limit = q.limit.unwrap_or(MAX_ROWS).clamp(1, MAX_ROWS);
    let sql = format!(
        "SELECT {} FROM {FROM} {} ORDER BY {ORDER} LIMIT {limit}",
        columns(),
        where_clause(&conds)
    );
    db.fetch_all(&sql, args).await
}

/// One certificate by id (whole, or a unique prefix/suffix of its hex) or by domain.
pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<Certificate, ServiceError> {
    require(actor, Permission::DnsRead)?;
    let key = key.trim();
    if key.is_empty() {
        return Err(ServiceError::invalid(
            "certificate",
            "give a domain or a certificate id",
        ));
    }
    let mut conds = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Ok(id) = Uuid::parse_str(key) {
        args.push(id.into());
        conds.push("x.id = $1".to_owned());
    } else {
        args.push(key.to_lowercase().into());
        conds.push("lower(x.common_name) = $1".to_owned());
    }
    scope(actor, &mut conds, &mut args)?;
    let sql = format!(
        "SELECT {} FROM {FROM} {} ORDER BY x.created_at DESC, x.id LIMIT 3",
        columns(),
        where_clause(&conds)
    );
    let rows: Vec<Certificate> = db.fetch_all(&sql, args).await?;
    match rows.len() {
        0 => Err(ServiceError::not_found("certificate", key)),
        1 => Ok(rows
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::not_found("certificate", key))?),
        _ => Err(ServiceError::invalid(
            "certificate",
            format!(
                "{key} names certificates in several tenants ({}): use the certificate's id",
                rows.iter()
                    .map(|c| c.tenant_slug.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// One row of the failures screen: a certificate that needs someone's eyes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub certificate_id: Uuid,
    pub tenant_slug: String,
    pub domain: String,
    /// expiring, expired, missing, mismatch, untrusted, unreachable.
    pub state: String,
    pub days_left: Option<i64>,
    /// `critical` or `warning`.
    pub severity: &'static str,
    /// The check's error, else the last AutoSSL refusal, else a sentence about the expiry.
    pub error: String,
    pub last_checked_at: Option<DateTime<Utc>>,
}

/// The certificates the failures screen lists (`dns:read`, scoped like [`list`]): every one
/// not `valid`, or whose last AutoSSL request was refused, critical ones first.
pub async fn failures(db: &Db, actor: &Actor) -> Result<Vec<Failure>, ServiceError> {
    require(actor, Permission::DnsRead)?;
    let mut conds = vec![format!(
        "({STATE_SQL} IN ('expiring', 'expired', 'missing', 'mismatch', 'untrusted', 'unreachable') \
         OR x.renew_error IS NOT NULL)"
    )];
    let mut args: Vec<Arg> = args![];
    scope(actor, &mut conds, &mut args)?;
    let sql = format!(
        "SELECT {} FROM {FROM} {} ORDER BY {ORDER} LIMIT {MAX_ROWS}",
        columns(),
        where_clause(&conds)
    );
    let rows: Vec<Certificate> = db.fetch_all(&sql, args).await?;
    let now = crate::db::now();
    let mut out: Vec<Failure> = rows
        .into_iter()
        .map(|c| {
            let days_left = c.days_left(now);
            let severity = match c.severity(now, i64::MAX) {
                "critical" => "critical",
                _ => "warning",
            };
            let error = c
                .last_error
                .clone()
                .or_else(|| c.renew_error.clone().map(|e| format!("AutoSSL: {e}")))
                .unwrap_or_else(|| match days_left {
                    Some(d) if d < 0 => format!("expired {} day(s) ago", -d),
                    Some(d) => format!("expires in {d} day(s)"),
                    None => "no certificate served".to_owned(),
                });
            Failure {
                certificate_id: c.id,
                tenant_slug: c.tenant_slug,
                domain: c.domain,
                state: c.state,
                days_left,
                severity,
                error,
                last_checked_at: c.last_checked_at,
            }
        })
        .collect();
    out.sort_by_key(|f| f.severity != "critical");
    Ok(out)
}
