//! Create a tenant. The form sends what was typed; the backend validates it and its field
//! errors are shown next to the fields.

use backend::tenants::{self, NewTenant, Tenant};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::{page_route, Ctx, Dialog, Keys, Screen, TABS};
use crate::tasks::Msg;

/// The tenant created, or why not.
struct Created(Result<Tenant, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Name", "Acme Hosting"),
    ("slug", "Slug (auto if empty)", "acme-hosting"),
    ("domain", "Domain", "acme.example.com"),
    ("tier", "Tier", "pro"),
    ("currency", "Currency", "USD"),
    ("logo_text", "Logo text", "ACME"),
    ("primary_color", "Primary colour", "#1e90ff"),
    ("accent_color", "Accent colour", "#ff8c00"),
    ("sender_name", "Sender name", "Acme Suporte"),
    ("sender_email", "Sender e-mail", "noreply@acme.example.com"),
    ("support_email", "Support e-mail", "help@acme.example.com"),
];

/// What the service applies to an empty field, filled in as real values (not grey text).
pub const DEFAULTS: &[(&str, &str)] = &[
    ("tier", "basic"),
    ("currency", "BRL"),
    ("primary_color", "#3b82f6"),
    ("accent_color", "#f59e0b"),
];

pub struct TenantForm {
    pub form: Form,
    pub busy: bool,
}

impl TenantForm {
    pub fn new() -> TenantForm {
        let mut form = Form::new(FIELDS);
        for (k, v) in DEFAULTS {
            form.set(k, v);
        }
        TenantForm { form, busy: false }
    }

    fn input(&self) -> NewTenant {
        let v = |k: &str| self.form.value(k);
        NewTenant {
            name: v("name"),
            slug: v("slug"),
            domain: v("domain"),
            tier: v("tier"),
            currency: v("currency"),
            logo_text: v("logo_text"),
            primary_color: v("primary_color"),
            accent_color: v("accent_color"),
            sender_name: v("sender_name"),
            sender_email: v("sender_email"),
            support_email: v("support_email"),
        }
    }
}

impl Screen for TenantForm {
    fn route(&self) -> Route {
        page_route("tenants/create")
    }

    fn mode(&self) -> crate::screens::Mode {
        crate::screens::Mode::Form
    }

    fn dialog(&self) -> Option<Dialog> {
        Some(Dialog::Form)
    }

    fn keys(&self) -> Keys {
        Keys::new().with(TABS)
    }

    fn accept_label(&self) -> Option<&'static str> {
        Some("create")
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => {
                self.busy = true;
                self.form.clear_errors();
                let t = self.input();
                ctx.load("create", |env| async move {
                    Created(tenants::create(&env.db, &env.actor, t).await)
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
        let Created(r) = *r;
        self.busy = false;
        match r {
            Ok(t) => {
                ctx.emit(Action::Flash(format!("tenant {} created", t.slug)));
                ctx.emit(Action::Back);
                ctx.emit(Action::OpenTenant(t.slug));
            }
            Err(e) => {
                self.form.show_error(&e);
                ctx.emit(Action::FlashError(e.to_string()));
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let footer = if self.busy {
            "Saving…"
        } else {
            "Grey = an example · e-mails optional · Enter create · Esc cancel"
        };
        self.form.draw(f, area, "New tenant", footer, theme, true);
    }
}

impl Default for TenantForm {
    fn default() -> Self {
        Self::new()
    }
}
