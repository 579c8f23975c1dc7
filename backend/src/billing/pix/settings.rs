//! A tenant's PIX setting: how its invoices are charged by PIX — a static BR Code on its own
//! key, or a Mercado Pago / PagSeguro charge — and the name and city a static code carries.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::key::PixKey;
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db};
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PixSettings {
    pub tenant_id: Uuid,
    /// `static`, `mercadopago`, `pagseguro`.
    pub provider: String,
    pub key_kind: Option<String>,
    pub key_value: Option<String>,
    pub merchant_name: String,
    pub merchant_city: String,
}

#[derive(Debug, Clone)]
pub struct PixSettingsInput {
    pub tenant_id: Uuid,
    pub provider: String,
    /// Required for `static`; validated as a PIX key (CPF, CNPJ, e-mail, phone, EVP).
    pub key: Option<String>,
    pub merchant_name: String,
    pub merchant_city: String,
}

fn in_scope(actor: &Actor, tenant: Uuid) -> Result<(), ServiceError> {
    match actor.tenant_id {
        Some(t) if t != tenant => Err(ServiceError::not_found("tenant", tenant.to_string())),
        _ => Ok(()),
    }
}

pub async fn get(db: &Db, actor: &Actor, tenant: Uuid) -> Result<Option<PixSettings>, ServiceError> {
    require(actor, Permission::BillingRead)?;
    in_scope(actor, tenant)?;
    db.fetch_optional(
        "SELECT tenant_id, provider, key_kind, key_value, merchant_name, merchant_city FROM pix_settings WHERE tenant_id = $1",
        args![tenant],
    )
    .await
}

/// Sets (or replaces) the tenant's PIX setting, validated and audited.
pub async fn set(db: &Db, actor: &Actor, input: PixSettingsInput) -> Result<PixSettings, ServiceError> {
    require(actor, Permission::TenantsUpdate)?;
    in_scope(actor, input.tenant_id)?;
    let provider = crate::validate::one_of(&input.provider, &["static", "mercadopago", "pagseguro"])
        .map_err(|m| ServiceError::invalid("provider", m))?;
    let key = match input.key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => Some(PixKey::parse(k).map_err(|m| ServiceError::invalid("key", m))?),
        None if provider == "static" => {
            return Err(ServiceError::invalid(
                "key",
                "a static BR Code needs the tenant's PIX key",
            ))
        }
        None => None,
    };
    let name = super::brcode::ascii_text(&input.merchant_name, 25);
    if name.is_empty() {
        return Err(ServiceError::invalid(
            "merchant_name",
            "must hold letters or digits (25 at most are used)",
        ));
    }
    let city = super::brcode::ascii_text(&input.merchant_city, 15);
    if city.is_empty() {
        return Err(ServiceError::invalid(
            "merchant_city",
            "must hold letters or digits (15 at most are used)",
        ));
    }
    let after = PixSettings {
        tenant_id: input.tenant_id,
        provider,
        key_kind: key.as_ref().map(|k| k.kind.as_str().to_owned()),
        key_value: key.map(|k| k.value),
        merchant_name: name,
        merchant_city: city,
    };
    let mut tx = db.begin().await?;
    let before: Option<PixSettings> = tx
        .fetch_optional(
            "SELECT tenant_id, provider, key_kind, key_value, merchant_name, merchant_city FROM pix_settings WHERE tenant_id = $1",
            args![input.tenant_id],
        )
        .await?;
    tx.execute(
        "INSERT INTO pix_settings (tenant_id, provider, key_kind, key_value, merchant_name, merchant_city, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET provider = excluded.provider, \
         key_kind = excluded.key_kind, key_value = excluded.key_value, merchant_name = excluded.merchant_name, \
         merchant_city = excluded.merchant_city, updated_at = excluded.updated_at",
        args![
            after.tenant_id,
            after.provider.as_str(),
            after.key_kind.clone(),
            after.key_value.clone(),
            after.merchant_name.as_str(),
            after.merchant_city.as_str(),
            now()
        ],
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "pix.settings",
            entity: "tenant",
            entity_id: Some(input.tenant_id.to_string()),
            tenant_id: Some(input.tenant_id),
            before: before.map(|b| json!(b)),
            after: Some(json!(after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
