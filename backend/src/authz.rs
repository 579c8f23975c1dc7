//! The permission policy: which role may do what. Checked in the service layer only, so the
//! TUI, the batch mode and the API cannot disagree.
//!
//! [`role_allows`] is the declared default policy. The effective policy is data
//! (`roles`/`role_permissions`, seeded from the default by `rbac::ensure_catalogue` and edited
//! by a super admin, docs/adr/0011): it is loaded once when an actor is resolved and carried on
//! the [`Actor`] as [`Grants`], so [`require`] stays a synchronous set lookup. Whatever the
//! table says, platform-only permissions never reach tenant users and super-admin-only ones
//! never reach another role.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::actor::{Actor, Role};
use crate::error::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    TenantsRead,
    TenantsCreate,
    TenantsUpdate,
    TenantsSuspend,
    TenantsLimits,
    CustomersRead,
    CustomersCreate,
    CustomersUpdate,
    CustomersBlock,
    CustomersTransfer,
    ServersRead,
    ServersManage,
    ServicesRead,
    ServicesManage,
    PlansManage,
    BillingRead,
    MigrationsRead,
    DnsRead,
    DnsManage,
    AuditRead,
    IncidentsRead,
    SettingsRead,
    JobsRead,
    JobsManage,
    UsersCreate,
    KeysRotate,
    RolesRead,
    RolesManage,
    ApikeysRead,
    ApikeysManage,
    CreditsSpend,
    CreditsManage,
    InvoicesCreate,
    PaymentsRecord,
    PricesManage,
    PricesOverride,
    CouponsManage,
    PaymentsRefund,
}

impl Permission {
    pub fn key(self) -> &'static str {
        match self {
            Permission::TenantsRead => "tenants:read",
            Permission::TenantsCreate => "tenants:create",
            Permission::TenantsUpdate => "tenants:update",
            Permission::TenantsSuspend => "tenants:suspend",
            Permission::TenantsLimits => "tenants:limits",
            Permission::CustomersRead => "customers:read",
            Permission::CustomersCreate => "customers:create",
            Permission::CustomersUpdate => "customers:update",
            Permission::CustomersBlock => "customers:block",
            Permission::CustomersTransfer => "customers:transfer",
            Permission::ServersRead => "servers:read",
            Permission::ServersManage => "servers:manage",
            Permission::ServicesRead => "services:read",
            Permission::ServicesManage => "services:manage",
            Permission::PlansManage => "plans:manage",
            Permission::BillingRead => "billing:read",
            Permission::MigrationsRead => "migrations:read",
            Permission::DnsRead => "dns:read",
            Permission::DnsManage => "dns:manage",
            Permission::AuditRead => "audit:read",
            Permission::IncidentsRead => "incidents:read",
            Permission::SettingsRead => "settings:read",
            Permission::JobsRead => "jobs:read",
            Permission::JobsManage => "jobs:manage",
            Permission::UsersCreate => "users:create",
            Permission::KeysRotate => "keys:rotate",
            Permission::RolesRead => "roles:read",
            Permission::RolesManage => "roles:manage",
            Permission::ApikeysRead => "apikeys:read",
            Permission::ApikeysManage => "apikeys:manage",
            Permission::CreditsSpend => "credits:spend",
            Permission::CreditsManage => "credits:manage",
            Permission::InvoicesCreate => "invoices:create",
            Permission::PaymentsRecord => "payments:record",
            Permission::PricesManage => "prices:manage",
            Permission::PricesOverride => "prices:override",
            Permission::CouponsManage => "coupons:manage",
            Permission::PaymentsRefund => "payments:refund",
        }
    }

    /// Whether the permission changes something (everything but the `:read` ones): refused to
    /// a read-only actor.
    pub fn mutates(self) -> bool {
        !self.key().ends_with(":read")
    }

    pub fn parse(key: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.key() == key.trim())
    }

    /// The catalogue: every permission, in a stable order (what `ensure_catalogue` seeds).
    /// A new variant must be listed here, or no stored role can ever hold it.
    pub const ALL: [Permission; 38] = [
        Permission::TenantsRead,
        Permission::TenantsCreate,
        Permission::TenantsUpdate,
        Permission::TenantsSuspend,
        Permission::TenantsLimits,
        Permission::CustomersRead,
        Permission::CustomersCreate,
        Permission::CustomersUpdate,
        Permission::CustomersBlock,
        Permission::CustomersTransfer,
        Permission::ServersRead,
        Permission::ServersManage,
        Permission::ServicesRead,
        Permission::ServicesManage,
        Permission::PlansManage,
        Permission::BillingRead,
        Permission::MigrationsRead,
        Permission::DnsRead,
        Permission::DnsManage,
        Permission::AuditRead,
        Permission::IncidentsRead,
        Permission::SettingsRead,
        Permission::JobsRead,
        Permission::JobsManage,
        Permission::UsersCreate,
        Permission::KeysRotate,
        Permission::RolesRead,
        Permission::RolesManage,
        Permission::ApikeysRead,
        Permission::ApikeysManage,
        Permission::CreditsSpend,
        Permission::CreditsManage,
        Permission::InvoicesCreate,
        Permission::PaymentsRecord,
        Permission::PricesManage,
        Permission::PricesOverride,
        Permission::CouponsManage,
        Permission::PaymentsRefund,
    ];
}

