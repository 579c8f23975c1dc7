//! The job list (`services/jobs`, `:jobs`): every job, newest first, in keyset pages, narrowed
//! by status (`f` cycles) and by queue or kind (`/`: a name with a dot is a kind); retry,
//! cancel and the detail popup as on the queue screen. This is where a plain queued job (one
//! that never failed, so not in the failure feed) is cancelled.

use backend::jobs::admin::{self, JobQuery};
use backend::jobs::Job;
use backend::page::{Page, PageAt};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::filter::FilterLine;
use crate::screens::common::paging::{Move, Paging};
use crate::screens::services::job_confirm::{self, JobAction, JobConfirm, Target};
use crate::screens::services::job_detail::{self, JobDetail};
use crate::screens::services::queues::model::short_id;
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen, LISTING};
use crate::tasks::Msg;

/// A page of jobs, or why not.
struct Loaded(Result<Page<Job>, ServiceError>);

const PAGE: &str = "jobs";
/// `f` walks these; `None` is every status.
const STATUSES: [Option<&str>; 7] = [
    None,
    Some("queued"),
    Some("running"),
    Some("failed"),
    Some("dead"),
    Some("cancelled"),
    Some("succeeded"),
];

#[derive(Default)]
pub struct JobsList {
    pub page: Option<Page<Job>>,
    pub error: Option<String>,
    pub status: Option<&'static str>,
    pub filter: FilterLine,
    pub paging: Paging,
    pub modal: Option<JobConfirm>,
    pub detail: Option<JobDetail>,
}

fn target(j: &Job) -> Target {
    Target {
        id: j.id,
        queue: j.queue.clone(),
        kind: j.kind.clone(),
        status: j.status.clone(),
    }
}

