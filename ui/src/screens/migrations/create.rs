//! A new migration (`migrations/new`, `c` on the queue): source host, credentials (root or
//! the cPanel user; the password field masked, sealed by the service with this console's
//! master key and wiped from the form once sent), the accounts and the target server. The
//! backend validates; its field errors show next to the fields. On success the migration's
//! own screen opens, its log following. The tenant and the target server are chosen in
//! pickers (docs/adr/0022); the source and its accounts are typed — they live on a server
//! painel does not know yet, and listing them would call it from a key press.

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
use crate::screens::common::picker::{PickFrom, PickerField};
use crate::screens::{page_route, Ctx, Dialog, Keys, Screen};
use crate::tasks::Msg;

struct Created(Result<Migration, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("tenant", "Tenant (staff only)", "host-br (type to search)"),
    ("source_host", "Source host", "old.example.com.br or https://host:2087"),
    ("auth", "Credentials", "root or user"),
    ("user", "Login on the source", "root"),
    ("password", "Password (sealed)", "••••••••"),
    ("accounts", "Accounts (a,b,…)", "joao01,maria02"),
    ("target", "Target server", "whm-gru-01 (type to search)"),
];

const PICK_TENANT: &str = "migration-pick-tenant";
const PICK_TARGET: &str = "migration-pick-target";

pub struct MigrationForm {
    pub form: Form,
    pub busy: bool,
    pub tenant: PickerField,
    pub target: PickerField,
}

impl Default for MigrationForm {
    fn default() -> Self {
        let mut form = Form::new(FIELDS).masked("password");
        form.set("auth", "root");
        form.set("user", "root");
        MigrationForm {
            form,
            busy: false,
            tenant: PickerField::new("tenant", "Tenant", PickFrom::Tenants, PICK_TENANT),
            // Free text too: an actor who may not list servers still names its target.
            target: PickerField::new(
                "target",
                "Target server",
                PickFrom::MigrationTargets { tenant: String::new() },
                PICK_TARGET,
            )
            .free_text(),
        }
    }
}

impl MigrationForm {
    /// The target picker offers the servers of the tenant chosen now.
    fn aim_target_picker(&mut self) {
        if self.target.open.is_none() {
            self.target.from = PickFrom::MigrationTargets {
                tenant: self.form.value("tenant").trim().to_owned(),
            };
        }
    }

    fn picking(&self) -> bool {
        self.tenant.open.is_some() || self.target.open.is_some()
    }

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

    fn accept_label(&self) -> Option<&'static str> {
        if self.picking() {
            Some("choose")
        } else {
            Some("queue")
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        self.aim_target_picker();
        if !self.busy
            && (self.tenant.on_action(&mut self.form, a, ctx) || self.target.on_action(&mut self.form, a, ctx))
        {
            return true;
        }
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

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.aim_target_picker();
        if self.tenant.on_input(&self.form, key, ctx) || self.target.on_input(&self.form, key, ctx) {
            return;
        }
        self.form.input(key);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Err(msg) = self.tenant.apply(msg) else { return };
        let Err(msg) = self.target.apply(msg) else { return };
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
        self.tenant.draw(f, area, theme);
        self.target.draw(f, area, theme);
    }
}
