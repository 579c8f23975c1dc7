//! Where a new hosting account goes and what it is called (docs/adr/0021).
//!
//! A server is chosen among the online WHM servers the tenant may use (platform servers and
//! its own), in the requested region or else the plan's ('' = any), with headroom for one more
//! account (against `max_accounts`) and for the plan's disk (against `disk_total_gb`); the one
//! with the most account headroom wins, then the most free disk. Accounts counted are the
//! larger of what the server last reported and painel's own live services on it, so orders
//! placed between two metrics polls still count. Two orders racing for the last slot may both
//! get it: the limits are soft, WHM itself has the hard ones.
//!
//! The cPanel username comes from the domain: lowercase letters and digits, starting with a
//! letter, never starting with `test` (WHM refuses it), at most 8 characters, because WHM wants
//! the first 8 characters unique on a server; so a name unique in its first 8 is unique whole.

use serde::Serialize;
use uuid::Uuid;

use crate::args;
use crate::db::Db;
use crate::error::ServiceError;

/// Longest username WHM accepts.
pub const MAX_USERNAME: usize = 16;
/// The generator's length: the prefix WHM requires unique per server.
pub const UNIQUE_PREFIX: usize = 8;

/// Whether `u` is a username WHM's `createacct` accepts.
pub fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= MAX_USERNAME
        && u.starts_with(|c: char| c.is_ascii_lowercase())
        && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && !u.starts_with("test")
}

/// The name a domain suggests: its first label's letters and digits, lowercase, led by a
/// letter (`h` when it had none, `x` in front of a leading `test`), cut to 8 characters,
/// without trailing digits.
pub fn base(domain: &str) -> String {
    let d = domain.trim().to_ascii_lowercase();
    let d = d.strip_prefix("www.").unwrap_or(&d);
    let label = d.split('.').next().unwrap_or_default();
    let mut s: String = label
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .collect();
    let lead = s.find(|c: char| c.is_ascii_lowercase()).unwrap_or(s.len());
    // A name may not start with a digit: keep the digits after a letter.
    if lead > 0 {
        s = format!("h{s}");
    }
    if s.is_empty() {
        s.push('h');
    }
    if s.starts_with("test") {
        s.insert(0, 'x');
    }
    s.truncate(UNIQUE_PREFIX);
    // Ending in a letter keeps numbered candidates unambiguous (`ab1` + `1` vs `ab` + `11`).
    trim_digits(&s)
}

fn trim_digits(s: &str) -> String {
    let t = s.trim_end_matches(|c: char| c.is_ascii_digit());
    if t.is_empty() {
        "h".to_owned()
    } else {
        t.to_owned()
    }
}

/// The `n`th candidate for `domain` (0 = the base itself): the base cut so that a number fits
/// in 8 characters, ending in a letter before the number. Every candidate is valid, and
/// candidates 0..=9999 are all different (the trailing digits are exactly `n`).
pub fn candidate(domain: &str, n: u32) -> String {
    let b = base(domain);
    if n == 0 {
        return b;
    }
    let num = n.to_string();
    let keep = UNIQUE_PREFIX.saturating_sub(num.len()).max(1);
    let head: String = b.chars().take(keep).collect();
    format!("{}{num}", trim_digits(&head))
}

/// The first candidate for `domain` that `taken` does not hold (compared on the first 8).
pub fn first_free(domain: &str, taken: &[String]) -> Result<String, ServiceError> {
    let prefixes: Vec<&str> = taken.iter().map(|t| &t[..t.len().min(UNIQUE_PREFIX)]).collect();
    (0..10_000)
        .map(|n| candidate(domain, n))
        .find(|c| !prefixes.contains(&c.as_str()))
        .ok_or_else(|| ServiceError::Conflict(format!("no free username for {domain} on this server")))
}

/// Usernames painel holds on `server` (every tenant's: uniqueness is the server's) whose
/// first character matches the candidates'. Read platform-wide: infrastructure, not tenant data.
pub async fn taken_on(db: &Db, server: Uuid, domain: &str) -> Result<Vec<String>, ServiceError> {
    let lead = base(domain).chars().next().unwrap_or('h');
    db.scoped(None)
        .fetch_all::<(String,)>(
            "SELECT username FROM services WHERE server_id = $1 AND username IS NOT NULL \
             AND status <> 'terminated' AND username LIKE $2",
            args![server, format!("{lead}%")],
        )
        .await
        .map(|v| v.into_iter().map(|(u,)| u).collect())
}

/// A server that can take one more account, as placement saw it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Candidate {
    pub id: Uuid,
    pub name: String,
    pub region: String,
    pub max_accounts: Option<i64>,
    /// max(reported, painel's live services).
    pub accounts: i64,
    pub disk_total_gb: i64,
    pub disk_used_gb: i64,
}

impl Candidate {
    /// Accounts that still fit (`i64::MAX` without a limit).
    pub fn account_headroom(&self) -> i64 {
        self.max_accounts.map_or(i64::MAX, |m| m - self.accounts)
    }

    pub fn disk_free_gb(&self) -> i64 {
        self.disk_total_gb - self.disk_used_gb
    }

    fn fits(&self, disk_gb: i64) -> bool {
        self.account_headroom() > 0 && (self.disk_total_gb == 0 || self.disk_free_gb() >= disk_gb)
    }
}

