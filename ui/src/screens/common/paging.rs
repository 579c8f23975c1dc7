//! Keyset paging and row selection shared by the list screens (the tenant list, browse views):
//! which page was asked for, the selected row, and how many rows come before this page (for
//! the "rows 11–20" footer).

use backend::browse::Table;
use backend::page::{Cursor, Page, PageAt};
use ratatui::layout::Rect;
use widgets::{DataTable, TableState};

use crate::action::Action;

/// A page of rows as paging sees it.
pub trait Keyset {
    fn rows(&self) -> usize;
    fn has_next(&self) -> bool;
    fn has_prev(&self) -> bool;
    fn first(&self) -> Option<&Cursor>;
    fn last(&self) -> Option<&Cursor>;
}

/// `Keyset` for a backend page type whose rows are in the field `$rows` (generic over `$t`).
macro_rules! keyset {
    ($ty:ty, $rows:ident $(, $t:ident)?) => {
        impl$(<$t>)? Keyset for $ty {
            fn rows(&self) -> usize {
                self.$rows.len()
            }
            fn has_next(&self) -> bool {
                self.has_next
            }
            fn has_prev(&self) -> bool {
                self.has_prev
            }
            fn first(&self) -> Option<&Cursor> {
                self.first.as_ref()
            }
            fn last(&self) -> Option<&Cursor> {
                self.last.as_ref()
            }
        }
    };
}

keyset!(Page<T>, items, T);
keyset!(Table, rows);

/// How the page being fetched relates to the one shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The first page (new filter or sort): offset 0.
    First,
    /// The page after one of this many rows.
    Next(usize),
    /// The page before.
    Prev,
    /// The same page again (refresh): offset and selection are kept.
    Stay,
}

#[derive(Debug, Clone)]
pub struct Paging {
    pub state: TableState,
    /// Where the page shown (or being fetched) starts.
    pub at: PageAt,
    pending: Move,
    /// Rows before this page.
    offset: usize,
    /// Rows the table shows, for half-page moves (from the last draw).
    viewport: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            state: TableState::default().with_selected(Some(0)),
            at: PageAt::First,
            pending: Move::First,
            offset: 0,
            viewport: 10,
        }
    }
}

impl Paging {
    pub fn selected(&self) -> usize {
        self.state.selected().unwrap_or(0)
    }

    /// Records that the page at `at` was asked for.
    pub fn fetching(&mut self, at: PageAt, how: Move) {
        self.at = at;
        self.pending = how;
    }

    /// Selects row `i`, clamped to the `len` rows of the page.
    pub fn select(&mut self, i: isize, len: usize) {
        let max = len.saturating_sub(1) as isize;
        self.state.select(Some(i.clamp(0, max) as usize));
    }

    /// Moves the selection for up/down/top/bottom/half-page actions; false for any other.
    pub fn on_move(&mut self, a: &Action, len: usize) -> bool {
        let sel = self.selected() as isize;
        let half = (self.viewport / 2).max(1) as isize;
        let to = match a {
            Action::Down => sel + 1,
            Action::Up => sel - 1,
            Action::Top => 0,
            Action::Bottom => isize::MAX / 2,
            Action::HalfPageDown => sel + half,
            Action::HalfPageUp => sel - half,
            _ => return false,
        };
        self.select(to, len);
        true
    }

    /// Where next/previous page goes from `page`, if there is such a page.
    pub fn turn(a: &Action, page: &impl Keyset) -> Option<(PageAt, Move)> {
        match a {
            Action::NextPage if page.has_next() => {
                let last = page.last()?.clone();
                Some((PageAt::After(last), Move::Next(page.rows())))
            }
            Action::PrevPage if page.has_prev() => Some((PageAt::Before(page.first()?.clone()), Move::Prev)),
            _ => None,
        }
    }

    /// A page arrived: the offset follows the move that fetched it, and the selection goes to
    /// the top unless the page was reloaded in place.
    pub fn arrived(&mut self, page: &impl Keyset) {
        let len = page.rows();
        self.offset = match self.pending {
            Move::First => 0,
            Move::Next(n) => self.offset + n,
            Move::Prev if !page.has_prev() => 0,
            Move::Prev => self.offset.saturating_sub(len),
            Move::Stay => self.offset,
        };
        let sel = if self.pending == Move::Stay {
            self.selected() as isize
        } else {
            0
        };
        self.pending = Move::Stay;
        self.select(sel, len);
    }

    /// `rows 11–20` for a page of `len` rows.
    pub fn rows_label(&self, len: usize) -> String {
        format!("rows {}–{}", self.offset + 1, self.offset + len)
    }

    /// Remembers how many rows a table in `area` shows.
    pub fn set_viewport(&mut self, area: Rect) {
        self.viewport = DataTable::visible_rows(area);
    }
}
