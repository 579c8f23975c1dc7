//! Editable RBAC (docs/adr/0011): the stored permission catalogue and role sets, how an
//! actor's set is loaded, and the super admin's grant/revoke.
//!
//! * [`ensure_catalogue`] seeds `permissions`, the built-in global `roles` and their default
//!   `role_permissions` from [`authz::role_allows`]. It only adds: a permission new to the
//!   catalogue (a newer release) gets its default grants once, when it first appears, so a
//!   super admin's earlier revocation is never undone. Like a migration it is not audited:
//!   it stores the default already in force.
//! * [`load`] / [`load_in`] read a role's stored set when an actor is resolved (session
//!   authentication, login); a tenant's own role row of the same key narrows it for that
//!   tenant. No stored global row: the default policy.
//! * [`grant`] / [`revoke`] are sensitive actions (the role key typed again + a recent second
//!   factor), audited with the permission lists before and after.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::audit::{self, Change};
use crate::authz::{self, default_grants, require, Grants, Permission};
use crate::db::{now, Arg, Db, Tx};
use crate::error::ServiceError;
use crate::sensitive::{self, Proof, Target};
use crate::{args, Backend};

/// A role as `roles list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleInfo {
    pub key: String,
    pub name: String,
    /// Permission keys, in catalogue order.
    pub permissions: Vec<String>,
    /// `stored` when the database holds the role's set, `default` when it falls back to the
    /// built-in policy (nothing seeded yet).
    pub source: &'static str,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::SuperAdmin => "Super admin",
        Role::TenantAdmin => "Tenant admin",
        Role::Partner => "Partner",
        Role::Ultra => "Ultra",
        Role::Master => "Master",
        Role::Reseller => "Reseller",
        Role::SupportAgent => "Support agent",
        Role::OnCall => "On call (read-only)",
    }
}

fn keys_of(set: &BTreeSet<Permission>) -> Vec<String> {
    // BTreeSet<Permission> iterates in declaration order, which is catalogue order.
    set.iter().map(|p| p.key().to_owned()).collect()
}

/// What [`ensure_in`] added.
#[derive(Debug, Default)]
struct Added {
    permissions: Vec<&'static str>,
    roles: Vec<&'static str>,
    grants: usize,
}

