//! The DNS service layer (docs/adr/0031): zones and records, read with `dns:read`, changed
//! with `dns:manage`, confined to the actor's tenant, every record checked by type
//! ([`super::records::validate`]) and every change audited in its transaction. Changes are
//! stored `pending` and pushed by `dns.zone.sync` (the provider is called only from jobs).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::jobs::{enqueue_sync, QUEUE, VERIFY};
use super::records::{validate, RecordInput};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Backend, Db, Tx};
use crate::error::ServiceError;
use crate::jobs::{enqueue, Job, NewJob};

/// A zone as listed and shown.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Zone {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub name: String,
    pub status: String,
    pub external_id: Option<String>,
    pub name_servers: Value,
    pub domain_status: Option<String>,
    pub registrar: Option<String>,
    pub observed_ns: Option<Value>,
    pub ns_verified_at: Option<DateTime<Utc>>,
    pub ns_last_checked_at: Option<DateTime<Utc>>,
    pub ns_stalled_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub records: i64,
    pub created_at: DateTime<Utc>,
}

impl Zone {
    /// The nameservers the customer must set at the registrar.
    pub fn nameservers(&self) -> Vec<String> {
        self.name_servers
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// One word for the operator: verified, waiting for NS, stalled, error…
    pub fn verification(&self) -> &'static str {
        match (self.domain_status.as_deref(), self.ns_stalled_at.is_some()) {
            _ if self.status == "error" => "error",
            (Some("pending"), true) => "stalled",
            (Some("pending"), false) => "waiting NS",
            (Some("active"), _) => "verified",
            _ => "-",
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Record {
    pub id: Uuid,
    pub zone_id: Uuid,
    pub record_type: String,
    pub name: String,
    pub content: String,
    pub ttl: i64,
    pub priority: Option<i64>,
    pub proxied: bool,
    pub external_id: Option<String>,
    pub sync_status: String,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const ZONE_COLUMNS: &str = "z.id, z.tenant_id, t.slug AS tenant_slug, z.name, z.status, z.external_id, z.name_servers, \
    d.status AS domain_status, d.registrar, d.nameservers AS observed_ns, d.ns_verified_at, d.ns_last_checked_at, \
    d.ns_stalled_at, COALESCE(z.last_error, d.last_error) AS last_error, \
    (SELECT COUNT(*) FROM dns_records r WHERE r.zone_id = z.id AND r.sync_status <> 'deleting') AS records, z.created_at";
const ZONE_FROM: &str = "dns_zones z JOIN tenants t ON t.id = z.tenant_id LEFT JOIN domains d ON d.id = z.domain_id";
const RECORD_COLUMNS: &str =
    "id, zone_id, record_type, name, content, ttl, priority, proxied, external_id, sync_status, last_error, updated_at";

/// Zones the actor may see, by name (`status` narrows; at most `limit`).
pub async fn list(db: &Db, actor: &Actor, status: Option<&str>, limit: i64) -> Result<Vec<Zone>, ServiceError> {
    require(actor, Permission::DnsRead)?;
    db.fetch_all(
        &format!(
            "SELECT {ZONE_COLUMNS} FROM {ZONE_FROM} WHERE z.status <> 'deleted' AND ($1 IS NULL OR z.tenant_id = $1) \
             AND ($2 IS NULL OR z.status = $2 OR d.status = $2) ORDER BY z.name, z.id LIMIT $3"
        ),
        args![actor.tenant_id, status, limit.clamp(1, 10_000)],
    )
    .await
}

async fn zone_in(tx: &mut Tx, actor: &Actor, name: &str) -> Result<Zone, ServiceError> {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    tx.fetch_optional(
        &format!(
            "SELECT {ZONE_COLUMNS} FROM {ZONE_FROM} WHERE z.name = $1 AND z.status <> 'deleted' AND ($2 IS NULL OR z.tenant_id = $2)"
        ),
        args![n.as_str(), actor.tenant_id],
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("zone", name))
}

/// One zone and its records (`dns:read`).
pub async fn get(db: &Db, actor: &Actor, name: &str) -> Result<(Zone, Vec<Record>), ServiceError> {
    require(actor, Permission::DnsRead)?;
    let mut tx = db.begin().await?;
    let z = zone_in(&mut tx, actor, name).await?;
    let recs = records_of(&mut tx, z.id).await?;
    tx.rollback().await?;
    Ok((z, recs))
}

async fn records_of(tx: &mut Tx, zone: Uuid) -> Result<Vec<Record>, ServiceError> {
    tx.fetch_all(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM dns_records WHERE zone_id = $1 AND sync_status <> 'deleting' \
             ORDER BY CASE record_type WHEN 'NS' THEN 0 WHEN 'A' THEN 1 WHEN 'AAAA' THEN 2 WHEN 'CNAME' THEN 3 \
             WHEN 'MX' THEN 4 ELSE 5 END, name, content"
        ),
        args![zone],
    )
    .await
}

#[derive(Debug, Clone, Default)]
pub struct NewZone {
    pub name: String,
    /// Tenant slug; platform actors must say, tenant users get theirs.
    pub tenant: Option<String>,
    /// `registro_br` (default: verified by NS), or `external`/`other`.
    pub registrar: Option<String>,
}

/// Creates a zone for a domain registered elsewhere (`dns:manage`): the domain (pending
/// verification) and the zone are stored, `dns.zone.sync` creates it at Cloudflare, and the
/// nameservers it assigns are what the customer must set at the registrar.
pub async fn create(db: &Db, actor: &Actor, input: NewZone) -> Result<(Zone, Job), ServiceError> {
    require(actor, Permission::DnsManage)?;
    let name = crate::validate::domain(&input.name).map_err(|e| ServiceError::invalid("name", e))?;
    let registrar = crate::validate::one_of(
        input.registrar.as_deref().unwrap_or("registro_br"),
        &["registro_br", "external", "other"],
    )
    .map_err(|e| ServiceError::invalid("registrar", e))?;
    let mut tx = db.begin().await?;
    let tenant: Uuid = match (actor.tenant_id, input.tenant.as_deref()) {
        (Some(t), None) => t,
        (scope, Some(slug)) => {
            let row: Option<(Uuid,)> = tx
                .fetch_optional("SELECT id FROM tenants WHERE slug = $1", args![slug.trim()])
                .await?;
            let (t,) = row.ok_or_else(|| ServiceError::not_found("tenant", slug))?;
            if scope.is_some_and(|s| s != t) {
                return Err(ServiceError::not_found("tenant", slug));
            }
            t
        }
        (None, None) => return Err(ServiceError::invalid("tenant", "say which tenant the zone belongs to")),
    };
    let taken: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM dns_zones WHERE name = $1 AND status <> 'deleted'",
            args![name.as_str()],
        )
        .await?;
    if taken.is_some() {
        return Err(ServiceError::Conflict(format!("zone {name} already exists")));
    }
    let domain: Option<(Uuid, Uuid)> = tx
        .fetch_optional(
            "SELECT id, tenant_id FROM domains WHERE name = $1 AND status NOT IN ('cancelled', 'transferred')",
            args![name.as_str()],
        )
        .await?;
    let domain_id = match domain {
        Some((_, t)) if t != tenant => {
            return Err(ServiceError::Conflict(format!("domain {name} is another tenant's")))
        }
        Some((d, _)) => d,
        None => {
            let d = Uuid::now_v7();
            tx.execute(
                "INSERT INTO domains (id, tenant_id, name, registrar, sale_mode, status) VALUES ($1, $2, $3, $4, 'external', 'pending')",
                args![d, tenant, name.as_str(), registrar.as_str()],
            )
            .await?;
            d
        }
    };
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO dns_zones (id, tenant_id, domain_id, name, provider, status) VALUES ($1, $2, $3, $4, 'cloudflare', 'pending')",
        args![id, tenant, domain_id, name.as_str()],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "dns.zone.create",
            entity: "dns_zone",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({ "name": name, "registrar": registrar })),
        },
    )
    .await?;
    let job = enqueue_sync(&mut tx, id, &name, tenant, &actor.name).await?;
    let z = zone_in(
        &mut tx,
        &Actor {
            tenant_id: Some(tenant),
            ..actor.clone()
        },
        &name,
    )
    .await?;
    tx.commit().await?;
    Ok((z, job))
}

