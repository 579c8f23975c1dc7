//! Creating, aborting and retrying migrations: permission (`migrations:read` to see,
//! `services:manage` to change — a migration moves a tenant's hosting), tenant scope,
//! validation, the row, its audit and its step job in one transaction. The password is sealed
//! bound to the row before it is stored and never leaves this layer in clear; nothing here
//! talks to a server (the step job does).

use serde_json::json;
use uuid::Uuid;

use super::run::enqueue_step;
use super::{get, Migration, CHANNEL, CREDENTIALS_CONTEXT, IDS};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::jobs::Job;
use crate::providers::whm::Secret;
use crate::secrets::Keys;
use crate::validate;

/// How the target logs in to the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// `root` (remote root session: root or a wheel user) or `user` (one cPanel account).
    pub kind: String,
    pub user: String,
    pub password: Secret,
}

/// What [`create`] takes.
#[derive(Clone, Debug)]
pub struct NewMigration {
    /// The tenant the migration is for (slug or id); scoped actors give none (their own).
    pub tenant: Option<String>,
    /// The customer the accounts belong to (optional; id or short id).
    pub customer: Option<String>,
    /// Source hostname or IP, optionally `host:port` or a URL (`https://host:2087`).
    pub source_host: String,
    /// The source's SSH port (root sessions).
    pub ssh_port: Option<u16>,
    pub credentials: Credentials,
    /// The cPanel usernames to move (a user session moves exactly its own).
    pub accounts: Vec<String>,
    /// The destination server (name or id): a WHM server shared or the tenant's own.
    pub target: String,
}

/// The most accounts one migration moves (one session; more is more migrations).
pub const MAX_ACCOUNTS: usize = 200;

fn err(field: &str, m: impl Into<String>) -> ServiceError {
    ServiceError::invalid(field, m)
}

/// `host`, `host:port` or `scheme://host[:port][/]`, the host a name or an IP.
pub fn source_host(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .unwrap_or(t)
        .trim_end_matches('/');
    if rest.is_empty() || rest.len() > 255 {
        return Err("a hostname or IP address".into());
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("port {p:?} is not a port number"));
        }
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ok = bare.parse::<std::net::IpAddr>().is_ok()
        || validate::domain(bare).is_ok()
        || (!bare.is_empty()
            && bare.len() <= 63
            && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !bare.starts_with('-'));
    if !ok {
        return Err(format!("{host:?} is not a hostname or IP address"));
    }
    Ok(t.trim_end_matches('/').to_owned())
}

/// A cPanel username as WHM takes it.
pub fn cpanel_user(raw: &str) -> Result<String, String> {
    let u = raw.trim();
    let ok = !u.is_empty()
        && u.len() <= 16
        && u.starts_with(|c: char| c.is_ascii_lowercase())
        && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(u.to_owned())
    } else {
        Err(format!(
            "{u:?} is not a cPanel username (lowercase letters and digits, up to 16)"
        ))
    }
}

fn check(input: &NewMigration) -> Result<(String, Vec<String>), ServiceError> {
    let host = source_host(&input.source_host).map_err(|m| err("source_host", m))?;
    let c = &input.credentials;
    if c.kind != "root" && c.kind != "user" {
        return Err(err("auth", "root or user"));
    }
    if c.password.is_empty() || c.password.expose().len() > 1024 {
        return Err(err("password", "the source's password is required"));
    }
    let user = c.user.trim();
    if user.is_empty() || user.len() > 32 || !user.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch)) {
        return Err(err("user", "a login name on the source"));
    }
    let mut accounts = Vec::new();
    for a in &input.accounts {
        let a = cpanel_user(a).map_err(|m| err("accounts", m))?;
        if !accounts.contains(&a) {
            accounts.push(a);
        }
    }
    if c.kind == "user" {
        let own = cpanel_user(user).map_err(|m| err("user", m))?;
        if accounts.iter().any(|a| *a != own) {
            return Err(err("accounts", "a cPanel user's session moves only that account"));
        }
        accounts = vec![own];
    }
    if accounts.is_empty() {
        return Err(err("accounts", "at least one account to move"));
    }
    if accounts.len() > MAX_ACCOUNTS {
        return Err(err("accounts", format!("at most {MAX_ACCOUNTS} per migration")));
    }
    Ok((host, accounts))
}

async fn tenant_of(db: &Db, actor: &Actor, key: Option<&str>) -> Result<Uuid, ServiceError> {
    match (actor.tenant_id, key.map(str::trim).filter(|k| !k.is_empty())) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(k)) => {
            let t = crate::tenants::get(db, actor, k).await?;
            if t.id != own {
                return Err(ServiceError::not_found("tenant", k));
            }
            Ok(own)
        }
        (None, Some(k)) => Ok(crate::tenants::get(db, actor, k).await?.id),
        (None, None) => Err(err("tenant", "platform staff name the tenant the migration is for")),
    }
}

