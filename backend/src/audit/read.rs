//! Reads: listing, fetching and diffing audit rows.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::{Arg, Db, Record};
use crate::error::ServiceError;
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};

use super::*;

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The actor's name or a prefix of it.
    pub actor_name: Option<String>,
    /// Exact action, or a prefix ending in `*` (`tenant.*`).
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Tenant id or slug.
    pub tenant: Option<String>,
    /// Inclusive lower bound of `at`.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound of `at`.
    pub until: Option<DateTime<Utc>>,
    /// Newest first unless set (exports read oldest first).
    pub oldest_first: bool,
    pub limit: usize,
    pub at: PageAt,
}

fn like_prefix(prefix: &str) -> String {
    let mut out = String::new();
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A tenant named on the filter line: its id, its slug, a unique slug prefix
/// (`tenant:streammax`), or a unique id prefix — among the tenants the actor sees.
async fn resolve_tenant(db: &Db, actor: &Actor, key: &str) -> Result<Uuid, ServiceError> {
    if let Ok(id) = Uuid::parse_str(key) {
        return Ok(id);
    }
    let slug = key.to_ascii_lowercase();
    let mut args: Vec<Arg> = args![slug.clone(), like_prefix(&slug)];
    let mut scope = String::new();
    if let Some(t) = actor.tenant_id {
        args.push(t.into());
        scope = " AND id = $3".to_owned();
    }
    let rows: Vec<(Uuid, String)> = db
        .fetch_all(
            &format!(
                "SELECT id, slug FROM tenants WHERE (slug = $1 OR slug LIKE $2 ESCAPE '\\'){scope} \
                 ORDER BY slug LIMIT 6"
            ),
            args,
        )
        .await?;
    if let Some((id, _)) = rows.iter().find(|(_, s)| *s == slug) {
        return Ok(*id);
    }
    match rows.as_slice() {
        [(id, _)] => Ok(*id),
        [] => {
            let id = crate::ids::expand(db, actor, &crate::ids::TENANTS, key).await?;
            Uuid::parse_str(&id).map_err(|_| ServiceError::not_found("tenant", key))
        }
        many => {
            let slugs: Vec<&str> = many.iter().map(|(_, s)| s.as_str()).collect();
            Err(ServiceError::invalid(
                "tenant",
                format!("{key} is ambiguous; it starts: {}", slugs.join(", ")),
            ))
        }
    }
}

async fn conditions(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<(Vec<String>, Vec<Arg>), ServiceError> {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut push = |cond: &str, arg: Arg| {
        args.push(arg);
        conds.push(cond.replace("$n", &format!("${}", args.len())));
    };
    // Scoped actors see their tenant's rows only, never global (tenant-less) ones.
    if let Some(scope) = actor.tenant_id {
        push("tenant_id = $n", scope.into());
    }
    if let Some(key) = nonempty(&q.tenant) {
        let id = resolve_tenant(db, actor, key).await?;
        if !actor.sees_tenant(id) {
            return Err(ServiceError::not_found("tenant", key));
        }
        push("tenant_id = $n", id.into());
    }
    // A prefix of the actor's name (`actor:thiago`), the whole name included.
    if let Some(a) = nonempty(&q.actor_name) {
        push("actor_name LIKE $n ESCAPE '\\'", like_prefix(a).into());
    }
    if let Some(a) = nonempty(&q.action) {
        match a.strip_suffix('*') {
            Some(prefix) => push("action LIKE $n ESCAPE '\\'", like_prefix(prefix).into()),
            None => push("action = $n", a.into()),
        }
    }
    if let Some(e) = nonempty(&q.entity) {
        push("entity = $n", e.into());
    }
    if let Some(e) = nonempty(&q.entity_id) {
        push("entity_id = $n", e.into());
    }
    if let Some(t) = q.since {
        push("at >= $n", t.into());
    }
    if let Some(t) = q.until {
        push("at < $n", t.into());
    }
    Ok((conds, args))
}

async fn page_of<T: Record>(
    db: &Db,
    actor: &Actor,
    q: &AuditQuery,
    columns: &str,
    seq: fn(&T) -> i64,
) -> Result<Page<T>, ServiceError> {
    require(actor, Permission::AuditRead)?;
    let limit = q.limit.clamp(1, MAX_PAGE);
    let (mut conds, mut args) = conditions(db, actor, q).await?;
    let dir = if q.oldest_first { SortDir::Asc } else { SortDir::Desc };
    let order = apply_keyset(&["seq"], dir, &q.at, &mut conds, &mut args)?;
    let sql = format!(
        "SELECT {columns} FROM audit_log {} ORDER BY {order} LIMIT {}",
        where_clause(&conds),
        limit + 1
    );
    let rows: Vec<T> = db.fetch_all(&sql, args).await?;
    Ok(finish(rows, limit, &q.at, |r| Cursor(vec![KeyPart::Int(seq(r))])))
}

/// A page of audit rows, newest first (keyset on seq), within the actor's scope.
pub async fn list(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<Page<AuditEntry>, ServiceError> {
    page_of(db, actor, q, ENTRY_COLUMNS, |r: &AuditEntry| r.seq).await
}

/// Like [`list`] with whole rows (before/after and hashes): for exports.
pub async fn list_records(db: &Db, actor: &Actor, q: &AuditQuery) -> Result<Page<AuditRecord>, ServiceError> {
    page_of(db, actor, q, RECORD_COLUMNS, |r: &AuditRecord| r.seq).await
}

/// One row by seq number or id, within the actor's scope.
pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<AuditRecord, ServiceError> {
    require(actor, Permission::AuditRead)?;
    let key = key.trim();
    // A number is a seq; other hex is an id or a unique id prefix.
    let expanded;
    let key = if key.parse::<i64>().is_ok() {
        key
    } else {
        expanded = crate::ids::expand(db, actor, &crate::ids::AUDIT, key).await?;
        expanded.as_str()
    };
    let (cond, arg) = if let Ok(seq) = key.parse::<i64>() {
        ("seq = $1", Arg::from(seq))
    } else if let Ok(id) = Uuid::parse_str(key) {
        ("id = $1", Arg::from(id))
    } else {
        return Err(ServiceError::invalid("key", "must be a seq number or an audit row id"));
    };
    let row: Option<AuditRecord> = db
        .fetch_optional(
            &format!("SELECT {RECORD_COLUMNS} FROM audit_log WHERE {cond}"),
            vec![arg],
        )
        .await?;
    match row {
        Some(r) if actor.tenant_id.is_none() || r.tenant_id == actor.tenant_id => Ok(r),
        _ => Err(ServiceError::not_found("audit row", key)),
    }
}

/// One changed value between two snapshots: its path (`a.b`), old and new (null when absent).
pub type DiffLine = (String, Value, Value);

/// What differs between `before` and `after`, field by field (objects are walked; other
/// values, arrays included, compare whole), in path order.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<DiffLine> {
    let mut out = Vec::new();
    walk(
        "",
        before.unwrap_or(&Value::Null),
        after.unwrap_or(&Value::Null),
        &mut out,
    );
    out
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<DiffLine>) {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(serde_json::Map::new);
    let (x, y) = match (a, b) {
        (Value::Object(x), Value::Object(y)) => (x, y),
        (Value::Object(x), Value::Null) => (x, empty),
        (Value::Null, Value::Object(y)) => (empty, y),
        _ => {
            if a != b {
                let p = if path.is_empty() { "$" } else { path };
                out.push((p.to_owned(), a.clone(), b.clone()));
            }
            return;
        }
    };
    let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    for k in keys {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        walk(
            &p,
            x.get(k.as_str()).unwrap_or(&Value::Null),
            y.get(k.as_str()).unwrap_or(&Value::Null),
            out,
        );
    }
}
