//! The add-ons catalogue (SSL, backups, extra mailboxes, …) a tenant sells beside its plans:
//! create and edit, audited; the list is `plans::addons`.

use serde_json::json;
use uuid::Uuid;

use super::plans::{Addon, CYCLES};
use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Db, Tx};
use crate::error::{FieldError, ServiceError};
use crate::{args, money, tenants, validate};

const KINDS: [&str; 6] = ["ssl", "backup", "email", "dedicated_ip", "security", "other"];
const STATUSES: [&str; 3] = ["active", "hidden", "retired"];

/// What create and update take; empty strings mean "the default" (create) or "unchanged"
/// (update), except `name` and `price`, which create needs.
#[derive(Debug, Clone, Default)]
pub struct AddonInput {
    pub tenant: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub price: String,
    pub currency: String,
    pub billing_cycle: String,
    pub status: String,
}

const COLUMNS: &str = "x.id, t.slug AS tenant_slug, x.code, x.name, x.kind, x.status, x.price_minor, x.currency, \
    x.billing_cycle";

async fn fetch(tx: &mut Tx, id: Uuid) -> Result<Addon, ServiceError> {
    tx.fetch_one(
        &format!("SELECT {COLUMNS} FROM addons x JOIN tenants t ON t.id = x.tenant_id WHERE x.id = $1"),
        args![id],
    )
    .await
}

fn one_of(e: &mut Vec<FieldError>, field: &str, value: &str, allowed: &[&str]) {
    if !allowed.contains(&value) {
        e.push(FieldError {
            field: field.into(),
            message: format!("must be one of {}", allowed.join(", ")),
        });
    }
}

/// `money::parse` takes signed amounts (credits move both ways); a price cannot be negative.
fn not_negative(e: &mut Vec<FieldError>, price: i64) {
    if price < 0 {
        e.push(FieldError {
            field: "price".into(),
            message: "must not be negative".into(),
        });
    }
}

fn audit_json(a: &Addon) -> serde_json::Value {
    json!({
        "code": a.code, "name": a.name, "kind": a.kind, "status": a.status,
        "price_minor": a.price_minor, "currency": a.currency, "billing_cycle": a.billing_cycle,
    })
}

/// Adds an add-on to a tenant's catalogue.
pub async fn create(db: &Db, actor: &Actor, input: AddonInput) -> Result<Addon, ServiceError> {
    require(actor, Permission::PlansManage)?;
    let tenant = tenants::get(db, actor, &input.tenant).await?;
    let mut e = Vec::new();
    let mut field = |f: &str, r: Result<String, String>| {
        r.unwrap_or_else(|m| {
            e.push(FieldError {
                field: f.into(),
                message: m,
            });
            String::new()
        })
    };
    let code = field("code", validate::slug(&input.code));
    let name = field("name", validate::name(&input.name, 120));
    let currency = match input.currency.trim() {
        "" => tenant.currency.clone(),
        c => field("currency", validate::currency(c)),
    };
    let kind = if input.kind.trim().is_empty() {
        "other"
    } else {
        input.kind.trim()
    }
    .to_owned();
    let cycle = if input.billing_cycle.trim().is_empty() {
        "monthly"
    } else {
        input.billing_cycle.trim()
    }
    .to_owned();
    let price = money::parse(&input.price, &currency).unwrap_or_else(|m| {
        e.push(FieldError {
            field: "price".into(),
            message: m,
        });
        0
    });
    not_negative(&mut e, price);
    one_of(&mut e, "kind", &kind, &KINDS);
    one_of(&mut e, "billing_cycle", &cycle, &CYCLES);
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    let id = Uuid::now_v7();
    let at = now();
    let mut tx = db.begin().await?;
    tx.execute(
        "INSERT INTO addons (id, tenant_id, code, name, kind, status, price_minor, currency, billing_cycle, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $9)",
        args![id, tenant.id, code, name, kind, price, currency, cycle, at],
    )
    .await?;
    let addon = fetch(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "addon.create",
            entity: "addon",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: Some(audit_json(&addon)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(addon)
}

/// Edits an add-on (by id, or by code within `input.tenant`): the fields given change.
pub async fn update(db: &Db, actor: &Actor, key: &str, input: AddonInput) -> Result<Addon, ServiceError> {
    require(actor, Permission::PlansManage)?;
    let tenant = tenants::get(db, actor, &input.tenant).await?;
    let mut tx = db.begin().await?;
    let key = key.trim();
    let found: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM addons WHERE tenant_id = $1 AND (id = $2 OR code = $3)",
            args![tenant.id, Uuid::parse_str(key).ok(), key],
        )
        .await?;
    let Some((id,)) = found else {
        return Err(ServiceError::NotFound {
            entity: "add-on",
            key: format!("{key} in tenant {}", tenant.slug),
        });
    };
    let before = fetch(&mut tx, id).await?;
    let mut e = Vec::new();
    let pick = |v: &str, old: &str| {
        if v.trim().is_empty() {
            old.to_owned()
        } else {
            v.trim().to_owned()
        }
    };
    let name = match input.name.trim() {
        "" => before.name.clone(),
        n => validate::name(n, 120).unwrap_or_else(|m| {
            e.push(FieldError {
                field: "name".into(),
                message: m,
            });
            String::new()
        }),
    };
    let kind = pick(&input.kind, &before.kind);
    let status = pick(&input.status, &before.status);
    let cycle = pick(&input.billing_cycle, &before.billing_cycle);
    let currency = match input.currency.trim() {
        "" => before.currency.clone(),
        c => validate::currency(c).unwrap_or_else(|m| {
            e.push(FieldError {
                field: "currency".into(),
                message: m,
            });
            String::new()
        }),
    };
    let price = match input.price.trim() {
        "" => before.price_minor,
        p => money::parse(p, &currency).unwrap_or_else(|m| {
            e.push(FieldError {
                field: "price".into(),
                message: m,
            });
            0
        }),
    };
    not_negative(&mut e, price);
    one_of(&mut e, "kind", &kind, &KINDS);
    one_of(&mut e, "status", &status, &STATUSES);
    one_of(&mut e, "billing_cycle", &cycle, &CYCLES);
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    tx.execute(
        "UPDATE addons SET name = $2, kind = $3, status = $4, price_minor = $5, currency = $6, billing_cycle = $7, \
         updated_at = $8 WHERE id = $1",
        args![id, name, kind, status, price, currency, cycle, now()],
    )
    .await?;
    let after = fetch(&mut tx, id).await?;
    if audit_json(&after) == audit_json(&before) {
        return Ok(after);
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "addon.update",
            entity: "addon",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant.id),
            before: Some(audit_json(&before)),
            after: Some(audit_json(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
