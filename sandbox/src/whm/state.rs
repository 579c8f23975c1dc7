//! What a simulated WHM server holds: packages, accounts, limits. Operations return the
//! envelope's failure reason as `Err(String)`, worded like cPanel's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rng::{mix, SplitMix};

/// Capacity of the simulated server: createacct fails past these, like a full server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhmLimits {
    pub max_accounts: u32,
    pub disk_total_mb: u64,
}

impl Default for WhmLimits {
    fn default() -> Self {
        Self {
            max_accounts: 500,
            disk_total_mb: 500 * 1024,
        }
    }
}

/// A package: the name and WHM's upper-case settings (`QUOTA`, `BWLIMIT`, `MAXPOP`, …) as the
/// strings listpkgs returns (numbers in MB, or `unlimited`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub settings: BTreeMap<String, String>,
}

const PACKAGE_DEFAULTS: [(&str, &str); 19] = [
    ("QUOTA", "unlimited"),
    ("BWLIMIT", "unlimited"),
    ("MAXADDON", "0"),
    ("MAXPARK", "0"),
    ("MAXSUB", "unlimited"),
    ("MAXPOP", "unlimited"),
    ("MAXSQL", "unlimited"),
    ("MAXFTP", "unlimited"),
    ("MAXLST", "unlimited"),
    ("MAX_EMAIL_PER_HOUR", "unlimited"),
    ("MAX_EMAILACCT_QUOTA", "unlimited"),
    ("MAX_DEFER_FAIL_PERCENTAGE", "unlimited"),
    ("CGI", "y"),
    ("HASSHELL", "n"),
    ("IP", "n"),
    ("DIGESTAUTH", "n"),
    ("CPMOD", "jupiter"),
    ("FEATURELIST", "default"),
    ("LANG", "en"),
];

impl Package {
    /// A package with WHM's defaults and the given disk and bandwidth quotas (MB; None =
    /// unlimited).
    pub fn new(name: &str, quota_mb: Option<u64>, bwlimit_mb: Option<u64>) -> Self {
        let mut settings: BTreeMap<String, String> = PACKAGE_DEFAULTS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        settings.insert("_PACKAGE_EXTENSIONS".into(), String::new());
        settings.insert("QUOTA".into(), limit_text(quota_mb));
        settings.insert("BWLIMIT".into(), limit_text(bwlimit_mb));
        Self {
            name: name.to_owned(),
            settings,
        }
    }

    /// Sets one setting (upper-case key), builder style.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.settings.insert(key.to_ascii_uppercase(), value.to_owned());
        self
    }

    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// `QUOTA` in MB; None = unlimited.
    pub fn quota_mb(&self) -> Option<u64> {
        self.setting("QUOTA").and_then(|q| q.parse().ok())
    }

    pub fn bwlimit_mb(&self) -> Option<u64> {
        self.setting("BWLIMIT").and_then(|q| q.parse().ok())
    }
}

fn limit_text(v: Option<u64>) -> String {
    v.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

/// An account as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: String,
    pub domain: String,
    pub email: String,
    pub plan: String,
    pub owner: String,
    pub ip: String,
    pub suspended: bool,
    pub suspend_reason: Option<String>,
    pub suspend_time: Option<i64>,
    /// Suspended with `disallowun=1`: only root may unsuspend.
    pub locked: bool,
    pub start_unix: i64,
    pub disk_used_mb: u64,
    pub inodes_used: u64,
    pub bandwidth_bytes: u64,
    pub uid: u32,
}

/// An account to hold from the start (the demo's active and suspended services).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInit {
    pub user: String,
    pub domain: String,
    pub plan: String,
    pub email: Option<String>,
    /// Some(reason) = suspended.
    pub suspended: Option<String>,
}

/// The fields createacct takes that the simulator keeps.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewAccount<'a> {
    pub user: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub plan: Option<&'a str>,
    pub email: Option<&'a str>,
    pub password: Option<&'a str>,
    pub owner: Option<&'a str>,
}

/// A copy of a server's state for tests and the control API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhmSnapshot {
    pub name: String,
    pub limits: WhmLimits,
    pub disk_used_mb: u64,
    pub accounts: Vec<Account>,
    pub packages: Vec<Package>,
    /// Requests received per function (faulted ones included).
    pub calls: BTreeMap<String, u64>,
}

pub(crate) struct WhmState {
    seed: u64,
    pub name: String,
    pub api_user: String,
    pub ip: String,
    pub version: String,
    pub limits: WhmLimits,
    pub accounts: BTreeMap<String, Account>,
    pub packages: BTreeMap<String, Package>,
    pub calls: BTreeMap<String, u64>,
    /// The system's own use of the disk (OS, logs), from the seed.
    base_disk_mb: u64,
    next_uid: u32,
    load: SplitMix,
}

pub(crate) const NO_ACCOUNT: &str = "Account does not exist.";

