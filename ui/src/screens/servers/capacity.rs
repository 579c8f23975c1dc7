//! Capacity (`servers/capacity`): every server's accounts and disk against its limits, as
//! CapacityBars coloured by the theme's thresholds, fullest first.

use backend::hosting::servers::{self, Server, ServerQuery};
use backend::ServiceError;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use widgets::Theme;

use super::detail::capacity_lines;
use super::list::percent;
use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::{page_route, Ctx, Keys, Screen, TABS};
use crate::tasks::Msg;

struct Loaded(Result<Vec<Server>, ServiceError>);

#[derive(Default)]
pub struct CapacityScreen {
    pub servers: Option<Vec<Server>>,
    pub error: Option<String>,
    /// The first server shown (scrolling).
    pub top: usize,
}

/// How full a server is: the larger of its accounts and disk usage (unknown limits: 0).
pub fn fullness(s: &Server) -> f64 {
    let a = percent(s.accounts_count, s.max_accounts).unwrap_or(0.0);
    let d = percent(s.disk_used_gb, Some(s.disk_total_gb)).unwrap_or(0.0);
    a.max(d)
}

impl CapacityScreen {
    fn reload(&mut self, ctx: &mut Ctx) {
        ctx.load("capacity", |env| async move {
            Loaded(servers::list(&env.db, &env.actor, &ServerQuery::default()).await)
        });
    }
}

impl Screen for CapacityScreen {
    fn route(&self) -> Route {
        page_route("servers/capacity")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(TABS)
            .with(&[Action::Up, Action::Down, Action::Refresh])
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        let n = self.servers.as_ref().map_or(0, Vec::len);
        match a {
            Action::Refresh => self.reload(ctx),
            Action::Down => self.top = (self.top + 1).min(n.saturating_sub(1)),
            Action::Up => self.top = self.top.saturating_sub(1),
            _ => return false,
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        if let Ok(r) = msg.downcast::<Loaded>() {
            match r.0 {
                Ok(mut v) => {
                    v.sort_by(|a, b| fullness(b).total_cmp(&fullness(a)).then_with(|| a.name.cmp(&b.name)));
                    self.servers = Some(v);
                    self.error = None;
                }
                Err(e) => {
                    self.error = Some(e.to_string());
                    ctx.emit(Action::FlashError(e.to_string()));
                }
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(servers) = &self.servers else {
            let msg = self.error.clone().unwrap_or_else(|| "Loading servers…".into());
            return crate::screens::notice(f, area, "Capacity", &msg, theme.muted, theme);
        };
        let block = theme.block(true).title(theme.title_line(
            &format!("Capacity · {} servers, fullest first", servers.len()),
            usize::from(area.width.saturating_sub(2)),
        ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        if servers.is_empty() {
            f.render_widget(Paragraph::new("No servers yet.").style(theme.muted), inner);
            return;
        }
        // Three lines a server: name and status, accounts, disk.
        let fit = usize::from(inner.height / 3).max(1);
        let rows = Layout::vertical(vec![Constraint::Length(3); fit]).split(inner);
        for (s, row) in servers.iter().skip(self.top).zip(rows.iter()) {
            let [head, bars] = Layout::vertical([Constraint::Length(1), Constraint::Length(2)]).areas(*row);
            f.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled(s.name.clone(), theme.title),
                    Span::styled(format!("  {}  ", s.region), theme.muted),
                    Span::styled(s.status.clone(), theme.tone(tone_for(&s.status))),
                ])),
                head,
            );
            capacity_lines(f, bars, s, theme);
        }
    }
}
