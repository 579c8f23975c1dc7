//! DNS & SSL failures (`dns-ssl/failures`), live: records Cloudflare refused, zones in error,
//! nameserver verifications stalled — and the certificate failures the ssl slice adds
//! through `backend::dns::failures::all` (one list). Reloads every few seconds on its own,
//! and at once when a DNS change is announced.

use std::time::{Duration, Instant};

use backend::dns::failures::{self, Failure};
use backend::ServiceError;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, TableState, Wrap};
use ratatui::Frame;
use widgets::text::sanitize;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use super::zones::step;
use crate::action::Action;
use crate::router::Route;
use crate::screens::{page_route, Ctx, Keys, Screen, MOVING};
use crate::tasks::Msg;

/// How often the feed reloads without a key press.
pub const EVERY: Duration = Duration::from_secs(3);

struct Loaded(Result<Vec<Failure>, ServiceError>);

#[derive(Default)]
pub struct FailuresScreen {
    pub rows: Option<Vec<Failure>>,
    pub error: Option<String>,
    pub state: TableState,
    last: Option<Instant>,
    loading: bool,
}

impl FailuresScreen {
    fn selected(&self) -> Option<&Failure> {
        self.rows.as_ref()?.get(self.state.selected().unwrap_or(0))
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        self.loading = true;
        self.last = Some(Instant::now());
        ctx.load("failures", |env| async move {
            Loaded(failures::all(&env.db, &env.actor, 500).await)
        });
    }
}

impl Screen for FailuresScreen {
    fn route(&self) -> Route {
        page_route("dns-ssl/failures")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new().with(MOVING).with(&[Action::Open])
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        let len = self.rows.as_ref().map_or(0, Vec::len);
        if step(&mut self.state, len, a) {
            return true;
        }
        match a {
            Action::Refresh => {
                self.reload(ctx);
                true
            }
            Action::Open => {
                let Some(f) = self.selected() else { return true };
                let to = match (f.source.as_str(), f.kind.as_str()) {
                    // The certificate's row in the inventory, where r/c act on it.
                    ("ssl", _) => format!("dns-ssl/certificates?{}", f.subject),
                    // "TYPE name content": the zone is the name's registrable part.
                    (_, "record") => format!("dns-ssl/zones/{}", f.subject.split(' ').nth(1).unwrap_or("")),
                    _ => format!("dns-ssl/zones/{}", f.subject),
                };
                if !to.ends_with('/') && !to.ends_with('?') {
                    ctx.emit(Action::Goto(to));
                }
                true
            }
            _ => false,
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        if !self.loading && self.last.is_none_or(|t| t.elapsed() >= EVERY) {
            self.reload(ctx);
        }
        false
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, _ctx: &mut Ctx) {
        let Ok(r) = msg.downcast::<Loaded>() else { return };
        self.loading = false;
        match r.0 {
            Ok(rows) => {
                if self.state.selected().is_none() && !rows.is_empty() {
                    self.state.select(Some(0));
                }
                self.rows = Some(rows);
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(rows) = &self.rows else {
            let msg = self.error.clone().unwrap_or_else(|| "Loading failures…".into());
            return crate::screens::notice(f, area, "DNS & SSL failures", &msg, theme.muted, theme);
        };
        let columns = [
            Column::new("SRC", Constraint::Length(3)).priority(7),
            Column::new("KIND", Constraint::Length(12)).priority(8),
            Column::new("SUBJECT", Constraint::Fill(2)).min(14).priority(9),
            Column::new("DETAIL", Constraint::Fill(3)).min(14).priority(8),
            Column::new("TENANT", Constraint::Length(10)).priority(4),
            Column::new("SINCE", Constraint::Length(16)).priority(5),
        ];
        let table_rows: Vec<DataRow> = rows
            .iter()
            .map(|r| {
                DataRow::new([
                    DataCell::new(r.source.clone()),
                    DataCell::styled(r.kind.clone(), Tone::Warning),
                    DataCell::new(r.subject.clone()),
                    DataCell::styled(r.detail.clone(), Tone::Error),
                    DataCell::new(r.tenant_slug.clone()),
                    DataCell::new(r.since.format("%Y-%m-%d %H:%M").to_string()),
                ])
            })
            .collect();
        let footer = format!("{} failures · live, every {}s", rows.len(), EVERY.as_secs());
        let table = DataTable::new(&columns, &table_rows, theme)
            .title("DNS & SSL failures")
            .footer(&footer)
            .empty_message("No failures: every record is in sync and no verification is stalled.");
        // Subjects and provider texts are long: the selected one is shown whole below.
        let [list, below] = Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(area);
        f.render_stateful_widget(table, list, &mut self.state);
        let Some(sel) = self.selected() else { return };
        let block = theme.block(false).title(theme.title_line(
            &format!("{} {} · {}", sel.source, sel.kind, sel.tenant_slug),
            usize::from(below.width.saturating_sub(2)),
        ));
        let text = vec![
            Line::from(sanitize(&sel.subject).into_owned()),
            Line::styled(sanitize(&sel.detail).into_owned(), theme.error),
        ];
        f.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: true }), below);
    }
}