impl WhmState {
    pub fn new(seed: u64, name: &str, api_user: &str, ip: &str, version: &str, limits: WhmLimits) -> Self {
        let mut r = SplitMix::derived(seed, &[name, "base-disk"]);
        // 3–8 % of the disk is the system's.
        let base_disk_mb = limits.disk_total_mb * r.range(30, 80) / 1000;
        let mut packages = BTreeMap::new();
        packages.insert("default".to_owned(), Package::new("default", None, None));
        Self {
            seed,
            name: name.to_owned(),
            api_user: api_user.to_owned(),
            ip: ip.to_owned(),
            version: version.to_owned(),
            limits,
            accounts: BTreeMap::new(),
            packages,
            calls: BTreeMap::new(),
            base_disk_mb,
            next_uid: 1001,
            load: SplitMix::derived(seed, &[name, "load"]),
        }
    }

    pub fn set_system_disk_mb(&mut self, mb: u64) {
        self.base_disk_mb = mb;
    }

    pub fn disk_used_mb(&self) -> u64 {
        self.base_disk_mb + self.accounts.values().map(|a| a.disk_used_mb).sum::<u64>()
    }

    pub fn snapshot(&self) -> WhmSnapshot {
        WhmSnapshot {
            name: self.name.clone(),
            limits: self.limits,
            disk_used_mb: self.disk_used_mb(),
            accounts: self.accounts.values().cloned().collect(),
            packages: self.packages.values().cloned().collect(),
            calls: self.calls.clone(),
        }
    }

    /// What an account of `user` on `plan` uses: fixed by the seed, server and name, within
    /// the plan's quota.
    fn usage_for(&self, user: &str, plan: &Package) -> (u64, u64, u64) {
        let mut r = SplitMix::new(mix(self.seed, &[&self.name, "usage", user]));
        let cap = plan.quota_mb().unwrap_or(4096).clamp(20, 4096);
        let disk = r.range(5, (cap * 6 / 10).max(6));
        let inodes = disk * r.range(20, 60) + r.range(50, 400);
        let bw_cap = plan.bwlimit_mb().unwrap_or(20_480).clamp(10, 20_480);
        let bw = r.range(1, bw_cap / 2 + 1) * 1024 * 1024;
        (disk, inodes, bw)
    }

    pub fn create(&mut self, new: &NewAccount<'_>, now: i64) -> Result<&Account, String> {
        let user = new
            .user
            .filter(|u| !u.is_empty())
            .ok_or("You must specify a username.")?;
        check_username(user)?;
        if self.accounts.contains_key(user) {
            return Err("Sorry, a group for that username already exists.".into());
        }
        let prefix: String = user.chars().take(8).collect();
        if let Some(other) = self
            .accounts
            .keys()
            .find(|u| u.chars().take(8).collect::<String>() == prefix)
        {
            return Err(format!(
                "The first 8 characters of the username “{user}” are not unique: they match the account “{other}”."
            ));
        }
        let domain = new
            .domain
            .filter(|d| !d.is_empty())
            .ok_or("You must specify a domain name.")?;
        let domain = domain.to_ascii_lowercase();
        if !valid_domain(&domain) {
            return Err(format!("“{domain}” is not a valid domain name."));
        }
        if self.accounts.values().any(|a| a.domain == domain) {
            return Err(format!("The domain “{domain}” already exists on this server."));
        }
        let plan_name = new.plan.filter(|p| !p.is_empty()).unwrap_or("default");
        let plan = self
            .packages
            .get(plan_name)
            .ok_or_else(|| format!("The package “{plan_name}” does not exist."))?;
        if new.password.is_some_and(|p| p.chars().count() < 8) {
            return Err("Sorry, the password you selected cannot be used because it is too weak and would be too easy to guess. Please select a password with strength rating of 65 or higher.".into());
        }
        if self.accounts.len() >= self.limits.max_accounts as usize {
            return Err(format!(
                "Account creation failed: this server has reached its limit of {} accounts.",
                self.limits.max_accounts
            ));
        }
        let (disk, inodes, bw) = self.usage_for(user, plan);
        if self.disk_used_mb() + disk > self.limits.disk_total_mb {
            return Err("Account creation failed: not enough free disk space on /home.".into());
        }
        let account = Account {
            user: user.to_owned(),
            domain: domain.clone(),
            email: new.email.unwrap_or_default().to_owned(),
            plan: plan_name.to_owned(),
            owner: new.owner.unwrap_or(&self.api_user).to_owned(),
            ip: self.ip.clone(),
            suspended: false,
            suspend_reason: None,
            suspend_time: None,
            locked: false,
            start_unix: now,
            disk_used_mb: disk,
            inodes_used: inodes,
            bandwidth_bytes: bw,
            uid: self.next_uid,
        };
        self.next_uid += 1;
        let user = user.to_owned();
        Ok(self.accounts.entry(user).or_insert(account))
    }

    pub fn account_mut(&mut self, user: &str) -> Result<&mut Account, String> {
        self.accounts
            .get_mut(user)
            .ok_or_else(|| format!("The account “{user}” does not exist."))
    }

