//! Servers: the WHM/cPanel (and other) hosts painel places services on. Platform-only:
//! `servers:read` to see them, `servers:manage` to change them (docs/adr/0020).
//!
//! Each change follows the house pattern: permission → validation → `BEGIN` → read for update →
//! write → audit → `COMMIT`. The API token is sealed with the row's id in the associated data
//! (`servers.api_token_enc`) and never read back here: callers only learn whether one is set.
//! The TLS choice for a server's certificate is audited on a row of its own, so a weakened
//! policy (`trust`) is easy to find in the log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Backend, Db, Tx};
use crate::error::{FieldError, ServiceError};
use crate::secrets::Keys;
use crate::{args, sensitive, validate};

pub use super::tls::TlsChoice;

pub const KINDS: [&str; 7] = ["whm", "cpanel", "xui", "xtream", "dns", "mail", "other"];
pub const STATUSES: [&str; 4] = ["online", "degraded", "offline", "maintenance"];
/// Service statuses that pin a service to its server: removing the server is refused.
pub const HOSTING_STATUSES: [&str; 3] = ["active", "suspended", "provisioning"];
/// The secrets layer's context of the sealed token (shared with `connect`, which opens it).
pub use super::connect::TOKEN_CONTEXT;

pub(crate) const COLUMNS: &str = "id, tenant_id, name, hostname, ip, region, kind, whm_url, api_user, \
    (api_token_enc IS NOT NULL) AS token_set, tls_mode, tls_pin_sha256, status, max_accounts, accounts_count, \
    disk_total_gb, disk_used_gb, last_error, last_checked_at, last_ok_at, consecutive_failures, whm_version, \
    last_test_at, last_test_error, created_at, updated_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Server {
    pub id: Uuid,
    /// Set: dedicated to one tenant; `None`: shared.
    pub tenant_id: Option<Uuid>,
    pub name: String,
    pub hostname: String,
    pub ip: String,
    pub region: String,
    pub kind: String,
    pub whm_url: Option<String>,
    pub api_user: Option<String>,
    /// Whether a token is stored; the token itself never leaves the secrets layer.
    pub token_set: bool,
    /// `verify` (the system's roots), `pin` (the certificate's SHA-256) or `trust` (any).
    pub tls_mode: String,
    pub tls_pin_sha256: Option<String>,
    pub status: String,
    pub max_accounts: Option<i64>,
    pub accounts_count: i64,
    pub disk_total_gb: i64,
    pub disk_used_gb: i64,
    pub last_error: Option<String>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub consecutive_failures: i64,
    pub whm_version: Option<String>,
    pub last_test_at: Option<DateTime<Utc>>,
    pub last_test_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Server {
    pub fn tls(&self) -> TlsChoice {
        TlsChoice::from_columns(&self.tls_mode, self.tls_pin_sha256.as_deref())
    }

    /// Whether painel talks WHM API 1 to it (polls, tests, provisioning).
    pub fn speaks_whm(&self) -> bool {
        matches!(self.kind.as_str(), "whm" | "cpanel") && self.whm_url.is_some()
    }
}

/// A new server. Empty strings take the defaults (kind `whm`, user `root`, TLS `verify`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewServer {
    pub name: String,
    pub hostname: String,
    pub ip: String,
    pub region: String,
    pub kind: String,
    pub whm_url: String,
    pub api_user: String,
    pub api_token: String,
    /// `verify`, `pin:<sha256 hex>` or `trust`.
    pub tls: String,
    pub max_accounts: Option<i64>,
    pub disk_total_gb: i64,
}

/// A partial update: `None` leaves a field as it is. An empty `whm_url` clears it; a token
/// replaces the stored one (it is never shown, so it cannot be edited in place).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerPatch {
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub region: Option<String>,
    pub whm_url: Option<String>,
    pub api_user: Option<String>,
    pub api_token: Option<String>,
    pub tls: Option<String>,
    /// `Some(None)`: unlimited.
    pub max_accounts: Option<Option<i64>>,
    pub disk_total_gb: Option<i64>,
    /// `maintenance` takes a server out of placement; `online` puts it back (the poller then
    /// keeps it honest).
    pub status: Option<String>,
}

