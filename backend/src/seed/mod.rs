//! Demo and benchmark data.
//!
//! [`demo`] fills a freshly migrated, empty database with what `painel demo` shows an operator:
//! eight white-label brands of a Brazilian hosting and streaming reseller with their staff,
//! reseller trees, servers, catalogue, customers, services, billing, migrations, DNS/SSL,
//! streaming lines, support and operations history. Tenants and customers go through the
//! service layer (validated and audited there); everything else is inserted directly in one
//! transaction, each row (or logical group of rows) with its own audit entry by
//! `Actor::system("demo-seed")`, so the audit screen shows where every row came from.
//!
//! [`bulk_tenants`] is benchmark load: many tenants, fast, no audit rows.
//!
//! The content is deterministic (fixed lists and a fixed-seed PRNG); only ids (UUIDv7) and
//! timestamps (relative to the moment of seeding) differ between runs. Columns holding
//! secrets (`*_enc`) are left NULL (no real credentials exist in a demo; plaintext must never
//! land there). The demo accounts of [`DEMO_LOGINS`] get [`DEMO_PASSWORD`] (argon2id-hashed)
//! so `painel demo` can log in as `admin`.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::db::{now, Arg, Db, Tx};
use crate::error::ServiceError;
use crate::{args, customers::Customer, tenants::Tenant};

/// `cols!["id" => id, "name" => name]`: the column/value list of one row.
macro_rules! cols {
    ($($k:literal => $v:expr),* $(,)?) => {
        vec![$(($k, $crate::db::Arg::from($v))),*]
    };
}

mod billing;
mod bulk;
mod bulk_customers;
mod credits;
mod data;
mod infra;
mod ops;
mod payments;
mod people;
mod platform;
mod pricing;
mod sandbox;
mod streaming;
mod support;
#[cfg(test)]
mod tests;
mod text;

pub use bulk::bulk_tenants;
pub use bulk_customers::{bench_document, bench_email, bulk_customers};
pub use people::{DEMO_ADMIN, DEMO_LOGINS, DEMO_PASSWORD, DEMO_TOTP_SECRET};
pub use sandbox::{point_servers_at, sandbox_world, SandboxTarget, SimAccount, SimPackage, SimServer, SimWorld};

macro_rules! report {
    ($($table:ident),* $(,)?) => {
        /// Rows per table after seeding.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
        pub struct SeedReport {
            $(pub $table: i64,)*
        }

        impl SeedReport {
            /// (table, rows) in schema order.
            pub fn counts(&self) -> Vec<(&'static str, i64)> {
                vec![$((stringify!($table), self.$table)),*]
            }

            async fn count(db: &Db) -> Result<SeedReport, ServiceError> {
                Ok(SeedReport {
                    $($table: db.scalar(concat!("SELECT COUNT(*) FROM ", stringify!($table)), args![]).await?,)*
                })
            }
        }
    };
}

report!(
    tenants,
    users,
    customers,
    servers,
    server_metrics,
    plans,
    addons,
    services,
    service_addons,
    invoices,
    invoice_items,
    payments,
    disputes,
    streaming_servers,
    lines,
    sync_log,
    trials,
    credit_transactions,
    migrations,
    migration_logs,
    domains,
    dns_zones,
    dns_records,
    certificates,
    tickets,
    ticket_messages,
    message_templates,
    notifications,
    incidents,
    integrations,
    jobs,
    settings,
    audit_log,
);

/// Seeds the demo data set. Refuses (Conflict) unless the database has no tenants yet.
pub async fn demo(db: &Db) -> Result<SeedReport, ServiceError> {
    let existing: i64 = db.scalar("SELECT COUNT(*) FROM tenants", args![]).await?;
    if existing > 0 {
        return Err(ServiceError::Conflict(format!(
            "the database already has {existing} tenant(s); demo data is only seeded into an empty database"
        )));
    }
    let actor = Actor::system("demo-seed");
    // Phase 1: the service layer, one transaction per call (it opens its own).
    let mut world = people::brands_and_customers(db, &actor).await?;
    // Phase 2: everything else in one transaction.
    let mut ctx = Ctx {
        tx: db.begin().await?,
        actor,
        rng: Rng::new(0x5EED_2024_BEEF_CAFE),
        t0: now(),
    };
    people::backdate(&mut ctx, &world).await?;
    people::users(&mut ctx, &mut world).await?;
    infra::servers(&mut ctx, &mut world).await?;
    infra::catalogue(&mut ctx, &mut world).await?;
    billing::services(&mut ctx, &mut world).await?;
    billing::invoices(&mut ctx, &mut world).await?;
    streaming::streaming(&mut ctx, &mut world).await?;
    credits::opening(&mut ctx, &world).await?;
    ops::migrations(&mut ctx, &world).await?;
    ops::dns(&mut ctx, &world).await?;
    support::tickets(&mut ctx, &world).await?;
    support::messaging(&mut ctx, &world).await?;
    platform::incidents(&mut ctx, &world).await?;
    platform::integrations_and_settings(&mut ctx, &world).await?;
    platform::jobs(&mut ctx, &world).await?;
    people::demo_logins(&mut ctx, &world).await?;
    let actor = ctx.actor.clone();
    ctx.tx.commit().await?;
    // Phase 3: price lists and coupons, through their services (docs/adr/0026).
    pricing::prices_and_coupons(db, &actor).await?;
    SeedReport::count(db).await
}

