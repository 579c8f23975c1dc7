//! Create a tenant. The form sends what was typed; the backend validates it and its field
//! errors are shown next to the fields.

use backend::tenants::NewTenant;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::Theme;

use super::Ctx;
use crate::action::Action;
use crate::form::Form;
use crate::tasks::{Reply, Request};

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Name", "Acme Hosting"),
    ("slug", "Slug", "from the name"),
    ("domain", "Domain", "acme.example.com"),
    ("tier", "Tier", "basic (free, basic, pro, enterprise)"),
    ("currency", "Currency", "BRL"),
    ("logo_text", "Logo text", "the name"),
    ("primary_color", "Primary colour", "#3b82f6"),
    ("accent_color", "Accent colour", "#f59e0b"),
    ("sender_name", "Sender name", "optional"),
    ("sender_email", "Sender e-mail", "optional"),
    ("support_email", "Support e-mail", "optional"),
];

pub struct TenantForm {
    pub form: Form,
    pub busy: bool,
}

impl TenantForm {
    pub fn new() -> TenantForm {
        TenantForm {
            form: Form::new(FIELDS),
            busy: false,
        }
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

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => {
                self.busy = true;
                self.form.clear_errors();
                ctx.load("create", Request::CreateTenant(Box::new(self.input())));
            }
            Action::Accept => {}
            Action::Close => ctx.emit(Action::Back),
            _ => return false,
        }
        true
    }

    pub fn on_input(&mut self, key: KeyEvent) {
        self.form.input(key);
    }

    pub fn apply(&mut self, reply: Reply, ctx: &mut Ctx) {
        let Reply::Tenant(r) = reply else { return };
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

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let footer = if self.busy {
            "Saving…"
        } else {
            "Empty fields take the defaults shown · Enter save · Esc cancel"
        };
        self.form.draw(f, area, "New tenant", footer, theme, true);
    }
}

impl Default for TenantForm {
    fn default() -> Self {
        Self::new()
    }
}
