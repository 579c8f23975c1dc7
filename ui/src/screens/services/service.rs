//! One hosting service, live: status, server, username and plan, its lifecycle jobs and its
//! audit trail, reloaded every two seconds while it is on top (a job moves it). Changes are
//! orders the backend turns into jobs: `x` suspend (reason), `r` unsuspend, `e` change plan
//! (plan code), `T` terminate (the domain typed again and, when the last one is old, a 2FA
//! code: the sensitive gate).

use std::time::{Duration, Instant};

use backend::authz::Permission;
use backend::hosting::services::{self, Service, Step};
use backend::jobs::Job;
use backend::sensitive;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;
use widgets::{KeyValuePanel, KvEntry, Theme, Tone};

use crate::action::Action;
use crate::form::Form;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::{Ctx, Dialog, Keys, Screen};
use crate::tasks::Msg;

/// How often the screen reloads while it is shown.
const LIVE: Duration = Duration::from_secs(2);

struct Loaded(Result<(Service, Vec<Job>, Vec<Step>), ServiceError>);
struct Acted(Result<Job, ServiceError>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Suspend,
    Unsuspend,
    ChangePlan,
    Terminate,
}

impl Op {
    fn title(self) -> &'static str {
        match self {
            Op::Suspend => "Suspend service",
            Op::Unsuspend => "Unsuspend service",
            Op::ChangePlan => "Change plan",
            Op::Terminate => "Terminate service (cannot be undone)",
        }
    }
}

pub struct Modal {
    pub op: Op,
    pub form: Form,
    pub busy: bool,
}

pub struct ServiceScreen {
    pub key: String,
    pub service: Option<Service>,
    pub jobs: Vec<Job>,
    pub history: Vec<Step>,
    pub error: Option<String>,
    pub modal: Option<Modal>,
    last: Option<Instant>,
}

impl ServiceScreen {
    pub fn new(key: String) -> ServiceScreen {
        ServiceScreen {
            key,
            service: None,
            jobs: Vec::new(),
            history: Vec::new(),
            error: None,
            modal: None,
            last: None,
        }
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        self.last = Some(Instant::now());
        let key = self.key.clone();
        ctx.load("service", |env| async move {
            let r = async {
                let s = services::get(&env.db, &env.actor, &key).await?;
                let id = s.id.to_string();
                let jobs = services::jobs_of(&env.db, &env.actor, &id).await?;
                let history = services::history(&env.db, &env.actor, &id).await?;
                Ok((s, jobs, history))
            };
            Loaded(r.await)
        });
    }

    fn open(&mut self, op: Op, ctx: &mut Ctx) {
        let Some(s) = &self.service else { return };
        let allowed = match op {
            Op::Suspend => s.status == "active",
            Op::Unsuspend => s.status == "suspended",
            Op::ChangePlan => matches!(s.status.as_str(), "active" | "suspended"),
            Op::Terminate => s.status != "terminated",
        };
        if !allowed {
            ctx.emit(Action::FlashError(format!("the service is {}", s.status)));
            return;
        }
        let form = match op {
            Op::Suspend => Form::new(&[("reason", "Reason", "")]),
            Op::Unsuspend => Form::new(&[]),
            Op::ChangePlan => Form::new(&[("plan", "New plan (code)", "")]),
            Op::Terminate => Form::new(&[("confirm", "Type the domain", ""), ("code", "2FA code", "")]),
        };
        self.modal = Some(Modal { op, form, busy: false });
    }

    fn submit(&mut self, ctx: &mut Ctx) {
        let Some(m) = self.modal.as_mut().filter(|m| !m.busy) else {
            return;
        };
        m.busy = true;
        m.form.clear_errors();
        let key = self.key.clone();
        let op = m.op;
        let reason = m.form.value("reason");
        let plan = m.form.value("plan");
        let confirm = m.form.value("confirm");
        let code = Some(m.form.value("code")).filter(|c| !c.trim().is_empty());
        ctx.load("act", move |env| async move {
            let r = async {
                match op {
                    Op::Suspend => services::suspend(&env.db, &env.actor, &key, &reason).await,
                    Op::Unsuspend => services::unsuspend(&env.db, &env.actor, &key).await,
                    Op::ChangePlan => services::change_plan(&env.db, &env.actor, &key, &plan)
                        .await
                        .map(|c| c.job),
                    Op::Terminate => {
                        let keys = env.keys_for(code.as_deref()).await?;
                        let proof = sensitive::Proof::confirm(&confirm).with_step_up(code.as_deref(), keys.as_ref());
                        services::terminate(&env.db, &env.actor, &key, &proof).await
                    }
                }
            };
            Acted(r.await)
        });
    }
}

/// The service as label/value rows.
pub fn entries(s: &Service) -> Vec<KvEntry<'static>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    let time = |at: &Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(|| "—".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    let mut rows = vec![
        KvEntry::new("Status", s.status.clone()).tone(tone_for(&s.status)),
        KvEntry::new("Customer", s.customer_name.clone()),
        KvEntry::new("Plan", format!("{} ({})", s.plan_code, opt(&s.package))),
        KvEntry::new("Server", opt(&s.server_name)),
        KvEntry::new("Username", opt(&s.username)),
        KvEntry::new("Active since", time(&s.activated_at)),
    ];
    if let Some(r) = &s.suspend_reason {
        rows.push(KvEntry::new("Suspended", r.clone()).tone(Tone::Warning));
    }
    if let Some(e) = &s.last_error {
        rows.push(KvEntry::new("Last error", e.clone()).tone(Tone::Error));
    }
    rows
}

