//! One tenant: overview · branding (editable) · billing (its money, invoices and payments) ·
//! limits (editable), tinted with the tenant's brand colours. Suspend / reactivate go through a typed confirmation.

use backend::authz::Permission;
use backend::tenants::{self, Limits, Tenant, TenantPatch};
use backend::validate::parse_limit;
use backend::{FieldError, ServiceError};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::{KeyValuePanel, Theme, FORM_FOOTER};

use crate::action::Action;
use crate::form::Form;
use crate::router::{Route, TenantTab};
use crate::screens::billing::tenant_tab::TenantBilling;
use crate::screens::common::confirm::{self, ConfirmKind, ConfirmModal, Outcome};
use crate::screens::tenants::overview::{self as overview, limit_text, BRANDING, LIMITS};
use crate::screens::{Ctx, Dialog, Keys, Mode, Screen, LISTING, TABS};
use crate::tasks::Msg;

/// What the screen's own calls bring back: the tenant read (`tenant`) or saved (`save`).
struct Reply(Result<Tenant, ServiceError>);

/// What the limits form says when the backend asks for confirmation.
pub const BELOW_USAGE: &str = "below current usage (see the fields): Enter again to set anyway, Esc to cancel";

pub struct TenantDetail {
    pub key: String,
    pub tab: TenantTab,
    pub tenant: Option<Tenant>,
    pub error: Option<String>,
    pub branding: Form,
    pub limits: Form,
    pub editing: bool,
    pub busy: bool,
    pub billing: Option<TenantBilling>,
    pub modal: Option<ConfirmModal>,
    /// Limits the backend refused as below the tenant's usage: Enter again with the same
    /// values sends them confirmed.
    pub below_usage: Option<Limits>,
    base: Theme,
    tinted: Option<Theme>,
}

impl Screen for TenantDetail {
    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn dialog(&self) -> Option<Dialog> {
        if self.modal.is_some() {
            Some(Dialog::Confirm { fields: true })
        } else {
            self.editing.then_some(Dialog::Form)
        }
    }

    fn keys(&self) -> Keys {
        let suspend = match self.tenant.as_ref().map(|t| t.status.as_str()) {
            Some("active") => Some(Action::Suspend),
            Some("suspended") => Some(Action::Reactivate),
            _ => None,
        };
        let keys = Keys::new().with(suspend.as_slice());
        let keys = match self.tab {
            TenantTab::Branding | TenantTab::Limits => keys.with(&[Action::Edit]),
            TenantTab::Billing => match &self.billing {
                Some(b) => keys.with(&b.keys()),
                None => keys.with(LISTING),
            },
            TenantTab::Overview => keys,
        };
        keys.with(TABS).with(&[Action::Refresh])
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        match (a, self.tab) {
            (Action::Suspend | Action::Reactivate, _) => Some(Permission::TenantsSuspend),
            (Action::Edit, TenantTab::Limits) => Some(Permission::TenantsLimits),
            (Action::Edit, _) => Some(Permission::TenantsUpdate),
            _ => None,
        }
    }

    fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        Some((TenantTab::ALL.iter().map(|t| t.title()).collect(), self.tab.index()))
    }

    fn route(&self) -> Route {
        let key = self
            .tenant
            .as_ref()
            .map_or_else(|| self.key.clone(), |t| t.slug.clone());
        Route::Tenant { key, tab: self.tab }
    }

    fn theme(&self) -> Option<&Theme> {
        self.tinted.as_ref()
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() || self.editing {
            Mode::Form
        } else if self.tab == TenantTab::Billing {
            self.billing.as_ref().map_or(Mode::List, TenantBilling::mode)
        } else {
            Mode::List
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if m.on_action(a, ctx) == Outcome::Close {
                self.modal = None;
            }
            return true;
        }
        if self.editing {
            match a {
                Action::Accept if !self.busy => self.save(ctx),
                Action::Close | Action::Back => {
                    self.editing = false;
                    self.below_usage = None;
                    if let Some(t) = self.tenant.clone() {
                        self.fill(&t);
                    }
                }
                Action::NextField => self.form_mut().into_iter().for_each(Form::next),
                Action::PrevField => self.form_mut().into_iter().for_each(Form::prev),
                _ => {}
            }
            return true;
        }
        if self.tab == TenantTab::Billing {
            if let Some(b) = &mut self.billing {
                if !matches!(a, Action::Refresh) && b.on_action(a, ctx) {
                    return true;
                }
            }
        }
        match a {
            Action::NextTab | Action::Right => self.switch(1),
            Action::PrevTab | Action::Left => self.switch(-1),
            Action::Edit | Action::Open if matches!(self.tab, TenantTab::Branding | TenantTab::Limits) => {
                if self.tenant.is_some() {
                    self.editing = true;
                    if let Some(f) = self.form_mut() {
                        f.focus = 0;
                    }
                }
            }
            Action::Suspend | Action::Reactivate => {
                let kind = if *a == Action::Suspend {
                    ConfirmKind::Suspend
                } else {
                    ConfirmKind::Reactivate
                };
                if let Some(t) = &self.tenant {
                    self.modal = ConfirmModal::open(kind, t, ctx);
                }
            }
            Action::Refresh => self.reload(ctx),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if let Some(m) = &mut self.modal {
            m.on_input(key);
        } else if self.editing {
            if let Some(f) = self.form_mut() {
                f.input(key);
            }
        } else if let Some(b) = self.billing.as_mut().filter(|_| self.tab == TenantTab::Billing) {
            b.on_input(key, ctx);
        }
    }

    fn apply(&mut self, slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Reply>() {
            Ok(r) => return self.arrived(slot, r.0, ctx),
            Err(m) => m,
        };
        let msg = match msg.downcast::<confirm::Changed>() {
            Ok(r) => {
                match r.0 {
                    Ok(t) => {
                        if let Some(m) = self.modal.take() {
                            ctx.emit(Action::Flash(m.done_message()));
                        }
                        self.loaded(t, ctx);
                    }
                    Err(e) => match &mut self.modal {
                        Some(m) => m.failed(&e),
                        None => ctx.emit(Action::FlashError(e.to_string())),
                    },
                }
                return;
            }
            Err(m) => m,
        };
        if let Some(b) = &mut self.billing {
            b.apply(msg, ctx);
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(t) = &self.tenant else {
            let msg = self
                .error
                .clone()
                .unwrap_or_else(|| format!("Loading tenant {}…", self.key));
            return crate::screens::notice(f, area, "Tenant", &msg, theme.muted, theme);
        };
        let title = format!("{} · {} · {}", t.logo_text, t.slug, t.status);
        match self.tab {
            TenantTab::Billing => {
                if let Some(b) = &mut self.billing {
                    b.draw(f, area, theme);
                }
            }
            TenantTab::Overview => {
                let entries = overview::entries(t);
                f.render_widget(KeyValuePanel::new(&entries, theme).title(&title).focused(true), area);
            }
            TenantTab::Branding | TenantTab::Limits => {
                let (form, what) = if self.tab == TenantTab::Branding {
                    (&self.branding, "branding")
                } else {
                    (&self.limits, "limits (empty or \"unlimited\" = no limit)")
                };
                let footer = if self.busy {
                    "Saving…".to_owned()
                } else if self.editing {
                    FORM_FOOTER.to_owned()
                } else {
                    format!("Press e to edit {what}")
                };
                form.draw(f, area, &title, &footer, theme, self.editing);
            }
        }
        if let Some(m) = &self.modal {
            m.draw(f, theme);
        }
    }
}

impl TenantDetail {
    pub fn new(key: String, tab: TenantTab, theme: &Theme) -> TenantDetail {
        TenantDetail {
            key,
            tab,
            tenant: None,
            error: None,
            branding: Form::new(BRANDING),
            limits: Form::new(LIMITS),
            editing: false,
            busy: false,
            billing: None,
            modal: None,
            below_usage: None,
            base: theme.clone(),
            tinted: None,
        }
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        let key = self.key.clone();
        ctx.load("tenant", |env| async move {
            Reply(tenants::get(&env.db, &env.actor, &key).await)
        });
        if let Some(b) = &mut self.billing {
            b.reload(ctx);
        }
    }

    fn fill(&mut self, t: &Tenant) {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        for (k, v) in [
            ("logo_text", t.logo_text.clone()),
            ("primary_color", t.primary_color.clone()),
            ("accent_color", t.accent_color.clone()),
            ("domain", t.domain.clone()),
            ("sender_name", opt(&t.sender_name)),
            ("sender_email", opt(&t.sender_email)),
            ("support_email", opt(&t.support_email)),
        ] {
            self.branding.set(k, &v);
        }
        for (k, v) in [
            ("max_customers", t.max_customers),
            ("max_services", t.max_services),
            ("max_storage_gb", t.max_storage_gb),
            ("max_domains", t.max_domains),
            ("max_tickets_month", t.max_tickets_month),
        ] {
            self.limits.set(k, &limit_text(v));
        }
        self.branding.clear_errors();
        self.limits.clear_errors();
    }

    fn loaded(&mut self, t: Tenant, ctx: &mut Ctx) {
        self.fill(&t);
        self.tinted = Some(self.base.tinted(&t.primary_color, &t.accent_color));
        if self.billing.is_none() {
            let mut b = TenantBilling::new(t.id, &t.name);
            b.reload(ctx);
            self.billing = Some(b);
        }
        self.key = t.slug.clone();
        self.tenant = Some(t);
        self.error = None;
    }

    fn switch(&mut self, step: isize) {
        let n = TenantTab::ALL.len() as isize;
        let i = (self.tab.index() as isize + step).rem_euclid(n) as usize;
        self.tab = TenantTab::ALL[i];
    }

    fn save(&mut self, ctx: &mut Ctx) {
        let Some(t) = &self.tenant else { return };
        let key = t.id.to_string();
        match self.tab {
            TenantTab::Branding => {
                let v = |k: &str| Some(self.branding.value(k));
                let patch = TenantPatch {
                    logo_text: v("logo_text"),
                    primary_color: v("primary_color"),
                    accent_color: v("accent_color"),
                    domain: v("domain"),
                    sender_name: v("sender_name"),
                    sender_email: v("sender_email"),
                    support_email: v("support_email"),
                    ..TenantPatch::default()
                };
                self.busy = true;
                ctx.load("save", |env| async move {
                    Reply(tenants::update(&env.db, &env.actor, &key, patch).await)
                });
            }
            TenantTab::Limits => {
                let (limits, errors) = self.parse_limits();
                if errors.is_empty() {
                    self.busy = true;
                    let confirm_below_usage = self.below_usage == Some(limits);
                    ctx.load("save", move |env| async move {
                        Reply(tenants::set_limits(&env.db, &env.actor, &key, limits, confirm_below_usage).await)
                    });
                } else {
                    self.limits.show_error(&ServiceError::Validation(errors));
                }
            }
            _ => {}
        }
    }

    /// The limits as typed, and the fields that do not parse.
    fn parse_limits(&self) -> (Limits, Vec<FieldError>) {
        let mut errors = Vec::new();
        let mut get = |k: &str| {
            parse_limit(&self.limits.value(k)).unwrap_or_else(|message| {
                errors.push(FieldError {
                    field: k.to_owned(),
                    message,
                });
                None
            })
        };
        let limits = Limits {
            max_customers: get("max_customers"),
            max_services: get("max_services"),
            max_storage_gb: get("max_storage_gb"),
            max_domains: get("max_domains"),
            max_tickets_month: get("max_tickets_month"),
        };
        (limits, errors)
    }

    fn typed_limits(&self) -> Limits {
        self.parse_limits().0
    }

    fn form_mut(&mut self) -> Option<&mut Form> {
        match self.tab {
            TenantTab::Branding => Some(&mut self.branding),
            TenantTab::Limits => Some(&mut self.limits),
            _ => None,
        }
    }

    fn arrived(&mut self, slot: &'static str, r: Result<Tenant, ServiceError>, ctx: &mut Ctx) {
        match (slot, r) {
            ("tenant", Ok(t)) => self.loaded(t, ctx),
            ("tenant", Err(e)) => {
                self.error = Some(e.to_string());
                ctx.emit(Action::FlashError(e.to_string()));
            }
            (_, r) => {
                self.busy = false;
                match r {
                    Ok(t) => {
                        self.editing = false;
                        self.below_usage = None;
                        ctx.emit(Action::Flash(format!("{} saved", self.tab.title().to_lowercase())));
                        self.loaded(t, ctx);
                    }
                    Err(e) => {
                        if let Some(f) = self.form_mut() {
                            f.show_error(&e);
                        }
                        self.below_usage = None;
                        if let (ServiceError::NeedsConfirmation(_), TenantTab::Limits) = (&e, self.tab) {
                            // Asked, not refused: the same values with Enter again go through.
                            self.below_usage = Some(self.typed_limits());
                            self.limits.error = Some(BELOW_USAGE.to_owned());
                            ctx.emit(Action::FlashError(BELOW_USAGE.to_owned()));
                        } else {
                            ctx.emit(Action::FlashError(e.to_string()));
                        }
                    }
                }
            }
        }
    }
}
