//! The migration queue (`migrations`): every migration with a progress bar for the whole
//! and one per stage (e-mail, databases, files, DNS, SSL), active ones first. The bars move
//! without a key press: on `start` the screen follows the `painel:migrations` bus channel
//! (a [`Ctx::follow`] subscription, docs/adr/0008) and reloads when a migration changes, at
//! most once per [`THROTTLE`], plus once per [`SAFETY`] in case a message was lost. Without
//! a bus (no Redis configured, or while it is down) it reloads every [`LIVE`] on the app's
//! tick instead. Enter opens one (its log), `x` aborts (press twice).

use std::time::{Duration, Instant};

use backend::authz::Permission;
use backend::transfers::{self, ListFilter, Migration};
use backend::ServiceError;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::{page_route, Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

/// How often the queue reloads while shown and no bus tells it of changes.
pub const LIVE: Duration = Duration::from_secs(1);
/// Fewest time between two reloads driven by bus messages (50 migrations publish often).
pub const THROTTLE: Duration = Duration::from_millis(200);
/// A reload now and then while following the bus: a message dropped on the way is not lost
/// for long.
pub const SAFETY: Duration = Duration::from_secs(15);

struct Loaded(Result<Vec<Migration>, ServiceError>);
struct Aborted(Result<Migration, ServiceError>);

/// What the subscription says.
enum Signal {
    /// Subscribed (again): messages flow; what was missed is read once.
    Up,
    /// The bus is gone for now: back to reloading on the tick.
    Down,
    /// Some migration changed.
    Changed,
}

const BUS: &str = "bus";

/// Forwards the channel's messages as [`Signal`]s (a burst as one `Changed`) until nobody
/// listens; without a bus it ends at once and the screen keeps polling.
async fn forward(db: backend::Db, sink: crate::tasks::Sink) {
    use backend::bus::BusMessage;
    let Some(mut rx) = transfers::subscribe(&db) else {
        return;
    };
    while let Some(first) = rx.recv().await {
        let mut signal = match first {
            BusMessage::Up => Signal::Up,
            BusMessage::Down => Signal::Down,
            BusMessage::Message { .. } => Signal::Changed,
        };
        while let Ok(next) = rx.try_recv() {
            match next {
                BusMessage::Message { .. } => {}
                BusMessage::Up => signal = Signal::Up,
                BusMessage::Down => signal = Signal::Down,
            }
        }
        if !sink.send(signal) {
            return;
        }
    }
}

#[derive(Default)]
pub struct QueueScreen {
    pub rows: Option<Vec<Migration>>,
    pub error: Option<String>,
    pub selected: usize,
    /// The migration an abort was asked for once (the second press sends it).
    pub arming: Option<uuid::Uuid>,
    /// The bus subscription is up: changes arrive as messages, the tick only backs it up.
    pub live: bool,
    /// A change was announced and not read yet (throttled).
    stale: bool,
    last: Option<Instant>,
}

/// `[####------]` in `width` cells: the filled part in `fill`, the rest muted.
pub fn bar<'a>(pct: i64, width: usize, fill: Style, empty: Style) -> Vec<Span<'a>> {
    let done = usize::try_from(pct.clamp(0, 100)).unwrap_or(0) * width / 100;
    vec![
        Span::styled("█".repeat(done), fill),
        Span::styled("░".repeat(width - done), empty),
    ]
}

/// Active first (newest first within), then the finished, newest first.
pub fn order(v: &mut [Migration]) {
    v.sort_by(|a, b| {
        a.is_finished()
            .cmp(&b.is_finished())
            .then_with(|| b.created_at.cmp(&a.created_at))
    });
}

impl QueueScreen {
    fn reload(&mut self, ctx: &mut Ctx) {
        self.last = Some(Instant::now());
        self.stale = false;
        ctx.load("migrations", |env| async move {
            let f = ListFilter {
                limit: Some(300),
                ..ListFilter::default()
            };
            Loaded(transfers::list(&env.db, &env.actor, &f).await)
        });
    }

    fn current(&self) -> Option<&Migration> {
        self.rows.as_ref().and_then(|r| r.get(self.selected))
    }
}

impl Screen for QueueScreen {
    fn route(&self) -> Route {
        page_route("migrations")
    }

    /// The queue screens' keys (`x` abort, `f` stage filter) over the list's.
    fn mode(&self) -> Mode {
        Mode::Jobs
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.live = false;
        self.stale = false;
        ctx.follow(BUS, |env, sink| forward(env.db, sink));
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(&[Action::Up, Action::Down, Action::Open, Action::Refresh])
            .labelled(Action::CancelJob, "abort")
            .labelled(Action::Create, "new migration")
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        matches!(a, Action::CancelJob | Action::Create).then_some(Permission::ServicesManage)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        let n = self.rows.as_ref().map_or(0, Vec::len);
        match a {
            Action::Refresh => self.reload(ctx),
            Action::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Create => ctx.emit(Action::Goto("migrations/new".into())),
            Action::Open => {
                if let Some(m) = self.current() {
                    ctx.emit(Action::Goto(format!("migrations/{}", m.id)));
                }
            }
            Action::CancelJob => {
                let Some(m) = self.current().cloned() else { return true };
                if m.is_finished() {
                    ctx.emit(Action::FlashError(format!("the migration is {}", m.status)));
                } else if self.arming == Some(m.id) {
                    self.arming = None;
                    let id = m.id.to_string();
                    ctx.load("abort", |env| async move {
                        Aborted(transfers::abort(&env.db, &env.actor, &id).await.map(|(m, _)| m))
                    });
                } else {
                    self.arming = Some(m.id);
                    ctx.emit(Action::Flash(format!("press x again to abort {}", m.short_id())));
                }
            }
            _ => return false,
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Signal>() {
            Ok(signal) => {
                match *signal {
                    Signal::Up => {
                        self.live = true;
                        self.reload(ctx);
                    }
                    Signal::Down => self.live = false,
                    Signal::Changed if self.last.is_none_or(|t| t.elapsed() >= THROTTLE) => self.reload(ctx),
                    Signal::Changed => self.stale = true,
                }
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<Loaded>() {
            Ok(r) => {
                match r.0 {
                    Ok(mut v) => {
                        order(&mut v);
                        self.selected = self.selected.min(v.len().saturating_sub(1));
                        self.rows = Some(v);
                        self.error = None;
                    }
                    Err(e) => {
                        self.error = Some(e.to_string());
                        ctx.emit(Action::FlashError(e.to_string()));
                    }
                }
                return;
            }
            Err(m) => m,
        };
        if let Ok(r) = msg.downcast::<Aborted>() {
            match r.0 {
                Ok(m) => ctx.emit(Action::Flash(format!("abort of {} asked", m.short_id()))),
                Err(e) => ctx.emit(Action::FlashError(e.to_string())),
            }
            self.reload(ctx);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        let due = match self.last {
            None => true,
            Some(t) if self.live => (self.stale && t.elapsed() >= THROTTLE) || t.elapsed() >= SAFETY,
            Some(t) => t.elapsed() >= LIVE,
        };
        if due {
            self.reload(ctx);
        }
        false
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(rows) = &self.rows else {
            let msg = self.error.clone().unwrap_or_else(|| "Loading migrations…".into());
            return crate::screens::notice(f, area, "Migrations", &msg, theme.muted, theme);
        };
        let active = rows.iter().filter(|m| !m.is_finished()).count();
        let block = theme.block(true).title(theme.title_line(
            &format!("Migrations · {active} running, {} in all", rows.len()),
            usize::from(area.width.saturating_sub(2)),
        ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        if rows.is_empty() {
            f.render_widget(
                Paragraph::new("No migrations yet: c starts one (or painel migrations create).").style(theme.muted),
                inner,
            );
            return;
        }
        // Two lines a migration: the whole, then its stages.
        let fit = usize::from(inner.height / 2).max(1);
        let top = self.selected.saturating_sub(fit - 1);
        let areas = Layout::vertical(vec![Constraint::Length(2); fit]).split(inner);
        let w = usize::from(inner.width);
        for (i, (m, row)) in rows
            .iter()
            .enumerate()
            .skip(top)
            .zip(areas.iter())
            .map(|((i, m), r)| (i, (m, r)))
        {
            let [head, stages] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(*row);
            let sel = i == self.selected;
            let tone = theme.tone(tone_for(&m.status));
            let marker = if sel { "▶ " } else { "  " };
            let route = format!(
                "{} → {}",
                widgets::text::sanitize(&m.source_host),
                widgets::text::sanitize(&m.server_name)
            );
            let bar_w = 16usize;
            // Fixed parts: marker 2, id 9, status 11, bar 16, percent 5.
            let room = w.saturating_sub(2 + 9 + 11 + bar_w + 5 + 2);
            let route: String = route.chars().take(room).collect();
            let mut spans = vec![
                Span::styled(marker, theme.accent),
                Span::styled(
                    format!("{} ", m.short_id()),
                    if sel { theme.selection } else { theme.title },
                ),
                Span::styled(format!("{route:<room$} "), theme.base),
                Span::styled(format!("{:<10} ", m.status), tone),
            ];
            spans.extend(bar(m.progress, bar_w, tone, theme.muted));
            spans.push(Span::styled(format!(" {:>3}%", m.progress), theme.base));
            f.render_widget(Paragraph::new(Line::from(spans)), head);
            let mut st = vec![Span::raw("    ")];
            if let Some(e) = m.error.as_deref().filter(|_| m.status == "failed") {
                st.push(Span::styled(
                    widgets::text::sanitize(e)
                        .chars()
                        .take(w.saturating_sub(4))
                        .collect::<String>(),
                    theme.error,
                ));
            } else {
                for (name, p) in m.stages() {
                    let short: String = name.chars().take(5).collect();
                    st.push(Span::styled(format!("{short:<5} "), theme.muted));
                    let fill = if p >= 100 { theme.success } else { theme.info };
                    st.extend(bar(p, 6, fill, theme.muted));
                    st.push(Span::raw(" "));
                }
            }
            f.render_widget(Paragraph::new(Line::from(st)), stages);
        }
    }
}
