//! Generic table screens over `backend::browse` views: real rows, keyset pages, `/` filter,
//! and an honest empty state. Also embedded in the tenant detail (its billing tab).

use backend::browse::{self, BrowseQuery, Table};
use backend::customers::{history_table, ACTIVITY_VIEW};
use backend::db::Cell;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use uuid::Uuid;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::{Page, Route};
use crate::screens::common::columns::{Col, ViewColumns};
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::{Ctx, Keys, Mode, Screen, TABS};
use crate::tasks::Msg;

pub const NOT_AVAILABLE: &str = "This view is not available in this build.";

/// Reads a `backend::browse` view, optionally within one tenant.
pub struct View {
    pub key: &'static str,
    tenant: Option<Uuid>,
    customer: Option<Uuid>,
}

impl Source for View {
    type Page = Table;

    fn read(&self, q: &Query) -> Result<Read<Table>, String> {
        let key = self.key;
        let query = BrowseQuery {
            filter: q.filter.clone(),
            tenant: self.tenant,
            customer: self.customer,
            limit: q.limit,
            at: q.at.clone(),
        };
        Ok(Box::new(move |env| {
            async move {
                match (browse::view(key), query.customer) {
                    (Some(v), _) => browse::browse(&env.db, &env.actor, v, &query).await,
                    (None, Some(c)) if key == ACTIVITY_VIEW => {
                        history_table(&env.db, &env.actor, c, query.filter.as_deref()).await
                    }
                    (None, _) => Err(ServiceError::not_found("view", key)),
                }
            }
            .boxed()
        }))
    }
}

pub struct BrowseState {
    pub title: String,
    available: bool,
    columns: Option<&'static ViewColumns>,
    pub list: List<View>,
    /// What an empty table says instead of the view's own words (a customer's tab).
    empty: Option<&'static str>,
}

impl BrowseState {
    pub fn new(view_key: &'static str, title: String, tenant: Option<Uuid>) -> BrowseState {
        BrowseState {
            title,
            available: backend::browse::view(view_key).is_some() || view_key == ACTIVITY_VIEW,
            columns: crate::screens::columns_for(view_key),
            list: List::new(
                "browse",
                View {
                    key: view_key,
                    tenant,
                    customer: None,
                },
                FilterMode::Live,
            ),
            empty: None,
        }
    }

    /// Only the rows touching one customer (the customer screen's tabs).
    pub fn for_customer(mut self, customer: Uuid, slot: &'static str) -> BrowseState {
        self.list.source.customer = Some(customer);
        self.list = self.list.in_slot(slot);
        self.empty = Some("Nothing here touches this customer.");
        self
    }

    pub fn mode(&self) -> Mode {
        self.list.mode(Mode::List)
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        if self.available {
            self.list.reload(ctx);
        }
    }

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        self.list.on_action(a, ctx)
    }

    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.list.on_input(key, ctx);
    }

    /// A message for the table; given back when it is not one.
    pub fn apply(&mut self, msg: Msg, ctx: &mut Ctx) -> Option<Msg> {
        self.list.apply(msg, ctx)
    }

    pub fn footer(&self) -> String {
        self.list.rows_text("no rows")
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.list.frame(f, area, theme);
        let (columns, rows) = match &self.list.page {
            Some(t) => table_parts(t, self.columns),
            None => (Vec::new(), Vec::new()),
        };
        let empty = if self.available {
            let none = self.empty.or(self.list.page.as_ref().map(|t| t.empty)).unwrap_or("");
            self.list
                .empty_text(|v| format!("No rows match the filter \"{v}\"."), none)
        } else {
            NOT_AVAILABLE.to_owned()
        };
        let footer = self.footer();
        let mut table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title(&self.title)
            .empty_message(&empty);
        if self.available {
            table = table.footer(&footer);
        }
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
    }
}

/// Columns sized to their content (capped), and rows of display text with status tones.
/// A column the view's section declares takes its priority, and shrinks by content width down
/// to its minimum when it is long text.
fn table_parts(t: &Table, spec: Option<&ViewColumns>) -> (Vec<Column<'static>>, Vec<DataRow<'static>>) {
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
            let widest = u16::try_from(widest).unwrap_or(36);
            let col = match spec.and_then(|s| s.get(c.title)) {
                Some(Col {
                    min: Some(min),
                    priority,
                    ..
                }) => Column::new(c.title, Constraint::Fill(widest))
                    .min((*min).min(widest))
                    .priority(*priority),
                Some(Col { priority, .. }) => Column::new(c.title, Constraint::Length(widest)).priority(*priority),
                None => Column::new(c.title, Constraint::Length(widest)),
            };
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

    fn filter_by(&mut self, text: &str, ctx: &mut Ctx) -> bool {
        self.state.list.preset(text, ctx);
        true
    }

    fn keys(&self) -> Keys {
        // Tabs move between a section's pages (settings has more than one).
        Keys::new()
            .with(&self.state.list.keys())
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