impl ServerPatch {
    pub fn is_empty(&self) -> bool {
        self.hostname.is_none()
            && self.ip.is_none()
            && self.region.is_none()
            && self.whm_url.is_none()
            && self.api_user.is_none()
            && self.api_token.is_none()
            && self.tls.is_none()
            && self.max_accounts.is_none()
            && self.disk_total_gb.is_none()
            && self.status.is_none()
    }
}

#[derive(Debug, Clone, Default)]
pub struct ServerQuery {
    /// Case-insensitive "contains" over name, hostname and region.
    pub filter: Option<String>,
    pub status: Option<String>,
    pub region: Option<String>,
}

fn push(errors: &mut Vec<FieldError>, field: &str, r: Result<String, String>) -> String {
    r.unwrap_or_else(|message| {
        errors.push(FieldError {
            field: field.to_owned(),
            message,
        });
        String::new()
    })
}

/// A server's name: how operators and jobs refer to it (`whm-gru-01`).
pub fn check_name(raw: &str) -> Result<String, String> {
    validate::slug(raw)
}

pub fn check_ip(raw: &str) -> Result<String, String> {
    raw.trim()
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| "must be an IPv4 or IPv6 address".to_owned())
}

pub fn check_region(raw: &str) -> Result<String, String> {
    validate::slug(raw).map_err(|m| format!("{m} (e.g. sa-east-1)"))
}

/// The WHM base URL: `https://host[:port]`, no credentials, query or fragment; plain `http://`
/// only for loopback hosts (the simulators). The client's own check is the one rule: a row
/// this accepts is a row the client will open.
pub fn check_whm_url(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if reqwest::Url::parse(v).is_err() {
        return Err("must be a URL like https://whm.example.net:2087".to_owned());
    }
    match crate::providers::whm::check_base_url(v) {
        Ok(_) => Ok(v.trim_end_matches('/').to_owned()),
        Err(crate::providers::whm::WhmError::Config(m)) => {
            // "base URL <url>: <why>" → "<why>": the form already names the field.
            Err(m.split_once(": ").map_or(m.clone(), |(_, why)| why.to_owned()))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A WHM user: root or a reseller's login.
pub fn check_api_user(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() || v.len() > 32 {
        return Err("must be 1–32 characters".into());
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err("may contain only a-z, 0-9, '_' and '-'".into());
    }
    Ok(v.to_owned())
}

/// An API token: printable ASCII without spaces (it goes into an HTTP header).
pub fn check_token(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.len() < 8 || v.len() > 512 {
        return Err("must be 8–512 characters".into());
    }
    if !v.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces".into());
    }
    Ok(v.to_owned())
}

fn check_count(field: &str, v: i64) -> Result<i64, ServiceError> {
    if v < 0 {
        Err(ServiceError::invalid(field, "must be 0 or more"))
    } else {
        Ok(v)
    }
}

fn or_default<'a>(raw: &'a str, default: &'a str) -> &'a str {
    if raw.trim().is_empty() {
        default
    } else {
        raw
    }
}

fn change<'a>(action: &'a str, s: &Server, before: Option<&Server>, after: Option<&Server>) -> Change<'a> {
    Change {
        action,
        entity: "server",
        entity_id: Some(s.id.to_string()),
        tenant_id: s.tenant_id,
        before: before.and_then(snapshot),
        after: after.and_then(snapshot),
    }
}

