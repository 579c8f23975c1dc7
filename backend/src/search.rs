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
use crate::db::{Backend, Db};
use crate::error::ServiceError;
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
/// `domain`, `status`, `tier`, `created_at`, `search_text`) and `hits`, and its parameter
/// `$1`. On PostgreSQL it reads at most one match past [`NARROW_MATCHES`] and `hits` counts
/// them; on SQLite `hits` is 0 (the FTS index was counted first, see [`tenants_narrow`]).
pub fn tenant_matches(backend: Backend, term: &str) -> (String, String) {
    match backend {
        Backend::Sqlite => (
            "SELECT s.tenant_id AS id, s.name, s.domain, s.status, s.tier, s.created_at, s.search_text, 0 AS hits \
             FROM tenant_search_fts JOIN tenant_search s ON s.n = tenant_search_fts.rowid \
             WHERE tenant_search_fts MATCH $1"
                .to_owned(),
            fts_phrase(term),
        ),
        // The window counts the capped matches before the caller's filters drop any.
        Backend::Postgres => (
            format!(
                "SELECT tenant_id AS id, name, domain, status, tier, created_at, search_text, COUNT(*) OVER () AS hits \
                 FROM (SELECT * FROM tenant_search WHERE search_text LIKE $1 ESCAPE '\\' LIMIT {}) c",
                NARROW_MATCHES + 1
            ),
            validate::like_contains(term),
        ),
    }
}

/// Whether the trigram index holds at most [`NARROW_MATCHES`] tenants for the term; counts
/// no further than one past the cap.
pub async fn tenants_narrow(db: &Db, term: &str) -> Result<bool, ServiceError> {
    if !indexable(term) {
        return Ok(false);
    }
    // On SQLite the FTS table alone answers (joining back to tenants would cost a lookup per
    // match); on PostgreSQL the GIN index of the narrow side table serves the LIKE.
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM (SELECT 1 FROM tenant_search_fts WHERE tenant_search_fts MATCH $1 LIMIT $2) m"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM (SELECT 1 FROM tenant_search WHERE search_text LIKE $1 ESCAPE '\\' LIMIT $2) m"
        }
    };
    let value = match db.backend() {
        Backend::Sqlite => fts_phrase(term),
        Backend::Postgres => validate::like_contains(term),
    };
    let n: i64 = db.scalar(sql, args![value, NARROW_MATCHES + 1]).await?;
    Ok(n <= NARROW_MATCHES)
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
