//! "Go to": one term, every kind of record the actor may see — tenants, customers, services,
//! invoices, jobs, users — matched by slug, name, e-mail, domain, document, number or
//! (short) id (docs/adr/0017). `painel find` and the palette call [`find`].
//!
//! Every lookup is indexed so a first page stays in milliseconds on 100k customers: ids by
//! the primary key's range ([`crate::ids`]); customers' names and e-mails by the trigram index
//! (FTS5 `customer_search_fts` on SQLite, pg_trgm on PostgreSQL), driven from the index and cut
//! at the limit; tenants through [`tenants::list`]'s planned filter; documents and invoice
//! numbers by their own indexes. Kinds the actor has no permission for are left out; tenant
//! scope, the reseller tree and (on PostgreSQL) row-level security apply as in the lists.

use serde::Serialize;
use uuid::Uuid;

use crate::actor::Actor;
use crate::authz::{require, Permission};
use crate::db::{Arg, Backend, Db};
use crate::error::ServiceError;
use crate::page::where_clause;
use crate::reseller::{self, Reach};
use crate::tenants::{self, TenantQuery, TenantSort};
use crate::{ids, validate};

/// Results per kind at most (a first page, not a listing).
pub const MAX_PER_KIND: usize = 50;

/// One thing found: enough for a palette line and for opening it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// tenant, customer, service, invoice, job or user.
    pub kind: &'static str,
    pub id: Uuid,
    /// What it is called: a name, a domain, an invoice number, a job kind, a username.
    pub label: String,
    /// A second line: e-mail, status, queue…
    pub detail: String,
    /// The tenant it belongs to (slug), when it belongs to one.
    pub tenant: Option<String>,
    /// What matched: id, slug, name, email, domain, document, number or username.
    pub matched: &'static str,
    /// Where the console shows it (a sitemap path, with the id for detail screens).
    pub route: String,
}

/// The kinds in the order results come back.
pub const KINDS: [&str; 6] = ["tenant", "customer", "service", "invoice", "job", "user"];

type Row = (Uuid, String, String, Option<String>);

struct Kind {
    kind: &'static str,
    permission: Permission,
    /// SELECT of (id, label, detail, tenant slug) with its FROM; conditions are appended.
    select: &'static str,
    id_col: &'static str,
    tenant_col: &'static str,
    reach: Reach,
    route: fn(&Row) -> String,
}

const CUSTOMER: Kind = Kind {
    kind: "customer",
    permission: Permission::CustomersRead,
    select: "SELECT c.id, c.name, c.email, t.slug FROM customers c JOIN tenants t ON t.id = c.tenant_id",
    id_col: "c.id",
    tenant_col: "c.tenant_id",
    reach: Reach::Owned {
        reseller: Some("c.reseller_id"),
        customer: None,
    },
    route: |r| format!("customers/{}", r.0),
};

const SERVICE: Kind = Kind {
    kind: "service",
    permission: Permission::ServicesRead,
    select: "SELECT x.id, coalesce(x.domain, x.username, p.name), c.name || ' · ' || x.status, t.slug \
             FROM services x JOIN tenants t ON t.id = x.tenant_id JOIN customers c ON c.id = x.customer_id \
             JOIN plans p ON p.id = x.plan_id",
    id_col: "x.id",
    tenant_col: "x.tenant_id",
    reach: Reach::Owned {
        reseller: None,
        customer: Some("x.customer_id"),
    },
    route: |r| format!("services/{}", r.0),
};

const INVOICE: Kind = Kind {
    kind: "invoice",
    permission: Permission::BillingRead,
    select: "SELECT x.id, x.number, coalesce(c.name, '') || ' · ' || x.status, t.slug \
             FROM invoices x JOIN tenants t ON t.id = x.tenant_id LEFT JOIN customers c ON c.id = x.customer_id",
    id_col: "x.id",
    tenant_col: "x.tenant_id",
    reach: Reach::Owned {
        reseller: Some("x.user_id"),
        customer: Some("x.customer_id"),
    },
    route: |r| format!("billing/invoices/{}", r.0),
};

const JOB: Kind = Kind {
    kind: "job",
    permission: Permission::JobsRead,
    select: "SELECT j.id, j.kind, j.queue || ' · ' || j.status, t.slug FROM jobs j LEFT JOIN tenants t ON t.id = j.tenant_id",
    id_col: "j.id",
    tenant_col: "j.tenant_id",
    reach: Reach::Catalogue,
    route: |r| format!("services/jobs/{}", r.0),
};

const USER: Kind = Kind {
    kind: "user",
    permission: Permission::TenantsRead,
    select: "SELECT u.id, u.username, u.display_name || ' · ' || u.role, t.slug FROM users u \
             LEFT JOIN tenants t ON t.id = u.tenant_id",
    id_col: "u.id",
    tenant_col: "u.tenant_id",
    reach: Reach::Owned {
        reseller: Some("u.id"),
        customer: None,
    },
    route: |r| format!("users/{}", r.0),
};

