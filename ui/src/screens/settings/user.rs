//! One account (`users/<id>`), where the palette's "go to" leads for a user: who it is, its
//! role, tenant, status, 2FA and last login, as the actor may see it (`identity::show_user`).

use backend::identity::{self, User};
use backend::ServiceError;
use ratatui::layout::Rect;
use ratatui::Frame;
use uuid::Uuid;
use widgets::{KeyValuePanel, KvEntry, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::{Ctx, Keys, Screen};
use crate::tasks::Msg;

struct Reply(Result<User, ServiceError>);

pub struct UserScreen {
    pub id: Uuid,
    pub user: Option<User>,
    pub error: Option<String>,
}

impl UserScreen {
    pub fn new(id: Uuid) -> UserScreen {
        UserScreen {
            id,
            user: None,
            error: None,
        }
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        let id = self.id;
        ctx.load("user", move |env| async move {
            Reply(identity::show_user(&env.db, &env.actor, id).await)
        });
    }
}

/// The account as label/value rows.
pub fn entries(u: &User) -> Vec<KvEntry<'static>> {
    let time = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M").to_string();
    vec![
        KvEntry::new("Username", u.username.clone()).tone(Tone::Accent),
        KvEntry::new("Name", u.display_name.clone()),
        KvEntry::new("E-mail", u.email.clone()),
        KvEntry::new("Role", u.role.clone()),
        KvEntry::new("Status", u.status.clone()).tone(tone_for(&u.status)),
        KvEntry::new("2FA", if u.totp_enabled { "on" } else { "off" }),
        KvEntry::new("Read-only", if u.read_only { "yes" } else { "no" }),
        KvEntry::new(
            "Last login",
            u.last_login_at.as_ref().map_or_else(|| "never".to_owned(), time),
        ),
        KvEntry::new("Created", time(&u.created_at)),
        KvEntry::new("Id", u.id.to_string()).tone(Tone::Muted),
    ]
}

impl Screen for UserScreen {
    fn route(&self) -> Route {
        Route::User { id: self.id }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new().with(&[Action::Refresh])
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if *a == Action::Refresh {
            self.reload(ctx);
            return true;
        }
        false
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Ok(r) = msg.downcast::<Reply>() else { return };
        match r.0 {
            Ok(u) => {
                self.user = Some(u);
                self.error = None;
            }
            Err(e) => {
                self.error = Some(e.to_string());
                ctx.emit(Action::FlashError(e.to_string()));
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(u) = &self.user else {
            let msg = self
                .error
                .clone()
                .unwrap_or_else(|| format!("Loading user {}…", self.id));
            return crate::screens::notice(f, area, "User", &msg, theme.muted, theme);
        };
        let title = format!("{} · {} · {}", u.username, u.role, u.status);
        let rows = entries(u);
        f.render_widget(KeyValuePanel::new(&rows, theme).title(&title).focused(true), area);
    }
}
