//! Settings › API keys (`settings/api-keys`, `:api-keys`): the keys the actor sees, `c` creates
//! one through a small form and shows its secret once in a modal, `x` revokes the selected key
//! after a confirmation. The backend checks permissions, scopes and tenancy and audits both
//! changes; this screen holds the secret only until the modal is closed.

use backend::apikeys::{self, ApiKey, ApiKeyQuery, CreatedApiKey, NewApiKey};
use backend::page::Page;
use backend::ServiceError;
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Margin, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use widgets::{Column, ConfirmDialog, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::common::picker::{PickFrom, PickerField};
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen, TABS};
use crate::tasks::Msg;

/// What the screen's own calls bring back (its pages go to the list).
enum Reply {
    Created(Result<CreatedApiKey, ServiceError>),
    Revoked(Result<ApiKey, ServiceError>),
}

const PAGE: &str = "api-keys";
const CREATE: &str = "api-key-create";
const REVOKE: &str = "api-key-revoke";
const PICK: &str = "api-key-tenant";

pub const FIELDS: &[(&str, &str, &str)] = &[
    ("tenant", "Tenant (search)", "streammax"),
    ("name", "Name", "Billing bot"),
    ("scopes", "Scopes", "customers:read, services:read"),
];

/// A key just created: the only place its secret lives in the console.
pub struct Shown {
    pub name: String,
    pub prefix: String,
    pub secret: String,
}

/// Reads the keys the actor sees.
pub struct Keyring;

impl Source for Keyring {
    type Page = Page<ApiKey>;

    fn read(&self, q: &Query) -> Result<Read<Page<ApiKey>>, String> {
        let q = ApiKeyQuery {
            tenant: None,
            limit: q.limit,
            at: q.at.clone(),
        };
        Ok(Box::new(move |env| {
            async move { apikeys::list(&env.db, &env.actor, &q).await }.boxed()
        }))
    }
}

pub struct ApiKeysScreen {
    pub list: List<Keyring>,
    /// The create form while it is open, and whether it is saving.
    pub form: Option<(Form, bool)>,
    pub shown: Option<Shown>,
    /// The key a revoke confirmation is about, and whether it was sent.
    pub confirm: Option<(ApiKey, bool)>,
    /// The tenant field's picker (type to search, Enter to choose).
    pub tenant: PickerField,
}

impl Default for ApiKeysScreen {
    fn default() -> Self {
        ApiKeysScreen {
            list: List::new(PAGE, Keyring, FilterMode::Off),
            form: None,
            tenant: PickerField::new("tenant", "Tenant for the key", PickFrom::Tenants, PICK),
            shown: None,
            confirm: None,
        }
    }
}

