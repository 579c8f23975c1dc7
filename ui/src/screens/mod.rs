//! Screens: each owns its state, turns actions into backend requests (through [`Ctx`]) and
//! router actions, applies backend replies and draws itself. They never call each other.

pub mod audit;
pub mod billing;
pub mod common;
pub mod customers;
pub mod dashboard;
pub mod dns_ssl;
pub mod incidents;
pub mod login;
pub mod migrations;
pub mod servers;
pub mod services;
pub mod settings;
pub mod tenants;

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use widgets::Theme;

use backend::authz::Permission;

use crate::action::Action;
use crate::router::{Page, Route};
use crate::tasks::{Env, Job, Msg, Sink};

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

/// What a screen asks of the app while handling something: calls to run (see
/// [`crate::tasks`]) and actions for the router.
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

    /// Runs `f` now; its output comes back to the screen's `apply` under `slot`, unless a
    /// newer call in the same slot replaced it.
    pub fn load<M, F, Fut>(&mut self, slot: &'static str, f: F)
    where
        M: Send + 'static,
        F: FnOnce(Env) -> Fut + Send + 'static,
        Fut: Future<Output = M> + Send + 'static,
    {
        self.jobs.push(Job::call(slot, f));
    }

    /// Like [`Ctx::load`], after [`DEBOUNCE`] (typing in a filter).
    pub fn debounced<M, F, Fut>(&mut self, slot: &'static str, f: F)
    where
        M: Send + 'static,
        F: FnOnce(Env) -> Fut + Send + 'static,
        Fut: Future<Output = M> + Send + 'static,
    {
        self.jobs.push(Job::call(slot, f).delayed(DEBOUNCE));
    }

    /// A subscription: runs until the screen leaves the top of the stack.
    pub fn follow<F, Fut>(&mut self, slot: &'static str, f: F)
    where
        F: FnOnce(Env, Sink) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.jobs.push(Job::stream(slot, f));
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

/// The keys a screen answers to in its current state, as it declares them: the hint bar and
/// `?` help show exactly these (plus the app-wide keys), under the screen's word for them.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    keys: Vec<(Action, Option<&'static str>)>,
}

/// Moving in a list and reloading it.
pub const MOVING: &[Action] = &[
    Action::Up,
    Action::Down,
    Action::Top,
    Action::Bottom,
    Action::HalfPageDown,
    Action::HalfPageUp,
    Action::Refresh,
];

/// Moving, filtering and paging a list.
pub const LISTING: &[Action] = &[
    Action::Up,
    Action::Down,
    Action::Top,
    Action::Bottom,
    Action::HalfPageDown,
    Action::HalfPageUp,
    Action::Refresh,
    Action::Filter,
    Action::NextPage,
    Action::PrevPage,
];

/// The section's tabs.
pub const TABS: &[Action] = &[Action::NextTab, Action::PrevTab];

impl Keys {
    pub fn new() -> Keys {
        Keys::default()
    }

    pub fn with(mut self, actions: &[Action]) -> Keys {
        self.keys.extend(actions.iter().map(|a| (a.clone(), None)));
        self
    }

    /// `actions` only when `cond` holds (a key that works in some states only).
    pub fn when(self, cond: bool, actions: &[Action]) -> Keys {
        if cond {
            self.with(actions)
        } else {
            self
        }
    }

    /// `a`, shown as `label` rather than the keymap's word (x revokes an API key).
    pub fn labelled(mut self, a: Action, label: &'static str) -> Keys {
        self.keys.push((a, Some(label)));
        self
    }

    pub fn has(&self, a: &Action) -> bool {
        self.keys.iter().any(|(k, _)| k == a)
    }

    pub fn label(&self, a: &Action) -> Option<&'static str> {
        self.keys.iter().find(|(k, _)| k == a).and_then(|(_, l)| *l)
    }
}

/// A screen of the console. The router keeps a stack of `Box<dyn Screen>`; a screen owns its
/// state, its backend calls (through [`Ctx`]) and their message types, and draws from what
/// it holds — it never queries while drawing, and never calls another screen.
pub trait Screen: Any + Send {
    /// Where it is in the sitemap (title, breadcrumbs, tabs, `q`).
    fn route(&self) -> Route;

    /// Which keymap tables apply now.
    fn mode(&self) -> Mode {
        Mode::List
    }

    /// Issues the first loads (again on the way back to it).
    fn start(&mut self, _ctx: &mut Ctx) {}

    /// Handles an action; false when the screen has no use for it (the app then routes it).
    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool;

    /// A key no binding claimed, in Form or Text mode.
    fn on_input(&mut self, _key: KeyEvent, _ctx: &mut Ctx) {}

    /// A message from one of its calls (it downcasts to its own types).
    fn apply(&mut self, _slot: &'static str, _msg: Msg, _ctx: &mut Ctx) {}

    /// The app's 250 ms tick, for the screen on top; true when it needs a redraw.
    fn tick(&mut self, _ctx: &mut Ctx) -> bool {
        false
    }

    /// The dialog open on the screen, if any: it takes every key until it closes.
    fn dialog(&self) -> Option<Dialog> {
        None
    }

    /// The keys it answers to now, outside a dialog.
    fn keys(&self) -> Keys;

    /// What Enter does in the open dialog, when "save"/"confirm" would not say it ("verify",
    /// "block", "transfer"): the hint bar tells what the key really does.
    fn accept_label(&self) -> Option<&'static str> {
        None
    }

    /// The permission `a` needs here, when it needs one (a changing key): the hint bar and
    /// help leave out what the actor's grants do not allow, and the app refuses it before
    /// any call. The service layer is still the real gate.
    fn needs(&self, _a: &Action) -> Option<Permission> {
        None
    }

    /// Narrows the screen to `text` as if typed after `/` (a dashboard card's filter);
    /// false when it has no filter.
    fn filter_by(&mut self, _text: &str, _ctx: &mut Ctx) -> bool {
        false
    }

    /// Tabs drawn above the screen: (titles, selected).
    fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        self.route().tabs()
    }

    /// A theme of its own (a tenant's brand colours).
    fn theme(&self) -> Option<&Theme> {
        None
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme);
}

