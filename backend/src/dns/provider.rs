//! The DNS provider account (Cloudflare): where zones are created, the sealed API token, the
//! resolvers NS verification asks and the stall threshold. Platform infrastructure:
//! configured with `servers:manage`, audited (the token never in the audit row).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::providers::cloudflare::{CfEndpoint, CloudflareClient, Secret};
use crate::secrets::Keys;

/// The AAD context of the sealed token.
pub const TOKEN_CONTEXT: &str = "dns_providers.api_token_enc";

/// Two days: a customer who has not changed the nameservers at Registro.br by then is
/// called (the failure feed).
pub const DEFAULT_STALL_SECS: i64 = 172_800;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderRow {
    pub id: Uuid,
    pub provider: String,
    pub api_url: String,
    pub account_id: String,
    pub api_token_enc: Option<Vec<u8>>,
    pub resolvers: Value,
    pub stall_after_secs: i64,
    pub updated_at: DateTime<Utc>,
}

/// The provider as shown (never the token).
#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    pub provider: String,
    pub api_url: String,
    pub account_id: String,
    pub token_set: bool,
    pub resolvers: Vec<String>,
    pub stall_after_secs: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ProviderInput {
    pub api_url: String,
    pub account_id: String,
    /// `None` keeps the stored token.
    pub token: Option<String>,
    pub resolvers: Vec<String>,
    pub stall_after_secs: Option<i64>,
}

const COLUMNS: &str = "id, provider, api_url, account_id, api_token_enc, resolvers, stall_after_secs, updated_at";

pub async fn load(db: &Db) -> Result<Option<ProviderRow>, ServiceError> {
    db.scoped(None)
        .fetch_optional(
            &format!("SELECT {COLUMNS} FROM dns_providers WHERE provider = 'cloudflare'"),
            args![],
        )
        .await
}

impl ProviderRow {
    pub fn resolvers(&self) -> Vec<String> {
        self.resolvers
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    pub fn view(&self) -> ProviderView {
        ProviderView {
            provider: self.provider.clone(),
            api_url: self.api_url.clone(),
            account_id: self.account_id.clone(),
            token_set: self.api_token_enc.is_some(),
            resolvers: self.resolvers(),
            stall_after_secs: self.stall_after_secs,
        }
    }
}

/// A resolver address: `ip` (port 53) or `ip:port` / `[v6]:port`.
pub fn parse_resolver(raw: &str) -> Result<std::net::SocketAddr, String> {
    let t = raw.trim();
    if let Ok(sa) = t.parse::<std::net::SocketAddr>() {
        return Ok(sa);
    }
    t.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .map_err(|_| format!("{t:?} is not an IP address or ip:port"))
}

/// Creates or changes the provider account (`servers:manage`, platform only), audited.
pub async fn configure(
    db: &Db,
    keys: Option<&Keys>,
    actor: &Actor,
    input: ProviderInput,
) -> Result<ProviderView, ServiceError> {
    require(actor, Permission::ServersManage)?;
    crate::providers::cloudflare::CloudflareClient::new(CfEndpoint::new(
        input.api_url.trim(),
        input.account_id.trim(),
        "probe",
    ))
    .map_err(|e| ServiceError::invalid("api_url", e.to_string()))?;
    let account = input.account_id.trim();
    if account.is_empty() || account.len() > 64 || !account.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ServiceError::invalid(
            "account_id",
            "must be Cloudflare's account id (hex)",
        ));
    }
    for r in &input.resolvers {
        parse_resolver(r).map_err(|e| ServiceError::invalid("resolvers", e))?;
    }
    if input.stall_after_secs.is_some_and(|s| s < 1) {
        return Err(ServiceError::invalid("stall_after", "must be positive"));
    }
    if input.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(ServiceError::invalid("token", "must not be empty"));
    }
    let mut tx = db.begin().await?;
    let before: Option<ProviderRow> = tx
        .fetch_optional(
            &format!("SELECT {COLUMNS} FROM dns_providers WHERE provider = 'cloudflare'"),
            args![],
        )
        .await?;
    let id = before.as_ref().map_or_else(Uuid::now_v7, |b| b.id);
    let sealed = match (&input.token, keys) {
        (Some(t), Some(k)) => Some(
            k.encrypt_str(TOKEN_CONTEXT, id, t.trim())
                .map_err(|e| ServiceError::Unavailable(format!("cannot seal the API token: {e}")))?,
        ),
        (Some(_), None) => {
            return Err(ServiceError::Unavailable(
                "no master key: the API token cannot be sealed (painel keys init)".into(),
            ))
        }
        (None, _) => before.as_ref().and_then(|b| b.api_token_enc.clone()),
    };
    let resolvers = json!(input.resolvers.iter().map(|r| r.trim()).collect::<Vec<_>>());
    let stall = input
        .stall_after_secs
        .or(before.as_ref().map(|b| b.stall_after_secs))
        .unwrap_or(DEFAULT_STALL_SECS);
    if before.is_some() {
        tx.execute(
            "UPDATE dns_providers SET api_url = $2, account_id = $3, api_token_enc = $4, resolvers = $5, \
             stall_after_secs = $6, updated_at = $7 WHERE id = $1",
            args![
                id,
                input.api_url.trim(),
                account,
                sealed.clone(),
                resolvers.clone(),
                stall,
                now()
            ],
        )
        .await?;
    } else {
        tx.execute(
            "INSERT INTO dns_providers (id, provider, api_url, account_id, api_token_enc, resolvers, stall_after_secs) \
             VALUES ($1, 'cloudflare', $2, $3, $4, $5, $6)",
            args![id, input.api_url.trim(), account, sealed.clone(), resolvers.clone(), stall],
        )
        .await?;
    }
    let view = ProviderView {
        provider: "cloudflare".into(),
        api_url: input.api_url.trim().to_owned(),
        account_id: account.to_owned(),
        token_set: sealed.is_some(),
        resolvers: input.resolvers.iter().map(|r| r.trim().to_owned()).collect(),
        stall_after_secs: stall,
    };
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "dns.provider.configure",
            entity: "dns_provider",
            entity_id: Some(id.to_string()),
            tenant_id: None,
            before: before.map(|b| json!(b.view())),
            after: Some(json!({ "view": view, "token_changed": input.token.is_some() })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// The provider as configured (`dns:read`).
pub async fn show(db: &Db, actor: &Actor) -> Result<Option<ProviderView>, ServiceError> {
    require(actor, Permission::DnsRead)?;
    Ok(load(db).await?.map(|r| r.view()))
}

/// The Cloudflare client of the configured account (jobs only).
pub async fn client(db: &Db, keys: Option<&Keys>) -> Result<CloudflareClient, ServiceError> {
    let row = load(db)
        .await?
        .ok_or_else(|| ServiceError::invalid("dns_provider", "no DNS provider configured (painel dns provider set)"))?;
    let keys = keys.ok_or_else(|| ServiceError::Unavailable("no master key to open the Cloudflare token".into()))?;
    let sealed = row
        .api_token_enc
        .as_deref()
        .ok_or_else(|| ServiceError::invalid("token", "the DNS provider has no API token"))?;
    let token = Secret::new(keys.decrypt_str(TOKEN_CONTEXT, row.id, sealed)?);
    CloudflareClient::new(CfEndpoint::new(row.api_url, row.account_id, token))
        .map_err(|e| ServiceError::invalid("api_url", e.to_string()))
}
