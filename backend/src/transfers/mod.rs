//! Account migrations from another cPanel server through the WHM Transfer Tool
//! (docs/adr/0030; wire format in whm.md § Transfer Tool). `service` creates, aborts and
//! retries migrations (permission, tenant scope, validation, audit, one transaction, a step
//! job enqueued in it); `run` is that job — validate → create the WHM session → enqueue the
//! accounts → start → monitor (state + session log) → finish (services re-pointed, DNS) —
//! with the credentials wiped whenever the migration ends; `log` reads WHM's session log
//! into per-stage lines and progress; `alert` is what a critical failure leaves for on-call.
//! Reads live here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::Db;
use crate::error::ServiceError;
use crate::ids::Target;
use crate::jobs::Handlers;
use crate::reseller::Reach;
use crate::secrets::Keys;

mod alert;
pub mod log;
mod run;
mod service;

pub use log::{classify, Level, LogLine};
pub use run::{register_handlers, TransfersEnv, STEP};
pub use service::{abort, create, retry, Credentials, NewMigration};

/// Published (migration id) after every committed change of a migration: live screens reload.
pub const CHANNEL: &str = "painel:migrations";
/// Follows [`CHANNEL`] (docs/adr/0008): `None` when this process has no bus (then screens
/// poll). A message carries only a migration id, a signal to read again through the scoped
/// reads, never data.
pub fn subscribe(db: &Db) -> Option<tokio::sync::mpsc::Receiver<crate::bus::BusMessage>> {
    db.bus().map(|b| b.subscribe(&[CHANNEL]))
}

/// The queue migration jobs run on.
pub const QUEUE: &str = "transfers";
/// The job kinds of this module (the jobs admin lists and accepts them).
pub const KINDS: [&str; 1] = [STEP];
/// The AAD context of the sealed credentials (`table.column`).
pub const CREDENTIALS_CONTEXT: &str = "migrations.credentials_enc";
/// The stages a migration's logs and progress are kept per, in order.
pub const STAGES: [&str; 8] = [
    "credentials",
    "session",
    "email",
    "databases",
    "files",
    "dns",
    "ssl",
    "finish",
];
/// The stages WHM's transfer goes through per account.
pub const TRANSFER_STAGES: [&str; 5] = ["email", "databases", "files", "dns", "ssl"];
pub const STATUSES: [&str; 6] = ["queued", "validating", "running", "success", "failed", "aborted"];

pub const IDS: Target = Target {
    what: "migration",
    from: "migrations x",
    id_col: "x.id",
    tenant_col: Some("x.tenant_id"),
    reach: Reach::Owned {
        reseller: None,
        customer: Some("x.customer_id"),
    },
};

pub(crate) const COLUMNS: &str = "x.id, x.tenant_id, t.slug AS tenant_slug, x.customer_id, x.source_host, \
    x.source_user, x.auth_kind, x.accounts, x.target_server_id, COALESCE(s.name, '') AS server_name, x.status, x.stage, x.progress, \
    x.stage_progress, x.error, x.transfer_session_id, x.step, x.attempts, x.abort_requested, \
    (x.credentials_enc IS NOT NULL) AS credentials_held, x.incident_id, x.started_at, x.finished_at, x.created_at, \
    x.updated_at";
pub(crate) const FROM: &str =
    "migrations x JOIN tenants t ON t.id = x.tenant_id JOIN servers s ON s.id = x.target_server_id";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Migration {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub customer_id: Option<Uuid>,
    pub source_host: String,
    pub source_user: String,
    /// `root` (remote root session) or `user` (the account's own password).
    pub auth_kind: String,
    /// JSON array of the cPanel usernames moved.
    #[serde(skip)]
    pub accounts: String,
    pub target_server_id: Uuid,
    pub server_name: String,
    pub status: String,
    pub stage: Option<String>,
    pub progress: i64,
    #[serde(skip)]
    pub stage_progress: String,
    pub error: Option<String>,
    pub transfer_session_id: Option<String>,
    pub step: String,
    pub attempts: i64,
    pub abort_requested: bool,
    /// Whether the sealed credentials are still stored (only while the migration lives).
    pub credentials_held: bool,
    pub incident_id: Option<Uuid>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Migration {
    pub fn account_list(&self) -> Vec<String> {
        serde_json::from_str(&self.accounts).unwrap_or_default()
    }

    /// Percent done per transfer stage, in order (e-mail … SSL), 0 when not begun.
    pub fn stages(&self) -> Vec<(&'static str, i64)> {
        let stored: BTreeMap<String, i64> = serde_json::from_str(&self.stage_progress).unwrap_or_default();
        // Rows from before per-stage progress was kept: a success was every stage done.
        let legacy = if stored.is_empty() && self.status == "success" {
            100
        } else {
            0
        };
        TRANSFER_STAGES
            .iter()
            .map(|s| (*s, stored.get(*s).copied().unwrap_or(legacy).clamp(0, 100)))
            .collect()
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "success" | "failed" | "aborted")
    }

    /// The last 8 hex digits, as screens show ids.
    pub fn short_id(&self) -> String {
        let s = self.id.simple().to_string();
        s[s.len() - 8..].to_owned()
    }
}

