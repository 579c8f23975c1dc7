//! Accounts: the first super admin (`painel init`) and creating users.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{password, User, USER_COLUMNS};
use crate::actor::{Actor, Role};
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Backend, Db, Tx};
use crate::error::{FieldError, ServiceError};
use crate::sensitive::{self, Proof, Target};
use crate::{args, reseller, validate};

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    /// Empty: the username.
    pub display_name: String,
    /// `None`: an account that cannot log in with a password (yet).
    pub password: Option<String>,
    pub role: Option<Role>,
    pub tenant_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
}

/// 3–64 characters: lower-case letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn username(raw: &str) -> Result<String, String> {
    let u = raw.trim().to_lowercase();
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
    if !(3..=64).contains(&u.chars().count()) {
        return Err("must be 3 to 64 characters".into());
    }
    if !u.chars().all(ok_char) || !u.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("may hold lower-case letters, digits, '.', '_' and '-', and starts with a letter or digit".into());
    }
    Ok(u)
}

struct Valid {
    username: String,
    email: String,
    display_name: String,
    password_hash: Option<String>,
}

async fn validate_new(u: &NewUser) -> Result<Valid, ServiceError> {
    let mut errors = Vec::new();
    let mut field = |name: &str, r: Result<String, String>| match r {
        Ok(v) => Some(v),
        Err(message) => {
            errors.push(FieldError {
                field: name.to_owned(),
                message,
            });
            None
        }
    };
    let username = field("username", username(&u.username));
    let email = field("email", validate::email(&u.email));
    let display = if u.display_name.trim().is_empty() {
        username.clone()
    } else {
        field("display_name", validate::name(&u.display_name, 120))
    };
    if let Some(pw) = &u.password {
        if let Err(ServiceError::Validation(mut e)) = password::check_policy(pw) {
            errors.append(&mut e);
        }
    }
    let (Some(username), Some(email), Some(display_name)) = (username, email, display) else {
        return Err(ServiceError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    let password_hash = match &u.password {
        Some(pw) => Some(password::hash(pw).await?),
        None => None,
    };
    Ok(Valid {
        username,
        email,
        display_name,
        password_hash,
    })
}

#[derive(Serialize)]
struct Snapshot<'a> {
    id: Uuid,
    username: &'a str,
    email: &'a str,
    display_name: &'a str,
    role: &'a str,
    tenant_id: Option<Uuid>,
    has_password: bool,
}

async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    v: Valid,
    role: Role,
    u: &NewUser,
    action: &str,
) -> Result<User, ServiceError> {
    let id = Uuid::now_v7();
    let at = now();
    let user: User = tx
        .fetch_one(
            &format!(
                "INSERT INTO users (id, tenant_id, parent_id, username, email, display_name, password_hash, role, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {USER_COLUMNS}"
            ),
            args![
                id,
                u.tenant_id,
                u.parent_id,
                v.username.as_str(),
                v.email.as_str(),
                v.display_name.as_str(),
                v.password_hash.clone(),
                role.as_str(),
                at,
            ],
        )
        .await?;
    let snap = Snapshot {
        id,
        username: &user.username,
        email: &user.email,
        display_name: &user.display_name,
        role: &user.role,
        tenant_id: user.tenant_id,
        has_password: v.password_hash.is_some(),
    };
    audit::record(
        tx,
        actor,
        Change {
            action,
            entity: "user",
            entity_id: Some(id.to_string()),
            tenant_id: user.tenant_id,
            before: None,
            after: audit::snapshot(&snap),
        },
    )
    .await?;
    Ok(user)
}

/// Creates the first account, a platform super admin. Refuses (Conflict) once any user
/// exists: from then on accounts are created by a logged-in administrator.
pub async fn init(db: &Db, actor: &Actor, mut new: NewUser) -> Result<User, ServiceError> {
    new.role = Some(Role::SuperAdmin);
    new.tenant_id = None;
    new.parent_id = None;
    if new.password.is_none() {
        return Err(ServiceError::invalid(
            "password",
            "the first administrator needs a password",
        ));
    }
    let v = validate_new(&new).await?;
    let mut tx = db.begin().await?;
    // Two concurrent inits must not both see an empty table (SQLite: BEGIN IMMEDIATE already
    // serialises writers).
    if tx.backend() == Backend::Postgres {
        tx.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE", args![])
            .await?;
    }
    let n: i64 = tx.scalar("SELECT COUNT(*) FROM users", args![]).await?;
    if n > 0 {
        return Err(ServiceError::Conflict(
            "accounts already exist: `painel init` only creates the first one — log in with `painel login`".into(),
        ));
    }
    let user = insert(&mut tx, actor, v, Role::SuperAdmin, &new, "user.init").await?;
    tx.commit().await?;
    Ok(user)
}

