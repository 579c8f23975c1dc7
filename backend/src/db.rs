//! One query layer over PostgreSQL and SQLite.
//!
//! sqlx's `AnyPool` cannot carry uuid, chrono or JSON values (see docs/adr/0001-storage.md),
//! so we keep two typed pools behind one enum. Query code is written once with `$n`
//! placeholders (both engines accept them) and a list of [`Arg`]s; each call is expanded for
//! the engine at hand, so both sides decode native types.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use uuid::Uuid;

use crate::audit::AuditKeys;
use crate::bus::Bus;
use crate::error::ServiceError;

/// Which engine a [`Db`] talks to; shown in the status bar and in `config show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A bound query parameter. Nullable variants carry `Option`s so that a NULL keeps its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Uuid(Option<Uuid>),
    Int(Option<i64>),
    /// REAL on SQLite, double precision on PostgreSQL (load averages).
    Float(Option<f64>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
    Json(Option<Value>),
    /// BLOB on SQLite, bytea on PostgreSQL (encrypted `*_enc` columns).
    Bytes(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($t:ty, $variant:ident, $conv:expr) => {
        impl From<$t> for Arg {
            fn from(v: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(Some(($conv)(v)))
            }
        }
        impl From<Option<$t>> for Arg {
            fn from(v: Option<$t>) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Arg::$variant(v.map($conv))
            }
        }
    };
}
arg_from!(String, Text, |v| v);
arg_from!(&str, Text, |v: &str| v.to_owned());
arg_from!(&String, Text, |v: &String| v.clone());
arg_from!(Uuid, Uuid, |v| v);
arg_from!(i64, Int, |v| v);
arg_from!(f64, Float, |v| v);
arg_from!(DateTime<Utc>, Time, |v| v);
arg_from!(Value, Json, |v| v);
arg_from!(Vec<u8>, Bytes, |v| v);

impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// `args![a, b, c]` builds the parameter list of a query.
#[macro_export]
macro_rules! args {
    () => { Vec::<$crate::db::Arg>::new() };
    ($($x:expr),+ $(,)?) => { vec![$($crate::db::Arg::from($x)),+] };
}

/// A row type that decodes on both engines.
pub trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