impl dyn Screen {
    /// Whether the hint bar and `?` help offer `a` here now: the app-wide keys and the
    /// screen's own, or inside a dialog only the dialog's.
    pub fn offers(&self, a: &Action) -> bool {
        use Action::*;
        match self.dialog() {
            Some(Dialog::Form) => matches!(a, Accept | Close | NextField | PrevField | Quit),
            Some(Dialog::Confirm { fields }) => {
                matches!(a, Accept | Close | Quit) || (fields && matches!(a, NextField | PrevField))
            }
            Some(Dialog::Notice) => matches!(a, Accept | Quit),
            None => matches!(a, Palette | Help | Back | Quit | Goto(_)) || self.keys().has(a),
        }
    }

    /// The hint bar's and help's word for `a` here when the keymap's does not fit (Enter
    /// confirms a dialog rather than saving a form).
    pub fn label(&self, a: &Action) -> Option<&'static str> {
        match (self.dialog(), a) {
            (Some(_), Action::Accept) if self.accept_label().is_some() => self.accept_label(),
            (Some(Dialog::Confirm { .. }), Action::Accept) => Some("confirm"),
            (Some(Dialog::Notice), Action::Accept) => Some("close"),
            (Some(_), _) => None,
            (None, _) => self.keys().label(a),
        }
    }

    pub fn downcast_ref<T: Screen>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref()
    }

    pub fn downcast_mut<T: Screen>(&mut self) -> Option<&mut T> {
        (self as &mut dyn Any).downcast_mut()
    }
}

