//! Substring search over `search_text` columns, fast for narrow and broad filters alike.
//!
//! A list sorted by name walks the name index and checks the filter row by row: quick when
//! matches are common, but a rare term clustered late in the sort order ("nuvem" after every
//! "alpha…") reads most of the table. A trigram index finds rare terms at once, but sorting
//! every match of a common term costs as much. So a filter is "narrow" when the trigram index
//! holds at most [`NARROW_MATCHES`] matches: then the page is cut from those matches alone;
//! otherwise the ordered walk is used, and finds a page of common matches quickly.
//! Indexes: FTS5 trigram on SQLite (migrations/sqlite/0002), pg_trgm GIN on PostgreSQL.

use crate::args;
use crate::db::{Arg, Backend, Db};
use crate::error::ServiceError;
use crate::tenants::TenantSort;
use crate::validate;

/// How many leading rows of the sort order a filtered list reads before asking the index.
pub const WALK_FIRST: usize = 1_000;

/// The most matches a narrow filter materialises and sorts.
pub const NARROW_MATCHES: i64 = 10_000;

/// Trigram indexes need at least three characters to look anything up.
pub fn indexable(term: &str) -> bool {
    term.trim().chars().count() >= 3
}

/// An FTS5 phrase matching the term as a literal substring (quotes doubled).
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.trim().to_lowercase().replace('"', "\"\""))
}

/// The SQL condition on `tenants` restricting rows to index matches of parameter `$n`, and
/// that parameter's value. Callers keep the `LIKE` check as well, so results are exactly
/// those of a scan whatever the index matched.
pub fn tenant_index_condition(backend: Backend, term: &str, n: usize) -> (String, String) {
    match backend {
        Backend::Sqlite => (
            format!(
                "id IN (SELECT s.tenant_id FROM tenant_search_fts JOIN tenant_search s ON s.n = tenant_search_fts.rowid \
                 WHERE tenant_search_fts MATCH ${n})"
            ),
            fts_phrase(term),
        ),
        // The GIN trigram index serves the LIKE itself.
        Backend::Postgres => (
            format!("search_text LIKE ${n} ESCAPE '\\'"),
            validate::like_contains(term),
        ),
    }
}

/// A relation of the tenants whose search text contains the term, as found through the
/// trigram index, with the columns the tenants list filters and sorts on (`id`, `name`,
/// `domain`, `status`, `tier`, `created_at`, `search_text`), and its parameter `$1`. On
/// PostgreSQL it holds at most one match past [`NARROW_MATCHES`] (the caller counts them in
/// the same pass, see `tenants::from_matches`); on SQLite it holds them all (the FTS index
/// was counted first, see [`tenants_narrow_fts`]).
pub fn tenant_matches(backend: Backend, term: &str) -> (String, String) {
    match backend {
        Backend::Sqlite => (
            "SELECT s.tenant_id AS id, s.name, s.domain, s.status, s.tier, s.created_at, s.search_text \
             FROM tenant_search_fts JOIN tenant_search s ON s.n = tenant_search_fts.rowid \
             WHERE tenant_search_fts MATCH $1"
                .to_owned(),
            fts_phrase(term),
        ),
        Backend::Postgres => (
            format!(
                "SELECT tenant_id AS id, name, domain, status, tier, created_at, search_text \
                 FROM tenant_search WHERE search_text LIKE $1 ESCAPE '\\' LIMIT {}",
                NARROW_MATCHES + 1
            ),
            validate::like_contains(term),
        ),
    }
}

/// Whether SQLite's FTS trigram index holds at most [`NARROW_MATCHES`] tenants for the term;
/// counts no further than one past the cap, in the FTS index alone (joining back to tenants
/// would cost a lookup per match). PostgreSQL counts in the same pass that reads its matches
/// (`tenants::from_matches`).
pub async fn tenants_narrow_fts(db: &Db, term: &str) -> Result<bool, ServiceError> {
    if !indexable(term) {
        return Ok(false);
    }
    let n: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM tenant_search_fts WHERE tenant_search_fts MATCH $1 LIMIT $2) m",
            args![fts_phrase(term), NARROW_MATCHES + 1],
        )
        .await?;
    Ok(n <= NARROW_MATCHES)
}

/// What the per-trigram sort-key bounds (migration 0035) say about a term's tenants.
#[derive(Debug, Clone, PartialEq)]
pub enum TermBounds {
    /// A trigram of the term is in no tenant's search text: nothing matches.
    NoMatch,
    /// Every matching tenant's sort keys lie within these.
    Within(Box<TenantBounds>),
}