/// The permission set an actor's role has, as loaded from the database when the actor was
/// resolved; `None` means "the default policy" (no stored role rows, the local operator,
/// internal work, tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(Option<Arc<BTreeSet<Permission>>>);

impl Grants {
    pub fn stored(set: BTreeSet<Permission>) -> Grants {
        Grants(Some(Arc::new(set)))
    }

    pub fn is_default(&self) -> bool {
        self.0.is_none()
    }

    fn contains(&self, role: Role, p: Permission) -> bool {
        match &self.0 {
            Some(set) => set.contains(&p),
            None => role_allows(role, p),
        }
    }
}

/// The default permission set of `role`, from [`role_allows`].
pub fn default_grants(role: Role) -> BTreeSet<Permission> {
    Permission::ALL.into_iter().filter(|p| role_allows(role, *p)).collect()
}

/// Infrastructure, global logs and what a tenant pays for are for platform staff only: tenant
/// users never see servers or other tenants' activity, nor raise their own plan limits,
/// whatever their role. (`users:create` is not here: tenant admins may be granted it, and
/// `identity::accounts` confines what they create to their tenant, subtree and rank.)
pub fn platform_only(p: Permission) -> bool {
    matches!(
        p,
        Permission::TenantsCreate
            | Permission::TenantsSuspend
            | Permission::TenantsLimits
            | Permission::ServersRead
            | Permission::ServersManage
            | Permission::IncidentsRead
            | Permission::KeysRotate
            | Permission::RolesManage
    )
}

/// Editing the policy itself stays with super admins: were it grantable, an edit could hand
/// the keys to any role (and the lock-out rule in `rbac` relies on it).
pub fn super_admin_only(p: Permission) -> bool {
    matches!(p, Permission::RolesManage)
}

pub fn role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::SuperAdmin => true,
        Role::TenantAdmin => !matches!(
            p,
            TenantsCreate | TenantsSuspend | TenantsLimits | KeysRotate | RolesManage | ServersManage
        ),
        Role::Partner | Role::Ultra | Role::Master | Role::Reseller => matches!(
            p,
            TenantsRead
                | CustomersRead
                | CustomersCreate
                | CustomersUpdate
                | CustomersBlock
                | CustomersTransfer
                | ServicesRead
                | ServicesManage
                | BillingRead
                | MigrationsRead
                | DnsRead
                | CreditsSpend
                | PricesOverride
        ),
        Role::SupportAgent => matches!(
            p,
            TenantsRead
                | CustomersRead
                | ServicesRead
                | BillingRead
                | MigrationsRead
                | DnsRead
                | IncidentsRead
                | JobsRead
                | ApikeysRead
        ),
        // On-call staff watch everything and change nothing.
        Role::OnCall => matches!(
            p,
            TenantsRead
                | CustomersRead
                | ServersRead
                | ServicesRead
                | BillingRead
                | MigrationsRead
                | DnsRead
                | AuditRead
                | IncidentsRead
                | SettingsRead
                | JobsRead
                | RolesRead
                | ApikeysRead
        ),
    }
}

pub fn allows(actor: &Actor, p: Permission) -> bool {
    !(actor.read_only && p.mutates())
        && actor.grants.contains(actor.role, p)
        && (actor.is_platform() || !platform_only(p))
        && (actor.role == Role::SuperAdmin || !super_admin_only(p))
}

/// What a read-only actor is told when it tries to change something.
pub const READ_ONLY: &str = "read-only";