fn when(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map_or_else(|| none.to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

impl Screen for ApiKeysScreen {
    fn route(&self) -> Route {
        page_route("settings/api-keys")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.list.reload(ctx);
    }

    fn dialog(&self) -> Option<Dialog> {
        if self.form.is_some() {
            Some(Dialog::Form)
        } else if self.shown.is_some() {
            Some(Dialog::Notice)
        } else {
            self.confirm.is_some().then_some(Dialog::Confirm { fields: false })
        }
    }

    fn accept_label(&self) -> Option<&'static str> {
        if self.tenant.open.is_some() {
            Some("choose")
        } else if self.form.is_some() {
            Some("create")
        } else if self.confirm.is_some() {
            Some("revoke")
        } else {
            None
        }
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Create | Action::Suspend).then_some(backend::authz::Permission::ApikeysManage)
    }

    fn keys(&self) -> Keys {
        // `x` (bound to suspending a tenant elsewhere) revokes.
        Keys::new()
            .with(&self.list.keys())
            .with(&[Action::Create])
            .labelled(Action::Suspend, "revoke")
            .with(TABS)
    }

    fn mode(&self) -> Mode {
        if self.form.is_some() || self.shown.is_some() || self.confirm.is_some() {
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
        if self.list.on_action(a, ctx) {
            return true;
        }
        match a {
            Action::Create => self.form = Some((Form::new(FIELDS), false)),
            // `x`: revoke (the key bound to suspending a tenant on the tenant screens).
            Action::Suspend => match self.rows().get(self.list.selected()) {
                Some(k) if k.revoked_at.is_none() => self.confirm = Some((k.clone(), false)),
                Some(k) => ctx.emit(Action::FlashError(format!("key {} is already revoked", k.prefix))),
                None => {}
            },
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if let (Some((form, false)), None, None) = (&mut self.form, &self.shown, &self.confirm) {
            if !self.tenant.on_input(form, key, ctx) {
                form.input(key);
            }
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Some(msg) = self.list.apply(msg, ctx) else { return };
        let Err(msg) = self.tenant.apply(msg) else { return };
        let Ok(reply) = msg.downcast::<Reply>() else { return };
        match *reply {
            Reply::Created(r) => match r {
                Ok(c) => {
                    self.form = None;
                    ctx.emit(Action::Flash(format!("API key {} created", c.key.prefix)));
                    self.shown = Some(Shown {
                        name: c.key.name.clone(),
                        prefix: c.key.prefix.clone(),
                        secret: c.secret,
                    });
                    self.list.reload(ctx);
                }
                Err(e) => {
                    if let Some((form, busy)) = &mut self.form {
                        *busy = false;
                        form.show_error(&e);
                    }
                    ctx.emit(Action::FlashError(e.to_string()));
                }
            },
            Reply::Revoked(r) => {
                self.confirm = None;
                match r {
                    Ok(k) => {
                        ctx.emit(Action::Flash(format!("API key {} revoked", k.prefix)));
                        self.list.reload(ctx);
                    }
                    Err(e) => ctx.emit(Action::FlashError(e.to_string())),
                }
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.list.frame(f, area, theme);
        let columns = [
            // Higher priority stays longer on narrow terminals: which key, and is it live.
            Column::new("NAME", Constraint::Fill(2)).priority(9),
            Column::new("PREFIX", Constraint::Length(8)).priority(8),
            Column::new("TENANT", Constraint::Fill(1)).priority(4),
            Column::new("SCOPES", Constraint::Fill(3)).priority(5),
            Column::new("LAST USED", Constraint::Length(16)).priority(3),
            Column::new("EXPIRES", Constraint::Length(16)).priority(1),
            Column::new("STATUS", Constraint::Length(7)).priority(7),
        ];
        let rows: Vec<DataRow> = self
            .list
            .page
            .iter()
            .flat_map(|p| &p.items)
            .map(|k| {
                let status = if k.status == "revoked" {
                    Tone::Muted
                } else {
                    tone_for(&k.status)
                };
                DataRow::new([
                    DataCell::new(k.name.as_str()),
                    DataCell::styled(k.prefix.as_str(), Tone::Accent),
                    DataCell::new(k.tenant_slug.as_str()),
                    DataCell::new(k.scopes.join(" ")),
                    DataCell::styled(when(k.last_used_at, "never"), Tone::Muted),
                    DataCell::styled(when(k.expires_at, "never"), Tone::Muted),
                    DataCell::styled(k.status.as_str(), status),
                ])
            })
            .collect();
        let footer = match &self.list.page {
            None => "loading…".to_owned(),
            Some(p) if p.items.is_empty() => "no keys".to_owned(),
            Some(p) => self.list.paging.rows_label(p.items.len()),
        };
        let empty = self
            .list
            .empty_text(|_| String::new(), "No API keys yet: c creates one.");
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title("API keys")
            .footer(&footer)
            .empty_message(&empty)
            .focused(self.mode() == Mode::List);
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
        if let Some((form, busy)) = &self.form {
            let popup = widgets::popup_area(crate::chrome::popup_frame(f), 70, 9);
            f.render_widget(Clear, popup);
            let footer = if *busy {
                "Creating…"
            } else {
                "Scopes: permission keys, comma-separated · Enter create · Esc cancel"
            };
            form.draw(f, popup, "New API key", footer, theme, !*busy);
            self.tenant.draw(f, crate::chrome::popup_frame(f), theme);
        }
        if let Some((key, _)) = &self.confirm {
            let message = format!(
                "Revoke API key {} ({}, tenant {})? Requests with it are refused from now on; this cannot be undone.",
                key.name, key.prefix, key.tenant_slug
            );
            let dialog = ConfirmDialog::new("Revoke API key", &message, "", "", 0, theme).typed(false);
            f.render_widget(dialog, crate::chrome::popup_frame(f));
        }
        if let Some(s) = &self.shown {
            draw_secret(f, s, theme);
        }
    }
}

impl ApiKeysScreen {
    pub fn rows(&self) -> &[ApiKey] {
        self.list.items()
    }

    fn input(form: &Form) -> NewApiKey {
        NewApiKey {
            tenant: form.value("tenant"),
            name: form.value("name"),
            scopes: form.value("scopes").split(',').map(|s| s.trim().to_owned()).collect(),
            ..NewApiKey::default()
        }
    }

    fn on_modal(&mut self, a: &Action, ctx: &mut Ctx) {
        if self.shown.is_some() {
            // Enter or Esc: the secret is gone from memory with the modal.
            if matches!(a, Action::Accept | Action::Close | Action::Back) {
                self.shown = None;
            }
            return;
        }
        if let Some((key, sent)) = &mut self.confirm {
            match a {
                Action::Close | Action::Back => self.confirm = None,
                Action::Accept if !*sent => {
                    *sent = true;
                    let id = key.id.to_string();
                    ctx.load(REVOKE, |env| async move {
                        Reply::Revoked(apikeys::revoke(&env.db, &env.actor, &id).await)
                    });
                }
                _ => {}
            }
            return;
        }
        if let Some((form, busy)) = &mut self.form {
            if !*busy && self.tenant.on_action(form, a, ctx) {
                return;
            }
            match a {
                Action::NextField => form.next(),
                Action::PrevField => form.prev(),
                Action::Accept if !*busy => {
                    *busy = true;
                    form.clear_errors();
                    let k = Self::input(form);
                    ctx.load(CREATE, |env| async move {
                        Reply::Created(apikeys::create(&env.db, &env.actor, k).await)
                    });
                }
                Action::Close | Action::Back => {
                    self.form = None;
                    self.tenant.open = None;
                }
                _ => {}
            }
        }
    }
}

/// The secret, once, with the notice that it cannot be shown again.
fn draw_secret(f: &mut Frame, s: &Shown, theme: &Theme) {
    let frame = crate::chrome::popup_frame(f);
    let width = frame.width.saturating_sub(4).min(76);
    let area = widgets::popup_area(frame, width, 11);
    f.render_widget(Clear, area);
    let block = theme
        .popup_block()
        .title(theme.title_line("API key created", usize::from(area.width.saturating_sub(2))))
        .title_bottom(Line::styled(" Enter/Esc close ", theme.muted).right_aligned());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    f.render_widget(block, area);
    let lines = vec![
        Line::from(format!("{} ({})", s.name, s.prefix)),
        Line::default(),
        Line::styled(s.secret.clone(), theme.tone(Tone::Accent)),
        Line::default(),
        Line::styled(
            "Copy it now: it is shown only this once. painel keeps only its hash; a lost key is revoked and replaced.",
            theme.tone(Tone::Warning),
        ),
    ];
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
