//! billing/coupons: the tenant's coupons with their usage (used / limit, per customer), their
//! state as a buyer meets it now (active, scheduled, expired, exhausted, disabled) and what
//! they are restricted to. `c` creates one, `e` edits the selected one (its code stays), `x`
//! disables it; the form's "only" field has a picker of plans and add-ons (docs/adr/0022):
//! each choice is added to the list.

use backend::billing::coupons::{self, Coupon, CouponInput};
use backend::ServiceError;
use chrono::{DateTime, NaiveDate, Utc};
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

struct Loaded(Result<Vec<Coupon>, ServiceError>);
struct Saved(Result<Coupon, ServiceError>);
struct Disabled(Result<Coupon, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("tenant", "Tenant", "hostbr (platform staff; type to search)"),
    ("code", "Code", "BLACKFRIDAY"),
    ("description", "Description", "Black Friday: 20% off the first month"),
    ("kind", "Kind", "percent or fixed"),
    ("value", "Value", "20 (percent) or 25.00 (amount)"),
    ("valid_from", "Valid from", "2026-11-27 (empty: now)"),
    ("valid_until", "Valid until", "2026-12-01 (empty: no end)"),
    ("max_uses", "Max uses", "100 (empty: no limit)"),
    ("max_uses_per_customer", "Per customer", "1 (empty: no limit)"),
    ("items", "Only", "plan:basic-1 addon:ssl (empty: everything)"),
];

const PICK_TENANT: &str = "coupon-pick-tenant";
const PICK_ITEM: &str = "coupon-pick-item";

pub struct CouponsScreen {
    rows: Option<Result<Vec<Coupon>, String>>,
    state: TableState,
    /// The form, whether it edits (the code then stays), and whether it is being sent.
    form: Option<(Form, bool, bool)>,
    confirm: Option<(Coupon, bool)>,
    tenant: PickerField,
    item: PickerField,
}

impl Default for CouponsScreen {
    fn default() -> Self {
        CouponsScreen {
            rows: None,
            state: TableState::default(),
            form: None,
            confirm: None,
            tenant: PickerField::new("tenant", "Tenant", PickFrom::Tenants, PICK_TENANT),
            item: PickerField::new("items", "Restrict to", PickFrom::Sellables, PICK_ITEM),
        }
    }
}

fn day(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

fn when(field: &str, raw: &str) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(d.and_utc()))
        .ok_or_else(|| ServiceError::invalid(field, "a date like 2026-12-31"))
}

fn count(field: &str, raw: &str) -> Result<Option<i64>, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| ServiceError::invalid(field, "a whole number, or empty for no limit"))
}

/// The form as a coupon input: every field given (an edit sends them all again).
fn input(form: &Form, editing: bool) -> Result<CouponInput, ServiceError> {
    let v = |k: &str| form.value(k).trim().to_owned();
    Ok(CouponInput {
        tenant: None,
        code: (!editing).then(|| v("code")),
        description: Some(v("description")),
        kind: Some(v("kind")),
        value: Some(v("value")),
        valid_from: Some(when("valid_from", &v("valid_from"))?),
        valid_until: Some(when("valid_until", &v("valid_until"))?),
        max_uses: Some(count("max_uses", &v("max_uses"))?),
        max_uses_per_customer: Some(count("max_uses_per_customer", &v("max_uses_per_customer"))?),
        items: Some(v("items").split_whitespace().map(str::to_owned).collect()),
    })
}

impl CouponsScreen {
    pub fn rows(&self) -> &[Coupon] {
        match &self.rows {
            Some(Ok(r)) => r,
            _ => &[],
        }
    }

    fn selected(&self) -> Option<&Coupon> {
        self.rows().get(self.state.selected().unwrap_or(0))
    }

