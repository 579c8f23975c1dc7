//! Short ids. Every verb that takes an id accepts a unique short form of 4+ hex digits (dashes
//! ignored), resolved like git: first as a prefix, which becomes an id range (`prefix000…` to
//! `prefixfff…`) walked on the primary key on both engines (UUIDs are 16-byte BLOBs on SQLite,
//! `uuid` on PostgreSQL, both ordered bytewise); when no id starts with it, as a suffix —
//! screens show the last 8 hex digits ([`short`]), because UUIDv7's leading digits are the
//! creation time a whole batch shares. The suffix match reads the table (bounded by the
//! actor's scope); prefixes stay indexed.
//! Only rows the actor may see are candidates: another tenant's row never makes a short id
//! ambiguous, nor reveals that it exists.

use uuid::Uuid;

use crate::actor::Actor;
use crate::db::{Arg, Backend, Db, Tx};
use crate::error::ServiceError;
use crate::page::where_clause;
use crate::reseller::{self, Reach};

/// Shortest prefix resolved (git's minimum too): shorter ones match too much to be useful.
pub const MIN_PREFIX: usize = 4;

/// How many candidates an ambiguity error names.
const SHOWN: usize = 5;

/// A table whose rows verbs name by id.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// What the error messages call it ("job").
    pub what: &'static str,
    /// FROM clause, with an alias when `reach` names aliased columns.
    pub from: &'static str,
    pub id_col: &'static str,
    /// The tenant column scoped actors are confined to (`None`: not tenant-owned).
    pub tenant_col: Option<&'static str>,
    /// The reseller tree's reach, for reseller-family actors.
    pub reach: Reach,
}

pub const JOBS: Target = Target {
    what: "job",
    from: "jobs",
    id_col: "id",
    tenant_col: Some("tenant_id"),
    reach: Reach::Catalogue,
};

pub const CUSTOMERS: Target = Target {
    what: "customer",
    from: "customers c",
    id_col: "c.id",
    tenant_col: Some("c.tenant_id"),
    reach: Reach::Owned {
        reseller: Some("c.reseller_id"),
        customer: None,
    },
};

pub const TENANTS: Target = Target {
    what: "tenant",
    from: "tenants",
    id_col: "id",
    tenant_col: Some("id"),
    reach: Reach::Catalogue,
};

pub const API_KEYS: Target = Target {
    what: "api key",
    from: "api_keys",
    id_col: "id",
    tenant_col: Some("tenant_id"),
    reach: Reach::Catalogue,
};

pub const AUDIT: Target = Target {
    what: "audit row",
    from: "audit_log",
    id_col: "id",
    tenant_col: Some("tenant_id"),
    reach: Reach::Catalogue,
};

