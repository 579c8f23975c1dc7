//! Changing a customer: edit the profile, block/unblock, transfer to another reseller of the
//! same tree. Each is permission → validation → `BEGIN` → read for update (within the actor's
//! reach) → write → audit (before/after) → `COMMIT`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{phone, Customer, COLUMNS, FROM, REACH};
use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Backend, Tx};
use crate::error::{FieldError, ServiceError};
use crate::page::where_clause;
use crate::reseller;
use crate::{args, validate, Db};

/// Fields to change; `None` leaves a field as it is. An empty phone or document clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerEdit {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub document: Option<String>,
    pub notes: Option<String>,
}

impl CustomerEdit {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.document.is_none()
            && self.notes.is_none()
    }
}

/// The customer `key` (id or short id) locked for the rest of `tx`, if the actor reaches it.
async fn get_for_update(tx: &mut Tx, actor: &Actor, key: &str) -> Result<Customer, ServiceError> {
    let id = crate::ids::expand_tx(tx, actor, &crate::ids::CUSTOMERS, key).await?;
    let uuid = Uuid::parse_str(id.trim())
        .map_err(|_| ServiceError::invalid("id", "must be a customer id (UUID) or a unique id prefix"))?;
    let mut conds = vec!["c.id = $1".to_owned()];
    let mut args: Vec<Arg> = args![uuid];
    reseller::restrict(actor, REACH, "customers", &mut conds, &mut args)?;
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE OF c",
        Backend::Sqlite => "",
    };
    let c: Option<Customer> = tx
        .fetch_optional(
            &format!("SELECT {COLUMNS} FROM {FROM} {}{lock}", where_clause(&conds)),
            args,
        )
        .await?;
    match c {
        Some(c) if actor.sees_tenant(c.tenant_id) => Ok(c),
        _ => Err(ServiceError::not_found("customer", key)),
    }
}

async fn reread(tx: &mut Tx, id: Uuid) -> Result<Customer, ServiceError> {
    tx.fetch_one(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1"), args![id])
        .await
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &'static str,
    before: &Customer,
    after: &Customer,
) -> Result<(), ServiceError> {
    audit::record(
        tx,
        actor,
        Change {
            action,
            entity: "customer",
            entity_id: Some(after.id.to_string()),
            tenant_id: Some(after.tenant_id),
            before: snapshot(before),
            after: snapshot(after),
        },
    )
    .await?;
    Ok(())
}

/// Edits the profile. Nothing to change is an error; values equal to the stored ones write
/// nothing (no audit row for a change that did not happen).
pub async fn edit(db: &Db, actor: &Actor, key: &str, input: CustomerEdit) -> Result<Customer, ServiceError> {
    require(actor, Permission::CustomersUpdate)?;
    if input.is_empty() {
        return Err(ServiceError::invalid(
            "fields",
            "nothing to change: give at least one of name, email, phone, document, notes",
        ));
    }
    let mut errors: Vec<FieldError> = Vec::new();
    let mut check = |field: &str, r: Result<String, String>| {
        r.map_err(|message| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        })
        .ok()
    };
    let name = input
        .name
        .as_deref()
        .and_then(|v| check("name", validate::name(v, 120)));
    let email = input.email.as_deref().and_then(|v| check("email", validate::email(v)));
    // Outer None: unchanged; Some(None): cleared.
    let optional = |v: &str, f: fn(&str) -> Result<String, String>| {
        if v.trim().is_empty() {
            Ok(None)
        } else {
            f(v).map(Some)
        }
    };
    let phone_v = match input.phone.as_deref().map(|v| optional(v, phone)) {
        Some(Err(m)) => check("phone", Err(m)).map(|_| None),
        other => other.and_then(Result::ok),
    };
    let document_v = match input.document.as_deref().map(|v| optional(v, validate::document)) {
        Some(Err(m)) => check("document", Err(m)).map(|_| None),
        other => other.and_then(Result::ok),
    };
    let notes = input.notes.as_deref().map(|n| n.trim().to_owned());
    if notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        check("notes", Err("must be at most 2000 characters".into()));
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    let name = name.unwrap_or_else(|| before.name.clone());
    let email = email.unwrap_or_else(|| before.email.clone());
    let phone_v = phone_v.unwrap_or_else(|| before.phone.clone());
    let document_v = document_v.unwrap_or_else(|| before.document.clone());
    let notes = notes.unwrap_or_else(|| before.notes.clone());
    if (&name, &email, &phone_v, &document_v, &notes)
        == (
            &before.name,
            &before.email,
            &before.phone,
            &before.document,
            &before.notes,
        )
    {
        return Ok(before);
    }
    tx.execute(
        "UPDATE customers SET name = $2, email = $3, phone = $4, document = $5, notes = $6, \
         search_text = $7, updated_at = $8 WHERE id = $1",
        args![
            before.id,
            name.as_str(),
            email.as_str(),
            phone_v,
            document_v,
            notes.as_str(),
            format!("{} {}", name.to_lowercase(), email.to_lowercase()),
            now(),
        ],
    )
    .await?;
    let after = reread(&mut tx, before.id).await?;
    record(&mut tx, actor, "customer.update", &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Blocks an active customer (status `suspended`), with the reason shown on its screen.
pub async fn block(db: &Db, actor: &Actor, key: &str, reason: &str) -> Result<Customer, ServiceError> {
    require(actor, Permission::CustomersBlock)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ServiceError::invalid(
            "reason",
            "a reason is required to block a customer",
        ));
    }
    if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "reason",
            "must be one line of at most 500 characters",
        ));
    }
    set_status(db, actor, key, "active", "suspended", Some(reason), "customer.block").await
}

