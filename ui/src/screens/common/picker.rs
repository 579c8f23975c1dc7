//! A picker: type to search, arrows to move, Enter to choose. Used wherever a form asks for
//! a tenant (instead of free text that fails later with "tenant not found: StreamMax") and
//! for the reseller a customer is transferred to. The search runs in the service layer, in
//! the actor's scope, so it offers only what the actor may pick; the service checks again.

use backend::customers;
use backend::tenants::{self, TenantQuery};
use backend::ServiceError;
use crossterm::event::{Event, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::text::sanitize;
use widgets::Theme;

use crate::action::Action;
use crate::screens::Ctx;
use crate::tasks::Msg;

/// One thing to pick: `key` is what the service takes (a slug, a username).
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub key: String,
    pub label: String,
    pub detail: String,
}

/// Where the choices come from.
#[derive(Debug, Clone, PartialEq)]
pub enum PickFrom {
    /// Tenants the actor sees, by slug, name or domain.
    Tenants,
    /// Resellers customer `customer` may be transferred to.
    Resellers { customer: String },
    /// Customers the actor sees, by name, e-mail or document; the key is the customer's id.
    Customers,
    /// The hosting plans of customer `customer`'s tenant, by code or name.
    Plans { customer: String },
    /// Plans and add-ons of the actor's tenant (`plan:CODE`, `addon:CODE`): prices, coupons.
    Sellables,
    /// Reseller accounts the actor may set price overrides for.
    OverrideTargets,
    /// WHM servers a migration of `tenant` (a slug; empty: the actor's own or any) may move
    /// accounts to: shared or the tenant's own, with an API URL, not in maintenance.
    MigrationTargets { tenant: String },
}

/// The WHM servers a migration may target, by name, hostname or region.
async fn migration_targets(env: &crate::tasks::Env, tenant: &str, term: &str) -> Result<Vec<Choice>, ServiceError> {
    let owner = match tenant.trim() {
        "" => env.actor.tenant_id,
        t => Some(tenants::get(&env.db, &env.actor, t).await?.id),
    };
    let q = backend::hosting::servers::ServerQuery {
        filter: (!term.is_empty()).then(|| term.to_owned()),
        ..Default::default()
    };
    Ok(backend::hosting::servers::list(&env.db, &env.actor, &q)
        .await?
        .into_iter()
        .filter(|s| {
            matches!(s.kind.as_str(), "whm" | "cpanel") && s.whm_url.as_deref().is_some_and(|u| !u.trim().is_empty())
        })
        .filter(|s| s.status != "maintenance")
        .filter(|s| s.tenant_id.is_none() || owner.is_none() || s.tenant_id == owner)
        .take(SHOWN)
        .map(|s| Choice {
            key: s.name.clone(),
            label: s.name,
            detail: format!(
                "{} · {} · {} · {}",
                s.region,
                s.status,
                if s.tenant_id.is_some() { "dedicated" } else { "shared" },
                s.hostname
            ),
        })
        .collect())
}

/// The hosting plans of `customer`'s tenant whose code or name holds `term`.
async fn plans_of(env: &crate::tasks::Env, customer: &str, term: &str) -> Result<Vec<Choice>, ServiceError> {
    if customer.trim().is_empty() {
        return Err(ServiceError::invalid("customer", "choose the customer first"));
    }
    let c = customers::get(&env.db, &env.actor, customer).await?;
    let term = term.to_lowercase();
    let all = backend::hosting::plans::list(&env.db, &env.actor, Some(&c.tenant_slug)).await?;
    Ok(all
        .into_iter()
        .filter(|p| p.status != "retired")
        .filter(|p| term.is_empty() || p.code.to_lowercase().contains(&term) || p.name.to_lowercase().contains(&term))
        .take(SHOWN)
        .map(|p| Choice {
            key: p.code.clone(),
            label: p.code,
            detail: format!("{} · {} · {}", p.name, p.region, p.billing_cycle),
        })
        .collect())
}

fn choices(v: Vec<backend::billing::prices::Sellable>) -> Vec<Choice> {
    v.into_iter()
        .map(|s| Choice {
            key: s.key.clone(),
            label: s.key,
            detail: format!("{} · {}", s.name, s.detail),
        })
        .collect()
}

/// What the owner should do after the picker handled an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Picked {
    Keep,
    Chosen(Choice),
    Cancelled,
}

struct Found(Result<Vec<Choice>, ServiceError>);

pub struct Picker {
    pub title: String,
    pub from: PickFrom,
    pub input: Input,
    pub choices: Vec<Choice>,
    pub selected: usize,
    pub error: Option<String>,
    pub loading: bool,
    /// Enter with nothing to choose takes what was typed (a field the search may not know:
    /// e.g. a server an actor without `servers:read` still may name; the service decides).
    pub free: bool,
    slot: &'static str,
}

