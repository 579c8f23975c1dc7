//! One invoice (docs/adr/0025): what it asks and what arrived — status (overdue and partially
//! paid stand out), items, payments, and its timeline (the invoice's and its payments' audit
//! rows; the renewal/dunning steps join this section). `p` opens its PIX charge, `R` refunds
//! the selected payment, `m` records a manual payment — each offered only to actors with the
//! permission, and only while it makes sense.

use backend::authz::Permission;
use backend::billing::invoices::{self, InvoiceDetail};
use backend::billing::settle::Coverage;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, TableState};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::billing::invoices::{amount, status_tone};
use crate::screens::billing::payments::refund_route;
use crate::screens::billing::record::{self, RecordModal, RecordedReply};
use crate::screens::common::browse::tone_for;
use crate::screens::common::confirm::Outcome;
use crate::screens::{Ctx, Dialog, Keys, Mode, Screen};
use crate::tasks::Msg;

struct Loaded(Result<InvoiceDetail, ServiceError>);

/// The route of an invoice's PIX charge (the pix helper's modal).
pub fn pix_route(id: uuid::Uuid) -> String {
    format!("billing/invoices/{id}/pix")
}

pub struct InvoiceScreen {
    pub key: String,
    pub detail: Option<InvoiceDetail>,
    pub error: Option<String>,
    /// The selected payment (for `R`).
    pub payments: TableState,
    pub modal: Option<RecordModal>,
}

impl InvoiceScreen {
    pub fn new(key: String) -> InvoiceScreen {
        InvoiceScreen {
            key,
            detail: None,
            error: None,
            payments: TableState::default(),
            modal: None,
        }
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        let key = self.key.clone();
        ctx.load("invoice", move |env| async move {
            Loaded(invoices::detail(&env.db, &env.actor, &key).await)
        });
    }

    fn open(&self) -> bool {
        self.detail
            .as_ref()
            .is_some_and(|d| matches!(d.invoice.status.as_str(), "draft" | "pending" | "overdue"))
    }

    fn selected_payment(&self) -> Option<&backend::billing::payments::Payment> {
        let d = self.detail.as_ref()?;
        d.payments.get(self.payments.selected()?)
    }

    /// What the status line says: the status, and how the money stands.
    pub fn standing(d: &InvoiceDetail) -> (String, Tone) {
        let status = d.invoice.status.clone();
        match &d.coverage {
            _ if d.partially_paid() => {
                let Coverage::Short {
                    paid_minor,
                    due_minor,
                    currency,
                } = &d.coverage
                else {
                    return (status, Tone::Warning);
                };
                (
                    format!(
                        "{status} · partially paid: {} in, {} due",
                        amount(*paid_minor, currency),
                        amount(*due_minor, currency)
                    ),
                    Tone::Warning,
                )
            }
            Coverage::Full {
                over_minor, currency, ..
            } if *over_minor > 0 => (
                format!("{status} · overpaid by {}", amount(*over_minor, currency)),
                Tone::Warning,
            ),
            _ => {
                let tone = status_tone(&status);
                (status, tone)
            }
        }
    }
}

impl Screen for InvoiceScreen {
    fn route(&self) -> Route {
        Route::Invoice { key: self.key.clone() }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn dialog(&self) -> Option<Dialog> {
        self.modal.as_ref().map(|_| Dialog::Confirm { fields: true })
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() {
            Mode::Form
        } else {
            Mode::List
        }
    }

    fn accept_label(&self) -> Option<&'static str> {
        self.modal.as_ref().map(|_| "record")
    }

    fn keys(&self) -> Keys {
        let refundable = self.selected_payment().is_some_and(|p| p.status == "succeeded");
        Keys::new()
            .with(&[Action::Up, Action::Down, Action::Refresh])
            .when(self.open(), &[Action::Pix, Action::RecordPayment])
            .when(refundable, &[Action::Refund])
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        match a {
            Action::Pix => Some(Permission::InvoicesCreate),
            Action::Refund => Some(Permission::PaymentsRefund),
            Action::RecordPayment => Some(Permission::PaymentsRecord),
            _ => None,
        }
    }

    fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        None
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if m.on_action(a, ctx) == Outcome::Close {
                self.modal = None;
            }
            return true;
        }
        let n = self.detail.as_ref().map_or(0, |d| d.payments.len());
        match a {
            Action::Down if n > 0 => {
                let i = self.payments.selected().map_or(0, |i| (i + 1).min(n - 1));
                self.payments.select(Some(i));
            }
            Action::Up if n > 0 => {
                let i = self.payments.selected().map_or(0, |i| i.saturating_sub(1));
                self.payments.select(Some(i));
            }
            Action::Refresh => self.reload(ctx),
            Action::Pix if self.open() => {
                if let Some(d) = &self.detail {
                    ctx.emit(Action::Goto(pix_route(d.invoice.id)));
                }
            }
            Action::Refund => {
                if let Some(p) = self.selected_payment() {
                    ctx.emit(Action::Goto(refund_route(p.id)));
                }
            }
            Action::RecordPayment if self.open() => {
                if let Some(d) = &self.detail {
                    let due = match &d.coverage {
                        Coverage::Short { due_minor, .. } => *due_minor,
                        _ => d.invoice.total_minor,
                    };
                    self.modal = Some(RecordModal::new(&d.invoice, due));
                }
            }
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        if let Some(m) = &mut self.modal {
            m.on_input(key);
        }
    }

    fn apply(&mut self, slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        if slot == record::SLOT {
            let Ok(r) = msg.downcast::<RecordedReply>() else { return };
            match r.0 {
                Ok(done) => {
                    self.modal = None;
                    ctx.emit(Action::Flash(format!(
                        "invoice {}: {}",
                        done.invoice.number,
                        done.coverage.describe()
                    )));
                    self.reload(ctx);
                }
                Err(e) => match &mut self.modal {
                    Some(m) => m.failed(&e),
                    None => ctx.emit(Action::FlashError(e.to_string())),
                },
            }
            return;
        }
        let Ok(r) = msg.downcast::<Loaded>() else { return };
        match r.0 {
            Ok(d) => {
                if d.payments.is_empty() {
                    self.payments.select(None);
                } else if self.payments.selected().is_none_or(|i| i >= d.payments.len()) {
                    self.payments.select(Some(0));
                }
                self.key = d.invoice.id.to_string();
                self.detail = Some(d);
                self.error = None;
            }
            Err(e) => {
                ctx.emit(Action::FlashError(e.to_string()));
                self.error = Some(e.to_string());
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(d) = &self.detail else {
            let msg = self
                .error
                .clone()
                .unwrap_or_else(|| format!("Loading invoice {}…", self.key));
            return crate::screens::notice(f, area, "Invoice", &msg, theme.muted, theme);
        };
        let inv = &d.invoice;
        let [head, items, pays, timeline] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Fill(2),
        ])
        .areas(area);
        let (standing, tone) = InvoiceScreen::standing(d);
        let title = format!("Invoice {} · {}", inv.number, inv.tenant_slug);
        let block = theme
            .block(true)
            .title(theme.title_line(&title, usize::from(head.width.saturating_sub(2))));
        let who = inv
            .customer_name
            .clone()
            .unwrap_or_else(|| "a reseller (credits)".to_owned());
        let label = |s: &str| Span::styled(format!("{s} "), theme.muted);
        let lines = vec![
            Line::from(vec![
                label("Status"),
                Span::styled(widgets::text::sanitize(&standing).into_owned(), theme.tone(tone)),
            ]),
            Line::from(vec![
                label("Total"),
                Span::styled(amount(inv.total_minor, &inv.currency), theme.base),
                label("  Due"),
                Span::styled(inv.due_at.format("%Y-%m-%d").to_string(), theme.base),
                label("  Paid"),
                Span::styled(
                    inv.paid_at
                        .map_or_else(|| "—".to_owned(), |p| p.format("%Y-%m-%d").to_string()),
                    theme.base,
                ),
            ]),
            // Whom and why on a line of their own, the name cut with "…" when long (at 80
            // columns it ran off the box mid-word).
            Line::from(vec![
                label("Bills"),
                Span::styled(
                    widgets::text::truncate(
                        &who,
                        usize::from(head.width.saturating_sub(2))
                            .saturating_sub(12 + widgets::text::width(&inv.reason)),
                    )
                    .into_owned(),
                    theme.base,
                ),
                label("  For"),
                Span::styled(widgets::text::sanitize(&inv.reason).into_owned(), theme.base),
            ]),
        ];
        f.render_widget(Paragraph::new(lines).block(block), head);

        let item_cols = [
            Column::new("ITEM", Constraint::Fill(3)).min(12).priority(9),
            Column::new("QTY", Constraint::Length(4)).priority(5),
            Column::new("UNIT", Constraint::Length(14)).priority(6),
            Column::new("AMOUNT", Constraint::Length(14)).priority(8),
        ];
        let item_rows: Vec<DataRow> = d
            .items
            .iter()
            .map(|i| {
                DataRow::new([
                    DataCell::new(i.description.clone()),
                    DataCell::new(i.quantity.to_string()),
                    DataCell::new(amount(i.unit_price_minor, &i.currency)),
                    DataCell::new(amount(i.amount_minor, &i.currency)),
                ])
            })
            .collect();
        let total = format!("total {}", amount(inv.total_minor, &inv.currency));
        let table = DataTable::new(&item_cols, &item_rows, theme)
            .title("Items")
            .footer(&total)
            .empty_message("No items.");
        f.render_stateful_widget(table, items, &mut TableState::default());

        let pay_cols = [
            Column::new("PROVIDER", Constraint::Length(11)).priority(9),
            Column::new("METHOD", Constraint::Fill(1)).min(6).priority(4),
            Column::new("STATUS", Constraint::Length(10)).priority(8),
            Column::new("AMOUNT", Constraint::Length(14)).priority(9),
            Column::new("REFUNDED", Constraint::Length(12)).priority(5),
            Column::new("AT", Constraint::Length(16)).priority(6),
        ];
        let pay_rows: Vec<DataRow> = d
            .payments
            .iter()
            .map(|p| {
                let row = DataRow::new([
                    DataCell::new(p.provider.clone()),
                    DataCell::new(p.method.clone().unwrap_or_default()),
                    DataCell::styled(p.status.clone(), tone_for(&p.status)),
                    DataCell::new(amount(p.amount_minor, &p.currency)),
                    DataCell::new(if p.refunded_minor > 0 {
                        amount(p.refunded_minor, &p.currency)
                    } else {
                        String::new()
                    }),
                    DataCell::new(p.paid_at.unwrap_or(p.created_at).format("%Y-%m-%d %H:%M").to_string()),
                ]);
                // Money in another currency never counts towards this invoice.
                if p.currency != inv.currency {
                    row.tone(Tone::Warning)
                } else {
                    row
                }
            })
            .collect();
        let pay_footer = match &d.coverage {
            Coverage::Full {
                paid_minor, currency, ..
            }
            | Coverage::Short {
                paid_minor, currency, ..
            } => {
                format!("received {}", amount(*paid_minor, currency))
            }
            Coverage::CurrencyMismatch { .. } => String::new(),
        };
        let table = DataTable::new(&pay_cols, &pay_rows, theme)
            .title("Payments")
            .footer(&pay_footer)
            .empty_message("No payments yet.");
        f.render_stateful_widget(table, pays, &mut self.payments);

        let trail_cols = [
            Column::new("AT", Constraint::Length(16)).priority(9),
            Column::new("WHAT", Constraint::Fill(2)).min(12).priority(9),
            Column::new("BY", Constraint::Fill(1)).min(8).priority(6),
        ];
        let trail_rows: Vec<DataRow> = d
            .trail
            .iter()
            .map(|r| {
                DataRow::new([
                    DataCell::new(r.at.format("%Y-%m-%d %H:%M").to_string()),
                    DataCell::new(r.action.clone()),
                    DataCell::new(r.actor_name.clone()),
                ])
            })
            .collect();
        let table = DataTable::new(&trail_cols, &trail_rows, theme)
            .title("Timeline")
            .empty_message("Nothing has happened to this invoice yet.");
        f.render_stateful_widget(table, timeline, &mut TableState::default());

        if let Some(m) = &self.modal {
            m.draw(f, theme);
        }
    }
}
