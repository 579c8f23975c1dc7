//! Drawing the queue screen from its state: depths and throughput on top, running jobs in
//! the middle, the failure feed below. Sizes follow the data and the terminal, from 80×24 up.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Sparkline;
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, TableState, Theme, Tone};

use super::model::{age, short_id, DepthRow};
use super::{Panel, QueuesScreen};
use crate::screens::common::browse::tone_for;
use crate::screens::notice;

/// Width of a column sized to its widest value (and its title), within `lo..=hi`.
fn fit<'a>(title: &'static str, values: impl Iterator<Item = &'a str>, lo: usize, hi: usize) -> Constraint {
    let widest = values
        .map(widgets::text::width)
        .chain([title.len()])
        .max()
        .unwrap_or(lo)
        .clamp(lo, hi);
    Constraint::Length(u16::try_from(widest).unwrap_or(16))
}

/// A table's state for drawing: the selection only shows in the focused panel.
fn shown(state: &TableState, focused: bool) -> TableState {
    if focused {
        *state
    } else {
        TableState::default().with_offset(state.offset())
    }
}

fn count(n: i64, tone: Tone) -> DataCell<'static> {
    if n == 0 {
        DataCell::styled("·", Tone::Muted)
    } else {
        DataCell::styled(n.to_string(), tone)
    }
}

impl QueuesScreen {
    fn title_suffix(&self) -> String {
        match (&self.live_error, self.source) {
            (Some(e), _) => format!("live feed off: {e}"),
            (None, Some("redis")) => "live: redis".to_owned(),
            (None, Some(s)) => format!("live: {s}"),
            (None, None) => "connecting…".to_owned(),
        }
    }

    pub fn draw_screen(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        if self.read_at.is_none() {
            let (text, style) = match &self.error {
                Some(e) => (e.as_str(), theme.error),
                None => ("Loading…", theme.muted),
            };
            return notice(f, area, "Queues", text, style, theme);
        }
        let modal = self.modal.is_some() || self.detail.is_some();
        // The feed matters most, then running jobs: the depths take at most a third or so.
        let depth_h = u16::try_from(self.depths.len().max(1) + 3)
            .unwrap_or(u16::MAX)
            .clamp(5, 14)
            .min((area.height * 35 / 100).max(5));
        let [top, rest] = Layout::vertical([Constraint::Length(depth_h), Constraint::Min(0)]).areas(area);
        let running_h = u16::try_from(self.running.len().max(1) + 3)
            .unwrap_or(u16::MAX)
            .min((rest.height / 2).max(4));
        let [middle, bottom] = Layout::vertical([Constraint::Length(running_h), Constraint::Min(0)]).areas(rest);
        let spark_w = if area.width >= 100 { 36 } else { 26 };
        let [depth, spark] = Layout::horizontal([Constraint::Min(20), Constraint::Length(spark_w)]).areas(top);
        self.draw_depths(f, depth, theme, !modal && self.focus == Panel::Queues);
        self.draw_throughput(f, spark, theme);
        self.draw_running(f, middle, theme, !modal && self.focus == Panel::Running);
        self.draw_failures(f, bottom, theme, !modal && self.focus == Panel::Failures);
        if let Some(d) = &self.detail {
            d.draw(f, theme);
        }
        if let Some(m) = &self.modal {
            m.draw(f, theme);
        }
    }

    fn draw_depths(&mut self, f: &mut Frame, area: Rect, theme: &Theme, focused: bool) {
        let columns = [
            Column::new(
                "QUEUE",
                fit("QUEUE", self.depths.iter().map(|d| d.queue.as_str()), 10, 20),
            ),
            Column::new("QUEUED", Constraint::Length(6)).right().priority(3),
            Column::new("RUNNING", Constraint::Length(7)).right().priority(3),
            Column::new("DONE", Constraint::Length(6)).right().priority(1),
            Column::new("FAILED", Constraint::Length(6)).right().priority(2),
            Column::new("DEAD", Constraint::Length(5)).right().priority(2),
            Column::new("CANCELLED", Constraint::Length(9)).right(),
        ];
        let rows: Vec<DataRow> = self.depths.iter().map(depth_row).collect();
        let title = match &self.error {
            Some(e) => format!("Queues · stale: {e}"),
            None => "Queues".to_owned(),
        };
        let total: i64 = self.depths.iter().map(|d| d.queued).sum();
        let footer = format!("{total} waiting");
        let table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .footer(&footer)
            .empty_message("No jobs yet.")
            .focused(focused);
        let mut state = shown(&self.depth_state, focused);
        f.render_stateful_widget(table, area, &mut state);
        *self.depth_state.offset_mut() = state.offset();
    }

