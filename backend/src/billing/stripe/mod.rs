//! Card payments through Stripe (docs/adr/0028): the account painel uses (a tenant's own
//! `integrations` row, else the platform's; the secret key sealed row-bound), Checkout
//! Sessions for an invoice (`checkout`), refunds (`refunds`, a sensitive action carried out by
//! a job) and disputes (`disputes`, from `charge.dispute.*` events). Only the jobs registered
//! here talk to Stripe, through `providers::stripe`.

pub mod checkout;
pub mod disputes;
pub mod refunds;

use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::jobs::{Handlers, JobError};
use crate::providers::stripe::{Secret, StripeClient, StripeEndpoint, DEFAULT_API_BASE};
use crate::secrets::Keys;

/// The AAD context of the sealed secret key (`table.column`).
pub const SECRET_CONTEXT: &str = "integrations.secret_enc";
/// The queue of every billing job.
pub const QUEUE: &str = "billing";
/// The job kinds [`register_handlers`] adds.
pub const KINDS: [&str; 2] = [checkout::JOB_KIND, refunds::JOB_KIND];

/// What the Stripe jobs need from their process: the keys that open the sealed secret key
/// (`None` when the worker holds no registered master key; the jobs then say so).
#[derive(Clone, Default)]
pub struct StripeEnv {
    pub keys: Option<Keys>,
}

pub fn register_handlers(h: &mut Handlers, env: StripeEnv) {
    let e = env.clone();
    h.register(checkout::JOB_KIND, move |job, db| checkout::run(job, db, e.clone()));
    h.register(refunds::JOB_KIND, move |job, db| refunds::run(job, db, env.clone()));
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Uuid,
    config: Value,
    secret_enc: Option<Vec<u8>>,
}

/// The Stripe account `tenant` bills with: its own active integration, else the platform's.
#[derive(Debug, Clone)]
pub struct Account {
    pub integration_id: Uuid,
    pub client: StripeClient,
    /// Where the buyer lands after paying (`{CHECKOUT_SESSION_ID}` is filled in by Stripe).
    pub success_url: String,
    pub cancel_url: Option<String>,
}

fn job_err(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// Opens the account for `tenant`. The platform's row (tenant NULL) is read unscoped: on
/// PostgreSQL a tenant-scoped handle cannot see rows without a tenant, and billing a
/// tenant's customer with the platform's account is what that row is for.
pub async fn account(db: &Db, env: &StripeEnv, tenant: Uuid) -> Result<Account, JobError> {
    const SQL: &str = "SELECT id, config, secret_enc FROM integrations \
                       WHERE provider = 'stripe' AND status = 'active' AND secret_enc IS NOT NULL";
    let own: Option<AccountRow> = db
        .fetch_optional(
            &format!("{SQL} AND tenant_id = $1 ORDER BY name LIMIT 1"),
            args![tenant],
        )
        .await
        .map_err(job_err)?;
    let row = match own {
        Some(r) => r,
        None => db
            .scoped(None)
            .fetch_optional(&format!("{SQL} AND tenant_id IS NULL ORDER BY name LIMIT 1"), args![])
            .await
            .map_err(job_err)?
            .ok_or_else(|| {
                JobError::Permanent(
                    "no active Stripe account with a secret key (painel payments stripe-account)".into(),
                )
            })?,
    };
    let keys = env.keys.as_ref().ok_or_else(|| {
        JobError::Permanent("this worker holds no registered master key: cannot open the Stripe key".into())
    })?;
    let sealed = row.secret_enc.unwrap_or_default();
    let key = keys
        .decrypt_str(SECRET_CONTEXT, row.id, &sealed)
        .map_err(|e| JobError::Permanent(format!("Stripe secret key cannot be opened: {e}")))?;
    let text = |k: &str| row.config.get(k).and_then(Value::as_str).map(str::to_owned);
    let endpoint = StripeEndpoint::new(
        text("api_base").unwrap_or_else(|| DEFAULT_API_BASE.into()),
        Secret::new(key),
    );
    let client = StripeClient::new(endpoint).map_err(|e| JobError::Permanent(e.to_string()))?;
    Ok(Account {
        integration_id: row.id,
        client,
        success_url: text("success_url")
            .ok_or_else(|| JobError::Permanent("the Stripe account has no success_url".into()))?,
        cancel_url: text("cancel_url"),
    })
}

/// What an operator sets for a Stripe account.
#[derive(Debug, Clone, Default)]
pub struct AccountInput {
    /// `None`: the platform's account.
    pub tenant: Option<Uuid>,
    /// `None`: Stripe itself.
    pub api_base: Option<String>,
    pub secret_key: String,
    pub success_url: String,
    pub cancel_url: Option<String>,
}

/// The account as shown: never the key.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccountView {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub api_base: String,
    pub success_url: String,
    pub key_set: bool,
}