    fn open_form(&mut self, from: Option<&Coupon>) {
        let mut form = Form::new(FIELDS);
        if let Some(c) = from {
            let value = match (c.percent_bp, c.amount_minor) {
                (Some(_), _) => c.value_text().trim_end_matches('%').to_owned(),
                _ => c.value_text().trim_end_matches(&c.currency).trim().replace(',', ""),
            };
            let lim = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            for (k, val) in [
                ("tenant", c.tenant_slug.clone()),
                ("code", c.code.clone()),
                ("description", c.description.clone()),
                ("kind", c.kind.clone()),
                ("value", value),
                ("valid_from", day(c.valid_from)),
                ("valid_until", day(c.valid_until)),
                ("max_uses", lim(c.max_uses)),
                ("max_uses_per_customer", lim(c.max_uses_per_customer)),
                ("items", c.items.join(" ")),
            ] {
                form.set(k, &val);
            }
            form.focus = 2;
        }
        self.form = Some((form, from.is_some(), false));
    }

    fn send(&mut self, ctx: &mut Ctx) {
        let Some((form, editing, busy)) = &mut self.form else {
            return;
        };
        form.clear_errors();
        let editing = *editing;
        let parsed = input(form, editing);
        let code = form.value("code").trim().to_owned();
        let tenant = form.value("tenant").trim().to_owned();
        let mut input = match parsed {
            Ok(i) => i,
            Err(e) => {
                form.show_error(&e);
                return;
            }
        };
        *busy = true;
        ctx.load("save", move |env| async move {
            let r = async {
                if editing {
                    coupons::update(&env.db, &env.actor, &code, input).await
                } else {
                    if !tenant.is_empty() {
                        input.tenant = Some(backend::tenants::get(&env.db, &env.actor, &tenant).await?.id);
                    }
                    coupons::create(&env.db, &env.actor, input).await
                }
            };
            Saved(r.await)
        });
    }

    fn on_modal(&mut self, a: &Action, ctx: &mut Ctx) {
        if let Some((c, sent)) = &mut self.confirm {
            match a {
                Action::Close | Action::Back => self.confirm = None,
                Action::Accept if !*sent => {
                    *sent = true;
                    let id = c.id.to_string();
                    ctx.load("disable", move |env| async move {
                        Disabled(coupons::disable(&env.db, &env.actor, &id).await)
                    });
                }
                _ => {}
            }
            return;
        }
        let Some((form, _, busy)) = &mut self.form else { return };
        if !*busy {
            if self.tenant.on_action(form, a, ctx) {
                return;
            }
            // A chosen plan or add-on is added to the list, not put in its place.
            let before = form.value("items");
            if self.item.on_action(form, a, ctx) {
                let now = form.value("items");
                if now != before && !before.trim().is_empty() && !before.split_whitespace().any(|x| x == now) {
                    form.set("items", &format!("{} {now}", before.trim()));
                }
                return;
            }
        }
        match a {
            Action::NextField => form.next(),
            Action::PrevField => form.prev(),
            Action::Accept if !*busy => self.send(ctx),
            Action::Close | Action::Back => {
                self.form = None;
                self.tenant.open = None;
                self.item.open = None;
            }
            _ => {}
        }
    }
}