/// Whether `creator` may hand out `created`: every role at or below its own. Super admins
/// rank above everyone, tenant admins above every tenant role, the reseller tree in its order
/// (partner > ultra > master > reseller); support and on-call staff only reproduce their own
/// role.
pub fn may_create_role(creator: Role, created: Role) -> bool {
    fn tree_rank(r: Role) -> u8 {
        match r {
            Role::Partner => 4,
            Role::Ultra => 3,
            Role::Master => 2,
            _ => 1,
        }
    }
    match (creator, created) {
        (Role::SuperAdmin, _) => true,
        (_, Role::SuperAdmin) => false,
        (Role::TenantAdmin, _) => true,
        (_, Role::TenantAdmin) => false,
        (a, b) if a.is_reseller_family() && b.is_reseller_family() => tree_rank(a) >= tree_rank(b),
        (a, b) => a == b,
    }
}

fn outside(actor: &Actor, what: &str) -> ServiceError {
    ServiceError::PermissionDenied(format!("{} ({}) cannot {what}", actor.name, actor.role.as_str()))
}

/// Creates a user (`users:create`, audited `user.create`). What the creator may create is
/// bounded by what it is (docs/adr/0014): a role at or below its own ([`may_create_role`]),
/// in its own tenant when it is tenant-scoped (the tenant defaults to it), under its own
/// subtree when it is a reseller-family account (the parent defaults to itself), and a parent
/// always of the new user's tenant. A super admin is created only by a platform super admin
/// and through the sensitive-action gate (`proof`: the new username typed again and a recent
/// second factor); other roles ignore `proof`.
pub async fn create_user(db: &Db, actor: &Actor, mut new: NewUser, proof: &Proof<'_>) -> Result<User, ServiceError> {
    require(actor, Permission::UsersCreate)?;
    let role = new
        .role
        .ok_or_else(|| ServiceError::invalid("role", "a role is required"))?;
    if role == Role::SuperAdmin && !(actor.role == Role::SuperAdmin && actor.is_platform()) {
        return Err(outside(actor, "create a super admin: only a platform super admin can"));
    }
    if !may_create_role(actor.role, role) {
        return Err(outside(
            actor,
            &format!("create a {} (above its own role)", role.as_str()),
        ));
    }
    if let Some(scope) = actor.tenant_id {
        match new.tenant_id {
            None => new.tenant_id = Some(scope),
            Some(t) if t == scope => {}
            Some(_) => return Err(outside(actor, "create accounts of another tenant")),
        }
    }
    let root = actor.reseller_root();
    if new.parent_id.is_none() {
        new.parent_id = root;
    }
    let v = validate_new(&new).await?;
    let mut tx = db.begin().await?;
    if let Some(parent) = new.parent_id {
        let found: Option<(Option<Uuid>,)> = tx
            .fetch_optional("SELECT tenant_id FROM users WHERE id = $1", args![parent])
            .await?;
        match found {
            None => return Err(ServiceError::not_found("user", parent.to_string())),
            Some((t,)) if t != new.tenant_id => {
                return Err(ServiceError::invalid("parent", "must belong to the same tenant"))
            }
            Some(_) => {}
        }
        if let Some(root) = root {
            if !reseller::in_subtree(&mut tx, root, parent).await? {
                return Err(outside(actor, "place accounts outside its own reseller tree"));
            }
        }
    }
    if role == Role::SuperAdmin {
        let target = Target {
            action: "user.create",
            name: &v.username,
            tenant_id: None,
        };
        tx = sensitive::require(tx, actor, &target, proof).await?;
    }
    let user = insert(&mut tx, actor, v, role, &new, "user.create").await?;
    tx.commit().await?;
    Ok(user)
}

/// What `painel users create` gives: the tenant and the reseller parent by name, resolved
/// here in the actor's scope.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password: Option<String>,
    pub role: String,
    /// Tenant id or slug; required for tenant roles.
    pub tenant: Option<String>,
    /// Username of the parent in the reseller tree.
    pub parent: Option<String>,
}

