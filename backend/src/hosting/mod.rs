//! Hosting on WHM/cPanel: servers, plans ↔ packages, services and their lifecycle.
//!
//! Talking to a provider happens only in jobs: verbs and screens enqueue (and, when the user
//! waits, watch the job). The handlers that need the secrets `Keys` are registered by
//! [`register_handlers`], which the worker binary calls with a [`HostingEnv`]. Orders and
//! plan edits happen in the service layer (`services`, `plans`, docs/adr/0021).

pub mod addons;
pub mod connect;
pub mod jobs;
pub mod metrics;
pub mod overview;
pub mod placement;
pub mod plans;
mod probe;
pub mod provision;
pub mod servers;
pub mod services;
pub mod tls;

use crate::jobs::Handlers;
use crate::secrets::Keys;

/// What hosting handlers share: the secrets keys that open the servers' API tokens (`None`
/// when the worker's process holds no registered master key: handlers that need a token
/// then fail with a message saying so).
#[derive(Clone, Default)]
pub struct HostingEnv {
    pub keys: Option<Keys>,
    /// Where the SSL checker connects and which extra roots it trusts: the process's
    /// configuration (`[ssl]` in config.toml, docs/adr/0032), like its database URL.
    pub ssl: crate::ssl::ProbeConfig,
}

impl HostingEnv {
    pub fn new(keys: Option<Keys>) -> HostingEnv {
        HostingEnv {
            keys,
            ssl: crate::ssl::ProbeConfig::default(),
        }
    }

    pub fn with_ssl(mut self, ssl: crate::ssl::ProbeConfig) -> HostingEnv {
        self.ssl = ssl;
        self
    }
}

/// The job kinds [`register_handlers`] adds (for `jobs::admin::known_kinds`).
pub const KINDS: [&str; 11] = [
    jobs::SERVER_TEST,
    jobs::SERVERS_POLL,
    jobs::SERVER_POLL,
    jobs::SERVERS_RETENTION,
    provision::CREATE,
    provision::SUSPEND,
    provision::UNSUSPEND,
    provision::CHANGE_PLAN,
    provision::TERMINATE,
    provision::PUSH_PACKAGE,
    provision::SYNC_PACKAGES,
];

/// Registers every hosting job kind (one line per kind, so branches merge trivially).
pub fn register_handlers(h: &mut Handlers, env: HostingEnv) {
    let e = env.clone();
    h.register(jobs::SERVER_TEST, move |job, db| probe::server_test(job, db, e.clone()));
    let e = env.clone();
    h.register(jobs::SERVER_POLL, move |job, db| probe::server_poll(job, db, e.clone()));
    h.register(jobs::SERVERS_POLL, jobs::servers_poll);
    h.register(jobs::SERVERS_RETENTION, jobs::servers_retention);
    let e = env.clone();
    h.register(provision::CREATE, move |job, db| provision::create(job, db, e.clone()));
    let e = env.clone();
    h.register(provision::SUSPEND, move |job, db| {
        provision::suspend(job, db, e.clone())
    });
    let e = env.clone();
    h.register(provision::UNSUSPEND, move |job, db| {
        provision::unsuspend(job, db, e.clone())
    });
    let e = env.clone();
    h.register(provision::CHANGE_PLAN, move |job, db| {
        provision::change_plan(job, db, e.clone())
    });
    let e = env.clone();
    h.register(provision::TERMINATE, move |job, db| {
        provision::terminate(job, db, e.clone())
    });
    let e = env.clone();
    h.register(provision::PUSH_PACKAGE, move |job, db| {
        provision::push_package(job, db, e.clone())
    });
    let e = env.clone();
    h.register(provision::SYNC_PACKAGES, move |job, db| {
        provision::sync_packages(job, db, e.clone())
    });
    crate::dns::register_handlers(h, env.keys.clone());
    crate::ssl::register_handlers(h, env.clone());
    drop(env);
}