/// A record of a zone by id, unique id prefix or the last hex digits screens show.
async fn record_in(tx: &mut Tx, zone: Uuid, key: &str) -> Result<Record, ServiceError> {
    let k = key.trim().to_ascii_lowercase().replace('-', "");
    if k.len() < 4 || !k.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ServiceError::invalid(
            "record",
            "give the record's id (at least 4 hex digits)",
        ));
    }
    let all = records_of(tx, zone).await?;
    let hits: Vec<Record> = all
        .into_iter()
        .filter(|r| {
            let s = r.id.simple().to_string();
            s.starts_with(&k) || s.ends_with(&k)
        })
        .collect();
    match hits.len() {
        1 => Ok(hits
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::not_found("record", key))?),
        0 => Err(ServiceError::not_found("record", key)),
        n => Err(ServiceError::invalid(
            "record",
            format!("{key} matches {n} records; give more digits"),
        )),
    }
}

/// The CNAME rule: a name holding a CNAME holds nothing else.
async fn cname_conflict(
    tx: &mut Tx,
    zone: Uuid,
    name: &str,
    rtype: &str,
    except: Option<Uuid>,
) -> Result<(), ServiceError> {
    let others: Vec<(String,)> = tx
        .fetch_all(
            "SELECT record_type FROM dns_records WHERE zone_id = $1 AND name = $2 AND sync_status <> 'deleting' \
             AND ($3 IS NULL OR id <> $3)",
            args![zone, name, except],
        )
        .await?;
    let clash = if rtype == "CNAME" {
        !others.is_empty()
    } else {
        others.iter().any(|(t,)| t == "CNAME")
    };
    if clash {
        return Err(ServiceError::invalid(
            "name",
            format!("{name} has a CNAME or other records: a CNAME cannot share its name"),
        ));
    }
    Ok(())
}

