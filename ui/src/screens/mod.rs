//! Screens: each owns its state, turns actions into backend requests (through [`Ctx`]) and
//! router actions, applies backend replies and draws itself. They never call each other.

pub mod api_keys;
pub mod audit_detail;
pub mod audit_log;
pub mod browse;
pub mod confirm;
pub mod dashboard;
pub mod filter;
pub mod job_confirm;
pub mod job_detail;
pub mod jobs_list;
pub mod login;
pub mod paging;
pub mod queues;
pub mod tenant_detail;
pub mod tenant_form;
pub mod tenant_overview;
pub mod tenants_list;

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::router::Route;
use crate::tasks::{Job, Reply, Request};

/// A titled panel with one message in it: loading, an error, or why there is nothing to show.
pub fn notice(f: &mut Frame, area: Rect, title: &str, text: &str, style: Style, theme: &Theme) {
    let block = theme
        .block(true)
        .title(theme.title_line(title, usize::from(area.width.saturating_sub(2))));
    let text = widgets::text::sanitize(text).into_owned();
    f.render_widget(
        Paragraph::new(text).style(style).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

/// How long filter typing waits before querying.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// What a screen asks of the app while handling something.
#[derive(Debug, Default)]
pub struct Ctx {
    pub page_size: usize,
    pub jobs: Vec<Job>,
    pub actions: Vec<Action>,
}

impl Ctx {
    pub fn new(page_size: usize) -> Ctx {
        Ctx {
            page_size,
            ..Ctx::default()
        }
    }

    pub fn load(&mut self, slot: &'static str, request: Request) {
        self.jobs.push(Job {
            slot,
            request,
            delay: None,
        });
    }

    pub fn debounced(&mut self, slot: &'static str, request: Request) {
        self.jobs.push(Job {
            slot,
            request,
            delay: Some(DEBOUNCE),
        });
    }

    pub fn emit(&mut self, action: Action) {
        self.actions.push(action);
    }
}

/// Which keymap tables apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lists and read-only screens: [list] then [global].
    List,
    /// Editing a form: [form]; other keys go to the focused field.
    Form,
    /// Typing in a one-line input (the filter): [palette]; other keys go to the input.
    Text,
    /// The queue screens: [jobs], then [list] and [global].
    Jobs,
    /// The audit log: [audit], then [list] and [global].
    Audit,
}

pub enum Screen {
    Dashboard(dashboard::Dashboard),
    Tenants(tenants_list::TenantsList),
    TenantCreate(tenant_form::TenantForm),
    Tenant(Box<tenant_detail::TenantDetail>),
    Browse(browse::BrowseScreen),
    Queues(Box<queues::QueuesScreen>),
    Jobs(Box<jobs_list::JobsList>),
    ApiKeys(Box<api_keys::ApiKeysScreen>),
    Audit(Box<audit_log::AuditLog>),
}

impl Screen {
    /// The screen for a route; call [`Screen::start`] after.
    pub fn for_route(route: &Route, theme: &Theme) -> Screen {
        match route {
            Route::Tenant { key, tab } => {
                Screen::Tenant(Box::new(tenant_detail::TenantDetail::new(key.clone(), *tab, theme)))
            }
            Route::Page(p) => match p.path {
                "dashboard" => Screen::Dashboard(dashboard::Dashboard::default()),
                "tenants" => Screen::Tenants(tenants_list::TenantsList::default()),
                "tenants/create" => Screen::TenantCreate(tenant_form::TenantForm::new()),
                "services/provisioning" => Screen::Queues(Box::default()),
                "services/jobs" => Screen::Jobs(Box::default()),
                "settings/api-keys" => Screen::ApiKeys(Box::default()),
                "audit-logs" => Screen::Audit(Box::default()),
                _ => Screen::Browse(browse::BrowseScreen::new(p)),
            },
        }
    }

    pub fn route(&self) -> Route {
        match self {
            Screen::Dashboard(_) => Route::dashboard(),
            Screen::Tenants(_) => Route::parse("tenants").unwrap_or_else(Route::dashboard),
            Screen::TenantCreate(_) => Route::parse("tenants/create").unwrap_or_else(Route::dashboard),
            Screen::Tenant(s) => s.route(),
            Screen::Browse(s) => Route::Page(s.page),
            Screen::Queues(_) => Route::parse("services/provisioning").unwrap_or_else(Route::dashboard),
            Screen::Jobs(_) => Route::parse("services/jobs").unwrap_or_else(Route::dashboard),
            Screen::ApiKeys(_) => Route::parse("settings/api-keys").unwrap_or_else(Route::dashboard),
            Screen::Audit(_) => Route::parse("audit-logs").unwrap_or_else(Route::dashboard),
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            Screen::Dashboard(_) => Mode::List,
            Screen::Tenants(s) => s.mode(),
            Screen::TenantCreate(_) => Mode::Form,
            Screen::Tenant(s) => s.mode(),
            Screen::Browse(s) => s.state.mode(),
            Screen::Queues(s) => s.mode(),
            Screen::Jobs(s) => s.mode(),
            Screen::ApiKeys(s) => s.mode(),
            Screen::Audit(s) => s.mode(),
        }
    }

    /// Issues the first loads.
    pub fn start(&mut self, ctx: &mut Ctx) {
        match self {
            Screen::Dashboard(s) => s.reload(ctx),
            Screen::Tenants(s) => s.reload(ctx),
            Screen::TenantCreate(_) => {}
            Screen::Tenant(s) => s.reload(ctx),
            Screen::Browse(s) => s.state.reload(ctx),
            Screen::Queues(s) => s.start(ctx),
            Screen::Jobs(s) => s.reload(ctx),
            Screen::ApiKeys(s) => s.reload(ctx),
            Screen::Audit(s) => s.reload(ctx),
        }
    }

    /// Handles an action; false when the screen has no use for it (the app then routes it).
    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match self {
            Screen::Dashboard(s) => s.on_action(a, ctx),
            Screen::Tenants(s) => s.on_action(a, ctx),
            Screen::TenantCreate(s) => s.on_action(a, ctx),
            Screen::Tenant(s) => s.on_action(a, ctx),
            Screen::Browse(s) => s.state.on_action(a, ctx),
            Screen::Queues(s) => s.on_action(a, ctx),
            Screen::Jobs(s) => s.on_action(a, ctx),
            Screen::ApiKeys(s) => s.on_action(a, ctx),
            Screen::Audit(s) => s.on_action(a, ctx),
        }
    }

    /// A key no binding claimed, in Form or Text mode.
    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        match self {
            Screen::Dashboard(_) => {}
            Screen::Tenants(s) => s.on_input(key, ctx),
            Screen::TenantCreate(s) => s.on_input(key),
            Screen::Tenant(s) => s.on_input(key, ctx),
            Screen::Browse(s) => s.state.on_input(key, ctx),
            Screen::Queues(_) => {}
            Screen::Jobs(s) => s.on_input(key, ctx),
            Screen::ApiKeys(s) => s.on_input(key),
            Screen::Audit(s) => s.on_input(key, ctx),
        }
    }

    pub fn apply(&mut self, slot: &'static str, reply: Reply, ctx: &mut Ctx) {
        match self {
            Screen::Dashboard(s) => s.apply(reply, ctx),
            Screen::Tenants(s) => s.apply(slot, reply, ctx),
            Screen::TenantCreate(s) => s.apply(reply, ctx),
            Screen::Tenant(s) => s.apply(slot, reply, ctx),
            Screen::Browse(s) => s.state.apply(reply, ctx),
            Screen::Queues(s) => s.apply(slot, reply, ctx),
            Screen::Jobs(s) => s.apply(slot, reply, ctx),
            Screen::ApiKeys(s) => s.apply(slot, reply, ctx),
            Screen::Audit(s) => s.apply(slot, reply, ctx),
        }
    }

    /// The app's 250 ms tick, for the screen on top; true when it needs a redraw.
    pub fn tick(&mut self, ctx: &mut Ctx) -> bool {
        match self {
            Screen::Queues(s) => s.tick(ctx),
            _ => false,
        }
    }

    /// The dialog open on the screen, if any: it takes every key until it closes.
    fn dialog(&self) -> Option<Dialog> {
        let confirm = |open: bool, fields: bool| open.then_some(Dialog::Confirm { fields });
        match self {
            Screen::TenantCreate(_) => Some(Dialog::Form),
            // The typed confirmation has fields: reason, slug, a 2FA code.
            Screen::Tenants(s) => confirm(s.modal.is_some(), true),
            Screen::Tenant(s) if s.modal.is_some() => Some(Dialog::Confirm { fields: true }),
            Screen::Tenant(s) => s.editing.then_some(Dialog::Form),
            Screen::Queues(s) => confirm(s.modal.is_some(), false),
            Screen::Jobs(s) => confirm(s.modal.is_some(), false),
            Screen::ApiKeys(s) if s.form.is_some() => Some(Dialog::Form),
            Screen::ApiKeys(s) if s.shown.is_some() => Some(Dialog::Notice),
            Screen::ApiKeys(s) => confirm(s.confirm.is_some(), false),
            Screen::Dashboard(_) | Screen::Browse(_) | Screen::Audit(_) => None,
        }
    }

    /// Whether the hint bar and `?` help offer `a` here now: the app-wide keys and the
    /// screen's own (`supports`), or inside a dialog only the dialog's.
    pub fn offers(&self, a: &Action) -> bool {
        use Action::*;
        match self.dialog() {
            Some(Dialog::Form) => matches!(a, Accept | Close | NextField | PrevField | Quit),
            Some(Dialog::Confirm { fields }) => {
                matches!(a, Accept | Close | Quit) || (fields && matches!(a, NextField | PrevField))
            }
            Some(Dialog::Notice) => matches!(a, Accept | Quit),
            None => matches!(a, Palette | Help | Back | Quit | Goto(_)) || self.supports(a),
        }
    }

    /// The hint bar's and help's word for `a` here when the keymap's does not fit (x revokes
    /// an API key; Enter confirms a dialog rather than saving a form).
    pub fn label(&self, a: &Action) -> Option<&'static str> {
        match (self.dialog(), a) {
            (Some(Dialog::Confirm { .. }), Action::Accept) => Some("confirm"),
            (Some(Dialog::Notice), Action::Accept) => Some("close"),
            (Some(_), _) => None,
            (None, Action::Suspend) if matches!(self, Screen::ApiKeys(_)) => Some("revoke"),
            (None, _) => match self {
                Screen::Audit(s) => s.label(a),
                _ => None,
            },
        }
    }

    /// Whether the screen does something with `a` now (for the hint bar).
    pub fn supports(&self, a: &Action) -> bool {
        use Action::*;
        let moving = matches!(a, Up | Down | Top | Bottom | HalfPageDown | HalfPageUp | Refresh);
        let listing = moving || matches!(a, Filter | NextPage | PrevPage);
        match self {
            Screen::Dashboard(_) => moving || matches!(a, Open | Left | Right),
            Screen::Tenants(_) => {
                listing
                    || matches!(
                        a,
                        Open | SortNext | SortFlip | Create | Suspend | Reactivate | NextTab | PrevTab
                    )
            }
            Screen::TenantCreate(_) => matches!(a, NextTab | PrevTab),
            Screen::Tenant(s) => s.supports(a, listing),
            // Tabs move between a section's pages (settings has more than one).
            Screen::Browse(s) => listing || (matches!(a, NextTab | PrevTab) && Route::Page(s.page).tabs().is_some()),
            Screen::Queues(s) => s.supports(a),
            Screen::Jobs(s) => s.supports(a, listing),
            Screen::ApiKeys(s) => s.supports(a, listing),
            Screen::Audit(s) => s.supports(a, listing),
        }
    }

    /// Tabs drawn above the screen: (titles, selected).
    pub fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        match self {
            Screen::Tenant(s) => Some(s.tabs()),
            other => other.route().tabs(),
        }
    }

    /// A theme of its own (a tenant's brand colours).
    pub fn theme(&self) -> Option<&Theme> {
        match self {
            Screen::Tenant(s) => s.theme(),
            _ => None,
        }
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        match self {
            Screen::Dashboard(s) => s.draw(f, area, theme),
            Screen::Tenants(s) => s.draw(f, area, theme),
            Screen::TenantCreate(s) => s.draw(f, area, theme),
            Screen::Tenant(s) => s.draw(f, area, theme),
            Screen::Browse(s) => s.draw(f, area, theme),
            Screen::Queues(s) => s.draw(f, area, theme),
            Screen::Jobs(s) => s.draw(f, area, theme),
            Screen::ApiKeys(s) => s.draw(f, area, theme),
            Screen::Audit(s) => s.draw(f, area, theme),
        }
    }
}

/// What kind of dialog a screen has open, for the keys it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialog {
    /// Fields to fill and save.
    Form,
    /// Enter confirms, Esc cancels; `fields` when something must be typed first.
    Confirm { fields: bool },
    /// Something to read, closed with Enter (an API key's secret).
    Notice,
}