// Binding is the same code for both engines; the macro expands it per query type.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(v) => q.bind(v),
                Arg::Uuid(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::Float(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
                Arg::Json(v) => q.bind(v.map(Json)),
                Arg::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}

// Expands one body for each engine with `$c` bound to that engine's executor.
macro_rules! on_engine {
    ($pool:expr, $c:ident => $body:expr) => {
        match $pool {
            Pool::Sqlite($c) => $body,
            Pool::Postgres($c) => $body,
        }
    };
}

macro_rules! on_engine_tx {
    ($inner:expr, $c:ident => $body:expr) => {
        match $inner {
            TxInner::Sqlite($c) => $body,
            TxInner::Postgres($c) => $body,
        }
    };
}

/// A pool of connections to the configured database, and the signal bus (Redis) when one
/// is configured: changes that others should hear about publish after they commit.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    bus: Option<Bus>,
    /// The audit chain's keys (derived from the registered master key) and checkpoint file;
    /// without them appends are refused once the deployment is keyed (docs/adr/0013).
    audit: Option<Arc<AuditKeys>>,
    /// The tenant this handle is confined to on PostgreSQL's row-level security
    /// (docs/adr/0009); `None` = platform-wide.
    scope: Option<Uuid>,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One open transaction. SQLite ones start with `BEGIN IMMEDIATE` so that two writers wait
/// for each other instead of failing with "database is locked" (measured in STACK.md).
/// Messages queued with [`Tx::after_commit`] are published only once the commit succeeds.
pub struct Tx {
    inner: TxInner,
    bus: Option<Bus>,
    audit: Option<Arc<AuditKeys>>,
    after_commit: Vec<(&'static str, String)>,
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The SQLite file holds password hashes, the audit log and customer data: it is created
/// 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` files the database file's
/// mode), and an existing file readable by others is narrowed to 0600 with its companions.
fn private_sqlite_file(path: &std::path::Path) -> Result<(), ServiceError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let name = path.to_string_lossy();
        if name.is_empty() || name == ":memory:" {
            return Ok(());
        }
        let denied = |e: std::io::Error| ServiceError::Unavailable(format!("cannot open SQLite database {name}: {e}"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // A missing parent directory: let SQLite report it as it would.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(denied(e)),
        }
        for suffix in ["", "-wal", "-shm"] {
            let p = std::path::PathBuf::from(format!("{name}{suffix}"));
            let Ok(meta) = std::fs::metadata(&p) else { continue };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(denied)?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

impl Db {
    /// Connects by URL scheme: `sqlite://path` (created when missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db, ServiceError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                // sqlx pings every connection it hands out: a round trip before each claim,
                // completion write and transaction (docs/adr/0004, "Round trips"). A
                // connection used moments ago is alive (sqlx also pings on release); one idle
                // for a while may have been cut by a server restart, so that one is pinged.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for < PING_IDLE_AFTER {
                            return Ok(true);
                        }
                        Ok(sqlx::Connection::ping(conn).await.is_ok())
                    })
                })
                .connect(url)
                .await
                .map_err(|e| ServiceError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
            Ok(Db {
                pool: Pool::Postgres(pool),
                bus: None,
                audit: None,
                scope: None,
            })
        } else if url.starts_with("sqlite:") {
            // WAL, busy timeout and foreign keys are per-connection settings: the URL alone
            // cannot set them all, so they go on the connect options.
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| ServiceError::invalid("database_url", format!("bad SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // 32 MiB of page cache per connection (the default is 2 MiB): list filters
                // that look rows up by the trigram index's matches (docs/adr/0003) are several
                // times faster when the side tables stay in the process's own cache.
                .pragma("cache_size", "-32768");
            private_sqlite_file(opts.get_filename())?;
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await
                .map_err(|e| ServiceError::Unavailable(format!("cannot open SQLite database: {e}")))?;
            Ok(Db {
                pool: Pool::Sqlite(pool),
                bus: None,
                audit: None,
                scope: None,
            })
        } else {
            Err(ServiceError::invalid(
                "database_url",
                "must start with sqlite:// or postgres://",
            ))
        }
    }

    /// The same pool, keying audit appends (and checkpoints) with `keys` from now on.
    pub fn with_audit_keys(mut self, keys: Option<AuditKeys>) -> Db {
        self.audit = keys.map(Arc::new);
        self
    }

    pub fn audit_keys(&self) -> Option<&AuditKeys> {
        self.audit.as_deref()
    }

    /// The same pool, publishing through `bus` from now on.
    pub fn with_bus(mut self, bus: Option<Bus>) -> Db {
        self.bus = bus;
        self
    }

    /// The same pool confined to `tenant` (the actor's tenant, `None` for platform staff):
    /// on PostgreSQL every transaction of this handle sets `painel.tenant_id`, and queries
    /// outside a transaction run in one, so row-level security holds even where a query
    /// forgot its tenant filter. SQLite has no row-level security; the service layer's
    /// scoping is all there is.
    pub fn scoped(&self, tenant: Option<Uuid>) -> Db {
        Db {
            scope: tenant,
            ..self.clone()
        }
    }

    pub fn scope(&self) -> Option<Uuid> {
        self.scope
    }

    /// Whether pool-level queries must run in a transaction to carry the scope.
    fn scoped_pg(&self) -> bool {
        self.scope.is_some() && matches!(self.pool, Pool::Postgres(_))
    }

    pub fn bus(&self) -> Option<&Bus> {
        self.bus.as_ref()
    }

    /// Publishes now (for changes already committed, or made outside a transaction).
    pub fn publish(&self, channel: &str, payload: String) {
        if let Some(bus) = &self.bus {
            bus.publish(channel, payload);
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this engine; returns how many were new.
    pub async fn migrate(&self) -> Result<usize, ServiceError> {
        let before = self.applied_migrations().await.unwrap_or(0);
        // Up to date: nothing to run. The application role on PostgreSQL may not create or
        // lock anything in the schema (docs/adr/0009), so it must not reach the migrator.
        let embedded = match &self.pool {
            Pool::Sqlite(_) => SQLITE_MIGRATOR.iter().count(),
            Pool::Postgres(_) => POSTGRES_MIGRATOR.iter().count(),
        };
        if before == embedded && self.applied_versions_match().await.unwrap_or(false) {
            return Ok(0);
        }
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        let after = self.applied_migrations().await?;
        Ok(after.saturating_sub(before))
    }

    /// Whether the applied migrations are exactly the embedded ones, checksums included.
    async fn applied_versions_match(&self) -> Result<bool, ServiceError> {
        let applied: Vec<(i64, Vec<u8>)> = self
            .fetch_all(
                "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
                args![],
            )
            .await?;
        let migrator = match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATOR,
            Pool::Postgres(_) => &POSTGRES_MIGRATOR,
        };
        let embedded: Vec<(i64, &[u8])> = migrator.iter().map(|m| (m.version, m.checksum.as_ref())).collect();
        Ok(applied.len() == embedded.len()
            && applied
                .iter()
                .zip(&embedded)
                .all(|(a, e)| a.0 == e.0 && a.1.as_slice() == e.1))
    }

    async fn applied_migrations(&self) -> Result<usize, ServiceError> {
        let n: i64 = self
            .scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success", args![])
            .await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub async fn begin(&self) -> Result<Tx, ServiceError> {
        let inner = match &self.pool {
            Pool::Sqlite(p) => TxInner::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        let mut tx = Tx {
            inner,
            bus: self.bus.clone(),
            audit: self.audit.clone(),
            after_commit: Vec::new(),
        };
        if let (Some(t), TxInner::Postgres(_)) = (self.scope, &tx.inner) {
            // Transaction-local (`true`): a pooled connection never carries it to the next user.
            tx.execute("SELECT set_config('painel.tenant_id', $1, true)", args![t.to_string()])
                .await?;
        }
        Ok(tx)
    }

    pub async fn close(&self) {
        on_engine!(&self.pool, p => p.close().await)
    }

    pub async fn fetch_all<T: Record>(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, ServiceError> {
        if self.scoped_pg() {
            let mut tx = self.begin().await?;
            let rows = tx.fetch_all(sql, args).await?;
            tx.commit().await?;
            return Ok(rows);
        }
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(on_engine!(&self.pool, p => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all(p).await?))
    }

    /// [`Db::fetch_all`] as an unnamed statement, which PostgreSQL plans with these values
    /// on every run instead of settling on a generic plan after five: for queries whose
    /// best plan depends on the values (a range that may hold ten rows or most of a table).
    /// Costs a parse and a plan per run; SQLite plans every statement with its values anyway.
    pub async fn fetch_all_planned<T: Record>(&self, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, ServiceError> {
        if self.scoped_pg() {
            let mut tx = self.begin().await?;
            tx.execute("SET LOCAL plan_cache_mode = force_custom_plan", args![])
                .await?;
            let rows = tx.fetch_all(sql, args).await?;
            tx.commit().await?;
            return Ok(rows);
        }
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(
            on_engine!(&self.pool, p => bind_all!(sqlx::query_as::<_, T>(sql), args).persistent(false).fetch_all(p).await?),
        )
    }

    pub async fn fetch_optional<T: Record>(&self, sql: &str, args: Vec<Arg>) -> Result<Option<T>, ServiceError> {
        if self.scoped_pg() {
            let mut tx = self.begin().await?;
            let row = tx.fetch_optional(sql, args).await?;
            tx.commit().await?;
            return Ok(row);
        }
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(on_engine!(&self.pool, p => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(p).await?))
    }

    /// First column of the first row, e.g. a `COUNT(*)`.
    pub async fn scalar<T>(&self, sql: &str, args: Vec<Arg>) -> Result<T, ServiceError>
    where
        (T,): Record,
    {
        if self.scoped_pg() {
            let mut tx = self.begin().await?;
            let v = tx.scalar(sql, args).await?;
            tx.commit().await?;
            return Ok(v);
        }
        let sql = AssertSqlSafe(sql.to_owned());
        let row: (T,) =
            on_engine!(&self.pool, p => bind_all!(sqlx::query_as::<_, (T,)>(sql), args).fetch_one(p).await?);
        Ok(row.0)
    }

    pub async fn execute(&self, sql: &str, args: Vec<Arg>) -> Result<u64, ServiceError> {
        if self.scoped_pg() {
            let mut tx = self.begin().await?;
            let n = tx.execute(sql, args).await?;
            tx.commit().await?;
            return Ok(n);
        }
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(on_engine!(&self.pool, p => bind_all!(sqlx::query(sql), args).execute(p).await?.rows_affected()))
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Publishes `payload` on `channel` once this transaction commits; dropped on rollback.
    /// Without a bus this does nothing.
    pub fn after_commit(&mut self, channel: &'static str, payload: String) {
        if self.bus.is_some() {
            self.after_commit.push((channel, payload));
        }
    }

    /// Like [`Tx::after_commit`], unless the same message is already waiting (a wake-up per
    /// queue is enough however many jobs the transaction adds).
    pub fn after_commit_once(&mut self, channel: &'static str, payload: &str) {
        if self.bus.is_some() && !self.after_commit.iter().any(|(c, p)| *c == channel && p == payload) {
            self.after_commit.push((channel, payload.to_owned()));
        }
    }

    /// Whether messages queued with [`Tx::after_commit`] go anywhere.
    pub fn audit_keys(&self) -> Option<&AuditKeys> {
        self.audit.as_deref()
    }

    /// Keys this transaction's audit appends with (`keys init` writes the first keyed row
    /// with the key it has just registered).
    pub fn set_audit_keys(&mut self, keys: Option<AuditKeys>) {
        self.audit = keys.map(Arc::new);
    }

    pub fn has_bus(&self) -> bool {
        self.bus.is_some()
    }

    pub async fn commit(self) -> Result<(), ServiceError> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        if let Some(bus) = &self.bus {
            for (channel, payload) in self.after_commit {
                bus.publish(channel, payload);
            }
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), ServiceError> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    pub async fn fetch_all<T: Record>(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, ServiceError> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(on_engine_tx!(&mut self.inner, t => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_all(&mut **t).await?))
    }

    pub async fn fetch_optional<T: Record>(&mut self, sql: &str, args: Vec<Arg>) -> Result<Option<T>, ServiceError> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(
            on_engine_tx!(&mut self.inner, t => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_optional(&mut **t).await?),
        )
    }

    pub async fn fetch_one<T: Record>(&mut self, sql: &str, args: Vec<Arg>) -> Result<T, ServiceError> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(on_engine_tx!(&mut self.inner, t => bind_all!(sqlx::query_as::<_, T>(sql), args).fetch_one(&mut **t).await?))
    }

    pub async fn scalar<T>(&mut self, sql: &str, args: Vec<Arg>) -> Result<T, ServiceError>
    where
        (T,): Record,
    {
        let row: (T,) = self.fetch_one(sql, args).await?;
        Ok(row.0)
    }

    pub async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, ServiceError> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(
            on_engine_tx!(&mut self.inner, t => bind_all!(sqlx::query(sql), args).execute(&mut **t).await?.rows_affected()),
        )
    }
}

/// Current time at the precision both engines keep (PostgreSQL stores microseconds), so a
/// value read back compares equal to the one written.
pub fn now() -> DateTime<Utc> {
    use chrono::Timelike;
    let t = Utc::now();
    t.with_nanosecond(t.timestamp_subsec_micros() * 1000).unwrap_or(t)
}

/// How to read one column of a [`Db::fetch_cells`] query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    Int,
    Time,
    Id,
    Bool,
    /// Consumes two columns: the amount in minor units, then the currency code.
    Money,
}

/// A value read for display; screens and batch output render it, never re-query.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
    Id(Uuid),
    Bool(bool),
    Money { minor: i64, currency: String },
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("—"),
            Cell::Text(s) => f.write_str(s),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Time(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M")),
            Cell::Id(u) => write!(f, "{u}"),
            Cell::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
            Cell::Money { minor, currency } => f.write_str(&crate::money::format(*minor, currency)),
        }
    }
}

fn decode_cells<R>(row: &R, kinds: &[CellKind]) -> Result<Vec<Cell>, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<DateTime<Utc>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Uuid>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut out = Vec::with_capacity(kinds.len());
    let mut i = 0usize;
    for kind in kinds {
        let cell = match kind {
            CellKind::Text => row.try_get::<Option<String>, _>(i)?.map(Cell::Text),
            CellKind::Int => row.try_get::<Option<i64>, _>(i)?.map(Cell::Int),
            CellKind::Time => row.try_get::<Option<DateTime<Utc>>, _>(i)?.map(Cell::Time),
            CellKind::Id => row.try_get::<Option<Uuid>, _>(i)?.map(Cell::Id),
            CellKind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Cell::Bool),
            CellKind::Money => {
                i += 1;
                let minor = row.try_get::<Option<i64>, _>(i - 1)?;
                let currency = row.try_get::<Option<String>, _>(i)?.unwrap_or_default();
                minor.map(|minor| Cell::Money { minor, currency })
            }
        };
        out.push(cell.unwrap_or(Cell::Null));
        i += 1;
    }
    Ok(out)
}

