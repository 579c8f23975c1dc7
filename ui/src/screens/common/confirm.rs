//! The typed confirmation for suspending (slug + reason) and reactivating a tenant, drawn by
//! [`ConfirmDialog`]. The backend checks the typed slug and the second factor; this modal only
//! collects them and shows what was wrong. When the backend says the session's last 2FA code
//! is too old (or the code was wrong), the modal adds a field for a current code under the
//! reason (both stay visible and editable) and sends the same request again with it.

use backend::sensitive;
use backend::tenants::{self, Tenant};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use widgets::{ConfirmDialog, Theme};

use crate::action::Action;
use crate::form::Form;
use crate::screens::Ctx;

/// A tenant suspended or reactivated, or why not (to the screen that opened the modal).
pub struct Changed(pub Result<Tenant, ServiceError>);

pub const SLOT: &str = "confirm";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmKind {
    Suspend,
    Reactivate,
}

/// What the owner should do after the modal handled an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Keep,
    Close,
}

pub struct ConfirmModal {
    pub kind: ConfirmKind,
    pub slug: String,
    pub name: String,
    pub form: Form,
    pub busy: bool,
    /// Asking for a 2FA code too (the form has a third field, `code`).
    pub wants_code: bool,
}

impl ConfirmModal {
    pub fn new(kind: ConfirmKind, t: &Tenant) -> ConfirmModal {
        let form = match kind {
            ConfirmKind::Suspend => Form::new(&[("confirm", "Type the slug", ""), ("reason", "Reason", "")]),
            ConfirmKind::Reactivate => Form::new(&[]),
        };
        ConfirmModal {
            kind,
            slug: t.slug.clone(),
            name: t.name.clone(),
            form,
            busy: false,
            wants_code: false,
        }
    }

    /// For a tenant that cannot take this action, say why instead of opening.
    pub fn open(kind: ConfirmKind, t: &Tenant, ctx: &mut Ctx) -> Option<ConfirmModal> {
        let wanted = match kind {
            ConfirmKind::Suspend => "active",
            ConfirmKind::Reactivate => "suspended",
        };
        if t.status != wanted {
            ctx.emit(Action::FlashError(format!("{} is {}, not {wanted}", t.slug, t.status)));
            return None;
        }
        Some(ConfirmModal::new(kind, t))
    }

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> Outcome {
        match a {
            Action::Close | Action::Back => return Outcome::Close,
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => {
                self.busy = true;
                self.form.clear_errors();
                let key = self.slug.clone();
                match self.kind {
                    ConfirmKind::Suspend => {
                        let reason = self.form.value("reason");
                        let confirm = self.form.value("confirm");
                        let code = self.wants_code.then(|| self.form.value("code"));
                        ctx.load(SLOT, move |env| async move {
                            let r = async {
                                let keys = env.keys_for(code.as_deref()).await?;
                                let mut proof = sensitive::Proof::confirm(&confirm);
                                if let Some(k) = &keys {
                                    proof = proof.with_code(code.as_deref(), k);
                                }
                                tenants::suspend(&env.db, &env.actor, &key, &reason, &proof).await
                            };
                            Changed(r.await)
                        });
                    }
                    ConfirmKind::Reactivate => ctx.load(SLOT, move |env| async move {
                        Changed(tenants::reactivate(&env.db, &env.actor, &key).await)
                    }),
                }
            }
            _ => {}
        }
        Outcome::Keep
    }

    pub fn on_input(&mut self, key: KeyEvent) {
        self.form.input(key);
    }

    pub fn failed(&mut self, e: &ServiceError) {
        self.busy = false;
        let wants_code = matches!(e, ServiceError::PermissionDenied(m)
            if m == sensitive::NEEDS_CODE || m == sensitive::BAD_CODE);
        if self.kind == ConfirmKind::Suspend && wants_code {
            if !self.wants_code {
                let reason = self.form.value("reason");
                let typed = self.form.value("confirm");
                self.form = Form::new(&[
                    ("confirm", "Type the slug", ""),
                    ("reason", "Reason", ""),
                    ("code", "2FA code", ""),
                ]);
                self.form.set("confirm", &typed);
                self.form.set("reason", &reason);
                self.wants_code = true;
            }
            self.form.focus = 2;
            self.form.error = Some(
                if matches!(e, ServiceError::PermissionDenied(m) if m == sensitive::BAD_CODE) {
                    "wrong or already used 2FA code".to_owned()
                } else {
                    "enter a current 2FA code: the last one is over 5 minutes old".to_owned()
                },
            );
            return;
        }
        self.form.show_error(e);
    }

    pub fn done_message(&self) -> String {
        match self.kind {
            ConfirmKind::Suspend => format!("tenant {} suspended", self.slug),
            ConfirmKind::Reactivate => format!("tenant {} reactivated", self.slug),
        }
    }

    /// The one error line: the typed slug's, the reason's, or one for the whole action.
    fn error(&self) -> Option<String> {
        let reason = || self.form.error_of("reason").map(|e| format!("reason: {e}"));
        self.form
            .error_of("confirm")
            .map(str::to_owned)
            .or_else(reason)
            .or_else(|| self.form.error.clone())
    }

    /// Draws the dialog over the whole frame, with the terminal cursor in the focused input.
    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let value = |i: usize| self.form.fields.get(i).map_or("", |f| f.input.value());
        let cursor = self.form.fields.get(self.form.focus).map_or(0, |f| f.input.cursor());
        let error = self.error();
        let (title, message) = match self.kind {
            ConfirmKind::Suspend => (
                "Suspend tenant",
                format!(
                    "Suspending {} ({}) stops its customers' services.",
                    self.name, self.slug
                ),
            ),
            ConfirmKind::Reactivate => (
                "Reactivate tenant",
                format!("Reactivate {} ({})?", self.name, self.slug),
            ),
        };
        let mut dialog =
            ConfirmDialog::new(title, &message, &self.slug, value(0), cursor, theme).error(error.as_deref());
        dialog = match self.kind {
            ConfirmKind::Suspend => {
                let mut dialog = dialog.extra("Reason (kept in the audit log)", value(1));
                if self.wants_code {
                    dialog = dialog.extra("2FA code (from your authenticator app)", value(2));
                }
                match self.form.focus {
                    0 => dialog,
                    i => dialog.focus_extra_at(i - 1, cursor),
                }
            }
            ConfirmKind::Reactivate => dialog.typed(false),
        };
        if let Some(pos) = dialog.cursor_position(crate::chrome::popup_frame(f)) {
            f.set_cursor_position(pos);
        }
        f.render_widget(dialog, crate::chrome::popup_frame(f));
    }
}
