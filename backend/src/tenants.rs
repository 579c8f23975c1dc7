//! Tenants: the white-label brands. Create, list, read, branding, limits, suspension.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, snapshot, Change};
use crate::authz::{require, Permission};
use crate::db::{now, Arg, Backend, Db, Tx};
use crate::error::{FieldError, ServiceError};
use crate::page::{apply_keyset, finish, where_clause, Cursor, KeyPart, Page, PageAt, SortDir};
use crate::{args, search, sensitive, validate};

pub const STATUSES: [&str; 3] = ["active", "suspended", "cancelled"];
pub const TIERS: [&str; 4] = ["free", "basic", "pro", "enterprise"];

const COLUMNS: &str = "id, slug, name, domain, status, tier, currency, logo_text, primary_color, accent_color, \
    sender_name, sender_email, support_email, max_customers, max_services, max_storage_gb, max_domains, \
    max_tickets_month, suspended_reason, suspended_at, created_at, updated_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub domain: String,
    pub status: String,
    pub tier: String,
    pub currency: String,
    pub logo_text: String,
    pub primary_color: String,
    pub accent_color: String,
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
    pub support_email: Option<String>,
    pub max_customers: Option<i64>,
    pub max_services: Option<i64>,
    pub max_storage_gb: Option<i64>,
    pub max_domains: Option<i64>,
    pub max_tickets_month: Option<i64>,
    pub suspended_reason: Option<String>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Limits; `None` is unlimited. Defaults follow the tier table of the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Limits {
    pub max_customers: Option<i64>,
    pub max_services: Option<i64>,
    pub max_storage_gb: Option<i64>,
    pub max_domains: Option<i64>,
    pub max_tickets_month: Option<i64>,
}

impl Limits {
    /// Seed 004: tickets 15/30/60/∞, storage 5/25/100/∞ GB, domains 1/3/10/∞.
    pub fn for_tier(tier: &str) -> Limits {
        let (tickets, storage, domains) = match tier {
            "free" => (Some(15), Some(5), Some(1)),
            "basic" => (Some(30), Some(25), Some(3)),
            "pro" => (Some(60), Some(100), Some(10)),
            _ => (None, None, None),
        };
        Limits {
            max_customers: None,
            max_services: None,
            max_storage_gb: storage,
            max_domains: domains,
            max_tickets_month: tickets,
        }
    }