fn lock_sql(tx: &Tx, sql: &str) -> String {
    if tx.backend() == Backend::Postgres {
        format!("{sql} FOR UPDATE")
    } else {
        sql.to_owned()
    }
}

/// Adds a record (`dns:manage`); pushed by `dns.zone.sync`.
pub async fn add_record(
    db: &Db,
    actor: &Actor,
    zone: &str,
    input: &RecordInput,
) -> Result<(Record, Job), ServiceError> {
    require(actor, Permission::DnsManage)?;
    let mut tx = db.begin().await?;
    let z = zone_in(&mut tx, actor, zone).await?;
    let v = validate(&z.name, input)?;
    cname_conflict(&mut tx, z.id, &v.name, &v.record_type, None).await?;
    let dup: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM dns_records WHERE zone_id = $1 AND record_type = $2 AND name = $3 AND content = $4 AND sync_status <> 'deleting'",
            args![z.id, v.record_type.as_str(), v.name.as_str(), v.content.as_str()],
        )
        .await?;
    if dup.is_some() {
        return Err(ServiceError::Conflict(format!(
            "{} {} {} already exists",
            v.record_type, v.name, v.content
        )));
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO dns_records (id, tenant_id, zone_id, record_type, name, content, ttl, priority, proxied) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            id,
            z.tenant_id,
            z.id,
            v.record_type.as_str(),
            v.name.as_str(),
            v.content.as_str(),
            v.ttl,
            v.priority,
            v.proxied
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "dns.record.add",
            entity: "dns_record",
            entity_id: Some(id.to_string()),
            tenant_id: Some(z.tenant_id),
            before: None,
            after: Some(json!({ "zone": z.name, "type": v.record_type, "name": v.name, "content": v.content, "ttl": v.ttl, "priority": v.priority, "proxied": v.proxied })),
        },
    )
    .await?;
    let job = enqueue_sync(&mut tx, z.id, &z.name, z.tenant_id, &actor.name).await?;
    let rec = record_in(&mut tx, z.id, &id.simple().to_string()).await?;
    tx.after_commit(CHANNEL, z.name.clone());
    tx.commit().await?;
    Ok((rec, job))
}

/// What an edit changes (`None` keeps the value).
#[derive(Debug, Clone, Default)]
pub struct RecordEdit {
    pub name: Option<String>,
    pub content: Option<String>,
    pub ttl: Option<i64>,
    pub priority: Option<i64>,
    pub proxied: Option<bool>,
}