/// The destination: a WHM server with a URL, shared or dedicated to `tenant`, not in
/// maintenance.
/// Read platform-wide: a tenant's view (row-level security) hides the shared servers it may
/// still move accounts to.
async fn target_of(db: &Db, tenant: Uuid, key: &str) -> Result<(Uuid, String), ServiceError> {
    let key = key.trim();
    let by_id = Uuid::parse_str(key).ok();
    let row: Option<(Uuid, String, String, Option<String>, String)> = db
        .scoped(None)
        .fetch_optional(
            "SELECT id, name, kind, whm_url, status FROM servers WHERE (id = $1 OR name = $2) \
             AND (tenant_id IS NULL OR tenant_id = $3)",
            args![by_id, key, tenant],
        )
        .await?;
    let Some((id, name, kind, url, status)) = row else {
        return Err(err("target", format!("no WHM server {key:?} for this tenant")));
    };
    if !(kind == "whm" || kind == "cpanel") || url.as_deref().is_none_or(|u| u.trim().is_empty()) {
        return Err(err("target", format!("{name} is not a WHM server with an API URL")));
    }
    if status == "maintenance" {
        return Err(err("target", format!("{name} is in maintenance")));
    }
    Ok((id, name))
}

fn seal(keys: Option<&Keys>, id: Uuid, password: &Secret) -> Result<Vec<u8>, ServiceError> {
    let keys = keys.ok_or_else(|| {
        ServiceError::Unavailable("no master key loaded: the source's password cannot be stored sealed".into())
    })?;
    keys.encrypt_str(CREDENTIALS_CONTEXT, id, password.expose())
        .map_err(|e| ServiceError::Unavailable(format!("cannot seal the credentials: {e}")))
}

/// Creates a migration (queued, step `validate`) and its first step job; returns it with the
/// job. The password is sealed to the row; `keys` are the deployment's secrets keys.
pub async fn create(
    db: &Db,
    actor: &Actor,
    keys: Option<&Keys>,
    input: NewMigration,
) -> Result<(Migration, Job), ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let (host, accounts) = check(&input)?;
    let tenant = tenant_of(db, actor, input.tenant.as_deref()).await?;
    let customer = match input.customer.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            let cust = crate::customers::get(db, actor, c).await?;
            if cust.tenant_id != tenant {
                return Err(err("customer", "belongs to another tenant"));
            }
            Some(cust.id)
        }
        None => None,
    };
    let id = Uuid::now_v7();
    let sealed = seal(keys, id, &input.credentials.password)?;
    let (server_id, server_name) = target_of(db, tenant, &input.target).await?;
    let mut tx = db.begin().await?;
    let busy: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM migrations WHERE tenant_id = $1 AND source_host = $2 AND target_server_id = $3 \
             AND status IN ('queued', 'validating', 'running') AND accounts = $4",
            args![tenant, host.as_str(), server_id, json!(accounts).to_string()],
        )
        .await?;
    if busy > 0 {
        return Err(ServiceError::Conflict(
            "the same accounts are already being moved to that server".into(),
        ));
    }
    let at = now();
    let c = &input.credentials;
    tx.execute(
        "INSERT INTO migrations (id, tenant_id, customer_id, source_host, source_user, target_server_id, status, \
         stage, progress, auth_kind, accounts, ssh_port, credentials_enc, step, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', 'credentials', 0, $7, $8, $9, $10, 'validate', $11, $11)",
        args![
            id,
            tenant,
            customer,
            host.as_str(),
            c.user.trim(),
            server_id,
            c.kind.as_str(),
            json!(accounts).to_string(),
            input.ssh_port.map(i64::from),
            sealed,
            at,
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "migration.create",
            entity: "migration",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({
                "source_host": host, "source_user": c.user.trim(), "auth": c.kind, "accounts": accounts,
                "target": server_name, "credentials": "sealed",
            })),
        },
    )
    .await?;
    let job = enqueue_step(&mut tx, &actor.name, tenant, id, 0, None).await?;
    tx.after_commit(CHANNEL, id.to_string());
    tx.commit().await?;
    Ok((get(db, actor, &id.to_string()).await?, job))
}

async fn for_update(tx: &mut Tx, actor: &Actor, id: Uuid) -> Result<(Migration, i64), ServiceError> {
    let m: Option<Migration> = tx
        .fetch_optional(
            &format!(
                "SELECT {} FROM {} WHERE x.id = $1 AND ($2 IS NULL OR x.tenant_id = $2)",
                super::COLUMNS,
                super::FROM
            ),
            args![id, actor.tenant_id],
        )
        .await?;
    let m = m.ok_or_else(|| ServiceError::not_found("migration", id.to_string()))?;
    let tick: i64 = tx
        .scalar("SELECT tick FROM migrations WHERE id = $1", args![id])
        .await?;
    Ok((m, tick))
}