    pub fn suspend(&mut self, user: &str, reason: &str, lock: bool, now: i64) -> Result<(), String> {
        let a = self.account_mut(user)?;
        // Some WHM versions answer result 0 here; clients must treat it as converged.
        if a.suspended {
            return Err(format!("The account “{user}” is already suspended."));
        }
        a.suspended = true;
        a.suspend_reason = Some(reason.to_owned());
        a.suspend_time = Some(now);
        a.locked = lock;
        Ok(())
    }

    pub fn unsuspend(&mut self, user: &str) -> Result<(), String> {
        let a = self.account_mut(user)?;
        a.suspended = false;
        a.suspend_reason = None;
        a.suspend_time = None;
        a.locked = false;
        Ok(())
    }

    pub fn remove(&mut self, user: &str) -> Result<Account, String> {
        self.accounts
            .remove(user)
            .ok_or_else(|| format!("The account “{user}” does not exist."))
    }

    /// The account's files stay as they are; only the plan (and so its limits) changes.
    pub fn change_package(&mut self, user: &str, pkg: &str) -> Result<String, String> {
        if !self.packages.contains_key(pkg) {
            return Err(format!("The package “{pkg}” does not exist."));
        }
        let a = self.account_mut(user)?;
        Ok(std::mem::replace(&mut a.plan, pkg.to_owned()))
    }

    /// Load average from the number of accounts plus a seeded wobble per call.
    pub fn load_average(&mut self) -> (f64, f64, f64) {
        let base = 0.15 + self.accounts.len() as f64 * 0.01;
        let wobble = self.load.next_f64() * 0.4;
        let one = base + wobble;
        (one, base + wobble * 0.6, base + wobble * 0.3)
    }

    pub fn seed_account(&mut self, init: &AccountInit, now: i64) -> Result<(), String> {
        let new = NewAccount {
            user: Some(&init.user),
            domain: Some(&init.domain),
            plan: Some(&init.plan),
            email: init.email.as_deref(),
            ..NewAccount::default()
        };
        self.create(&new, now)?;
        if let Some(reason) = &init.suspended {
            self.suspend(&init.user, reason, false, now)?;
        }
        Ok(())
    }
}

fn check_username(user: &str) -> Result<(), String> {
    if user.chars().count() > 16 {
        return Err(format!(
            "The username “{user}” is too long: the maximum is 16 characters."
        ));
    }
    let mut chars = user.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !starts_with_letter || !user.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Err(format!(
            "The username “{user}” is invalid: use only lowercase letters and digits, starting with a letter."
        ));
    }
    if user.starts_with("test") {
        return Err("Usernames cannot begin with “test”.".into());
    }
    Ok(())
}

fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> WhmState {
        let mut s = WhmState::new(3, "whm-t", "root", "127.0.0.1", "11.118.0.15", WhmLimits::default());
        s.packages
            .insert("p1".into(), Package::new("p1", Some(1024), Some(10240)));
        s
    }

    fn new<'a>(user: &'a str, domain: &'a str) -> NewAccount<'a> {
        NewAccount {
            user: Some(user),
            domain: Some(domain),
            plan: Some("p1"),
            ..NewAccount::default()
        }
    }

    #[test]
    fn username_rules() {
        let mut s = state();
        assert!(s.create(&new("Joao", "a.com"), 0).is_err());
        assert!(s.create(&new("1joao", "a.com"), 0).is_err());
        assert!(s.create(&new("testjoao", "a.com"), 0).is_err());
        assert!(s.create(&new("abcdefghijklmnopq", "a.com"), 0).is_err());
        assert!(s.create(&new("joao_x", "a.com"), 0).is_err());
        assert!(s.create(&new("abcdefghijklmnop", "a.com"), 0).is_ok());
        assert!(s
            .create(&new("abcdefghzz", "b.com"), 0)
            .unwrap_err()
            .contains("first 8"));
        assert!(s
            .create(&new("abcdefghijklmnop", "c.com"), 0)
            .unwrap_err()
            .contains("already exists"));
        assert!(s.create(&new("maria", "A.com"), 0).unwrap_err().contains("domain"));
        assert!(s.create(&new("maria", "bad_domain"), 0).is_err());
    }

    #[test]
    fn capacity_and_usage_are_deterministic() {
        let mut a = state();
        let mut b = state();
        for s in [&mut a, &mut b] {
            s.create(&new("joao", "joao.com.br"), 0).unwrap();
        }
        assert_eq!(a.snapshot().accounts, b.snapshot().accounts);
        let before = a.disk_used_mb();
        a.create(&new("maria", "maria.com.br"), 0).unwrap();
        assert!(a.disk_used_mb() > before, "disk grows with accounts");
        a.limits.max_accounts = 2;
        assert!(a
            .create(&new("pedro", "pedro.com.br"), 0)
            .unwrap_err()
            .contains("limit of 2"));
        a.limits.max_accounts = 10;
        a.limits.disk_total_mb = a.disk_used_mb();
        assert!(a.create(&new("pedro", "pedro.com.br"), 0).unwrap_err().contains("disk"));
    }
}
