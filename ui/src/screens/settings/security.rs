//! Settings › Security (`settings/security`, `:security`): whether the signed-in account has
//! 2FA, and `e` to enrol it without leaving the console: the password again, then the QR code
//! (and its secret) to scan, then a code from the app turns 2FA on and the recovery codes are
//! shown once. The backend checks the password, the code, and audits both steps; the screen
//! holds the password, the secret and the recovery codes only while their step is open.

use backend::identity::{self, totp};
use backend::{secrets, ServiceError};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use widgets::{Theme, Tone};

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen, TABS};
use crate::tasks::{Env, Msg};

/// What the screen's calls bring back.
enum Reply {
    /// The account's 2FA state (`None`: the console acts for no account).
    Status(Result<Option<bool>, ServiceError>),
    Enrolled(Result<totp::Enrollment, ServiceError>),
    Enabled(Result<Vec<String>, ServiceError>),
}

const STATUS: &str = "security-status";
const ENROLL: &str = "security-enroll";
const ENABLE: &str = "security-enable";

const PASSWORD: &[(&str, &str, &str)] = &[("password", "Password", "")];
const CODE: &[(&str, &str, &str)] = &[("code", "Code", "123456")];

/// Where enrolment is.
pub enum Step {
    /// Nothing open: the status is shown.
    Idle,
    /// Asking for the password again; `busy` while the call runs.
    Password { form: Form, busy: bool },
    /// The secret to scan and the code field; the password is kept for `enable` only.
    Scan {
        enrollment: totp::Enrollment,
        qr: Vec<String>,
        password: String,
        form: Form,
        busy: bool,
    },
    /// 2FA is on: the recovery codes, shown this once.
    Codes(Vec<String>),
}

pub struct SecurityScreen {
    /// `None` while loading; `Ok(None)` when the console acts for no account.
    pub status: Option<Result<Option<bool>, String>>,
    pub step: Step,
}

impl Default for SecurityScreen {
    fn default() -> Self {
        SecurityScreen {
            status: None,
            step: Step::Idle,
        }
    }
}

/// The master keys the secret is sealed with (docs/adr/0013).
async fn master_keys(env: &Env) -> Result<secrets::Keys, ServiceError> {
    let cfg = env.keys.as_ref().ok_or_else(|| {
        ServiceError::Unavailable("no master key is configured here: run `painel keys init` first".into())
    })?;
    secrets::registered(&env.db, &secrets::load(cfg)?.keys).await
}

impl SecurityScreen {
    fn load(ctx: &mut Ctx) {
        ctx.load(STATUS, |env| async move {
            let r = match env.actor.user_id {
                Some(id) => identity::get_user(&env.db, id).await.map(|u| Some(u.totp_enabled)),
                None => Ok(None),
            };
            Reply::Status(r)
        });
    }

    /// Shows the QR code and the secret of an enrolment (tests use it with a fixed secret).
    pub fn scanning(&mut self, enrollment: totp::Enrollment, password: String) {
        // A URI too long for a QR code cannot come from the backend; the secret still works.
        let qr = widgets::qr::qr_lines(&enrollment.uri).unwrap_or_default();
        self.step = Step::Scan {
            enrollment,
            qr,
            password,
            form: Form::new(CODE),
            busy: false,
        };
    }

    fn enabled(&self) -> Option<bool> {
        self.status.as_ref().and_then(|s| s.as_ref().ok()).copied().flatten()
    }

    fn on_step(&mut self, a: &Action, ctx: &mut Ctx) {
        let close = matches!(a, Action::Close | Action::Back);
        match &mut self.step {
            Step::Idle => {}
            Step::Codes(_) => {
                if close || matches!(a, Action::Accept) {
                    self.step = Step::Idle;
                }
            }
            _ if close => self.step = Step::Idle,
            Step::Password { form, busy } => {
                if matches!(a, Action::Accept) && !*busy {
                    *busy = true;
                    form.clear_errors();
                    let password = form.value("password");
                    ctx.load(ENROLL, |env| async move {
                        let r = match master_keys(&env).await {
                            Ok(keys) => totp::enroll(&env.db, &keys, &env.actor, &password).await,
                            Err(e) => Err(e),
                        };
                        Reply::Enrolled(r)
                    });
                }
            }
            Step::Scan {
                password, form, busy, ..
            } => {
                if matches!(a, Action::Accept) && !*busy {
                    *busy = true;
                    form.clear_errors();
                    let code = form.value("code").trim().to_owned();
                    let password = password.clone();
                    ctx.load(ENABLE, |env| async move {
                        let r = match master_keys(&env).await {
                            Ok(keys) => totp::enable(&env.db, &keys, &env.actor, &code, &password).await,
                            Err(e) => Err(e),
                        };
                        Reply::Enabled(r)
                    });
                }
            }
        }
    }
}

