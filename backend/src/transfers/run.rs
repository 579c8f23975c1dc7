//! The step job `migration.step` (payload: migration id + `tick`). Each run reads the row and
//! does what its `step` says, looking before acting so that a run cut short and claimed
//! again never repeats a call WHM would do twice: the session id is stored the moment WHM
//! returns it (a resumed run with one never creates another), items are counted as they are
//! enqueued, `start` is sent only to a `PENDING` session, and the session log is read from
//! the offset already stored. While WHM works the job re-enqueues itself `poll` later; the
//! row's `tick` fences it (a run whose tick is stale — an abort or retry came — does
//! nothing), and each re-enqueue moves the tick on by compare-and-set.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::log::{self, Level};
use super::{alert, CHANNEL, CREDENTIALS_CONTEXT, QUEUE};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::hosting::connect;
use crate::jobs::{enqueue, Handlers, Job, JobError, NewJob};
use crate::providers::whm::{
    NewTransferSession, Secret, SessionState, TransferAuth, TransferItem, WhmClient, WhmError, MASTER_ERROR_LOG,
    MASTER_LOG,
};
use crate::secrets::Keys;

pub const STEP: &str = "migration.step";
/// Sessions one migration gets for temporary failures before it is failed.
pub const MAX_SESSIONS: i64 = 3;

/// How often a running session is looked at. WHM suggests 10–30 s for a whole account;
/// the session log is also our progress bar, so a little more often.
pub const DEFAULT_POLL: Duration = Duration::from_secs(3);

/// What the step job needs: the secrets keys (server tokens, the credentials) and how often
/// a running session is polled.
#[derive(Clone)]
pub struct TransfersEnv {
    pub keys: Option<Keys>,
    pub poll: Duration,
}

impl TransfersEnv {
    pub fn new(keys: Option<Keys>) -> TransfersEnv {
        TransfersEnv {
            keys,
            poll: DEFAULT_POLL,
        }
    }

    pub fn with_poll(mut self, poll: Duration) -> TransfersEnv {
        self.poll = poll;
        self
    }
}

pub fn register_handlers(h: &mut Handlers, env: TransfersEnv) {
    h.register(STEP, move |job, db| step(job, db, env.clone()));
}

/// Enqueues the step job of migration `id` at `tick` (unique per tick).
pub(crate) async fn enqueue_step(
    tx: &mut Tx,
    by: &str,
    tenant: Uuid,
    id: Uuid,
    tick: i64,
    run_at: Option<DateTime<Utc>>,
) -> Result<Job, ServiceError> {
    let job = enqueue(
        tx,
        NewJob {
            queue: QUEUE.into(),
            kind: STEP.into(),
            payload: json!({"migration_id": id, "tick": tick}),
            run_at,
            max_attempts: Some(8),
            unique_key: Some(format!("migration:{id}:{tick}")),
            tenant_id: Some(tenant),
            enqueued_by: by.to_owned(),
        },
    )
    .await?;
    Ok(job)
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Uuid,
    source_host: String,
    source_user: String,
    auth_kind: String,
    accounts: String,
    ssh_port: Option<i64>,
    credentials_enc: Option<Vec<u8>>,
    target_server_id: Uuid,
    server_name: String,
    status: String,
    transfer_session_id: Option<String>,
    step: String,
    enqueued: i64,
    log_seen: i64,
    attempts: i64,
    tick: i64,
    abort_requested: bool,
    /// Set just before a session is asked for, cleared when its id is stored.
    session_requested_at: Option<DateTime<Utc>>,
}

impl Row {
    fn accounts(&self) -> Vec<String> {
        serde_json::from_str(&self.accounts).unwrap_or_default()
    }
}

