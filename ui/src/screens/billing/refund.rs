//! billing/payments/<id>/refund: the refund dialog. Prefilled with what is left to refund;
//! a reason and a current 2FA code are asked for (the backend's sensitive-action gate
//! decides). Accepting only asks: the `billing.refund` job sends it to Stripe, and the
//! payment's refunds show the answer.

use backend::billing::stripe::refunds::{self, Quote, RefundRequest, Requested};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use widgets::{KeyValuePanel, KvEntry, Theme, Tone};

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::{notice, Ctx, Dialog, Keys, Mode, Screen};
use crate::tasks::Msg;

struct Quoted(Result<Quote, ServiceError>);
struct Sent(Result<Requested, ServiceError>);

pub struct RefundScreen {
    payment: String,
    quote: Option<Result<Quote, String>>,
    pub form: Form,
    busy: bool,
}

impl RefundScreen {
    pub fn new(payment: String) -> RefundScreen {
        RefundScreen {
            payment,
            quote: None,
            form: Form::new(&[
                ("amount", "Amount", ""),
                ("reason", "Reason (kept in the audit log)", ""),
                ("code", "2FA code", "123456"),
            ]),
            busy: false,
        }
    }

    pub fn quote(&self) -> Option<&Quote> {
        self.quote.as_ref().and_then(|q| q.as_ref().ok())
    }

    fn submit(&mut self, ctx: &mut Ctx) {
        let Some(q) = self.quote().cloned() else { return };
        self.form.clear_errors();
        let amount = match backend::money::parse(&self.form.value("amount"), &q.currency) {
            Ok(a) => a,
            Err(m) => {
                let e = ServiceError::invalid("amount", m);
                self.form.show_error(&e);
                return;
            }
        };
        let reason = self.form.value("reason");
        let code = self.form.value("code");
        let key = q.payment_id.to_string();
        self.busy = true;
        ctx.load("refund", move |env| async move {
            let r = async {
                let keys = env.keys_for(Some(&code)).await?;
                let req = RefundRequest {
                    payment: &key,
                    amount_minor: Some(amount),
                    reason: &reason,
                    code: Some(&code),
                };
                refunds::request(&env.db, &env.actor, keys.as_ref(), req).await
            };
            Sent(r.await)
        });
    }
}

impl Screen for RefundScreen {
    fn route(&self) -> Route {
        Route::Refund {
            payment: self.payment.clone(),
        }
    }

    fn mode(&self) -> Mode {
        Mode::Form
    }

    fn dialog(&self) -> Option<Dialog> {
        Some(Dialog::Form)
    }

    fn start(&mut self, ctx: &mut Ctx) {
        let key = self.payment.clone();
        ctx.load("quote", move |env| async move {
            Quoted(refunds::quote(&env.db, &env.actor, &key).await)
        });
    }

    fn keys(&self) -> Keys {
        Keys::new()
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => self.submit(ctx),
            Action::Accept => {}
            Action::Close => ctx.emit(Action::Back),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        self.form.input(key);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Quoted>() {
            Ok(q) => {
                let q = q.0.map_err(|e| e.to_string());
                if let Ok(q) = &q {
                    let left = backend::money::format(q.refundable_minor, &q.currency);
                    // "1,234.56 BRL" → "1234.56": what the field parses back.
                    let plain: String = left.split(' ').next().unwrap_or("").replace(',', "");
                    self.form.set("amount", &plain);
                }
                self.quote = Some(q);
                return;
            }
            Err(m) => m,
        };
        if let Ok(s) = msg.downcast::<Sent>() {
            self.busy = false;
            match s.0 {
                Ok(r) => {
                    self.form.set("code", "");
                    ctx.emit(Action::Flash(format!(
                        "refund of {} requested: job {} sends it to Stripe",
                        backend::money::format(r.refund.amount_minor, &r.refund.currency),
                        &r.job_id.to_string()[28..]
                    )));
                    ctx.emit(Action::Back);
                }
                Err(e) => {
                    self.form.show_error(&e);
                    ctx.emit(Action::FlashError(e.to_string()));
                }
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let q = match &self.quote {
            None => return notice(f, area, "Refund", "Loading…", theme.muted, theme),
            Some(Err(e)) => return notice(f, area, "Refund", e, theme.error, theme),
            Some(Ok(q)) => q,
        };
        let m = |v| backend::money::format(v, &q.currency);
        let entries = [
            KvEntry::new("Invoice", q.invoice_number.clone()),
            KvEntry::new("Paid", m(q.amount_minor)),
            KvEntry::new("Refunded", m(q.refunded_minor)),
            KvEntry::new("Pending", m(q.pending_minor)),
            KvEntry::new("Refundable", m(q.refundable_minor)).tone(if q.refundable_minor > 0 {
                Tone::Success
            } else {
                Tone::Muted
            }),
            KvEntry::new("Status", q.status.clone()),
            KvEntry::new(
                "Via",
                format!("{} {}", q.provider, q.external_id.clone().unwrap_or_default()),
            ),
        ];
        let kv = KeyValuePanel::new(&entries, theme).title("Payment");
        let [top, bottom] =
            Layout::vertical([Constraint::Length(kv.required_height()), Constraint::Fill(1)]).areas(area);
        f.render_widget(kv, top);
        let footer = if self.busy {
            "Sending…"
        } else {
            "Sensitive: needs a current 2FA code · Enter refund · Esc cancel"
        };
        self.form.draw(f, bottom, "Refund", footer, theme, true);
    }
}
