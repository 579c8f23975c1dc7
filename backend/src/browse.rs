//! Read-only tables for the sitemap sections that have no dedicated service yet. Each view is
//! data (SQL pieces and column kinds), run through one keyset-paginated, tenant-scoped query,
//! so every section shows its real rows from the database and nothing else.

use serde::Serialize;
use uuid::Uuid;

use crate::actor::Actor;
use crate::authz::{require, Permission};
use crate::db::{Arg, Cell, CellKind, Db};
use crate::error::ServiceError;
use crate::page::{apply_keyset, where_clause, Cursor, KeyPart, PageAt, SortDir};
use crate::validate;

pub use crate::views::VIEWS;

pub struct Column {
    pub title: &'static str,
    pub expr: &'static str,
    pub kind: CellKind,
}

/// A browsable table: `from` is the FROM clause with its joins (aliases allowed), `order`
/// the newest-first key columns ending with a unique id, `search` an expression matched by
/// the `/` filter.
pub struct View {
    pub key: &'static str,
    pub title: &'static str,
    pub permission: Permission,
    pub from: &'static str,
    pub columns: &'static [Column],
    pub order: &'static [(&'static str, CellKind)],
    /// Column holding the owning tenant, for scoping; `None` for platform-level tables.
    pub tenant_col: Option<&'static str>,
    /// How rows belong to a reseller's subtree (docs/adr/0011).
    pub reach: crate::reseller::Reach,
    /// A fixed condition of the view (e.g. only failed rows), or `None`.
    pub cond: Option<&'static str>,
    pub search: &'static str,
    pub empty: &'static str,
}

pub fn view(key: &str) -> Option<&'static View> {
    VIEWS.iter().find(|v| v.key == key)
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub columns: Vec<ColumnInfo>,
    pub rows: Vec<Vec<Cell>>,
    pub has_next: bool,
    pub has_prev: bool,
    #[serde(skip)]
    pub first: Option<Cursor>,
    #[serde(skip)]
    pub last: Option<Cursor>,
    pub empty: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    pub title: &'static str,
    pub numeric: bool,
}

#[derive(Debug, Clone, Default)]
pub struct BrowseQuery {
    pub filter: Option<String>,
    pub tenant: Option<Uuid>,
    /// Only the rows touching one customer (the console's customer screen); views with no
    /// link to customers refuse it (see [`customer_link`]).
    pub customer: Option<Uuid>,
    pub limit: usize,
    pub at: PageAt,
}

/// How a view's rows touch a customer.
#[derive(Debug, Clone, Copy)]
pub enum CustomerLink {
    /// A customer id column.
    Column(&'static str),
    /// Rows that name the customer: `entity_id` equal to it, or JSON text columns
    /// mentioning its id (audit before/after, job payloads). A scan within the tenant scope.
    Mentions {
        entity_id: Option<&'static str>,
        json: &'static [&'static str],
    },
}

/// The customer link of a view, if it has one.
pub fn customer_link(view: &str) -> Option<CustomerLink> {
    use CustomerLink::*;
    Some(match view {
        "services" | "invoices" | "dns_zones" | "migrations" | "lines" | "tickets" => Column("x.customer_id"),
        "payments" => Column("i.customer_id"),
        "jobs" => Mentions {
            entity_id: None,
            json: &["x.payload"],
        },
        "audit" => Mentions {
            entity_id: Some("x.entity_id"),
            json: &["x.before", "x.after"],
        },
        _ => return None,
    })
}

fn customer_cond(db: &Db, v: &View, customer: Uuid, args: &mut Vec<Arg>) -> Result<String, ServiceError> {
    match customer_link(v.key) {
        Some(CustomerLink::Column(col)) => {
            args.push(customer.into());
            Ok(format!("{col} = ${}", args.len()))
        }
        Some(CustomerLink::Mentions { entity_id, json }) => {
            let text = customer.to_string();
            let mut ors = Vec::new();
            if let Some(col) = entity_id {
                args.push(text.clone().into());
                ors.push(format!("{col} = ${}", args.len()));
            }
            args.push(format!("%{text}%").into());
            let n = args.len();
            for col in json {
                ors.push(match db.backend() {
                    crate::db::Backend::Postgres => format!("{col}::text LIKE ${n}"),
                    crate::db::Backend::Sqlite => format!("{col} LIKE ${n}"),
                });
            }
            Ok(format!("({})", ors.join(" OR ")))
        }
        None => Err(ServiceError::invalid(
            "customer",
            format!("{} has no customer to filter by", v.title),
        )),
    }
}

fn key_part(c: &Cell) -> Option<KeyPart> {
    Some(match c {
        Cell::Text(s) => KeyPart::Text(s.clone()),
        Cell::Int(i) => KeyPart::Int(*i),
        Cell::Time(t) => KeyPart::Time(*t),
        Cell::Id(u) => KeyPart::Uuid(*u),
        _ => return None,
    })
}

pub async fn browse(db: &Db, actor: &Actor, v: &View, q: &BrowseQuery) -> Result<Table, ServiceError> {
    require(actor, v.permission)?;
    let limit = q.limit.clamp(1, crate::tenants::MAX_PAGE);
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    conds.extend(v.cond.map(str::to_owned));
    for scope in [actor.tenant_id, q.tenant].into_iter().flatten() {
        let Some(col) = v.tenant_col else {
            return Err(ServiceError::PermissionDenied(format!(
                "{} is not tenant data",
                v.title
            )));
        };
        args.push(scope.into());
        conds.push(format!("{col} = ${}", args.len()));
    }
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        args.push(validate::like_contains(f).into());
        conds.push(format!("lower({}) LIKE ${} ESCAPE '\\'", v.search, args.len()));
    }
    if let Some(customer) = q.customer {
        conds.push(customer_cond(db, v, customer, &mut args)?);
    }
    crate::reseller::restrict(actor, v.reach, v.title, &mut conds, &mut args)?;
    let order_cols: Vec<&str> = v.order.iter().map(|(c, _)| *c).collect();
    // Newest first: the lists are logs and queues more than catalogues.
    let order = apply_keyset(&order_cols, SortDir::Desc, &q.at, &mut conds, &mut args)?;
    let exprs: Vec<&str> = v
        .columns
        .iter()
        .map(|c| c.expr)
        .chain(order_cols.iter().copied())
        .collect();
    let kinds: Vec<CellKind> = v
        .columns
        .iter()
        .map(|c| c.kind)
        .chain(v.order.iter().map(|(_, k)| *k))
        .collect();
    let where_sql = where_clause(&conds);
    let sql = format!(
        "SELECT {} FROM {} {where_sql} ORDER BY {order} LIMIT {}",
        exprs.join(", "),
        v.from,
        limit + 1
    );
    let rows = db.fetch_cells(&sql, args, &kinds).await?;
    let n = v.columns.len();
    let key = |row: &Vec<Cell>| Cursor(row[n..].iter().filter_map(key_part).collect());
    let page = crate::page::finish(rows, limit, &q.at, key);
    Ok(Table {
        columns: v
            .columns
            .iter()
            .map(|c| ColumnInfo {
                title: c.title,
                numeric: matches!(c.kind, CellKind::Int | CellKind::Money),
            })
            .collect(),
        rows: page
            .items
            .into_iter()
            .map(|mut r| {
                r.truncate(n);
                r
            })
            .collect(),
        has_next: page.has_next,
        has_prev: page.has_prev,
        first: page.first,
        last: page.last,
        empty: v.empty,
    })
}
