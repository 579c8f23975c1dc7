//! Who is acting. Every service function takes an [`Actor`]; permission checks, tenant
//! scoping and audit rows are derived from it in one place.

use serde::Serialize;
use uuid::Uuid;

use crate::authz::Grants;

/// Roles from the seeds plus support and read-only on-call staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    TenantAdmin,
    Partner,
    Ultra,
    Master,
    Reseller,
    SupportAgent,
    OnCall,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::SuperAdmin,
        Role::TenantAdmin,
        Role::Partner,
        Role::Ultra,
        Role::Master,
        Role::Reseller,
        Role::SupportAgent,
        Role::OnCall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::Partner => "partner",
            Role::Ultra => "ultra",
            Role::Master => "master",
            Role::Reseller => "reseller",
            Role::SupportAgent => "support_agent",
            Role::OnCall => "on_call",
        }
    }

    /// The reseller tree's roles (partner > ultra > master > reseller).
    pub fn is_reseller_family(self) -> bool {
        matches!(self, Role::Partner | Role::Ultra | Role::Master | Role::Reseller)
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The acting identity, its reach and where the action comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub name: String,
    pub role: Role,
    /// `None` for platform staff (all tenants); `Some` confines the actor to one tenant.
    pub tenant_id: Option<Uuid>,
    /// IP address, `ssh:<client address>`, `tty:<device>` or `system`.
    pub source: String,
    /// The login session acted through (sensitive actions check its recent 2FA); `None` for
    /// the local operator before accounts exist and for internal work.
    pub session_id: Option<Uuid>,
    /// The role's permission set as stored when the actor was resolved (docs/adr/0011);
    /// the default policy when none is stored. Not serialised: it is policy, not identity.
    #[serde(skip)]
    pub grants: Grants,
    /// Read-only (an account's setting, or `painel --readonly`): every mutating permission is
    /// refused by [`crate::authz::require`], whatever the grants say (docs/adr/0016).
    pub read_only: bool,
}

impl Actor {
    /// The operator at this terminal while the database has no accounts yet (a fresh install
    /// before `painel init`): a platform super admin named after the OS user, so the audit log
    /// still records who and from where (docs/adr/0007). Once a user exists, batch commands
    /// and the TUI act as the logged-in session's user instead.
    pub fn local_operator() -> Actor {
        let name = std::env::var("PAINEL_OPERATOR")
            .or_else(|_| std::env::var("USER"))
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "operator".to_owned());
        Actor {
            user_id: None,
            name,
            role: Role::SuperAdmin,
            tenant_id: None,
            source: detect_source(),
            session_id: None,
            grants: Grants::default(),
            read_only: false,
        }
    }

    /// Internal work not started by a person (seeding, schedulers).
    pub fn system(name: &str) -> Actor {
        Actor {
            user_id: None,
            name: name.to_owned(),
            role: Role::SuperAdmin,
            tenant_id: None,
            source: "system".to_owned(),
            session_id: None,
            grants: Grants::default(),
            read_only: false,
        }
    }

    pub fn tenant_user(name: &str, role: Role, tenant_id: Uuid) -> Actor {
        Actor {
            user_id: None,
            name: name.to_owned(),
            role,
            tenant_id: Some(tenant_id),
            source: "test".to_owned(),
            session_id: None,
            grants: Grants::default(),
            read_only: false,
        }
    }

    /// The same actor, read-only from now on (it never goes back within a run).
    #[must_use]
    pub fn read_only(mut self) -> Actor {
        self.read_only = true;
        self
    }

    pub fn is_platform(&self) -> bool {
        self.tenant_id.is_none()
    }

    /// The same actor carrying `grants` (the stored permission set of its role).
    #[must_use]
    pub fn with_grants(mut self, grants: Grants) -> Actor {
        self.grants = grants;
        self
    }

    /// A partner, ultra, master or reseller account: it acts on its own subtree of the
    /// reseller tree only. Actors without an account are platform staff and unaffected.
    pub fn reseller_root(&self) -> Option<Uuid> {
        self.user_id.filter(|_| self.role.is_reseller_family())
    }

    pub fn sees_tenant(&self, tenant_id: Uuid) -> bool {
        self.tenant_id.is_none_or(|t| t == tenant_id)
    }
}

/// `SSH_CONNECTION` is "client_ip client_port server_ip server_port"; the client address is
/// what an operator investigating the audit log needs.
pub fn detect_source() -> String {
    source_from(std::env::var("SSH_CONNECTION").ok().as_deref(), tty_name().as_deref())
}

fn source_from(ssh: Option<&str>, tty: Option<&str>) -> String {
    if let Some(client) = ssh.and_then(|s| s.split_whitespace().next()) {
        return format!("ssh:{client}");
    }
    match tty {
        Some(t) => format!("tty:{t}"),
        None => "local".to_owned(),
    }
}

fn tty_name() -> Option<String> {
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| p.starts_with("/dev/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_prefers_ssh_client_address() {
        assert_eq!(
            source_from(Some("203.0.113.9 51234 10.0.0.1 22"), Some("/dev/pts/1")),
            "ssh:203.0.113.9"
        );
        assert_eq!(source_from(None, Some("/dev/pts/3")), "tty:/dev/pts/3");
        assert_eq!(source_from(Some(""), None), "local");
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
