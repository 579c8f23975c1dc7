//! API keys for the public reseller API (docs/adr/0010-api-keys.md): created per tenant with
//! scopes, the whole key shown once, stored as SHA-256 beside a visible prefix, revocable.
//!
//! * this module — the operators' side: `create`, `list`, `get`, `revoke` (permission
//!   `apikeys:read` / `apikeys:manage`, tenant-scoped, audited without the secret);
//! * [`token`] — the key format and `authenticate`, which the HTTP API calls per request.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{self, require, Permission};
use crate::db::{now, Arg, Backend, Db, Tx};
use crate::error::{FieldError, ServiceError};
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};
use crate::{args, tenants, validate};

pub mod token;

pub use token::{authenticate, authenticate_at, ApiPrincipal, INVALID_KEY, LAST_USED_EVERY};

pub const MAX_PAGE: usize = 500;

const COLUMNS: &str = "k.id, k.tenant_id, t.slug AS tenant_slug, k.user_id, k.name, k.prefix, k.scopes, \
    k.rate_limit_per_minute, k.burst, k.expires_at, k.last_used_at, k.last_used_source, k.revoked_at, \
    k.created_at, k.updated_at";
const FROM: &str = "FROM api_keys k JOIN tenants t ON t.id = k.tenant_id";

/// An API key as services show it: never the secret, never its hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    /// Who created it (`None` for the local operator and internal work).
    pub user_id: Option<Uuid>,
    pub name: String,
    /// The public part of the key (`pk_<prefix>_…`), shown in lists to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// `None`: the tenant's defaults.
    pub rate_limit_per_minute: Option<i64>,
    pub burst: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_source: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `active`, `expired` or `revoked`, as of the read.
    pub status: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Uuid,
    tenant_slug: String,
    user_id: Option<Uuid>,
    name: String,
    prefix: String,
    scopes: Value,
    rate_limit_per_minute: Option<i64>,
    burst: Option<i64>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    last_used_source: Option<String>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) fn status_at(
    revoked: Option<DateTime<Utc>>,
    expires: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> &'static str {
    if revoked.is_some() {
        "revoked"
    } else if expires.is_some_and(|e| e <= at) {
        "expired"
    } else {
        "active"
    }
}

pub(crate) fn scope_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