/// The explicit audit row of a TLS policy set or changed.
async fn audit_tls(
    tx: &mut Tx,
    actor: &Actor,
    s: &Server,
    before: Option<&TlsChoice>,
    after: &TlsChoice,
) -> Result<(), ServiceError> {
    audit::record(
        tx,
        actor,
        Change {
            action: "server.tls",
            entity: "server",
            entity_id: Some(s.id.to_string()),
            tenant_id: s.tenant_id,
            before: before.map(|b| json!({"server": s.name, "tls": b.describe()})),
            after: Some(json!({"server": s.name, "tls": after.describe(), "verifies": after.verifies()})),
        },
    )
    .await?;
    Ok(())
}

fn seal(keys: &Keys, id: Uuid, token: &str) -> Result<Vec<u8>, ServiceError> {
    keys.encrypt_str(TOKEN_CONTEXT, id, token)
        .map_err(|e| ServiceError::Unavailable(format!("cannot seal the API token: {e}")))
}

/// Creates a server. `keys` seal the token; a token without keys is refused (it would have
/// to be stored in the clear).
pub async fn create(db: &Db, actor: &Actor, keys: Option<&Keys>, input: NewServer) -> Result<Server, ServiceError> {
    require(actor, Permission::ServersManage)?;
    let mut e = Vec::new();
    let name = push(&mut e, "name", check_name(&input.name));
    let hostname = push(&mut e, "hostname", validate::domain(&input.hostname));
    let ip = push(&mut e, "ip", check_ip(&input.ip));
    let region = push(&mut e, "region", check_region(&input.region));
    let kind = push(&mut e, "kind", validate::one_of(or_default(&input.kind, "whm"), &KINDS));
    let whm = matches!(kind.as_str(), "whm" | "cpanel");
    let whm_url = if input.whm_url.trim().is_empty() {
        if whm {
            e.push(FieldError {
                field: "whm_url".into(),
                message: "a WHM server needs its URL (https://host:2087)".into(),
            });
        }
        None
    } else {
        Some(push(&mut e, "whm_url", check_whm_url(&input.whm_url)))
    };
    let api_user = whm_url
        .as_ref()
        .map(|_| push(&mut e, "api_user", check_api_user(or_default(&input.api_user, "root"))));
    let token = if input.api_token.trim().is_empty() {
        None
    } else {
        Some(push(&mut e, "api_token", check_token(&input.api_token)))
    };
    let tls = match TlsChoice::parse(or_default(&input.tls, "verify")) {
        Ok(t) => t,
        Err(m) => {
            e.push(FieldError {
                field: "tls".into(),
                message: m,
            });
            TlsChoice::Verify
        }
    };
    if let Err(m) = validate::limit(input.max_accounts) {
        e.push(FieldError {
            field: "max_accounts".into(),
            message: m,
        });
    }
    if input.disk_total_gb < 0 {
        e.push(FieldError {
            field: "disk_total_gb".into(),
            message: "must be 0 or more".into(),
        });
    }
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    let id = Uuid::now_v7();
    let sealed = match (&token, keys) {
        (Some(t), Some(k)) => Some(seal(k, id, t)?),
        (Some(_), None) => {
            return Err(ServiceError::Unavailable(
                "storing an API token needs the master key (painel keys init)".into(),
            ))
        }
        (None, _) => None,
    };
    let at = now();
    let (mode, pin) = tls.columns();
    let mut tx = db.begin().await?;
    let server: Server = tx
        .fetch_one(
            &format!(
                "INSERT INTO servers (id, name, hostname, ip, region, kind, whm_url, api_user, api_token_enc, tls_mode, \
                 tls_pin_sha256, status, max_accounts, disk_total_gb, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'online', $12, $13, $14, $14) RETURNING {COLUMNS}"
            ),
            args![
                id,
                name.as_str(),
                hostname,
                ip,
                region,
                kind,
                whm_url,
                api_user,
                sealed,
                mode,
                pin,
                input.max_accounts,
                input.disk_total_gb,
                at
            ],
        )
        .await
        .map_err(|err| match err {
            ServiceError::Conflict(_) => ServiceError::invalid("name", format!("a server named {name} exists")),
            other => other,
        })?;
    audit::record(&mut tx, actor, change("server.create", &server, None, Some(&server))).await?;
    if server.whm_url.is_some() {
        audit_tls(&mut tx, actor, &server, None, &tls).await?;
    }
    tx.commit().await?;
    Ok(server)
}

