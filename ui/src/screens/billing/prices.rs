//! billing/prices: every plan's and add-on's price per cycle — the catalogue's, the tenant's
//! list price (with its floor) and the reseller overrides in reach, one row each, the
//! override indented under what it overrides. `c` sets a price (pickers for the tenant, the
//! plan or add-on and the reseller, docs/adr/0022), `e` edits the selected one, `x` removes
//! a tenant price or an override (the item falls back to the next level).

use backend::billing::prices::{self, ItemKind, PriceEntry, PriceFilter, SetPrice};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Clear, TableState};
use ratatui::Frame;
use widgets::{Column, ConfirmDialog, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::common::picker::{PickFrom, PickerField};
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen, MOVING, TABS};
use crate::tasks::Msg;

struct Loaded(Result<Vec<PriceEntry>, ServiceError>);
struct Saved(Result<PriceEntry, ServiceError>);
struct Removed(Result<PriceEntry, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("tenant", "Tenant", "hostbr (platform staff; type to search)"),
    ("item", "Plan or add-on", "plan:basic-1 (type to search)"),
    ("cycle", "Cycle", "monthly (empty: the item's own)"),
    ("reseller", "Reseller", "empty: the tenant's own price"),
    ("price", "Price", "49.90"),
    ("floor", "Floor", "29.90 (tenant price only: overrides never below)"),
];

const PICK_TENANT: &str = "price-pick-tenant";
const PICK_ITEM: &str = "price-pick-item";
const PICK_RESELLER: &str = "price-pick-reseller";

pub struct PricesScreen {
    rows: Option<Result<Vec<PriceEntry>, String>>,
    state: TableState,
    form: Option<(Form, bool)>,
    confirm: Option<(PriceEntry, bool)>,
    tenant: PickerField,
    item: PickerField,
    reseller: PickerField,
}

impl Default for PricesScreen {
    fn default() -> Self {
        PricesScreen {
            rows: None,
            state: TableState::default(),
            form: None,
            confirm: None,
            tenant: PickerField::new("tenant", "Tenant", PickFrom::Tenants, PICK_TENANT),
            item: PickerField::new("item", "Plan or add-on", PickFrom::Sellables, PICK_ITEM),
            reseller: PickerField::new("reseller", "Reseller", PickFrom::OverrideTargets, PICK_RESELLER),
        }
    }
}

fn money(minor: i64, currency: &str) -> String {
    backend::money::format(minor, currency)
}

/// Minor units as typed text ("49.90"), for editing.
fn typed(minor: i64, currency: &str) -> String {
    money(minor, currency)
        .trim_end_matches(currency)
        .trim()
        .replace(',', "")
}

impl PricesScreen {
    pub fn rows(&self) -> &[PriceEntry] {
        match &self.rows {
            Some(Ok(r)) => r,
            _ => &[],
        }
    }

    fn selected(&self) -> Option<&PriceEntry> {
        self.rows().get(self.state.selected().unwrap_or(0))
    }

    fn open_form(&mut self, from: Option<&PriceEntry>, tenant_slug: &str) {
        let mut form = Form::new(FIELDS);
        if let Some(p) = from {
            form.set("tenant", tenant_slug);
            form.set("item", &format!("{}:{}", p.item_kind, p.item_code));
            form.set("cycle", &p.billing_cycle);
            form.set("reseller", p.reseller.as_deref().unwrap_or(""));
            form.set("price", &typed(p.price_minor, &p.currency));
            if let Some(fl) = p.floor_minor {
                form.set("floor", &typed(fl, &p.currency));
            }
            form.focus = 4;
        }
        self.form = Some((form, false));
    }

    fn pickers(&mut self) -> [&mut PickerField; 3] {
        [&mut self.tenant, &mut self.item, &mut self.reseller]
    }

    fn save(form: &Form, ctx: &mut Ctx) {
        let v = |k: &str| form.value(k).trim().to_owned();
        let (tenant, item, cycle, reseller, price, floor) = (
            v("tenant"),
            v("item"),
            v("cycle"),
            v("reseller"),
            v("price"),
            v("floor"),
        );
        ctx.load("save", move |env| async move {
            let r = async {
                let t = if tenant.is_empty() {
                    None
                } else {
                    Some(backend::tenants::get(&env.db, &env.actor, &tenant).await?)
                };
                let currency = match (&t, env.actor.tenant_id) {
                    (Some(t), _) => t.currency.clone(),
                    (None, Some(id)) => {
                        backend::tenants::get(&env.db, &env.actor, &id.to_string())
                            .await?
                            .currency
                    }
                    (None, None) => return Err(ServiceError::invalid("tenant", "choose the tenant")),
                };
                let (kind, code) = item.split_once(':').unwrap_or(("plan", item.as_str()));
                let kind =
                    ItemKind::parse(kind).ok_or_else(|| ServiceError::invalid("item", "plan:CODE or addon:CODE"))?;
                let amount =
                    |f: &str, s: &str| backend::money::parse(s, &currency).map_err(|m| ServiceError::invalid(f, m));
                let input = SetPrice {
                    tenant: t.map(|t| t.id),
                    kind,
                    item: code.to_owned(),
                    cycle: Some(cycle).filter(|c| !c.is_empty()),
                    reseller: Some(reseller).filter(|r| !r.is_empty()),
                    price_minor: amount("price", &price)?,
                    floor_minor: if floor.is_empty() {
                        None
                    } else {
                        Some(amount("floor", &floor)?)
                    },
                };
                prices::set(&env.db, &env.actor, input).await
            };
            Saved(r.await)
        });
    }

