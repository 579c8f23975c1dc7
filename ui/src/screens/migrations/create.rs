//! A new migration (`migrations/new`, `c` on the queue): source host, credentials (root or
//! the cPanel user; the password field masked, sealed by the service with this console's
//! master key and wiped from the form once sent), the accounts and the target server. The
//! backend validates; its field errors show next to the fields. On success the migration's
//! own screen opens, its log following.

use backend::providers::whm::Secret;
use backend::transfers::{self, Credentials, Migration, NewMigration};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::{page_route, Ctx, Dialog, Keys, Screen};
use crate::tasks::Msg;

struct Created(Result<Migration, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("tenant", "Tenant (slug; staff only)", "host-br"),
    ("source_host", "Source host", "old.example.com.br or https://host:2087"),
    ("auth", "Credentials", "root or user"),
    ("user", "Login on the source", "root"),
    ("password", "Password (sealed, wiped at the end)", "••••••••"),
    ("accounts", "Accounts (comma-separated)", "joao01,maria02"),
    ("target", "Target server", "whm-gru-01"),
];

pub struct MigrationForm {
    pub form: Form,
    pub busy: bool,
}

impl Default for MigrationForm {
    fn default() -> Self {
        let mut form = Form::new(FIELDS).masked("password");
        form.set("auth", "root");
        form.set("user", "root");
        MigrationForm { form, busy: false }
    }
}

impl MigrationForm {
    /// What was typed, as the service takes it.
    pub fn input(&self) -> NewMigration {
        let v = |k: &str| self.form.value(k).trim().to_owned();
        NewMigration {
            tenant: Some(v("tenant")).filter(|t| !t.is_empty()),
            customer: None,
            source_host: v("source_host"),
            ssh_port: None,
            credentials: Credentials {
                kind: v("auth"),
                user: v("user"),
                password: Secret::new(self.form.value("password")),
            },
            accounts: v("accounts")
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            target: v("target"),
        }
    }
}

impl Screen for MigrationForm {
    fn route(&self) -> Route {
        page_route("migrations/new")
    }

    fn mode(&self) -> crate::screens::Mode {
        crate::screens::Mode::Form
    }

    fn dialog(&self) -> Option<Dialog> {
        Some(Dialog::Form)
    }

    fn keys(&self) -> Keys {
        Keys::new()
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => {
                self.form.clear_errors();
                self.busy = true;
                let new = self.input();
                // The password leaves the form as it is sent.
                self.form.set("password", "");
                ctx.load("create", |env| async move {
                    let keys = match env.keys_for(Some("sealed")).await {
                        Ok(k) => k,
                        Err(e) => return Created(Err(e)),
                    };
                    Created(
                        transfers::create(&env.db, &env.actor, keys.as_ref(), new)
                            .await
                            .map(|(m, _)| m),
                    )
                });
            }
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
        let Ok(r) = msg.downcast::<Created>() else { return };
        self.busy = false;
        match r.0 {
            Ok(m) => {
                ctx.emit(Action::Flash(format!("migration {} queued", m.short_id())));
                ctx.emit(Action::Back);
                ctx.emit(Action::Goto(format!("migrations/{}", m.id)));
            }
            Err(e) => {
                self.form.show_error(&e);
                ctx.emit(Action::FlashError(e.to_string()));
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let footer = if self.busy {
            "Queueing…"
        } else {
            "Grey = an example · the password again if refused · Enter queue · Esc cancel"
        };
        self.form.draw(f, area, "New migration", footer, theme, true);
    }
}
