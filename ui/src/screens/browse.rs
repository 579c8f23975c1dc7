//! Generic table screens over `backend::browse` views: real rows, keyset pages, `/` filter,
//! and an honest empty state. Also embedded in the tenant detail (its billing tab).

use backend::browse::{BrowseQuery, Table};
use backend::db::Cell;
use backend::page::PageAt;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use uuid::Uuid;
use widgets::{Column, DataCell, DataRow, DataTable, TableState, Theme, Tone};

use super::filter::FilterLine;
use super::{Ctx, Mode};
use crate::action::Action;
use crate::router::Page;
use crate::tasks::{Reply, Request};

pub const NOT_AVAILABLE: &str = "This view is not available in this build.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    First,
    Next(usize),
    Prev,
}

pub struct BrowseState {
    pub view_key: &'static str,
    pub title: String,
    available: bool,
    tenant: Option<Uuid>,
    pub table: Option<Table>,
    pub error: Option<String>,
    pub state: TableState,
    pub filter: FilterLine,
    at: PageAt,
    pending: Move,
    /// Rows before this page (for "rows X–Y").
    offset: usize,
    viewport: usize,
}

impl BrowseState {
    pub fn new(view_key: &'static str, title: String, tenant: Option<Uuid>) -> BrowseState {
        BrowseState {
            view_key,
            title,
            available: backend::browse::view(view_key).is_some(),
            tenant,
            table: None,
            error: None,
            state: TableState::default().with_selected(Some(0)),
            filter: FilterLine::default(),
            at: PageAt::First,
            pending: Move::First,
            offset: 0,
            viewport: 10,
        }
    }

    pub fn mode(&self) -> Mode {
        if self.filter.editing {
            Mode::Text
        } else {
            Mode::List
        }
    }

    fn request(&self, ctx: &Ctx, at: PageAt) -> Request {
        Request::Browse {
            view: self.view_key.to_owned(),
            query: BrowseQuery {
                filter: self.filter.value(),
                tenant: self.tenant,
                limit: ctx.page_size,
                at,
            },
        }
    }

    fn fetch(&mut self, ctx: &mut Ctx, at: PageAt, how: Move, debounce: bool) {
        if !self.available {
            return;
        }
        self.pending = how;
        let req = self.request(ctx, at.clone());
        self.at = at;
        if debounce {
            ctx.debounced("browse", req);
        } else {
            ctx.load("browse", req);
        }
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        let at = self.at.clone();
        let how = if at == PageAt::First {
            Move::First
        } else {
            Move::Next(0)
        };
        self.fetch(ctx, at, how, false);
    }

    fn len(&self) -> usize {
        self.table.as_ref().map_or(0, |t| t.rows.len())
    }