impl From<Row> for ApiKey {
    fn from(r: Row) -> ApiKey {
        ApiKey {
            status: status_at(r.revoked_at, r.expires_at, now()).to_owned(),
            scopes: scope_list(&r.scopes),
            id: r.id,
            tenant_id: r.tenant_id,
            tenant_slug: r.tenant_slug,
            user_id: r.user_id,
            name: r.name,
            prefix: r.prefix,
            rate_limit_per_minute: r.rate_limit_per_minute,
            burst: r.burst,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            last_used_source: r.last_used_source,
            revoked_at: r.revoked_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    /// Tenant id or slug.
    pub tenant: String,
    pub name: String,
    /// Permission keys (`customers:read`).
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_limit_per_minute: Option<i64>,
    pub burst: Option<i64>,
}

/// A key just created: `secret` is the whole key (`pk_<prefix>_<secret>`), shown here once and
/// never stored. `Debug` hides it.
#[derive(Clone, Serialize)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    pub secret: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &self.key)
            .field("secret", &audit::REDACTED)
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
pub struct ApiKeyQuery {
    /// Tenant id or slug; `None` lists every tenant the actor sees.
    pub tenant: Option<String>,
    pub limit: usize,
    pub at: PageAt,
}

/// The scopes as permissions, deduplicated and sorted; unknown keys are validation errors.
fn parse_scopes(raw: &[String]) -> Result<Vec<Permission>, String> {
    let mut out: Vec<Permission> = Vec::new();
    let mut unknown = Vec::new();
    for s in raw
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match Permission::parse(s) {
            Some(p) if !out.contains(&p) => out.push(p),
            Some(_) => {}
            None => unknown.push(s.to_owned()),
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "unknown permission {} (known: {})",
            unknown.join(", "),
            Permission::ALL
                .iter()
                .filter(|p| !authz::platform_only(**p))
                .map(|p| p.key())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if out.is_empty() {
        return Err("give at least one scope (a permission key such as customers:read)".into());
    }
    out.sort_by_key(|p| p.key());
    Ok(out)
}

/// Checks, in this order, that the actor holds every scope it grants (no escalation through
/// keys: PermissionDenied) and that none is platform-only (a key acts inside one tenant, so
/// such a scope could never be used: a validation error, reached only by platform staff).
fn grantable(actor: &Actor, scopes: &[Permission]) -> Result<(), ServiceError> {
    if let Some(p) = scopes.iter().find(|p| !authz::allows(actor, **p)) {
        return Err(ServiceError::PermissionDenied(format!(
            "{} ({}) cannot grant {}: the role lacks it",
            actor.name,
            actor.role.as_str(),
            p.key()
        )));
    }
    let platform: Vec<&str> = scopes
        .iter()
        .filter(|p| authz::platform_only(**p))
        .map(|p| p.key())
        .collect();
    if !platform.is_empty() {
        return Err(ServiceError::invalid(
            "scopes",
            format!(
                "{} is for platform staff only; a tenant's key cannot hold it",
                platform.join(", ")
            ),
        ));
    }
    Ok(())
}

fn positive(field: &str, v: Option<i64>, e: &mut Vec<FieldError>) {
    if v.is_some_and(|n| n <= 0) {
        e.push(FieldError {
            field: field.to_owned(),
            message: "must be a positive number".into(),
        });
    }
}

pub async fn create(db: &Db, actor: &Actor, input: NewApiKey) -> Result<CreatedApiKey, ServiceError> {
    require(actor, Permission::ApikeysManage)?;
    let tenant = tenants::get(db, actor, &input.tenant).await?;
    let mut e: Vec<FieldError> = Vec::new();
    let name = validate::name(&input.name, 120).unwrap_or_else(|message| {
        e.push(FieldError {
            field: "name".into(),
            message,
        });
        String::new()
    });
    let scopes = parse_scopes(&input.scopes).unwrap_or_else(|message| {
        e.push(FieldError {
            field: "scopes".into(),
            message,
        });
        Vec::new()
    });
    let at = now();
    if input.expires_at.is_some_and(|x| x <= at) {
        e.push(FieldError {
            field: "expires_at".into(),
            message: "must be in the future".into(),
        });
    }
    positive("rate_limit_per_minute", input.rate_limit_per_minute, &mut e);
    positive("burst", input.burst, &mut e);
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    grantable(actor, &scopes)?;
    if tenant.status != "active" {
        return Err(ServiceError::Conflict(format!(
            "tenant {} is {}",
            tenant.slug, tenant.status
        )));
    }
    let fresh = token::generate()?;
    let id = Uuid::now_v7();
    let scope_json = Value::Array(scopes.iter().map(|p| Value::String(p.key().to_owned())).collect());
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, scopes, rate_limit_per_minute, burst, \
         expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        args![
            id,
            tenant.id,
            actor.user_id,
            name.as_str(),
            fresh.prefix.as_str(),
            fresh.hash.as_str(),
            scope_json,
            input.rate_limit_per_minute,
            input.burst,
            input.expires_at,
            at,
        ],
    )
    .await?;
    let key = fetch_in(&mut tx, id, false).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "apikey.create",
            entity: "api_key",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: snapshot(&key),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedApiKey {
        key,
        secret: fresh.token,
    })
}

async fn fetch_in(tx: &mut Tx, id: Uuid, lock: bool) -> Result<ApiKey, ServiceError> {
    // FOR UPDATE OF k: PostgreSQL must not lock the joined tenant row as well.
    let lock = if lock && tx.backend() == Backend::Postgres {
        " FOR UPDATE OF k"
    } else {
        ""
    };
    let row: Option<Row> = tx
        .fetch_optional(&format!("SELECT {COLUMNS} {FROM} WHERE k.id = $1{lock}"), args![id])
        .await?;
    row.map(ApiKey::from)
        .ok_or_else(|| ServiceError::not_found("api key", id.to_string()))
}

/// `id` (UUID) or the prefix as lists show it (`pk_` in front is accepted).
fn lookup(key: &str) -> (String, Arg) {
    let key = key.trim();
    match Uuid::parse_str(key) {
        Ok(id) => (format!("SELECT {COLUMNS} {FROM} WHERE k.id = $1"), Arg::from(id)),
        Err(_) => (
            format!("SELECT {COLUMNS} {FROM} WHERE k.prefix = $1"),
            Arg::from(key.strip_prefix("pk_").unwrap_or(key).to_owned()),
        ),
    }
}

// Other tenants' keys are reported as missing, so ids and prefixes cannot be probed.
fn visible(actor: &Actor, k: Option<Row>, key: &str) -> Result<ApiKey, ServiceError> {
    match k {
        Some(k) if actor.sees_tenant(k.tenant_id) => Ok(k.into()),
        _ => Err(ServiceError::not_found("api key", key.trim())),
    }
}

pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<ApiKey, ServiceError> {
    require(actor, Permission::ApikeysRead)?;
    visible(actor, find(db, actor, key).await?, key)
}

/// By id, key prefix (`pk_…`), or a unique id prefix when no key prefix matches.
async fn find(db: &Db, actor: &Actor, key: &str) -> Result<Option<Row>, ServiceError> {
    let (sql, arg) = lookup(key);
    let row: Option<Row> = db.fetch_optional(&sql, vec![arg]).await?;
    if row.is_some() || crate::ids::short_hex(key).is_none() {
        return Ok(row);
    }
    let id = crate::ids::expand(db, actor, &crate::ids::API_KEYS, key).await?;
    let (sql, arg) = lookup(&id);
    db.fetch_optional(&sql, vec![arg]).await
}

/// Keys by tenant, then name.
pub async fn list(db: &Db, actor: &Actor, q: &ApiKeyQuery) -> Result<Page<ApiKey>, ServiceError> {
    require(actor, Permission::ApikeysRead)?;
    let limit = q.limit.clamp(1, MAX_PAGE);
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Some(scope) = actor.tenant_id {
        args.push(scope.into());
        conds.push(format!("k.tenant_id = ${}", args.len()));
    }
    if let Some(key) = q.tenant.as_deref().filter(|t| !t.trim().is_empty()) {
        let t = tenants::get(db, actor, key).await?;
        args.push(t.id.into());
        conds.push(format!("k.tenant_id = ${}", args.len()));
    }
    let cols = ["t.slug", "k.name", "k.id"];
    let order = apply_keyset(&cols, SortDir::Asc, &q.at, &mut conds, &mut args)?;
    let sql = format!(
        "SELECT {COLUMNS} {FROM} {} ORDER BY {order} LIMIT {}",
        where_clause(&conds),
        limit + 1
    );
    let rows: Vec<Row> = db.fetch_all(&sql, args).await?;
    let keys: Vec<ApiKey> = rows.into_iter().map(ApiKey::from).collect();
    Ok(finish(keys, limit, &q.at, |k| {
        Cursor(vec![
            KeyPart::Text(k.tenant_slug.clone()),
            KeyPart::Text(k.name.clone()),
            KeyPart::Uuid(k.id),
        ])
    }))
}

/// Revokes a key at once: the next request with it is refused. Already revoked = Conflict.
pub async fn revoke(db: &Db, actor: &Actor, key: &str) -> Result<ApiKey, ServiceError> {
    require(actor, Permission::ApikeysManage)?;
    let found = find(db, actor, key).await?;
    let id = visible(actor, found, key)?.id;
    let mut tx = db.begin().await?;
    let before = fetch_in(&mut tx, id, true).await?;
    if before.revoked_at.is_some() {
        return Err(ServiceError::Conflict(format!(
            "api key {} is already revoked",
            before.prefix
        )));
    }
    let at = now();
    tx.execute(
        "UPDATE api_keys SET revoked_at = $2, updated_at = $2 WHERE id = $1",
        args![id, at],
    )
    .await?;
    let after = fetch_in(&mut tx, id, false).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "apikey.revoke",
            entity: "api_key",
            entity_id: Some(id.to_string()),
            tenant_id: Some(after.tenant_id),
            before: snapshot(&before),
            after: snapshot(&after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scopes_are_known_tenant_permissions_deduplicated_and_sorted() {
        let p = parse_scopes(&strings(&["services:read", "customers:read,services:read"])).unwrap();
        assert_eq!(p, vec![Permission::CustomersRead, Permission::ServicesRead]);
        assert!(parse_scopes(&strings(&["customers:read", "root:all"]))
            .unwrap_err()
            .contains("unknown permission root:all"));
        let platform = Actor::system("t");
        let scopes = parse_scopes(&strings(&["servers:read"])).unwrap();
        assert!(grantable(&platform, &scopes)
            .unwrap_err()
            .to_string()
            .contains("platform staff only"));
        let tenant_admin = Actor::tenant_user("a", crate::Role::TenantAdmin, Uuid::nil());
        assert!(matches!(
            grantable(&tenant_admin, &scopes),
            Err(ServiceError::PermissionDenied(_))
        ));
        assert!(parse_scopes(&strings(&[" ", ""])).unwrap_err().contains("at least one"));
    }

    #[test]
    fn status_follows_revocation_then_expiry() {
        let t = now();
        let past = Some(t - chrono::TimeDelta::seconds(1));
        assert_eq!(status_at(None, None, t), "active");
        assert_eq!(status_at(None, Some(t + chrono::TimeDelta::hours(1)), t), "active");
        assert_eq!(status_at(None, past, t), "expired");
        assert_eq!(status_at(past, past, t), "revoked");
    }
}
