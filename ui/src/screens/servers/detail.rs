//! One server (`servers/<name>/<tab>`): overview, metrics (sparklines of the last 48 h),
//! WHM (version, TLS policy, token, the connection test — `v` enqueues it and the answer shows
//! when a worker has it), capacity (CapacityBars) and logs (its jobs and audit rows, and the
//! failure feed).

use backend::hosting::jobs as hjobs;
use backend::hosting::overview::{self, ServerView};
use backend::hosting::servers::Server;
use backend::jobs::Job;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Wrap};
use ratatui::Frame;
use uuid::Uuid;
use widgets::{CapacityBar, KeyValuePanel, KvEntry, Theme, Tone};

use crate::action::Action;
use crate::router::{Route, ServerTab};
use crate::screens::common::browse::tone_for;
use crate::screens::servers::create::ServerForm;
use crate::screens::{Ctx, Dialog, Keys, Mode, Screen, TABS};
use crate::tasks::Msg;
use backend::authz::Permission;

struct Loaded(Result<ServerView, ServiceError>);
struct Queued(Result<(Server, Job), ServiceError>);
struct Watched(Result<Job, ServiceError>);

/// Where the connection test stands on this screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Idle,
    /// Queued or running: the job being watched.
    Waiting(Uuid),
    /// The job ended without recording an answer (dead, cancelled).
    Failed(String),
}

pub struct ServerScreen {
    pub key: String,
    pub tab: ServerTab,
    pub view: Option<ServerView>,
    pub error: Option<String>,
    pub test: Test,
    watching: bool,
    /// The edit form (`e`), while it is open.
    pub edit: Option<ServerForm>,
}

impl ServerScreen {
    pub fn new(key: String, tab: ServerTab) -> ServerScreen {
        ServerScreen {
            key,
            tab,
            view: None,
            error: None,
            test: Test::Idle,
            watching: false,
            edit: None,
        }
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        let key = self.key.clone();
        ctx.load("server", |env| async move {
            Loaded(overview::view(&env.db, &env.actor, &key).await)
        });
    }

    fn switch(&mut self, step: isize) {
        let n = ServerTab::ALL.len() as isize;
        let i = (self.tab.index() as isize + step).rem_euclid(n) as usize;
        self.tab = ServerTab::ALL[i];
    }

    fn start_test(&mut self, ctx: &mut Ctx) {
        if matches!(self.test, Test::Waiting(_)) {
            return;
        }
        let key = self.key.clone();
        ctx.load("test", |env| async move {
            Queued(hjobs::request_test(&env.db, &env.actor, &key).await)
        });
    }

    pub fn server(&self) -> Option<&Server> {
        self.view.as_ref().map(|v| &v.server)
    }
}

fn time(t: &Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "—".into())
}

fn overview_rows(v: &ServerView) -> Vec<KvEntry<'static>> {
    let s = &v.server;
    let services = if v.services.is_empty() {
        "none".to_owned()
    } else {
        v.services
            .iter()
            .map(|c| format!("{} {}", c.n, c.status))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut rows = vec![
        KvEntry::new("Name", s.name.clone()).tone(Tone::Accent),
        KvEntry::new("Status", s.status.clone()).tone(tone_for(&s.status)),
        KvEntry::new("Hostname", s.hostname.clone()),
        KvEntry::new("IP", s.ip.clone()),
        KvEntry::new("Region", s.region.clone()),
        KvEntry::new("Kind", s.kind.clone()),
        KvEntry::new("Services", services),
        KvEntry::new("Last checked", time(&s.last_checked_at)),
        KvEntry::new("Last answer", time(&s.last_ok_at)),
    ];
    if let Some(e) = &s.last_error {
        rows.push(KvEntry::new("Last error", format!("{e} ({} in a row)", s.consecutive_failures)).tone(Tone::Error));
    }
    rows.push(KvEntry::new("Id", s.id.to_string()).tone(Tone::Muted));
    rows
}