impl Db {
    /// Runs a query whose columns are read as `kinds` say: the engine-neutral way to show a
    /// table whose shape is data (the browse screens), without a struct per table.
    pub async fn fetch_cells(
        &self,
        sql: &str,
        args: Vec<Arg>,
        kinds: &[CellKind],
    ) -> Result<Vec<Vec<Cell>>, ServiceError> {
        let sql = AssertSqlSafe(sql.to_owned());
        if self.scoped_pg() {
            let mut tx = self.begin().await?;
            let TxInner::Postgres(t) = &mut tx.inner else {
                return Err(ServiceError::Database("scoped handle is not PostgreSQL".into()));
            };
            let rows = bind_all!(sqlx::query(sql), args).fetch_all(&mut **t).await?;
            let cells = rows
                .iter()
                .map(|r| decode_cells(r, kinds))
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().await?;
            return Ok(cells);
        }
        let rows = on_engine!(&self.pool, p => {
            let rows = bind_all!(sqlx::query(sql), args).fetch_all(p).await?;
            rows.iter().map(|r| decode_cells(r, kinds)).collect::<Result<Vec<_>, _>>()?
        });
        Ok(rows)
    }
}

/// Where a database URL points, for a status bar or a list: the file of a SQLite URL
/// (`sqlite /path/painel.sqlite`), `host:port/db` of a PostgreSQL one (`postgres
/// db.example:5432/painel`). Never the user or password; query strings are left out.
pub fn describe_url(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(unrecognised database URL)".to_owned();
    };
    let rest = rest.split('?').next().unwrap_or(rest);
    match scheme {
        "sqlite" => format!("sqlite {}", if rest.is_empty() { "(memory)" } else { rest }),
        "postgres" | "postgresql" => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!("postgres {host}")
        }
        other => format!("{other} (unrecognised)"),
    }
}

#[cfg(test)]
mod describe_tests {
    use super::describe_url;

    #[test]
    fn descriptions_never_carry_credentials() {
        assert_eq!(
            describe_url("sqlite:///var/lib/painel/p.sqlite?mode=rwc"),
            "sqlite /var/lib/painel/p.sqlite"
        );
        assert_eq!(
            describe_url("postgres://app:s3cr3t@db:5432/painel"),
            "postgres db:5432/painel"
        );
        assert_eq!(
            describe_url("postgresql://app@db/painel?sslmode=require"),
            "postgres db/painel"
        );
        assert!(!describe_url("postgres://u:p%40ss@h/d").contains("p%40ss"));
    }
}