/// Read platform-wide: the target is usually a shared server, which a tenant's job cannot see
/// under row-level security (like `hosting::provision`).
async fn load(db: &Db, id: Uuid) -> Result<Option<Row>, ServiceError> {
    db.scoped(None)
        .fetch_optional(
            "SELECT x.id, x.tenant_id, x.source_host, x.source_user, x.auth_kind, x.accounts, x.ssh_port, \
         x.credentials_enc, x.target_server_id, s.name AS server_name, x.status, x.transfer_session_id, x.step, \
         x.enqueued, x.log_seen, x.attempts, x.tick, x.abort_requested, x.session_requested_at \
         FROM migrations x JOIN servers s ON s.id = x.target_server_id WHERE x.id = $1",
            args![id],
        )
        .await
}

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// How a step ended.
enum Next {
    /// Go on with the row's next step in this run.
    Continue,
    /// Look again after the poll interval.
    Poll,
    /// The migration ended (or there is nothing to do).
    Stop,
}

struct Ctx<'a> {
    db: &'a Db,
    actor: Actor,
    env: &'a TransfersEnv,
}

async fn step(job: Job, db: Db, env: TransfersEnv) -> Result<(), JobError> {
    let id = job
        .payload
        .get("migration_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.migration_id must be a migration's id".into()))?;
    let tick = job.payload.get("tick").and_then(serde_json::Value::as_i64).unwrap_or(0);
    let cx = Ctx {
        db: &db,
        actor: job.actor(),
        env: &env,
    };
    let last_attempt = job.attempts >= job.max_attempts;
    loop {
        let Some(row) = load(&db, id).await.map_err(transient)? else {
            return Ok(());
        };
        if row.tick != tick || row.step == "done" {
            return Ok(());
        }
        match run_one(&cx, &row).await {
            Ok(Next::Continue) => continue,
            Ok(Next::Stop) => return Ok(()),
            Ok(Next::Poll) => return reschedule(&cx, &row).await.map_err(transient),
            Err(StepError::Job(e)) => return Err(e),
            Err(StepError::Whm(e)) if e.is_transient() && !last_attempt => {
                note(&cx, &row, stage_of(&row), Level::Warn, &format!("{e}; trying again")).await;
                return Err(JobError::Transient(e.to_string()));
            }
            Err(StepError::Whm(e)) => {
                let critical = row.step == "monitor" || row.step == "finish";
                fail(&cx, &row, stage_of(&row), &e.to_string(), critical)
                    .await
                    .map_err(transient)?;
                return Ok(());
            }
        }
    }
}

enum StepError {
    Whm(WhmError),
    Job(JobError),
}

impl From<WhmError> for StepError {
    fn from(e: WhmError) -> StepError {
        StepError::Whm(e)
    }
}

impl From<ServiceError> for StepError {
    fn from(e: ServiceError) -> StepError {
        StepError::Job(transient(e))
    }
}

fn stage_of(row: &Row) -> &'static str {
    match row.step.as_str() {
        "validate" => "credentials",
        "create" => "credentials",
        "enqueue" | "start" => "session",
        "finish" => "finish",
        _ => "session",
    }
}

async fn client(cx: &Ctx<'_>, row: &Row) -> Result<WhmClient, StepError> {
    let keys = cx.env.keys.as_ref().ok_or_else(|| {
        StepError::Job(JobError::Permanent(
            "no master key loaded: cannot open server tokens".into(),
        ))
    })?;
    connect::whm_client(&cx.db.scoped(None), keys, row.target_server_id)
        .await
        .map_err(|e| StepError::Job(JobError::Permanent(e.to_string())))
}

fn credentials(cx: &Ctx<'_>, row: &Row) -> Result<TransferAuth, String> {
    let sealed = row
        .credentials_enc
        .as_ref()
        .ok_or("the credentials were wiped; retry the migration with the password")?;
    let keys = cx.env.keys.as_ref().ok_or("no master key loaded")?;
    let password = keys
        .decrypt_str(CREDENTIALS_CONTEXT, row.id, sealed)
        .map_err(|e| format!("cannot open the credentials: {e}"))?;
    let (user, password) = (row.source_user.clone(), Secret::new(password));
    Ok(if row.auth_kind == "user" {
        TransferAuth::User { user, password }
    } else {
        TransferAuth::Root { user, password }
    })
}