fn whm_rows(s: &Server, test: &Test) -> Vec<KvEntry<'static>> {
    let tls = s.tls();
    let tls_tone = if tls.verifies() { Tone::Success } else { Tone::Warning };
    let mut rows = vec![
        KvEntry::new("URL", s.whm_url.clone().unwrap_or_else(|| "—".into())),
        KvEntry::new("API user", s.api_user.clone().unwrap_or_else(|| "—".into())),
        KvEntry::new("API token", if s.token_set { "set" } else { "not set" }.to_owned()).tone(if s.token_set {
            Tone::Success
        } else {
            Tone::Warning
        }),
        KvEntry::new("TLS", tls.describe()).tone(tls_tone),
        KvEntry::new("WHM version", s.whm_version.clone().unwrap_or_else(|| "—".into())),
        KvEntry::new("Accounts", s.accounts_count.to_string()),
        KvEntry::new("Last test", time(&s.last_test_at)),
    ];
    match test {
        Test::Waiting(id) => rows.push(
            KvEntry::new(
                "Test",
                format!("waiting for a worker (job {})", backend::ids::short(*id)),
            )
            .tone(Tone::Info),
        ),
        Test::Failed(m) => rows.push(KvEntry::new("Test", m.clone()).tone(Tone::Error)),
        Test::Idle => match (&s.last_test_at, &s.last_test_error) {
            (Some(_), Some(e)) => rows.push(KvEntry::new("Test", e.clone()).tone(Tone::Error)),
            (Some(_), None) => rows.push(KvEntry::new("Test", "ok".to_owned()).tone(Tone::Success)),
            _ => rows.push(KvEntry::new("Test", "never run: press v".to_owned()).tone(Tone::Muted)),
        },
    }
    rows
}

fn spark(f: &mut Frame, area: Rect, title: &str, data: &[u64], latest: String, theme: &Theme) {
    let [label, chart] = Layout::horizontal([Constraint::Length(22), Constraint::Fill(1)]).areas(area);
    f.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(title.to_owned(), theme.title)),
            Line::from(Span::styled(latest, theme.base)),
        ]),
        label,
    );
    f.render_widget(Sparkline::default().data(data).style(theme.accent), chart);
}