fn lookup(key: &str) -> (String, crate::db::Arg) {
    match Uuid::parse_str(key.trim()) {
        Ok(id) => (format!("SELECT {COLUMNS} FROM servers WHERE id = $1"), id.into()),
        Err(_) => (
            format!("SELECT {COLUMNS} FROM servers WHERE name = $1"),
            key.trim().to_ascii_lowercase().into(),
        ),
    }
}

pub const TARGET: crate::ids::Target = crate::ids::Target {
    what: "server",
    from: "servers",
    id_col: "id",
    tenant_col: Some("tenant_id"),
    reach: crate::reseller::Reach::Catalogue,
};

/// A server by name, id or short id.
pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<Server, ServiceError> {
    require(actor, Permission::ServersRead)?;
    let (sql, arg) = lookup(key);
    let s: Option<Server> = db.fetch_optional(&sql, vec![arg]).await?;
    if s.is_none() && crate::ids::short_hex(key).is_some() {
        let id = crate::ids::expand(db, actor, &TARGET, key).await?;
        let (sql, arg) = lookup(&id);
        return db
            .fetch_optional(&sql, vec![arg])
            .await?
            .ok_or_else(|| ServiceError::not_found("server", key));
    }
    s.ok_or_else(|| ServiceError::not_found("server", key))
}

pub(crate) async fn for_update(tx: &mut Tx, id: Uuid) -> Result<Option<Server>, ServiceError> {
    let mut sql = format!("SELECT {COLUMNS} FROM servers WHERE id = $1");
    if tx.backend() == Backend::Postgres {
        sql.push_str(" FOR UPDATE");
    }
    tx.fetch_optional(&sql, args![id]).await
}

async fn get_for_update(tx: &mut Tx, actor: &Actor, key: &str) -> Result<Server, ServiceError> {
    let (mut sql, arg) = lookup(key);
    if tx.backend() == Backend::Postgres {
        sql.push_str(" FOR UPDATE");
    }
    if let Some(s) = tx.fetch_optional::<Server>(&sql, vec![arg]).await? {
        return Ok(s);
    }
    if crate::ids::short_hex(key).is_some() {
        let id = crate::ids::expand_tx(tx, actor, &TARGET, key).await?;
        if let Ok(id) = Uuid::parse_str(&id) {
            if let Some(s) = for_update(tx, id).await? {
                return Ok(s);
            }
        }
    }
    Err(ServiceError::not_found("server", key))
}

