//! The tenant list: keyset pages over any number of tenants, sortable columns, `/` filter,
//! the total from `tenants::count` fetched on the side, suspend/reactivate from the list.

use backend::page::{Page, PageAt, SortDir};
use backend::tenants::{Tenant, TenantQuery, TenantSort};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Sort, TableState, Theme};

use super::browse::tone_for;
use super::confirm::{self, ConfirmKind, ConfirmModal, Outcome};
use super::filter::FilterLine;
use super::{Ctx, Mode};
use crate::action::Action;
use crate::tasks::{Reply, Request};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    First,
    Next(usize),
    Prev,
    Stay,
}

pub struct TenantsList {
    pub page: Option<Page<Tenant>>,
    pub count: Option<i64>,
    pub error: Option<String>,
    pub sort: TenantSort,
    pub dir: SortDir,
    pub filter: FilterLine,
    pub state: TableState,
    pub modal: Option<ConfirmModal>,
    at: PageAt,
    pending: Move,
    offset: usize,
    viewport: usize,
}

impl Default for TenantsList {
    fn default() -> Self {
        TenantsList {
            page: None,
            count: None,
            error: None,
            sort: TenantSort::Name,
            dir: SortDir::Asc,
            filter: FilterLine::default(),
            state: TableState::default().with_selected(Some(0)),
            modal: None,
            at: PageAt::First,
            pending: Move::First,
            offset: 0,
            viewport: 10,
        }
    }
}

/// Which table column shows a sort key (`created` has no column: it is in the footer).
fn sort_column(s: TenantSort) -> Option<usize> {
    match s {
        TenantSort::Name => Some(0),
        TenantSort::Domain => Some(2),
        TenantSort::Status => Some(3),
        TenantSort::Tier => Some(4),
        TenantSort::Created => None,
    }
}

impl TenantsList {
    pub fn mode(&self) -> Mode {
        if self.modal.is_some() {
            Mode::Form
        } else if self.filter.editing {
            Mode::Text
        } else {
            Mode::List
        }
    }

    pub fn rows(&self) -> &[Tenant] {
        self.page.as_ref().map_or(&[], |p| p.items.as_slice())
    }

    pub fn selected(&self) -> Option<&Tenant> {
        self.rows().get(self.state.selected().unwrap_or(0))
    }

    fn fetch(&mut self, ctx: &mut Ctx, at: PageAt, how: Move, debounce: bool) {
        let q = TenantQuery {
            filter: self.filter.value(),
            sort: self.sort,
            dir: self.dir,
            limit: ctx.page_size,
            at: at.clone(),
            ..TenantQuery::default()
        };
        self.at = at;
        self.pending = how;
        if debounce {
            ctx.debounced("page", Request::TenantPage(q));
        } else {
            ctx.load("page", Request::TenantPage(q));
        }
    }

    fn count(&mut self, ctx: &mut Ctx, debounce: bool) {
        let req = Request::TenantCount {
            filter: self.filter.value(),
        };
        if debounce {
            ctx.debounced("count", req);
        } else {
            ctx.load("count", req);
        }
    }

    /// From the first page again (new filter or sort).
    fn restart(&mut self, ctx: &mut Ctx, debounce: bool) {
        self.fetch(ctx, PageAt::First, Move::First, debounce);
        self.count(ctx, debounce);
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        let at = self.at.clone();
        self.fetch(ctx, at, Move::Stay, false);
        self.count(ctx, false);
    }