const TENANT: Kind = Kind {
    kind: "tenant",
    permission: Permission::TenantsRead,
    select: "SELECT t.id, t.name, t.domain, t.slug FROM tenants t",
    id_col: "t.id",
    tenant_col: "t.id",
    reach: Reach::Catalogue,
    route: |r| format!("tenants/{}", r.3.as_deref().unwrap_or_default()),
};

/// One kind's query: `cond` (with its `args`, numbered from 1) inside the actor's reach.
async fn fetch(
    db: &Db,
    actor: &Actor,
    k: &Kind,
    cond: String,
    mut args: Vec<Arg>,
    limit: usize,
) -> Result<Vec<Row>, ServiceError> {
    let mut conds = vec![cond];
    if let Some(scope) = actor.tenant_id {
        args.push(scope.into());
        conds.push(format!("{} = ${}", k.tenant_col, args.len()));
    }
    reseller::restrict(actor, k.reach, k.kind, &mut conds, &mut args)?;
    let sql = format!("{} {} LIMIT {limit}", k.select, where_clause(&conds));
    db.fetch_all(&sql, args).await
}

fn hits(k: &Kind, matched: &'static str, rows: Vec<Row>) -> Vec<Hit> {
    rows.into_iter()
        .map(|r| Hit {
            kind: k.kind,
            id: r.0,
            route: (k.route)(&r),
            label: r.1,
            detail: r.2,
            tenant: r.3,
            matched,
        })
        .collect()
}

/// By id, or a short id (prefix; for jobs also the suffix the queue screen shows).
async fn by_id(db: &Db, actor: &Actor, k: &Kind, term: &str, limit: usize) -> Result<Vec<Hit>, ServiceError> {
    if let Ok(id) = Uuid::parse_str(term) {
        let rows = fetch(db, actor, k, format!("{} = $1", k.id_col), vec![id.into()], limit).await?;
        return Ok(hits(k, "id", rows));
    }
    let Some((lo, hi)) = ids::prefix_range(term) else {
        return Ok(Vec::new());
    };
    let cond = format!("{} >= $1 AND {} <= $2", k.id_col, k.id_col);
    let mut rows = fetch(db, actor, k, cond, vec![lo.into(), hi.into()], limit).await?;
    if rows.is_empty() && k.kind == "job" {
        if let Some(hex) = ids::short_hex(term) {
            let cond = match db.backend() {
                Backend::Sqlite => "lower(hex(j.id)) LIKE $1".to_owned(),
                Backend::Postgres => "replace(j.id::text, '-', '') LIKE $1".to_owned(),
            };
            rows = fetch(db, actor, k, cond, vec![format!("%{hex}").into()], limit).await?;
        }
    }
    Ok(hits(k, "id", rows))
}

/// Customers whose name or e-mail contains `term`, straight from the trigram index.
async fn customers_text(db: &Db, actor: &Actor, term: &str, limit: usize) -> Result<Vec<Hit>, ServiceError> {
    let like = validate::like_contains(term);
    let rows = match db.backend() {
        // Driven from the FTS index so the walk stops at the limit; the LIKE keeps results
        // exactly a scan's.
        Backend::Sqlite => {
            let k = Kind {
                select: "SELECT c.id, c.name, c.email, t.slug FROM customer_search_fts f \
                         JOIN customer_search s ON s.n = f.rowid JOIN customers c ON c.id = s.customer_id \
                         JOIN tenants t ON t.id = c.tenant_id",
                ..CUSTOMER
            };
            let phrase = format!("\"{}\"", term.trim().to_lowercase().replace('"', "\"\""));
            let cond = "customer_search_fts MATCH $1 AND c.search_text LIKE $2 ESCAPE '\\'".to_owned();
            fetch(db, actor, &k, cond, vec![phrase.into(), like.into()], limit).await?
        }
        Backend::Postgres => {
            let cond = "c.search_text LIKE $1 ESCAPE '\\'".to_owned();
            fetch(db, actor, &CUSTOMER, cond, vec![like.into()], limit).await?
        }
    };
    let matched = if term.contains('@') { "email" } else { "name" };
    Ok(hits(&CUSTOMER, matched, rows))
}

/// Tenants by slug, name or domain, through the tenants list's planned filter.
async fn tenants_text(db: &Db, actor: &Actor, term: &str, limit: usize) -> Result<Vec<Hit>, ServiceError> {
    let q = TenantQuery {
        filter: Some(term.to_owned()),
        sort: TenantSort::Name,
        limit,
        ..Default::default()
    };
    let page = tenants::list(db, actor, &q).await?;
    let lower = term.trim().to_lowercase();
    Ok(page
        .items
        .into_iter()
        .map(|t| {
            let matched = if t.slug.contains(&lower) {
                "slug"
            } else if t.domain.contains(&lower) {
                "domain"
            } else {
                "name"
            };
            Hit {
                kind: "tenant",
                id: t.id,
                route: format!("tenants/{}", t.slug),
                label: t.name,
                detail: t.domain,
                tenant: Some(t.slug),
                matched,
            }
        })
        .collect())
}