    /// Each limit with its field name.
    pub fn fields(&self) -> [(&'static str, Option<i64>); 5] {
        [
            ("max_customers", self.max_customers),
            ("max_services", self.max_services),
            ("max_storage_gb", self.max_storage_gb),
            ("max_domains", self.max_domains),
            ("max_tickets_month", self.max_tickets_month),
        ]
    }

    fn of(t: &Tenant) -> Limits {
        Limits {
            max_customers: t.max_customers,
            max_services: t.max_services,
            max_storage_gb: t.max_storage_gb,
            max_domains: t.max_domains,
            max_tickets_month: t.max_tickets_month,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewTenant {
    pub name: String,
    /// Empty: derived from the name.
    pub slug: String,
    pub domain: String,
    /// Empty: "basic".
    pub tier: String,
    /// Empty: "BRL".
    pub currency: String,
    pub logo_text: String,
    pub primary_color: String,
    pub accent_color: String,
    pub sender_name: String,
    pub sender_email: String,
    pub support_email: String,
}

/// A partial update: `None` leaves a field as it is; for optional text fields an empty
/// string clears the value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub domain: Option<String>,
    pub tier: Option<String>,
    pub currency: Option<String>,
    pub logo_text: Option<String>,
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
    pub support_email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantSort {
    #[default]
    Name,
    Domain,
    Status,
    Tier,
    Created,
}

impl TenantSort {
    pub const ALL: [TenantSort; 5] = [
        TenantSort::Name,
        TenantSort::Domain,
        TenantSort::Status,
        TenantSort::Tier,
        TenantSort::Created,
    ];

    pub fn parse(s: &str) -> Option<TenantSort> {
        TenantSort::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TenantSort::Name => "name",
            TenantSort::Domain => "domain",
            TenantSort::Status => "status",
            TenantSort::Tier => "tier",
            TenantSort::Created => "created",
        }
    }

    /// Sort columns, each list matching an index and ending with the unique id.
    fn columns(self) -> &'static [&'static str] {
        match self {
            TenantSort::Name => &["name", "id"],
            TenantSort::Domain => &["domain", "id"],
            TenantSort::Status => &["status", "name", "id"],
            TenantSort::Tier => &["tier", "name", "id"],
            TenantSort::Created => &["created_at", "id"],
        }
    }

    fn key(self, t: &Tenant) -> Cursor {
        let text = |s: &str| KeyPart::Text(s.to_owned());
        let id = KeyPart::Uuid(t.id);
        Cursor(match self {
            TenantSort::Name => vec![text(&t.name), id],
            TenantSort::Domain => vec![text(&t.domain), id],
            TenantSort::Status => vec![text(&t.status), text(&t.name), id],
            TenantSort::Tier => vec![text(&t.tier), text(&t.name), id],
            TenantSort::Created => vec![KeyPart::Time(t.created_at), id],
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct TenantQuery {
    /// Case-insensitive "contains" over name, slug and domain.
    pub filter: Option<String>,
    pub status: Option<String>,
    pub tier: Option<String>,
    pub sort: TenantSort,
    pub dir: SortDir,
    pub limit: usize,
    pub at: PageAt,
}

pub const MAX_PAGE: usize = 500;

fn search_text(name: &str, slug: &str, domain: &str) -> String {
    format!("{} {} {}", name.to_lowercase(), slug, domain)
}

fn field(errors: &mut Vec<FieldError>, name: &str, r: Result<String, String>) -> String {
    r.unwrap_or_else(|message| {
        errors.push(FieldError {
            field: name.to_owned(),
            message,
        });
        String::new()
    })
}

fn optional(
    errors: &mut Vec<FieldError>,
    name: &str,
    raw: &str,
    check: fn(&str) -> Result<String, String>,
) -> Option<String> {
    if raw.trim().is_empty() {
        None
    } else {
        Some(field(errors, name, check(raw)))
    }
}

fn default_if_empty(raw: &str, default: &str) -> String {
    if raw.trim().is_empty() {
        default.to_owned()
    } else {
        raw.to_owned()
    }
}

fn check_tier(raw: &str) -> Result<String, String> {
    validate::one_of(raw, &TIERS)
}

fn check_logo(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.chars().count() > 40 {
        Err("must be at most 40 characters".into())
    } else {
        Ok(v.to_owned())
    }
}

fn check_name(raw: &str) -> Result<String, String> {
    validate::name(raw, 80)
}

pub async fn create(db: &Db, actor: &Actor, input: NewTenant) -> Result<Tenant, ServiceError> {
    require(actor, Permission::TenantsCreate)?;
    let mut e = Vec::new();
    let name = field(&mut e, "name", check_name(&input.name));
    let slug_raw = if input.slug.trim().is_empty() {
        validate::slugify(&input.name)
    } else {
        input.slug.clone()
    };
    let slug = field(&mut e, "slug", validate::slug(&slug_raw));
    let domain = field(&mut e, "domain", validate::domain(&input.domain));
    let tier = field(&mut e, "tier", check_tier(&default_if_empty(&input.tier, "basic")));
    let currency = field(
        &mut e,
        "currency",
        validate::currency(&default_if_empty(&input.currency, "BRL")),
    );
    let logo_text = field(&mut e, "logo_text", check_logo(&input.logo_text));
    let primary = field(
        &mut e,
        "primary_color",
        validate::color(&default_if_empty(&input.primary_color, "#3b82f6")),
    );
    let accent = field(
        &mut e,
        "accent_color",
        validate::color(&default_if_empty(&input.accent_color, "#f59e0b")),
    );
    let sender_name = optional(&mut e, "sender_name", &input.sender_name, check_name);
    let sender_email = optional(&mut e, "sender_email", &input.sender_email, validate::email);
    let support_email = optional(&mut e, "support_email", &input.support_email, validate::email);
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    let limits = Limits::for_tier(&tier);
    let at = now();
    let id = Uuid::now_v7();
    let logo_text = if logo_text.is_empty() { name.clone() } else { logo_text };
    let mut tx = db.begin().await?;
    let tenant: Tenant = tx
        .fetch_one(
            &format!(
                "INSERT INTO tenants (id, slug, name, domain, status, tier, currency, logo_text, primary_color, \
                 accent_color, sender_name, sender_email, support_email, max_customers, max_services, max_storage_gb, \
                 max_domains, max_tickets_month, search_text, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
                 RETURNING {COLUMNS}"
            ),
            args![
                id,
                slug.as_str(),
                name.as_str(),
                domain.as_str(),
                tier,
                currency,
                logo_text,
                primary,
                accent,
                sender_name,
                sender_email,
                support_email,
                limits.max_customers,
                limits.max_services,
                limits.max_storage_gb,
                limits.max_domains,
                limits.max_tickets_month,
                search_text(&name, &slug, &domain),
                at,
            ],
        )
        .await?;
    audit::record(&mut tx, actor, change("tenant.create", &tenant, None, Some(&tenant))).await?;
    tx.commit().await?;
    Ok(tenant)
}

fn change<'a>(action: &'a str, t: &Tenant, before: Option<&Tenant>, after: Option<&Tenant>) -> Change<'a> {
    Change {
        action,
        entity: "tenant",
        entity_id: Some(t.id.to_string()),
        tenant_id: Some(t.id),
        before: before.and_then(snapshot),
        after: after.and_then(snapshot),
    }
}

/// Finds a tenant by id or slug, within the actor's scope.
pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<Tenant, ServiceError> {
    require(actor, Permission::TenantsRead)?;
    let (sql, arg) = lookup(key);
    let t: Option<Tenant> = db.fetch_optional(&sql, vec![arg]).await?;
    // A slug wins over a short id it happens to spell ("cafe").
    if t.is_none() && crate::ids::short_hex(key).is_some() {
        let id = crate::ids::expand(db, actor, &crate::ids::TENANTS, key).await?;
        let (sql, arg) = lookup(&id);
        let t: Option<Tenant> = db.fetch_optional(&sql, vec![arg]).await?;
        return visible(actor, t, key);
    }
    visible(actor, t, key)
}

fn lookup(key: &str) -> (String, Arg) {
    match Uuid::parse_str(key.trim()) {
        Ok(id) => (format!("SELECT {COLUMNS} FROM tenants WHERE id = $1"), Arg::from(id)),
        Err(_) => (
            format!("SELECT {COLUMNS} FROM tenants WHERE slug = $1"),
            Arg::from(key.trim().to_ascii_lowercase()),
        ),
    }
}

// Out-of-scope tenants are reported as missing, so a scoped user cannot probe for them.
fn visible(actor: &Actor, t: Option<Tenant>, key: &str) -> Result<Tenant, ServiceError> {
    match t {
        Some(t) if actor.sees_tenant(t.id) => Ok(t),
        _ => Err(ServiceError::not_found("tenant", key)),
    }
}

async fn get_for_update(tx: &mut Tx, actor: &Actor, key: &str) -> Result<Tenant, ServiceError> {
    let (mut sql, arg) = lookup(key);
    if tx.backend() == crate::db::Backend::Postgres {
        sql.push_str(" FOR UPDATE");
    }
    let t: Option<Tenant> = tx.fetch_optional(&sql, vec![arg]).await?;
    if t.is_none() && crate::ids::short_hex(key).is_some() {
        let id = crate::ids::expand_tx(tx, actor, &crate::ids::TENANTS, key).await?;
        let (mut sql, arg) = lookup(&id);
        if tx.backend() == crate::db::Backend::Postgres {
            sql.push_str(" FOR UPDATE");
        }
        let t: Option<Tenant> = tx.fetch_optional(&sql, vec![arg]).await?;
        return visible(actor, t, key);
    }
    visible(actor, t, key)
}

/// The WHERE conditions shared by [`list`] and [`count`]: scope, text filter, status, tier.
/// With `index`, the text filter is also restricted through the trigram index (see
/// [`crate::search`]).
fn conditions(
    actor: &Actor,
    filter: Option<&str>,
    status: Option<&str>,
    tier: Option<&str>,
    index: Option<Backend>,
) -> Result<(Vec<String>, Vec<Arg>), ServiceError> {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Some(scope) = actor.tenant_id {
        args.push(scope.into());
        conds.push(format!("id = ${}", args.len()));
    }
    if let Some(f) = filter.filter(|f| !f.trim().is_empty()) {
        if let Some(backend) = index {
            let (cond, value) = search::tenant_index_condition(backend, f, args.len() + 1);
            args.push(value.into());
            conds.push(cond);
        }
        args.push(validate::like_contains(f).into());
        conds.push(format!("search_text LIKE ${} ESCAPE '\\'", args.len()));
    }
    if let Some(s) = status {
        let s = validate::one_of(s, &STATUSES).map_err(|m| ServiceError::invalid("status", m))?;
        args.push(s.into());
        conds.push(format!("status = ${}", args.len()));
    }
    if let Some(t) = tier {
        let t = check_tier(t).map_err(|m| ServiceError::invalid("tier", m))?;
        args.push(t.into());
        conds.push(format!("tier = ${}", args.len()));
    }
    Ok((conds, args))
}

pub async fn list(db: &Db, actor: &Actor, q: &TenantQuery) -> Result<Page<Tenant>, ServiceError> {
    require(actor, Permission::TenantsRead)?;
    let limit = q.limit.clamp(1, MAX_PAGE);
    let text = q
        .filter
        .as_deref()
        .filter(|f| search::indexable(f) && actor.tenant_id.is_none());
    let rows = match text {
        None => ordered_walk(db, actor, q, limit, None).await?.0,
        Some(f) => match search::tenant_bounds(db, f).await? {
            search::TermBounds::NoMatch => Vec::new(),
            search::TermBounds::Within(bounds) => {
                // The walk starts where the first match can be (docs/adr/0003): common terms
                // and terms clustered in the sort order fill a page within its first rows;
                // only when they do not is the trigram index asked (see crate::search).
                let walk = Walk {
                    budget: search::WALK_FIRST,
                    bounds: &bounds,
                };
                let (first, complete) = ordered_walk(db, actor, q, limit, Some(walk)).await?;
                if first.len() > limit || complete {
                    first
                } else if let Some(rows) = from_matches(db, actor, q, f, limit).await? {
                    rows
                } else {
                    ordered_walk(db, actor, q, limit, None).await?.0
                }
            }
        },
    };
    let sort = q.sort;
    Ok(finish(rows, limit, &q.at, |t| sort.key(t)))
}

/// A walk of the sort index limited to `budget` rows, between the filter's sort-key bounds.
#[derive(Clone, Copy)]
struct Walk<'a> {
    budget: usize,
    bounds: &'a search::TenantBounds,
}

/// Walks the sort index checking the filters; with a [`Walk`], over at most its budget of
/// rows. Also says whether the rows found are all there are: always without a budget, and
/// with one when the walk ran out of rows before the budget did.
async fn ordered_walk(
    db: &Db,
    actor: &Actor,
    q: &TenantQuery,
    limit: usize,
    walk: Option<Walk<'_>>,
) -> Result<(Vec<Tenant>, bool), ServiceError> {
    let (text, rest) = match walk {
        Some(_) => (q.filter.as_deref(), None),
        None => (None, q.filter.as_deref()),
    };
    let (mut conds, mut args) = conditions(actor, rest, q.status.as_deref(), q.tier.as_deref(), None)?;
    if let Some(Walk { bounds, .. }) = walk {
        let (bound_conds, bound_args) = bounds.conditions(q.sort, db.backend(), args.len() + 1);
        conds.extend(bound_conds);
        args.extend(bound_args);
    }
    let order = apply_keyset(q.sort.columns(), q.dir, &q.at, &mut conds, &mut args)?;
    let Some(Walk { budget: n, .. }) = walk else {
        let sql = format!(
            "SELECT {COLUMNS} FROM tenants {} ORDER BY {order} LIMIT {}",
            where_clause(&conds),
            limit + 1
        );
        return Ok((db.fetch_all(&sql, args).await?, true));
    };
    let walked = where_clause(&conds);
    let (text_conds, text_args) = conditions(&Actor::system("walk"), text, None, None, None)?;
    let shift = args.len();
    let walk_args = args.clone();
    args.extend(text_args);
    let outer: Vec<String> = text_conds.iter().map(|c| renumber(c, shift)).collect();
    // The inner walk reads only sort keys and search_text, which the sort indexes carry: an
    // index-only scan. Full rows are fetched for the matches alone.
    let keys = q.sort.columns().join(", ");
    if db.backend() == Backend::Postgres {
        // One statement, one walk: the page's ids, then — only when the page came up short,
        // because the outer LIMIT stops the UNION ALL before its second branch otherwise —
        // how many rows the walk saw, counted from the CTE's stored rows and the rest of the
        // range. A CTE scan hands out rows in the order they were stored, the walk's order;
        // an ORDER BY on it would sort, reading the whole walk every time. Planned with its values: a generic plan guessed a range between two
        // parameters to be tiny and sorted it, where a common term's bounds span most of the
        // table (21–26 ms).
        let sql = format!(
            "WITH w AS MATERIALIZED (SELECT {keys}, search_text FROM tenants {walked} ORDER BY {order} LIMIT {n}) \
             SELECT id, seen FROM ((SELECT id, NULL::bigint AS seen FROM w {} LIMIT {limit1}) \
             UNION ALL (SELECT NULL::uuid, COUNT(*) FROM w)) u LIMIT {limit1}",
            where_clause(&outer),
            limit1 = limit + 1
        );
        let found: Vec<(Option<Uuid>, Option<i64>)> = db.fetch_all_planned(&sql, args).await?;
        let seen = found.iter().find_map(|(_, seen)| *seen);
        let ids: Vec<Uuid> = found.iter().filter_map(|(id, _)| *id).collect();
        let rows = by_ids(db, &ids, &order).await?;
        let complete = seen.is_some_and(|seen| usize::try_from(seen).unwrap_or(usize::MAX) < n);
        return Ok((rows, complete));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM tenants WHERE id IN (SELECT id FROM (SELECT {keys}, search_text FROM tenants {walked} \
         ORDER BY {order} LIMIT {n}) w {} ORDER BY {order} LIMIT {limit1}) ORDER BY {order} LIMIT {limit1}",
        where_clause(&outer),
        limit1 = limit + 1
    );
    let rows: Vec<Tenant> = db.fetch_all(&sql, args).await?;
    if rows.len() > limit {
        return Ok((rows, false));
    }
    // A short page is the whole answer when the walk saw every row it could (the same
    // index-only range, counted up to the budget).
    let count = format!("SELECT COUNT(*) FROM (SELECT 1 FROM tenants {walked} ORDER BY {order} LIMIT {n}) w");
    let seen: i64 = db.scalar(&count, walk_args).await?;
    Ok((rows, usize::try_from(seen).unwrap_or(usize::MAX) < n))
}

/// The tenants of `ids` in the list's `order`.
async fn by_ids(db: &Db, ids: &[Uuid], order: &str) -> Result<Vec<Tenant>, ServiceError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let args: Vec<Arg> = ids.iter().map(|id| (*id).into()).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM tenants WHERE id IN ({}) ORDER BY {order}",
        marks.join(", ")
    );
    db.fetch_all(&sql, args).await
}

/// Cuts the page from the trigram index's matches (docs/adr/0003): their sort keys come from
/// the narrow `tenant_search` side table, so only the page's own tenant rows are read. `None`
/// when the index holds more than [`search::NARROW_MATCHES`] matches: an ordered walk then
/// finds the page sooner than sorting them all.
async fn from_matches(
    db: &Db,
    actor: &Actor,
    q: &TenantQuery,
    term: &str,
    limit: usize,
) -> Result<Option<Vec<Tenant>>, ServiceError> {
    let backend = db.backend();
    // SQLite counts in the FTS index alone, before touching a row; PostgreSQL counts in the
    // same pass that reads the matches (a separate count would read them twice).
    if backend == Backend::Sqlite && !search::tenants_narrow_fts(db, term).await? {
        return Ok(None);
    }
    let (source, source_arg) = search::tenant_matches(backend, term);
    let (conds, cond_args) = conditions(actor, Some(term), q.status.as_deref(), q.tier.as_deref(), None)?;
    let mut conds: Vec<String> = conds.iter().map(|c| renumber(c, 1)).collect();
    let mut args: Vec<Arg> = vec![source_arg.into()];
    args.extend(cond_args);
    let order = apply_keyset(q.sort.columns(), q.dir, &q.at, &mut conds, &mut args)?;
    let page_sql = format!(
        "SELECT id FROM m {} ORDER BY {order} LIMIT {}",
        where_clause(&conds),
        limit + 1
    );
    let page: Vec<Uuid> = match backend {
        Backend::Sqlite => {
            let rows: Vec<(Uuid,)> = db.fetch_all(&format!("WITH m AS ({source}) {page_sql}"), args).await?;
            rows.into_iter().map(|(id,)| id).collect()
        }
        Backend::Postgres => {
            // One pass of the index: the capped matches are counted and paged from the same
            // materialised set, and the count comes back even when the other filters (or
            // the term itself) leave no row — a second pass to count cost as much again.
            let sql = format!(
                "WITH m AS MATERIALIZED ({source}) SELECT c.hits, p.id FROM (SELECT COUNT(*) AS hits FROM m) c \
                 LEFT JOIN LATERAL ({page_sql}) p ON true"
            );
            let rows: Vec<(i64, Option<Uuid>)> = db.fetch_all_planned(&sql, args).await?;
            if rows.first().is_some_and(|(hits, _)| *hits > search::NARROW_MATCHES) {
                return Ok(None);
            }
            rows.into_iter().filter_map(|(_, id)| id).collect()
        }
    };
    Ok(Some(by_ids(db, &page, &order).await?))
}

/// Shifts the `$n` placeholders of a condition by `by`.
fn renumber(cond: &str, by: usize) -> String {
    let mut out = String::with_capacity(cond.len());
    let mut chars = cond.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&format!("${}", n + by)),
            Err(_) => out.push('$'),
        }
    }
    out
}

