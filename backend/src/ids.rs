//! Short ids, like git's: screens show the first 8 hex digits of a UUID, and every verb that
//! takes an id accepts any unique prefix of 4+ hex digits (dashes ignored). The prefix becomes
//! an id range (`prefix000…` to `prefixfff…`), so the lookup walks the primary key on both
//! engines (UUIDs are 16-byte BLOBs on SQLite, `uuid` on PostgreSQL, both ordered bytewise).
//! Only rows the actor may see are candidates: another tenant's row never makes a prefix
//! ambiguous, nor reveals that it exists.

use uuid::Uuid;

use crate::actor::Actor;
use crate::db::{Arg, Db, Tx};
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

/// The id range a short id stands for, or `None` when `key` is not a prefix of an id
/// (too short, not hex, or a whole UUID, which needs no resolving).
pub fn prefix_range(key: &str) -> Option<(Uuid, Uuid)> {
    let hex: String = key.trim().chars().filter(|c| *c != '-').collect::<String>().to_ascii_lowercase();
    if hex.len() < MIN_PREFIX || hex.len() >= 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let pad = |fill: char| {
        let mut s = hex.clone();
        s.extend(std::iter::repeat_n(fill, 32 - hex.len()));
        Uuid::parse_str(&s).ok()
    };
    Some((pad('0')?, pad('f')?))
}

/// The candidates query of `key`'s range within `actor`'s reach.
fn candidates_sql(actor: &Actor, t: &Target, lo: Uuid, hi: Uuid) -> Result<(String, Vec<Arg>), ServiceError> {
    let mut args: Vec<Arg> = vec![lo.into(), hi.into()];
    let mut conds = vec![format!("{} >= $1 AND {} <= $2", t.id_col, t.id_col)];
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

/// `key` made whole: a unique id prefix becomes the full id (as text); anything else (a
/// whole UUID, a slug, a seq number) is returned unchanged for the caller's own lookup.
/// An unknown prefix is NotFound; an ambiguous one a Validation error naming candidates.
pub async fn expand(db: &Db, actor: &Actor, t: &Target, key: &str) -> Result<String, ServiceError> {
    let Some((lo, hi)) = prefix_range(key) else {
        return Ok(key.to_owned());
    };
    let (sql, args) = candidates_sql(actor, t, lo, hi)?;
    let rows: Vec<(Uuid,)> = db.fetch_all(&sql, args).await?;
    pick(t, key, rows).map(|id| id.to_string())
}

/// [`expand`] inside a transaction (before a row is read for update).
pub async fn expand_tx(tx: &mut Tx, actor: &Actor, t: &Target, key: &str) -> Result<String, ServiceError> {
    let Some((lo, hi)) = prefix_range(key) else {
        return Ok(key.to_owned());
    };
    let (sql, args) = candidates_sql(actor, t, lo, hi)?;
    let rows: Vec<(Uuid,)> = tx.fetch_all(&sql, args).await?;
    pick(t, key, rows).map(|id| id.to_string())
}

/// The short form screens show: the first 8 hex digits.
pub fn short(id: Uuid) -> String {
    id.simple().to_string()[..8].to_owned()
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
        assert_eq!(short(lo), "298ab5df");
    }
}