/// Creates or replaces the Stripe account (`name = 'Stripe'`) of a tenant or the platform:
/// the key sealed bound to its row, audited without it. Platform staff only for the
/// platform's; a tenant admin for their own (`tenants:update`).
pub async fn set_account(
    db: &Db,
    actor: &Actor,
    keys: &Keys,
    input: AccountInput,
) -> Result<AccountView, ServiceError> {
    require(actor, Permission::TenantsUpdate)?;
    if input.tenant.is_none() && !actor.is_platform() {
        return Err(ServiceError::PermissionDenied(
            "the platform's Stripe account is for platform staff".into(),
        ));
    }
    let tenant = input.tenant.or(actor.tenant_id);
    if actor.tenant_id.is_some() && tenant != actor.tenant_id {
        return Err(ServiceError::not_found(
            "tenant",
            tenant.map(|t| t.to_string()).unwrap_or_default(),
        ));
    }
    let key = input.secret_key.trim();
    if !(key.starts_with("sk_") || key.starts_with("rk_")) || key.len() < 8 {
        return Err(ServiceError::invalid(
            "secret_key",
            "a Stripe secret key starts with sk_ or rk_",
        ));
    }
    let api_base = input.api_base.unwrap_or_else(|| DEFAULT_API_BASE.into());
    // The client's own rule (https, or http to loopback) decides, once.
    StripeClient::new(StripeEndpoint::new(api_base.clone(), key))
        .map_err(|e| ServiceError::invalid("api_base", e.to_string()))?;
    if !input.success_url.starts_with("https://") && !input.success_url.starts_with("http://") {
        return Err(ServiceError::invalid("success_url", "an http(s) URL"));
    }
    let mut tx = db.begin().await?;
    let existing: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM integrations WHERE provider = 'stripe' AND name = 'Stripe' AND \
             ((tenant_id IS NULL AND $1 IS NULL) OR tenant_id = $1)",
            args![tenant],
        )
        .await?;
    let id = existing.map(|r| r.0).unwrap_or_else(Uuid::now_v7);
    let sealed = keys
        .encrypt_str(SECRET_CONTEXT, id, key)
        .map_err(|e| ServiceError::Unavailable(format!("cannot seal the key: {e}")))?;
    let config = json!({
        "api_base": api_base,
        "success_url": input.success_url,
        "cancel_url": input.cancel_url,
    });
    let at = now();
    if existing.is_some() {
        tx.execute(
            "UPDATE integrations SET config = $1, secret_enc = $2, status = 'active', updated_at = $3 WHERE id = $4",
            args![config.clone(), sealed, at, id],
        )
        .await?;
    } else {
        tx.execute(
            "INSERT INTO integrations (id, tenant_id, provider, name, status, config, secret_enc, created_at, updated_at) \
             VALUES ($1, $2, 'stripe', 'Stripe', 'active', $3, $4, $5, $5)",
            args![id, tenant, config.clone(), sealed, at],
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "integration.stripe",
            entity: "integration",
            entity_id: Some(id.to_string()),
            tenant_id: tenant,
            before: None,
            after: Some(json!({ "config": config, "secret_key": "set" })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(AccountView {
        id,
        tenant_id: tenant,
        api_base,
        success_url: input.success_url,
        key_set: true,
    })
}

/// Row locks where the engine has them (SQLite serialises writers anyway).
pub(crate) fn lock_suffix(tx: &crate::db::Tx) -> &'static str {
    if tx.backend() == crate::db::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

/// Unix seconds from Stripe → our time.
pub(crate) fn from_unix(secs: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(secs, 0)
}
