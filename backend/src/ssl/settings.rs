//! The SSL settings, kept in `settings` (docs/adr/0032): `ssl.renew_days` (per tenant, else
//! the platform's, else [`DEFAULT_RENEW_DAYS`]) — below it a certificate is `expiring` and
//! AutoSSL is asked for — and, platform-only, where the checker connects (`ssl.connect`:
//! a domain or `server:<name>` → `host:port`) and which extra roots it trusts
//! (`ssl.trust`: base64 DER certificates). The sandbox and the tests point the checker at
//! loopback this way; production leaves both empty (the service's server IP on :443, Mozilla's
//! roots).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Value};
use uuid::Uuid;

use super::probe::ProbeConfig;
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{Db, Tx};
use crate::error::ServiceError;

pub const RENEW_DAYS: &str = "ssl.renew_days";
pub const CONNECT: &str = "ssl.connect";
pub const TRUST: &str = "ssl.trust";
pub const RECHECK: &str = "ssl.recheck_seconds";
/// How long after asking for AutoSSL the domain is checked again (issuance takes minutes).
pub const DEFAULT_RECHECK_SECS: i64 = 300;
pub const DEFAULT_RENEW_DAYS: i64 = 21;

async fn read(db: &Db, tenant: Option<Uuid>, key: &str) -> Result<Option<Value>, ServiceError> {
    let row: Option<(String,)> = match tenant {
        Some(t) => {
            db.fetch_optional(
                "SELECT CAST(value AS TEXT) FROM settings WHERE key = $1 AND (tenant_id = $2 OR tenant_id IS NULL) \
                 ORDER BY CASE WHEN tenant_id IS NULL THEN 1 ELSE 0 END LIMIT 1",
                args![key, t],
            )
            .await?
        }
        None => {
            db.fetch_optional(
                "SELECT CAST(value AS TEXT) FROM settings WHERE key = $1 AND tenant_id IS NULL",
                args![key],
            )
            .await?
        }
    };
    Ok(row.and_then(|(v,)| serde_json::from_str(&v).ok()))
}

/// The renewal window of `tenant` in days.
pub async fn renew_days(db: &Db, tenant: Option<Uuid>) -> Result<i64, ServiceError> {
    Ok(read(db, tenant, RENEW_DAYS)
        .await?
        .and_then(|v| v.as_i64())
        .filter(|d| (1..=365).contains(d))
        .unwrap_or(DEFAULT_RENEW_DAYS))
}

/// How long after an AutoSSL request the domain is checked again.
pub async fn recheck_after(db: &Db) -> Result<chrono::TimeDelta, ServiceError> {
    let secs = read(db, None, RECHECK)
        .await?
        .and_then(|v| v.as_i64())
        .filter(|s| (1..=86_400).contains(s))
        .unwrap_or(DEFAULT_RECHECK_SECS);
    Ok(chrono::TimeDelta::seconds(secs))
}

/// The checker's configuration as the platform settings say.
pub async fn probe_config(db: &Db) -> Result<ProbeConfig, ServiceError> {
    let mut cfg = ProbeConfig::default();
    if let Some(Value::Object(m)) = read(db, None, CONNECT).await? {
        cfg.connect = m
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.to_lowercase(), s.to_owned())))
            .collect();
    }
    if let Some(Value::Array(a)) = read(db, None, TRUST).await? {
        let b64 = base64::engine::general_purpose::STANDARD;
        cfg.extra_roots = a
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|s| b64.decode(s).ok())
            .collect();
    }
    Ok(cfg)
}

async fn write(tx: &mut Tx, actor: &Actor, tenant: Option<Uuid>, key: &str, value: Value) -> Result<(), ServiceError> {
    let before: Option<(String,)> = match tenant {
        Some(t) => {
            tx.fetch_optional(
                "SELECT CAST(value AS TEXT) FROM settings WHERE key = $1 AND tenant_id = $2",
                args![key, t],
            )
            .await?
        }
        None => {
            tx.fetch_optional(
                "SELECT CAST(value AS TEXT) FROM settings WHERE key = $1 AND tenant_id IS NULL",
                args![key],
            )
            .await?
        }
    };
    match tenant {
        Some(t) => {
            tx.execute("DELETE FROM settings WHERE key = $1 AND tenant_id = $2", args![key, t])
                .await?
        }
        None => {
            tx.execute("DELETE FROM settings WHERE key = $1 AND tenant_id IS NULL", args![key])
                .await?
        }
    };
    tx.execute(
        "INSERT INTO settings (id, tenant_id, key, value, updated_at) VALUES ($1, $2, $3, $4, $5)",
        args![Uuid::now_v7(), tenant, key, value.clone(), crate::db::now()],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "setting.update",
            entity: "setting",
            entity_id: Some(key.to_owned()),
            tenant_id: tenant,
            before: before.and_then(|(v,)| serde_json::from_str(&v).ok()),
            after: Some(value),
        },
    )
    .await?;
    Ok(())
}

/// Sets the renewal window: a tenant user for its tenant (`tenants:update`), platform staff
/// for `tenant` or, with `None`, the platform default. 1 to 365 days.
pub async fn set_renew_days(db: &Db, actor: &Actor, tenant: Option<Uuid>, days: i64) -> Result<(), ServiceError> {
    require(actor, Permission::TenantsUpdate)?;
    if !(1..=365).contains(&days) {
        return Err(ServiceError::invalid("renew_days", "must be 1 to 365 days"));
    }
    let tenant = match (actor.tenant_id, tenant) {
        (Some(own), None) => Some(own),
        (Some(own), Some(t)) if own == t => Some(t),
        (Some(_), Some(_)) => {
            return Err(ServiceError::PermissionDenied(
                "a tenant user sets its own tenant's window only".into(),
            ))
        }
        (None, t) => t,
    };
    let mut tx = db.begin().await?;
    write(&mut tx, actor, tenant, RENEW_DAYS, json!(days)).await?;
    tx.commit().await
}

/// Sets where the checker connects, which extra roots it trusts and how soon after AutoSSL
/// it looks again (platform-only,
/// `servers:manage`, audited): infrastructure, like a server's URL.
pub async fn set_probe_config(
    db: &Db,
    actor: &Actor,
    connect: &BTreeMap<String, String>,
    trust_der: &[Vec<u8>],
    recheck_secs: Option<i64>,
) -> Result<(), ServiceError> {
    require(actor, Permission::ServersManage)?;
    for (k, v) in connect {
        if k.trim().is_empty() || v.parse::<std::net::SocketAddr>().is_err() && !v.contains(':') {
            return Err(ServiceError::invalid("connect", format!("{k} → {v}: give host:port")));
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let trust: Vec<String> = trust_der.iter().map(|d| b64.encode(d)).collect();
    let mut tx = db.begin().await?;
    write(&mut tx, actor, None, CONNECT, json!(connect)).await?;
    write(&mut tx, actor, None, TRUST, json!(trust)).await?;
    if let Some(secs) = recheck_secs {
        if !(1..=86_400).contains(&secs) {
            return Err(ServiceError::invalid("recheck_seconds", "must be 1 to 86400"));
        }
        write(&mut tx, actor, None, RECHECK, json!(secs)).await?;
    }
    tx.commit().await
}
