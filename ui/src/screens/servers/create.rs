//! Add a server (`servers/create`), or edit one (`e` on its screen, the same form prefilled).
//! The token field is masked; it is sealed by the service with the master key this console
//! was given, and never shown again: when editing, an empty token keeps the sealed one. The
//! backend validates and its field errors show next to the fields.

use backend::hosting::servers::{self, NewServer, Server, ServerPatch};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::tenants::overview::limit_text;
use crate::screens::{page_route, Ctx, Dialog, Keys, Screen, TABS};
use crate::tasks::Msg;

struct Created(Result<Server, ServiceError>);
struct Updated(Result<Server, ServiceError>);

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Name", "whm-gru-01"),
    ("hostname", "Hostname", "whm-gru-01.example.net"),
    ("ip", "IP", "203.0.113.10"),
    ("region", "Region", "sa-east-1"),
    ("kind", "Kind", "cpanel"),
    ("whm_url", "WHM URL (WHM/cPanel)", "https://whm-gru-01.example.net:2087"),
    ("api_user", "API user", "reseller1"),
    ("api_token", "API token (optional, sealed)", "ABCD1234EFGH5678IJKL"),
    ("tls", "TLS", "pin:<sha256 fingerprint> or trust"),
    ("max_accounts", "Max accounts", "300"),
    ("disk_total_gb", "Disk GB", "4000"),
];

/// What the service applies to an empty field, filled in as real values (not grey text).
pub const DEFAULTS: &[(&str, &str)] = &[
    ("kind", "whm"),
    ("api_user", "root"),
    ("tls", "verify"),
    ("max_accounts", "unlimited"),
    ("disk_total_gb", "0"),
];

/// The fields an edit may change: the name and kind are the server's identity.
pub const EDIT_FIELDS: &[(&str, &str, &str)] = &[
    ("hostname", "Hostname", "whm-gru-01.example.net"),
    ("ip", "IP", "203.0.113.10"),
    ("region", "Region", "sa-east-1"),
    ("whm_url", "WHM URL (WHM/cPanel)", "https://whm-gru-01.example.net:2087"),
    ("api_user", "API user", "reseller1"),
    ("api_token", "API token (empty: keep)", "ABCD1234EFGH5678IJKL"),
    ("tls", "TLS", "pin:<sha256 fingerprint> or trust"),
    ("max_accounts", "Max accounts", "300"),
    ("disk_total_gb", "Disk GB", "4000"),
];

pub struct ServerForm {
    pub form: Form,
    pub busy: bool,
    /// The server being edited (as loaded); `None`: a new one.
    pub editing: Option<Server>,
    /// An edit was saved or cancelled: the owning screen closes the form.
    pub done: bool,
}

impl Default for ServerForm {
    fn default() -> Self {
        let mut form = Form::new(FIELDS).masked("api_token");
        for (k, v) in DEFAULTS {
            form.set(k, v);
        }
        ServerForm {
            form,
            busy: false,
            editing: None,
            done: false,
        }
    }
}

/// The TLS choice as the form takes it.
fn tls_text(s: &Server) -> String {
    match (s.tls_mode.as_str(), s.tls_pin_sha256.as_deref()) {
        ("pin", Some(pin)) => format!("pin:{pin}"),
        (mode, _) => mode.to_owned(),
    }
}

impl ServerForm {
    /// The form prefilled with `s`, to edit it.
    pub fn edit(s: &Server) -> ServerForm {
        let mut form = Form::new(EDIT_FIELDS).masked("api_token");
        for (k, v) in [
            ("hostname", s.hostname.clone()),
            ("ip", s.ip.clone()),
            ("region", s.region.clone()),
            ("whm_url", s.whm_url.clone().unwrap_or_default()),
            ("api_user", s.api_user.clone().unwrap_or_default()),
            ("tls", tls_text(s)),
            ("max_accounts", limit_text(s.max_accounts)),
            ("disk_total_gb", s.disk_total_gb.to_string()),
        ] {
            form.set(k, &v);
        }
        ServerForm {
            form,
            busy: false,
            editing: Some(s.clone()),
            done: false,
        }
    }

    /// What changed against the server as loaded (an empty token keeps the sealed one).
    pub fn patch(&self, s: &Server) -> Result<ServerPatch, ServiceError> {
        let v = |k: &str| self.form.value(k).trim().to_owned();
        let changed = |k: &str, old: &str| (v(k) != old).then(|| v(k));
        let max_accounts =
            backend::validate::parse_limit(&v("max_accounts")).map_err(|m| ServiceError::invalid("max_accounts", m))?;
        let disk: i64 = v("disk_total_gb")
            .parse()
            .map_err(|_| ServiceError::invalid("disk_total_gb", "must be a whole number"))?;
        let token = v("api_token");
        Ok(ServerPatch {
            hostname: changed("hostname", &s.hostname),
            ip: changed("ip", &s.ip),
            region: changed("region", &s.region),
            whm_url: changed("whm_url", s.whm_url.as_deref().unwrap_or_default()),
            api_user: changed("api_user", s.api_user.as_deref().unwrap_or_default()),
            api_token: (!token.is_empty()).then_some(token),
            tls: changed("tls", &tls_text(s)),
            max_accounts: (max_accounts != s.max_accounts).then_some(max_accounts),
            disk_total_gb: (disk != s.disk_total_gb).then_some(disk),
            status: None,
        })
    }

    fn submit_edit(&mut self, s: &Server, ctx: &mut Ctx) {
        match self.patch(s) {
            Err(e) => {
                self.form.show_error(&e);
                ctx.emit(Action::FlashError(e.to_string()));
            }
            Ok(patch) => {
                self.busy = true;
                let name = s.name.clone();
                ctx.load("update", |env| async move {
                    let keys = match env.keys_for(patch.api_token.as_deref()).await {
                        Ok(k) => k,
                        Err(e) => return Updated(Err(e)),
                    };
                    Updated(servers::update(&env.db, &env.actor, keys.as_ref(), &name, patch).await)
                });
            }
        }
    }

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
                if let Some(s) = self.editing.clone() {
                    self.submit_edit(&s, ctx);
                    return true;
                }
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
            Action::Close if self.editing.is_some() => self.done = true,
            Action::Close => ctx.emit(Action::Back),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        self.form.input(key);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Updated>() {
            Ok(r) => {
                self.busy = false;
                match r.0 {
                    Ok(s) => {
                        self.form.set("api_token", "");
                        self.done = true;
                        ctx.emit(Action::Flash(format!("server {} saved", s.name)));
                    }
                    Err(e) => {
                        self.form.show_error(&e);
                        ctx.emit(Action::FlashError(e.to_string()));
                    }
                }
                return;
            }
            Err(m) => m,
        };
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
        let (title, footer) = match &self.editing {
            Some(s) => (
                format!("Edit server {}", widgets::text::sanitize(&s.name)),
                "Grey = an example · token empty = keep · Enter save · Esc cancel",
            ),
            None => ("New server".to_owned(), "Grey = an example · Enter create · Esc cancel"),
        };
        let footer = if self.busy { "Saving…" } else { footer };
        self.form.draw(f, area, &title, footer, theme, true);
    }
}
