//! The customer list: keyset pages by name, `/` filter over name and e-mail (the trigram
//! index), Enter opens the customer's story.

use backend::customers::{self, Customer, CustomerQuery};
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

/// Reads customer pages (tenant scope and reseller reach applied by the service).
pub struct Customers;

impl Source for Customers {
    type Page = Page<Customer>;

    fn read(&self, q: &Query) -> Result<Read<Page<Customer>>, String> {
        let q = CustomerQuery {
            filter: q.filter.clone(),
            dir: if q.desc { SortDir::Desc } else { SortDir::Asc },
            limit: q.limit,
            at: q.at.clone(),
            ..CustomerQuery::default()
        };
        Ok(Box::new(move |env| {
            async move { customers::list(&env.db, &env.actor, &q).await }.boxed()
        }))
    }
}

pub struct CustomersList {
    pub list: List<Customers>,
}

impl Default for CustomersList {
    fn default() -> Self {
        CustomersList {
            list: List::new("page", Customers, FilterMode::Live),
        }
    }
}

impl Screen for CustomersList {
    fn route(&self) -> Route {
        page_route("customers")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.list.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new().with(&self.list.keys()).with(&[Action::Open])
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
                if let Some(c) = self.selected() {
                    ctx.emit(Action::Goto(format!("customers/{}", c.id)));
                }
                true
            }
            _ => false,
        }
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.list.on_input(key, ctx);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        self.list.apply(msg, ctx);
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.list.frame(f, area, theme);
        let columns = [
            Column::new("NAME", Constraint::Fill(3)).min(12).priority(9),
            Column::new("E-MAIL", Constraint::Fill(3)).min(14).priority(8),
            Column::new("TENANT", Constraint::Length(12)).priority(6),
            Column::new("STATUS", Constraint::Length(9)).priority(7),
            Column::new("PHONE", Constraint::Length(17)).priority(2),
            Column::new("SINCE", Constraint::Length(10)).priority(3),
        ];
        let rows: Vec<DataRow> = self
            .list
            .items()
            .iter()
            .map(|c| {
                DataRow::new([
                    DataCell::new(c.name.clone()),
                    DataCell::new(c.email.clone()),
                    DataCell::new(c.tenant_slug.clone()),
                    DataCell::styled(c.status.clone(), tone_for(&c.status)),
                    DataCell::new(c.phone.clone().unwrap_or_default()),
                    DataCell::new(c.created_at.format("%Y-%m-%d").to_string()),
                ])
            })
            .collect();
        let footer = self.list.rows_text("no customers");
        let empty = self
            .list
            .empty_text(|v| format!("No customer matches \"{v}\"."), "No customers yet.");
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title("Customers")
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
    }
}

impl CustomersList {
    pub fn rows(&self) -> &[Customer] {
        self.list.items()
    }

    pub fn selected(&self) -> Option<&Customer> {
        self.rows().get(self.list.selected())
    }
}