impl Screen for JobsList {
    fn route(&self) -> Route {
        page_route("services/jobs")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn dialog(&self) -> Option<Dialog> {
        self.modal.is_some().then_some(Dialog::Confirm { fields: false })
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(LISTING)
            .with(&[Action::Open, Action::Retry, Action::CancelJob, Action::NextStatus])
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() {
            Mode::Form
        } else if self.filter.editing {
            Mode::Text
        } else {
            Mode::Jobs
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if !m.on_action(a, ctx) {
                self.modal = None;
            }
            return true;
        }
        if let Some(d) = &self.detail {
            match (a, JobAction::of(a)) {
                (_, Some(action)) => {
                    let t = d.job.as_ref().map(target);
                    self.act(action, t, ctx);
                }
                (Action::Back | Action::Close | Action::Open, _) => self.detail = None,
                _ => {}
            }
            return true;
        }
        if let Some(action) = JobAction::of(a) {
            let t = self.selected().map(target);
            self.act(action, t, ctx);
            return true;
        }
        if self.paging.on_move(a, self.rows().len()) {
            return true;
        }
        match a {
            Action::NextPage | Action::PrevPage => {
                if let Some((at, how)) = self.page.as_ref().and_then(|p| Paging::turn(a, p)) {
                    self.fetch(ctx, at, how, false);
                }
            }
            Action::NextStatus => {
                let i = STATUSES.iter().position(|s| *s == self.status).unwrap_or(0);
                self.status = STATUSES[(i + 1) % STATUSES.len()];
                self.fetch(ctx, PageAt::First, Move::First, false);
            }
            // One panel here: Tab keeps walking the section's tabs.
            Action::NextPanel => ctx.emit(Action::NextTab),
            Action::PrevPanel => ctx.emit(Action::PrevTab),
            Action::Open => {
                if let Some(id) = self.selected().map(|j| j.id) {
                    self.detail = Some(JobDetail::loading(id));
                    job_detail::load(ctx, id);
                }
            }
            Action::Refresh => self.reload(ctx),
            Action::Filter => self.filter.start(),
            Action::Accept if self.filter.editing => self.filter.accept(),
            Action::Close if self.filter.editing => {
                if self.filter.cancel() {
                    self.fetch(ctx, PageAt::First, Move::First, false);
                }
            }
            Action::Back if self.filter.value().is_some() => {
                self.filter.cancel();
                self.fetch(ctx, PageAt::First, Move::First, false);
            }
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if self.filter.editing && self.filter.input(key) {
            self.fetch(ctx, PageAt::First, Move::First, true);
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Loaded>() {
            Ok(m) => {
                match m.0 {
                    Ok(p) => {
                        self.paging.arrived(&p);
                        self.error = None;
                        self.page = Some(p);
                    }
                    Err(e) => {
                        ctx.emit(Action::FlashError(e.to_string()));
                        self.error = Some(e.to_string());
                    }
                }
                return;
            }
            Err(m) => m,
        };
        let msg = match msg.downcast::<job_confirm::Changed>() {
            Ok(r) => {
                let Some(m) = self.modal.take() else { return };
                match r.0 {
                    Ok(_) => {
                        ctx.emit(Action::Flash(m.done_message()));
                        self.reload(ctx);
                        if let Some(d) = &self.detail {
                            job_detail::load(ctx, d.id);
                        }
                    }
                    Err(e) => {
                        let id = short_id(&m.target.id);
                        ctx.emit(Action::FlashError(format!("job {id}: {e}")));
                    }
                }
                return;
            }
            Err(m) => m,
        };
        if let (Ok(r), Some(d)) = (msg.downcast::<job_detail::Loaded>(), self.detail.as_mut()) {
            d.arrived(*r);
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.filter.draw_above(f, area, theme);
        self.paging.set_viewport(area);
        let columns = [
            Column::new("ID", Constraint::Length(8)),
            Column::new("QUEUE", Constraint::Length(14)).priority(3),
            Column::new("KIND", Constraint::Fill(2)).priority(3),
            Column::new("STATUS", Constraint::Length(9)).priority(4),
            Column::new("TRY", Constraint::Length(5)).right().priority(2),
            // On narrow terminals the error says more than the creation time.
            Column::new("CREATED", Constraint::Length(16)),
            Column::new("LAST ERROR", Constraint::Fill(3)).priority(1),
        ];
        let rows: Vec<DataRow> = self
            .page
            .iter()
            .flat_map(|p| &p.items)
            .map(|j| {
                DataRow::new([
                    DataCell::styled(short_id(&j.id), Tone::Muted),
                    DataCell::new(j.queue.as_str()),
                    DataCell::new(j.kind.as_str()),
                    DataCell::styled(j.status.as_str(), tone_for(&j.status)),
                    DataCell::new(format!("{}/{}", j.attempts, j.max_attempts)),
                    DataCell::styled(j.created_at.format("%Y-%m-%d %H:%M").to_string(), Tone::Muted),
                    DataCell::new(j.last_error.as_deref().unwrap_or("")),
                ])
            })
            .collect();
        let footer = self.footer();
        let empty = match (&self.error, &self.page) {
            (Some(e), _) => e.clone(),
            (None, None) => "Loading…".to_owned(),
            (None, Some(_)) if self.status.is_some() || self.filter.value().is_some() => {
                "No job matches: f changes the status, Esc clears the filter.".to_owned()
            }
            (None, Some(_)) => "No jobs yet.".to_owned(),
        };
        let title = match self.status {
            Some(s) => format!("Jobs · {s}"),
            None => "Jobs".to_owned(),
        };
        let table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty)
            .focused(self.modal.is_none() && self.detail.is_none());
        f.render_stateful_widget(table, area, &mut self.paging.state);
        if let Some(d) = &self.detail {
            d.draw(f, theme);
        }
        if let Some(m) = &self.modal {
            m.draw(f, theme);
        }
    }
}

impl JobsList {
    pub fn rows(&self) -> &[Job] {
        self.page.as_ref().map_or(&[], |p| p.items.as_slice())
    }

    fn selected(&self) -> Option<&Job> {
        self.rows().get(self.paging.selected())
    }

    fn query(&self, ctx: &Ctx, at: PageAt) -> JobQuery {
        let text = self.filter.value();
        let (queue, kind) = match text {
            Some(t) if t.contains('.') => (None, Some(t)),
            other => (other, None),
        };
        JobQuery {
            queue,
            kind,
            status: self.status.map(str::to_owned),
            limit: ctx.page_size,
            at,
        }
    }

    fn fetch(&mut self, ctx: &mut Ctx, at: PageAt, how: Move, debounce: bool) {
        let q = self.query(ctx, at.clone());
        self.paging.fetching(at, how);
        let call = |env: crate::tasks::Env| async move { Loaded(admin::list(&env.db, &env.actor, &q).await) };
        if debounce {
            ctx.debounced(PAGE, call);
        } else {
            ctx.load(PAGE, call);
        }
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        let at = self.paging.at.clone();
        self.fetch(ctx, at, Move::Stay, false);
    }

    fn act(&mut self, action: JobAction, job: Option<Target>, ctx: &mut Ctx) {
        if let Some(t) = job {
            self.modal = JobConfirm::open(action, t, ctx);
        }
    }

    pub fn footer(&self) -> String {
        let status = self.status.unwrap_or("any status");
        let rows = match &self.page {
            None => "loading…".to_owned(),
            Some(p) if p.items.is_empty() => "no rows".to_owned(),
            Some(p) => {
                let more = if p.has_next { " · more ]" } else { "" };
                format!("{}{more}", self.paging.rows_label(p.items.len()))
            }
        };
        format!("{rows} · {status} (f)")
    }
}