    fn select(&mut self, i: isize) {
        let max = self.rows().len().saturating_sub(1) as isize;
        self.state.select(Some(i.clamp(0, max) as usize));
    }

    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if m.on_action(a, ctx) == Outcome::Close {
                self.modal = None;
            }
            return true;
        }
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
                let Some(p) = &self.page else { return true };
                if let (true, Some(last)) = (p.has_next, p.last.clone()) {
                    let n = p.items.len();
                    self.fetch(ctx, PageAt::After(last), Move::Next(n), false);
                }
            }
            Action::PrevPage => {
                let Some(p) = &self.page else { return true };
                if let (true, Some(first)) = (p.has_prev, p.first.clone()) {
                    self.fetch(ctx, PageAt::Before(first), Move::Prev, false);
                }
            }
            Action::SortNext => {
                let all = TenantSort::ALL;
                let i = all.iter().position(|s| *s == self.sort).unwrap_or(0);
                self.sort = all[(i + 1) % all.len()];
                self.dir = SortDir::Asc;
                self.fetch(ctx, PageAt::First, Move::First, false);
            }
            Action::SortFlip => {
                self.dir = self.dir.flip();
                self.fetch(ctx, PageAt::First, Move::First, false);
            }
            Action::Open => {
                if let Some(t) = self.selected() {
                    ctx.emit(Action::OpenTenant(t.slug.clone()));
                }
            }
            Action::Create => ctx.emit(Action::Goto("tenants/create".into())),
            Action::Suspend | Action::Reactivate => {
                let kind = if *a == Action::Suspend {
                    ConfirmKind::Suspend
                } else {
                    ConfirmKind::Reactivate
                };
                if let Some(t) = self.selected() {
                    self.modal = ConfirmModal::open(kind, &t.clone(), ctx);
                }
            }
            Action::Refresh => self.reload(ctx),
            Action::Filter => self.filter.start(),
            Action::Accept if self.filter.editing => self.filter.accept(),
            Action::Close if self.filter.editing => {
                if self.filter.cancel() {
                    self.restart(ctx, false);
                }
            }
            Action::Back if self.filter.value().is_some() => {
                self.filter.cancel();
                self.restart(ctx, false);
            }
            _ => return false,
        }
        true
    }

    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if let Some(m) = &mut self.modal {
            m.on_input(key);
        } else if self.filter.editing && self.filter.input(key) {
            self.restart(ctx, true);
        }
    }

    pub fn apply(&mut self, slot: &'static str, reply: Reply, ctx: &mut Ctx) {
        match (slot, reply) {
            ("page", Reply::TenantPage(Ok(p))) => {
                self.offset = match self.pending {
                    Move::First => 0,
                    Move::Next(n) => self.offset + n,
                    Move::Prev if !p.has_prev => 0,
                    Move::Prev => self.offset.saturating_sub(p.items.len()),
                    Move::Stay => self.offset,
                };
                let keep = self.pending == Move::Stay;
                self.pending = Move::Stay;
                self.error = None;
                self.page = Some(p);
                let sel = if keep {
                    self.state.selected().unwrap_or(0) as isize
                } else {
                    0
                };
                self.select(sel);
            }
            ("count", Reply::Count(Ok(n))) => self.count = Some(n),
            (confirm::SLOT, Reply::Tenant(r)) => match r {
                Ok(_) => {
                    if let Some(m) = self.modal.take() {
                        ctx.emit(Action::Flash(m.done_message()));
                    }
                    self.reload(ctx);
                }
                Err(e) => match &mut self.modal {
                    Some(m) => m.failed(&e),
                    None => ctx.emit(Action::FlashError(e.to_string())),
                },
            },
            (_, Reply::TenantPage(Err(e)) | Reply::Count(Err(e))) => {
                self.error = Some(e.to_string());
                ctx.emit(Action::FlashError(e.to_string()));
            }
            _ => {}
        }
    }

    pub fn footer(&self) -> String {
        let dir = if self.dir == SortDir::Asc { "▲" } else { "▼" };
        let sort = format!("sorted by {} {dir}", self.sort.as_str());
        let total = self.count.map_or_else(|| "…".to_owned(), |n| n.to_string());
        let rows = match &self.page {
            None => "loading…".to_owned(),
            Some(p) if p.items.is_empty() => format!("rows 0 of {total}"),
            Some(p) => format!("rows {}–{} of {total}", self.offset + 1, self.offset + p.items.len()),
        };
        format!("{rows} · {sort}")
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let full = area;
        let area = if self.filter.visible() {
            let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
            self.filter.draw(f, line, theme);
            rest
        } else {
            area
        };
        self.viewport = DataTable::visible_rows(area);
        let columns = [
            Column::new("NAME", Constraint::Fill(3)),
            Column::new("SLUG", Constraint::Fill(2)),
            Column::new("DOMAIN", Constraint::Fill(3)),
            Column::new("STATUS", Constraint::Length(9)),
            Column::new("TIER", Constraint::Length(10)),
            Column::new("CUR", Constraint::Length(3)),
        ];
        let rows: Vec<DataRow> = self
            .rows()
            .iter()
            .map(|t| {
                DataRow::new([
                    DataCell::new(t.name.as_str()),
                    DataCell::new(t.slug.as_str()),
                    DataCell::new(t.domain.as_str()),
                    DataCell::styled(t.status.as_str(), tone_for(&t.status)),
                    DataCell::new(t.tier.as_str()),
                    DataCell::new(t.currency.as_str()),
                ])
            })
            .collect();
        let sort = sort_column(self.sort).map(|c| Sort {
            column: c,
            descending: self.dir == SortDir::Desc,
        });
        let footer = self.footer();
        let empty = match (&self.error, self.filter.value(), &self.page) {
            (Some(e), _, _) => e.clone(),
            (None, _, None) => "Loading…".to_owned(),
            (None, Some(v), _) => format!("No tenant matches \"{v}\"."),
            (None, None, _) => "No tenants yet — press c to create one.".to_owned(),
        };
        let table = DataTable::new(&columns, &rows, theme)
            .title("Tenants")
            .footer(&footer)
            .sort(sort)
            .empty_message(&empty)
            .focused(self.modal.is_none());
        let mut state = self.state;
        f.render_stateful_widget(table, area, &mut state);
        self.state = state;
        if let Some(m) = &self.modal {
            m.draw(f, full, theme);
        }
    }
}