impl Screen for CouponsScreen {
    fn route(&self) -> Route {
        page_route("billing/coupons")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        ctx.load("coupons", |env| async move {
            Loaded(coupons::list(&env.db, &env.actor, None).await)
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
        if self.tenant.open.is_some() || self.item.open.is_some() {
            Some("choose")
        } else if self.form.is_some() {
            Some("save")
        } else if self.confirm.is_some() {
            Some("disable")
        } else {
            None
        }
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Create | Action::Edit | Action::Suspend)
            .then_some(backend::authz::Permission::CouponsManage)
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(MOVING)
            .labelled(Action::Create, "new coupon")
            .labelled(Action::Edit, "edit")
            .labelled(Action::Suspend, "disable")
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
            Action::Create => self.open_form(None),
            Action::Edit | Action::Open => {
                if let Some(c) = self.selected().cloned() {
                    self.open_form(Some(&c));
                }
            }
            Action::Suspend => match self.selected().cloned() {
                Some(c) if c.status == "disabled" => {
                    ctx.emit(Action::FlashError(format!("coupon {} is already disabled", c.code)))
                }
                Some(c) => self.confirm = Some((c, false)),
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
        if let Some((form, editing, false)) = &mut self.form {
            if self.tenant.on_input(form, key, ctx) || self.item.on_input(form, key, ctx) {
                return;
            }
            // The code of an existing coupon stays.
            if *editing && form.fields.get(form.focus).is_some_and(|f| f.key == "code") {
                return;
            }
            form.input(key);
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Err(msg) = self.tenant.apply(msg) else { return };
        let Err(msg) = self.item.apply(msg) else { return };
        let msg = match msg.downcast::<Loaded>() {
            Ok(l) => {
                self.rows = Some(l.0.map_err(|e| e.to_string()));
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
                    Ok(c) => {
                        self.form = None;
                        ctx.emit(Action::Flash(format!("coupon {} saved ({})", c.code, c.state)));
                        self.start(ctx);
                    }
                    Err(e) => {
                        if let Some((form, _, busy)) = &mut self.form {
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
        if let Ok(d) = msg.downcast::<Disabled>() {
            self.confirm = None;
            match d.0 {
                Ok(c) => {
                    ctx.emit(Action::Flash(format!("coupon {} disabled", c.code)));
                    self.start(ctx);
                }
                Err(e) => ctx.emit(Action::FlashError(e.to_string())),
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let columns = [
            Column::new("CODE", Constraint::Fill(2)).min(8).priority(9),
            Column::new("STATE", Constraint::Length(9)).priority(8),
            Column::new("VALUE", Constraint::Length(12)).priority(8),
            Column::new("USED", Constraint::Length(9)).priority(7),
            Column::new("PER CUST", Constraint::Length(8)).priority(3),
            Column::new("UNTIL", Constraint::Length(10)).priority(5),
            Column::new("ONLY", Constraint::Fill(2)).priority(2),
        ];
        let rows: Vec<DataRow> = self
            .rows()
            .iter()
            .map(|c| {
                let tone = match c.state.as_str() {
                    "active" => Tone::Success,
                    "scheduled" => Tone::Accent,
                    "exhausted" | "expired" => Tone::Warning,
                    _ => Tone::Muted,
                };
                let used = match c.max_uses {
                    Some(m) => format!("{}/{m}", c.used_count),
                    None => c.used_count.to_string(),
                };
                DataRow::new([
                    DataCell::new(c.code.clone()),
                    DataCell::styled(c.state.clone(), tone),
                    DataCell::new(c.value_text()),
                    DataCell::new(used),
                    DataCell::new(
                        c.max_uses_per_customer
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ),
                    DataCell::new(day(c.valid_until)),
                    DataCell::styled(
                        if c.items.is_empty() {
                            "everything".to_owned()
                        } else {
                            c.items.join(" ")
                        },
                        Tone::Muted,
                    ),
                ])
            })
            .collect();
        let empty = match &self.rows {
            None => "Loading…".to_owned(),
            Some(Err(e)) => e.clone(),
            Some(Ok(_)) => "No coupons yet: c creates one.".to_owned(),
        };
        let redeemed: i64 = self.rows().iter().map(|c| c.used_count).sum();
        let footer = format!("{} coupons · {redeemed} redemptions", self.rows().len());
        let table = DataTable::new(&columns, &rows, theme)
            .title("Coupons")
            .footer(&footer)
            .empty_message(&empty)
            .focused(self.mode() == Mode::List);
        f.render_stateful_widget(table, area, &mut self.state);
        if let Some((form, editing, busy)) = &self.form {
            let popup = widgets::popup_area(crate::chrome::popup_frame(f), 74, 15);
            f.render_widget(Clear, popup);
            let footer = if *busy {
                "Saving…"
            } else {
                "Grey = an example · Enter save · Esc cancel"
            };
            let title = if *editing { "Edit coupon" } else { "New coupon" };
            form.draw(f, popup, title, footer, theme, !*busy);
            self.tenant.draw(f, crate::chrome::popup_frame(f), theme);
            self.item.draw(f, crate::chrome::popup_frame(f), theme);
        }
        if let Some((c, _)) = &self.confirm {
            let message = format!(
                "Disable coupon {} ({} used)? It is refused from now on; past redemptions stay.",
                c.code, c.used_count
            );
            let dialog = ConfirmDialog::new("Disable coupon", &message, "", "", 0, theme).typed(false);
            f.render_widget(dialog, crate::chrome::popup_frame(f));
        }
    }
}
