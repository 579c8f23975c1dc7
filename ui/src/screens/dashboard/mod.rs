//! The dashboard: counts and money figures from `backend::dashboard::stats` as
//! [`StatCard`]s; Enter opens the route behind a card (its list, filtered).

use backend::authz::{allows, Permission};
use backend::dashboard::Stat;
use backend::hosting::servers::{self, Server, ServerQuery};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use widgets::{StatCard, Theme, Tone};

use backend::{dashboard, ServiceError};

use crate::action::Action;
use crate::router::Route;
use crate::screens::{Ctx, Keys, Screen, MOVING};
use crate::tasks::Msg;

/// The stats came back.
struct Stats(Result<Vec<Stat>, ServiceError>);
/// The server grid's rows came back (platform staff only; others get none).
struct Fleet(Result<Vec<Server>, ServiceError>);

const CARD_WIDTH: u16 = 24;
const CARD_HEIGHT: u16 = 4;

#[derive(Default)]
pub struct Dashboard {
    pub stats: Option<Vec<Stat>>,
    pub error: Option<String>,
    pub selected: usize,
    /// The server grid: every server's health and fullness, failures at once.
    pub servers: Vec<Server>,
    columns: usize,
}

fn tone(s: &Stat) -> Tone {
    let bad = ["error", "failed", "degraded", "overdue", "suspended", "incidents"];
    if s.value == 0 {
        Tone::Muted
    } else if bad.iter().any(|b| s.label.to_lowercase().contains(b)) {
        Tone::Warning
    } else {
        Tone::Accent
    }
}

impl Dashboard {
    pub fn reload(&mut self, ctx: &mut Ctx) {
        ctx.load("stats", |env| async move {
            Stats(dashboard::stats(&env.db, &env.actor).await)
        });
        ctx.load("fleet", |env| async move {
            if allows(&env.actor, Permission::ServersRead) {
                Fleet(servers::list(&env.db, &env.actor, &ServerQuery::default()).await)
            } else {
                Fleet(Ok(Vec::new()))
            }
        });
    }

    fn len(&self) -> usize {
        self.stats.as_ref().map_or(0, Vec::len)
    }

    fn go(&mut self, delta: isize) {
        let max = self.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, max) as usize;
    }
}

impl Screen for Dashboard {
    fn route(&self) -> Route {
        Route::dashboard()
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(MOVING)
            .with(&[Action::Open, Action::Left, Action::Right])
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        let cols = self.columns.max(1) as isize;
        match a {
            Action::Right => self.go(1),
            Action::Left => self.go(-1),
            Action::Down => self.go(cols),
            Action::Up => self.go(-cols),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = self.len().saturating_sub(1),
            Action::Refresh => self.reload(ctx),
            Action::Open => {
                if let Some(s) = self.stats.as_ref().and_then(|s| s.get(self.selected)) {
                    ctx.emit(Action::Goto(s.route.to_owned()));
                }
            }
            _ => return false,
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Fleet>() {
            Ok(r) => {
                if let Fleet(Ok(v)) = *r {
                    self.servers = v;
                }
                return;
            }
            Err(m) => m,
        };
        let Ok(r) = msg.downcast::<Stats>() else { return };
        let Stats(r) = *r;
        match r {
            Ok(s) => {
                self.stats = Some(s);
                self.error = None;
                self.go(0);
            }
            Err(e) => {
                ctx.emit(Action::FlashError(e.to_string()));
                self.error = Some(e.to_string());
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let stats = match (&self.stats, &self.error) {
            (_, Some(e)) => return crate::screens::notice(f, area, "Dashboard", e, theme.error, theme),
            (None, None) => return crate::screens::notice(f, area, "Dashboard", "Loading…", theme.muted, theme),
            (Some(s), None) if s.is_empty() => {
                let msg = "Nothing to show: your role sees none of the dashboard's figures.";
                return crate::screens::notice(f, area, "Dashboard", msg, theme.muted, theme);
            }
            (Some(s), None) => s,
        };
        let block = theme
            .block(true)
            .title(theme.title_line("Dashboard", usize::from(area.width)));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let cols = usize::from((inner.width / (CARD_WIDTH + 1)).max(1));
        self.columns = cols;
        let card_w = (inner.width / cols as u16).saturating_sub(1).max(8);
        for (i, s) in stats.iter().enumerate() {
            let (row, col) = ((i / cols) as u16, (i % cols) as u16);
            let y = inner.y + row * CARD_HEIGHT;
            if y + CARD_HEIGHT > inner.bottom() {
                break;
            }
            let rect = Rect::new(inner.x + col * (card_w + 1), y, card_w, CARD_HEIGHT).intersection(inner);
            let value = s.text.clone().unwrap_or_else(|| s.value.to_string());
            let route = format!("→ {}", s.route.replace('?', " /"));
            let card = StatCard::new(s.label, &value, theme)
                .subtitle(&route)
                .tone(tone(s))
                .focused(i == self.selected);
            f.render_widget(card, rect);
        }
        let used = (stats.len().div_ceil(cols) as u16).saturating_mul(CARD_HEIGHT);
        let rest = Rect::new(inner.x, inner.y + used, inner.width, inner.height.saturating_sub(used));
        server_grid(f, rest, &self.servers, theme);
    }
}

const CELL_WIDTH: u16 = 26;

/// One cell per server: name and status, then accounts and disk against their limits, or the
/// last error of a server that stopped answering.
fn server_grid(f: &mut Frame, area: Rect, fleet: &[Server], theme: &Theme) {
    if fleet.is_empty() || area.height < 3 {
        return;
    }
    let title = Line::from(Span::styled(format!("Servers ({})", fleet.len()), theme.title));
    f.render_widget(Paragraph::new(title), Rect::new(area.x, area.y, area.width, 1));
    let cols = usize::from((area.width / CELL_WIDTH).max(1));
    for (i, s) in fleet.iter().enumerate() {
        let (row, col) = ((i / cols) as u16, (i % cols) as u16);
        let y = area.y + 1 + row * 2;
        if y + 2 > area.bottom() {
            break;
        }
        let rect = Rect::new(area.x + col * CELL_WIDTH, y, CELL_WIDTH.saturating_sub(1), 2).intersection(area);
        let status = theme.tone(crate::screens::common::browse::tone_for(&s.status));
        let second = match &s.last_error {
            Some(e) => Span::styled(e.clone(), theme.error),
            None => {
                let pct = crate::screens::servers::list::percent(s.disk_used_gb, Some(s.disk_total_gb));
                let tone = pct.map_or(Tone::Muted, widgets::capacity_tone);
                Span::styled(
                    format!(
                        "{} acc · disk {}",
                        crate::screens::servers::list::of_limit(s.accounts_count, s.max_accounts),
                        pct.map_or_else(|| "n/a".to_owned(), |p| format!("{p:.0}%"))
                    ),
                    theme.tone(tone),
                )
            }
        };
        let lines = vec![
            Line::from(vec![
                Span::styled("● ", status),
                Span::styled(s.name.clone(), theme.base),
                Span::styled(format!(" {}", s.status), status),
            ]),
            Line::from(second),
        ];
        f.render_widget(Paragraph::new(lines), rect);
    }
}