    fn select(&mut self, i: isize) {
        let max = self.len().saturating_sub(1) as isize;
        self.state.select(Some(i.clamp(0, max) as usize));
    }

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        let sel = self.state.selected().unwrap_or(0) as isize;
        let half = (self.viewport / 2).max(1) as isize;
        match a {
            Action::Down => self.select(sel + 1),
            Action::Up => self.select(sel - 1),
            Action::Top => self.select(0),
            Action::Bottom => self.select(isize::MAX / 2),
            Action::HalfPageDown => self.select(sel + half),
            Action::HalfPageUp => self.select(sel - half),
            Action::NextPage => {
                let Some(t) = &self.table else { return true };
                if let (true, Some(last)) = (t.has_next, t.last.clone()) {
                    let n = t.rows.len();
                    self.fetch(ctx, PageAt::After(last), Move::Next(n), false);
                }
            }
            Action::PrevPage => {
                let Some(t) = &self.table else { return true };
                if let (true, Some(first)) = (t.has_prev, t.first.clone()) {
                    self.fetch(ctx, PageAt::Before(first), Move::Prev, false);
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

    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if self.filter.editing && self.filter.input(key) {
            self.fetch(ctx, PageAt::First, Move::First, true);
        }
    }

    pub fn apply(&mut self, reply: Reply, ctx: &mut Ctx) {
        let Reply::Table(result) = reply else { return };
        match result {
            Ok(t) => {
                self.offset = match self.pending {
                    Move::First => 0,
                    Move::Next(n) => self.offset + n,
                    Move::Prev if !t.has_prev => 0,
                    Move::Prev => self.offset.saturating_sub(t.rows.len()),
                };
                self.pending = Move::Next(0);
                self.error = None;
                self.table = Some(t);
                self.select(0);
            }
            Err(e) => {
                ctx.emit(Action::FlashError(e.to_string()));
                self.error = Some(e.to_string());
            }
        }
    }

    pub fn footer(&self) -> String {
        let Some(t) = &self.table else {
            return "loading…".to_owned();
        };
        if t.rows.is_empty() {
            return "no rows".to_owned();
        }
        let more = if t.has_next { " · more ]" } else { "" };
        format!("rows {}–{}{more}", self.offset + 1, self.offset + t.rows.len())
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = if self.filter.visible() {
            let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
            self.filter.draw(f, line, theme);
            rest
        } else {
            area
        };
        self.viewport = DataTable::visible_rows(area);
        let (columns, rows) = match &self.table {
            Some(t) => table_parts(t),
            None => (Vec::new(), Vec::new()),
        };
        let filtered_empty;
        let empty = if !self.available {
            NOT_AVAILABLE
        } else if let Some(e) = &self.error {
            e.as_str()
        } else if let Some(t) = &self.table {
            match self.filter.value() {
                Some(v) => {
                    filtered_empty = format!("No rows match the filter \"{v}\".");
                    filtered_empty.as_str()
                }
                None => t.empty,
            }
        } else {
            "Loading…"
        };
        let footer = self.footer();
        let title = self.title.clone();
        let mut table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .empty_message(empty);
        if self.available {
            table = table.footer(&footer);
        }
        f.render_stateful_widget(table, area, &mut self.state);
    }
}

/// Columns sized to their content (capped), and rows of display text with status tones.
fn table_parts(t: &Table) -> (Vec<Column<'static>>, Vec<DataRow<'static>>) {
    let rows: Vec<Vec<String>> = t.rows.iter().map(|r| r.iter().map(Cell::to_string).collect()).collect();
    let columns = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let widest = rows
                .iter()
                .filter_map(|r| r.get(i))
                .map(|s| widgets::text::width(s))
                .chain([widgets::text::width(c.title)])
                .max()
                .unwrap_or(4)
                .clamp(4, 36);
            let col = Column::new(c.title, Constraint::Length(u16::try_from(widest).unwrap_or(36)));
            if c.numeric {
                col.right()
            } else {
                col
            }
        })
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            DataRow::new(r.into_iter().map(|s| {
                let tone = tone_for(&s);
                DataCell::styled(s, tone)
            }))
        })
        .collect();
    (columns, rows)
}

/// Colour for status words, so failures stand out in any table.
pub fn tone_for(text: &str) -> Tone {
    match text {
        "active" | "paid" | "online" | "success" | "succeeded" | "valid" | "issued" | "resolved" | "won" => {
            Tone::Success
        }
        "failed" | "error" | "offline" | "overdue" | "expired" | "aborted" | "lost" | "critical" => Tone::Error,
        "pending" | "queued" | "running" | "degraded" | "suspended" | "validating" | "open" | "retrying" => {
            Tone::Warning
        }
        "cancelled" | "terminated" | "—" => Tone::Muted,
        _ => Tone::Normal,
    }
}

/// A sitemap page showing one view.
pub struct BrowseScreen {
    pub page: &'static Page,
    pub state: BrowseState,
}

impl BrowseScreen {
    pub fn new(page: &'static Page) -> BrowseScreen {
        let key = page.view.unwrap_or("");
        let title = backend::browse::view(key).map_or(page.title, |v| v.title).to_owned();
        BrowseScreen {
            page,
            state: BrowseState::new(key, title, None),
        }
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        self.state.draw(f, area, theme);
    }
}
