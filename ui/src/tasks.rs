//! The generic task runner. A screen hands it a closure that makes a future from an [`Env`]
//! (database, actor, key config); the future's output — a message type the screen owns — comes
//! back to that screen's `apply` as a [`Msg`]. Nothing here knows any screen or any service.
//!
//! Guarantees: one request in flight per (screen, slot) — a newer one aborts the older, and a
//! result that arrives late is dropped by its request id; a debounced job waits before it
//! runs (and is aborted like any other when replaced); a subscription ([`Job::stream`]) keeps
//! answering through a [`Sink`] until the screen leaves (its task is aborted, which drops the
//! stream and ends the backend's follower).

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use backend::secrets::{self, KeyConfig};
use backend::{Actor, Db, ServiceError};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// A message from a finished call, addressed to the screen that asked; it downcasts it to
/// its own type.
pub type Msg = Box<dyn Any + Send>;

/// What a call runs with: the database (scoped to the actor's tenant for one-shot calls), the
/// acting user, and where the master keys are (for 2FA codes).
#[derive(Clone)]
pub struct Env {
    pub db: Db,
    pub actor: Actor,
    pub keys: Option<KeyConfig>,
}

impl Env {
    /// Loads the master keys only when a code must be checked; only keys the database
    /// registered open anything (docs/adr/0013).
    pub async fn keys_for(&self, code: Option<&str>) -> Result<Option<secrets::Keys>, ServiceError> {
        match (code.filter(|c| !c.trim().is_empty()), &self.keys) {
            (Some(_), Some(cfg)) => Ok(Some(secrets::registered(&self.db, &secrets::load(cfg)?.keys).await?)),
            _ => Ok(None),
        }
    }
}

/// Where a subscription sends its messages; false once nobody listens any more.
pub struct Sink(Box<dyn Fn(Msg) -> bool + Send + Sync>);

impl Sink {
    pub fn send<M: Send + 'static>(&self, m: M) -> bool {
        (self.0)(Box::new(m))
    }
}

type Call = Box<dyn FnOnce(Env) -> BoxFuture<'static, Msg> + Send>;
type Follow = Box<dyn FnOnce(Env, Sink) -> BoxFuture<'static, ()> + Send>;

enum Work {
    Once(Call),
    Stream(Follow),
}

/// A call as a screen queues it: which slot it replaces, and an optional debounce delay.
pub struct Job {
    pub slot: &'static str,
    pub delay: Option<Duration>,
    work: Work,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("slot", &self.slot)
            .field("delay", &self.delay)
            .field("stream", &self.is_stream())
            .finish()
    }
}

