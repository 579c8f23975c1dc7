//! The customer screen's dialogs: `e` edit the profile, `b` block (with a reason) or unblock,
//! `t` transfer to another reseller picked from the ones the actor may choose. Each sends one
//! service call; the service checks permission, tree and input, and audits.

use backend::customers::{self, Customer, CustomerEdit};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::widgets::Clear;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::form::Form;
use crate::screens::common::picker::{PickFrom, Picked, Picker};
use crate::screens::{Ctx, Dialog};
use crate::tasks::Msg;

/// A change saved (the customer as it is now), or why not.
pub struct Changed(pub Result<Customer, ServiceError>);

const SLOT: &str = "customer-change";
const PICK: &str = "customer-pick";

/// Placeholders are examples (dim italic); the current values are filled in as values.
const EDIT: &[(&str, &str, &str)] = &[
    ("name", "Name", "Maria Souza"),
    ("email", "E-mail", "maria@example.com"),
    ("phone", "Phone (optional)", "+55 11 91234-5678"),
    ("document", "CPF / CNPJ (optional)", "123.456.789-09"),
    ("notes", "Notes", "prefers WhatsApp"),
];
const REASON: &[(&str, &str, &str)] = &[("reason", "Reason", "unpaid invoices")];

pub enum Modal {
    Edit {
        id: String,
        form: Form,
        busy: bool,
    },
    Block {
        id: String,
        name: String,
        form: Form,
        busy: bool,
    },
    Unblock {
        id: String,
        name: String,
        form: Form,
        busy: bool,
    },
    Transfer {
        id: String,
        name: String,
        picker: Picker,
        busy: bool,
    },
}

impl Modal {
    /// The dialog for `a` on customer `c`, or none (with a flash saying why).
    pub fn open(a: &Action, c: &Customer, ctx: &mut Ctx) -> Option<Modal> {
        let id = c.id.to_string();
        let name = c.name.clone();
        Some(match a {
            Action::Edit => {
                let mut form = Form::new(EDIT);
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                for (k, v) in [
                    ("name", c.name.clone()),
                    ("email", c.email.clone()),
                    ("phone", opt(&c.phone)),
                    ("document", opt(&c.document)),
                    ("notes", c.notes.clone()),
                ] {
                    form.set(k, &v);
                }
                Modal::Edit { id, form, busy: false }
            }
            Action::Block if c.status == "suspended" => Modal::Unblock {
                id,
                name,
                form: Form::new(&[]),
                busy: false,
            },
            Action::Block if c.status == "active" => Modal::Block {
                id,
                name,
                form: Form::new(REASON),
                busy: false,
            },
            Action::Block => {
                ctx.emit(Action::FlashError(format!("{} is {}", c.name, c.status)));
                return None;
            }
            Action::Transfer => {
                let mut picker = Picker::new(
                    format!("Transfer {} to…", c.name),
                    PickFrom::Resellers { customer: id.clone() },
                    PICK,
                );
                picker.start(ctx);
                Modal::Transfer {
                    id,
                    name,
                    picker,
                    busy: false,
                }
            }
            _ => return None,
        })
    }

    pub fn dialog(&self) -> Dialog {
        match self {
            Modal::Edit { .. } | Modal::Transfer { .. } => Dialog::Form,
            Modal::Block { .. } => Dialog::Confirm { fields: true },
            Modal::Unblock { .. } => Dialog::Confirm { fields: false },
        }
    }

