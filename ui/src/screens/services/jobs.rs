//! The job list (`services/jobs`, `:jobs`): every job, newest first, in keyset pages, narrowed
//! by status (`f` cycles) and by queue or kind (`/`: a name with a dot is a kind); retry,
//! cancel and the detail popup as on the queue screen. This is where a plain queued job (one
//! that never failed, so not in the failure feed) is cancelled.

use backend::jobs::admin::{self, JobQuery};
use backend::jobs::Job;
use backend::page::Page;
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::services::job_confirm::{self, JobAction, JobConfirm, Target};
use crate::screens::services::job_detail::{self, JobDetail};
use crate::screens::services::queues::model::short_id;
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen};
use crate::tasks::Msg;

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

/// Reads job pages narrowed by status and by the filter line (a queue, or a kind with a dot).
#[derive(Default)]
pub struct Jobs {
    pub status: Option<&'static str>,
}

impl Source for Jobs {
    type Page = Page<Job>;

    fn read(&self, q: &Query) -> Result<Read<Page<Job>>, String> {
        let (queue, kind) = match q.filter.clone() {
            Some(t) if t.contains('.') => (None, Some(t)),
            other => (other, None),
        };
        let q = JobQuery {
            queue,
            kind,
            status: self.status.map(str::to_owned),
            limit: q.limit,
            at: q.at.clone(),
        };
        Ok(Box::new(move |env| {
            async move { admin::list(&env.db, &env.actor, &q).await }.boxed()
        }))
    }
}

pub struct JobsList {
    pub list: List<Jobs>,
    pub modal: Option<JobConfirm>,
    pub detail: Option<JobDetail>,
}

impl Default for JobsList {
    fn default() -> Self {
        JobsList {
            list: List::new(PAGE, Jobs::default(), FilterMode::Live),
            modal: None,
            detail: None,
        }
    }
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
        self.list.reload(ctx);
    }

    fn dialog(&self) -> Option<Dialog> {
        self.modal.is_some().then_some(Dialog::Confirm { fields: false })
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Retry | Action::CancelJob).then_some(backend::authz::Permission::JobsManage)
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(&self.list.keys())
            .with(&[Action::Open, Action::Retry, Action::CancelJob, Action::NextStatus])
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() {
            Mode::Form
        } else {
            self.list.mode(Mode::Jobs)
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
        if self.list.on_action(a, ctx) {
            return true;
        }
        match a {
            Action::NextStatus => {
                let status = &mut self.list.source.status;
                let i = STATUSES.iter().position(|s| s == status).unwrap_or(0);
                *status = STATUSES[(i + 1) % STATUSES.len()];
                self.list.restart(ctx, false);
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
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.list.on_input(key, ctx);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Some(msg) = self.list.apply(msg, ctx) else { return };
        let msg = match msg.downcast::<job_confirm::Changed>() {
            Ok(r) => {
                let Some(m) = self.modal.take() else { return };
                match r.0 {
                    Ok(_) => {
                        ctx.emit(Action::Flash(m.done_message()));
                        self.list.reload(ctx);
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
        let area = self.list.frame(f, area, theme);
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
            .list
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
        let nothing = "No job matches: f changes the status, Esc clears the filter.";
        let empty = if self.list.source.status.is_some() {
            self.list.empty_text(|_| nothing.to_owned(), nothing)
        } else {
            self.list.empty_text(|_| nothing.to_owned(), "No jobs yet.")
        };
        let title = match self.list.source.status {
            Some(s) => format!("Jobs · {s}"),
            None => "Jobs".to_owned(),
        };
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty)
            .focused(self.modal.is_none() && self.detail.is_none());
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
        if let Some(d) = &self.detail {
            d.draw(f, theme);
        }
        if let Some(m) = &self.modal {
            m.draw(f, theme);
        }
    }
}

impl JobsList {
    /// Opens the detail popup of job `id` (reached by id from the palette).
    pub fn open_job(&mut self, id: uuid::Uuid, ctx: &mut Ctx) {
        self.detail = Some(JobDetail::loading(id));
        job_detail::load(ctx, id);
    }

    pub fn rows(&self) -> &[Job] {
        self.list.items()
    }

    fn selected(&self) -> Option<&Job> {
        self.rows().get(self.list.selected())
    }

    fn act(&mut self, action: JobAction, job: Option<Target>, ctx: &mut Ctx) {
        if let Some(t) = job {
            self.modal = JobConfirm::open(action, t, ctx);
        }
    }

    pub fn footer(&self) -> String {
        let status = self.list.source.status.unwrap_or("any status");
        format!("{} · {status} (f)", self.list.rows_text("no rows"))
    }
}
