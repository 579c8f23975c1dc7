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
use widgets::{text, Theme};

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

/// The head line's columns besides the route and the bar: marker 2, id 9, the space after the
/// route 1, status 11, percent 5, a margin before the border 1.
const HEAD_FIXED: usize = 2 + 9 + 1 + 11 + 5 + 1;
/// Columns the route ("source → target") gets before the bar grows past ten cells: at 80
/// columns the server names tell the rows apart, the percent beside the bar says the rest.
const ROUTE_WANT: usize = 39;
/// Narrowest and widest the whole's bar is drawn.
const BAR_MIN: usize = 6;
const BAR_MAX: usize = 16;
/// Widest and narrowest a stage's bar is drawn.
const STAGE_BAR: usize = 6;
const STAGE_BAR_MIN: usize = 3;

/// "source → target" in at most `room` columns. The target (a server of ours, short) is
/// kept whole where it can be; the source (a customer's host name, often a long FQDN) is cut
/// first, with "…", down to a third of the room; then the target.
pub fn route_label(source: &str, target: &str, room: usize) -> String {
    const ARROW: &str = " → ";
    let (sw, tw) = (
        text::width(&text::sanitize(source)),
        text::width(&text::sanitize(target)),
    );
    let avail = room.saturating_sub(text::width(ARROW));
    // The source keeps a third at least, so two rows to one target still tell apart.
    let tw = tw.min(avail - sw.min(avail / 3));
    let sw = sw.min(avail - tw);
    format!("{}{ARROW}{}", text::truncate(source, sw), text::truncate(target, tw))
}

/// The widths of the stage labels and of their bars on a stage line of `room` columns: whole
/// names ("databases", not "datab") with bars shrunk to [`STAGE_BAR_MIN`] first; only below
/// that are the names cut, with "…".
pub fn stage_widths(stages: &[(&str, i64)], room: usize) -> (usize, usize) {
    let n = stages.len().max(1);
    let names: usize = stages.iter().map(|(s, _)| text::width(s)).sum();
    // Each stage: its name, a space, its bar, a space.
    let bar = (room.saturating_sub(names + 2 * n) / n).clamp(STAGE_BAR_MIN, STAGE_BAR);
    if names + n * (bar + 2) <= room {
        (usize::MAX, bar)
    } else {
        ((room / n).saturating_sub(bar + 2), bar)
    }
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
            let bar_w = w.saturating_sub(HEAD_FIXED + ROUTE_WANT).clamp(BAR_MIN, BAR_MAX);
            let room = w.saturating_sub(HEAD_FIXED + bar_w);
            let route = route_label(&m.source_host, &m.server_name, room);
            let pad = room.saturating_sub(text::width(&route));
            let mut spans = vec![
                Span::styled(marker, theme.accent),
                Span::styled(
                    format!("{} ", m.short_id()),
                    if sel { theme.selection } else { theme.title },
                ),
                Span::styled(format!("{route}{} ", " ".repeat(pad)), theme.base),
                Span::styled(format!("{:<10} ", m.status), tone),
            ];
            spans.extend(bar(m.progress, bar_w, tone, theme.muted));
            spans.push(Span::styled(format!(" {:>3}%", m.progress), theme.base));
            f.render_widget(Paragraph::new(Line::from(spans)), head);
            let mut st = vec![Span::raw("    ")];
            if let Some(e) = m.error.as_deref().filter(|_| m.status == "failed") {
                st.push(Span::styled(
                    text::truncate(e, w.saturating_sub(5)).into_owned(),
                    theme.error,
                ));
            } else {
                let progress = m.stages();
                let (label_w, stage_w) = stage_widths(&progress, w.saturating_sub(4));
                for (name, p) in progress {
                    st.push(Span::styled(format!("{} ", text::truncate(name, label_w)), theme.muted));
                    let fill = if p >= 100 { theme.success } else { theme.info };
                    st.extend(bar(p, stage_w, fill, theme.muted));
                    st.push(Span::raw(" "));
                }
            }
            f.render_widget(Paragraph::new(Line::from(st)), stages);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_cuts_the_source_first_and_never_inside_a_wide_character() {
        assert_eq!(
            route_label("old.example.com", "whm-gru-02", 40),
            "old.example.com → whm-gru-02"
        );
        assert_eq!(
            route_label("cpanel01.hospedagem-antiga.example.com.br", "whm-gru-02", 20),
            "cpanel… → whm-gru-02"
        );
        // Both long: the source keeps a third.
        assert_eq!(
            route_label("a-very-long-source-host", "a-long-target-name", 23),
            "a-ver… → a-long-target…"
        );
        // Each CJK character is two columns: six for the source hold two and the mark, the
        // column left over stays empty (no half glyph).
        let r = route_label("服务器服务器.example", "whm", 12);
        assert_eq!(r, "服务… → whm");
        assert_eq!(text::width(&r), 11);
        // Hostile text is sanitised on the way.
        assert_eq!(route_label("evil\u{1b}[2Jhost", "whm", 40), "evil␛[2Jhost → whm");
    }

    #[test]
    fn stage_names_stay_whole_while_the_bars_can_shrink() {
        let stages: Vec<(&str, i64)> = transfers::TRANSFER_STAGES.iter().map(|s| (*s, 0)).collect();
        assert_eq!(stage_widths(&stages, 74), (usize::MAX, STAGE_BAR));
        // 25 columns of names and 10 of spaces: 50 leave three a bar.
        assert_eq!(stage_widths(&stages, 50), (usize::MAX, 3));
        // Narrower, the names are cut to an equal share.
        assert_eq!(stage_widths(&stages, 45), (4, 3));
    }
}
