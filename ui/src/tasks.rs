//! Backend calls run as spawned tokio tasks that send their result back over a channel. Only
//! the latest request of a kind (per screen and slot) is kept: a newer one aborts the older,
//! and a result that arrives late is dropped by its request id.
//!
//! A subscription ([`Request::WatchJobs`]) is a request that keeps answering: a task forwards
//! the backend's event stream into the same channel, in batches, until the screen leaves
//! (its task is aborted, which drops the stream and ends the backend's follower).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use backend::apikeys::{self, ApiKey, ApiKeyQuery, CreatedApiKey, NewApiKey};
use backend::audit::{self, AuditEntry, AuditQuery, AuditRecord, VerifyReport};
use backend::browse::{self, BrowseQuery, Table};
use backend::dashboard::{self, Stat};
use backend::identity::{self, LoginOutcome, LoginRequest};
use backend::jobs::admin::{self, JobQuery};
use backend::jobs::feed::{self, Overview, WatchFilter, WatchItem};
use backend::page::Page;
use backend::secrets::{self, KeyConfig};
use backend::sensitive::Proof;
use backend::tenants::{self, Limits, NewTenant, Tenant, TenantPatch, TenantQuery};
use backend::{Actor, Db, ServiceError};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// A backend call a screen wants made.
#[derive(Debug, Clone)]
pub enum Request {
    Stats,
    TenantPage(TenantQuery),
    TenantCount {
        filter: Option<String>,
    },
    Tenant(String),
    Browse {
        view: String,
        query: BrowseQuery,
    },
    CreateTenant(Box<NewTenant>),
    UpdateTenant {
        key: String,
        patch: Box<TenantPatch>,
    },
    SetLimits {
        key: String,
        limits: Limits,
        /// The operator confirmed limits below the tenant's current usage.
        confirm_below_usage: bool,
    },
    Suspend {
        key: String,
        reason: String,
        confirm: String,
        /// A 2FA code typed in the modal, when the session's last one is too old.
        code: Option<String>,
    },
    Reactivate(String),
    Login {
        username: String,
        password: Hidden,
        code: Option<Hidden>,
    },
    /// Is this session still valid?
    Session(String),
    /// A page of the audit log (the filter line already parsed by `audit::filter`).
    AuditPage(Box<AuditQuery>),
    /// One audit row by seq or id, with its before/after.
    AuditRecord(String),
    /// Walk the hash chain (platform staff only).
    AuditVerify,
    /// The queue screen's figures (`jobs::feed::overview`), with up to `limit` running jobs
    /// and failures.
    JobOverview {
        limit: usize,
    },
    JobPage(JobQuery),
    Job(String),
    RetryJob(String),
    CancelJob(String),
    /// Follow job events until the screen leaves (a subscription, see the module doc).
    WatchJobs(WatchFilter),
    ApiKeyPage(ApiKeyQuery),
    CreateApiKey(Box<NewApiKey>),
    /// Revoke by id.
    RevokeApiKey(String),
}

/// A secret typed into a form: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(backend::audit::REDACTED)
    }
}

/// Most events forwarded in one [`Reply::Watch`]: a burst reaches the screen as a few
/// batches (one redraw each), not as thousands of results.
pub const WATCH_BATCH: usize = 256;

/// What came back.
#[derive(Debug)]
pub enum Reply {
    Stats(Result<Vec<Stat>, ServiceError>),
    TenantPage(Result<Page<Tenant>, ServiceError>),
    Count(Result<i64, ServiceError>),
    /// A tenant read or changed (get, create, update, limits, suspend, reactivate).
    Tenant(Result<Box<Tenant>, ServiceError>),
    Table(Result<Table, ServiceError>),
    Login(Result<LoginOutcome, ServiceError>),
    Session(Result<Box<identity::Authenticated>, ServiceError>),
    Overview(Result<Box<Overview>, ServiceError>),
    JobPage(Result<Page<backend::jobs::Job>, ServiceError>),
    /// A job read or changed (get, retry, cancel).
    Job(Result<Box<backend::jobs::Job>, ServiceError>),
    AuditPage(Result<Page<AuditEntry>, ServiceError>),
    AuditRecord(Result<Box<AuditRecord>, ServiceError>),
    AuditVerify(Result<VerifyReport, ServiceError>),
    /// Events of a subscription, oldest first; an error ends it (e.g. no `jobs:read`).
    Watch(Result<Vec<WatchItem>, ServiceError>),
    ApiKeyPage(Result<Page<ApiKey>, ServiceError>),
    /// A key just created, with its secret (shown once, then dropped by the screen).
    ApiKeyCreated(Result<Box<CreatedApiKey>, ServiceError>),
    /// A key changed (revoked).
    ApiKey(Result<Box<ApiKey>, ServiceError>),
}

/// A finished backend call, addressed to the screen that asked for it.
#[derive(Debug)]
pub struct BackendResult {
    pub id: u64,
    pub screen: u64,
    pub slot: &'static str,
    pub reply: Reply,
}

