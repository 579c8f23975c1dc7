//! One customer's whole story on one screen: the profile, then a tab per thing that touches
//! the customer — services, lines, invoices, payments, tickets, jobs and the audit trail —
//! each a browse view narrowed to this customer (`BrowseQuery::customer`), in the actor's
//! scope like every list.

use backend::authz::Permission;
use backend::customers::{self, Customer};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::{KeyValuePanel, KvEntry, Theme, Tone};

use crate::action::Action;
use crate::router::{CustomerTab, Route};
use crate::screens::common::browse::{tone_for, BrowseState};
use crate::screens::customers::change::{Changed, Modal};
use crate::screens::{Ctx, Dialog, Keys, Mode, Screen, TABS};
use crate::tasks::Msg;

struct Reply(Result<Customer, ServiceError>);

pub struct CustomerScreen {
    /// What was asked for: an id or a unique prefix; the full id once loaded.
    pub key: String,
    pub tab: CustomerTab,
    pub customer: Option<Customer>,
    pub error: Option<String>,
    /// One table per tab but the profile, in [`CustomerTab::ALL`] order, once the customer is
    /// known.
    pub tables: Vec<(CustomerTab, BrowseState)>,
    /// The edit form, block/unblock or transfer dialog, while open.
    pub modal: Option<Modal>,
}

impl CustomerScreen {
    pub fn new(key: String, tab: CustomerTab) -> CustomerScreen {
        CustomerScreen {
            key,
            tab,
            customer: None,
            error: None,
            tables: Vec::new(),
            modal: None,
        }
    }

    /// The table of the tab shown, if it has one.
    pub fn table(&self) -> Option<&BrowseState> {
        self.tables.iter().find(|(t, _)| *t == self.tab).map(|(_, b)| b)
    }

    fn table_mut(&mut self) -> Option<&mut BrowseState> {
        let tab = self.tab;
        self.tables.iter_mut().find(|(t, _)| *t == tab).map(|(_, b)| b)
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        let key = self.key.clone();
        ctx.load("customer", |env| async move {
            Reply(customers::get(&env.db, &env.actor, &key).await)
        });
    }

    fn loaded(&mut self, c: Customer, ctx: &mut Ctx) {
        if self.tables.is_empty() {
            for tab in CustomerTab::ALL {
                let Some(view) = tab.view() else { continue };
                let title = format!("{} of {}", tab.title(), c.name);
                let mut b = BrowseState::new(view, title, None).for_customer(c.id, tab.key());
                b.reload(ctx);
                self.tables.push((tab, b));
            }
        } else {
            for (_, b) in &mut self.tables {
                b.reload(ctx);
            }
        }
        self.key = c.id.to_string();
        self.customer = Some(c);
        self.error = None;
    }

    fn switch(&mut self, step: isize) {
        let n = CustomerTab::ALL.len() as isize;
        let i = (self.tab.index() as isize + step).rem_euclid(n) as usize;
        self.tab = CustomerTab::ALL[i];
    }
}

/// "suspended" reads as "blocked: <reason>" on a customer.
fn status_text(c: &Customer) -> String {
    match (c.status.as_str(), &c.status_reason) {
        ("suspended", Some(r)) => format!("blocked: {r}"),
        ("suspended", None) => "blocked".to_owned(),
        (s, _) => s.to_owned(),
    }
}

/// The profile as label/value rows.
pub fn entries(c: &Customer) -> Vec<KvEntry<'static>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    let time = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M").to_string();
    let mut rows = vec![
        KvEntry::new("Name", c.name.clone()).tone(Tone::Accent),
        KvEntry::new("E-mail", c.email.clone()),
        KvEntry::new("Phone", opt(&c.phone)),
        KvEntry::new("Document", opt(&c.document)),
        KvEntry::new("Status", status_text(c)).tone(tone_for(&c.status)),
        KvEntry::new("Tenant", c.tenant_slug.clone()),
        KvEntry::new("Reseller", opt(&c.reseller)),
    ];
    if !c.notes.is_empty() {
        rows.push(KvEntry::new("Notes", c.notes.clone()));
    }
    rows.push(KvEntry::new("Customer since", time(&c.created_at)));
    rows.push(KvEntry::new("Updated", time(&c.updated_at)));
    rows.push(KvEntry::new("Id", c.id.to_string()).tone(Tone::Muted));
    rows
}