/// `key` as the hex digits of a short id, or `None` when it is not one (too short, not hex,
/// or a whole UUID, which needs no resolving).
pub fn short_hex(key: &str) -> Option<String> {
    let hex: String = key
        .trim()
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() >= MIN_PREFIX && hex.len() < 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

/// The id range a short id stands for as a prefix, or `None` when `key` is not a short id.
pub fn prefix_range(key: &str) -> Option<(Uuid, Uuid)> {
    let hex = short_hex(key)?;
    let pad = |fill: char| {
        let mut s = hex.clone();
        s.extend(std::iter::repeat_n(fill, 32 - hex.len()));
        Uuid::parse_str(&s).ok()
    };
    Some((pad('0')?, pad('f')?))
}

/// How a short id is matched.
#[derive(Clone, Copy)]
enum Match {
    Prefix,
    Suffix,
}

/// The candidates query of a short id within `actor`'s reach.
fn candidates_sql(
    backend: Backend,
    actor: &Actor,
    t: &Target,
    hex: &str,
    how: Match,
) -> Result<(String, Vec<Arg>), ServiceError> {
    let mut args: Vec<Arg> = Vec::new();
    let mut conds = Vec::new();
    match how {
        Match::Prefix => {
            let Some((lo, hi)) = prefix_range(hex) else {
                return Err(ServiceError::not_found(t.what, hex));
            };
            args.extend([Arg::from(lo), Arg::from(hi)]);
            conds.push(format!("{} >= $1 AND {} <= $2", t.id_col, t.id_col));
        }
        Match::Suffix => {
            args.push(format!("%{hex}").into());
            conds.push(match backend {
                Backend::Sqlite => format!("lower(hex({})) LIKE $1", t.id_col),
                Backend::Postgres => format!("replace({}::text, '-', '') LIKE $1", t.id_col),
            });
        }
    }
    if let (Some(scope), Some(col)) = (actor.tenant_id, t.tenant_col) {
        args.push(scope.into());
        conds.push(format!("{col} = ${}", args.len()));
    }
    reseller::restrict(actor, t.reach, t.what, &mut conds, &mut args)?;
    Ok((
        format!(
            "SELECT {} FROM {} {} ORDER BY {} LIMIT {}",
            t.id_col,
            t.from,
            where_clause(&conds),
            t.id_col,
            SHOWN + 1
        ),
        args,
    ))
}

fn pick(t: &Target, key: &str, rows: Vec<(Uuid,)>) -> Result<Uuid, ServiceError> {
    match rows.as_slice() {
        [] => Err(ServiceError::not_found(t.what, key.trim())),
        [(id,)] => Ok(*id),
        many => {
            let mut names: Vec<String> = many.iter().take(SHOWN).map(|(id,)| id.to_string()).collect();
            if many.len() > SHOWN {
                names.push("…".to_owned());
            }
            Err(ServiceError::invalid(
                "id",
                format!(
                    "{} id prefix {} is ambiguous; it starts: {}",
                    t.what,
                    key.trim(),
                    names.join(", ")
                ),
            ))
        }
    }
}

/// `key` made whole: a unique short id (prefix, else suffix) becomes the full id (as text);
/// anything else (a whole UUID, a slug, a seq number) is returned unchanged for the caller's
/// own lookup. An unknown short id is NotFound; an ambiguous one a Validation error naming
/// the candidates.
pub async fn expand(db: &Db, actor: &Actor, t: &Target, key: &str) -> Result<String, ServiceError> {
    let Some(hex) = short_hex(key) else {
        return Ok(key.to_owned());
    };
    for how in [Match::Prefix, Match::Suffix] {
        let (sql, args) = candidates_sql(db.backend(), actor, t, &hex, how)?;
        let rows: Vec<(Uuid,)> = db.fetch_all(&sql, args).await?;
        if !rows.is_empty() {
            return pick(t, key, rows).map(|id| id.to_string());
        }
    }
    Err(ServiceError::not_found(t.what, key.trim()))
}

/// [`expand`] inside a transaction (before a row is read for update).
pub async fn expand_tx(tx: &mut Tx, actor: &Actor, t: &Target, key: &str) -> Result<String, ServiceError> {
    let Some(hex) = short_hex(key) else {
        return Ok(key.to_owned());
    };
    for how in [Match::Prefix, Match::Suffix] {
        let (sql, args) = candidates_sql(tx.backend(), actor, t, &hex, how)?;
        let rows: Vec<(Uuid,)> = tx.fetch_all(&sql, args).await?;
        if !rows.is_empty() {
            return pick(t, key, rows).map(|id| id.to_string());
        }
    }
    Err(ServiceError::not_found(t.what, key.trim()))
}

/// The short form screens show: the last 8 hex digits (the random end of a UUIDv7).
pub fn short(id: Uuid) -> String {
    let hex = id.simple().to_string();
    hex[hex.len() - 8..].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_become_ranges() {
        let (lo, hi) = prefix_range("298ab5df").unwrap();
        assert_eq!(lo.to_string(), "298ab5df-0000-0000-0000-000000000000");
        assert_eq!(hi.to_string(), "298ab5df-ffff-ffff-ffff-ffffffffffff");
        let (lo, _) = prefix_range("298AB5DF-12").unwrap();
        assert_eq!(lo.to_string(), "298ab5df-1200-0000-0000-000000000000");
        for not in ["abc", "stream", "", "298ab5df-0000-0000-0000-000000000000", "12 34"] {
            assert!(prefix_range(not).is_none(), "{not}");
        }
        assert_eq!(short(lo), "00000000");
        assert_eq!(short_hex("0BAD-CAFE").as_deref(), Some("0badcafe"));
    }
}
