//! The invoices list (docs/adr/0025): newest first, `f` cycles the status filter (draft,
//! pending, overdue, paid, cancelled, refunded, all), `/` searches number, customer and tenant
//! — a status word typed there filters too, as `painel invoices list --search` does — overdue
//! rows stand out, Enter opens the invoice.

use backend::billing::invoices::{self, Invoice, InvoiceQuery, Status};
use backend::page::Page;
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use uuid::Uuid;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::{page_route, Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

/// The order `f` walks the statuses in; after the last, all of them again.
pub const STATUS_CYCLE: [Status; 6] = [
    Status::Draft,
    Status::Pending,
    Status::Overdue,
    Status::Paid,
    Status::Cancelled,
    Status::Refunded,
];

/// The next status filter after `s` (`None` = every status).
pub fn next_status(s: Option<Status>) -> Option<Status> {
    match s {
        None => STATUS_CYCLE.first().copied(),
        Some(s) => STATUS_CYCLE
            .iter()
            .position(|x| *x == s)
            .and_then(|i| STATUS_CYCLE.get(i + 1).copied()),
    }
}

/// Reads invoice pages: the status key's filter, the `/` line's words, one tenant if fixed.
pub struct Invoices {
    pub status: Option<Status>,
    pub tenant: Option<Uuid>,
}

impl Source for Invoices {
    type Page = Page<Invoice>;

    fn read(&self, q: &Query) -> Result<Read<Page<Invoice>>, String> {
        let mut iq = InvoiceQuery {
            status: self.status,
            tenant: self.tenant,
            oldest_first: q.desc,
            limit: q.limit,
            at: q.at.clone(),
            ..InvoiceQuery::default()
        };
        if let Some(line) = &q.filter {
            iq.parse_filter(line)?;
        }
        Ok(Box::new(move |env| {
            async move { invoices::page(&env.db, &env.actor, &iq).await }.boxed()
        }))
    }
}

/// Money as the tables show it.
pub fn amount(minor: i64, currency: &str) -> String {
    backend::money::format(minor, currency)
}

/// An invoice's status cell: overdue in the warning tone, the rest by the shared palette.
pub fn status_tone(status: &str) -> Tone {
    match status {
        "overdue" => Tone::Error,
        "paid" => Tone::Success,
        other => tone_for(other),
    }
}

/// The invoice rows of a table, overdue ones highlighted as a whole.
pub fn rows(items: &[Invoice]) -> Vec<DataRow<'static>> {
    items
        .iter()
        .map(|i| {
            let row = DataRow::new([
                DataCell::new(i.number.clone()),
                DataCell::new(i.customer_name.clone().unwrap_or_else(|| "(reseller)".into())),
                DataCell::new(i.tenant_slug.clone()),
                DataCell::styled(i.status.clone(), status_tone(&i.status)),
                DataCell::new(amount(i.total_minor, &i.currency)),
                DataCell::new(i.due_at.format("%Y-%m-%d").to_string()),
                DataCell::new(i.paid_at.map(|p| p.format("%Y-%m-%d").to_string()).unwrap_or_default()),
            ]);
            if i.status == "overdue" {
                row.tone(Tone::Warning)
            } else {
                row
            }
        })
        .collect()
}

pub fn columns() -> [Column<'static>; 7] {
    [
        Column::new("NUMBER", Constraint::Length(14)).priority(9),
        Column::new("CUSTOMER", Constraint::Fill(3)).min(10).priority(6),
        Column::new("TENANT", Constraint::Length(12)).priority(4),
        Column::new("STATUS", Constraint::Length(9)).priority(8),
        Column::new("TOTAL", Constraint::Length(14)).priority(7),
        Column::new("DUE", Constraint::Length(10)).priority(5),
        Column::new("PAID", Constraint::Length(10)).priority(3),
    ]
}

pub struct InvoicesList {
    pub list: List<Invoices>,
}

impl Default for InvoicesList {
    fn default() -> Self {
        InvoicesList {
            list: List::new(
                "page",
                Invoices {
                    status: None,
                    tenant: None,
                },
                FilterMode::Live,
            ),
        }
    }
}

impl InvoicesList {
    pub fn rows(&self) -> &[Invoice] {
        self.list.items()
    }

    pub fn selected(&self) -> Option<&Invoice> {
        self.rows().get(self.list.selected())
    }

    /// The table's title: which status it shows.
    pub fn title(&self) -> String {
        match self.list.source.status {
            Some(s) => format!("Invoices · {} (f: next status)", s.as_str()),
            None => "Invoices · all (f: by status)".into(),
        }
    }
}

impl Screen for InvoicesList {
    fn route(&self) -> Route {
        page_route("billing/invoices")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.list.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(&self.list.keys())
            .with(&[Action::Open])
            .labelled(Action::NextStatus, "status")
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
                if let Some(i) = self.selected() {
                    ctx.emit(Action::Goto(format!("billing/invoices/{}", i.id)));
                }
                true
            }
            Action::NextStatus => {
                self.list.source.status = next_status(self.list.source.status);
                self.list.restart(ctx, false);
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
        let columns = columns();
        let rows = rows(self.list.items());
        let footer = self.list.rows_text("no invoices");
        let empty = self
            .list
            .empty_text(|v| format!("No invoice matches \"{v}\"."), "No invoices here.");
        let title = self.title();
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_key_walks_every_status_then_all() {
        let mut s = None;
        let mut seen = Vec::new();
        for _ in 0..7 {
            s = next_status(s);
            seen.push(s.map_or("all", Status::as_str));
        }
        assert_eq!(
            seen,
            ["draft", "pending", "overdue", "paid", "cancelled", "refunded", "all"]
        );
    }
}