async fn run_one(cx: &Ctx<'_>, row: &Row) -> Result<Next, StepError> {
    if row.abort_requested {
        return abort(cx, row).await;
    }
    match row.step.as_str() {
        "validate" => validate(cx, row).await,
        "create" => create_session(cx, row).await,
        "enqueue" => enqueue_items(cx, row).await,
        "start" => start(cx, row).await,
        "monitor" => monitor(cx, row).await,
        "finish" => finish(cx, row).await.map(|()| Next::Stop).map_err(StepError::from),
        _ => Ok(Next::Stop),
    }
}

/// Moves the row to `step` with `set` (extra `col = value` pairs from $3 on), only while the
/// tick is still ours.
async fn advance(cx: &Ctx<'_>, row: &Row, step: &str, status: &str, stage: &str) -> Result<(), ServiceError> {
    let mut tx = cx.db.begin().await?;
    let at = now();
    tx.execute(
        "UPDATE migrations SET step = $2, status = $3, stage = $4, updated_at = $5, \
         started_at = CASE WHEN $3 = 'running' AND started_at IS NULL THEN $5 ELSE started_at END \
         WHERE id = $1 AND tick = $6",
        args![row.id, step, status, stage, at, row.tick],
    )
    .await?;
    if status != row.status {
        audit::record(
            &mut tx,
            &cx.actor,
            Change {
                action: "migration.status",
                entity: "migration",
                entity_id: Some(row.id.to_string()),
                tenant_id: Some(row.tenant_id),
                before: Some(json!({"status": row.status})),
                after: Some(json!({"status": status, "step": step})),
            },
        )
        .await?;
    }
    tx.after_commit(CHANNEL, row.id.to_string());
    tx.commit().await
}

async fn insert_log(tx: &mut Tx, row: &Row, stage: &str, level: Level, message: &str) -> Result<(), ServiceError> {
    let message: String = message.chars().take(2000).collect();
    tx.execute(
        "INSERT INTO migration_logs (id, tenant_id, migration_id, stage, level, message, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![Uuid::now_v7(), row.tenant_id, row.id, stage, level.as_str(), message, now()],
    )
    .await?;
    Ok(())
}

/// A line of our own in the migration's log (best effort: a failure to write it must not
/// hide the error being reported).
async fn note(cx: &Ctx<'_>, row: &Row, stage: &str, level: Level, message: &str) {
    let r = async {
        let mut tx = cx.db.begin().await?;
        insert_log(&mut tx, row, stage, level, message).await?;
        tx.after_commit(CHANNEL, row.id.to_string());
        tx.commit().await
    }
    .await;
    if let Err(e) = r {
        tracing::warn!(migration = %row.id, error = %e, "cannot write a migration log line");
    }
}

async fn validate(cx: &Ctx<'_>, row: &Row) -> Result<Next, StepError> {
    advance(cx, row, "validate", "validating", "credentials").await?;
    if let Err(m) = credentials(cx, row) {
        fail(cx, row, "credentials", &m, false).await?;
        return Ok(Next::Stop);
    }
    let c = client(cx, row).await?;
    let version = c.version().await?;
    note(
        cx,
        row,
        "credentials",
        Level::Info,
        &format!("target {} answers (cPanel & WHM {version})", row.server_name),
    )
    .await;
    // A first run must not land on accounts already there (a retry finds its own).
    if row.attempts == 0 && row.enqueued == 0 {
        for a in row.accounts() {
            if c.account_summary(&a).await?.is_some() {
                fail(
                    cx,
                    row,
                    "credentials",
                    &format!("account {a} already exists on {}", row.server_name),
                    false,
                )
                .await?;
                return Ok(Next::Stop);
            }
        }
    }
    advance_to(cx, row, "create").await?;
    Ok(Next::Continue)
}

async fn advance_to(cx: &Ctx<'_>, row: &Row, step: &str) -> Result<(), ServiceError> {
    let status = match step {
        "create" if row.status != "running" => "validating",
        _ => "running",
    };
    let stage = match step {
        "create" => "credentials",
        "enqueue" | "start" | "monitor" => "session",
        _ => "finish",
    };
    advance(cx, row, step, status, stage).await
}