impl Screen for SecurityScreen {
    fn route(&self) -> Route {
        page_route("settings/security")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        Self::load(ctx);
    }

    fn mode(&self) -> Mode {
        match self.step {
            Step::Idle => Mode::List,
            _ => Mode::Form,
        }
    }

    fn dialog(&self) -> Option<Dialog> {
        match self.step {
            Step::Idle => None,
            Step::Password { .. } | Step::Scan { .. } => Some(Dialog::Form),
            Step::Codes(_) => Some(Dialog::Notice),
        }
    }

    fn accept_label(&self) -> Option<&'static str> {
        match self.step {
            Step::Password { .. } => Some("continue"),
            Step::Scan { .. } => Some("turn on"),
            _ => None,
        }
    }

    fn keys(&self) -> Keys {
        let keys = Keys::new().with(&[Action::Refresh]);
        // Enrolling is offered only when 2FA is known to be off for an account.
        let keys = if self.enabled() == Some(false) {
            keys.labelled(Action::Edit, "enrol 2FA")
        } else {
            keys
        };
        keys.with(TABS)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if !matches!(self.step, Step::Idle) {
            self.on_step(a, ctx);
            return true;
        }
        match a {
            Action::Refresh => Self::load(ctx),
            Action::Edit => match self.status {
                Some(Ok(Some(false))) => {
                    self.step = Step::Password {
                        form: Form::new(PASSWORD).masked("password"),
                        busy: false,
                    }
                }
                Some(Ok(Some(true))) => ctx.emit(Action::FlashError(
                    "2FA is already on: `painel 2fa disable` turns it off".into(),
                )),
                _ => {}
            },
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        match &mut self.step {
            Step::Password { form, busy: false } | Step::Scan { form, busy: false, .. } => {
                form.input(key);
            }
            _ => {}
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Ok(reply) = msg.downcast::<Reply>() else { return };
        match *reply {
            Reply::Status(r) => self.status = Some(r.map_err(|e| e.to_string())),
            Reply::Enrolled(r) => match r {
                Ok(e) => {
                    let password = match &self.step {
                        Step::Password { form, .. } => form.value("password"),
                        _ => return,
                    };
                    self.scanning(e, password);
                }
                Err(e) => {
                    if let Step::Password { form, busy } = &mut self.step {
                        *busy = false;
                        form.show_error(&e);
                        // The password is typed again, not retried as it was.
                        form.set("password", "");
                    }
                }
            },
            Reply::Enabled(r) => match r {
                Ok(codes) => {
                    self.step = Step::Codes(codes);
                    ctx.emit(Action::Flash("2FA is on".into()));
                    Self::load(ctx);
                }
                Err(e) => {
                    if let Step::Scan { form, busy, .. } = &mut self.step {
                        *busy = false;
                        form.show_error(&e);
                    }
                }
            },
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        if let Step::Scan {
            enrollment,
            qr,
            form,
            busy,
            ..
        } = &self.step
        {
            draw_scan(f, area, enrollment, qr, form, *busy, theme);
            return;
        }
        let block = theme
            .block(matches!(self.step, Step::Idle))
            .title(theme.title_line("Security", usize::from(area.width.saturating_sub(2))));
        let inner = block.inner(area).inner(Margin::new(1, 0));
        f.render_widget(block, area);
        let status: Vec<Line> = match &self.status {
            None => vec![Line::styled("loading…", theme.muted)],
            Some(Err(e)) => vec![Line::styled(widgets::text::sanitize(e).into_owned(), theme.tone(Tone::Error))],
            Some(Ok(None)) => vec![Line::styled(
                "The console acts for no account here: 2FA belongs to accounts (`painel init`, then sign in).",
                theme.muted,
            )],
            Some(Ok(Some(true))) => vec![
                Line::from(vec![
                    ratatui::text::Span::raw("Two-factor authentication: "),
                    ratatui::text::Span::styled("on", theme.tone(Tone::Success)),
                ]),
                Line::default(),
                Line::styled(
                    "Sensitive actions ask for a current code from your app (or a recovery code).",
                    theme.muted,
                ),
            ],
            Some(Ok(Some(false))) => vec![
                Line::from(vec![
                    ratatui::text::Span::raw("Two-factor authentication: "),
                    ratatui::text::Span::styled("off", theme.tone(Tone::Warning)),
                ]),
                Line::default(),
                Line::styled(
                    "Sensitive actions (suspending a tenant, …) need it. e enrols: your password, then a QR code to scan with an authenticator app.",
                    theme.muted,
                ),
            ],
        };
        f.render_widget(Paragraph::new(status).wrap(Wrap { trim: false }), inner);
        match &self.step {
            Step::Password { form, busy } => {
                let popup = widgets::popup_area(crate::chrome::popup_frame(f), 60, 6);
                f.render_widget(Clear, popup);
                let footer = if *busy {
                    "Checking…"
                } else {
                    "Enter continue · Esc cancel"
                };
                form.draw(f, popup, "Your password, again", footer, theme, !*busy);
            }
            Step::Codes(codes) => draw_codes(f, codes, theme),
            _ => {}
        }
    }
}

/// The QR code beside the secret and the code field; a terminal too small for the code gets
/// the secret alone and says so.
fn draw_scan(f: &mut Frame, area: Rect, e: &totp::Enrollment, qr: &[String], form: &Form, busy: bool, theme: &Theme) {
    let block = theme
        .block(true)
        .title(theme.title_line("Enrol 2FA", usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area).inner(Margin::new(1, 0));
    f.render_widget(block, area);
    let qr_w = qr.first().map_or(0, |r| r.chars().count());
    let qr_h = qr.len();
    let fits = qr_h > 0 && usize::from(inner.height) >= qr_h && usize::from(inner.width) >= qr_w + 34;
    let text_area = if fits {
        let [left, right] = Layout::horizontal([
            Constraint::Length(u16::try_from(qr_w + 2).unwrap_or(u16::MAX)),
            Constraint::Fill(1),
        ])
        .areas(inner);
        let rows: Vec<Line> = qr.iter().map(|r| Line::raw(r.clone())).collect();
        f.render_widget(Paragraph::new(rows), left);
        right
    } else {
        inner
    };
    let mut lines = vec![Line::raw(if fits {
        "Scan the code with an authenticator app, or type the secret:"
    } else {
        "Type the secret into an authenticator app (the terminal is too small for the QR code):"
    })];
    lines.push(Line::default());
    lines.push(Line::styled(e.secret.clone(), theme.tone(Tone::Accent)));
    lines.push(Line::default());
    lines.push(Line::styled(
        format!(
            "account {} · issuer {}",
            widgets::text::sanitize(&e.username),
            totp::ISSUER
        ),
        theme.muted,
    ));
    lines.push(Line::default());
    lines.push(Line::raw("Then type the code the app shows to turn 2FA on."));
    let [text, field] = Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(text_area);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
    let footer = if busy {
        "Turning 2FA on…"
    } else {
        "Enter turn on · Esc cancel"
    };
    form.draw(f, field, "Code from the app", footer, theme, !busy);
}

/// The recovery codes, once, with the notice that they cannot be shown again.
fn draw_codes(f: &mut Frame, codes: &[String], theme: &Theme) {
    let frame = crate::chrome::popup_frame(f);
    let width = frame.width.saturating_sub(4).min(70);
    let height = u16::try_from(codes.len().div_ceil(2) + 6).unwrap_or(u16::MAX);
    let area = widgets::popup_area(frame, width, height);
    f.render_widget(Clear, area);
    let block = theme
        .popup_block()
        .title(theme.title_line("2FA is on: recovery codes", usize::from(area.width.saturating_sub(2))))
        .title_bottom(Line::styled(" Enter/Esc close ", theme.muted).right_aligned());
    let inner = block.inner(area).inner(Margin::new(1, 0));
    f.render_widget(block, area);
    let mut lines: Vec<Line> = codes
        .chunks(2)
        .map(|pair| Line::styled(pair.join("    "), theme.tone(Tone::Accent)))
        .collect();
    lines.push(Line::default());
    lines.push(Line::styled(
        "Each works once instead of a code from the app. Store them now: they are not shown again.",
        theme.tone(Tone::Warning),
    ));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