/// How many choices a search brings.
const SHOWN: usize = 8;

impl Picker {
    /// `slot`: the owner's task slot for the searches (results come back through the owner's
    /// `apply`, which hands them to [`Picker::apply`]).
    pub fn new(title: impl Into<String>, from: PickFrom, slot: &'static str) -> Picker {
        Picker {
            title: title.into(),
            from,
            input: Input::default(),
            choices: Vec::new(),
            selected: 0,
            error: None,
            loading: false,
            free: false,
            slot,
        }
    }

    /// The first search (everything, first page).
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.search(ctx, false);
    }

    fn search(&mut self, ctx: &mut Ctx, debounce: bool) {
        let term = self.input.value().trim().to_owned();
        let from = self.from.clone();
        self.loading = true;
        let call = move |env: crate::tasks::Env| async move {
            let r = match from {
                PickFrom::Tenants => {
                    let q = TenantQuery {
                        filter: (!term.is_empty()).then_some(term),
                        limit: SHOWN,
                        ..TenantQuery::default()
                    };
                    tenants::list(&env.db, &env.actor, &q).await.map(|p| {
                        p.items
                            .into_iter()
                            .map(|t| Choice {
                                key: t.slug.clone(),
                                label: t.slug,
                                detail: format!("{} · {}", t.name, t.status),
                            })
                            .collect()
                    })
                }
                PickFrom::Resellers { customer } => customers::transfer_targets(&env.db, &env.actor, &customer, &term)
                    .await
                    .map(|v| {
                        v.into_iter()
                            .map(|r| Choice {
                                key: r.username.clone(),
                                label: r.username,
                                detail: r.role,
                            })
                            .collect()
                    }),
                PickFrom::Customers => {
                    let q = customers::CustomerQuery {
                        filter: (!term.is_empty()).then_some(term),
                        limit: SHOWN,
                        ..customers::CustomerQuery::default()
                    };
                    customers::list(&env.db, &env.actor, &q).await.map(|p| {
                        p.items
                            .into_iter()
                            .map(|c| Choice {
                                key: c.id.to_string(),
                                label: c.name,
                                detail: format!("{} · {} · {}", c.email, c.tenant_slug, c.status),
                            })
                            .collect()
                    })
                }
                PickFrom::Plans { customer } => plans_of(&env, &customer, &term).await,
                PickFrom::Sellables => backend::billing::prices::sellables(&env.db, &env.actor, None, &term)
                    .await
                    .map(choices),
                PickFrom::OverrideTargets => backend::billing::prices::override_targets(&env.db, &env.actor, &term)
                    .await
                    .map(choices),
                PickFrom::MigrationTargets { tenant } => migration_targets(&env, &tenant, &term).await,
            };
            Found(r)
        };
        if debounce {
            ctx.debounced(self.slot, call);
        } else {
            ctx.load(self.slot, call);
        }
    }

    /// Typing narrows the choices (debounced).
    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        let changed = self.input.handle_event(&Event::Key(key)).is_some_and(|c| c.value);
        if changed {
            self.search(ctx, true);
        }
    }

    pub fn on_action(&mut self, a: &Action) -> Picked {
        let n = self.choices.len();
        match a {
            Action::Close | Action::Back => return Picked::Cancelled,
            Action::NextField | Action::Down if n > 0 => self.selected = (self.selected + 1) % n,
            Action::PrevField | Action::Up if n > 0 => self.selected = (self.selected + n - 1) % n,
            Action::Accept => {
                if let Some(c) = self.choices.get(self.selected) {
                    return Picked::Chosen(c.clone());
                }
                let typed = self.input.value().trim();
                if self.free && !typed.is_empty() {
                    return Picked::Chosen(Choice {
                        key: typed.to_owned(),
                        label: typed.to_owned(),
                        detail: String::new(),
                    });
                }
                self.error = Some("nothing matches: type part of a name".to_owned());
            }
            _ => {}
        }
        Picked::Keep
    }

    /// Takes a search result if `msg` is one; otherwise gives the message back.
    pub fn apply(&mut self, msg: Msg) -> Result<(), Msg> {
        let found = msg.downcast::<Found>()?;
        self.loading = false;
        match found.0 {
            Ok(v) => {
                self.choices = v;
                self.selected = 0;
                self.error = None;
            }
            Err(e) => {
                self.choices.clear();
                self.error = Some(e.to_string());
            }
        }
        Ok(())
    }

    pub fn slot(&self) -> &'static str {
        self.slot
    }

    /// Draws the picker as a box in the middle of `area`.
    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let w = area.width.min(60);
        let h = area.height.min(SHOWN as u16 + 5);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        f.render_widget(Clear, r);
        let block = theme
            .block(true)
            .title(theme.title_line(&self.title, usize::from(w.saturating_sub(2))));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let [query, list, status] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        let typed = self.input.value();
        let line = if typed.is_empty() {
            Line::from(vec![
                Span::styled("› ", theme.accent),
                Span::styled("type to search", theme.placeholder()),
            ])
        } else {
            Line::from(vec![
                Span::styled("› ", theme.accent),
                Span::raw(sanitize(typed).into_owned()),
            ])
        };
        f.render_widget(Paragraph::new(line), query);
        f.set_cursor_position((query.x + 2 + self.input.visual_cursor() as u16, query.y));
        let rows: Vec<Line> = self
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mark = if i == self.selected { "▸ " } else { "  " };
                let style = if i == self.selected {
                    theme.selection
                } else {
                    theme.base
                };
                // Cut with an ellipsis, not mid-word at the box's edge.
                let width = usize::from(list.width);
                let label = format!("{mark}{}", sanitize(&c.label));
                let label = widgets::text::truncate(&label, width).into_owned();
                let room = width.saturating_sub(widgets::text::width(&label));
                let detail = widgets::text::truncate(&format!("  {}", sanitize(&c.detail)), room).into_owned();
                Line::from(vec![Span::styled(label, style), Span::styled(detail, theme.muted)])
            })
            .collect();
        f.render_widget(Paragraph::new(rows), list);
        let note = match (&self.error, self.loading, self.choices.is_empty()) {
            (Some(e), _, _) if self.free && !self.input.value().trim().is_empty() => {
                Span::styled(format!("{} · enter keeps what you typed", sanitize(e)), theme.error)
            }
            (Some(e), _, _) => Span::styled(sanitize(e).into_owned(), theme.error),
            (None, true, _) => Span::styled("searching…", theme.muted),
            (None, false, true) if self.free => Span::styled("no match · enter keeps what you typed", theme.muted),
            (None, false, true) => Span::styled("no match", theme.muted),
            (None, false, false) => Span::styled("↑↓ move · enter choose · esc cancel", theme.muted),
        };
        f.render_widget(Paragraph::new(Line::from(note)), status);
    }
}