/// Counts what a list query would show (without paging). Kept apart from [`list`] because
/// counting a large filtered table costs more than fetching a page.
pub async fn count(db: &Db, actor: &Actor, filter: Option<&str>, status: Option<&str>) -> Result<i64, ServiceError> {
    require(actor, Permission::TenantsRead)?;
    // Counting reads every match anyway: through the index it reads only those.
    let index = filter.filter(|f| search::indexable(f)).map(|_| db.backend());
    let (conds, args) = conditions(actor, filter, status, None, index)?;
    db.scalar(&format!("SELECT COUNT(*) FROM tenants {}", where_clause(&conds)), args)
        .await
}

pub async fn update(db: &Db, actor: &Actor, key: &str, patch: TenantPatch) -> Result<Tenant, ServiceError> {
    require(actor, Permission::TenantsUpdate)?;
    let mut e = Vec::new();
    let name = patch.name.as_deref().map(|v| field(&mut e, "name", check_name(v)));
    let domain = patch
        .domain
        .as_deref()
        .map(|v| field(&mut e, "domain", validate::domain(v)));
    let tier = patch.tier.as_deref().map(|v| field(&mut e, "tier", check_tier(v)));
    let currency = patch
        .currency
        .as_deref()
        .map(|v| field(&mut e, "currency", validate::currency(v)));
    let logo = patch
        .logo_text
        .as_deref()
        .map(|v| field(&mut e, "logo_text", check_logo(v)));
    let primary = patch
        .primary_color
        .as_deref()
        .map(|v| field(&mut e, "primary_color", validate::color(v)));
    let accent = patch
        .accent_color
        .as_deref()
        .map(|v| field(&mut e, "accent_color", validate::color(v)));
    let sender_name = patch
        .sender_name
        .as_deref()
        .map(|v| optional(&mut e, "sender_name", v, check_name));
    let sender_email = patch
        .sender_email
        .as_deref()
        .map(|v| optional(&mut e, "sender_email", v, validate::email));
    let support_email = patch
        .support_email
        .as_deref()
        .map(|v| optional(&mut e, "support_email", v, validate::email));
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    let mut t = before.clone();
    if let Some(v) = name {
        t.name = v;
    }
    if let Some(v) = domain {
        t.domain = v;
    }
    if let Some(v) = tier {
        t.tier = v;
    }
    if let Some(v) = currency {
        t.currency = v;
    }
    if let Some(v) = logo {
        t.logo_text = v;
    }
    if let Some(v) = primary {
        t.primary_color = v;
    }
    if let Some(v) = accent {
        t.accent_color = v;
    }
    if let Some(v) = sender_name {
        t.sender_name = v;
    }
    if let Some(v) = sender_email {
        t.sender_email = v;
    }
    if let Some(v) = support_email {
        t.support_email = v;
    }
    if t == before {
        tx.rollback().await?;
        return Ok(before);
    }
    let after: Tenant = tx
        .fetch_one(
            &format!(
                "UPDATE tenants SET name = $2, domain = $3, tier = $4, currency = $5, logo_text = $6, primary_color = $7, \
                 accent_color = $8, sender_name = $9, sender_email = $10, support_email = $11, search_text = $12, \
                 updated_at = $13 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            args![
                t.id,
                t.name.as_str(),
                t.domain.as_str(),
                t.tier.as_str(),
                t.currency.as_str(),
                t.logo_text.as_str(),
                t.primary_color.as_str(),
                t.accent_color.as_str(),
                t.sender_name.clone(),
                t.sender_email.clone(),
                t.support_email.clone(),
                search_text(&t.name, &t.slug, &t.domain),
                now(),
            ],
        )
        .await?;
    audit::record(
        &mut tx,
        actor,
        change("tenant.update", &after, Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Sets a tenant's plan limits: platform staff only (`tenants:limits`), audited
/// `tenant.limits`. Setting a limit below what the tenant already uses (customers, live
/// services, live domains, tickets this month) is refused with
/// [`ServiceError::NeedsConfirmation`] naming each such limit and its usage, unless
/// `confirm_below_usage` says the caller saw that and means it (nothing is removed; the
/// tenant just cannot add more until it is back under the limit).
pub async fn set_limits(
    db: &Db,
    actor: &Actor,
    key: &str,
    limits: Limits,
    confirm_below_usage: bool,
) -> Result<Tenant, ServiceError> {
    require(actor, Permission::TenantsLimits)?;
    let mut e = Vec::new();
    for (name, v) in limits.fields() {
        if let Err(message) = validate::limit(v) {
            e.push(FieldError {
                field: name.to_owned(),
                message,
            });
        }
    }
    if !e.is_empty() {
        return Err(ServiceError::Validation(e));
    }
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    if Limits::of(&before) == limits {
        tx.rollback().await?;
        return Ok(before);
    }
    let below = below_usage(&mut tx, &before, &limits).await?;
    if !below.is_empty() && !confirm_below_usage {
        tx.rollback().await?;
        return Err(ServiceError::NeedsConfirmation(below));
    }
    let after: Tenant = tx
        .fetch_one(
            &format!(
                "UPDATE tenants SET max_customers = $2, max_services = $3, max_storage_gb = $4, max_domains = $5, \
                 max_tickets_month = $6, updated_at = $7 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            args![
                before.id,
                limits.max_customers,
                limits.max_services,
                limits.max_storage_gb,
                limits.max_domains,
                limits.max_tickets_month,
                now(),
            ],
        )
        .await?;
    let mut row = change("tenant.limits", &after, Some(&before), Some(&after));
    if let (Some(serde_json::Value::Object(m)), false) = (row.after.as_mut(), below.is_empty()) {
        // Who confirmed what: the usage each lowered limit undercut when it was set.
        let undercut: serde_json::Map<String, serde_json::Value> = below
            .iter()
            .map(|f| (f.field.clone(), serde_json::Value::String(f.message.clone())))
            .collect();
        m.insert("below_usage_confirmed".into(), serde_json::Value::Object(undercut));
    }
    audit::record(&mut tx, actor, row).await?;
    tx.commit().await?;
    Ok(after)
}

/// What counts against each limit, as the services that enforce them count it. Storage has
/// no measured usage yet (no per-tenant disk figure is collected), so it is never checked.
fn usage_sql(field: &str) -> Option<&'static str> {
    Some(match field {
        "max_customers" => "SELECT COUNT(*) FROM customers WHERE tenant_id = $1",
        "max_services" => "SELECT COUNT(*) FROM services WHERE tenant_id = $1 AND status <> 'terminated'",
        "max_domains" => {
            "SELECT COUNT(*) FROM domains WHERE tenant_id = $1 AND status IN ('pending', 'active', 'suspended')"
        }
        "max_tickets_month" => "SELECT COUNT(*) FROM tickets WHERE tenant_id = $1 AND created_at >= $2",
        _ => return None,
    })
}

/// The limits `new` changes to a value below the tenant's current usage (lowered, or raised
/// but still under it), each with a message naming the usage.
async fn below_usage(tx: &mut Tx, t: &Tenant, new: &Limits) -> Result<Vec<FieldError>, ServiceError> {
    let at = now();
    let month = at
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(at, |d| d.and_utc());
    let old = Limits::of(t);
    let mut out = Vec::new();
    for ((field, limit), (_, was)) in new.fields().into_iter().zip(old.fields()) {
        let (Some(limit), Some(sql)) = (limit, usage_sql(field)) else {
            continue;
        };
        if was == Some(limit) {
            continue; // unchanged: an edit of another limit does not ask about this one
        }
        let used: i64 = if field == "max_tickets_month" {
            tx.scalar(sql, args![t.id, month]).await?
        } else {
            tx.scalar(sql, args![t.id]).await?
        };
        if used > limit {
            out.push(FieldError {
                field: field.to_owned(),
                message: format!("{used} in use, more than the new limit of {limit}: confirm to set it anyway"),
            });
        }
    }
    Ok(out)
}

/// Suspends a tenant. A sensitive action (see [`crate::sensitive`]): the caller types the
/// tenant's slug as confirmation and, as an account, presents a recent 2FA code; a reason is
/// kept on the tenant and in the audit log.
pub async fn suspend(
    db: &Db,
    actor: &Actor,
    key: &str,
    reason: &str,
    proof: &sensitive::Proof<'_>,
) -> Result<Tenant, ServiceError> {
    require(actor, Permission::TenantsSuspend)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ServiceError::invalid(
            "reason",
            "a reason is required to suspend a tenant",
        ));
    }
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    let target = sensitive::Target {
        action: "tenant.suspend",
        name: &before.slug,
        tenant_id: Some(before.id),
    };
    let mut tx = sensitive::require(tx, actor, &target, proof).await?;
    if before.status != "active" {
        return Err(ServiceError::Conflict(format!(
            "tenant is {}, not active",
            before.status
        )));
    }
    let at = now();
    let after: Tenant = tx
        .fetch_one(
            &format!(
                "UPDATE tenants SET status = 'suspended', suspended_reason = $2, suspended_at = $3, updated_at = $3 \
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            args![before.id, reason, at],
        )
        .await?;
    audit::record(
        &mut tx,
        actor,
        change("tenant.suspend", &after, Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn reactivate(db: &Db, actor: &Actor, key: &str) -> Result<Tenant, ServiceError> {
    require(actor, Permission::TenantsSuspend)?;
    let mut tx = db.begin().await?;
    let before = get_for_update(&mut tx, actor, key).await?;
    if before.status != "suspended" {
        return Err(ServiceError::Conflict(format!(
            "tenant is {}, not suspended",
            before.status
        )));
    }
    let after: Tenant = tx
        .fetch_one(
            &format!(
                "UPDATE tenants SET status = 'active', suspended_reason = NULL, suspended_at = NULL, updated_at = $2 \
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            args![before.id, now()],
        )
        .await?;
    audit::record(
        &mut tx,
        actor,
        change("tenant.reactivate", &after, Some(&before), Some(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::renumber;

    #[test]
    fn renumber_shifts_every_placeholder() {
        assert_eq!(
            renumber("a LIKE $1 ESCAPE '\\' AND b = $12", 3),
            "a LIKE $4 ESCAPE '\\' AND b = $15"
        );
        assert_eq!(renumber("cost > $ 5", 2), "cost > $ 5");
    }
}