    /// What Enter does here.
    pub fn accept_label(&self) -> &'static str {
        match self {
            Modal::Edit { .. } => "save",
            Modal::Block { .. } => "block",
            Modal::Unblock { .. } => "unblock",
            Modal::Transfer { .. } => "transfer",
        }
    }

    fn busy(&mut self) -> &mut bool {
        match self {
            Modal::Edit { busy, .. }
            | Modal::Block { busy, .. }
            | Modal::Unblock { busy, .. }
            | Modal::Transfer { busy, .. } => busy,
        }
    }

    /// Handles an action; true when the dialog should close.
    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if matches!(a, Action::Close | Action::Back) {
            return true;
        }
        if *self.busy() {
            return false;
        }
        match self {
            Modal::Transfer { id, picker, busy, .. } => match picker.on_action(a) {
                Picked::Cancelled => return true,
                Picked::Chosen(choice) => {
                    *busy = true;
                    let id = id.clone();
                    ctx.load(SLOT, move |env| async move {
                        Changed(customers::transfer(&env.db, &env.actor, &id, &choice.key).await)
                    });
                }
                Picked::Keep => {}
            },
            Modal::Edit { id, form, busy } => match a {
                Action::NextField => form.next(),
                Action::PrevField => form.prev(),
                Action::Accept => {
                    *busy = true;
                    form.clear_errors();
                    let v = |k: &str| Some(form.value(k));
                    let edit = CustomerEdit {
                        name: v("name"),
                        email: v("email"),
                        phone: v("phone"),
                        document: v("document"),
                        notes: v("notes"),
                    };
                    let id = id.clone();
                    ctx.load(SLOT, move |env| async move {
                        Changed(customers::edit(&env.db, &env.actor, &id, edit).await)
                    });
                }
                _ => {}
            },
            Modal::Block { id, form, busy, .. } => {
                if *a == Action::Accept {
                    *busy = true;
                    form.clear_errors();
                    let (id, reason) = (id.clone(), form.value("reason"));
                    ctx.load(SLOT, move |env| async move {
                        Changed(customers::block(&env.db, &env.actor, &id, &reason).await)
                    });
                }
            }
            Modal::Unblock { id, busy, .. } => {
                if *a == Action::Accept {
                    *busy = true;
                    let id = id.clone();
                    ctx.load(SLOT, move |env| async move {
                        Changed(customers::unblock(&env.db, &env.actor, &id).await)
                    });
                }
            }
        }
        false
    }

    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        match self {
            Modal::Edit { form, .. } | Modal::Block { form, .. } => {
                form.input(key);
            }
            Modal::Transfer { picker, .. } => picker.on_input(key, ctx),
            Modal::Unblock { .. } => {}
        }
    }

    /// A picker's search result; other messages come back.
    pub fn apply(&mut self, msg: Msg) -> Result<(), Msg> {
        match self {
            Modal::Transfer { picker, .. } => picker.apply(msg),
            _ => Err(msg),
        }
    }

    pub fn failed(&mut self, e: &ServiceError) {
        *self.busy() = false;
        match self {
            Modal::Edit { form, .. } | Modal::Block { form, .. } | Modal::Unblock { form, .. } => form.show_error(e),
            Modal::Transfer { picker, .. } => picker.error = Some(e.to_string()),
        }
    }

    pub fn done_message(&self, c: &Customer) -> String {
        match self {
            Modal::Edit { .. } => format!("customer {} saved", c.name),
            Modal::Block { .. } => format!("customer {} blocked", c.name),
            Modal::Unblock { .. } => format!("customer {} unblocked", c.name),
            Modal::Transfer { .. } => format!(
                "customer {} transferred to {}",
                c.name,
                c.reseller.as_deref().unwrap_or("—")
            ),
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let popup = |h: u16| widgets::popup_area(area, 64, h);
        match self {
            Modal::Edit { form, busy, .. } => {
                let r = popup(14);
                f.render_widget(Clear, r);
                let footer = if *busy {
                    "Saving…"
                } else {
                    "Tab next · Shift-Tab prev · Enter save · Esc cancel"
                };
                form.draw(f, r, "Edit customer", footer, theme, !*busy);
            }
            Modal::Block { name, form, busy, .. } => {
                let r = popup(6);
                f.render_widget(Clear, r);
                let footer = if *busy {
                    "Blocking…"
                } else {
                    "Enter block · Esc cancel"
                };
                form.draw(f, r, &format!("Block {name}"), footer, theme, !*busy);
            }
            Modal::Unblock { name, form, busy, .. } => {
                let r = popup(4);
                f.render_widget(Clear, r);
                let footer = if *busy {
                    "Unblocking…"
                } else {
                    "Enter unblock · Esc cancel"
                };
                form.draw(f, r, &format!("Unblock {name}?"), footer, theme, false);
            }
            Modal::Transfer { picker, .. } => picker.draw(f, area, theme),
        }
    }
}
