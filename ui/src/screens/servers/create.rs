//! Add a server (`servers/create`). The token field is masked; it is sealed by the service
//! with the master key this console was given, and never shown again. The backend validates
//! and its field errors show next to the fields.

use backend::hosting::servers::{self, NewServer, Server};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::{page_route, Ctx, Dialog, Keys, Screen, TABS};
use crate::tasks::Msg;

struct Created(Result<Server, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Name", "whm-gru-01"),
    ("hostname", "Hostname", "whm-gru-01.example.net"),
    ("ip", "IP", "203.0.113.10"),
    ("region", "Region", "sa-east-1"),
    ("kind", "Kind", "whm (cpanel, xui, xtream, dns, mail, other)"),
    ("whm_url", "WHM URL", "https://whm-gru-01.example.net:2087"),
    ("api_user", "API user", "root"),
    ("api_token", "API token", "sealed, never shown again"),
    ("tls", "TLS", "verify (pin:<sha256>, trust)"),
    ("max_accounts", "Max accounts", "unlimited"),
    ("disk_total_gb", "Disk GB", "0"),
];

pub struct ServerForm {
    pub form: Form,
    pub busy: bool,
}

impl Default for ServerForm {
    fn default() -> Self {
        ServerForm {
            form: Form::new(FIELDS).masked("api_token"),
            busy: false,
        }
    }
}

impl ServerForm {
    /// What was typed, or the fields that are not numbers.
    fn input(&self) -> Result<NewServer, ServiceError> {
        let v = |k: &str| self.form.value(k);
        let max_accounts =
            backend::validate::parse_limit(&v("max_accounts")).map_err(|m| ServiceError::invalid("max_accounts", m))?;
        let disk = v("disk_total_gb");
        let disk_total_gb = if disk.trim().is_empty() {
            0
        } else {
            disk.trim()
                .parse()
                .map_err(|_| ServiceError::invalid("disk_total_gb", "must be a whole number"))?
        };
        Ok(NewServer {
            name: v("name"),
            hostname: v("hostname"),
            ip: v("ip"),
            region: v("region"),
            kind: v("kind"),
            whm_url: v("whm_url"),
            api_user: v("api_user"),
            api_token: v("api_token"),
            tls: v("tls"),
            max_accounts,
            disk_total_gb,
        })
    }
}

impl Screen for ServerForm {
    fn route(&self) -> Route {
        page_route("servers/create")
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

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            Action::Accept if !self.busy => {
                self.form.clear_errors();
                match self.input() {
                    Err(e) => {
                        self.form.show_error(&e);
                        ctx.emit(Action::FlashError(e.to_string()));
                    }
                    Ok(new) => {
                        self.busy = true;
                        ctx.load("create", |env| async move {
                            let token = (!new.api_token.trim().is_empty()).then(|| new.api_token.clone());
                            let keys = match env.keys_for(token.as_deref()).await {
                                Ok(k) => k,
                                Err(e) => return Created(Err(e)),
                            };
                            Created(servers::create(&env.db, &env.actor, keys.as_ref(), new).await)
                        });
                    }
                }
            }
            Action::Accept => {}
            Action::Close => ctx.emit(Action::Back),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        self.form.input(key);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Ok(r) = msg.downcast::<Created>() else { return };
        let Created(r) = *r;
        self.busy = false;
        match r {
            Ok(s) => {
                // The token typed leaves memory with the form.
                self.form.set("api_token", "");
                ctx.emit(Action::Flash(format!("server {} created", s.name)));
                ctx.emit(Action::Back);
                ctx.emit(Action::Goto(format!("servers/{}", s.name)));
            }
            Err(e) => {
                self.form.show_error(&e);
                ctx.emit(Action::FlashError(e.to_string()));
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let footer = if self.busy {
            "Saving…"
        } else {
            "Empty fields take the defaults shown · Enter save · Esc cancel"
        };
        self.form.draw(f, area, "New server", footer, theme, true);
    }
}
