//! Nameserver verification for domains registered where there is no API (Registro.br): the
//! customer is told the zone's nameservers; each cycle resolves every pending domain's NS
//! records (hickory-resolver, against the configured resolvers, nothing cached between
//! cycles) and compares them with the zone's. A match activates the domain and enqueues the
//! zone's activation at the provider (which pushes its records); a domain pending past the
//! provider's stall threshold is declared stalled once (the failure feed). docs/adr/0031.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::provider::{self, parse_resolver, DEFAULT_STALL_SECS};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::jobs::{enqueue, NewJob};

/// Lookups in flight at once in a cycle.
pub const CONCURRENCY: usize = 256;
/// Rows written per statement/transaction.
const BATCH: usize = 500;

/// A resolver for `resolvers` (`ip` or `ip:port`), or the system's when empty. No cache:
/// every cycle must see what the registrar serves now.
pub fn resolver(resolvers: &[String]) -> Result<TokioResolver, ServiceError> {
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.timeout = Duration::from_secs(3);
    opts.attempts = 2;
    opts.num_concurrent_reqs = 1;
    let builder = if resolvers.is_empty() {
        TokioResolver::builder_tokio().map_err(|e| ServiceError::Unavailable(format!("system resolvers: {e}")))?
    } else {
        let mut servers = Vec::new();
        for r in resolvers {
            let sa: SocketAddr = parse_resolver(r).map_err(|e| ServiceError::invalid("resolvers", e))?;
            let mut udp = ConnectionConfig::udp();
            udp.port = sa.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = sa.port();
            servers.push(NameServerConfig::new(sa.ip(), true, vec![udp, tcp]));
        }
        TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
    };
    builder
        .with_options(opts)
        .build()
        .map_err(|e| ServiceError::Unavailable(format!("resolver: {e}")))
}