/// Edits a record (`dns:manage`): the whole result is validated again.
pub async fn edit_record(
    db: &Db,
    actor: &Actor,
    zone: &str,
    key: &str,
    edit: &RecordEdit,
) -> Result<(Record, Job), ServiceError> {
    require(actor, Permission::DnsManage)?;
    let mut tx = db.begin().await?;
    let z = zone_in(&mut tx, actor, zone).await?;
    let before = record_in(&mut tx, z.id, key).await?;
    let _: Option<(Uuid,)> = tx
        .fetch_optional(
            &lock_sql(&tx, "SELECT id FROM dns_records WHERE id = $1"),
            args![before.id],
        )
        .await?;
    let input = RecordInput {
        record_type: before.record_type.clone(),
        name: edit.name.clone().unwrap_or_else(|| before.name.clone()),
        content: edit.content.clone().unwrap_or_else(|| before.content.clone()),
        ttl: Some(edit.ttl.unwrap_or(before.ttl)),
        priority: edit.priority.or(before.priority),
        proxied: edit.proxied.unwrap_or(before.proxied),
    };
    let v = validate(&z.name, &input)?;
    cname_conflict(&mut tx, z.id, &v.name, &v.record_type, Some(before.id)).await?;
    tx.execute(
        "UPDATE dns_records SET name = $2, content = $3, ttl = $4, priority = $5, proxied = $6, sync_status = 'pending', \
         last_error = NULL, updated_at = $7 WHERE id = $1",
        args![before.id, v.name.as_str(), v.content.as_str(), v.ttl, v.priority, v.proxied, now()],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "dns.record.edit",
            entity: "dns_record",
            entity_id: Some(before.id.to_string()),
            tenant_id: Some(z.tenant_id),
            before: Some(json!({ "name": before.name, "content": before.content, "ttl": before.ttl, "priority": before.priority, "proxied": before.proxied })),
            after: Some(json!({ "name": v.name, "content": v.content, "ttl": v.ttl, "priority": v.priority, "proxied": v.proxied })),
        },
    )
    .await?;
    let job = enqueue_sync(&mut tx, z.id, &z.name, z.tenant_id, &actor.name).await?;
    let rec = record_in(&mut tx, z.id, &before.id.simple().to_string()).await?;
    tx.after_commit(CHANNEL, z.name.clone());
    tx.commit().await?;
    Ok((rec, job))
}

/// Removes a record (`dns:manage`): marked `deleting`, deleted at Cloudflare by the job,
/// then here. A record never pushed goes at once.
pub async fn remove_record(
    db: &Db,
    actor: &Actor,
    zone: &str,
    key: &str,
) -> Result<(Record, Option<Job>), ServiceError> {
    require(actor, Permission::DnsManage)?;
    let mut tx = db.begin().await?;
    let z = zone_in(&mut tx, actor, zone).await?;
    let r = record_in(&mut tx, z.id, key).await?;
    let job = if r.external_id.is_some() {
        tx.execute(
            "UPDATE dns_records SET sync_status = 'deleting', updated_at = $2 WHERE id = $1",
            args![r.id, now()],
        )
        .await?;
        Some(enqueue_sync(&mut tx, z.id, &z.name, z.tenant_id, &actor.name).await?)
    } else {
        tx.execute("DELETE FROM dns_records WHERE id = $1", args![r.id]).await?;
        None
    };
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "dns.record.remove",
            entity: "dns_record",
            entity_id: Some(r.id.to_string()),
            tenant_id: Some(z.tenant_id),
            before: Some(json!({ "zone": z.name, "type": r.record_type, "name": r.name, "content": r.content })),
            after: None,
        },
    )
    .await?;
    tx.after_commit(CHANNEL, z.name.clone());
    tx.commit().await?;
    Ok((r, job))
}

/// Where zone changes are announced (screens refresh on it).
pub const CHANNEL: &str = "painel:dns";

/// Asks for a verification of `domain` now (`dns:manage`): enqueues `dns.verify` for it,
/// audited; the caller may watch the job.
pub async fn request_verify(db: &Db, actor: &Actor, domain: &str) -> Result<(Zone, Job), ServiceError> {
    require(actor, Permission::DnsManage)?;
    let mut tx = db.begin().await?;
    let z = zone_in(&mut tx, actor, domain).await?;
    let job = enqueue(
        &mut tx,
        NewJob {
            queue: QUEUE.into(),
            kind: VERIFY.into(),
            payload: json!({ "domain": z.name }),
            run_at: None,
            max_attempts: Some(3),
            unique_key: Some(format!("{VERIFY}:{}", z.name)),
            // Verification reads across tenants' resolvers config: platform work.
            tenant_id: None,
            enqueued_by: actor.name.clone(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "dns.verify.request",
            entity: "dns_zone",
            entity_id: Some(z.id.to_string()),
            tenant_id: Some(z.tenant_id),
            before: None,
            after: Some(json!({ "domain": z.name, "job_id": job.id })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((z, job))
}
