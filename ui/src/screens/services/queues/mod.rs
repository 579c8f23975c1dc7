//! The queue screen (`services/provisioning`, `:queues`, `:jobs`): depth per queue and
//! status, a throughput sparkline, running jobs with their age and the live failure feed,
//! with retry and cancel through a confirmation.
//!
//! Live updates: on `start` the screen subscribes to `jobs::feed::watch` (a [`Ctx::follow`]
//! subscription); its events arrive as [`Watch`] batches without any key press. Each event updates the feed and the counts at once and marks the overview stale;
//! [`Refresh`] turns that into at most one overview reload per second, plus one every few
//! seconds as a safety net (driven by the app's tick). The app ends the subscription when the
//! screen is covered or closed, and `start` subscribes again on the way back.

pub mod model;

mod draw;

use std::time::Instant;

use backend::jobs::feed::{self, Overview, WatchFilter, WatchItem};
use backend::jobs::Job;
use backend::ServiceError;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use widgets::TableState;

use self::model::{bump, depth_rows, finishes, short_id, DepthRow, Feed, Refresh};
use crate::action::Action;
use crate::router::Route;
use crate::screens::services::job_confirm::{self, JobAction, JobConfirm, Target};
use crate::screens::services::job_detail::{self, JobDetail};
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen};
use crate::tasks::{Msg, Sink};

/// The overview came back.
struct Loaded(Result<Overview, ServiceError>);

/// Events of the subscription, oldest first; an error ends it (e.g. no `jobs:read`).
pub struct Watch(pub Result<Vec<WatchItem>, ServiceError>);

/// Most events forwarded in one [`Watch`]: a burst reaches the screen as a few batches (one
/// redraw each), not as thousands of messages.
pub const WATCH_BATCH: usize = 256;

/// Forwards the job event stream as batches of [`Watch`] until nobody listens or the task is
/// aborted (the screen left).
async fn forward_watch(db: backend::Db, actor: backend::Actor, filter: WatchFilter, sink: Sink) {
    let mut rx = match feed::watch(&db, &actor, filter) {
        Ok(rx) => rx,
        Err(e) => {
            sink.send(Watch(Err(e)));
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
        if !sink.send(Watch(Ok(items))) {
            return;
        }
    }
}

const OVERVIEW: &str = "overview";
const WATCH: &str = "watch";
/// Running jobs and failures read per overview.
pub const LIMIT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Queues,
    Running,
    Failures,
}

impl Panel {
    const ALL: [Panel; 3] = [Panel::Queues, Panel::Running, Panel::Failures];

    fn step(self, by: isize) -> Panel {
        let i = Panel::ALL.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Panel::ALL[(i + by).rem_euclid(Panel::ALL.len() as isize) as usize]
    }
}

/// A selection that follows its job when rows move (new failures arrive on top while the
/// operator is about to press `r`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub state: TableState,
    pub id: Option<Uuid>,
}

impl Selection {
    fn index(&self) -> usize {
        self.state.selected().unwrap_or(0)
    }

    /// Re-finds the selected job among `ids`, else keeps the index (clamped).
    fn sync(&mut self, ids: &[Uuid]) {
        let i = self
            .id
            .and_then(|id| ids.iter().position(|x| *x == id))
            .unwrap_or_else(|| self.index().min(ids.len().saturating_sub(1)));
        self.state.select(Some(i));
        self.id = ids.get(i).copied();
    }

    fn step(&mut self, a: &Action, ids: &[Uuid]) -> bool {
        let Some(to) = step_index(a, self.index(), ids.len()) else {
            return false;
        };
        self.state.select(Some(to));
        self.id = ids.get(to).copied();
        true
    }
}

/// Where a move action takes the cursor in a list of `len` rows.
fn step_index(a: &Action, from: usize, len: usize) -> Option<usize> {
    let last = len.saturating_sub(1) as isize;
    let i = from as isize;
    let to = match a {
        Action::Down => i + 1,
        Action::Up => i - 1,
        Action::HalfPageDown => i + 5,
        Action::HalfPageUp => i - 5,
        Action::Top => 0,
        Action::Bottom => last,
        _ => return None,
    };
    Some(to.clamp(0, last.max(0)) as usize)
}

pub struct QueuesScreen {
    pub depths: Vec<DepthRow>,
    /// Jobs finished per minute, oldest first; the last is the current minute.
    pub throughput: Vec<u64>,
    pub running: Vec<Job>,
    pub feed: Feed,
    /// When the overview shown was read.
    pub read_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Where live events come from: `redis` or `polling`; `None` until the feed says.
    pub source: Option<&'static str>,
    pub live_error: Option<String>,
    pub focus: Panel,
    pub depth_state: TableState,
    pub running_sel: Selection,
    pub feed_sel: Selection,
    /// "Now" for running-job ages: the overview's time, then the tick's.
    pub clock: DateTime<Utc>,
    pub modal: Option<JobConfirm>,
    pub detail: Option<JobDetail>,
    refresh: Refresh,
    /// No `jobs:read`: stop asking.
    denied: bool,
}