/// Digits of a CPF (11) or CNPJ (14), punctuation ignored.
fn document_digits(term: &str) -> Option<String> {
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    let only = term.chars().all(|c| c.is_ascii_digit() || ".-/ ".contains(c));
    (only && matches!(digits.len(), 11 | 14)).then_some(digits)
}

/// Finds up to `limit` (at most [`MAX_PER_KIND`]) records of each kind matching `term`,
/// in [`KINDS`] order, id matches first within a kind.
pub async fn find(db: &Db, actor: &Actor, term: &str, limit: usize) -> Result<Vec<Hit>, ServiceError> {
    let term = term.trim();
    if term.is_empty() {
        return Err(ServiceError::invalid("term", "type something to find"));
    }
    let limit = limit.clamp(1, MAX_PER_KIND);
    // The kinds are asked at once: on PostgreSQL each is a round trip, and the pool has the
    // connections (SQLite serialises them anyway, at no cost).
    // A CPF/CNPJ names a customer: no other kind is asked (nor ids that happen to start so).
    let document = document_digits(term).is_some();
    let kinds = [&TENANT, &CUSTOMER, &SERVICE, &INVOICE, &JOB, &USER]
        .into_iter()
        .filter(|k| !document || k.kind == "customer")
        .filter(|k| require(actor, k.permission).is_ok())
        .map(|k| one_kind(db, actor, k, term, limit));
    let found = futures::future::try_join_all(kinds).await?;
    Ok(found.into_iter().flatten().collect())
}

/// One kind's hits: id matches first, then the term's.
async fn one_kind(db: &Db, actor: &Actor, k: &Kind, term: &str, limit: usize) -> Result<Vec<Hit>, ServiceError> {
    let text = validate::like_contains(term);
    let indexable = term.chars().count() >= 3;
    {
        let mut found = if document_digits(term).is_some() {
            Vec::new()
        } else {
            by_id(db, actor, k, term, limit).await?
        };
        // A whole id names one record: no name contains it.
        if Uuid::parse_str(term).is_ok() {
            return Ok(found);
        }
        let room = limit - found.len().min(limit);
        if room > 0 {
            let more = match k.kind {
                "tenant" if indexable => tenants_text(db, actor, term, room).await?,
                "tenant" => {
                    let rows = fetch(
                        db,
                        actor,
                        k,
                        "t.slug = $1".into(),
                        vec![term.to_lowercase().into()],
                        room,
                    )
                    .await?;
                    hits(k, "slug", rows)
                }
                "customer" => match document_digits(term) {
                    Some(doc) => hits(
                        k,
                        "document",
                        fetch(db, actor, k, "c.document = $1".into(), vec![doc.into()], room).await?,
                    ),
                    None if crate::validate::email(term).is_ok() => {
                        let exact = fetch(
                            db,
                            actor,
                            k,
                            "c.email = $1".into(),
                            vec![term.to_lowercase().into()],
                            room,
                        )
                        .await?;
                        if exact.is_empty() {
                            customers_text(db, actor, term, room).await?
                        } else {
                            hits(k, "email", exact)
                        }
                    }
                    None if indexable => customers_text(db, actor, term, room).await?,
                    None => Vec::new(),
                },
                "service" if indexable => {
                    let cond = "(lower(coalesce(x.domain, '')) LIKE $1 ESCAPE '\\' \
                                OR lower(coalesce(x.username, '')) LIKE $1 ESCAPE '\\')";
                    hits(
                        k,
                        "domain",
                        fetch(db, actor, k, cond.into(), vec![text.clone().into()], room).await?,
                    )
                }
                "invoice" => {
                    let cond = "x.number IN ($1, $2)";
                    let args = vec![term.to_owned().into(), term.to_uppercase().into()];
                    hits(k, "number", fetch(db, actor, k, cond.into(), args, room).await?)
                }
                "user" if indexable => {
                    let cond = "(lower(u.username) LIKE $1 ESCAPE '\\' OR lower(u.email) LIKE $1 ESCAPE '\\' \
                                OR lower(u.display_name) LIKE $1 ESCAPE '\\')";
                    hits(
                        k,
                        "username",
                        fetch(db, actor, k, cond.into(), vec![text.clone().into()], room).await?,
                    )
                }
                "user" => hits(
                    k,
                    "username",
                    fetch(
                        db,
                        actor,
                        k,
                        "u.username = $1".into(),
                        vec![term.to_lowercase().into()],
                        room,
                    )
                    .await?,
                ),
                _ => Vec::new(),
            };
            for h in more {
                if !found.iter().any(|f| f.id == h.id) {
                    found.push(h);
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_whole_cpfs_or_cnpjs() {
        assert_eq!(document_digits("123.456.789-09").as_deref(), Some("12345678909"));
        assert_eq!(document_digits("12.345.678/0001-95").as_deref(), Some("12345678000195"));
        assert!(document_digits("1234").is_none());
        assert!(document_digits("ana 12345678909").is_none());
    }
}
