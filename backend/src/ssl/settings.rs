//! The SSL settings, kept in `settings` (docs/adr/0032): policy only — `ssl.renew_days` (per
//! tenant, else the platform's, else [`DEFAULT_RENEW_DAYS`]), below which a certificate is
//! `expiring` and AutoSSL is asked for, and the platform's `ssl.recheck_seconds`. Where the
//! checker connects and which extra roots it trusts are the process's configuration
//! (`[ssl]` in config.toml → [`super::ProbeConfig`] in `HostingEnv`), not settings.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{Db, Tx};
use crate::error::ServiceError;

pub const RENEW_DAYS: &str = "ssl.renew_days";
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

/// Sets how soon after an AutoSSL request the domain is checked again (platform-only,
/// `servers:manage`, audited), 1 to 86400 seconds.
pub async fn set_recheck_seconds(db: &Db, actor: &Actor, secs: i64) -> Result<(), ServiceError> {
    require(actor, Permission::ServersManage)?;
    if !(1..=86_400).contains(&secs) {
        return Err(ServiceError::invalid("recheck_seconds", "must be 1 to 86400"));
    }
    let mut tx = db.begin().await?;
    write(&mut tx, actor, None, RECHECK, json!(secs)).await?;
    tx.commit().await
}