/// Every online WHM server `tenant` may use in `region` ('' = any), with its load.
pub async fn servers(db: &Db, tenant: Uuid, region: &str) -> Result<Vec<Candidate>, ServiceError> {
    db.scoped(None)
        .fetch_all(
            "SELECT s.id, s.name, s.region, s.max_accounts, \
             CASE WHEN s.accounts_count > (SELECT COUNT(*) FROM services x WHERE x.server_id = s.id AND x.status <> 'terminated') \
                  THEN s.accounts_count \
                  ELSE (SELECT COUNT(*) FROM services x WHERE x.server_id = s.id AND x.status <> 'terminated') END AS accounts, \
             s.disk_total_gb, s.disk_used_gb \
             FROM servers s WHERE s.kind = 'whm' AND s.status = 'online' AND s.whm_url IS NOT NULL \
             AND (s.tenant_id IS NULL OR s.tenant_id = $1) AND ($2 = '' OR s.region = $2) ORDER BY s.name",
            args![tenant, region],
        )
        .await
}

/// The best server of `servers` for an account needing `disk_gb`: most account headroom, then
/// most free disk, then name.
pub fn choose(servers: &[Candidate], disk_gb: i64) -> Option<&Candidate> {
    servers.iter().filter(|s| s.fits(disk_gb)).max_by(|a, b| {
        a.account_headroom()
            .cmp(&b.account_headroom())
            .then(a.disk_free_gb().cmp(&b.disk_free_gb()))
            .then(b.name.cmp(&a.name))
    })
}

/// Places an account of `tenant` needing `disk_gb` in `region`: the server and a username free
/// in painel's table (the job checks the server itself before creating).
pub async fn place(
    db: &Db,
    tenant: Uuid,
    region: &str,
    disk_gb: i64,
    domain: &str,
) -> Result<(Candidate, String), ServiceError> {
    let all = servers(db, tenant, region).await?;
    let Some(s) = choose(&all, disk_gb).cloned() else {
        let where_ = if region.is_empty() {
            String::new()
        } else {
            format!(" in region {region}")
        };
        return Err(ServiceError::Conflict(format!(
            "no online server{where_} has room for another account ({} considered)",
            all.len()
        )));
    };
    let taken = taken_on(db, s.id, domain).await?;
    let user = first_free(domain, &taken)?;
    Ok((s, user))
}

/// The next free username on the service's server after the server said `current` is taken
/// by someone else's account; `current` counts as taken.
pub async fn rename(db: &Db, server: Uuid, domain: &str, current: &str) -> Result<String, ServiceError> {
    let mut taken = taken_on(db, server, domain).await?;
    taken.push(current.to_owned());
    first_free(domain, &taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn server(name: &str, max: Option<i64>, accounts: i64, total: i64, used: i64) -> Candidate {
        Candidate {
            id: Uuid::now_v7(),
            name: name.into(),
            region: "gru".into(),
            max_accounts: max,
            accounts,
            disk_total_gb: total,
            disk_used_gb: used,
        }
    }

    #[test]
    fn names_from_domains() {
        assert_eq!(base("joaosilva.com.br"), "joaosilv");
        assert_eq!(base("www.Loja-Da-Ana.com"), "lojadaan");
        assert_eq!(base("123.com"), "h");
        assert_eq!(base("loja24x.com"), "loja24x");
        assert_eq!(base("abcdefg1.com"), "abcdefg");
        assert_eq!(base("testando.com"), "xtestand");
        assert_eq!(base("a.b"), "a");
        assert_eq!(candidate("joaosilva.com.br", 1), "joaosil1");
        assert_eq!(candidate("joaosilva.com.br", 12), "joaosi12");
        assert_eq!(candidate("a.com", 3), "a3");
        let taken = vec!["joaosilv".to_owned(), "joaosil1xyz".to_owned()];
        assert_eq!(first_free("joaosilva.com.br", &taken).ok().as_deref(), Some("joaosil2"));
    }

    #[test]
    fn headroom_decides() {
        let full = server("a", Some(10), 10, 100, 1);
        let roomy = server("b", Some(100), 10, 100, 1);
        let tight = server("c", Some(100), 90, 100, 1);
        let no_disk = server("d", None, 0, 100, 99);
        let all = vec![full, roomy.clone(), tight, no_disk];
        assert_eq!(choose(&all, 5).map(|s| s.name.as_str()), Some("b"));
        assert_eq!(choose(&all[..1], 5), None);
        // Unlimited accounts but no disk left: skipped for a 5 GB plan, taken for a 1 GB one.
        assert_eq!(choose(&all[3..], 5), None);
        assert_eq!(choose(&all[3..], 1).map(|s| s.name.as_str()), Some("d"));
        assert_eq!(choose(&[roomy], 200), None);
    }

    proptest! {
        #[test]
        fn every_candidate_is_a_valid_distinct_username(domain in "[A-Za-z0-9.-]{0,40}", n in 0u32..10_000, m in 0u32..10_000) {
            let a = candidate(&domain, n);
            prop_assert!(valid_username(&a), "{a:?} from {domain:?}");
            prop_assert!(a.len() <= UNIQUE_PREFIX);
            if n != m {
                prop_assert_ne!(a, candidate(&domain, m));
            }
        }

        #[test]
        fn first_free_never_returns_a_taken_prefix(domain in "[a-z0-9]{1,20}\\.com", k in 0usize..30) {
            let taken: Vec<String> = (0..k as u32).map(|n| format!("{}zz", candidate(&domain, n))).collect();
            let free = first_free(&domain, &taken).unwrap();
            prop_assert!(valid_username(&free));
            prop_assert!(taken.iter().all(|t| t[..t.len().min(8)] != free));
        }
    }
}