async fn create_session(cx: &Ctx<'_>, row: &Row) -> Result<Next, StepError> {
    if row.transfer_session_id.is_some() {
        // Stored before: a run cut short after WHM answered; never a second session.
        advance_to(cx, row, "enqueue").await?;
        return Ok(Next::Continue);
    }
    let auth = match credentials(cx, row) {
        Ok(a) => a,
        Err(m) => {
            fail(cx, row, "credentials", &m, false).await?;
            return Ok(Next::Stop);
        }
    };
    let c = client(cx, row).await?;
    intend_session(cx, row).await?;
    let req = NewTransferSession {
        host: row.source_host.clone(),
        ssh_port: row.ssh_port.and_then(|p| u16::try_from(p).ok()),
        auth,
    };
    let created = match c.create_transfer_session(&req).await {
        Ok(s) => s,
        Err(e) if !e.is_transient() => {
            // A refusal created nothing: the intent is done with.
            cx.db
                .execute(
                    "UPDATE migrations SET session_requested_at = NULL WHERE id = $1",
                    args![row.id],
                )
                .await?;
            fail(cx, row, "credentials", &format!("the source refused: {e}"), false).await?;
            return Ok(Next::Stop);
        }
        Err(e) => return Err(e.into()),
    };
    // The id first, whatever else happens: this is what a resumed run looks at.
    let mut tx = cx.db.begin().await?;
    tx.execute(
        "UPDATE migrations SET transfer_session_id = $2, session_requested_at = NULL, step = 'enqueue', \
         status = 'running', stage = 'session', attempts = attempts + 1, enqueued = 0, log_seen = 0, progress = 10, \
         started_at = COALESCE(started_at, $3), updated_at = $3 WHERE id = $1",
        args![row.id, created.transfer_session_id.as_str(), now()],
    )
    .await?;
    insert_log(
        &mut tx,
        row,
        "credentials",
        Level::Info,
        &format!(
            "credentials accepted by {}; transfer session {}",
            row.source_host, created.transfer_session_id
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        &cx.actor,
        Change {
            action: "migration.session",
            entity: "migration",
            entity_id: Some(row.id.to_string()),
            tenant_id: Some(row.tenant_id),
            before: Some(json!({"status": row.status})),
            after: Some(json!({"status": "running", "transfer_session_id": created.transfer_session_id, "attempt": row.attempts + 1})),
        },
    )
    .await?;
    tx.after_commit(CHANNEL, row.id.to_string());
    tx.commit().await?;
    Ok(Next::Continue)
}

/// Records, in its own transaction, that a session is about to be asked for. WHM creates a
/// session at every call and cannot list them, so an answer lost to a crash or a cut
/// connection leaves a session we cannot name: a run that finds an earlier intent without a
/// session id says so — log line (stage `session`, warn), `lost_sessions` + 1, audit
/// `migration.session.lost` with the time it was asked — so the operator can abort it in
/// WHM's Transfer Tool (it stays `PENDING` and never runs: nothing was enqueued in it).
async fn intend_session(cx: &Ctx<'_>, row: &Row) -> Result<(), ServiceError> {
    let at = now();
    let mut tx = cx.db.begin().await?;
    tx.execute(
        "UPDATE migrations SET session_requested_at = $2, \
         lost_sessions = lost_sessions + CASE WHEN session_requested_at IS NULL THEN 0 ELSE 1 END, \
         updated_at = $2 WHERE id = $1 AND tick = $3",
        args![row.id, at, row.tick],
    )
    .await?;
    if let Some(asked) = row.session_requested_at {
        let msg = format!(
            "a transfer session asked of {} at {} never reached us (the answer was lost); if WHM created it, \
             it waits PENDING and empty there — abort it in WHM's Transfer Tool. Asking for a new one.",
            row.server_name,
            asked.format("%Y-%m-%d %H:%M:%S UTC")
        );
        insert_log(&mut tx, row, "session", Level::Warn, &msg).await?;
        audit::record(
            &mut tx,
            &cx.actor,
            Change {
                action: "migration.session.lost",
                entity: "migration",
                entity_id: Some(row.id.to_string()),
                tenant_id: Some(row.tenant_id),
                before: None,
                after: Some(json!({"requested_at": asked, "target": row.server_name})),
            },
        )
        .await?;
        tx.after_commit(CHANNEL, row.id.to_string());
    }
    tx.commit().await
}

async fn enqueue_items(cx: &Ctx<'_>, row: &Row) -> Result<Next, StepError> {
    let Some(session) = row.transfer_session_id.as_deref() else {
        advance_to(cx, row, "create").await?;
        return Ok(Next::Continue);
    };
    let c = client(cx, row).await?;
    let module = if row.auth_kind == "user" {
        "AccountRemoteUser"
    } else {
        "AccountRemoteRoot"
    };
    let accounts = row.accounts();
    let from = usize::try_from(row.enqueued).unwrap_or(0);
    for (i, a) in accounts.iter().enumerate().skip(from) {
        // After a temporary failure some accounts may be there already: not again.
        let there = row.attempts > 1 && c.account_summary(a).await?.is_some();
        if !there {
            let item = TransferItem {
                user: a.clone(),
                localuser: a.clone(),
                size: 1,
            };
            c.enqueue_transfer_item(session, module, &item).await?;
        }
        let mut tx = cx.db.begin().await?;
        tx.execute(
            "UPDATE migrations SET enqueued = $2, updated_at = $3 WHERE id = $1",
            args![row.id, i as i64 + 1, now()],
        )
        .await?;
        let msg = if there {
            format!("{a} is already on {} (an earlier session moved it)", row.server_name)
        } else {
            format!("enqueued account {a} ({module})")
        };
        insert_log(&mut tx, row, "session", Level::Info, &msg).await?;
        tx.commit().await?;
    }
    advance_to(cx, row, "start").await?;
    Ok(Next::Continue)
}

async fn start(cx: &Ctx<'_>, row: &Row) -> Result<Next, StepError> {
    let Some(session) = row.transfer_session_id.as_deref() else {
        advance_to(cx, row, "create").await?;
        return Ok(Next::Continue);
    };
    let c = client(cx, row).await?;
    // Look before act: a run cut short after `start` finds the session already going.
    let state = c.get_transfer_session_state(session).await?;
    if state == SessionState::Pending {
        match c.start_transfer_session(session).await {
            Ok(_) => {}
            Err(e) if !e.is_transient() && !row.accounts().is_empty() => {
                // Every account may have been there already (nothing enqueued): done.
                if c.get_transfer_session_state(session).await? == SessionState::Pending {
                    let all_there = all_on_target(&c, row).await?;
                    if all_there {
                        advance_to(cx, row, "finish").await?;
                        return Ok(Next::Continue);
                    }
                }
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        }
        note(
            cx,
            row,
            "session",
            Level::Info,
            &format!("transfer session {session} started"),
        )
        .await;
    }
    advance_to(cx, row, "monitor").await?;
    Ok(Next::Poll)
}

async fn all_on_target(c: &WhmClient, row: &Row) -> Result<bool, WhmError> {
    for a in row.accounts() {
        if c.account_summary(&a).await?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Stores the session log's new lines and the progress they show; returns the whole log.
async fn read_log(cx: &Ctx<'_>, row: &Row, c: &WhmClient, session: &str) -> Result<String, StepError> {
    let text = c.fetch_transfer_session_log(session, MASTER_LOG).await?;
    let seen = usize::try_from(row.log_seen).unwrap_or(0);
    let (fresh, upto) = log::new_part(&text, seen);
    let stages = log::stage_progress(&text, row.accounts().len());
    let progress = log::overall(&stages);
    let current = log::current_stage(&stages);
    let map: serde_json::Map<String, serde_json::Value> =
        stages.iter().map(|(s, p)| ((*s).to_owned(), json!(p))).collect();
    let mut tx = cx.db.begin().await?;
    let mut stage = "session";
    for line in fresh.lines().filter(|l| !l.trim().is_empty()) {
        let (s, level) = log::classify(line, stage);
        stage = s;
        insert_log(&mut tx, row, s, level, line).await?;
    }
    tx.execute(
        "UPDATE migrations SET log_seen = $2, stage_progress = $3, progress = $4, stage = $5, updated_at = $6 \
         WHERE id = $1 AND tick = $7",
        args![
            row.id,
            upto as i64,
            serde_json::Value::Object(map).to_string(),
            progress,
            current,
            now(),
            row.tick
        ],
    )
    .await?;
    tx.after_commit(CHANNEL, row.id.to_string());
    tx.commit().await?;
    Ok(text)
}

async fn monitor(cx: &Ctx<'_>, row: &Row) -> Result<Next, StepError> {
    let Some(session) = row.transfer_session_id.clone() else {
        advance_to(cx, row, "create").await?;
        return Ok(Next::Continue);
    };
    let c = client(cx, row).await?;
    let state = c.get_transfer_session_state(&session).await?;
    read_log(cx, row, &c, &session).await?;
    match state {
        SessionState::Completed => {
            let errors = c.fetch_transfer_session_log(&session, MASTER_ERROR_LOG).await?;
            if errors.trim().is_empty() {
                advance_to(cx, row, "finish").await?;
                Ok(Next::Continue)
            } else {
                failed_session(cx, row, &errors).await
            }
        }
        SessionState::Failed => {
            let errors = c.fetch_transfer_session_log(&session, MASTER_ERROR_LOG).await?;
            failed_session(cx, row, &errors).await
        }
        SessionState::Aborted => {
            end_aborted(cx, row).await?;
            Ok(Next::Stop)
        }
        _ => Ok(Next::Poll),
    }
}

/// A session ended with errors: a temporary one gets a new session (up to
/// [`MAX_SESSIONS`]), a critical one fails the migration and alerts.
async fn failed_session(cx: &Ctx<'_>, row: &Row, errors: &str) -> Result<Next, StepError> {
    let first = errors
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("the session failed")
        .trim();
    let (stage, _) = log::classify(first, "session");
    if log::is_temporary(errors) && row.attempts < MAX_SESSIONS {
        let mut tx = cx.db.begin().await?;
        tx.execute(
            "UPDATE migrations SET step = 'create', transfer_session_id = NULL, enqueued = 0, log_seen = 0, \
             updated_at = $2 WHERE id = $1 AND tick = $3",
            args![row.id, now(), row.tick],
        )
        .await?;
        insert_log(
            &mut tx,
            row,
            stage,
            Level::Warn,
            &format!(
                "temporary failure ({first}); a new session for the accounts not moved yet (attempt {} of {MAX_SESSIONS})",
                row.attempts + 1
            ),
        )
        .await?;
        tx.after_commit(CHANNEL, row.id.to_string());
        tx.commit().await?;
        return Ok(Next::Continue);
    }
    fail(cx, row, stage, first, true).await?;
    Ok(Next::Stop)
}

/// Ends the migration `failed`: error, audited; `critical` also aborts the session (when one
/// still runs) and opens an incident. The credentials stay sealed so that a retry needs no
/// password; they are wiped when the migration succeeds or is aborted.
async fn fail(cx: &Ctx<'_>, row: &Row, stage: &str, error: &str, critical: bool) -> Result<(), ServiceError> {
    if critical {
        if let Some(session) = &row.transfer_session_id {
            if let Ok(c) = client(cx, row).await {
                if let Ok(state) = c.get_transfer_session_state(session).await {
                    if !state.is_terminal() {
                        let _ = c.abort_transfer_session(session).await;
                    }
                }
            }
        }
    }
    let stage = if super::STAGES.contains(&stage) {
        stage
    } else {
        "session"
    };
    let error: String = error.chars().take(1000).collect();
    let mut tx = cx.db.begin().await?;
    let incident = if critical {
        Some(alert::open_incident(&mut tx, &cx.actor, row.tenant_id, row.id, &row.server_name, &error).await?)
    } else {
        None
    };
    let at = now();
    tx.execute(
        "UPDATE migrations SET status = 'failed', step = 'done', stage = $2, error = $3, \
         incident_id = COALESCE($4, incident_id), finished_at = $5, updated_at = $5 WHERE id = $1",
        args![row.id, stage, error.as_str(), incident, at],
    )
    .await?;
    insert_log(&mut tx, row, stage, Level::Error, &format!("migration failed: {error}")).await?;
    if row.credentials_enc.is_some() {
        insert_log(
            &mut tx,
            row,
            "finish",
            Level::Info,
            "credentials kept sealed for a retry (wiped on success or abort)",
        )
        .await?;
    }
    audit::record(
        &mut tx,
        &cx.actor,
        Change {
            action: "migration.fail",
            entity: "migration",
            entity_id: Some(row.id.to_string()),
            tenant_id: Some(row.tenant_id),
            before: Some(json!({"status": row.status})),
            after: Some(
                json!({"status": "failed", "stage": stage, "error": error, "critical": critical,
                "incident": incident, "credentials": if row.credentials_enc.is_some() { "sealed" } else { "none" }}),
            ),
        },
    )
    .await?;
    tx.after_commit(CHANNEL, row.id.to_string());
    tx.commit().await
}

async fn abort(cx: &Ctx<'_>, row: &Row) -> Result<Next, StepError> {
    if let Some(session) = &row.transfer_session_id {
        let c = client(cx, row).await?;
        let state = c.get_transfer_session_state(session).await?;
        if !state.is_terminal() {
            if state != SessionState::Aborting {
                c.abort_transfer_session(session).await?;
                note(
                    cx,
                    row,
                    "session",
                    Level::Warn,
                    &format!("abort sent to session {session}"),
                )
                .await;
            }
            return Ok(Next::Poll);
        }
        read_log(cx, row, &c, session).await?;
    }
    end_aborted(cx, row).await?;
    Ok(Next::Stop)
}

async fn end_aborted(cx: &Ctx<'_>, row: &Row) -> Result<(), ServiceError> {
    let mut tx = cx.db.begin().await?;
    let at = now();
    tx.execute(
        "UPDATE migrations SET status = 'aborted', step = 'done', credentials_enc = NULL, finished_at = $2, \
         updated_at = $2 WHERE id = $1",
        args![row.id, at],
    )
    .await?;
    insert_log(
        &mut tx,
        row,
        "finish",
        Level::Warn,
        "migration aborted; credentials wiped",
    )
    .await?;
    audit::record(
        &mut tx,
        &cx.actor,
        Change {
            action: "migration.aborted",
            entity: "migration",
            entity_id: Some(row.id.to_string()),
            tenant_id: Some(row.tenant_id),
            before: Some(json!({"status": row.status})),
            after: Some(json!({"status": "aborted", "credentials": "wiped"})),
        },
    )
    .await?;
    tx.after_commit(CHANNEL, row.id.to_string());
    tx.commit().await
}

/// The job kind the DNS module runs to point a hosted zone's records at a new server.
pub const DNS_REPOINT: &str = "dns.zone.repoint";

/// The end: the tenant's services of these accounts point at the target server, the DNS
/// zones we host for them are queued for an update (or noted when no DNS job is in this
/// build), the migration succeeds, the credentials are wiped — one transaction.
async fn finish(cx: &Ctx<'_>, row: &Row) -> Result<(), ServiceError> {
    let accounts = row.accounts();
    let mut tx = cx.db.begin().await?;
    let at = now();
    let mut moved = Vec::new();
    for a in &accounts {
        let services: Vec<(Uuid, Option<Uuid>, Option<String>)> = tx
            .fetch_all(
                "SELECT id, server_id, domain FROM services WHERE tenant_id = $1 AND username = $2 \
                 AND status IN ('active', 'suspended') AND (server_id IS NULL OR server_id <> $3)",
                args![row.tenant_id, a.as_str(), row.target_server_id],
            )
            .await?;
        for (sid, from, domain) in services {
            tx.execute(
                "UPDATE services SET server_id = $2, updated_at = $3 WHERE id = $1",
                args![sid, row.target_server_id, at],
            )
            .await?;
            audit::record(
                &mut tx,
                &cx.actor,
                Change {
                    action: "service.repoint",
                    entity: "service",
                    entity_id: Some(sid.to_string()),
                    tenant_id: Some(row.tenant_id),
                    before: Some(json!({"server_id": from})),
                    after: Some(json!({"server_id": row.target_server_id, "migration": row.id})),
                },
            )
            .await?;
            insert_log(
                &mut tx,
                row,
                "finish",
                Level::Info,
                &format!("service of {a} now on {}", row.server_name),
            )
            .await?;
            tx.after_commit(crate::hosting::services::SERVICES_CHANNEL, sid.to_string());
            moved.push(json!({"service": sid, "account": a, "domain": domain}));
            if let Some(d) = domain {
                dns(&mut tx, cx, row, &d).await?;
            }
        }
    }
    tx.execute(
        "UPDATE migrations SET status = 'success', step = 'done', stage = 'finish', progress = 100, \
         credentials_enc = NULL, error = NULL, finished_at = $2, updated_at = $2 WHERE id = $1",
        args![row.id, at],
    )
    .await?;
    insert_log(
        &mut tx,
        row,
        "finish",
        Level::Info,
        &format!(
            "{} account(s) on {}; credentials wiped",
            accounts.len(),
            row.server_name
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        &cx.actor,
        Change {
            action: "migration.success",
            entity: "migration",
            entity_id: Some(row.id.to_string()),
            tenant_id: Some(row.tenant_id),
            before: Some(json!({"status": row.status})),
            after: Some(json!({"status": "success", "services": moved, "credentials": "wiped"})),
        },
    )
    .await?;
    tx.after_commit(CHANNEL, row.id.to_string());
    tx.commit().await
}

async fn dns(tx: &mut Tx, cx: &Ctx<'_>, row: &Row, domain: &str) -> Result<(), ServiceError> {
    let zone: Option<(Uuid,)> = tx
        .fetch_optional(
            "SELECT id FROM dns_zones WHERE tenant_id = $1 AND name = $2 AND status <> 'deleted'",
            args![row.tenant_id, domain],
        )
        .await?;
    let Some((zone,)) = zone else {
        insert_log(
            tx,
            row,
            "dns",
            Level::Info,
            &format!("{domain}: zone not hosted here; its owner points it at the new server"),
        )
        .await?;
        return Ok(());
    };
    if crate::jobs::admin::has_handler(DNS_REPOINT) {
        enqueue(
            tx,
            NewJob {
                queue: "dns".into(),
                kind: DNS_REPOINT.into(),
                payload: json!({"zone_id": zone, "zone": domain, "server_id": row.target_server_id, "migration_id": row.id}),
                unique_key: Some(format!("{DNS_REPOINT}:{zone}")),
                tenant_id: Some(row.tenant_id),
                enqueued_by: cx.actor.name.clone(),
                ..NewJob::default()
            },
        )
        .await?;
        insert_log(
            tx,
            row,
            "dns",
            Level::Info,
            &format!("{domain}: zone update queued ({DNS_REPOINT})"),
        )
        .await?;
    } else {
        insert_log(
            tx,
            row,
            "dns",
            Level::Warn,
            &format!(
                "{domain}: we host this zone, but this build has no {DNS_REPOINT} job: point its records at {} by hand",
                row.server_name
            ),
        )
        .await?;
    }
    Ok(())
}

/// Re-enqueues the step `poll` later, moving the tick on (compare-and-set: a concurrent abort
/// or retry wins and this chain ends).
async fn reschedule(cx: &Ctx<'_>, row: &Row) -> Result<(), ServiceError> {
    let mut tx = cx.db.begin().await?;
    let next = row.tick + 1;
    let n = tx
        .execute(
            "UPDATE migrations SET tick = $2 WHERE id = $1 AND tick = $3",
            args![row.id, next, row.tick],
        )
        .await?;
    if n == 1 {
        let when = now() + chrono::Duration::from_std(cx.env.poll).unwrap_or_else(|_| chrono::Duration::seconds(10));
        enqueue_step(&mut tx, &cx.actor.name, row.tenant_id, row.id, next, Some(when)).await?;
    }
    tx.commit().await
}