/// Makes the screen of a page.
type Make = fn(&'static Page) -> Box<dyn Screen>;

/// The router's table: which screen shows which sitemap page. A page not listed here shows
/// its browse view ([`common::browse::BrowseScreen`]).
const SCREENS: &[(&str, Make)] = &[
    ("dashboard", |_| Box::<dashboard::Dashboard>::default()),
    ("tenants", |_| Box::<tenants::list::TenantsList>::default()),
    ("tenants/create", |_| Box::<tenants::create::TenantForm>::default()),
    ("customers", |_| Box::<customers::list::CustomersList>::default()),
    ("services/list", |_| Box::<services::list::ServicesList>::default()),
    ("servers", |_| Box::<servers::list::ServersList>::default()),
    ("servers/capacity", |_| {
        Box::<servers::capacity::CapacityScreen>::default()
    }),
    ("servers/create", |_| Box::<servers::create::ServerForm>::default()),
    ("services/provisioning", |_| {
        Box::<services::queues::QueuesScreen>::default()
    }),
    ("services/jobs", |_| Box::<services::jobs::JobsList>::default()),
    ("services/new", |_| Box::<services::create::OrderForm>::default()),
    ("settings/api-keys", |_| {
        Box::<settings::api_keys::ApiKeysScreen>::default()
    }),
    ("settings/security", |_| {
        Box::<settings::security::SecurityScreen>::default()
    }),
    ("audit-logs", |_| Box::<audit::log::AuditLog>::default()),
    ("billing/credits", |_| Box::<billing::credits::CreditsScreen>::default()),
    ("billing/invoices", |_| {
        Box::<billing::invoices::InvoicesList>::default()
    }),
    ("billing/payments", |_| {
        Box::<billing::payments::PaymentsList>::default()
    }),
    ("billing/renewals", |_| {
        Box::<billing::renewals::RenewalsScreen>::default()
    }),
    ("billing/prices", |_| Box::<billing::prices::PricesScreen>::default()),
    ("billing/coupons", |_| Box::<billing::coupons::CouponsScreen>::default()),
    ("billing/disputes", |_| {
        Box::<billing::disputes::DisputesScreen>::default()
    }),
    ("migrations", |_| Box::<migrations::queue::QueueScreen>::default()),
    ("migrations/new", |_| {
        Box::<migrations::create::MigrationForm>::default()
    }),
    ("dns-ssl/zones", |_| Box::<dns_ssl::zones::ZonesScreen>::default()),
    ("dns-ssl/failures", |_| {
        Box::<dns_ssl::failures::FailuresScreen>::default()
    }),
    ("dns-ssl/certificates", |_| {
        Box::<dns_ssl::certificates::CertificatesScreen>::default()
    }),
];

/// The screen for a route; call [`Screen::start`] after.
pub fn for_route(route: &Route, theme: &Theme) -> Box<dyn Screen> {
    match route {
        Route::Tenant { key, tab } => Box::new(tenants::detail::TenantDetail::new(key.clone(), *tab, theme)),
        Route::Customer { key, tab } => Box::new(customers::detail::CustomerScreen::new(key.clone(), *tab)),
        Route::Service { key } => Box::new(services::service::ServiceScreen::new(key.clone())),
        Route::User { id } => Box::new(settings::user::UserScreen::new(*id)),
        Route::Migration { key } => Box::new(migrations::detail::MigrationScreen::new(key.clone())),
        Route::Server { key, tab } => Box::new(servers::detail::ServerScreen::new(key.clone(), *tab)),
        Route::Invoice { key } => Box::new(billing::invoice::InvoiceScreen::new(key.clone())),
        Route::InvoicePix { key } => Box::new(billing::pix::PixScreen::new(key.clone())),
        Route::Dispute { key } => Box::new(billing::disputes::DisputeScreen::new(key.clone())),
        Route::Refund { payment } => Box::new(billing::refund::RefundScreen::new(payment.clone())),
        Route::Zone { name } => Box::new(dns_ssl::zone::ZoneScreen::new(name.clone())),
        Route::Page(p) => match SCREENS.iter().find(|(path, _)| *path == p.path) {
            Some((_, make)) => make(p),
            None => Box::new(common::browse::BrowseScreen::new(p)),
        },
    }
}

/// How a browse view's columns behave on narrow terminals, as its section declares them.
pub fn columns_for(view: &str) -> Option<&'static common::columns::ViewColumns> {
    [
        servers::COLUMNS,
        services::COLUMNS,
        migrations::COLUMNS,
        billing::COLUMNS,
        dns_ssl::COLUMNS,
        incidents::COLUMNS,
        settings::COLUMNS,
    ]
    .into_iter()
    .flatten()
    .find(|c| c.view == view)
}