    fn draw_throughput(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        // The rate of the last complete minute: the current one is still filling up.
        let rate = self.throughput.iter().rev().nth(1).copied().unwrap_or(0);
        let peak = self.throughput.iter().copied().max().unwrap_or(0);
        let sum: u64 = self.throughput.iter().sum();
        let room = usize::from(area.width.saturating_sub(2));
        let block = theme
            .block(false)
            .title(theme.title_line(&format!("Throughput · {rate}/min"), room + 2))
            .title_bottom(Line::styled(
                format!(
                    " {} ",
                    widgets::text::truncate(
                        &format!("{} min: {sum} · peak {peak}", self.throughput.len()),
                        room.saturating_sub(2)
                    )
                ),
                theme.muted,
            ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        // The newest minutes that fit, ending at the right edge.
        let skip = self.throughput.len().saturating_sub(usize::from(inner.width));
        let tail = &self.throughput[skip..];
        let offset = u16::try_from(usize::from(inner.width).saturating_sub(tail.len())).unwrap_or(0);
        let spark_area = Rect {
            x: inner.x + offset,
            width: inner.width - offset,
            ..inner
        };
        f.render_widget(
            Sparkline::default().data(tail).max(peak.max(1)).style(theme.accent),
            spark_area,
        );
    }

    fn draw_running(&mut self, f: &mut Frame, area: Rect, theme: &Theme, focused: bool) {
        let ages: Vec<String> = self
            .running
            .iter()
            .map(|j| {
                j.started_at
                    .map_or_else(|| "—".to_owned(), |t| age((self.clock - t).num_seconds()))
            })
            .collect();
        let columns = [
            Column::new("ID", Constraint::Length(8)),
            Column::new(
                "QUEUE",
                fit("QUEUE", self.running.iter().map(|j| j.queue.as_str()), 8, 16),
            )
            .priority(3),
            Column::new(
                "KIND",
                fit("KIND", self.running.iter().map(|j| j.kind.as_str()), 10, 28),
            )
            .priority(3),
            Column::new("TRY", Constraint::Length(5)).right().priority(2),
            Column::new("AGE", Constraint::Length(6)).right().priority(4),
            Column::new("WORKER", Constraint::Fill(1)),
        ];
        let rows: Vec<DataRow> = self
            .running
            .iter()
            .zip(&ages)
            .map(|(j, a)| {
                DataRow::new([
                    DataCell::styled(short_id(&j.id), Tone::Muted),
                    DataCell::new(j.queue.clone()),
                    DataCell::new(j.kind.clone()),
                    DataCell::new(format!("{}/{}", j.attempts, j.max_attempts)),
                    DataCell::styled(a.clone(), Tone::Accent),
                    DataCell::styled(j.locked_by.clone().unwrap_or_default(), Tone::Muted),
                ])
            })
            .collect();
        let title = format!("Running ({})", self.running.len());
        let table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .empty_message("Nothing running.")
            .focused(focused);
        let mut state = shown(&self.running_sel.state, focused);
        f.render_stateful_widget(table, area, &mut state);
        *self.running_sel.state.offset_mut() = state.offset();
    }

    fn draw_failures(&mut self, f: &mut Frame, area: Rect, theme: &Theme, focused: bool) {
        let rows_src = &self.feed.rows;
        // Today's failures by the second; older ones with their date.
        let times: Vec<String> = rows_src
            .iter()
            .map(|r| {
                let fmt = if r.at.date_naive() == self.clock.date_naive() {
                    "%H:%M:%S"
                } else {
                    "%m-%d %H:%M"
                };
                r.at.format(fmt).to_string()
            })
            .collect();
        let columns = [
            Column::new("TIME", fit("TIME", times.iter().map(String::as_str), 8, 11)),
            Column::new("EVENT", Constraint::Length(8)).priority(3),
            Column::new("ID", Constraint::Length(8)),
            Column::new("QUEUE", fit("QUEUE", rows_src.iter().map(|r| r.queue.as_str()), 8, 14)).priority(2),
            Column::new("KIND", fit("KIND", rows_src.iter().map(|r| r.kind.as_str()), 10, 22)).priority(2),
            Column::new("TRY", Constraint::Length(5)).right().priority(1),
            // Below 20 columns an error says nothing: the id column gives way first.
            Column::new("ERROR", Constraint::Min(20)).priority(4),
        ];
        let rows: Vec<DataRow> = rows_src
            .iter()
            .zip(times)
            .map(|(r, time)| {
                let tries = match r.max_attempts {
                    Some(m) => format!("{}/{m}", r.attempt),
                    None => r.attempt.to_string(),
                };
                // What the job is now: waiting for another attempt, failed for good, or moved
                // on (cancelled, running again, succeeded) since it failed.
                let event = match r.status.as_str() {
                    "queued" => "retrying".to_owned(),
                    other => other.to_owned(),
                };
                DataRow::new([
                    DataCell::styled(time, if r.live { Tone::Accent } else { Tone::Muted }),
                    DataCell::styled(event.clone(), tone_for(&event)),
                    DataCell::styled(short_id(&r.job_id), Tone::Muted),
                    DataCell::new(r.queue.clone()),
                    DataCell::new(r.kind.clone()),
                    DataCell::new(tries),
                    DataCell::new(r.error.clone().unwrap_or_default()),
                ])
            })
            .collect();
        let title = format!("Failures · {}", self.title_suffix());
        let footer = match self.feed.live_failures {
            0 => format!("{} jobs", rows.len()),
            n => format!("{} jobs · {n} new since opened", rows.len()),
        };
        let table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .footer(&footer)
            .empty_message("No failed jobs.")
            .focused(focused);
        let mut state = shown(&self.feed_sel.state, focused);
        f.render_stateful_widget(table, area, &mut state);
        *self.feed_sel.state.offset_mut() = state.offset();
    }
}

fn depth_row(d: &DepthRow) -> DataRow<'static> {
    DataRow::new([
        DataCell::new(d.queue.clone()),
        count(d.queued, Tone::Warning),
        count(d.running, Tone::Info),
        count(d.succeeded, Tone::Success),
        count(d.failed, Tone::Error),
        count(d.dead, Tone::Error),
        count(d.cancelled, Tone::Muted),
    ])
}
