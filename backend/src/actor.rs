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
    /// IP address, `ssh:<client address>` (ssh-session), `uid:<n> tty:<device>` (direct mode)
    /// or `system`.
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
    /// before `painel init`): a platform super admin recorded as the real OS user
    /// (`uid:1000 (ana)`), so the audit log still says who and from where (docs/adr/0012).
    /// Both come from the kernel, never from environment variables the user can set.
    pub fn local_operator() -> Actor {
        Actor {
            user_id: None,
            name: OsUser::current().label(),
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

/// Where a direct-mode process acts from: its real uid and its controlling terminal
/// (`uid:1000 tty:/dev/pts/3`, or `uid:1000` without one), both read from the kernel. Never
/// `SSH_CONNECTION`: any user can set it. Only `painel ssh-session`, which sshd starts and
/// whose `SSH_CONNECTION` sshd has just set, uses it ([`ssh_source`]).
pub fn detect_source() -> String {
    source_from(OsUser::current().uid, tty_name().as_deref())
}

fn source_from(uid: Option<u32>, tty: Option<&str>) -> String {
    let uid = uid.map_or_else(|| "uid:?".to_owned(), |u| format!("uid:{u}"));
    match tty {
        Some(t) => format!("{uid} tty:{t}"),
        None => uid,
    }
}

/// `ssh:<client address>` from an `SSH_CONNECTION` value ("client_ip client_port server_ip
/// server_port"); `None` unless the first word is an IP address.
pub fn ssh_source(ssh_connection: &str) -> Option<String> {
    let client = ssh_connection.split_whitespace().next()?;
    client.parse::<std::net::IpAddr>().ok()?;
    Some(format!("ssh:{client}"))
}

/// The real OS user of this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsUser {
    /// `None` only where /proc is missing.
    pub uid: Option<u32>,
    /// From /etc/passwd, when the uid is there.
    pub name: Option<String>,
    /// The home directory /etc/passwd gives it (not `$HOME`, which `runuser` keeps).
    pub home: Option<std::path::PathBuf>,
}

impl OsUser {
    pub fn current() -> OsUser {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| real_uid(&s));
        let entry = uid.and_then(|u| {
            std::fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|p| passwd_entry(&p, u))
        });
        let (name, home) = entry.map_or((None, None), |(n, h)| (Some(n), Some(h)));
        OsUser { uid, name, home }
    }

    /// `uid:1000 (ana)`.
    pub fn label(&self) -> String {
        let uid = self.uid.map_or_else(|| "uid:?".to_owned(), |u| format!("uid:{u}"));
        match &self.name {
            Some(n) => format!("{uid} ({n})"),
            None => uid,
        }
    }
}

/// The real uid from `/proc/self/status` ("Uid:\treal\teffective\tsaved\tfs").
fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|u| u.parse().ok())
}

/// Name and home of `uid` in /etc/passwd ("name:x:uid:gid:gecos:home:shell").
fn passwd_entry(passwd: &str, uid: u32) -> Option<(String, std::path::PathBuf)> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let entry_uid: u32 = f.get(2)?.parse().ok()?;
        let name = f[0].chars().filter(|c| !c.is_control()).collect();
        (entry_uid == uid).then(|| (name, std::path::PathBuf::from(f.get(5).copied().unwrap_or("/"))))
    })
}

/// The terminal on standard input, if it is one (`/dev/null` is under /dev too).
fn tty_name() -> Option<String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| p.starts_with("/dev/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_source_is_uid_and_tty_only() {
        assert_eq!(source_from(Some(1000), Some("/dev/pts/3")), "uid:1000 tty:/dev/pts/3");
        assert_eq!(source_from(Some(0), None), "uid:0");
    }

    #[test]
    fn ssh_source_takes_only_an_address() {
        assert_eq!(
            ssh_source("203.0.113.9 51234 10.0.0.1 22").as_deref(),
            Some("ssh:203.0.113.9")
        );
        assert_eq!(ssh_source("::1 51234 ::1 22").as_deref(), Some("ssh:::1"));
        assert_eq!(ssh_source("\x1b[31mevil 1 2 3"), None);
        assert_eq!(ssh_source(""), None);
    }

    #[test]
    fn os_user_comes_from_proc_and_passwd() {
        let status = "Name:\tpainel\nUid:\t1001\t0\t0\t0\nGid:\t1001\n";
        assert_eq!(real_uid(status), Some(1001));
        let passwd = "root:x:0:0:root:/root:/bin/bash\nana:x:1001:1001::/home/ana:/bin/sh\n";
        let (name, home) = passwd_entry(passwd, 1001).unwrap();
        assert_eq!((name.as_str(), home.to_str()), ("ana", Some("/home/ana")));
        assert_eq!(passwd_entry(passwd, 7), None);
        let me = OsUser::current();
        assert!(me.uid.is_some(), "{me:?}");
        assert!(me.label().starts_with("uid:"));
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