/// A form field filled through a [`Picker`]: typing in it (or Enter on it) opens the picker
/// seeded with what was typed; choosing writes the choice's key into the field and moves on.
/// The owner hands it keys, actions and messages first; it says whether it took them.
pub struct PickerField {
    pub field: &'static str,
    pub title: &'static str,
    pub from: PickFrom,
    slot: &'static str,
    pub open: Option<Picker>,
    free: bool,
}

impl PickerField {
    pub fn new(field: &'static str, title: &'static str, from: PickFrom, slot: &'static str) -> PickerField {
        PickerField {
            field,
            title,
            from,
            slot,
            open: None,
            free: false,
        }
    }

    /// Enter takes the typed text when the search offers nothing (see [`Picker::free`]).
    pub fn free_text(mut self) -> PickerField {
        self.free = true;
        self
    }

    fn focused(&self, form: &crate::form::Form) -> bool {
        form.fields.get(form.focus).is_some_and(|f| f.key == self.field)
    }

    fn start(&mut self, form: &crate::form::Form, ctx: &mut Ctx) {
        let mut p = Picker::new(self.title, self.from.clone(), self.slot);
        p.input = Input::new(form.value(self.field));
        p.free = self.free;
        p.start(ctx);
        self.open = Some(p);
    }

    /// A key for the form: taken when the picker is open, or when the field has focus (the
    /// key then opens the picker and is typed into it).
    pub fn on_input(&mut self, form: &crate::form::Form, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if self.open.is_none() {
            if !self.focused(form) {
                return false;
            }
            self.start(form, ctx);
        }
        if let Some(p) = &mut self.open {
            p.on_input(key, ctx);
        }
        true
    }

    /// An action for the form: taken while the picker is open, and Enter on the field opens
    /// it (instead of sending the form with a half-typed tenant).
    pub fn on_action(&mut self, form: &mut crate::form::Form, a: &Action, ctx: &mut Ctx) -> bool {
        let Some(p) = &mut self.open else {
            if *a == Action::Accept && self.focused(form) && form.value(self.field).trim().is_empty() {
                self.start(form, ctx);
                return true;
            }
            return false;
        };
        match p.on_action(a) {
            Picked::Keep => {}
            Picked::Cancelled => self.open = None,
            Picked::Chosen(c) => {
                form.set(self.field, &c.key);
                if let Some(f) = form.fields.iter_mut().find(|f| f.key == self.field) {
                    f.error = None;
                }
                form.next();
                self.open = None;
            }
        }
        true
    }

    /// A search result, if `msg` is one for the open picker.
    pub fn apply(&mut self, msg: Msg) -> Result<(), Msg> {
        match &mut self.open {
            Some(p) => p.apply(msg),
            None => Err(msg),
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        if let Some(p) = &self.open {
            p.draw(f, area, theme);
        }
    }
}
