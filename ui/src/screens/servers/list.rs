//! The servers list (`servers`): the fleet with its health and how full each server is;
//! `/` filters by name, host or region, Enter opens the server's screen.

use backend::hosting::servers::{self, Server, ServerQuery};
use backend::page::Page;
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{capacity_tone, Column, DataCell, DataRow, DataTable, Theme};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::{page_route, Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

/// Reads the fleet (one page: servers are tens, not thousands).
pub struct Servers;

impl Source for Servers {
    type Page = Page<Server>;

    fn read(&self, q: &Query) -> Result<Read<Page<Server>>, String> {
        let q = ServerQuery {
            filter: q.filter.clone(),
            ..ServerQuery::default()
        };
        Ok(Box::new(move |env| {
            async move {
                servers::list(&env.db, &env.actor, &q).await.map(|items| Page {
                    items,
                    has_next: false,
                    has_prev: false,
                    first: None,
                    last: None,
                    next_cursor: None,
                })
            }
            .boxed()
        }))
    }
}

pub struct ServersList {
    pub list: List<Servers>,
}

impl Default for ServersList {
    fn default() -> Self {
        ServersList {
            list: List::new("page", Servers, FilterMode::Live),
        }
    }
}

/// `used/max`, or `used` alone when unlimited.
pub fn of_limit(used: i64, max: Option<i64>) -> String {
    match max {
        Some(m) => format!("{used}/{m}"),
        None => used.to_string(),
    }
}

/// Usage in percent when the total is known.
pub fn percent(used: i64, total: Option<i64>) -> Option<f64> {
    total.filter(|t| *t > 0).map(|t| used as f64 * 100.0 / t as f64)
}

fn usage_cell(used: i64, total: Option<i64>) -> DataCell<'static> {
    let text = of_limit(used, total);
    match percent(used, total) {
        Some(p) => DataCell::styled(text, capacity_tone(p)),
        None => DataCell::new(text),
    }
}

impl Screen for ServersList {
    fn route(&self) -> Route {
        page_route("servers")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.list.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(&self.list.keys())
            .with(&[Action::Open])
            .labelled(Action::Create, "new server")
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Create).then_some(backend::authz::Permission::ServersManage)
    }

    fn mode(&self) -> Mode {
        self.list.mode(Mode::List)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.list.on_action(a, ctx) {
            return true;
        }
        match a {
            Action::Open => {
                if let Some(s) = self.selected() {
                    ctx.emit(Action::Goto(format!("servers/{}", s.name)));
                }
                true
            }
            Action::Create => {
                ctx.emit(Action::Goto("servers/create".into()));
                true
            }
            _ => false,
        }
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.list.on_input(key, ctx);
    }

    fn filter_by(&mut self, text: &str, ctx: &mut Ctx) -> bool {
        self.list.preset(text, ctx);
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        self.list.apply(msg, ctx);
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.list.frame(f, area, theme);
        let columns = [
            Column::new("NAME", Constraint::Fill(2)).min(10).priority(9),
            Column::new("REGION", Constraint::Length(12)).priority(7),
            Column::new("STATUS", Constraint::Length(11)).priority(8),
            Column::new("ACCOUNTS", Constraint::Length(9)).priority(6),
            Column::new("DISK GB", Constraint::Length(9)).priority(5),
            Column::new("KIND", Constraint::Length(6)).priority(2),
            Column::new("TLS", Constraint::Length(6)).priority(3),
            Column::new("LAST ERROR", Constraint::Fill(3)).min(12).priority(4),
        ];
        let rows: Vec<DataRow> = self
            .list
            .items()
            .iter()
            .map(|s| {
                let tls_tone = if s.tls_mode == "trust" {
                    widgets::Tone::Warning
                } else {
                    widgets::Tone::Muted
                };
                DataRow::new([
                    DataCell::new(s.name.clone()),
                    DataCell::new(s.region.clone()),
                    DataCell::styled(s.status.clone(), tone_for(&s.status)),
                    usage_cell(s.accounts_count, s.max_accounts),
                    usage_cell(s.disk_used_gb, Some(s.disk_total_gb)),
                    DataCell::new(s.kind.clone()),
                    DataCell::styled(s.tls_mode.clone(), tls_tone),
                    DataCell::styled(s.last_error.clone().unwrap_or_default(), widgets::Tone::Error),
                ])
            })
            .collect();
        let footer = self.list.rows_text("no servers");
        let empty = self
            .list
            .empty_text(|v| format!("No server matches \"{v}\"."), "No servers yet.");
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title("Servers")
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
    }
}

impl ServersList {
    pub fn rows(&self) -> &[Server] {
        self.list.items()
    }

    pub fn selected(&self) -> Option<&Server> {
        self.rows().get(self.list.selected())
    }
}