/// A host name as compared: lower case, no trailing dot.
pub fn norm(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The NS host names `domain` resolves to, sorted; empty for NXDOMAIN / no NS records.
pub async fn lookup_ns(r: &TokioResolver, domain: &str) -> Result<Vec<String>, String> {
    match r.lookup(format!("{}.", norm(domain)), RecordType::NS).await {
        Ok(l) => {
            let mut v: Vec<String> = l
                .answers()
                .iter()
                .filter_map(|rec| match &rec.data {
                    RData::NS(ns) => Some(norm(&ns.0.to_ascii())),
                    _ => None,
                })
                .collect();
            v.sort();
            v.dedup();
            Ok(v)
        }
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether the observed NS set is exactly ours (order and case aside).
pub fn matches(observed: &[String], ours: &[String]) -> bool {
    let mut a: Vec<String> = observed.iter().map(|s| norm(s)).collect();
    let mut b: Vec<String> = ours.iter().map(|s| norm(s)).collect();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    !b.is_empty() && a == b
}

/// What one cycle did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CycleReport {
    pub checked: usize,
    pub verified: Vec<String>,
    pub stalled: Vec<String>,
    pub still_pending: usize,
    pub lookup_errors: usize,
    pub elapsed_ms: u128,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Pending {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    nameservers: Value,
    created_at: DateTime<Utc>,
    ns_stalled_at: Option<DateTime<Utc>>,
    zone_id: Uuid,
    zone_ns: Value,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(norm)).collect())
        .unwrap_or_default()
}

/// One verification cycle over every pending domain with a zone whose nameservers are
/// known (or only `only`). Platform work: runs unscoped.
pub async fn cycle(db: &Db, actor: &Actor, only: Option<&str>) -> Result<CycleReport, ServiceError> {
    let started = Instant::now();
    let db = db.scoped(None);
    let prov = provider::load(&db).await?;
    let resolvers = prov.as_ref().map(|p| p.resolvers()).unwrap_or_default();
    let stall_secs = prov.as_ref().map_or(DEFAULT_STALL_SECS, |p| p.stall_after_secs);
    let r = resolver(&resolvers)?;
    let pending: Vec<Pending> = db
        .fetch_all(
            "SELECT d.id, d.tenant_id, d.name, d.nameservers, d.created_at, d.ns_stalled_at, z.id AS zone_id, \
             z.name_servers AS zone_ns \
             FROM domains d JOIN dns_zones z ON z.domain_id = d.id AND z.status <> 'deleted' \
             WHERE d.status = 'pending' AND ($1 IS NULL OR d.name = $1) \
             ORDER BY d.ns_last_checked_at, d.id",
            args![only.map(norm)],
        )
        .await?;
    // Owned inputs: the lookups run concurrently, detached from the rows' borrows.
    let names: Vec<(usize, String)> = pending
        .iter()
        .enumerate()
        .filter(|(_, p)| !strings(&p.zone_ns).is_empty())
        .map(|(i, p)| (i, p.name.clone()))
        .collect();
    let lookups: Vec<(usize, Result<Vec<String>, String>)> = stream::iter(names)
        .map(|(i, name)| {
            let r = r.clone();
            async move { (i, lookup_ns(&r, &name).await) }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let at = now();
    let mut report = CycleReport {
        checked: lookups.len(),
        ..CycleReport::default()
    };
    let mut verified = Vec::new();
    let mut stalled = Vec::new();
    let mut changed_ns: Vec<(Uuid, Vec<String>)> = Vec::new();
    let mut touched = Vec::new();
    for (i, res) in lookups {
        let p = &pending[i];
        touched.push(p.id);
        let observed = match res {
            Ok(v) => v,
            Err(e) => {
                report.lookup_errors += 1;
                tracing::debug!(domain = %p.name, error = %e, "ns lookup failed");
                Vec::new()
            }
        };
        if matches(&observed, &strings(&p.zone_ns)) {
            verified.push((p, observed));
            continue;
        }
        if strings(&p.nameservers) != observed {
            changed_ns.push((p.id, observed.clone()));
        }
        let overdue = at.signed_duration_since(p.created_at).num_seconds() >= stall_secs;
        if overdue && p.ns_stalled_at.is_none() {
            stalled.push((p, observed));
        } else {
            report.still_pending += 1;
        }
    }
    // The check time of every domain looked at, in bulk.
    for chunk in touched.chunks(BATCH) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let mut a = args![at];
        a.extend(chunk.iter().map(|id| (*id).into()));
        db.execute(
            &format!(
                "UPDATE domains SET ns_last_checked_at = $1 WHERE id IN ({})",
                marks.join(", ")
            ),
            a,
        )
        .await?;
    }
    for chunk in changed_ns.chunks(BATCH) {
        let mut tx = db.begin().await?;
        for (id, ns) in chunk {
            tx.execute(
                "UPDATE domains SET nameservers = $2 WHERE id = $1",
                args![*id, json!(ns)],
            )
            .await?;
        }
        tx.commit().await?;
    }
    for chunk in verified.chunks(BATCH) {
        let mut tx = db.begin().await?;
        for (p, observed) in chunk {
            let n = tx
                .execute(
                    "UPDATE domains SET status = 'active', ns_verified_at = $2, nameservers = $3, last_error = NULL, \
                     updated_at = $2 WHERE id = $1 AND status = 'pending'",
                    args![p.id, at, json!(observed)],
                )
                .await?;
            if n == 0 {
                continue;
            }
            enqueue(
                &mut tx,
                NewJob {
                    queue: super::jobs::QUEUE.into(),
                    kind: super::jobs::ZONE_ACTIVATE.into(),
                    payload: json!({ "zone_id": p.zone_id, "zone": p.name }),
                    run_at: None,
                    max_attempts: Some(8),
                    unique_key: Some(format!("{}:{}", super::jobs::ZONE_ACTIVATE, p.zone_id)),
                    tenant_id: Some(p.tenant_id),
                    enqueued_by: actor.name.clone(),
                },
            )
            .await?;
            audit::record(
                &mut tx,
                actor,
                Change {
                    action: "dns.domain.verified",
                    entity: "domain",
                    entity_id: Some(p.id.to_string()),
                    tenant_id: Some(p.tenant_id),
                    before: Some(json!({ "status": "pending" })),
                    after: Some(json!({ "status": "active", "nameservers": observed })),
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    for chunk in stalled.chunks(BATCH) {
        let mut tx = db.begin().await?;
        for (p, observed) in chunk {
            let why = format!(
                "nameservers not changed at the registrar: expected {}, found {}",
                strings(&p.zone_ns).join(" "),
                if observed.is_empty() {
                    "none".to_owned()
                } else {
                    observed.join(" ")
                }
            );
            tx.execute(
                "UPDATE domains SET ns_stalled_at = $2, last_error = $3, updated_at = $2 WHERE id = $1 AND ns_stalled_at IS NULL",
                args![p.id, at, why.as_str()],
            )
            .await?;
            audit::record(
                &mut tx,
                actor,
                Change {
                    action: "dns.domain.stalled",
                    entity: "domain",
                    entity_id: Some(p.id.to_string()),
                    tenant_id: Some(p.tenant_id),
                    before: None,
                    after: Some(json!({ "why": why })),
                },
            )
            .await?;
        }
        tx.commit().await?;
    }
    report.verified = verified.iter().map(|(p, _)| p.name.clone()).collect();
    report.stalled = stalled.iter().map(|(p, _)| p.name.clone()).collect();
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_order_and_dots() {
        let ours = vec!["ada.ns.cloudflare.com".to_owned(), "bob.ns.cloudflare.com".to_owned()];
        assert!(matches(
            &["BOB.ns.cloudflare.com.".into(), "ada.ns.cloudflare.com".into()],
            &ours
        ));
        assert!(!matches(&["ada.ns.cloudflare.com".into()], &ours));
        assert!(!matches(&["a.dns.br".into(), "b.dns.br".into()], &ours));
        assert!(!matches(&[], &[]));
    }
}