/// (brand index, invoice id, customer id, number, due date).
type OpenInvoice = (usize, Uuid, Option<Uuid>, String, DateTime<Utc>);

/// What phase 1 created and what later steps need to refer to.
#[derive(Default)]
struct World {
    pub brands: Vec<Brand>,
    pub staff: Vec<UserRef>,
    pub servers: Vec<ServerRef>,
    pub services: Vec<ServiceRef>,
    /// Invoices not paid yet, for reminders: (tenant index, invoice id, customer id, number, due).
    pub open_invoices: Vec<OpenInvoice>,
    /// Paid credit purchases per partner: (user id, invoice id, credits, price, paid at).
    pub credit_invoices: Vec<(Uuid, Uuid, i64, i64, DateTime<Utc>)>,
    /// Domains in use (globally unique while live).
    pub used_domains: std::collections::HashSet<String>,
}

struct Brand {
    pub spec: &'static data::TenantSpec,
    pub tenant: Tenant,
    pub customers: Vec<Customer>,
    /// Days ago each customer signed up (same order as `customers`).
    pub customer_age: Vec<i64>,
    /// Each customer's web site domain (same order as `customers`).
    pub sites: Vec<String>,
    /// Each customer's reseller, an index into `resellers` (streaming brands).
    pub owner: Vec<Option<usize>>,
    pub admin: Option<UserRef>,
    pub resellers: Vec<UserRef>,
    pub plans: Vec<PlanRef>,
    pub addons: Vec<AddonRef>,
}

#[derive(Clone)]
struct UserRef {
    pub id: Uuid,
    pub username: String,
    pub role: &'static str,
    pub parent: Option<usize>,
    pub created: DateTime<Utc>,
}

#[derive(Clone)]
struct ServerRef {
    pub id: Uuid,
    pub name: &'static str,
    pub status: &'static str,
    pub ip: String,
}

#[derive(Clone)]
struct PlanRef {
    pub id: Uuid,
    pub code: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub status: &'static str,
    pub price: i64,
    pub setup: i64,
    pub cycle: &'static str,
    pub credits: Option<i64>,
    pub days: Option<i64>,
}

#[derive(Clone)]
struct AddonRef {
    pub id: Uuid,
    pub name: &'static str,
    pub price: i64,
}

#[derive(Clone)]
struct ServiceRef {
    pub id: Uuid,
    pub brand: usize,
    pub customer: usize,
    pub plan: PlanRef,
    pub server: Option<usize>,
    pub status: &'static str,
    pub domain: Option<String>,
    pub username: Option<String>,
    pub created: DateTime<Utc>,
    pub next_due: Option<DateTime<Utc>>,
    pub addon: Option<(Uuid, AddonRef)>,
}

/// Phase-2 state: the open transaction, the acting identity, the PRNG and the reference time.
struct Ctx {
    pub tx: Tx,
    pub actor: Actor,
    pub rng: Rng,
    pub t0: DateTime<Utc>,
}

impl Ctx {
    /// `t0` moved by whole minutes (negative = in the past).
    pub fn mins(&self, m: i64) -> DateTime<Utc> {
        self.t0 + TimeDelta::minutes(m)
    }