    fn on_modal(&mut self, a: &Action, ctx: &mut Ctx) {
        if let Some((p, sent)) = &mut self.confirm {
            match a {
                Action::Close | Action::Back => self.confirm = None,
                Action::Accept if !*sent => {
                    *sent = true;
                    let p = p.clone();
                    ctx.load("remove", move |env| async move {
                        let kind = ItemKind::parse(&p.item_kind).unwrap_or_default();
                        Removed(
                            prices::unset(
                                &env.db,
                                &env.actor,
                                Some(p.tenant_id),
                                kind,
                                &p.item_id.to_string(),
                                Some(&p.billing_cycle),
                                p.reseller_id.map(|r| r.to_string()).as_deref(),
                            )
                            .await,
                        )
                    });
                }
                _ => {}
            }
            return;
        }
        let Some((form, busy)) = &mut self.form else { return };
        if !*busy {
            for p in [&mut self.tenant, &mut self.item, &mut self.reseller] {
                if p.on_action(form, a, ctx) {
                    return;
                }
            }
        }
        match a {
            Action::NextField => form.next(),
            Action::PrevField => form.prev(),
            Action::Accept if !*busy => {
                *busy = true;
                form.clear_errors();
                Self::save(form, ctx);
            }
            Action::Close | Action::Back => {
                self.form = None;
                for p in self.pickers() {
                    p.open = None;
                }
            }
            _ => {}
        }
    }
}

impl Screen for PricesScreen {
    fn route(&self) -> Route {
        page_route("billing/prices")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        ctx.load("prices", |env| async move {
            Loaded(prices::list(&env.db, &env.actor, PriceFilter::default()).await)
        });
    }

    fn dialog(&self) -> Option<Dialog> {
        if self.form.is_some() {
            Some(Dialog::Form)
        } else {
            self.confirm.is_some().then_some(Dialog::Confirm { fields: false })
        }
    }