/// The permission opening `path` needs: its browse view's, or the screen's own read.
pub fn page_permission(path: &str) -> Option<Permission> {
    if let Some(v) = crate::router::page_at(path)
        .and_then(|p| p.view)
        .and_then(backend::browse::view)
    {
        return Some(v.permission);
    }
    Some(match path {
        "tenants" => Permission::TenantsRead,
        "tenants/create" => Permission::TenantsCreate,
        "customers" => Permission::CustomersRead,
        "servers/capacity" => Permission::ServersRead,
        "servers/create" => Permission::ServersManage,
        "services/new" => Permission::ServicesManage,
        "migrations/new" => Permission::ServicesManage,
        "services/provisioning" | "services/jobs" => Permission::JobsRead,
        "settings/api-keys" => Permission::ApikeysRead,
        "billing/credits" | "billing/renewals" | "billing/prices" | "billing/coupons" => Permission::BillingRead,
        _ => return None,
    })
}

/// The permission opening `route` needs.
pub fn route_permission(route: &Route) -> Option<Permission> {
    match route {
        Route::Page(p) => page_permission(p.path),
        Route::Tenant { .. } => Some(Permission::TenantsRead),
        Route::Customer { .. } => Some(Permission::CustomersRead),
        Route::Service { .. } => Some(Permission::ServicesRead),
        Route::User { .. } => Some(Permission::TenantsRead),
        Route::Migration { .. } => Some(Permission::MigrationsRead),
        Route::Server { .. } => Some(Permission::ServersRead),
        Route::Invoice { .. } => Some(Permission::BillingRead),
        Route::InvoicePix { .. } => Some(Permission::BillingRead),
        Route::Dispute { .. } => Some(Permission::BillingRead),
        Route::Refund { .. } => Some(Permission::PaymentsRefund),
        Route::Zone { .. } => Some(Permission::DnsRead),
    }
}

/// What a page the actor's role may not open shows, instead of waiting for rows that will
/// never come.
pub struct Forbidden {
    pub route: Route,
    pub text: String,
}

impl Forbidden {
    pub fn new(route: Route, actor: &backend::Actor, needs: Permission) -> Forbidden {
        let title = route.breadcrumbs().join(" › ");
        let text = format!(
            "{title} is not open to {} ({}): it needs the {} permission. \
             Ask a platform administrator if you need it.",
            actor.name,
            actor.role.as_str(),
            needs.key()
        );
        Forbidden { route, text }
    }
}

impl Screen for Forbidden {
    fn route(&self) -> Route {
        self.route.clone()
    }

    fn on_action(&mut self, _a: &Action, _ctx: &mut Ctx) -> bool {
        false
    }

    fn keys(&self) -> Keys {
        Keys::new()
    }

    fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        None
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        notice(f, area, "Not permitted", &self.text, theme.warning, theme);
    }
}

/// The route of a fixed page (the paths in [`SCREENS`] are all in the sitemap).
pub fn page_route(path: &str) -> Route {
    Route::parse(path).unwrap_or_else(Route::dashboard)
}

/// What kind of dialog a screen has open, for the keys it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    /// Fields to fill and save.
    Form,
    /// Enter confirms, Esc cancels; `fields` when something must be typed first.
    Confirm { fields: bool },
    /// Something to read, closed with Enter (an API key's secret).
    Notice,
}
