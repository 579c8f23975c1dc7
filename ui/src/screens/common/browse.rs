//! Generic table screens over `backend::browse` views: real rows, keyset pages, `/` filter,
//! and an honest empty state. Also embedded in the tenant detail (its billing tab).

use backend::browse::{self, BrowseQuery, Table};
use backend::db::Cell;
use backend::page::PageAt;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use uuid::Uuid;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::{Page, Route};
use crate::screens::common::filter::FilterLine;
use crate::screens::common::paging::{Move, Paging};
use crate::screens::{Ctx, Keys, Mode, Screen, LISTING, TABS};
use crate::tasks::Msg;

/// A page of a view, or why not.
pub struct Loaded(Result<Table, ServiceError>);

const SLOT: &str = "browse";

pub const NOT_AVAILABLE: &str = "This view is not available in this build.";

pub struct BrowseState {
    pub view_key: &'static str,
    pub title: String,
    available: bool,
    tenant: Option<Uuid>,
    pub table: Option<Table>,
    pub error: Option<String>,
    pub paging: Paging,
    pub filter: FilterLine,
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
            paging: Paging::default(),
            filter: FilterLine::default(),
        }
    }

    pub fn mode(&self) -> Mode {
        if self.filter.editing {
            Mode::Text
        } else {
            Mode::List
        }
    }

    fn query(&self, ctx: &Ctx, at: PageAt) -> BrowseQuery {
        BrowseQuery {
            filter: self.filter.value(),
            tenant: self.tenant,
            limit: ctx.page_size,
            at,
        }
    }

    fn fetch(&mut self, ctx: &mut Ctx, at: PageAt, how: Move, debounce: bool) {
        if !self.available {
            return;
        }
        let (query, key) = (self.query(ctx, at.clone()), self.view_key);
        self.paging.fetching(at, how);
        let call = move |env: crate::tasks::Env| async move {
            Loaded(match browse::view(key) {
                Some(v) => browse::browse(&env.db, &env.actor, v, &query).await,
                None => Err(ServiceError::not_found("view", key)),
            })
        };
        if debounce {
            ctx.debounced(SLOT, call);
        } else {
            ctx.load(SLOT, call);
        }
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        let at = self.paging.at.clone();
        // The same page again, selection back at the top.
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

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.paging.on_move(a, self.len()) {
            return true;
        }
        match a {
            Action::NextPage | Action::PrevPage => {
                if let Some((at, how)) = self.table.as_ref().and_then(|t| Paging::turn(a, t)) {
                    self.fetch(ctx, at, how, false);
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

    /// A message for the table; given back when it is not one.
    pub fn apply(&mut self, msg: Msg, ctx: &mut Ctx) -> Option<Msg> {
        let result = match msg.downcast::<Loaded>() {
            Ok(m) => m.0,
            Err(m) => return Some(m),
        };
        match result {
            Ok(t) => {
                self.paging.arrived(&t);
                self.error = None;
                self.table = Some(t);
            }
            Err(e) => {
                ctx.emit(Action::FlashError(e.to_string()));
                self.error = Some(e.to_string());
            }
        }
        None
    }

    pub fn footer(&self) -> String {
        let Some(t) = &self.table else {
            return "loading…".to_owned();
        };
        if t.rows.is_empty() {
            return "no rows".to_owned();
        }
        let more = if t.has_next { " · more ]" } else { "" };
        format!("{}{more}", self.paging.rows_label(t.rows.len()))
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.filter.draw_above(f, area, theme);
        self.paging.set_viewport(area);
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
        f.render_stateful_widget(table, area, &mut self.paging.state);
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
}

impl Screen for BrowseScreen {
    fn route(&self) -> Route {
        Route::Page(self.page)
    }

    fn mode(&self) -> Mode {
        self.state.mode()
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.state.reload(ctx);
    }

    fn keys(&self) -> Keys {
        // Tabs move between a section's pages (settings has more than one).
        Keys::new()
            .with(LISTING)
            .when(Route::Page(self.page).tabs().is_some(), TABS)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        self.state.on_action(a, ctx)
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.state.on_input(key, ctx);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        self.state.apply(msg, ctx);
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        self.state.draw(f, area, theme);
    }
}