pub fn require(actor: &Actor, p: Permission) -> Result<(), ServiceError> {
    if allows(actor, p) {
        Ok(())
    } else if actor.read_only && p.mutates() {
        Err(ServiceError::PermissionDenied(format!(
            "{} is {READ_ONLY}: {} refused",
            actor.name,
            p.key()
        )))
    } else {
        Err(ServiceError::PermissionDenied(format!(
            "{} ({}) lacks {}",
            actor.name,
            actor.role.as_str(),
            p.key()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_catalogue_keys_are_unique_and_parse_back() {
        let keys: std::collections::HashSet<&str> = Permission::ALL.iter().map(|p| p.key()).collect();
        assert_eq!(keys.len(), Permission::ALL.len());
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.key()), Some(p));
        }
        assert_eq!(default_grants(Role::SuperAdmin).len(), Permission::ALL.len());
        assert_eq!(Permission::parse("servers:write"), None);
    }

    #[test]
    fn stored_grants_replace_the_default_but_never_lift_the_hard_limits() {
        let all: BTreeSet<Permission> = Permission::ALL.into_iter().collect();
        let tenant =
            Actor::tenant_user("t", Role::Reseller, uuid::Uuid::nil()).with_grants(Grants::stored(all.clone()));
        assert!(allows(&tenant, Permission::JobsManage));
        assert!(!allows(&tenant, Permission::ServersRead));
        let staff = Actor {
            tenant_id: None,
            ..tenant.clone()
        };
        assert!(allows(&staff, Permission::ServersRead));
        assert!(
            !allows(&staff, Permission::RolesManage),
            "roles:manage stays with super_admin"
        );
        let none = tenant.with_grants(Grants::stored(BTreeSet::new()));
        assert!(!allows(&none, Permission::CustomersRead));
    }

    #[test]
    fn tenant_scoped_admin_never_reaches_infrastructure() {
        let a = Actor::tenant_user("ana", Role::SuperAdmin, Uuid::nil());
        assert!(!allows(&a, Permission::ServersRead));
        assert!(allows(&a, Permission::CustomersRead));
    }

    #[test]
    fn on_call_is_read_only() {
        let a = Actor::system("x");
        let on_call = Actor {
            role: Role::OnCall,
            ..a
        };
        assert!(allows(&on_call, Permission::AuditRead));
        assert!(!allows(&on_call, Permission::TenantsUpdate));
        assert!(require(&on_call, Permission::CustomersCreate).is_err());
    }

    #[test]
    fn a_read_only_actor_reads_what_its_role_reads_and_changes_nothing() {
        let admin = Actor::system("ana").read_only();
        for p in Permission::ALL {
            assert_eq!(allows(&admin, p), !p.mutates(), "{}", p.key());
        }
        assert!(Permission::TenantsSuspend.mutates() && !Permission::AuditRead.mutates());
        let refused = require(&admin, Permission::TenantsSuspend).unwrap_err().to_string();
        assert!(
            refused.contains(READ_ONLY) && refused.contains("tenants:suspend"),
            "{refused}"
        );
        // Stored grants cannot lift it either.
        let all: BTreeSet<Permission> = Permission::ALL.into_iter().collect();
        assert!(!allows(&admin.with_grants(Grants::stored(all)), Permission::JobsManage));
    }

    #[test]
    fn jobs_are_managed_by_admins_and_read_by_staff() {
        for (role, read, manage) in [
            (Role::SuperAdmin, true, true),
            (Role::TenantAdmin, true, true),
            (Role::OnCall, true, false),
            (Role::SupportAgent, true, false),
            (Role::Reseller, false, false),
        ] {
            assert_eq!(role_allows(role, Permission::JobsRead), read, "{role:?}");
            assert_eq!(role_allows(role, Permission::JobsManage), manage, "{role:?}");
        }
    }

    #[test]
    fn api_keys_are_managed_by_admins_and_read_by_staff() {
        for (role, read, manage) in [
            (Role::SuperAdmin, true, true),
            (Role::TenantAdmin, true, true),
            (Role::OnCall, true, false),
            (Role::SupportAgent, true, false),
            (Role::Reseller, false, false),
        ] {
            assert_eq!(role_allows(role, Permission::ApikeysRead), read, "{role:?}");
            assert_eq!(role_allows(role, Permission::ApikeysManage), manage, "{role:?}");
        }
    }

    #[test]
    fn all_keys_parse_back_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.key()), Some(p));
            assert!(seen.insert(p.key()), "{}", p.key());
        }
        assert_eq!(Permission::parse("customers:delete"), None);
    }
}
