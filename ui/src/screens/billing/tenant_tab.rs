//! A tenant's billing tab (docs/adr/0025): its money figures (received in the last 30 days,
//! open, overdue, MRR), its invoices (the invoices list, fixed to the tenant: `f` status, `/`
//! search, Enter opens one) and its latest payments.

use std::collections::BTreeMap;

use backend::billing::figures::{self, join};
use backend::billing::invoices::{self, Status};
use backend::ServiceError;
use chrono::TimeDelta;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use uuid::Uuid;
use widgets::{DataTable, Theme};

use crate::action::Action;
use crate::screens::billing::invoices::{self as list, next_status, Invoices};
use crate::screens::billing::payments::{self as pays, Payments};
use crate::screens::common::list::{FilterMode, List};
use crate::screens::{Ctx, Mode};
use crate::tasks::Msg;

/// The tenant's money, as the tab's first lines show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    pub received_30d: (i64, BTreeMap<String, i64>),
    pub open: (i64, BTreeMap<String, i64>),
    pub overdue: (i64, BTreeMap<String, i64>),
    pub mrr: (i64, BTreeMap<String, i64>),
}

struct MoneyReply(Result<Money, ServiceError>);

fn by_currency(f: Vec<invoices::Figure>) -> (i64, BTreeMap<String, i64>) {
    (
        f.iter().map(|x| x.count).sum(),
        f.into_iter().map(|x| (x.currency, x.sum_minor)).collect(),
    )
}

pub struct TenantBilling {
    pub tenant: Uuid,
    pub name: String,
    pub invoices: List<Invoices>,
    pub payments: List<Payments>,
    pub money: Option<Money>,
}

impl TenantBilling {
    pub fn new(tenant: Uuid, name: &str) -> TenantBilling {
        TenantBilling {
            tenant,
            name: name.to_owned(),
            invoices: List::new(
                "billing",
                Invoices {
                    status: None,
                    tenant: Some(tenant),
                },
                FilterMode::Live,
            ),
            payments: List::new(
                "billing-payments",
                Payments {
                    status: None,
                    tenant: Some(tenant),
                },
                FilterMode::Off,
            ),
            money: None,
        }
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        self.invoices.reload(ctx);
        self.payments.reload(ctx);
        let tenant = self.tenant;
        ctx.load("billing-money", move |env| async move {
            let r = async {
                let (db, a, t) = (&env.db, &env.actor, Some(tenant));
                let since = backend::db::now() - TimeDelta::days(30);
                Ok(Money {
                    received_30d: figures::paid_since(db, a, since, t).await?,
                    open: by_currency(invoices::totals(db, a, Status::Pending, t).await?),
                    overdue: by_currency(invoices::totals(db, a, Status::Overdue, t).await?),
                    mrr: figures::recurring(db, a, t).await?,
                })
            };
            MoneyReply(r.await)
        });
    }

    pub fn keys(&self) -> Vec<Action> {
        let mut k = self.invoices.keys();
        k.extend([Action::Open, Action::NextStatus]);
        k
    }

    pub fn mode(&self) -> Mode {
        self.invoices.mode(Mode::List)
    }

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.invoices.on_action(a, ctx) {
            return true;
        }
        match a {
            Action::Open => {
                if let Some(i) = self.invoices.items().get(self.invoices.selected()) {
                    ctx.emit(Action::Goto(format!("billing/invoices/{}", i.id)));
                }
                true
            }
            Action::NextStatus => {
                self.invoices.source.status = next_status(self.invoices.source.status);
                self.invoices.restart(ctx, false);
                true
            }
            _ => false,
        }
    }

    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.invoices.on_input(key, ctx);
    }

    /// Takes its own replies; gives any other message back.
    pub fn apply(&mut self, msg: Msg, ctx: &mut Ctx) -> Option<Msg> {
        let msg = match msg.downcast::<MoneyReply>() {
            Ok(r) => {
                match r.0 {
                    Ok(m) => self.money = Some(m),
                    Err(e) => ctx.emit(Action::FlashError(e.to_string())),
                }
                return None;
            }
            Err(m) => m,
        };
        let msg = self.invoices.apply(msg, ctx)?;
        self.payments.apply(msg, ctx)
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let [head, inv, pay] =
            Layout::vertical([Constraint::Length(2), Constraint::Fill(3), Constraint::Fill(2)]).areas(area);
        let line = match &self.money {
            None => Line::from(Span::styled("Loading the money figures…", theme.muted)),
            Some(m) => {
                let part = |label: &str, (n, sums): &(i64, BTreeMap<String, i64>)| {
                    vec![
                        Span::styled(format!("{label} "), theme.muted),
                        Span::styled(format!("{n} · {}", join(sums)), theme.base),
                        Span::raw("   "),
                    ]
                };
                let mut spans = part("Received 30d", &m.received_30d);
                spans.extend(part("Open", &m.open));
                let overdue = part("Overdue", &m.overdue);
                let tone = if m.overdue.0 > 0 { theme.warning } else { theme.base };
                spans.extend(
                    overdue
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| if i == 1 { s.style(tone) } else { s }),
                );
                spans.extend(part("MRR", &m.mrr));
                Line::from(spans)
            }
        };
        f.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(format!("Billing of {}", self.name), theme.title)),
                line,
            ]),
            head,
        );
        let inv = self.invoices.frame(f, inv, theme);
        let columns = list::columns();
        let rows = list::rows(self.invoices.items());
        let footer = self.invoices.rows_text("no invoices");
        let empty = self
            .invoices
            .empty_text(|v| format!("No invoice matches \"{v}\"."), "No invoices yet.");
        let title = match self.invoices.source.status {
            Some(s) => format!("Invoices · {} (f: next status)", s.as_str()),
            None => "Invoices · all (f: by status)".into(),
        };
        let table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, inv, &mut self.invoices.paging.state);
        let columns = pays::columns();
        let rows = pays::rows(self.payments.items());
        let footer = self.payments.rows_text("no payments");
        let table = DataTable::new(&columns, &rows, theme)
            .title("Latest payments")
            .footer(&footer)
            .empty_message("No payments yet.");
        f.render_stateful_widget(table, pay, &mut ratatui::widgets::TableState::default());
    }
}