impl Job {
    /// One call whose result (any `M`) goes back to the screen.
    pub fn call<M, F, Fut>(slot: &'static str, f: F) -> Job
    where
        M: Send + 'static,
        F: FnOnce(Env) -> Fut + Send + 'static,
        Fut: Future<Output = M> + Send + 'static,
    {
        let call: Call = Box::new(move |env| f(env).map(|m| Box::new(m) as Msg).boxed());
        Job {
            slot,
            delay: None,
            work: Work::Once(call),
        }
    }

    /// A subscription: `f` sends as many messages as it likes until it returns or is aborted.
    pub fn stream<F, Fut>(slot: &'static str, f: F) -> Job
    where
        F: FnOnce(Env, Sink) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let follow: Follow = Box::new(move |env, sink| f(env, sink).boxed());
        Job {
            slot,
            delay: None,
            work: Work::Stream(follow),
        }
    }

    pub fn delayed(mut self, d: Duration) -> Job {
        self.delay = Some(d);
        self
    }

    pub fn is_stream(&self) -> bool {
        matches!(self.work, Work::Stream(_))
    }
}

/// A finished call (or a subscription's message), addressed to the screen that asked for it.
pub struct BackendResult {
    pub id: u64,
    pub screen: u64,
    pub slot: &'static str,
    pub msg: Msg,
    stream: bool,
}

impl std::fmt::Debug for BackendResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendResult")
            .field("id", &self.id)
            .field("screen", &self.screen)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
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
    /// `painel --readonly`: every actor acted as is read-only, whoever signs in.
    read_only: bool,
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
            read_only: false,
        }
    }

    /// Read-only from now on, for every actor (`painel --readonly`).
    pub fn force_read_only(&mut self) {
        self.read_only = true;
        self.actor.read_only = true;
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Acts as `actor` from now on (after a login).
    pub fn set_actor(&mut self, mut actor: Actor) {
        actor.read_only |= self.read_only;
        self.actor = actor;
    }

    /// Starts `job` for `screen`, aborting the previous request in the same slot.
    pub fn spawn(&mut self, screen: u64, job: Job) {
        let id = self.next_id;
        self.next_id += 1;
        let slot = job.slot;
        let call = match job.work {
            Work::Stream(follow) => return self.subscribe(id, screen, slot, follow),
            Work::Once(call) => call,
        };
        if let Some((old, handle)) = self.latest.remove(&(screen, slot)) {
            handle.abort();
            self.inflight.remove(&old);
        }
        // Row-level security on PostgreSQL confines a tenant user's queries a second time.
        let env = Env {
            db: self.db.scoped(self.actor.tenant_id),
            actor: self.actor.clone(),
            keys: self.keys.clone(),
        };
        let tx = self.tx.clone();
        let delay = job.delay;
        let handle = tokio::spawn(async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let msg = call(env).await;
            // The receiver is gone only when the app is shutting down.
            let _ = tx.send(BackendResult {
                id,
                screen,
                slot,
                msg,
                stream: false,
            });
        });
        self.latest.insert((screen, slot), (id, handle.abort_handle()));
        self.inflight.insert(id);
    }

    /// Starts (or restarts) the subscription in `slot` of `screen`.
    fn subscribe(&mut self, id: u64, screen: u64, slot: &'static str, follow: Follow) {
        if let Some((_, handle)) = self.streams.remove(&(screen, slot)) {
            handle.abort();
        }
        let env = Env {
            db: self.db.clone(),
            actor: self.actor.clone(),
            keys: self.keys.clone(),
        };
        let tx = self.tx.clone();
        let sink = Sink(Box::new(move |msg| {
            tx.send(BackendResult {
                id,
                screen,
                slot,
                msg,
                stream: true,
            })
            .is_ok()
        }));
        let handle = tokio::spawn(follow(env, sink));
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
        if r.stream {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;

    async fn tasks() -> (Tasks, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.sqlite").display());
        let db = Db::connect(&url).await.unwrap();
        (Tasks::new(db, Actor::system("test"), None), dir)
    }

    async fn next(t: &mut Tasks) -> BackendResult {
        tokio::time::timeout(Duration::from_secs(5), t.recv())
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_newer_call_in_the_slot_replaces_the_older_and_a_late_result_is_dropped() {
        let (mut t, _dir) = tasks().await;
        // The first call would answer late; the second replaces it.
        t.spawn(
            1,
            Job::call("page", |_| async { 1u32 }).delayed(Duration::from_millis(200)),
        );
        t.spawn(1, Job::call("page", |_| async { 2u32 }));
        // Another screen's slot of the same name is its own.
        t.spawn(2, Job::call("page", |_| async { 3u32 }));
        let mut got = Vec::new();
        while t.busy() {
            let r = next(&mut t).await;
            if t.accept(&r) {
                got.push((r.screen, *r.msg.downcast::<u32>().unwrap()));
            }
        }
        got.sort_unstable();
        assert_eq!(got, vec![(1, 2), (2, 3)]);
        // The aborted first call never answers.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(t.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_result_for_a_forgotten_screen_is_not_accepted() {
        let (mut t, _dir) = tasks().await;
        t.spawn(1, Job::call("page", |_| async { 1u32 }));
        let r = next(&mut t).await;
        t.spawn(1, Job::call("page", |_| async { 2u32 }));
        t.forget_screen(1);
        assert!(!t.accept(&r), "stale: a newer call replaced it");
        assert!(!t.busy());
    }

    #[tokio::test]
    async fn a_subscription_answers_until_its_screen_leaves() {
        let (mut t, _dir) = tasks().await;
        t.spawn(
            7,
            Job::stream("watch", |_, sink| async move {
                for i in 0u32.. {
                    if !sink.send(i) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }),
        );
        assert!(!t.busy(), "a subscription is not in flight");
        for _ in 0..3 {
            let r = next(&mut t).await;
            assert!(t.accept(&r));
        }
        t.forget_streams(7);
        // Whatever was already queued is refused; nothing more comes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        while let Some(r) = t.try_recv() {
            assert!(!t.accept(&r));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(t.try_recv().is_none(), "the follower was aborted");
    }
}
