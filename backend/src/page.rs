//! Keyset pagination. A cursor holds the sort key of a row, so the next page is an index
//! range scan whatever page it is: the 1000th page costs what the first does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Arg;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum KeyPart {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
    Uuid(Uuid),
}

impl From<KeyPart> for Arg {
    fn from(k: KeyPart) -> Arg {
        match k {
            KeyPart::Text(s) => Arg::Text(Some(s)),
            KeyPart::Int(i) => Arg::Int(Some(i)),
            KeyPart::Time(t) => Arg::Time(Some(t)),
            KeyPart::Uuid(u) => Arg::Uuid(Some(u)),
        }
    }
}

/// The position just after (or before) one row in a sorted list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor(pub Vec<KeyPart>);

impl Cursor {
    /// An opaque token for scripts (`--after TOKEN`): hex of the JSON form.
    pub fn token(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        json.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_token(token: &str) -> Result<Cursor, ServiceError> {
        let bad = || ServiceError::invalid("cursor", "is not a cursor returned by a previous page");
        if !token.len().is_multiple_of(2) || token.len() > 4096 {
            return Err(bad());
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    #[default]
    Asc,
    Desc,
}

impl SortDir {
    pub fn flip(self) -> SortDir {
        match self {
            SortDir::Asc => SortDir::Desc,
            SortDir::Desc => SortDir::Asc,
        }
    }
}

/// Which way to walk from a cursor.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PageAt {
    #[default]
    First,
    After(Cursor),
    Before(Cursor),
}

/// One page of a list plus what is needed to move to its neighbours.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    pub has_prev: bool,
    #[serde(skip)]
    pub first: Option<Cursor>,
    #[serde(skip)]
    pub last: Option<Cursor>,
    /// Token for the next page, for scripts.
    pub next_cursor: Option<String>,
}

/// Builds the keyset SQL pieces for `cols` (the sort columns, ending with a unique one).
/// Returns (where-clause, order-by) with placeholders from `$first_param`.
pub fn keyset_sql(cols: &[&str], dir: SortDir, at: &PageAt, first_param: usize) -> (Option<String>, String) {
    // Walking backwards scans in the opposite order; the caller reverses the rows.
    let (scan_dir, cmp) = match (at, dir) {
        (PageAt::Before(_), SortDir::Asc) => (SortDir::Desc, Some("<")),
        (PageAt::Before(_), SortDir::Desc) => (SortDir::Asc, Some(">")),
        (PageAt::After(_), SortDir::Asc) => (SortDir::Asc, Some(">")),
        (PageAt::After(_), SortDir::Desc) => (SortDir::Desc, Some("<")),
        (PageAt::First, d) => (d, None),
    };
    let word = if scan_dir == SortDir::Asc { "ASC" } else { "DESC" };
    let order = cols
        .iter()
        .map(|c| format!("{c} {word}"))
        .collect::<Vec<_>>()
        .join(", ");
    let cond = cmp.map(|op| {
        let params = (0..cols.len())
            .map(|i| format!("${}", first_param + i))
            .collect::<Vec<_>>();
        format!("({}) {op} ({})", cols.join(", "), params.join(", "))
    });
    (cond, order)
}

/// Adds the keyset condition of `at` to a query being built and returns its ORDER BY.
pub fn apply_keyset(
    cols: &[&str],
    dir: SortDir,
    at: &PageAt,
    conds: &mut Vec<String>,
    args: &mut Vec<Arg>,
) -> Result<String, ServiceError> {
    let (keyset, order) = keyset_sql(cols, dir, at, args.len() + 1);
    if let (Some(k), PageAt::After(c) | PageAt::Before(c)) = (keyset, at) {
        if c.0.len() != cols.len() {
            return Err(ServiceError::invalid(
                "cursor",
                "belongs to a different list or sort order",
            ));
        }
        args.extend(c.0.iter().cloned().map(Arg::from));
        conds.push(k);
    }
    Ok(order)
}

/// `WHERE a AND b`, or nothing.
pub fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    }
}

/// Turns the `limit + 1` rows fetched for a page into a [`Page`].
pub fn finish<T>(mut rows: Vec<T>, limit: usize, at: &PageAt, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let backwards = matches!(at, PageAt::Before(_));
    if backwards {
        rows.reverse();
    }
    let (has_next, has_prev) = match at {
        PageAt::First => (more, false),
        PageAt::After(_) => (more, true),
        PageAt::Before(_) => (true, more),
    };
    let first = rows.first().map(&key);
    let last = rows.last().map(&key);
    Page {
        next_cursor: if has_next {
            last.as_ref().map(Cursor::token)
        } else {
            None
        },
        items: rows,
        has_next,
        has_prev,
        first,
        last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keyset_after_desc_uses_less_than() {
        let c = Cursor(vec![]);
        let (w, o) = keyset_sql(&["name", "id"], SortDir::Desc, &PageAt::After(c), 3);
        assert_eq!(w.as_deref(), Some("(name, id) < ($3, $4)"));
        assert_eq!(o, "name DESC, id DESC");
    }

    #[test]
    fn bad_tokens_are_validation_errors() {
        for t in ["zz", "abc", "7b7d", ""] {
            assert!(matches!(Cursor::from_token(t), Err(ServiceError::Validation(_))), "{t}");
        }
    }

    proptest! {
        #[test]
        fn tokens_round_trip(s in "\\PC{0,40}", n in any::<i64>(), b in any::<[u8; 16]>()) {
            let c = Cursor(vec![KeyPart::Text(s), KeyPart::Int(n), KeyPart::Uuid(Uuid::from_bytes(b))]);
            prop_assert_eq!(Cursor::from_token(&c.token()).ok(), Some(c));
        }

        #[test]
        fn garbage_tokens_never_panic(s in "\\PC{0,200}") {
            let _ = Cursor::from_token(&s);
        }
    }
}