/// Loads the master keys only when a code must be checked (the key file is created on first
/// use, not by merely opening the console).
fn keys_for(code: Option<&str>, cfg: Option<&KeyConfig>) -> Result<Option<secrets::Keys>, ServiceError> {
    match (code.filter(|c| !c.trim().is_empty()), cfg) {
        (Some(_), Some(cfg)) => Ok(Some(secrets::load(cfg)?.keys)),
        _ => Ok(None),
    }
}

async fn call(db: &Db, actor: &Actor, keys: Option<&KeyConfig>, req: Request) -> Reply {
    match req {
        Request::Stats => Reply::Stats(dashboard::stats(db, actor).await),
        Request::TenantPage(q) => Reply::TenantPage(tenants::list(db, actor, &q).await),
        Request::TenantCount { filter } => Reply::Count(tenants::count(db, actor, filter.as_deref(), None).await),
        Request::Tenant(key) => Reply::Tenant(tenants::get(db, actor, &key).await.map(Box::new)),
        Request::Browse { view, query } => Reply::Table(match browse::view(&view) {
            Some(v) => browse::browse(db, actor, v, &query).await,
            None => Err(ServiceError::not_found("view", view)),
        }),
        Request::CreateTenant(t) => Reply::Tenant(tenants::create(db, actor, *t).await.map(Box::new)),
        Request::UpdateTenant { key, patch } => {
            Reply::Tenant(tenants::update(db, actor, &key, *patch).await.map(Box::new))
        }
        Request::SetLimits {
            key,
            limits,
            confirm_below_usage,
        } => Reply::Tenant(
            tenants::set_limits(db, actor, &key, limits, confirm_below_usage)
                .await
                .map(Box::new),
        ),
        Request::Suspend {
            key,
            reason,
            confirm,
            code,
        } => Reply::Tenant(
            async {
                let keys = keys_for(code.as_deref(), keys)?;
                let mut proof = Proof::confirm(&confirm);
                if let Some(k) = &keys {
                    proof = proof.with_code(code.as_deref(), k);
                }
                tenants::suspend(db, actor, &key, &reason, &proof).await.map(Box::new)
            }
            .await,
        ),
        Request::Reactivate(key) => Reply::Tenant(tenants::reactivate(db, actor, &key).await.map(Box::new)),
        Request::Login {
            username,
            password,
            code,
        } => Reply::Login(
            async {
                let code = code.map(|c| c.0);
                let keys = keys_for(code.as_deref(), keys)?;
                let req = LoginRequest {
                    username,
                    password: password.0,
                    code,
                    source: backend::actor::detect_source(),
                };
                identity::login(db, keys.as_ref(), &req).await
            }
            .await,
        ),
        Request::Session(token) => {
            Reply::Session(identity::authenticate(db, &token, &actor.source).await.map(Box::new))
        }
        Request::JobOverview { limit } => Reply::Overview(feed::overview(db, actor, limit).await.map(Box::new)),
        Request::JobPage(q) => Reply::JobPage(admin::list(db, actor, &q).await),
        Request::Job(id) => Reply::Job(admin::get(db, actor, &id).await.map(Box::new)),
        Request::AuditPage(q) => Reply::AuditPage(audit::list(db, actor, &q).await),
        Request::AuditRecord(key) => Reply::AuditRecord(audit::get(db, actor, &key).await.map(Box::new)),
        Request::AuditVerify => Reply::AuditVerify(audit::verify(db, actor).await),
        Request::RetryJob(id) => Reply::Job(admin::retry(db, actor, &id).await.map(Box::new)),
        Request::CancelJob(id) => Reply::Job(admin::cancel(db, actor, &id).await.map(Box::new)),
        Request::ApiKeyPage(q) => Reply::ApiKeyPage(apikeys::list(db, actor, &q).await),
        Request::CreateApiKey(k) => Reply::ApiKeyCreated(apikeys::create(db, actor, *k).await.map(Box::new)),
        Request::RevokeApiKey(id) => Reply::ApiKey(apikeys::revoke(db, actor, &id).await.map(Box::new)),
        // Subscriptions never get here (see `Tasks::spawn`); answer like a closed stream.
        Request::WatchJobs(_) => Reply::Watch(Ok(Vec::new())),
    }
}

