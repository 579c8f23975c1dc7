//! Customers: the end clients of a tenant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Db};
use crate::error::{FieldError, ServiceError};
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};
use crate::reseller::{self, Reach};
use crate::{args, tenants, validate};

mod change;
mod history;

pub use change::{block, edit, transfer, transfer_targets, unblock, CustomerEdit, TransferTarget};
pub use history::{history, history_table, Activity, ACTIVITY_VIEW};

/// Customers belong to the reseller named by `reseller_id` (and so to its ancestors).
pub(crate) const REACH: Reach = Reach::Owned {
    reseller: Some("c.reseller_id"),
    customer: None,
};

pub(crate) const COLUMNS: &str =
    "c.id, c.tenant_id, t.slug AS tenant_slug, c.reseller_id, c.name, c.email, c.phone, c.document, \
    c.status, c.status_reason, c.notes, c.created_at, c.updated_at, r.username AS reseller";

/// The customer row with its tenant's slug and its reseller's username.
pub(crate) const FROM: &str =
    "customers c JOIN tenants t ON t.id = c.tenant_id LEFT JOIN users r ON r.id = c.reseller_id";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Customer {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub reseller_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub document: Option<String>,
    pub status: String,
    /// Why the customer is blocked, while it is.
    pub status_reason: Option<String>,
    pub notes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The reseller's username, when it belongs to one.
    pub reseller: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewCustomer {
    /// Tenant id or slug.
    pub tenant: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    /// CPF (11 digits) or CNPJ (14 digits); punctuation is ignored.
    pub document: String,
    pub notes: String,
    /// The reseller (username or user id) the customer belongs to; empty: the acting
    /// reseller itself, or none for staff.
    #[serde(default)]
    pub reseller: String,
}

#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Tenant id or slug; `None` lists every tenant the actor sees.
    pub tenant: Option<String>,
    pub filter: Option<String>,
    pub dir: SortDir,
    pub limit: usize,
    pub at: PageAt,
}

pub(crate) fn phone(raw: &str) -> Result<String, String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let ok = (8..=15).contains(&digits.len()) && raw.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if ok {
        Ok(raw.trim().to_owned())
    } else {
        Err("must be a phone number like +55 11 91234-5678".into())
    }
}

