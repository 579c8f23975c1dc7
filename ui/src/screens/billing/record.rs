//! The manual payment dialog of the invoice screen (docs/adr/0025): the invoice number typed
//! again, the amount, a reason (kept in the audit log) and how it was paid. Like suspending a
//! tenant, it asks for a current 2FA code when the backend says the last one is too old; the
//! backend checks everything — this only collects it and shows what was wrong.

use backend::billing::invoices::Invoice;
use backend::billing::payments::{self, ManualPayment, Recorded};
use backend::sensitive;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use widgets::{ConfirmDialog, Theme};

use crate::action::Action;
use crate::form::Form;
use crate::screens::common::confirm::Outcome;
use crate::screens::Ctx;

pub const SLOT: &str = "record";

/// The entry's result, back to the invoice screen.
pub struct RecordedReply(pub Result<Recorded, ServiceError>);

const FIELDS: &[(&str, &str, &str)] = &[
    ("confirm", "Type the invoice number", ""),
    ("amount", "Amount", "49.90"),
    ("reason", "Reason", ""),
    ("method", "Method", "bank transfer"),
];

pub struct RecordModal {
    pub number: String,
    pub invoice_id: uuid::Uuid,
    pub currency: String,
    pub due: String,
    pub form: Form,
    pub busy: bool,
    pub wants_code: bool,
}

impl RecordModal {
    pub fn new(inv: &Invoice, due_minor: i64) -> RecordModal {
        let mut form = Form::new(FIELDS);
        form.set("amount", &plain(due_minor, &inv.currency));
        RecordModal {
            number: inv.number.clone(),
            invoice_id: inv.id,
            currency: inv.currency.clone(),
            due: backend::money::format(due_minor, &inv.currency),
            form,
            busy: false,
            wants_code: false,
        }
    }

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> Outcome {
        match a {
            Action::Close | Action::Back => return Outcome::Close,
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => {
                self.form.clear_errors();
                let amount = match backend::money::parse(&self.form.value("amount"), &self.currency) {
                    Ok(a) => a,
                    Err(e) => {
                        self.form.error = Some(format!("amount: {e}"));
                        return Outcome::Keep;
                    }
                };
                self.busy = true;
                let input = ManualPayment {
                    invoice: self.invoice_id.to_string(),
                    amount_minor: amount,
                    currency: None,
                    method: Some(self.form.value("method")),
                    reason: self.form.value("reason"),
                };
                let confirm = self.form.value("confirm");
                let code = self.wants_code.then(|| self.form.value("code"));
                ctx.load(SLOT, move |env| async move {
                    let r = async {
                        let keys = env.keys_for(code.as_deref()).await?;
                        let mut proof = sensitive::Proof::confirm(&confirm);
                        if let Some(k) = &keys {
                            proof = proof.with_code(code.as_deref(), k);
                        }
                        payments::record_manual(&env.db, &env.actor, &input, &proof).await
                    };
                    RecordedReply(r.await)
                });
            }
            _ => {}
        }
        Outcome::Keep
    }

    pub fn on_input(&mut self, key: KeyEvent) {
        self.form.input(key);
    }

    /// What the backend refused: a field, a stale or wrong 2FA code (a code field appears).
    pub fn failed(&mut self, e: &ServiceError) {
        self.busy = false;
        let bad_code = matches!(e, ServiceError::PermissionDenied(m) if m == sensitive::BAD_CODE);
        let old_code = matches!(e, ServiceError::PermissionDenied(m) if m == sensitive::NEEDS_CODE);
        if bad_code || old_code {
            if !self.wants_code {
                let kept: Vec<(&str, String)> = FIELDS.iter().map(|(k, _, _)| (*k, self.form.value(k))).collect();
                let mut specs = FIELDS.to_vec();
                specs.push(("code", "2FA code", ""));
                self.form = Form::new(&specs);
                for (k, v) in kept {
                    self.form.set(k, &v);
                }
                self.wants_code = true;
            }
            self.form.focus = FIELDS.len();
            self.form.error = Some(if bad_code {
                "wrong or already used 2FA code".to_owned()
            } else {
                "enter a current 2FA code: the last one is over 5 minutes old".to_owned()
            });
            return;
        }
        self.form.show_error(e);
    }

    fn error(&self) -> Option<String> {
        let field = |k: &str| self.form.error_of(k).map(|e| format!("{k}: {e}"));
        self.form
            .error_of("confirm")
            .map(str::to_owned)
            .or_else(|| field("amount"))
            .or_else(|| field("reason"))
            .or_else(|| field("method"))
            .or_else(|| self.form.error.clone())
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let value = |i: usize| self.form.fields.get(i).map_or("", |f| f.input.value());
        let cursor = self.form.fields.get(self.form.focus).map_or(0, |f| f.input.cursor());
        let error = self.error();
        let message = format!(
            "Record money received outside any provider for invoice {} ({} due). \
             Less than the total leaves it partially paid.",
            self.number, self.due
        );
        let mut dialog = ConfirmDialog::new("Record a payment", &message, &self.number, value(0), cursor, theme)
            .error(error.as_deref())
            .extra("Amount", value(1))
            .extra("Reason (kept in the audit log)", value(2))
            .extra("Method", value(3));
        if self.wants_code {
            dialog = dialog.extra("2FA code (from your authenticator app)", value(4));
        }
        dialog = match self.form.focus {
            0 => dialog,
            i => dialog.focus_extra_at(i - 1, cursor),
        };
        let area = crate::chrome::popup_frame(f);
        if let Some(pos) = dialog.cursor_position(area) {
            f.set_cursor_position(pos);
        }
        f.render_widget(dialog, area);
    }
}

/// `4990, BRL` → `49.90`: what the amount field starts with (the amount still due).
pub fn plain(minor: i64, currency: &str) -> String {
    let shown = backend::money::format(minor, currency);
    shown
        .rsplit_once(' ')
        .map_or(shown.clone(), |(n, _)| n.replace(',', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_amount_field_starts_with_what_is_due_in_plain_digits() {
        assert_eq!(plain(123_456, "BRL"), "1234.56");
        assert_eq!(plain(1_000, "JPY"), "1000");
        assert_eq!(
            backend::money::parse(&plain(987_654_321, "BRL"), "BRL"),
            Ok(987_654_321)
        );
    }
}