impl Default for QueuesScreen {
    fn default() -> Self {
        QueuesScreen {
            depths: Vec::new(),
            throughput: Vec::new(),
            running: Vec::new(),
            feed: Feed::default(),
            read_at: None,
            error: None,
            source: None,
            live_error: None,
            focus: Panel::Failures,
            depth_state: TableState::default().with_selected(Some(0)),
            running_sel: Selection::default(),
            feed_sel: Selection::default(),
            clock: DateTime::<Utc>::MIN_UTC,
            modal: None,
            detail: None,
            refresh: Refresh::default(),
            denied: false,
        }
    }
}

impl Screen for QueuesScreen {
    fn route(&self) -> Route {
        page_route("services/provisioning")
    }

    fn dialog(&self) -> Option<Dialog> {
        self.modal.is_some().then_some(Dialog::Confirm { fields: false })
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Retry | Action::CancelJob).then_some(backend::authz::Permission::JobsManage)
    }

    fn keys(&self) -> Keys {
        use Action::*;
        Keys::new().with(&[
            Up,
            Down,
            Top,
            Bottom,
            HalfPageDown,
            HalfPageUp,
            Refresh,
            Open,
            Retry,
            CancelJob,
            NextPanel,
            PrevPanel,
            Left,
            Right,
        ])
    }

    fn draw(&mut self, f: &mut ratatui::Frame, area: ratatui::layout::Rect, theme: &widgets::Theme) {
        self.draw_screen(f, area, theme);
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() {
            Mode::Form
        } else {
            Mode::Jobs
        }
    }

    /// Subscribes to the live feed and reads the overview (also on the way back to it).
    fn start(&mut self, ctx: &mut Ctx) {
        self.source = None;
        self.live_error = None;
        self.refresh = Refresh::default();
        self.denied = false;
        ctx.follow(WATCH, |env, sink| {
            forward_watch(env.db, env.actor, WatchFilter::default(), sink)
        });
        self.reload(ctx);
    }

    /// The 250 ms tick: due reloads, and the ages of running jobs once a second.
    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        self.reload_if_due(ctx);
        let now = Utc::now();
        if now.timestamp() == self.clock.timestamp() {
            return false;
        }
        self.clock = now;
        !self.running.is_empty()
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if !m.on_action(a, ctx) {
                self.modal = None;
            }
            return true;
        }
        if let Some(d) = &self.detail {
            let target = d.job.as_ref().map(|j| Target {
                id: j.id,
                queue: j.queue.clone(),
                kind: j.kind.clone(),
                status: j.status.clone(),
            });
            match (a, JobAction::of(a)) {
                (_, Some(action)) if target.is_some() => self.act(action, target, ctx),
                (Action::Back | Action::Close | Action::Open, _) => self.detail = None,
                (Action::Refresh, _) => job_detail::load(ctx, d.id),
                _ => {}
            }
            return true;
        }
        if let Some(action) = JobAction::of(a) {
            let target = self.target();
            self.act(action, target, ctx);
            return true;
        }
        match a {
            Action::NextPanel | Action::Right => self.focus = self.focus.step(1),
            Action::PrevPanel | Action::Left => self.focus = self.focus.step(-1),
            Action::Refresh => self.reload(ctx),
            Action::Open => {
                if let Some(t) = self.target() {
                    self.detail = Some(JobDetail::loading(t.id));
                    job_detail::load(ctx, t.id);
                }
            }
            _ => return self.step(a),
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Loaded>() {
            Ok(r) => {
                self.refresh.arrived();
                match r.0 {
                    Ok(ov) => self.show(ov),
                    Err(e) => {
                        self.denied = matches!(e, ServiceError::PermissionDenied(_));
                        let text = e.to_string();
                        // A failing periodic reload flashes once, not every few seconds.
                        if self.error.as_deref() != Some(text.as_str()) {
                            ctx.emit(Action::FlashError(text.clone()));
                        }
                        self.error = Some(text);
                    }
                }
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<Watch>() {
            Ok(w) => {
                match w.0 {
                    Ok(items) => {
                        self.on_watch(items);
                        self.reload_if_due(ctx);
                    }
                    Err(e) => self.live_error = Some(e.to_string()),
                }
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<job_confirm::Changed>() {
            Ok(r) => {
                let Some(m) = self.modal.take() else { return };
                match r.0 {
                    Ok(job) => {
                        ctx.emit(Action::Flash(m.done_message()));
                        if let Some(row) = self.feed.rows.iter_mut().find(|r| r.job_id == job.id) {
                            row.status = job.status.clone();
                        }
                        self.refresh.changed();
                        self.reload_if_due(ctx);
                    }
                    Err(e) => {
                        let verb = match m.action {
                            JobAction::Retry => "retry",
                            JobAction::Cancel => "cancel",
                        };
                        let id = short_id(&m.target.id);
                        ctx.emit(Action::FlashError(format!("cannot {verb} job {id}: {e}")));
                    }
                }
                return;
            }
            Err(m) => m,
        };
        if let (Ok(r), Some(d)) = (msg.downcast::<job_detail::Loaded>(), self.detail.as_mut()) {
            d.arrived(*r);
        }
    }
}

impl QueuesScreen {
    fn reload(&mut self, ctx: &mut Ctx) {
        self.refresh.sent(Instant::now());
        ctx.load(OVERVIEW, |env| async move {
            Loaded(feed::overview(&env.db, &env.actor, LIMIT).await)
        });
    }

    fn reload_if_due(&mut self, ctx: &mut Ctx) {
        if !self.denied && self.refresh.due(Instant::now()) {
            self.reload(ctx);
        }
    }

    /// Whether an overview request is out (tests wait on it).
    pub fn loading(&self) -> bool {
        self.refresh.in_flight()
    }

    fn running_ids(&self) -> Vec<Uuid> {
        self.running.iter().map(|j| j.id).collect()
    }

    fn feed_ids(&self) -> Vec<Uuid> {
        self.feed.rows.iter().map(|r| r.job_id).collect()
    }

    fn sync(&mut self) {
        let (running, feed) = (self.running_ids(), self.feed_ids());
        self.running_sel.sync(&running);
        self.feed_sel.sync(&feed);
        let last = self.depths.len().saturating_sub(1);
        self.depth_state
            .select(Some(self.depth_state.selected().unwrap_or(0).min(last)));
    }

    /// The job under the cursor of the focused panel.
    pub fn target(&self) -> Option<Target> {
        match self.focus {
            Panel::Queues => None,
            Panel::Running => self.running.get(self.running_sel.index()).map(|j| Target {
                id: j.id,
                queue: j.queue.clone(),
                kind: j.kind.clone(),
                status: j.status.clone(),
            }),
            Panel::Failures => self.feed.rows.get(self.feed_sel.index()).map(|r| Target {
                id: r.job_id,
                queue: r.queue.clone(),
                kind: r.kind.clone(),
                status: r.status.clone(),
            }),
        }
    }

    fn act(&mut self, action: JobAction, target: Option<Target>, ctx: &mut Ctx) {
        match target {
            Some(t) => self.modal = JobConfirm::open(action, t, ctx),
            None => ctx.emit(Action::FlashError(
                "no job selected: Tab to the running or failure panel".into(),
            )),
        }
    }

    /// j/k and friends in the focused panel.
    fn step(&mut self, a: &Action) -> bool {
        match self.focus {
            Panel::Queues => {
                let from = self.depth_state.selected().unwrap_or(0);
                let Some(to) = step_index(a, from, self.depths.len()) else {
                    return false;
                };
                self.depth_state.select(Some(to));
                true
            }
            Panel::Running => {
                let ids = self.running_ids();
                self.running_sel.step(a, &ids)
            }
            Panel::Failures => {
                let ids = self.feed_ids();
                self.feed_sel.step(a, &ids)
            }
        }
    }

    /// Shows an overview read from the backend (also used by render tests).
    pub fn show(&mut self, ov: Overview) {
        self.depths = depth_rows(&ov.depths);
        self.throughput = ov.throughput;
        self.running = ov.running;
        self.feed.on_overview(ov.at, &ov.failures);
        self.clock = self.clock.max(ov.at);
        self.read_at = Some(ov.at);
        self.error = None;
        self.sync();
    }

    /// Live items, as the subscription delivers them (also used by render tests).
    pub fn on_watch(&mut self, items: Vec<WatchItem>) {
        for item in items {
            match item {
                WatchItem::Source(s) => self.source = Some(s),
                WatchItem::Event(e) => {
                    bump(&mut self.depths, &e);
                    if finishes(e.event) {
                        if let Some(n) = self.throughput.last_mut() {
                            *n += 1;
                        }
                    }
                    self.running
                        .retain(|j| j.id != e.job_id || e.event == backend::jobs::EventKind::Started);
                    self.feed.on_event(&e);
                    self.refresh.changed();
                }
            }
        }
        self.sync();
    }
}

#[cfg(test)]
mod tests;
