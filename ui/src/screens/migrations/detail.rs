//! One migration (`migrations/<id>`): its state and stage bars on top, its log below,
//! following like `tail -f` — new lines are fetched after the last one seen on every tick
//! and the view stays at the bottom until the operator scrolls up (End follows again).
//! `f` cycles a stage filter (all, credentials … finish); `x` aborts (press twice).

use std::time::{Duration, Instant};

use backend::authz::Permission;
use backend::transfers::{self, LogLine, Migration, STAGES};
use backend::ServiceError;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use widgets::Theme;

use super::queue::bar;
use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::{Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

/// How often the log is followed while shown.
pub const LIVE: Duration = Duration::from_millis(750);
/// The most lines kept on screen (older ones drop off the top).
pub const KEEP: usize = 5000;

struct Loaded {
    /// The stage filter the lines were read for (a stale answer is dropped).
    stage: Option<&'static str>,
    r: Result<(Migration, Vec<LogLine>), ServiceError>,
}
struct Aborted(Result<Migration, ServiceError>);

pub struct MigrationScreen {
    pub key: String,
    pub migration: Option<Migration>,
    pub lines: Vec<LogLine>,
    pub stage: Option<&'static str>,
    /// Lines scrolled up from the bottom; 0 = following.
    pub scroll: usize,
    pub error: Option<String>,
    arming: bool,
    in_flight: bool,
    last: Option<Instant>,
}

impl MigrationScreen {
    pub fn new(key: String) -> MigrationScreen {
        MigrationScreen {
            key,
            migration: None,
            lines: Vec::new(),
            stage: None,
            scroll: 0,
            error: None,
            arming: false,
            in_flight: false,
            last: None,
        }
    }

    fn after(&self) -> i64 {
        self.lines.last().map_or(0, |l| l.seq)
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        if self.in_flight {
            return;
        }
        self.in_flight = true;
        self.last = Some(Instant::now());
        let (key, stage, after) = (self.key.clone(), self.stage, self.after());
        ctx.load("migration", move |env| async move {
            let r = async {
                let m = transfers::get(&env.db, &env.actor, &key).await?;
                let lines = transfers::logs(&env.db, &env.actor, m.id, stage, Some(after), KEEP as i64).await?;
                Ok((m, lines))
            };
            Loaded { stage, r: r.await }
        });
    }

    fn next_stage(&mut self) {
        self.stage = match self.stage {
            None => Some(STAGES[0]),
            Some(s) => STAGES
                .iter()
                .position(|x| *x == s)
                .and_then(|i| STAGES.get(i + 1))
                .copied(),
        };
        self.lines.clear();
        self.scroll = 0;
    }
}

impl Screen for MigrationScreen {
    fn route(&self) -> Route {
        Route::Migration { key: self.key.clone() }
    }

    /// The queue screens' keys (`x` abort, `f` stage filter) over the list's.
    fn mode(&self) -> Mode {
        Mode::Jobs
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(&[Action::Up, Action::Down, Action::Bottom, Action::Refresh])
            .labelled(Action::NextStatus, "stage")
            .labelled(Action::CancelJob, "abort")
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        matches!(a, Action::CancelJob).then_some(Permission::ServicesManage)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::Refresh => self.reload(ctx),
            Action::Up => self.scroll = (self.scroll + 1).min(self.lines.len().saturating_sub(1)),
            Action::Down => self.scroll = self.scroll.saturating_sub(1),
            Action::Bottom => self.scroll = 0,
            Action::NextStatus => {
                self.next_stage();
                self.in_flight = false;
                self.reload(ctx);
            }
            Action::CancelJob => {
                let Some(m) = self.migration.clone() else { return true };
                if m.is_finished() {
                    ctx.emit(Action::FlashError(format!("the migration is {}", m.status)));
                } else if self.arming {
                    self.arming = false;
                    let id = m.id.to_string();
                    ctx.load("abort", |env| async move {
                        Aborted(transfers::abort(&env.db, &env.actor, &id).await.map(|(m, _)| m))
                    });
                } else {
                    self.arming = true;
                    ctx.emit(Action::Flash("press x again to abort this migration".into()));
                }
            }
            _ => return false,
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Loaded>() {
            Ok(l) => {
                self.in_flight = false;
                if l.stage != self.stage {
                    return;
                }
                match l.r {
                    Ok((m, lines)) => {
                        let after = self.after();
                        self.lines.extend(lines.into_iter().filter(|x| x.seq > after));
                        let extra = self.lines.len().saturating_sub(KEEP);
                        self.lines.drain(..extra);
                        self.migration = Some(m);
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
                Ok(_) => ctx.emit(Action::Flash("abort asked: the session stops shortly".into())),
                Err(e) => ctx.emit(Action::FlashError(e.to_string())),
            }
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        let done = self.migration.as_ref().is_some_and(Migration::is_finished);
        // A finished migration's log no longer grows: one look a few seconds apart is enough.
        let every = if done { LIVE * 8 } else { LIVE };
        if self.last.is_none_or(|t| t.elapsed() >= every) {
            self.reload(ctx);
        }
        false
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(m) = &self.migration else {
            let msg = self.error.clone().unwrap_or_else(|| "Loading the migration…".into());
            return crate::screens::notice(f, area, "Migration", &msg, theme.muted, theme);
        };
        let [top, log] = Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(area);
        let block = theme.block(false).title(theme.title_line(
            &format!("Migration {} · {}", m.short_id(), m.tenant_slug),
            usize::from(top.width.saturating_sub(2)),
        ));
        let inner = block.inner(top);
        f.render_widget(block, top);
        let tone = theme.tone(tone_for(&m.status));
        let accounts = m.account_list().join(", ");
        let w = usize::from(inner.width);
        // Every part is stored text: the whole line is sanitised and cut with "…".
        let head = format!("{} → {} · {} · {}", m.source_host, m.server_name, m.auth_kind, accounts);
        let mut l2 = vec![Span::styled(format!("{:<10} ", m.status), tone)];
        l2.extend(bar(m.progress, 30, tone, theme.muted));
        l2.push(Span::styled(format!(" {:>3}%", m.progress), theme.base));
        if m.attempts > 1 {
            l2.push(Span::styled(format!("  session {}", m.attempts), theme.muted));
        }
        let mut l3 = Vec::new();
        // Whole stage names ("databases", not "datab"), as on the queue screen.
        let stages = m.stages();
        let (label_w, stage_w) = super::queue::stage_widths(&stages, w);
        for (name, p) in stages {
            l3.push(Span::styled(
                format!("{} ", widgets::text::truncate(name, label_w)),
                theme.muted,
            ));
            l3.extend(bar(
                p,
                stage_w,
                if p >= 100 { theme.success } else { theme.info },
                theme.muted,
            ));
            l3.push(Span::raw(" "));
        }
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(widgets::text::truncate(&head, w).into_owned(), theme.base),
                Line::from(l2),
                Line::from(l3),
            ]),
            inner,
        );
        let filter = self.stage.unwrap_or("all stages");
        let follow = if self.scroll == 0 {
            "following"
        } else {
            "paused (End follows)"
        };
        let block = theme.block(true).title(theme.title_line(
            &format!("Log · {filter} · {follow}"),
            usize::from(log.width.saturating_sub(2)),
        ));
        let inner = block.inner(log);
        f.render_widget(block, log);
        let h = usize::from(inner.height);
        let end = self.lines.len().saturating_sub(self.scroll);
        let start = end.saturating_sub(h);
        let rows: Vec<Line> = self.lines[start..end]
            .iter()
            .map(|l| {
                let style = match l.level.as_str() {
                    "error" => theme.error,
                    "warn" => theme.warning,
                    _ => theme.base,
                };
                Line::from(vec![
                    Span::styled(format!("{} ", l.at.format("%H:%M:%S")), theme.muted),
                    Span::styled(format!("{:<11} ", l.stage), theme.info),
                    // The log comes from the source server: hostile text, shown escaped.
                    Span::styled(widgets::text::sanitize(&l.message).into_owned(), style),
                ])
            })
            .collect();
        if rows.is_empty() {
            f.render_widget(Paragraph::new("No log lines yet.").style(theme.muted), inner);
        } else {
            f.render_widget(Paragraph::new(rows), inner);
        }
    }
}
