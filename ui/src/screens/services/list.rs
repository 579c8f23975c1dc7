//! The hosting services list: newest first, `/` filter over domain, username and customer,
//! Enter opens the service's live screen.

use backend::hosting::services::{self, Service, ServiceQuery};
use backend::page::{Page, SortDir};
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::{page_route, Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

/// Reads service pages (tenant scope and reseller reach applied by the service).
pub struct Services;

impl Source for Services {
    type Page = Page<Service>;

    fn read(&self, q: &Query) -> Result<Read<Page<Service>>, String> {
        let q = ServiceQuery {
            filter: q.filter.clone(),
            dir: if q.desc { SortDir::Asc } else { SortDir::Desc },
            limit: q.limit,
            at: q.at.clone(),
            ..ServiceQuery::default()
        };
        Ok(Box::new(move |env| {
            async move { services::list(&env.db, &env.actor, &q).await }.boxed()
        }))
    }
}

pub struct ServicesList {
    pub list: List<Services>,
}

impl Default for ServicesList {
    fn default() -> Self {
        ServicesList {
            list: List::new("page", Services, FilterMode::Live),
        }
    }
}

impl Screen for ServicesList {
    fn route(&self) -> Route {
        page_route("services/list")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.list.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(&self.list.keys())
            .with(&[Action::Open, Action::Create])
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Create).then_some(backend::authz::Permission::ServicesManage)
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
                    ctx.emit(Action::Goto(format!("services/{}", s.id)));
                }
                true
            }
            Action::Create => {
                ctx.emit(Action::Goto("services/new".into()));
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
            Column::new("DOMAIN", Constraint::Fill(3)).min(12).priority(9),
            Column::new("CUSTOMER", Constraint::Fill(2)).min(10).priority(6),
            Column::new("PLAN", Constraint::Length(8)).priority(7),
            Column::new("STATUS", Constraint::Length(12)).priority(8),
            Column::new("SERVER", Constraint::Length(12)).priority(5),
            Column::new("USER", Constraint::Length(9)).priority(4),
            Column::new("TENANT", Constraint::Length(10)).priority(3),
        ];
        let rows: Vec<DataRow> = self
            .list
            .items()
            .iter()
            .map(|s| {
                DataRow::new([
                    DataCell::new(s.domain.clone().unwrap_or_default()),
                    DataCell::new(s.customer_name.clone()),
                    DataCell::new(s.plan_code.clone()),
                    DataCell::styled(s.status.clone(), tone_for(&s.status)),
                    DataCell::new(s.server_name.clone().unwrap_or_default()),
                    DataCell::new(s.username.clone().unwrap_or_default()),
                    DataCell::new(s.tenant_slug.clone()),
                ])
            })
            .collect();
        let footer = self.list.rows_text("no services");
        let empty = self
            .list
            .empty_text(|v| format!("No service matches \"{v}\"."), "No services yet.");
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title("Services")
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
    }
}

impl ServicesList {
    pub fn rows(&self) -> &[Service] {
        self.list.items()
    }

    pub fn selected(&self) -> Option<&Service> {
        self.rows().get(self.list.selected())
    }
}
