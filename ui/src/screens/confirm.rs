//! The typed confirmation for suspending (slug + reason) and reactivating a tenant. The
//! backend checks the typed slug; this modal only collects it and shows what was wrong.

use backend::tenants::Tenant;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use widgets::Theme;

use super::Ctx;
use crate::action::Action;
use crate::form::Form;
use crate::tasks::Request;

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
}

impl ConfirmModal {
    pub fn new(kind: ConfirmKind, t: &Tenant) -> ConfirmModal {
        let form = match kind {
            ConfirmKind::Suspend => Form::new(&[
                ("confirm", "Type the slug", "the tenant's slug"),
                ("reason", "Reason", "why (kept in the audit log)"),
            ]),
            ConfirmKind::Reactivate => Form::new(&[]),
        };
        ConfirmModal {
            kind,
            slug: t.slug.clone(),
            name: t.name.clone(),
            form,
            busy: false,
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
                let req = match self.kind {
                    ConfirmKind::Suspend => Request::Suspend {
                        key: self.slug.clone(),
                        reason: self.form.value("reason"),
                        confirm: self.form.value("confirm"),
                    },
                    ConfirmKind::Reactivate => Request::Reactivate(self.slug.clone()),
                };
                ctx.load(SLOT, req);
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
        self.form.show_error(e);
    }

    pub fn done_message(&self) -> String {
        match self.kind {
            ConfirmKind::Suspend => format!("tenant {} suspended", self.slug),
            ConfirmKind::Reactivate => format!("tenant {} reactivated", self.slug),
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width.saturating_sub(4).min(70);
        let height = match self.kind {
            ConfirmKind::Suspend => 12,
            ConfirmKind::Reactivate => 7,
        };
        let rect = widgets::popup_area(area, width, height);
        f.render_widget(Clear, rect);
        let title = match self.kind {
            ConfirmKind::Suspend => "Suspend tenant",
            ConfirmKind::Reactivate => "Reactivate tenant",
        };
        let block = theme.popup_block().title(theme.title_line(title, usize::from(width)));
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let [text, fields, foot] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(0), Constraint::Length(1)]).areas(inner);
        let msg = match self.kind {
            ConfirmKind::Suspend => format!(
                "Suspending {} ({}) stops its customers' services. Type the slug to confirm.",
                self.name, self.slug
            ),
            ConfirmKind::Reactivate => format!("Reactivate {} ({})?", self.name, self.slug),
        };
        f.render_widget(Paragraph::new(msg).style(theme.warning).wrap(Wrap { trim: true }), text);
        self.form.draw(f, fields, theme, true);
        let hint = if self.busy {
            "working…"
        } else {
            "enter confirm · esc cancel"
        };
        f.render_widget(Paragraph::new(Line::styled(hint, theme.muted)), foot);
    }
}
