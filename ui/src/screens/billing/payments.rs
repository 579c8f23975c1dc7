//! The payments list (docs/adr/0025): newest first, `f` cycles the status filter, `/` takes
//! provider and status words (`stripe refunded`, `today`) and searches invoice number,
//! customer, tenant and provider id. Enter opens the payment's invoice; `R` refunds the
//! selected payment (the refund screen is the stripe helper's, behind `payments:record`).

use backend::authz::Permission;
use backend::billing::payments::{self, Payment, PaymentQuery, STATUSES};
use backend::page::Page;
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use uuid::Uuid;
use widgets::{Column, DataCell, DataRow, DataTable, Theme};

use crate::action::Action;
use crate::router::Route;
use crate::screens::billing::invoices::amount;
use crate::screens::common::browse::tone_for;
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::{page_route, Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

pub struct Payments {
    pub status: Option<&'static str>,
    pub tenant: Option<Uuid>,
}

impl Source for Payments {
    type Page = Page<Payment>;

    fn read(&self, q: &Query) -> Result<Read<Page<Payment>>, String> {
        let mut pq = PaymentQuery {
            status: self.status.map(str::to_owned),
            tenant: self.tenant,
            limit: q.limit,
            at: q.at.clone(),
            ..PaymentQuery::default()
        };
        if let Some(line) = &q.filter {
            pq.parse_filter(line)?;
        }
        Ok(Box::new(move |env| {
            async move { payments::list(&env.db, &env.actor, &pq).await }.boxed()
        }))
    }
}

/// The route of a payment's refund screen.
pub fn refund_route(id: Uuid) -> String {
    format!("billing/payments/{id}/refund")
}

pub fn columns() -> [Column<'static>; 7] {
    [
        Column::new("INVOICE", Constraint::Length(14)).priority(9),
        Column::new("CUSTOMER", Constraint::Fill(2)).min(10).priority(5),
        Column::new("PROVIDER", Constraint::Length(11)).priority(8),
        Column::new("STATUS", Constraint::Length(10)).priority(7),
        Column::new("AMOUNT", Constraint::Length(14)).priority(8),
        Column::new("PAID", Constraint::Length(10)).priority(4),
        Column::new("TENANT", Constraint::Length(10)).priority(3),
    ]
}

pub fn rows(items: &[Payment]) -> Vec<DataRow<'static>> {
    items
        .iter()
        .map(|p| {
            let money = if p.refunded_minor > 0 {
                format!(
                    "{} (−{})",
                    amount(p.amount_minor, &p.currency),
                    amount(p.refunded_minor, &p.currency)
                )
            } else {
                amount(p.amount_minor, &p.currency)
            };
            DataRow::new([
                DataCell::new(p.invoice_number.clone()),
                DataCell::new(p.customer_name.clone().unwrap_or_else(|| "(reseller)".into())),
                DataCell::new(p.provider.clone()),
                DataCell::styled(p.status.clone(), tone_for(&p.status)),
                DataCell::new(money),
                DataCell::new(p.paid_at.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()),
                DataCell::new(p.tenant_slug.clone()),
            ])
        })
        .collect()
}

pub struct PaymentsList {
    pub list: List<Payments>,
}

impl Default for PaymentsList {
    fn default() -> Self {
        PaymentsList {
            list: List::new(
                "page",
                Payments {
                    status: None,
                    tenant: None,
                },
                FilterMode::Live,
            ),
        }
    }
}

impl PaymentsList {
    pub fn selected(&self) -> Option<&Payment> {
        self.list.items().get(self.list.selected())
    }
}

impl Screen for PaymentsList {
    fn route(&self) -> Route {
        page_route("billing/payments")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.list.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(&self.list.keys())
            .with(&[Action::Open])
            .labelled(Action::NextStatus, "status")
            .when(self.selected().is_some(), &[Action::Refund])
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        matches!(a, Action::Refund).then_some(Permission::PaymentsRefund)
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
                if let Some(p) = self.selected() {
                    ctx.emit(Action::Goto(format!("billing/invoices/{}", p.invoice_id)));
                }
                true
            }
            Action::Refund => {
                if let Some(p) = self.selected() {
                    ctx.emit(Action::Goto(refund_route(p.id)));
                }
                true
            }
            Action::NextStatus => {
                let next = match self.list.source.status {
                    None => STATUSES.first(),
                    Some(s) => STATUSES.iter().position(|x| *x == s).and_then(|i| STATUSES.get(i + 1)),
                };
                self.list.source.status = next.copied();
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
        let footer = self.list.rows_text("no payments");
        let empty = self
            .list
            .empty_text(|v| format!("No payment matches \"{v}\"."), "No payments here.");
        let title = match self.list.source.status {
            Some(s) => format!("Payments · {s} (f: next status)"),
            None => "Payments · all (f: by status)".into(),
        };
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
    }
}