/// Every server the filter keeps, by name (a fleet is tens of rows, not thousands: no paging).
pub async fn list(db: &Db, actor: &Actor, q: &ServerQuery) -> Result<Vec<Server>, ServiceError> {
    require(actor, Permission::ServersRead)?;
    let mut conds = Vec::new();
    let mut a = Vec::new();
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        a.push(crate::db::Arg::from(validate::like_contains(f)));
        let n = a.len();
        conds.push(format!(
            "(lower(name) LIKE ${n} ESCAPE '\\' OR lower(hostname) LIKE ${n} ESCAPE '\\' OR lower(region) LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(s) = q.status.as_deref() {
        let s = validate::one_of(s, &STATUSES).map_err(|m| ServiceError::invalid("status", m))?;
        a.push(s.into());
        conds.push(format!("status = ${}", a.len()));
    }
    if let Some(r) = q.region.as_deref().filter(|r| !r.trim().is_empty()) {
        a.push(r.trim().to_ascii_lowercase().into());
        conds.push(format!("region = ${}", a.len()));
    }
    let wh = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    db.fetch_all(&format!("SELECT {COLUMNS} FROM servers{wh} ORDER BY name, id"), a)
        .await
}

/// Changes what the patch names. Token and TLS changes need `keys` for the token only.
pub async fn update(
    db: &Db,
    actor: &Actor,
    keys: Option<&Keys>,
    key: &str,
    patch: ServerPatch,
) -> Result<Server, ServiceError> {
    require(actor, Permission::ServersManage)?;
    if patch.is_empty() {
        return Err(ServiceError::invalid("server", "nothing to change"));
    }
    let mut e = Vec::new();
    let hostname = patch
        .hostname
        .as_deref()
        .map(|v| push(&mut e, "hostname", validate::domain(v)));
    let ip = patch.ip.as_deref().map(|v| push(&mut e, "ip", check_ip(v)));
    let region = patch.region.as_deref().map(|v| push(&mut e, "region", check_region(v)));
    let whm_url = patch.whm_url.as_deref().map(|v| {
        if v.trim().is_empty() {
            None
        } else {
            Some(push(&mut e, "whm_url", check_whm_url(v)))
        }
    });
    let api_user = patch
        .api_user
        .as_deref()
        .map(|v| push(&mut e, "api_user", check_api_user(v)));
    let token = patch
        .api_token
        .as_deref()
        .map(|v| push(&mut e, "api_token", check_token(v)));
    let tls = match patch.tls.as_deref().map(TlsChoice::parse) {
        Some(Ok(t)) => Some(t),
        Some(Err(m)) => {
            e.push(FieldError {
                field: "tls".into(),
                message: m,
            });
            None
        }
        None => None,
    };
    if let Some(m) = patch.max_accounts {
        if let Err(msg) = validate::limit(m) {
            e.push(FieldError {
                field: "max_accounts".into(),
                message: msg,
            });
        }
    }
    let disk = patch.disk_total_gb.map(|d| check_count("disk_total_gb", d)).transpose();
    if let Err(ServiceError::Validation(f)) = &disk {
        e.extend(f.iter().cloned());
    }
    let status = patch
        .status
        .as_deref()
        .map(|v| push(&mut e, "status", validate::one_of(v, &["online", "maintenance"])));
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    if token.is_some() && keys.is_none() {
        return Err(ServiceError::Unavailable(
            "storing an API token needs the master key (painel keys init)".into(),
        ));
    }
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    let whm_url = whm_url.unwrap_or_else(|| before.whm_url.clone());
    if matches!(before.kind.as_str(), "whm" | "cpanel") && whm_url.is_none() {
        return Err(ServiceError::invalid("whm_url", "a WHM server needs its URL"));
    }
    let api_user = api_user
        .or_else(|| before.api_user.clone())
        .or_else(|| whm_url.as_ref().map(|_| "root".into()));
    let tls_before = before.tls();
    let tls_after = tls.clone().unwrap_or_else(|| tls_before.clone());
    let (mode, pin) = tls_after.columns();
    let at = now();
    let sealed = match (&token, keys) {
        (Some(t), Some(k)) => Some(seal(k, before.id, t)?),
        _ => None,
    };
    let after: Server = tx
        .fetch_one(
            &format!(
                "UPDATE servers SET hostname = $2, ip = $3, region = $4, whm_url = $5, api_user = $6, \
                 api_token_enc = COALESCE($7, api_token_enc), tls_mode = $8, tls_pin_sha256 = $9, max_accounts = $10, \
                 disk_total_gb = $11, status = $12, updated_at = $13 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            args![
                before.id,
                hostname.unwrap_or_else(|| before.hostname.clone()),
                ip.unwrap_or_else(|| before.ip.clone()),
                region.unwrap_or_else(|| before.region.clone()),
                whm_url,
                api_user,
                sealed,
                mode,
                pin,
                patch.max_accounts.unwrap_or(before.max_accounts),
                disk.ok().flatten().unwrap_or(before.disk_total_gb),
                status.unwrap_or_else(|| before.status.clone()),
                at
            ],
        )
        .await?;
    let mut c = change("server.update", &after, Some(&before), Some(&after));
    if token.is_some() {
        // The token itself is never in the log; that it was replaced is.
        if let Some(serde_json::Value::Object(m)) = c.after.as_mut() {
            m.insert("credential_replaced".into(), json!(true));
        }
    }
    audit::record(&mut tx, actor, c).await?;
    if tls_after != tls_before {
        audit_tls(&mut tx, actor, &after, Some(&tls_before), &tls_after).await?;
    }
    tx.commit().await?;
    Ok(after)
}

/// How many of a server's services are in each status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ServiceCount {
    pub status: String,
    pub n: i64,
}

