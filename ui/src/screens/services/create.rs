//! Order a hosting service (`services/new`, `c` on the services list): the customer and the
//! plan come from pickers (type to search), the plan's among the hosting plans of the
//! customer's tenant. The order goes to `hosting::services::create`, which stores the service
//! `pending` and queues `hosting.create`; its field errors show next to the fields, and on
//! success the service's own screen opens and follows the job live.

use backend::hosting::services::{self, NewService, Order};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::common::picker::{PickFrom, PickerField};
use crate::screens::{page_route, Ctx, Dialog, Keys, Screen, TABS};
use crate::tasks::Msg;

struct Ordered(Result<Order, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("customer", "Customer", "Maria Silva (type to search)"),
    ("plan", "Plan", "basic-1 (type to search)"),
    ("domain", "Domain", "loja.example.com.br"),
    ("region", "Region", "sa-east-1 (empty: the plan's)"),
    (
        "coupon",
        "Coupon",
        "optional: bills the order at once with its discount",
    ),
];

const PICK_CUSTOMER: &str = "pick-customer";
const PICK_PLAN: &str = "pick-plan";

pub struct OrderForm {
    pub form: Form,
    pub busy: bool,
    pub customer: PickerField,
    pub plan: PickerField,
}

impl Default for OrderForm {
    fn default() -> Self {
        OrderForm {
            form: Form::new(FIELDS),
            busy: false,
            customer: PickerField::new("customer", "Customer", PickFrom::Customers, PICK_CUSTOMER),
            plan: PickerField::new(
                "plan",
                "Plan",
                PickFrom::Plans {
                    customer: String::new(),
                },
                PICK_PLAN,
            ),
        }
    }
}

impl OrderForm {
    pub fn input(&self) -> NewService {
        let v = |k: &str| self.form.value(k).trim().to_owned();
        NewService {
            customer: v("customer"),
            plan: v("plan"),
            domain: v("domain"),
            region: v("region"),
            coupon: Some(v("coupon")).filter(|c| !c.is_empty()),
        }
    }

    /// The plan picker searches the plans of the customer chosen now.
    fn aim_plan_picker(&mut self) {
        if self.plan.open.is_none() {
            self.plan.from = PickFrom::Plans {
                customer: self.form.value("customer").trim().to_owned(),
            };
        }
    }

    fn picking(&self) -> bool {
        self.customer.open.is_some() || self.plan.open.is_some()
    }
}

impl Screen for OrderForm {
    fn route(&self) -> Route {
        page_route("services/new")
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
        if self.picking() {
            Some("choose")
        } else {
            Some("order")
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        self.aim_plan_picker();
        if self.customer.on_action(&mut self.form, a, ctx) || self.plan.on_action(&mut self.form, a, ctx) {
            return true;
        }
        match a {
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => {
                self.form.clear_errors();
                self.busy = true;
                let input = self.input();
                ctx.load("order", |env| async move {
                    Ordered(services::create(&env.db, &env.actor, input).await)
                });
            }
            Action::Accept => {}
            Action::Close => ctx.emit(Action::Back),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.aim_plan_picker();
        if self.customer.on_input(&self.form, key, ctx) || self.plan.on_input(&self.form, key, ctx) {
            return;
        }
        self.form.input(key);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Err(msg) = self.customer.apply(msg) else { return };
        let Err(msg) = self.plan.apply(msg) else { return };
        let Ok(r) = msg.downcast::<Ordered>() else { return };
        let Ordered(r) = *r;
        self.busy = false;
        match r {
            Ok(o) => {
                let name = o.service.domain.clone().unwrap_or_else(|| o.service.id.to_string());
                ctx.emit(Action::Flash(format!("service {name} ordered: provisioning queued")));
                ctx.emit(Action::Back);
                ctx.emit(Action::Goto(format!("services/{}", o.service.id)));
            }
            Err(e) => {
                self.form.show_error(&e);
                ctx.emit(Action::FlashError(e.to_string()));
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let footer = if self.busy {
            "Ordering…"
        } else {
            "Grey = an example · Enter order · Esc cancel"
        };
        self.form.draw(f, area, "New service", footer, theme, true);
        self.customer.draw(f, area, theme);
        self.plan.draw(f, area, theme);
    }
}