    /// A UUIDv7 for a row backdated to `at`, so id order stays creation order (job lists
    /// sort by id).
    pub fn id_at(&self, at: DateTime<Utc>) -> uuid::Uuid {
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            ms / 1000,
            ((ms % 1000) * 1_000_000) as u32,
        ))
    }

    pub fn hours(&self, h: i64) -> DateTime<Utc> {
        self.mins(h * 60)
    }

    pub fn days(&self, d: i64) -> DateTime<Utc> {
        self.mins(d * 1440)
    }

    /// Inserts one row: `fields` are bound, `raw` are SQL literals (floats, the empty blob).
    pub async fn insert(
        &mut self,
        table: &str,
        fields: &[(&str, Arg)],
        raw: &[(&str, String)],
    ) -> Result<(), ServiceError> {
        let mut names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
        let mut values: Vec<String> = (1..=fields.len()).map(|i| format!("${i}")).collect();
        for (k, v) in raw {
            names.push(k);
            values.push(v.clone());
        }
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            values.join(", ")
        );
        self.tx
            .execute(&sql, fields.iter().map(|(_, a)| a.clone()).collect())
            .await?;
        Ok(())
    }

    /// Inserts one row and audits it as `<entity>.create` with the inserted values as `after`.
    pub async fn add(
        &mut self,
        table: &str,
        entity: &str,
        tenant: Option<Uuid>,
        fields: Vec<(&str, Arg)>,
    ) -> Result<(), ServiceError> {
        self.add_raw(table, entity, tenant, fields, &[]).await
    }

    pub async fn add_raw(
        &mut self,
        table: &str,
        entity: &str,
        tenant: Option<Uuid>,
        fields: Vec<(&str, Arg)>,
        raw: &[(&str, String)],
    ) -> Result<(), ServiceError> {
        self.insert(table, &fields, raw).await?;
        let entity_id = fields.iter().find_map(|(k, a)| match (k, a) {
            (&"id", Arg::Uuid(Some(u))) => Some(u.to_string()),
            _ => None,
        });
        let after = Value::Object(
            fields
                .iter()
                .map(|(k, a)| ((*k).to_owned(), arg_json(a)))
                .collect::<Map<_, _>>(),
        );
        self.note(&format!("{entity}.create"), entity, entity_id, tenant, after)
            .await
    }

    /// One audit entry by the seeding actor.
    pub async fn note(
        &mut self,
        action: &str,
        entity: &str,
        entity_id: Option<String>,
        tenant: Option<Uuid>,
        after: Value,
    ) -> Result<(), ServiceError> {
        self.change(action, entity, entity_id, tenant, None, after).await
    }

    /// One audit entry for a change of an existing row.
    pub async fn change(
        &mut self,
        action: &str,
        entity: &str,
        entity_id: Option<String>,
        tenant: Option<Uuid>,
        before: Option<Value>,
        after: Value,
    ) -> Result<(), ServiceError> {
        audit::record(
            &mut self.tx,
            &self.actor,
            Change {
                action,
                entity,
                entity_id,
                tenant_id: tenant,
                before,
                after: Some(after),
            },
        )
        .await?;
        Ok(())
    }
}

/// How a bound value reads in an audit snapshot.
fn arg_json(a: &Arg) -> Value {
    match a {
        Arg::Text(v) => v.clone().map_or(Value::Null, Value::String),
        Arg::Uuid(v) => v.map_or(Value::Null, |u| Value::String(u.to_string())),
        Arg::Int(v) => v.map_or(Value::Null, Value::from),
        Arg::Float(v) => v.map_or(Value::Null, Value::from),
        Arg::Bool(b) => Value::Bool(*b),
        Arg::Time(v) => v.map_or(Value::Null, |t| {
            Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
        }),
        Arg::Json(v) => v.clone().unwrap_or(Value::Null),
        // Binary columns hold sealed secrets: never copied into the audit log.
        Arg::Bytes(v) => v
            .as_ref()
            .map_or(Value::Null, |_| Value::String(audit::REDACTED.to_owned())),
    }
}

/// xorshift64*: tiny, fixed-seed, good enough for picking demo names. The state is a `Cell`
/// so a draw can sit inside the argument list of a `ctx` method call.
struct Rng(std::cell::Cell<u64>);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(std::cell::Cell::new(seed.max(1)))
    }

    pub fn next_u64(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// 0..n (0 when n is 0).
    pub fn below(&self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// lo..=hi.
    pub fn range(&self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
        }
    }

    /// True with probability pct/100.
    pub fn chance(&self, pct: u64) -> bool {
        self.next_u64() % 100 < pct
    }

    pub fn pick(&self, xs: &[&'static str]) -> &'static str {
        xs.get(self.below(xs.len())).copied().unwrap_or("")
    }

    fn draw_from(&self, n: usize, alphabet: &[u8]) -> String {
        (0..n)
            .map(|_| char::from(alphabet.get(self.below(alphabet.len())).copied().unwrap_or(b'0')))
            .collect()
    }

    pub fn alnum(&self, n: usize) -> String {
        self.draw_from(n, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    }

    pub fn hex(&self, n: usize) -> String {
        self.draw_from(n, b"0123456789abcdef")
    }

    pub fn digits(&self, n: usize) -> String {
        self.draw_from(n, b"0123456789")
    }

    pub fn digit_array<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        for d in &mut out {
            *d = (self.next_u64() % 10) as u8;
        }
        out
    }
}

/// Money in minor units rounded to a "commercial" price ending in 90 cents.
fn price_90(minor: i64) -> i64 {
    (minor / 100) * 100 + 90
}