async fn resolve(db: &Db, actor: &Actor, key: &str) -> Result<Uuid, ServiceError> {
    let id = crate::ids::expand(db, actor, &IDS, key).await?;
    Uuid::parse_str(id.trim()).map_err(|_| ServiceError::not_found("migration", key))
}

/// Asks a running or queued migration to stop: the step job aborts the WHM session (if one
/// runs) and ends the migration `aborted`, credentials wiped. A failed one (which keeps its
/// credentials sealed for a retry) is given up the same way.
pub async fn abort(db: &Db, actor: &Actor, key: &str) -> Result<(Migration, Job), ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let id = resolve(db, actor, key).await?;
    let mut tx = db.begin().await?;
    let (m, tick) = for_update(&mut tx, actor, id).await?;
    if m.is_finished() && m.status != "failed" {
        return Err(ServiceError::Conflict(format!("migration is already {}", m.status)));
    }
    if m.abort_requested && m.status != "failed" {
        return Err(ServiceError::Conflict("an abort is already under way".into()));
    }
    let tick = tick + 1;
    tx.execute(
        "UPDATE migrations SET abort_requested = $2, tick = $3, updated_at = $4, \
         step = CASE WHEN status = 'failed' THEN 'create' ELSE step END WHERE id = $1",
        args![id, true, tick, now()],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "migration.abort",
            entity: "migration",
            entity_id: Some(id.to_string()),
            tenant_id: Some(m.tenant_id),
            before: Some(json!({"status": m.status, "step": m.step})),
            after: Some(json!({"abort_requested": true})),
        },
    )
    .await?;
    let job = enqueue_step(&mut tx, &actor.name, m.tenant_id, id, tick, None).await?;
    tx.after_commit(CHANNEL, id.to_string());
    tx.commit().await?;
    Ok((get(db, actor, &id.to_string()).await?, job))
}

/// Runs a failed or aborted migration again: a new WHM session for the accounts not yet on
/// the target. A failed migration still holds its credentials sealed, so `password` may be
/// empty (they are reused); an aborted one had them wiped and needs it again.
pub async fn retry(
    db: &Db,
    actor: &Actor,
    keys: Option<&Keys>,
    key: &str,
    password: Secret,
) -> Result<(Migration, Job), ServiceError> {
    require(actor, Permission::ServicesManage)?;
    let id = resolve(db, actor, key).await?;
    let sealed = if password.is_empty() {
        None
    } else {
        Some(seal(keys, id, &password)?)
    };
    let given = sealed.is_some();
    let mut tx = db.begin().await?;
    let (m, tick) = for_update(&mut tx, actor, id).await?;
    if !(m.status == "failed" || m.status == "aborted") {
        return Err(ServiceError::Conflict(format!(
            "only a failed or aborted migration is retried (this one is {})",
            m.status
        )));
    }
    if sealed.is_none() && !m.credentials_held {
        return Err(err(
            "password",
            "the source's password is required again (it was wiped when the migration was aborted)",
        ));
    }
    let tick = tick + 1;
    tx.execute(
        "UPDATE migrations SET status = 'queued', step = 'validate', stage = 'credentials', error = NULL, \
         transfer_session_id = NULL, enqueued = 0, log_seen = 0, abort_requested = $2, \
         credentials_enc = COALESCE($3, credentials_enc), \
         tick = $4, finished_at = NULL, updated_at = $5 WHERE id = $1",
        args![id, false, sealed, tick, now()],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "migration.retry",
            entity: "migration",
            entity_id: Some(id.to_string()),
            tenant_id: Some(m.tenant_id),
            before: Some(json!({"status": m.status, "error": m.error})),
            after: Some(json!({"status": "queued", "credentials": if given { "given" } else { "reused" }})),
        },
    )
    .await?;
    let job = enqueue_step(&mut tx, &actor.name, m.tenant_id, id, tick, None).await?;
    tx.after_commit(CHANNEL, id.to_string());
    tx.commit().await?;
    Ok((get(db, actor, &id.to_string()).await?, job))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "src.example.com.br",
            "203.0.113.7",
            "127.0.0.1:4431",
            "https://127.0.0.1:4431/",
            "whm-old-01",
            "[::1]:2087",
        ] {
            assert!(source_host(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "host:0", "host:99999", "x;rm -rf", "-x"] {
            assert!(source_host(bad).is_err(), "{bad}");
        }
        assert_eq!(source_host("https://h.example.com/").unwrap(), "https://h.example.com");
        assert!(cpanel_user("joao01").is_ok());
        assert!(cpanel_user("1joao").is_err());
        assert!(cpanel_user("Joao").is_err());
    }
}