/// A migration as the JSON outputs show it: the row plus its accounts and stage progress.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationView {
    #[serde(flatten)]
    pub migration: Migration,
    pub accounts: Vec<String>,
    pub stages: Vec<StageProgress>,
}

/// One stage's progress, as the JSON outputs list them (in stage order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageProgress {
    pub stage: &'static str,
    pub percent: i64,
}

impl From<Migration> for MigrationView {
    fn from(m: Migration) -> MigrationView {
        MigrationView {
            accounts: m.account_list(),
            stages: m
                .stages()
                .into_iter()
                .map(|(stage, percent)| StageProgress { stage, percent })
                .collect(),
            migration: m,
        }
    }
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    /// Only migrations not finished (queued, validating, running).
    pub active: bool,
    pub limit: Option<i64>,
}

fn scope(actor: &Actor) -> Option<Uuid> {
    actor.tenant_id
}

/// Migrations the actor may read, newest first (`migrations:read`, tenant-scoped).
pub async fn list(db: &Db, actor: &Actor, f: &ListFilter) -> Result<Vec<Migration>, ServiceError> {
    require(actor, Permission::MigrationsRead)?;
    if let Some(s) = &f.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ServiceError::invalid(
                "status",
                format!("one of {}", STATUSES.join(", ")),
            ));
        }
    }
    let limit = f.limit.unwrap_or(200).clamp(1, 1000);
    let active = if f.active {
        " AND x.status IN ('queued', 'validating', 'running')"
    } else {
        ""
    };
    db.fetch_all(
        &format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE ($1 IS NULL OR x.tenant_id = $1) AND ($2 IS NULL OR x.status = $2){active} \
             ORDER BY x.created_at DESC, x.id DESC LIMIT $3"
        ),
        args![scope(actor), f.status.clone(), limit],
    )
    .await
}

/// One migration by id, unique prefix or the last 8 hex digits.
pub async fn get(db: &Db, actor: &Actor, key: &str) -> Result<Migration, ServiceError> {
    require(actor, Permission::MigrationsRead)?;
    let id = crate::ids::expand(db, actor, &IDS, key).await?;
    let uuid = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::not_found("migration", key))?;
    db.fetch_optional(
        &format!("SELECT {COLUMNS} FROM {FROM} WHERE x.id = $1 AND ($2 IS NULL OR x.tenant_id = $2)"),
        args![uuid, scope(actor)],
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("migration", key))
}

/// A migration's log lines after `after` (a line's `seq`), oldest first, optionally of one
/// stage: what `tail -f` needs.
pub async fn logs(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    stage: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<LogLine>, ServiceError> {
    require(actor, Permission::MigrationsRead)?;
    if let Some(s) = stage {
        if !STAGES.contains(&s) {
            return Err(ServiceError::invalid("stage", format!("one of {}", STAGES.join(", "))));
        }
    }
    // The scope check: the migration must be the actor's to read.
    let visible: Option<(Uuid,)> = db
        .fetch_optional(
            "SELECT id FROM migrations WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2)",
            args![id, scope(actor)],
        )
        .await?;
    if visible.is_none() {
        return Err(ServiceError::not_found("migration", id.to_string()));
    }
    let mut rows: Vec<LogLine> = db
        .fetch_all(
            "SELECT id, stage, level, message, at FROM migration_logs WHERE migration_id = $1 \
             AND ($2 IS NULL OR stage = $2) ORDER BY at, id",
            args![id, stage.map(str::to_owned)],
        )
        .await?;
    for (i, r) in rows.iter_mut().enumerate() {
        r.seq = i as i64 + 1;
    }
    let after = after.unwrap_or(0);
    let limit = usize::try_from(limit.clamp(1, 100_000)).unwrap_or(1000);
    let tail: Vec<LogLine> = rows.into_iter().filter(|r| r.seq > after).collect();
    let skip = tail.len().saturating_sub(limit);
    Ok(tail.into_iter().skip(skip).collect())
}

/// Failed migrations, newest first: the migrations' failure feed.
pub async fn failures(db: &Db, actor: &Actor, limit: i64) -> Result<Vec<Migration>, ServiceError> {
    list(
        db,
        actor,
        &ListFilter {
            status: Some("failed".into()),
            active: false,
            limit: Some(limit),
        },
    )
    .await
}

/// What the worker needs to run migrations.
pub fn register(h: &mut Handlers, keys: Option<Keys>) {
    register_handlers(h, TransfersEnv::new(keys));
}
