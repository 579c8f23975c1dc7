//! One audit row in a popup (Enter on the audit log): its fields, its place in the hash
//! chain and the before/after diff from `audit::diff` (secrets already redacted); and the
//! result of `v` (verify the chain).

use backend::audit::{AuditRecord, VerifyReport};
use backend::ServiceError;
use ratatui::layout::Margin;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;
use widgets::Theme;

pub struct AuditDetail {
    pub seq: i64,
    pub record: Option<AuditRecord>,
    pub error: Option<String>,
    offset: u16,
}

/// How one path changed, for the diff lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// `(change, path, text)` per differing path, in path order.
pub fn diff_lines(r: &AuditRecord) -> Vec<(Change, String, String)> {
    let show = |v: &Value| match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    backend::audit::diff(r.before.as_ref(), r.after.as_ref())
        .into_iter()
        .map(|(path, old, new)| match (&old, &new) {
            (Value::Null, _) => (Change::Added, path, show(&new)),
            (_, Value::Null) => (Change::Removed, path, show(&old)),
            _ => (Change::Changed, path, format!("{} → {}", show(&old), show(&new))),
        })
        .collect()
}

impl AuditDetail {
    pub fn loading(seq: i64) -> AuditDetail {
        AuditDetail {
            seq,
            record: None,
            error: None,
            offset: 0,
        }
    }

    pub fn arrived(&mut self, r: Result<Box<AuditRecord>, ServiceError>) {
        match r {
            Ok(rec) if rec.seq == self.seq => self.record = Some(*rec),
            Ok(_) => {}
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    pub fn scroll(&mut self, by: i32) {
        let next = i32::from(self.offset) + by;
        self.offset = u16::try_from(next.max(0)).unwrap_or(u16::MAX);
    }

    fn lines<'a>(r: &'a AuditRecord, theme: &Theme) -> Vec<Line<'a>> {
        let field =
            |k: &'a str, v: String| Line::from(vec![Span::styled(format!("{k:<10} "), theme.muted), Span::raw(v)]);
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
        let mut out = vec![
            field("seq", r.seq.to_string()),
            field("at", r.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            field("actor", format!("{} ({})", r.actor_name, r.actor_role)),
            field(
                "tenant",
                r.tenant_id.map_or_else(|| "— (platform)".to_owned(), |t| t.to_string()),
            ),
            field("action", r.action.clone()),
            field("entity", format!("{} {}", r.entity, opt(&r.entity_id))),
            field("source", r.source.clone()),
            field("hash", opt(&r.hash)),
            field("prev hash", opt(&r.prev_hash)),
            Line::default(),
            Line::styled("Changes (before → after)", theme.header),
        ];
        let diff = diff_lines(r);
        if diff.is_empty() {
            out.push(Line::styled("no field changed", theme.muted));
        }
        for (change, path, text) in diff {
            let (mark, style) = match change {
                Change::Added => ("+", theme.success),
                Change::Removed => ("-", theme.error),
                Change::Changed => ("~", theme.warning),
            };
            out.push(Line::from(vec![
                Span::styled(format!("{mark} {path}: "), style),
                Span::raw(text),
            ]));
        }
        out
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let frame = crate::chrome::popup_frame(f);
        let area = widgets::popup_area(
            frame,
            frame.width.saturating_sub(4).min(110),
            frame.height.saturating_sub(2).min(30),
        );
        f.render_widget(Clear, area);
        let block = theme
            .popup_block()
            .title(theme.title_line(
                &format!("Audit row {}", self.seq),
                usize::from(area.width.saturating_sub(2)),
            ))
            .title_bottom(Line::styled(" j/k scroll · Esc close ", theme.muted).right_aligned());
        let inner = block.inner(area).inner(Margin::new(1, 0));
        f.render_widget(block, area);
        let para = match (&self.record, &self.error) {
            (Some(r), _) => Paragraph::new(Self::lines(r, theme)).scroll((self.offset, 0)),
            (None, Some(e)) => Paragraph::new(e.clone()).style(theme.error),
            (None, None) => Paragraph::new("Loading…").style(theme.muted),
        };
        f.render_widget(para.wrap(Wrap { trim: false }), inner);
    }
}

/// `v`: the chain walk, running or done.
pub enum VerifyResult {
    Running,
    Done(Result<VerifyReport, String>),
}

impl VerifyResult {
    pub fn text(&self) -> (String, bool) {
        match self {
            VerifyResult::Running => ("Walking the hash chain…".to_owned(), true),
            VerifyResult::Done(Err(e)) => (e.clone(), false),
            VerifyResult::Done(Ok(r)) if r.ok => (
                format!(
                    "Chain intact: {} rows, head {}.",
                    r.rows,
                    r.head_hash.as_deref().unwrap_or("—")
                ),
                true,
            ),
            VerifyResult::Done(Ok(r)) => {
                let bad = r
                    .first_bad
                    .as_ref()
                    .map_or_else(|| "unknown row".to_owned(), |b| format!("row {}: {}", b.seq, b.reason));
                (format!("Chain BROKEN after {} rows: {bad}", r.rows), false)
            }
        }
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let frame = crate::chrome::popup_frame(f);
        let area = widgets::popup_area(frame, frame.width.saturating_sub(4).min(72), 7);
        f.render_widget(Clear, area);
        let block = theme
            .popup_block()
            .title(theme.title_line("Verify audit chain", usize::from(area.width.saturating_sub(2))))
            .title_bottom(Line::styled(" Esc close ", theme.muted).right_aligned());
        let inner = block.inner(area).inner(Margin::new(1, 0));
        f.render_widget(block, area);
        let (text, good) = self.text();
        let style = if good { theme.base } else { theme.error };
        f.render_widget(Paragraph::new(text).style(style).wrap(Wrap { trim: false }), inner);
    }
}