/// Seeds whatever part of the catalogue is missing (idempotent; run at every start). Returns
/// how many rows were added; nothing is written when the catalogue is complete.
pub async fn ensure_catalogue(db: &Db) -> Result<usize, ServiceError> {
    // A read first, so a start with a complete catalogue takes no write lock.
    let perms: i64 = db.scalar("SELECT COUNT(*) FROM permissions", args![]).await?;
    let roles: i64 = db
        .scalar("SELECT COUNT(*) FROM roles WHERE tenant_id IS NULL", args![])
        .await?;
    if usize::try_from(perms).ok() >= Some(Permission::ALL.len())
        && usize::try_from(roles).ok() >= Some(Role::ALL.len())
    {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let added = ensure_in(&mut tx).await?;
    tx.commit().await?;
    Ok(added.permissions.len() + added.roles.len() + added.grants)
}

/// The catalogue seeding inside the caller's transaction. Not audited, like a migration: it
/// stores exactly the built-in default that was already in force, so the effective policy
/// does not change (docs/adr/0011); every edit after it is audited.
async fn ensure_in(tx: &mut Tx) -> Result<Added, ServiceError> {
    let mut added = Added::default();
    // ON CONFLICT DO NOTHING: two processes starting at once must not fail on each other's
    // rows; whoever inserts a row also inserts its default grants.
    for p in Permission::ALL {
        let n = tx
            .execute(
                "INSERT INTO permissions (id, key, description) VALUES ($1, $2, '') ON CONFLICT DO NOTHING",
                args![Uuid::now_v7(), p.key()],
            )
            .await?;
        if n > 0 {
            added.permissions.push(p.key());
        }
    }
    for r in Role::ALL {
        let n = tx
            .execute(
                "INSERT INTO roles (id, tenant_id, key, name, description, is_system) \
                 VALUES ($1, NULL, $2, $3, 'built-in role', $4) ON CONFLICT DO NOTHING",
                args![Uuid::now_v7(), r.as_str(), role_name(r), true],
            )
            .await?;
        if n > 0 {
            added.roles.push(r.as_str());
        }
    }
    for r in Role::ALL {
        let new_role = added.roles.contains(&r.as_str());
        for p in default_grants(r) {
            if !new_role && !added.permissions.contains(&p.key()) {
                continue;
            }
            added.grants += usize::try_from(
                tx.execute(
                    "INSERT INTO role_permissions (role_id, permission_id, tenant_id) \
                     SELECT r.id, p.id, NULL FROM roles r, permissions p \
                     WHERE r.key = $1 AND r.tenant_id IS NULL AND p.key = $2 ON CONFLICT DO NOTHING",
                    args![r.as_str(), p.key()],
                )
                .await?,
            )
            .unwrap_or(0);
        }
    }
    Ok(added)
}

const LOAD_SQL: &str = "SELECT r.tenant_id, p.key FROM roles r \
    LEFT JOIN role_permissions rp ON rp.role_id = r.id \
    LEFT JOIN permissions p ON p.id = rp.permission_id \
    WHERE r.key = $1 AND (r.tenant_id IS NULL OR r.tenant_id = $2)";

fn fold(rows: Vec<(Option<Uuid>, Option<String>)>) -> Grants {
    let mut global: Option<BTreeSet<Permission>> = None;
    let mut narrowed: Option<BTreeSet<Permission>> = None;
    for (tenant, key) in rows {
        let set = if tenant.is_none() { &mut global } else { &mut narrowed };
        let set = set.get_or_insert_with(BTreeSet::new);
        // Keys this build does not know (a newer release's) grant nothing here.
        if let Some(p) = key.as_deref().and_then(Permission::parse) {
            set.insert(p);
        }
    }
    match (global, narrowed) {
        (None, _) => Grants::default(),
        (Some(g), None) => Grants::stored(g),
        (Some(g), Some(t)) => Grants::stored(g.intersection(&t).copied().collect()),
    }
}

/// The stored permission set of `role` for an actor of `tenant`.
pub async fn load(db: &Db, role: Role, tenant: Option<Uuid>) -> Result<Grants, ServiceError> {
    Ok(fold(db.fetch_all(LOAD_SQL, args![role.as_str(), tenant]).await?))
}

/// [`load`] inside a transaction (the login's).
pub async fn load_in(tx: &mut Tx, role: Role, tenant: Option<Uuid>) -> Result<Grants, ServiceError> {
    Ok(fold(tx.fetch_all(LOAD_SQL, args![role.as_str(), tenant]).await?))
}

async fn stored_sets(db: &Db) -> Result<Vec<(String, Option<String>)>, ServiceError> {
    db.fetch_all(
        "SELECT r.key, p.key FROM roles r \
         LEFT JOIN role_permissions rp ON rp.role_id = r.id \
         LEFT JOIN permissions p ON p.id = rp.permission_id \
         WHERE r.tenant_id IS NULL",
        args![],
    )
    .await
}

/// Every built-in role with its effective permission set (`roles:read`).
pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<RoleInfo>, ServiceError> {
    require(actor, Permission::RolesRead)?;
    let rows = stored_sets(db).await?;
    Ok(Role::ALL
        .into_iter()
        .map(|r| {
            let mine: Vec<&(String, Option<String>)> = rows.iter().filter(|(k, _)| k == r.as_str()).collect();
            let (set, source) = if mine.is_empty() {
                (default_grants(r), "default")
            } else {
                let set = mine
                    .iter()
                    .filter_map(|(_, p)| p.as_deref().and_then(Permission::parse))
                    .collect();
                (set, "stored")
            };
            RoleInfo {
                key: r.as_str().to_owned(),
                name: role_name(r).to_owned(),
                permissions: keys_of(&set),
                source,
            }
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Grant,
    Revoke,
}

impl Edit {
    fn action(self) -> &'static str {
        match self {
            Edit::Grant => "role.grant",
            Edit::Revoke => "role.revoke",
        }
    }
}

/// Gives `role` the permission `permission` (sensitive: `proof.confirm` = the role key).
pub async fn grant(
    db: &Db,
    actor: &Actor,
    role: &str,
    permission: &str,
    proof: &Proof<'_>,
) -> Result<RoleInfo, ServiceError> {
    edit(db, actor, Edit::Grant, role, permission, proof).await
}

/// Takes `permission` from `role` (sensitive: `proof.confirm` = the role key).
pub async fn revoke(
    db: &Db,
    actor: &Actor,
    role: &str,
    permission: &str,
    proof: &Proof<'_>,
) -> Result<RoleInfo, ServiceError> {
    edit(db, actor, Edit::Revoke, role, permission, proof).await
}

fn parse_input(role: &str, permission: &str) -> Result<(Role, Permission), ServiceError> {
    let r = Role::parse(role.trim()).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        ServiceError::invalid("role", format!("must be one of: {}", all.join(", ")))
    })?;
    let p = Permission::parse(permission).ok_or_else(|| {
        ServiceError::invalid(
            "permission",
            "must be a permission key such as customers:read (see `painel roles list`)",
        )
    })?;
    Ok((r, p))
}

async fn edit(
    db: &Db,
    actor: &Actor,
    edit: Edit,
    role: &str,
    permission: &str,
    proof: &Proof<'_>,
) -> Result<RoleInfo, ServiceError> {
    require(actor, Permission::RolesManage)?;
    let (role, perm) = parse_input(role, permission)?;
    if authz::super_admin_only(perm) {
        // Only super admins may ever hold it (authz::allows), so granting it elsewhere would do
        // nothing and revoking it from super_admin would leave nobody able to edit roles.
        return Err(match (edit, role) {
            (Edit::Revoke, Role::SuperAdmin) => ServiceError::Conflict(format!(
                "revoking {} from super_admin would leave no role able to edit roles",
                perm.key()
            )),
            _ => ServiceError::invalid("permission", format!("{} belongs to super_admin only", perm.key())),
        });
    }
    let tx = db.begin().await?;
    let target = Target {
        action: edit.action(),
        name: role.as_str(),
        tenant_id: None,
    };
    // The gate first: a refused edit commits its refusal row and nothing else.
    let mut tx = sensitive::require(tx, actor, &target, proof).await?;
    ensure_in(&mut tx).await?;
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let (role_id,): (Uuid,) = tx
        .fetch_one(
            &format!("SELECT id FROM roles WHERE key = $1 AND tenant_id IS NULL{lock}"),
            args![role.as_str()],
        )
        .await?;
    let current: Vec<(String,)> = tx
        .fetch_all(
            "SELECT p.key FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id = $1",
            args![role_id],
        )
        .await?;
    let before: BTreeSet<Permission> = current.iter().filter_map(|(k,)| Permission::parse(k)).collect();
    let mut after = before.clone();
    let changed = match edit {
        Edit::Grant => after.insert(perm),
        Edit::Revoke => after.remove(&perm),
    };
    if !changed {
        let state = if edit == Edit::Grant {
            "already has"
        } else {
            "does not have"
        };
        return Err(ServiceError::Conflict(format!(
            "{} {state} {}",
            role.as_str(),
            perm.key()
        )));
    }
    let (sql, args): (&str, Vec<Arg>) = match edit {
        Edit::Grant => (
            "INSERT INTO role_permissions (role_id, permission_id, tenant_id) \
             SELECT $1, p.id, NULL FROM permissions p WHERE p.key = $2",
            args![role_id, perm.key()],
        ),
        Edit::Revoke => (
            "DELETE FROM role_permissions WHERE role_id = $1 \
             AND permission_id = (SELECT id FROM permissions WHERE key = $2)",
            args![role_id, perm.key()],
        ),
    };
    tx.execute(sql, args).await?;
    tx.execute("UPDATE roles SET updated_at = $2 WHERE id = $1", args![role_id, now()])
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: edit.action(),
            entity: "role",
            entity_id: Some(role.as_str().to_owned()),
            tenant_id: None,
            before: Some(json!({"role": role.as_str(), "permissions": keys_of(&before)})),
            after: Some(json!({"role": role.as_str(), "permissions": keys_of(&after), "changed": perm.key()})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(RoleInfo {
        key: role.as_str().to_owned(),
        name: role_name(role).to_owned(),
        permissions: keys_of(&after),
        source: "stored",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_row_narrows_the_global_set_and_no_row_means_default() {
        assert!(fold(vec![]).is_default());
        let t = Some(Uuid::nil());
        let g = fold(vec![
            (None, Some("customers:read".into())),
            (None, Some("billing:read".into())),
            (t, Some("billing:read".into())),
            (t, Some("dns:read".into())),
            (None, Some("unknown:key".into())),
        ]);
        assert_eq!(g, Grants::stored([Permission::BillingRead].into_iter().collect()));
        // A global role row with no permissions is an empty set, not the default.
        assert_eq!(fold(vec![(None, None)]), Grants::stored(BTreeSet::new()));
    }

    #[test]
    fn bad_input_is_a_validation_error_naming_the_field() {
        match parse_input("root", "customers:read") {
            Err(ServiceError::Validation(f)) => assert_eq!(f[0].field, "role"),
            other => panic!("{other:?}"),
        }
        match parse_input("reseller", "customers:eat") {
            Err(ServiceError::Validation(f)) => assert_eq!(f[0].field, "permission"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_input(" reseller ", "dns:read").ok(),
            Some((Role::Reseller, Permission::DnsRead))
        );
    }
}