/// Forwards a job event stream as batches of [`Reply::Watch`] until the app drops the
/// channel or the task is aborted.
async fn forward_watch(db: Db, actor: Actor, filter: WatchFilter, send: impl Fn(Reply) -> bool) {
    let mut rx = match feed::watch(&db, &actor, filter) {
        Ok(rx) => rx,
        Err(e) => {
            send(Reply::Watch(Err(e)));
            return;
        }
    };
    while let Some(first) = rx.recv().await {
        let mut items = vec![first];
        while items.len() < WATCH_BATCH {
            match rx.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        if !send(Reply::Watch(Ok(items))) {
            return;
        }
    }
}

/// A request as a screen queues it: which slot it replaces, and an optional debounce delay.
#[derive(Debug, Clone)]
pub struct Job {
    pub slot: &'static str,
    pub request: Request,
    pub delay: Option<Duration>,
}

pub struct Tasks {
    db: Db,
    actor: Actor,
    keys: Option<KeyConfig>,
    tx: mpsc::UnboundedSender<BackendResult>,
    rx: mpsc::UnboundedReceiver<BackendResult>,
    latest: HashMap<(u64, &'static str), (u64, AbortHandle)>,
    /// Live subscriptions: not "in flight" (they never finish), so `busy` ignores them.
    streams: HashMap<(u64, &'static str), (u64, AbortHandle)>,
    inflight: HashSet<u64>,
    next_id: u64,
}

impl Tasks {
    pub fn new(db: Db, actor: Actor, keys: Option<KeyConfig>) -> Tasks {
        let (tx, rx) = mpsc::unbounded_channel();
        Tasks {
            db,
            actor,
            keys,
            tx,
            rx,
            latest: HashMap::new(),
            streams: HashMap::new(),
            inflight: HashSet::new(),
            next_id: 1,
        }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Acts as `actor` from now on (after a login).
    pub fn set_actor(&mut self, actor: Actor) {
        self.actor = actor;
    }

    /// Starts `job` for `screen`, aborting the previous request in the same slot.
    pub fn spawn(&mut self, screen: u64, job: Job) {
        let id = self.next_id;
        self.next_id += 1;
        if let Request::WatchJobs(filter) = job.request {
            self.subscribe(id, screen, job.slot, filter);
            return;
        }
        if let Some((old, handle)) = self.latest.remove(&(screen, job.slot)) {
            handle.abort();
            self.inflight.remove(&old);
        }
        // Row-level security on PostgreSQL confines a tenant user's queries a second time.
        let (db, actor, tx) = (
            self.db.scoped(self.actor.tenant_id),
            self.actor.clone(),
            self.tx.clone(),
        );
        let keys = self.keys.clone();
        let slot = job.slot;
        let handle = tokio::spawn(async move {
            if let Some(d) = job.delay {
                tokio::time::sleep(d).await;
            }
            let reply = call(&db, &actor, keys.as_ref(), job.request).await;
            // The receiver is gone only when the app is shutting down.
            let _ = tx.send(BackendResult {
                id,
                screen,
                slot,
                reply,
            });
        });
        self.latest.insert((screen, slot), (id, handle.abort_handle()));
        self.inflight.insert(id);
    }

    /// Starts (or restarts) the subscription in `slot` of `screen`.
    fn subscribe(&mut self, id: u64, screen: u64, slot: &'static str, filter: WatchFilter) {
        if let Some((_, handle)) = self.streams.remove(&(screen, slot)) {
            handle.abort();
        }
        let (db, actor, tx) = (self.db.clone(), self.actor.clone(), self.tx.clone());
        let send = move |reply| {
            tx.send(BackendResult {
                id,
                screen,
                slot,
                reply,
            })
            .is_ok()
        };
        let handle = tokio::spawn(forward_watch(db, actor, filter, send));
        self.streams.insert((screen, slot), (id, handle.abort_handle()));
    }

    /// Ends the subscriptions of `screen` (it left the top of the stack or is gone); it
    /// subscribes again when it starts.
    pub fn forget_streams(&mut self, screen: u64) {
        self.streams.retain(|(s, _), (_, handle)| {
            if *s == screen {
                handle.abort();
            }
            *s != screen
        });
    }

    /// Whether `r` is still the latest of its slot; forgets it either way.
    pub fn accept(&mut self, r: &BackendResult) -> bool {
        if let Reply::Watch(_) = r.reply {
            return self.streams.get(&(r.screen, r.slot)).is_some_and(|(id, _)| *id == r.id);
        }
        self.inflight.remove(&r.id);
        match self.latest.get(&(r.screen, r.slot)) {
            Some((id, _)) if *id == r.id => {
                self.latest.remove(&(r.screen, r.slot));
                true
            }
            _ => false,
        }
    }

    /// Drops every request of a screen that is gone.
    pub fn forget_screen(&mut self, screen: u64) {
        self.forget_streams(screen);
        let keys: Vec<_> = self.latest.keys().filter(|(s, _)| *s == screen).copied().collect();
        for k in keys {
            if let Some((id, handle)) = self.latest.remove(&k) {
                handle.abort();
                self.inflight.remove(&id);
            }
        }
    }

    pub fn busy(&self) -> bool {
        !self.inflight.is_empty()
    }

    pub async fn recv(&mut self) -> Option<BackendResult> {
        self.rx.recv().await
    }

    /// A result that is already waiting, if any.
    pub fn try_recv(&mut self) -> Option<BackendResult> {
        self.rx.try_recv().ok()
    }
}