/// Unblocks a blocked customer.
pub async fn unblock(db: &Db, actor: &Actor, key: &str) -> Result<Customer, ServiceError> {
    require(actor, Permission::CustomersBlock)?;
    set_status(db, actor, key, "suspended", "active", None, "customer.unblock").await
}

async fn set_status(
    db: &Db,
    actor: &Actor,
    key: &str,
    from: &str,
    to: &str,
    reason: Option<&str>,
    action: &'static str,
) -> Result<Customer, ServiceError> {
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    if before.status != from {
        let word = if to == "active" { "blocked" } else { "active" };
        return Err(ServiceError::Conflict(format!(
            "customer {} is {}, not {word}",
            before.name, before.status
        )));
    }
    tx.execute(
        "UPDATE customers SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1",
        args![before.id, to, reason, now()],
    )
    .await?;
    let after = reread(&mut tx, before.id).await?;
    record(&mut tx, actor, action, &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// Moves a customer to another reseller of its tenant. A reseller-family actor moves only
/// customers of its subtree, and only to accounts of its subtree (itself included). The audit
/// row names both resellers, so each side finds it in the customer's history
/// ([`super::history`]).
pub async fn transfer(db: &Db, actor: &Actor, key: &str, to: &str) -> Result<Customer, ServiceError> {
    require(actor, Permission::CustomersTransfer)?;
    let to = to.trim();
    if to.is_empty() {
        return Err(ServiceError::invalid(
            "to",
            "name the reseller (username or id) to transfer to",
        ));
    }
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    let by_id = Uuid::parse_str(to).ok();
    let found: Option<(Uuid, Option<Uuid>, String, String)> = tx
        .fetch_optional(
            "SELECT id, tenant_id, role, username FROM users WHERE id = $1 OR username = $2",
            args![by_id, to.to_lowercase()],
        )
        .await?;
    let target = found.filter(|(_, t, role, _)| {
        *t == Some(before.tenant_id) && crate::Role::parse(role).is_some_and(crate::Role::is_reseller_family)
    });
    let Some((target, _, _, username)) = target else {
        return Err(ServiceError::invalid(
            "to",
            format!("must be a reseller account of tenant {}", before.tenant_slug),
        ));
    };
    if let Some(root) = actor.reseller_root() {
        if !reseller::in_subtree(&mut tx, root, target).await? {
            return Err(ServiceError::PermissionDenied(format!(
                "{} may transfer customers only within its own reseller tree; {username} is outside it",
                actor.name
            )));
        }
    }
    if before.reseller_id == Some(target) {
        return Err(ServiceError::Conflict(format!(
            "customer {} already belongs to {username}",
            before.name
        )));
    }
    tx.execute(
        "UPDATE customers SET reseller_id = $2, updated_at = $3 WHERE id = $1",
        args![before.id, target, now()],
    )
    .await?;
    let after = reread(&mut tx, before.id).await?;
    record(&mut tx, actor, "customer.transfer", &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// A reseller the customer may be transferred to.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TransferTarget {
    pub id: Uuid,
    pub username: String,
    pub role: String,
}

/// The reseller accounts customer `key` may move to, for `actor` (same tenant; within the
/// actor's tree when it is a reseller), whose username contains `term`; at most 20, by name.
/// What a picker offers: [`transfer`] checks again.
pub async fn transfer_targets(
    db: &Db,
    actor: &Actor,
    key: &str,
    term: &str,
) -> Result<Vec<TransferTarget>, ServiceError> {
    require(actor, Permission::CustomersTransfer)?;
    let c = super::get(db, actor, key).await?;
    let roles: Vec<&str> = [
        crate::Role::Partner,
        crate::Role::Ultra,
        crate::Role::Master,
        crate::Role::Reseller,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    let mut args: Vec<Arg> = args![c.tenant_id, validate::like_contains(term)];
    let mut conds = vec![
        "tenant_id = $1".to_owned(),
        "username LIKE $2 ESCAPE '\\'".to_owned(),
        format!("role IN ('{}')", roles.join("', '")),
    ];
    if let Some(id) = c.reseller_id {
        args.push(id.into());
        conds.push(format!("id <> ${}", args.len()));
    }
    if let Some(root) = actor.reseller_root() {
        args.push(root.into());
        conds.push(format!("id IN ({})", reseller::subtree(args.len())));
    }
    db.fetch_all(
        &format!(
            "SELECT id, username, role FROM users {} ORDER BY username LIMIT 20",
            where_clause(&conds)
        ),
        args,
    )
    .await
}
