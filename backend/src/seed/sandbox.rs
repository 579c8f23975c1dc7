//! The demo's hosting servers as the provider sandbox simulates them (docs/adr/0018): what
//! each simulated server must hold so that `listaccts` agrees with painel's data (the packages
//! of the plans, the accounts of the live services), and pointing the rows at the running
//! simulators — URL, API user, sealed token and certificate pin — as one audited system change.
//!
//! Plain data in and out: the backend knows nothing of the sandbox crate; `painel demo` maps
//! between them.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::hosting::connect::TOKEN_CONTEXT;
use crate::secrets::Keys;

/// A hosting server of the demo and the accounts it hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct SimServer {
    pub id: Uuid,
    pub name: String,
    /// online, degraded, offline or maintenance: the simulator behaves accordingly.
    pub status: String,
    pub max_accounts: Option<i64>,
    pub disk_total_gb: i64,
    pub disk_used_gb: i64,
    pub accounts: Vec<SimAccount>,
}

/// An account on a hosting server: a live (active or suspended) service.
#[derive(Debug, Clone, PartialEq)]
pub struct SimAccount {
    pub user: String,
    pub domain: String,
    pub package: String,
    pub email: String,
    /// Some(reason) when the service is suspended.
    pub suspended: Option<String>,
}

/// A WHM package for a plan (`plans.external_package`), limits in MB (None = unlimited).
#[derive(Debug, Clone, PartialEq)]
pub struct SimPackage {
    pub name: String,
    pub quota_mb: Option<u64>,
    pub bwlimit_mb: Option<u64>,
    pub max_pop: Option<u64>,
    pub max_sql: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimWorld {
    pub servers: Vec<SimServer>,
    pub packages: Vec<SimPackage>,
}

#[derive(sqlx::FromRow)]
struct ServerRow {
    id: Uuid,
    name: String,
    status: String,
    max_accounts: Option<i64>,
    disk_total_gb: i64,
    disk_used_gb: i64,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    server_id: Uuid,
    username: String,
    domain: Option<String>,
    status: String,
    suspend_reason: Option<String>,
    package: Option<String>,
    email: String,
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    package: String,
    resources: String,
}

/// What the simulated servers must hold, read from the (seeded) database.
pub async fn sandbox_world(db: &Db) -> Result<SimWorld, ServiceError> {
    let servers: Vec<ServerRow> = db
        .fetch_all(
            "SELECT id, name, status, max_accounts, disk_total_gb, disk_used_gb FROM servers \
             WHERE kind IN ('whm', 'cpanel') ORDER BY name",
            args![],
        )
        .await?;
    let accounts: Vec<AccountRow> = db
        .fetch_all(
            "SELECT s.server_id AS server_id, s.username AS username, s.domain AS domain, s.status AS status, \
                    s.suspend_reason AS suspend_reason, p.external_package AS package, c.email AS email \
             FROM services s JOIN plans p ON p.id = s.plan_id JOIN customers c ON c.id = s.customer_id \
             WHERE s.server_id IS NOT NULL AND s.username IS NOT NULL AND s.status IN ('active', 'suspended') \
             ORDER BY s.username",
            args![],
        )
        .await?;
    let plans: Vec<PlanRow> = db
        .fetch_all(
            "SELECT external_package AS package, CAST(resources AS TEXT) AS resources FROM plans \
             WHERE kind IN ('hosting', 'reseller_hosting', 'email') AND external_package IS NOT NULL \
             ORDER BY external_package",
            args![],
        )
        .await?;
    let mut packages: Vec<SimPackage> = plans.iter().map(package_of).collect();
    packages.dedup_by(|a, b| a.name == b.name);
    let servers = servers
        .into_iter()
        .map(|s| SimServer {
            accounts: accounts
                .iter()
                .filter(|a| a.server_id == s.id)
                .map(|a| SimAccount {
                    user: a.username.clone(),
                    domain: a.domain.clone().unwrap_or_default(),
                    package: a.package.clone().unwrap_or_else(|| "default".to_owned()),
                    email: a.email.clone(),
                    suspended: (a.status == "suspended")
                        .then(|| a.suspend_reason.clone().unwrap_or_else(|| "Unknown".to_owned())),
                })
                .collect(),
            id: s.id,
            name: s.name,
            status: s.status,
            max_accounts: s.max_accounts,
            disk_total_gb: s.disk_total_gb,
            disk_used_gb: s.disk_used_gb,
        })
        .collect();
    Ok(SimWorld { servers, packages })
}

fn package_of(p: &PlanRow) -> SimPackage {
    let r: Value = serde_json::from_str(&p.resources).unwrap_or(Value::Null);
    // A number is a limit; "unlimited" (or nothing) is none.
    let n = |key: &str| r.get(key).and_then(Value::as_u64);
    SimPackage {
        name: p.package.clone(),
        quota_mb: n("disk_gb").map(|g| g * 1024),
        bwlimit_mb: n("bandwidth_gb").map(|g| g * 1024),
        max_pop: n("mailboxes"),
        max_sql: n("databases"),
    }
}

/// Where a server's simulator listens and how to reach it.
#[derive(Clone, PartialEq)]
pub struct SandboxTarget {
    pub server_id: Uuid,
    pub url: String,
    pub api_user: String,
    pub token: String,
    /// The sandbox certificate's SHA-256 (hex): the server's TLS becomes a pin of it.
    pub pin_sha256: Option<String>,
}

impl std::fmt::Debug for SandboxTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxTarget")
            .field("server_id", &self.server_id)
            .field("url", &self.url)
            .field("api_user", &self.api_user)
            .field("pin_sha256", &self.pin_sha256)
            .finish_non_exhaustive()
    }
}