/// Least and greatest sort keys a tenant containing the term can have: the greatest of the
/// minimums and the least of the maximums over the term's trigrams (each match holds them
/// all). `created` is text (SQLite's stored text; PostgreSQL's `timestamptz` output, cast
/// back when compared).
#[derive(Debug, Clone, PartialEq)]
pub struct TenantBounds {
    pub name: (String, String),
    pub domain: (String, String),
    pub status: (String, String),
    pub tier: (String, String),
    pub created: (String, String),
}

type BoundsRow = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Reads the bounds of the tenants whose search text contains `term` (3+ characters, see
/// [`indexable`]). The term's trigrams are cut in SQL with the very expression the triggers
/// use, so both sides fold case alike (and as each engine's `LIKE` does).
pub async fn tenant_bounds(db: &Db, term: &str) -> Result<TermBounds, ServiceError> {
    let literal = term.trim().to_lowercase();
    let (trigrams, created) = match db.backend() {
        Backend::Sqlite => (
            "SELECT DISTINCT lower(substr($1, i, 3)) AS trigram FROM tenant_search_positions WHERE i <= length($1) - 2",
            "max(created_min), min(created_max)",
        ),
        Backend::Postgres => (
            "SELECT DISTINCT lower(substr($1, i, 3)) AS trigram FROM generate_series(1, char_length($1) - 2) AS i",
            "max(created_min)::text, min(created_max)::text",
        ),
    };
    let sql = format!(
        "WITH t AS ({trigrams}) SELECT (SELECT COUNT(*) FROM t), COUNT(*), max(name_min), min(name_max), \
         max(domain_min), min(domain_max), max(status_min), min(status_max), max(tier_min), min(tier_max), {created} \
         FROM tenant_search_bounds WHERE trigram IN (SELECT trigram FROM t)"
    );
    let rows: Vec<BoundsRow> = db.fetch_all(&sql, args![literal]).await?;
    let Some(r) = rows.into_iter().next() else {
        return Ok(TermBounds::NoMatch);
    };
    if r.1 < r.0 {
        return Ok(TermBounds::NoMatch);
    }
    let pair = |a: Option<String>, b: Option<String>| a.zip(b);
    match (
        pair(r.2, r.3),
        pair(r.4, r.5),
        pair(r.6, r.7),
        pair(r.8, r.9),
        pair(r.10, r.11),
    ) {
        (Some(name), Some(domain), Some(status), Some(tier), Some(created)) => {
            Ok(TermBounds::Within(Box::new(TenantBounds {
                name,
                domain,
                status,
                tier,
                created,
            })))
        }
        _ => Ok(TermBounds::NoMatch),
    }
}

impl TenantBounds {
    /// Conditions on `tenants` keeping a walk of `sort`'s index between the bounds, numbered
    /// from `$next`, and their values. Status and tier orders are (status|tier, name, id): the
    /// pair of bounds is a bound of the pair, as a row value the index can seek to.
    pub fn conditions(&self, sort: TenantSort, backend: Backend, next: usize) -> (Vec<String>, Vec<Arg>) {
        let (a, b, c, d) = (next, next + 1, next + 2, next + 3);
        let cast = if backend == Backend::Postgres {
            "::timestamptz"
        } else {
            ""
        };
        let text = |v: &str| Arg::from(v.to_owned());
        match sort {
            TenantSort::Name | TenantSort::Domain | TenantSort::Created => {
                let (col, (lo, hi), cast) = match sort {
                    TenantSort::Name => ("name", &self.name, ""),
                    TenantSort::Domain => ("domain", &self.domain, ""),
                    _ => ("created_at", &self.created, cast),
                };
                (
                    vec![format!("{col} >= ${a}{cast}"), format!("{col} <= ${b}{cast}")],
                    vec![text(lo), text(hi)],
                )
            }
            TenantSort::Status | TenantSort::Tier => {
                let (col, (lo, hi)) = match sort {
                    TenantSort::Status => ("status", &self.status),
                    _ => ("tier", &self.tier),
                };
                (
                    vec![
                        format!("({col}, name) >= (${a}, ${b})"),
                        format!("({col}, name) <= (${c}, ${d})"),
                    ],
                    vec![text(lo), text(&self.name.0), text(hi), text(&self.name.1)],
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_quote_and_lowercase() {
        assert_eq!(fts_phrase(" Nuvem \"BR\" "), "\"nuvem \"\"br\"\"\"");
        assert!(!indexable("ab") && indexable("abc"));
    }
}