fn draw_metrics(f: &mut Frame, area: Rect, v: &ServerView, theme: &Theme) {
    let block = theme
        .block(true)
        .title(theme.title_line("Last 48 hours", usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let pts: Vec<_> = v.points.iter().filter(|p| p.load_1.is_some()).collect();
    if pts.is_empty() {
        f.render_widget(
            Paragraph::new("No points yet: the poller (servers.poll) records one a minute.").style(theme.muted),
            inner,
        );
        return;
    }
    // Most recent points that fit the chart's width.
    let width = usize::from(inner.width.saturating_sub(22)).max(1);
    let tail = &pts[pts.len().saturating_sub(width)..];
    let last = tail[tail.len() - 1];
    let series = |f: &dyn Fn(&backend::hosting::metrics::Point) -> Option<f64>| -> Vec<u64> {
        tail.iter().map(|p| (f(p).unwrap_or(0.0).max(0.0)) as u64).collect()
    };
    let rows = Layout::vertical([Constraint::Length(3); 4]).split(inner);
    spark(
        f,
        rows[0],
        "Load (1 min)",
        &series(&|p| p.load_1.map(|l| l * 100.0)),
        format!("{:.2}", last.load_1.unwrap_or(0.0)),
        theme,
    );
    spark(
        f,
        rows[1],
        "Accounts",
        &series(&|p| p.accounts_count.map(|a| a as f64)),
        last.accounts_count.map(|a| a.to_string()).unwrap_or_default(),
        theme,
    );
    spark(
        f,
        rows[2],
        "Disk used (GB)",
        &series(&|p| p.disk_used_gb.map(|a| a as f64)),
        last.disk_used_gb.map(|a| a.to_string()).unwrap_or_default(),
        theme,
    );
    spark(
        f,
        rows[3],
        "Latency (ms)",
        &series(&|p| p.latency_ms.map(|a| a as f64)),
        last.latency_ms.map(|a| a.to_string()).unwrap_or_default(),
        theme,
    );
}

/// The capacity bars of one server (also the capacity screen's rows).
pub fn capacity_lines(f: &mut Frame, area: Rect, s: &Server, theme: &Theme) {
    let rows = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).split(area);
    let max = s.max_accounts.unwrap_or(0) as f64;
    f.render_widget(
        CapacityBar::new("Accounts", s.accounts_count as f64, max, theme).label_width(9),
        rows[0],
    );
    f.render_widget(
        CapacityBar::new("Disk", s.disk_used_gb as f64, s.disk_total_gb as f64, theme)
            .unit("GB")
            .label_width(9),
        rows[1],
    );
}

fn draw_logs(f: &mut Frame, area: Rect, v: &ServerView, theme: &Theme) {
    let [log, feed] = Layout::vertical([Constraint::Fill(2), Constraint::Fill(1)]).areas(area);
    let lines: Vec<Line> = v
        .log
        .iter()
        .map(|l| {
            Line::from(vec![
                Span::styled(l.at.format("%m-%d %H:%M:%S ").to_string(), theme.muted),
                Span::styled(format!("{:<5} ", l.source), theme.muted),
                Span::styled(format!("{:<22} ", l.what), theme.base),
                Span::styled(l.detail.clone(), theme.tone(tone_for(&l.detail))),
            ])
        })
        .collect();
    let block = theme
        .block(true)
        .title(theme.title_line("Jobs and audit", usize::from(log.width.saturating_sub(2))));
    let text = if lines.is_empty() {
        vec![Line::from(Span::styled("Nothing yet.", theme.muted))]
    } else {
        lines
    };
    f.render_widget(Paragraph::new(text).block(block), log);
    let failures: Vec<Line> = v
        .failures
        .iter()
        .map(|x| {
            Line::from(vec![
                Span::styled(x.at.format("%m-%d %H:%M:%S ").to_string(), theme.muted),
                Span::styled(x.error.clone(), theme.error),
            ])
        })
        .collect();
    let block = theme
        .block(false)
        .title(theme.title_line("Failed polls", usize::from(feed.width.saturating_sub(2))));
    let text = if failures.is_empty() {
        vec![Line::from(Span::styled("No failed polls.", theme.muted))]
    } else {
        failures
    };
    f.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: true }), feed);
}

impl Screen for ServerScreen {
    fn route(&self) -> Route {
        Route::Server {
            key: self.key.clone(),
            tab: self.tab,
        }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn mode(&self) -> Mode {
        if self.edit.is_some() {
            return Mode::Form;
        }
        // The WHM tab's `v` (the audit table's key) runs the connection test.
        if self.tab == ServerTab::Whm {
            Mode::Audit
        } else {
            Mode::List
        }
    }

    fn dialog(&self) -> Option<Dialog> {
        self.edit.as_ref().map(|_| Dialog::Form)
    }

    fn accept_label(&self) -> Option<&'static str> {
        self.edit.as_ref().map(|_| "save")
    }

    fn keys(&self) -> Keys {
        if self.edit.is_some() {
            return Keys::new().with(TABS);
        }
        let k = Keys::new()
            .with(TABS)
            .with(&[Action::Refresh])
            .labelled(Action::Edit, "edit");
        if self.tab == ServerTab::Whm && self.server().is_some_and(Server::speaks_whm) {
            k.labelled(Action::Verify, "test connection")
        } else {
            k
        }
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        matches!(a, Action::Verify | Action::Edit).then_some(Permission::ServersManage)
    }

    fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        Some((ServerTab::ALL.iter().map(|t| t.title()).collect(), self.tab.index()))
    }

    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        // Watch the test's job until a worker has finished it (one read in flight at a time).
        if let Test::Waiting(id) = self.test {
            if !self.watching {
                self.watching = true;
                ctx.load("watch", move |env| async move {
                    Watched(backend::jobs::admin::get(&env.db, &env.actor, &id.to_string()).await)
                });
            }
        }
        false
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(form) = &mut self.edit {
            let taken = form.on_action(a, ctx);
            if form.done {
                self.edit = None;
            }
            return taken;
        }
        match a {
            Action::Edit => {
                if let Some(s) = self.server() {
                    self.edit = Some(ServerForm::edit(s));
                }
            }
            Action::NextTab | Action::Right => self.switch(1),
            Action::PrevTab | Action::Left => self.switch(-1),
            Action::Refresh => self.reload(ctx),
            Action::Verify if self.tab == ServerTab::Whm => self.start_test(ctx),
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if let Some(form) = &mut self.edit {
            form.on_input(key, ctx);
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Loaded>() {
            Ok(r) => {
                match r.0 {
                    Ok(v) => {
                        self.key = v.server.name.clone();
                        self.view = Some(v);
                        self.error = None;
                    }
                    Err(e) => {
                        self.error = Some(e.to_string());
                        ctx.emit(Action::FlashError(e.to_string()));
                    }
                }
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<Queued>() {
            Ok(r) => {
                match r.0 {
                    Ok((_, job)) => {
                        self.test = Test::Waiting(job.id);
                        ctx.emit(Action::Flash(format!(
                            "connection test queued as job {}",
                            backend::ids::short(job.id)
                        )));
                    }
                    Err(e) => ctx.emit(Action::FlashError(e.to_string())),
                }
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<Watched>() {
            Ok(r) => r,
            Err(m) => {
                if let Some(form) = &mut self.edit {
                    form.apply(_slot, m, ctx);
                    if form.done {
                        self.edit = None;
                        self.reload(ctx);
                    }
                }
                return;
            }
        };
        {
            let r = msg;
            self.watching = false;
            match r.0 {
                Ok(job) if job.status == "succeeded" => {
                    self.test = Test::Idle;
                    self.reload(ctx);
                }
                Ok(job) if matches!(job.status.as_str(), "dead" | "cancelled" | "failed") => {
                    self.test = Test::Failed(format!(
                        "job {} ended {}: {}",
                        backend::ids::short(job.id),
                        job.status,
                        job.last_error.unwrap_or_default()
                    ));
                }
                Ok(_) => {}
                Err(e) => self.test = Test::Failed(e.to_string()),
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(v) = &self.view else {
            let msg = self
                .error
                .clone()
                .unwrap_or_else(|| format!("Loading server {}…", self.key));
            return crate::screens::notice(f, area, "Server", &msg, theme.muted, theme);
        };
        let s = &v.server;
        let title = format!("{} · {} · {}", s.name, s.region, s.status);
        match self.tab {
            ServerTab::Overview => {
                let rows = overview_rows(v);
                f.render_widget(KeyValuePanel::new(&rows, theme).title(&title).focused(true), area);
            }
            ServerTab::Metrics => draw_metrics(f, area, v, theme),
            ServerTab::Whm => {
                let rows = whm_rows(s, &self.test);
                f.render_widget(KeyValuePanel::new(&rows, theme).title(&title).focused(true), area);
            }
            ServerTab::Capacity => {
                let block = theme
                    .block(true)
                    .title(theme.title_line(&title, usize::from(area.width.saturating_sub(2))));
                let inner = block.inner(area);
                f.render_widget(block, area);
                capacity_lines(f, inner, s, theme);
            }
            ServerTab::Logs => draw_logs(f, area, v, theme),
        }
        if let Some(form) = &mut self.edit {
            form.draw(f, area, theme);
        }
    }
}