/// Creates an account from names (`users:create`, audited `user.create`; the rules of
/// [`create_user`]).
pub async fn create_account(db: &Db, actor: &Actor, a: NewAccount, proof: &Proof<'_>) -> Result<User, ServiceError> {
    require(actor, Permission::UsersCreate)?;
    let role = Role::parse(a.role.trim()).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        ServiceError::invalid("role", format!("must be one of {}", all.join(", ")))
    })?;
    let tenant_id = match a.tenant.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(key) => Some(crate::tenants::get(db, actor, key).await?.id),
        None => None,
    };
    let parent_id = match a.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(name) => {
            // A tenant user looks in its own tenant only: another tenant's names stay unknown.
            let parent: Option<(Uuid,)> = match actor.tenant_id {
                Some(t) => {
                    db.fetch_optional(
                        "SELECT id FROM users WHERE username = $1 AND tenant_id = $2",
                        args![name.to_lowercase(), t],
                    )
                    .await?
                }
                None => {
                    db.fetch_optional("SELECT id FROM users WHERE username = $1", args![name.to_lowercase()])
                        .await?
                }
            };
            match parent {
                Some((id,)) => Some(id),
                None => return Err(ServiceError::not_found("user", name)),
            }
        }
        None => None,
    };
    create_user(
        db,
        actor,
        NewUser {
            username: a.username,
            email: a.email,
            display_name: a.display_name,
            password: a.password,
            role: Some(role),
            tenant_id,
            parent_id,
        },
        proof,
    )
    .await
}

/// Sets a user's password directly (demo seeding, inside its transaction). Audited by the
/// caller's change log; the hash never reaches the audit row.
pub(crate) async fn set_password_hash(
    tx: &mut Tx,
    actor: &Actor,
    (user_id, tenant_id): (Uuid, Option<Uuid>),
    hash: &str,
) -> Result<(), ServiceError> {
    tx.execute(
        "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
        args![user_id, hash, now()],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "user.set_password",
            entity: "user",
            entity_id: Some(user_id.to_string()),
            tenant_id,
            before: None,
            after: Some(json!({ "has_password": true })),
        },
    )
    .await?;
    Ok(())
}

/// Makes an account read-only or lifts it (`users:create` on an account the actor could have
/// created: its tenant, its reseller subtree, a role at or below its own; audited
/// `user.read_only`). A read-only actor cannot lift itself: the permission mutates.
pub async fn set_read_only(db: &Db, actor: &Actor, username: &str, on: bool) -> Result<User, ServiceError> {
    require(actor, Permission::UsersCreate)?;
    let name = username.trim().to_lowercase();
    let mut tx = db.begin().await?;
    let found: Option<User> = tx
        .fetch_optional(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"),
            args![name.as_str()],
        )
        .await?;
    // Another tenant's accounts stay unknown to a tenant user.
    let user = match found {
        Some(u) if actor.tenant_id.is_none_or(|t| u.tenant_id == Some(t)) => u,
        _ => return Err(ServiceError::not_found("user", name)),
    };
    if !may_create_role(actor.role, user.role()?) {
        return Err(outside(actor, &format!("change a {} (above its own role)", user.role)));
    }
    if let Some(root) = actor.reseller_root() {
        if !reseller::in_subtree(&mut tx, root, user.id).await? {
            return Err(outside(actor, "change accounts outside its own reseller tree"));
        }
    }
    let after: User = tx
        .fetch_one(
            &format!("UPDATE users SET read_only = $2, updated_at = $3 WHERE id = $1 RETURNING {USER_COLUMNS}"),
            args![user.id, on, now()],
        )
        .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "user.read_only",
            entity: "user",
            entity_id: Some(user.id.to_string()),
            tenant_id: user.tenant_id,
            before: Some(json!({ "read_only": user.read_only })),
            after: Some(json!({ "read_only": after.read_only })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::{may_create_role, username};
    use crate::actor::Role;

    #[test]
    fn roles_are_created_at_or_below_the_creators() {
        assert!(Role::ALL.iter().all(|r| may_create_role(Role::SuperAdmin, *r)));
        assert!(Role::ALL
            .iter()
            .all(|r| may_create_role(Role::TenantAdmin, *r) == (*r != Role::SuperAdmin)));
        assert!(may_create_role(Role::Master, Role::Reseller));
        assert!(may_create_role(Role::Master, Role::Master));
        assert!(!may_create_role(Role::Master, Role::Ultra));
        assert!(!may_create_role(Role::Reseller, Role::TenantAdmin));
        assert!(!may_create_role(Role::SupportAgent, Role::OnCall));
        assert!(may_create_role(Role::OnCall, Role::OnCall));
        assert!(!may_create_role(Role::Partner, Role::SupportAgent));
    }

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(username("  Ana.Lima "), Ok("ana.lima".into()));
        assert!(username("ab").is_err());
        assert!(username(".hidden").is_err());
        assert!(username("ana lima").is_err());
        assert!(username("ana@x").is_err());
    }
}