pub async fn service_counts(db: &Db, actor: &Actor, id: Uuid) -> Result<Vec<ServiceCount>, ServiceError> {
    require(actor, Permission::ServersRead)?;
    db.fetch_all(
        "SELECT status, COUNT(*) AS n FROM services WHERE server_id = $1 GROUP BY status ORDER BY status",
        args![id],
    )
    .await
}

/// Removes a server: a sensitive action (the name typed again + a fresh second factor),
/// refused while it hosts active, suspended or provisioning services. Services that no longer
/// live there (pending, error, terminated) and its incidents keep their history with the
/// server link cleared; its metrics go with it.
pub async fn remove(db: &Db, actor: &Actor, key: &str, proof: &sensitive::Proof<'_>) -> Result<Server, ServiceError> {
    require(actor, Permission::ServersManage)?;
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    let target = sensitive::Target {
        action: "server.remove",
        name: &before.name,
        tenant_id: before.tenant_id,
    };
    let mut tx = sensitive::require(tx, actor, &target, proof).await?;
    let hosting: i64 = tx
        .scalar(
            "SELECT COUNT(*) FROM services WHERE server_id = $1 AND status IN ('active', 'suspended', 'provisioning')",
            args![before.id],
        )
        .await?;
    if hosting > 0 {
        return Err(ServiceError::Conflict(format!(
            "server {} hosts {hosting} active, suspended or provisioning service(s): move or terminate them first",
            before.name
        )));
    }
    let detached = tx
        .execute(
            "UPDATE services SET server_id = NULL, updated_at = $2 WHERE server_id = $1",
            args![before.id, now()],
        )
        .await?;
    let incidents = tx
        .execute(
            "UPDATE incidents SET server_id = NULL WHERE server_id = $1",
            args![before.id],
        )
        .await?;
    tx.execute("DELETE FROM servers WHERE id = $1", args![before.id])
        .await?;
    let mut c = change("server.remove", &before, Some(&before), None);
    c.after = Some(json!({"detached_services": detached, "detached_incidents": incidents}));
    audit::record(&mut tx, actor, c).await?;
    tx.commit().await?;
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::check_whm_url;

    #[test]
    fn whm_urls_follow_the_clients_rule() {
        assert_eq!(
            check_whm_url(" https://whm.example.net:2087/ ").unwrap(),
            "https://whm.example.net:2087"
        );
        assert!(check_whm_url("http://127.0.0.1:38131").is_ok());
        assert!(check_whm_url("http://[::1]:8080").is_ok());
        let plain = check_whm_url("http://whm.example.net:2086").unwrap_err();
        assert!(plain.contains("plain http://"), "{plain}");
        assert!(
            !plain.starts_with("base URL"),
            "the field is named by the form: {plain}"
        );
        for bad in [
            "whm.example.net",
            "https://root:secret@whm.example.net:2087",
            "https://whm.example.net:2087/?x=1",
            "ftp://whm.example.net",
        ] {
            assert!(check_whm_url(bad).is_err(), "{bad}");
        }
    }
}
