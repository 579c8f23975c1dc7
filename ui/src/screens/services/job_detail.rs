//! One job in a popup (Enter on a running job or a failure): its fields, payload and error
//! history, read with `jobs::admin::get`.

use backend::jobs::{admin, Job};
use backend::ServiceError;
use chrono::{DateTime, Utc};
use ratatui::layout::{Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;
use uuid::Uuid;
use widgets::{KeyValuePanel, KvEntry, Theme};

use crate::screens::common::browse::tone_for;
use crate::screens::Ctx;

pub const SLOT: &str = "job-detail";

/// The job read for the popup, or why not.
pub struct Loaded(Result<Job, ServiceError>);

/// Reads job `id` for the popup (its answer goes to [`JobDetail::arrived`]).
pub fn load(ctx: &mut Ctx, id: Uuid) {
    let id = id.to_string();
    ctx.load(SLOT, move |env| async move {
        Loaded(admin::get(&env.db, &env.actor, &id).await)
    });
}

pub struct JobDetail {
    pub id: Uuid,
    pub job: Option<Job>,
    pub error: Option<String>,
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "—".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// `#2 14:03:12 transient  WHM API timeout`, one per failed attempt, oldest first.
fn history(v: &Value) -> Vec<String> {
    let Some(items) = v.as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .map(|e| {
            let field = |k: &str| match e.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let at = field("at");
            let at = DateTime::parse_from_rfc3339(&at).map_or(at, |t| t.format("%H:%M:%S").to_string());
            let head: Vec<String> = [format!("#{}", field("attempt")), at, field("kind")]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect();
            format!("{}  {}", head.join(" "), field("error"))
        })
        .collect()
}

impl JobDetail {
    /// The job came back: shown if it is still the one asked for.
    pub fn arrived(&mut self, Loaded(r): Loaded) {
        match r {
            Ok(job) if job.id == self.id => self.job = Some(job),
            Ok(_) => {}
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn loading(id: Uuid) -> JobDetail {
        JobDetail {
            id,
            job: None,
            error: None,
        }
    }

    fn entries(j: &Job) -> Vec<KvEntry<'static>> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
        vec![
            KvEntry::new("id", j.id.to_string()),
            KvEntry::new("queue", j.queue.clone()),
            KvEntry::new("kind", j.kind.clone()),
            KvEntry::new("status", j.status.clone()).tone(tone_for(&j.status)),
            KvEntry::new("attempts", format!("{} of {}", j.attempts, j.max_attempts)),
            KvEntry::new("run at", time(Some(j.run_at))),
            KvEntry::new("created", format!("{} by {}", time(Some(j.created_at)), j.enqueued_by)),
            KvEntry::new("started", time(j.started_at)),
            KvEntry::new("finished", time(j.finished_at)),
            KvEntry::new("worker", opt(&j.locked_by)),
            KvEntry::new("unique key", opt(&j.unique_key)),
            KvEntry::new("payload", j.payload.to_string()),
        ]
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let frame = crate::chrome::popup_frame(f);
        let width = frame.width.saturating_sub(4).min(96);
        let height = frame.height.saturating_sub(2).min(26);
        let area = widgets::popup_area(frame, width, height);
        f.render_widget(Clear, area);
        let title = format!("Job {}", crate::screens::services::queues::model::short_id(&self.id));
        let block = theme
            .popup_block()
            .title(theme.title_line(&title, usize::from(area.width.saturating_sub(2))))
            .title_bottom(Line::styled(" Esc close ", theme.muted).right_aligned());
        let inner = block.inner(area).inner(Margin::new(1, 0));
        f.render_widget(block, area);
        let Some(job) = &self.job else {
            let (text, style) = match &self.error {
                Some(e) => (e.as_str(), theme.error),
                None => ("Loading…", theme.muted),
            };
            f.render_widget(Paragraph::new(text.to_owned()).style(style), inner);
            return;
        };
        let entries = Self::entries(job);
        let kv = KeyValuePanel::new(&entries, theme).bordered(false);
        let kv_h = kv.required_height().min(inner.height);
        f.render_widget(kv, Rect { height: kv_h, ..inner });
        let rest = Rect {
            y: inner.y + kv_h,
            height: inner.height - kv_h,
            ..inner
        };
        let mut lines = vec![Line::default(), Line::styled("Error history", theme.header)];
        let past = history(&job.error_history);
        if past.is_empty() {
            lines.push(Line::styled("no failed attempts", theme.muted));
        }
        // Newest first: what went wrong last matters most in a small popup.
        lines.extend(past.into_iter().rev().map(|l| Line::from(Span::styled(l, theme.error))));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_lines() {
        let v = serde_json::json!([
            {"attempt": 1, "at": "2025-03-01T14:03:12Z", "kind": "transient", "error": "timeout"},
            {"attempt": 2, "error": "gone"}
        ]);
        assert_eq!(history(&v), ["#1 14:03:12 transient  timeout", "#2  gone"]);
        assert!(history(&Value::Null).is_empty());
    }
}