    fn accept_label(&self) -> Option<&'static str> {
        if self.tenant.open.is_some() || self.item.open.is_some() || self.reseller.open.is_some() {
            Some("choose")
        } else if self.form.is_some() {
            Some("save")
        } else if self.confirm.is_some() {
            Some("remove")
        } else {
            None
        }
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(MOVING)
            .labelled(Action::Create, "set price")
            .labelled(Action::Edit, "edit")
            .labelled(Action::Suspend, "remove")
            .with(TABS)
    }

    fn mode(&self) -> Mode {
        if self.form.is_some() || self.confirm.is_some() {
            Mode::Form
        } else {
            Mode::List
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.mode() == Mode::Form {
            self.on_modal(a, ctx);
            return true;
        }
        if let Some(by) = crate::screens::common::moving_step(a) {
            let n = self.rows().len();
            crate::screens::common::select_by(&mut self.state, n, by);
            return true;
        }
        match a {
            Action::Refresh => self.start(ctx),
            Action::Create => self.open_form(None, ""),
            Action::Edit | Action::Open => {
                if let Some(p) = self.selected().cloned() {
                    let slug = p.tenant_slug.clone();
                    self.open_form(Some(&p), &slug);
                }
            }
            Action::Suspend => match self.selected().cloned() {
                Some(p) if p.level == "catalogue" => ctx.emit(Action::FlashError(
                    "the catalogue price is the plan's own: edit the plan".into(),
                )),
                Some(p) => self.confirm = Some((p, false)),
                None => {}
            },
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if self.confirm.is_some() {
            return;
        }
        if let Some((form, false)) = &mut self.form {
            for p in [&mut self.tenant, &mut self.item, &mut self.reseller] {
                if p.on_input(form, key, ctx) {
                    return;
                }
            }
            form.input(key);
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Err(msg) = self.tenant.apply(msg) else { return };
        let Err(msg) = self.item.apply(msg) else { return };
        let Err(msg) = self.reseller.apply(msg) else { return };
        let msg = match msg.downcast::<Loaded>() {
            Ok(l) => {
                // One tenant's prices together (stable: the service's order within a tenant
                // keeps each override under what it overrides).
                self.rows = Some(
                    l.0.map(|mut v| {
                        v.sort_by(|a, b| a.tenant_slug.cmp(&b.tenant_slug));
                        v
                    })
                    .map_err(|e| e.to_string()),
                );
                let n = self.rows().len();
                self.state
                    .select((n > 0).then(|| self.state.selected().unwrap_or(0).min(n - 1)));
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<Saved>() {
            Ok(s) => {
                match s.0 {
                    Ok(p) => {
                        self.form = None;
                        ctx.emit(Action::Flash(format!(
                            "{} {} {}: {}",
                            p.item_kind,
                            p.item_code,
                            p.billing_cycle,
                            money(p.price_minor, &p.currency)
                        )));
                        self.start(ctx);
                    }
                    Err(e) => {
                        if let Some((form, busy)) = &mut self.form {
                            *busy = false;
                            form.show_error(&e);
                        }
                        ctx.emit(Action::FlashError(e.to_string()));
                    }
                }
                return;
            }
            Err(m) => m,
        };
        if let Ok(r) = msg.downcast::<Removed>() {
            self.confirm = None;
            match r.0 {
                Ok(p) => {
                    ctx.emit(Action::Flash(format!("{} price of {} removed", p.level, p.item_code)));
                    self.start(ctx);
                }
                Err(e) => ctx.emit(Action::FlashError(e.to_string())),
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        // Each tenant has its own plans: without the tenant, a staff view lists "the same"
        // item several times with different prices. The floor goes first when narrow.
        let columns = [
            Column::new("ITEM", Constraint::Fill(1)).min(12).priority(9),
            Column::new("TENANT", Constraint::Length(14)).priority(8),
            Column::new("CYCLE", Constraint::Length(10)).priority(8),
            Column::new("LEVEL", Constraint::Length(14)).priority(7),
            Column::new("PRICE", Constraint::Length(14)).priority(9),
            Column::new("FLOOR", Constraint::Length(12)).priority(4),
            Column::new("NAME", Constraint::Fill(2)).priority(2),
        ];
        let rows: Vec<DataRow> = self
            .rows()
            .iter()
            .map(|p| {
                let (level, tone) = match p.level.as_str() {
                    "catalogue" => ("catalogue".to_owned(), Tone::Muted),
                    "tenant" => ("tenant".to_owned(), Tone::Normal),
                    _ => (
                        format!("└ {}", p.reseller.as_deref().unwrap_or("reseller")),
                        Tone::Accent,
                    ),
                };
                DataRow::new([
                    DataCell::new(format!("{}:{}", p.item_kind, p.item_code)),
                    DataCell::new(p.tenant_slug.clone()),
                    DataCell::new(p.billing_cycle.clone()),
                    DataCell::styled(level, tone),
                    DataCell::styled(money(p.price_minor, &p.currency), tone),
                    DataCell::new(p.floor_minor.map(|x| money(x, &p.currency)).unwrap_or_default()),
                    DataCell::styled(p.item_name.clone(), Tone::Muted),
                ])
            })
            .collect();
        let empty = match &self.rows {
            None => "Loading…".to_owned(),
            Some(Err(e)) => e.clone(),
            Some(Ok(_)) => "No plans or add-ons yet.".to_owned(),
        };
        let overrides = self.rows().iter().filter(|p| p.level == "reseller").count();
        let footer = format!("{} prices · {overrides} reseller overrides", self.rows().len());
        let table = DataTable::new(&columns, &rows, theme)
            .title("Prices")
            .footer(&footer)
            .empty_message(&empty)
            .focused(self.mode() == Mode::List);
        f.render_stateful_widget(table, area, &mut self.state);
        if let Some((form, busy)) = &self.form {
            let popup = widgets::popup_area(crate::chrome::popup_frame(f), 72, 11);
            f.render_widget(Clear, popup);
            let footer = if *busy {
                "Saving…"
            } else {
                "Grey = an example · Enter save · Esc cancel"
            };
            form.draw(f, popup, "Set a price", footer, theme, !*busy);
            for p in [&self.tenant, &self.item, &self.reseller] {
                p.draw(f, crate::chrome::popup_frame(f), theme);
            }
        }
        if let Some((p, _)) = &self.confirm {
            let whose = match p.reseller.as_deref() {
                Some(r) => format!("{r}'s override"),
                None => "the tenant's price".to_owned(),
            };
            let message = format!(
                "Remove {whose} for {}:{} {} ({})? The next level's price applies from now on.",
                p.item_kind,
                p.item_code,
                p.billing_cycle,
                money(p.price_minor, &p.currency)
            );
            let dialog = ConfirmDialog::new("Remove price", &message, "", "", 0, theme).typed(false);
            f.render_widget(dialog, crate::chrome::popup_frame(f));
        }
    }
}