impl Screen for ServiceScreen {
    fn route(&self) -> Route {
        Route::Service { key: self.key.clone() }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        if self.modal.is_some() {
            return Keys::new().with(&[Action::Accept, Action::Close, Action::NextField]);
        }
        let status = self.service.as_ref().map_or("", |s| s.status.as_str());
        let mut k = Keys::new().with(&[Action::Refresh]);
        if status == "active" {
            k = k.with(&[Action::Suspend]);
        }
        if status == "suspended" {
            k = k.labelled(Action::Reactivate, "unsuspend");
        }
        if matches!(status, "active" | "suspended") {
            k = k.labelled(Action::Edit, "plan");
        }
        if !status.is_empty() && status != "terminated" {
            k = k.with(&[Action::Terminate]);
        }
        k
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        match a {
            Action::Suspend | Action::Reactivate | Action::Edit | Action::Terminate => Some(Permission::ServicesManage),
            _ => None,
        }
    }

    fn dialog(&self) -> Option<Dialog> {
        self.modal.as_ref().map(|m| Dialog::Confirm {
            fields: !m.form.fields.is_empty(),
        })
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = self.modal.as_mut() {
            match a {
                Action::Close | Action::Back => self.modal = None,
                Action::NextField => m.form.next(),
                Action::PrevField => m.form.prev(),
                Action::Accept => self.submit(ctx),
                _ => {}
            }
            return true;
        }
        match a {
            Action::Refresh => self.reload(ctx),
            Action::Suspend => self.open(Op::Suspend, ctx),
            Action::Reactivate => self.open(Op::Unsuspend, ctx),
            Action::Edit => self.open(Op::ChangePlan, ctx),
            Action::Terminate => self.open(Op::Terminate, ctx),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        if let Some(m) = self.modal.as_mut() {
            m.form.input(key);
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        if self.modal.is_none() && self.last.is_none_or(|t| t.elapsed() >= LIVE) {
            self.reload(ctx);
        }
        false
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Loaded>() {
            Ok(r) => {
                match r.0 {
                    Ok((s, jobs, history)) => {
                        self.key = s.id.to_string();
                        self.service = Some(s);
                        self.jobs = jobs;
                        self.history = history;
                        self.error = None;
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
                return;
            }
            Err(m) => m,
        };
        if let Ok(r) = msg.downcast::<Acted>() {
            match r.0 {
                Ok(job) => {
                    self.modal = None;
                    ctx.emit(Action::Flash(format!("{} queued (job {})", job.kind, short(&job.id))));
                    self.reload(ctx);
                }
                Err(e) => {
                    if let Some(m) = self.modal.as_mut() {
                        m.busy = false;
                        m.form.show_error(&e);
                        if m.form.error.is_none() {
                            m.form.error = Some(e.to_string());
                        }
                    }
                }
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(s) = &self.service else {
            let msg = self
                .error
                .clone()
                .unwrap_or_else(|| format!("Loading service {}…", self.key));
            return crate::screens::notice(f, area, "Service", &msg, theme.muted, theme);
        };
        let rows = entries(s);
        let [top, bottom] =
            Layout::vertical([Constraint::Length(rows.len() as u16 + 2), Constraint::Fill(1)]).areas(area);
        let title = format!("{} · {}", s.domain.as_deref().unwrap_or("?"), s.tenant_slug);
        f.render_widget(KeyValuePanel::new(&rows, theme).title(&title).focused(true), top);
        let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom);
        let jobs: Vec<Line> = self
            .jobs
            .iter()
            .map(|j| {
                let err = j.last_error.as_deref().map(|e| format!(" · {e}")).unwrap_or_default();
                Line::from(
                    widgets::text::sanitize(&format!(
                        "{} {} {}/{}{err}",
                        j.kind.trim_start_matches("hosting."),
                        j.status,
                        j.attempts,
                        j.max_attempts
                    ))
                    .into_owned(),
                )
            })
            .collect();
        let history: Vec<Line> = self
            .history
            .iter()
            .map(|h| {
                Line::from(
                    widgets::text::sanitize(&format!(
                        "{} {} {}",
                        h.at.format("%Y-%m-%d %H:%M"),
                        h.action.trim_start_matches("service."),
                        h.actor_name
                    ))
                    .into_owned(),
                )
            })
            .collect();
        f.render_widget(Paragraph::new(jobs).block(theme.block(false).title("Jobs")), left);
        f.render_widget(Paragraph::new(history).block(theme.block(false).title("Audit")), right);
        if let Some(m) = &self.modal {
            let popup = crate::chrome::popup_frame(f);
            let h = (m.form.fields.len() as u16) * 3 + 5;
            let [_, mid, _] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(h), Constraint::Fill(1)]).areas(popup);
            let [_, boxed, _] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(60), Constraint::Fill(1)]).areas(mid);
            f.render_widget(Clear, boxed);
            let footer = if m.busy {
                "sending…"
            } else {
                "Enter confirm · Esc cancel"
            };
            m.form.draw(f, boxed, m.op.title(), footer, theme, true);
        }
    }
}

fn short(id: &uuid::Uuid) -> String {
    let s = id.simple().to_string();
    s[s.len() - 8..].to_owned()
}
