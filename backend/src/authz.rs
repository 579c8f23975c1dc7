//! The permission policy: which role may do what. Checked in the service layer only, so the
//! TUI, the batch mode and the API cannot disagree.

use crate::actor::{Actor, Role};
use crate::error::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    TenantsRead,
    TenantsCreate,
    TenantsUpdate,
    TenantsSuspend,
    CustomersRead,
    CustomersCreate,
    ServersRead,
    ServicesRead,
    BillingRead,
    MigrationsRead,
    DnsRead,
    AuditRead,
    IncidentsRead,
    SettingsRead,
    JobsRead,
    JobsManage,
    UsersCreate,
    KeysRotate,
    ApikeysRead,
    ApikeysManage,
}

impl Permission {
    pub fn key(self) -> &'static str {
        match self {
            Permission::TenantsRead => "tenants:read",
            Permission::TenantsCreate => "tenants:create",
            Permission::TenantsUpdate => "tenants:update",
            Permission::TenantsSuspend => "tenants:suspend",
            Permission::CustomersRead => "customers:read",
            Permission::CustomersCreate => "customers:create",
            Permission::ServersRead => "servers:read",
            Permission::ServicesRead => "services:read",
            Permission::BillingRead => "billing:read",
            Permission::MigrationsRead => "migrations:read",
            Permission::DnsRead => "dns:read",
            Permission::AuditRead => "audit:read",
            Permission::IncidentsRead => "incidents:read",
            Permission::SettingsRead => "settings:read",
            Permission::JobsRead => "jobs:read",
            Permission::JobsManage => "jobs:manage",
            Permission::UsersCreate => "users:create",
            Permission::KeysRotate => "keys:rotate",
            Permission::ApikeysRead => "apikeys:read",
            Permission::ApikeysManage => "apikeys:manage",
        }
    }
}

impl Permission {
    /// Every permission, for parsing keys (API key scopes). A new variant must be added here
    /// too; `all_keys_parse_back` catches a key missing from the list only once it is used.
    pub const ALL: &'static [Permission] = &[
        Permission::TenantsRead,
        Permission::TenantsCreate,
        Permission::TenantsUpdate,
        Permission::TenantsSuspend,
        Permission::CustomersRead,
        Permission::CustomersCreate,
        Permission::ServersRead,
        Permission::ServicesRead,
        Permission::BillingRead,
        Permission::MigrationsRead,
        Permission::DnsRead,
        Permission::AuditRead,
        Permission::IncidentsRead,
        Permission::SettingsRead,
        Permission::JobsRead,
        Permission::JobsManage,
        Permission::UsersCreate,
        Permission::KeysRotate,
        Permission::ApikeysRead,
        Permission::ApikeysManage,
    ];

    /// The permission with this key (`customers:read`).
    pub fn parse(key: &str) -> Option<Permission> {
        Permission::ALL.iter().copied().find(|p| p.key() == key)
    }
}

/// Infrastructure and global logs are for platform staff only: tenant users never see servers
/// or other tenants' activity, whatever their role.
pub fn platform_only(p: Permission) -> bool {
    matches!(
        p,
        Permission::TenantsCreate
            | Permission::TenantsSuspend
            | Permission::ServersRead
            | Permission::IncidentsRead
            | Permission::UsersCreate
            | Permission::KeysRotate
    )
}

pub fn role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::SuperAdmin => true,
        Role::TenantAdmin => !matches!(p, TenantsCreate | TenantsSuspend | UsersCreate | KeysRotate),
        Role::Partner | Role::Ultra | Role::Master | Role::Reseller => matches!(
            p,
            TenantsRead | CustomersRead | CustomersCreate | ServicesRead | BillingRead | MigrationsRead | DnsRead
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
                | ApikeysRead
        ),
    }
}

pub fn allows(actor: &Actor, p: Permission) -> bool {
    role_allows(actor.role, p) && (actor.is_platform() || !platform_only(p))
}

pub fn require(actor: &Actor, p: Permission) -> Result<(), ServiceError> {
    if allows(actor, p) {
        Ok(())
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
            assert_eq!(Permission::parse(p.key()), Some(*p));
            assert!(seen.insert(p.key()), "{}", p.key());
        }
        assert_eq!(Permission::parse("customers:delete"), None);
    }
}
