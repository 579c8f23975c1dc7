//! The yes/no confirmation for retrying or cancelling a job. Both are easy to undo (a
//! cancelled job can be retried), so no typed name: Enter confirms, Esc cancels. The backend
//! checks the permission and the job's state and audits the change; this modal only asks.

use backend::jobs::{admin, Job};
use backend::ServiceError;
use ratatui::Frame;
use uuid::Uuid;
use widgets::{ConfirmDialog, Theme};

use crate::action::Action;
use crate::screens::services::queues::model::short_id;
use crate::screens::Ctx;

/// A job retried or cancelled, or why not (to the screen that opened the dialog).
pub struct Changed(pub Result<Job, ServiceError>);

pub const SLOT: &str = "job-confirm";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobAction {
    Retry,
    Cancel,
}

impl JobAction {
    pub fn of(a: &Action) -> Option<JobAction> {
        match a {
            Action::Retry => Some(JobAction::Retry),
            Action::CancelJob => Some(JobAction::Cancel),
            _ => None,
        }
    }

    /// The statuses the backend accepts, so the modal is not offered for a job that would
    /// only be refused (the backend checks again: the job may change meanwhile).
    fn applies_to(self, status: &str) -> bool {
        match self {
            JobAction::Retry => matches!(status, "failed" | "dead" | "cancelled"),
            JobAction::Cancel => status == "queued",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            JobAction::Retry => "retried",
            JobAction::Cancel => "cancelled",
        }
    }
}

/// The job a modal is about, as the screen knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: Uuid,
    pub queue: String,
    pub kind: String,
    pub status: String,
}

pub struct JobConfirm {
    pub action: JobAction,
    pub target: Target,
    pub busy: bool,
}

impl JobConfirm {
    /// The modal, or a flash saying why the job cannot take this action.
    pub fn open(action: JobAction, target: Target, ctx: &mut Ctx) -> Option<JobConfirm> {
        if !action.applies_to(&target.status) {
            let why = match action {
                JobAction::Retry => "only failed, dead or cancelled jobs can be retried",
                JobAction::Cancel => "only queued jobs can be cancelled",
            };
            let id = short_id(&target.id);
            ctx.emit(Action::FlashError(format!("job {id} is {}; {why}", target.status)));
            return None;
        }
        Some(JobConfirm {
            action,
            target,
            busy: false,
        })
    }

    /// Accept sends the request; Close/Back means the owner should drop the modal (false).
    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::Close | Action::Back => return false,
            Action::Accept if !self.busy => {
                self.busy = true;
                let id = self.target.id.to_string();
                let action = self.action;
                ctx.load(SLOT, move |env| async move {
                    Changed(match action {
                        JobAction::Retry => admin::retry(&env.db, &env.actor, &id).await,
                        JobAction::Cancel => admin::cancel(&env.db, &env.actor, &id).await,
                    })
                });
            }
            _ => {}
        }
        true
    }

    pub fn done_message(&self) -> String {
        format!("job {} {}", short_id(&self.target.id), self.action.verb())
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let t = &self.target;
        let id = short_id(&t.id);
        let (title, message) = match self.action {
            JobAction::Retry => (
                "Retry job",
                format!(
                    "Put job {id} ({} on {}, {}) back in the queue to run now? It keeps its attempts and error history.",
                    t.kind, t.queue, t.status
                ),
            ),
            JobAction::Cancel => (
                "Cancel job",
                format!(
                    "Cancel queued job {id} ({} on {})? It will not run; it can be retried later.",
                    t.kind, t.queue
                ),
            ),
        };
        let dialog = ConfirmDialog::new(title, &message, "", "", 0, theme).typed(false);
        f.render_widget(dialog, crate::chrome::popup_frame(f));
    }
}