/// Points each server at its simulator: URL, API user, the token sealed for the row, and a
/// pin of the sandbox certificate — in one transaction, one audit row per server by
/// `demo-sandbox` (the ports change on every run, so the demo does this at each start).
pub async fn point_servers_at(db: &Db, keys: &Keys, targets: &[SandboxTarget]) -> Result<(), ServiceError> {
    let actor = Actor::system("demo-sandbox");
    let mut tx = db.begin().await?;
    for t in targets {
        let before: Option<BeforeRow> = tx
            .fetch_optional(
                "SELECT whm_url, api_user, tls_mode, tls_pin_sha256 FROM servers WHERE id = $1",
                args![t.server_id],
            )
            .await?;
        let Some(before) = before else {
            return Err(ServiceError::not_found("server", t.server_id.to_string()));
        };
        let sealed = keys.encrypt_str(TOKEN_CONTEXT, t.server_id, &t.token)?;
        let mode = if t.pin_sha256.is_some() { "pin" } else { "verify" };
        tx.execute(
            "UPDATE servers SET whm_url = $1, api_user = $2, api_token_enc = $3, tls_mode = $4, \
             tls_pin_sha256 = $5, updated_at = $6 WHERE id = $7",
            args![
                t.url.as_str(),
                t.api_user.as_str(),
                sealed,
                mode,
                t.pin_sha256.clone(),
                now(),
                t.server_id
            ],
        )
        .await?;
        audit::record(
            &mut tx,
            &actor,
            Change {
                action: "server.update",
                entity: "server",
                entity_id: Some(t.server_id.to_string()),
                tenant_id: None,
                before: Some(json!({
                    "whm_url": before.whm_url, "api_user": before.api_user,
                    "tls_mode": before.tls_mode, "tls_pin_sha256": before.tls_pin_sha256,
                })),
                after: Some(json!({
                    "whm_url": t.url, "api_user": t.api_user, "api_token": "(sealed)",
                    "tls_mode": mode, "tls_pin_sha256": t.pin_sha256, "why": "demo: the provider sandbox",
                })),
            },
        )
        .await?;
    }
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct BeforeRow {
    whm_url: Option<String>,
    api_user: Option<String>,
    tls_mode: String,
    tls_pin_sha256: Option<String>,
}