pub async fn create(db: &Db, actor: &Actor, input: NewCustomer) -> Result<Customer, ServiceError> {
    require(actor, Permission::CustomersCreate)?;
    let tenant = tenants::get(db, actor, &input.tenant).await?;
    let mut e: Vec<FieldError> = Vec::new();
    let mut check = |f: &str, r: Result<String, String>| {
        r.unwrap_or_else(|message| {
            e.push(FieldError {
                field: f.to_owned(),
                message,
            });
            String::new()
        })
    };
    let name = check("name", validate::name(&input.name, 120));
    let email = check("email", validate::email(&input.email));
    let phone = (!input.phone.trim().is_empty()).then(|| check("phone", phone(&input.phone)));
    let document = (!input.document.trim().is_empty()).then(|| check("document", validate::document(&input.document)));
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    if tenant.status != "active" {
        return Err(ServiceError::Conflict(format!(
            "tenant {} is {}",
            tenant.slug, tenant.status
        )));
    }
    let mut tx = db.begin().await?;
    let reseller_id = owner(&mut tx, actor, tenant.id, &tenant.slug, &input.reseller).await?;
    if let Some(max) = tenant.max_customers {
        let n: i64 = tx
            .scalar("SELECT COUNT(*) FROM customers WHERE tenant_id = $1", args![tenant.id])
            .await?;
        if n >= max {
            return Err(ServiceError::Conflict(format!(
                "tenant {} has reached its limit of {max} customers",
                tenant.slug
            )));
        }
    }
    let id = Uuid::now_v7();
    let at = now();
    tx.execute(
        "INSERT INTO customers (id, tenant_id, name, email, phone, document, status, notes, search_text, created_at, updated_at, reseller_id) \
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $9, $10)",
        args![
            id,
            tenant.id,
            name.as_str(),
            email.as_str(),
            phone,
            document,
            input.notes.trim(),
            format!("{} {}", name.to_lowercase(), email.to_lowercase()),
            at,
            reseller_id,
        ],
    )
    .await?;
    let c: Customer = tx
        .fetch_one(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1"), args![id])
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "customer.create",
            entity: "customer",
            entity_id: Some(id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: snapshot(&c),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

/// Who a new customer belongs to: the named reseller (of this tenant, and within the actor's
/// own subtree when the actor is a reseller), else the acting reseller, else nobody.
async fn owner(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    tenant_id: Uuid,
    tenant_slug: &str,
    key: &str,
) -> Result<Option<Uuid>, ServiceError> {
    let key = key.trim();
    if key.is_empty() {
        return Ok(actor.reseller_root());
    }
    let by_id = Uuid::parse_str(key).ok();
    let found: Option<(Uuid, Option<Uuid>, String)> = tx
        .fetch_optional(
            "SELECT id, tenant_id, role FROM users WHERE id = $1 OR username = $2",
            args![by_id, key.to_lowercase()],
        )
        .await?;
    let fits = |t: &Option<Uuid>, role: &str| {
        *t == Some(tenant_id) && crate::Role::parse(role).is_some_and(crate::Role::is_reseller_family)
    };
    let Some((user, _, _)) = found.filter(|(_, t, role)| fits(t, role)) else {
        return Err(ServiceError::invalid(
            "reseller",
            format!("must be a reseller account of tenant {tenant_slug}"),
        ));
    };
    if let Some(root) = actor.reseller_root() {
        if !reseller::in_subtree(tx, root, user).await? {
            return Err(ServiceError::PermissionDenied(format!(
                "{} may create customers only for itself or its own resellers",
                actor.name
            )));
        }
    }
    Ok(Some(user))
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> Result<Customer, ServiceError> {
    require(actor, Permission::CustomersRead)?;
    let id = &crate::ids::expand(db, actor, &crate::ids::CUSTOMERS, id).await?;
    let uuid = Uuid::parse_str(id.trim())
        .map_err(|_| ServiceError::invalid("id", "must be a customer id (UUID) or a unique id prefix"))?;
    let mut conds = vec!["c.id = $1".to_owned()];
    let mut args: Vec<Arg> = args![uuid];
    // Outside the reseller's subtree a customer does not exist for it, as in another tenant.
    reseller::restrict(actor, REACH, "customers", &mut conds, &mut args)?;
    let c: Option<Customer> = db
        .fetch_optional(&format!("SELECT {COLUMNS} FROM {FROM} {}", where_clause(&conds)), args)
        .await?;
    match c {
        Some(c) if actor.sees_tenant(c.tenant_id) => Ok(c),
        _ => Err(ServiceError::not_found("customer", id)),
    }
}

pub async fn list(db: &Db, actor: &Actor, q: &CustomerQuery) -> Result<Page<Customer>, ServiceError> {
    require(actor, Permission::CustomersRead)?;
    let limit = q.limit.clamp(1, tenants::MAX_PAGE);
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Some(scope) = actor.tenant_id {
        args.push(scope.into());
        conds.push(format!("c.tenant_id = ${}", args.len()));
    }
    if let Some(key) = q.tenant.as_deref() {
        let t = tenants::get(db, actor, key).await?;
        args.push(t.id.into());
        conds.push(format!("c.tenant_id = ${}", args.len()));
    }
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        args.push(validate::like_contains(f).into());
        conds.push(format!("c.search_text LIKE ${} ESCAPE '\\'", args.len()));
    }
    reseller::restrict(actor, REACH, "customers", &mut conds, &mut args)?;
    let cols = ["c.name", "c.id"];
    let order = apply_keyset(&cols, q.dir, &q.at, &mut conds, &mut args)?;
    let where_sql = where_clause(&conds);
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} {where_sql} ORDER BY {order} LIMIT {}",
        limit + 1
    );
    let rows: Vec<Customer> = db.fetch_all(&sql, args).await?;
    Ok(finish(rows, limit, &q.at, |c| {
        Cursor(vec![KeyPart::Text(c.name.clone()), KeyPart::Uuid(c.id)])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(phone("+55 (11) 91234-5678").is_ok());
        assert!(phone("call me").is_err());
    }
}