impl Screen for CustomerScreen {
    fn route(&self) -> Route {
        Route::Customer {
            key: self.key.clone(),
            tab: self.tab,
        }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() {
            return Mode::Form;
        }
        self.table().map_or(Mode::List, BrowseState::mode)
    }

    fn dialog(&self) -> Option<Dialog> {
        self.modal.as_ref().map(Modal::dialog)
    }

    fn accept_label(&self) -> Option<&'static str> {
        self.modal.as_ref().map(Modal::accept_label)
    }

    fn keys(&self) -> Keys {
        let keys = match self.table() {
            Some(b) => Keys::new().with(&b.list.keys()).with(TABS),
            None => Keys::new().with(TABS).with(&[Action::Refresh]),
        };
        match &self.customer {
            Some(c) => {
                let block = if c.status == "suspended" { "unblock" } else { "block" };
                keys.with(&[Action::Edit])
                    .labelled(Action::Block, block)
                    .with(&[Action::Transfer])
            }
            None => keys,
        }
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        match a {
            Action::Edit => Some(Permission::CustomersUpdate),
            Action::Block => Some(Permission::CustomersBlock),
            Action::Transfer => Some(Permission::CustomersTransfer),
            _ => None,
        }
    }

    fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        Some((CustomerTab::ALL.iter().map(|t| t.title()).collect(), self.tab.index()))
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if m.on_action(a, ctx) {
                self.modal = None;
            }
            return true;
        }
        if let (Some(c), Action::Edit | Action::Block | Action::Transfer) = (&self.customer, a) {
            self.modal = Modal::open(a, c, ctx);
            return true;
        }
        if !matches!(a, Action::Refresh) {
            if let Some(b) = self.table_mut() {
                if b.on_action(a, ctx) {
                    return true;
                }
            }
        }
        match a {
            Action::NextTab | Action::Right => self.switch(1),
            Action::PrevTab | Action::Left => self.switch(-1),
            Action::Refresh => self.reload(ctx),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if let Some(m) = &mut self.modal {
            return m.on_input(key, ctx);
        }
        if let Some(b) = self.table_mut() {
            b.on_input(key, ctx);
        }
    }

    fn apply(&mut self, slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Reply>() {
            Ok(r) => {
                match r.0 {
                    Ok(c) => self.loaded(c, ctx),
                    Err(e) => {
                        self.error = Some(e.to_string());
                        ctx.emit(Action::FlashError(e.to_string()));
                    }
                }
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<Changed>() {
            Ok(r) => {
                match r.0 {
                    Ok(c) => {
                        if let Some(m) = self.modal.take() {
                            ctx.emit(Action::Flash(m.done_message(&c)));
                        }
                        self.loaded(c, ctx);
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
        let msg = match &mut self.modal {
            Some(m) => match m.apply(msg) {
                Ok(()) => return,
                Err(msg) => msg,
            },
            None => msg,
        };
        if let Some((_, b)) = self.tables.iter_mut().find(|(t, _)| t.key() == slot) {
            b.apply(msg, ctx);
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(c) = &self.customer else {
            let msg = self
                .error
                .clone()
                .unwrap_or_else(|| format!("Loading customer {}…", self.key));
            return crate::screens::notice(f, area, "Customer", &msg, theme.muted, theme);
        };
        if self.tab == CustomerTab::Profile {
            let title = format!("{} · {} · {}", c.name, c.tenant_slug, c.status);
            let rows = entries(c);
            f.render_widget(KeyValuePanel::new(&rows, theme).title(&title).focused(true), area);
        } else if let Some(b) = self.table_mut() {
            b.draw(f, area, theme);
        }
        if let Some(m) = &self.modal {
            m.draw(f, area, theme);
        }
    }
}
