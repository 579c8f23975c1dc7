//! Backend calls run as spawned tokio tasks that send their result back over a channel. Only
//! the latest request of a kind (per screen and slot) is kept: a newer one aborts the older,
//! and a result that arrives late is dropped by its request id.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use backend::browse::{self, BrowseQuery, Table};
use backend::dashboard::{self, Stat};
use backend::identity::{self, LoginOutcome, LoginRequest};
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
}

/// A secret typed into a form: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(backend::audit::REDACTED)
    }
}

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
        Request::SetLimits { key, limits } => {
            Reply::Tenant(tenants::set_limits(db, actor, &key, limits).await.map(Box::new))
        }
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

    /// Whether `r` is still the latest of its slot; forgets it either way.
    pub fn accept(&mut self, r: &BackendResult) -> bool {
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
}
