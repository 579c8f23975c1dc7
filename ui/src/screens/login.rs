//! The login screen: username and password (masked), then a 2FA code when the account has
//! one. Shown instead of the console while accounts exist and there is no valid session.
//! Whatever went wrong, it shows the backend's one generic message.

use backend::identity::{self, LoginOutcome, LoginRequest, NewSession};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use widgets::Theme;

use super::Ctx;
use crate::action::Action;
use crate::form::Form;
use crate::tasks::Msg;

/// What a login attempt came to.
struct Attempt(Result<LoginOutcome, ServiceError>);

pub const SLOT: &str = "login";

const CREDENTIALS: &[(&str, &str, &str)] = &[("username", "Username", ""), ("password", "Password", "")];
const WITH_CODE: &[(&str, &str, &str)] = &[
    ("username", "Username", ""),
    ("password", "Password", ""),
    ("code", "2FA/recovery code", "123456"),
];

/// What the app should do after the screen handled an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Keep,
    Quit,
}

pub struct LoginScreen {
    pub form: Form,
    /// The account has 2FA: the code field is shown.
    pub wants_code: bool,
    pub busy: bool,
    /// Why the screen is shown (an expired session), until the first attempt.
    pub notice: Option<String>,
    done: Option<Box<NewSession>>,
}

impl LoginScreen {
    pub fn new(notice: Option<String>) -> LoginScreen {
        LoginScreen {
            form: Form::new(CREDENTIALS).masked("password"),
            wants_code: false,
            busy: false,
            notice,
            done: None,
        }
    }

    /// The session once the login succeeded (taken by the app).
    pub fn take_session(&mut self) -> Option<Box<NewSession>> {
        self.done.take()
    }

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> Outcome {
        match a {
            Action::Quit | Action::Close | Action::Back => return Outcome::Quit,
            Action::NextField => self.form.next(),
            Action::PrevField => self.form.prev(),
            // Enter on a field that is not the last moves on, like a terminal login prompt.
            Action::Accept if self.form.focus + 1 < self.form.fields.len() => self.form.next(),
            Action::Accept if !self.busy => {
                self.busy = true;
                self.form.clear_errors();
                let code = self.wants_code.then(|| self.form.value("code"));
                let (username, password) = (self.form.value("username"), self.form.value("password"));
                ctx.load(SLOT, move |env| async move {
                    let r = async {
                        let keys = env.keys_for(code.as_deref()).await?;
                        let req = LoginRequest {
                            username,
                            password,
                            code,
                            source: backend::actor::detect_source(),
                        };
                        identity::login(&env.db, keys.as_ref(), &req).await
                    };
                    Attempt(r.await)
                });
            }
            _ => {}
        }
        Outcome::Keep
    }

    pub fn on_input(&mut self, key: KeyEvent) {
        self.form.input(key);
    }

    pub fn apply(&mut self, msg: Msg) {
        let Ok(r) = msg.downcast::<Attempt>() else { return };
        let Attempt(r) = *r;
        self.busy = false;
        self.notice = None;
        match r {
            Ok(LoginOutcome::Session(s)) => self.done = Some(s),
            Ok(LoginOutcome::CodeRequired) => {
                let (user, pw) = (self.form.value("username"), self.form.value("password"));
                self.form = Form::new(WITH_CODE).masked("password");
                self.form.set("username", &user);
                self.form.set("password", &pw);
                self.form.focus = 2;
                self.wants_code = true;
            }
            Err(e) => {
                // Start over from the password: it is never kept after a failure.
                let user = self.form.value("username");
                self.form = Form::new(CREDENTIALS).masked("password");
                self.form.set("username", &user);
                self.form.focus = 1;
                self.wants_code = false;
                self.form.error = Some(match e {
                    ServiceError::PermissionDenied(m) => m,
                    other => other.to_string(),
                });
            }
        }
    }

    /// The whole frame: a title, the form in the middle, where the session goes below.
    pub fn draw(&self, f: &mut Frame, theme: &Theme, backend_label: &str) {
        let area = f.area();
        f.render_widget(ratatui::widgets::Block::new().style(theme.base), area);
        let width = area.width.saturating_sub(4).min(78);
        let height = u16::try_from(self.form.fields.len()).unwrap_or(3) + 3 + u16::from(self.form.error.is_some());
        let [_, title, notice, body, _, status] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(2),
            Constraint::Length(height),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let center = |r: Rect| widgets::popup_area(r, width, r.height);
        f.render_widget(
            Paragraph::new(Line::styled("painel — sign in", theme.title)).centered(),
            title,
        );
        if let Some(n) = &self.notice {
            f.render_widget(Paragraph::new(Line::styled(n.as_str(), theme.muted)).centered(), notice);
        }
        let footer = if self.busy {
            "Checking…"
        } else {
            "Enter next / sign in · Tab field · Esc quit"
        };
        self.form.draw(f, center(body), "Log in", footer, theme, !self.busy);
        f.render_widget(
            Paragraph::new(Line::styled(format!("database: {backend_label}"), theme.muted)).centered(),
            status,
        );
    }
}
