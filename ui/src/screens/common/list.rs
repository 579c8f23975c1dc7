//! The one list component every table screen is made of: keyset pages, the `/` filter line
//! (live with debounce, or applied on Enter), sort cycling, the selection, error and empty
//! states, and the footer's row counts. A screen gives it a [`Source`] (how to read a page)
//! and draws the rows; everything else about "being a list" lives here once.

use backend::page::PageAt;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use futures::future::BoxFuture;
use ratatui::layout::Rect;
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::screens::common::filter::FilterLine;
use crate::screens::common::paging::{Keyset, Move, Paging};
use crate::screens::{Ctx, Mode};
use crate::tasks::{Env, Msg};

/// What a read asks for: the list's filter and sort, a page size and where the page starts.
#[derive(Debug, Clone)]
pub struct Query {
    pub filter: Option<String>,
    /// Index into the screen's sort keys (0 when it has none).
    pub sort: usize,
    pub desc: bool,
    pub limit: usize,
    pub at: PageAt,
}

/// One backend read, ready to run.
pub type Read<P> = Box<dyn FnOnce(Env) -> BoxFuture<'static, Result<P, ServiceError>> + Send>;

/// How a list reads its pages.
pub trait Source: Send + 'static {
    type Page: Keyset + Send + 'static;

    /// The read for `q`, or why the filter line is refused (nothing is read then).
    fn read(&self, q: &Query) -> Result<Read<Self::Page>, String>;

    /// Calls that go with a new or reloaded list (the tenant total); not with page turns.
    fn also(&self, _q: &Query, _ctx: &mut Ctx, _debounce: bool) {}
}

/// A page read for a list.
pub struct Loaded<P>(Result<P, ServiceError>);

/// What `/` does on this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterMode {
    /// No filter: `/` is not offered.
    Off,
    /// Each change queries (debounced).
    Live,
    /// Typing edits the line only; Enter applies it (a half-typed `since:1` must not query).
    OnEnter,
}

pub struct List<S: Source> {
    pub source: S,
    pub page: Option<S::Page>,
    pub error: Option<String>,
    pub paging: Paging,
    pub filter: FilterLine,
    pub filter_mode: FilterMode,
    /// The filter the rows shown (or being read) were asked with.
    pub applied: Option<String>,
    /// Why the last filter line was refused, until the next one applies.
    pub filter_error: Option<String>,
    pub sort: usize,
    pub desc: bool,
    /// `w`: every column shown, however narrow.
    pub wide: bool,
    sorts: usize,
    slot: &'static str,
}

impl<S: Source> List<S> {
    pub fn new(slot: &'static str, source: S, filter_mode: FilterMode) -> List<S> {
        List {
            source,
            page: None,
            error: None,
            paging: Paging::default(),
            filter: FilterLine::default(),
            filter_mode,
            applied: None,
            filter_error: None,
            sort: 0,
            desc: false,
            wide: false,
            sorts: 0,
            slot,
        }
    }

    /// Its calls in `slot` (a screen holding several lists gives each its own).
    pub fn in_slot(mut self, slot: &'static str) -> List<S> {
        self.slot = slot;
        self
    }

    /// `s` cycles through `n` sort keys, `S` flips the direction.
    pub fn sortable(mut self, n: usize) -> List<S> {
        self.sorts = n;
        self
    }

    /// Text mode while the filter line is being typed, else `idle`.
    pub fn mode(&self, idle: Mode) -> Mode {
        if self.filter.editing {
            Mode::Text
        } else {
            idle
        }
    }

    /// The keys the list answers to.
    pub fn keys(&self) -> Vec<Action> {
        let mut keys = crate::screens::MOVING.to_vec();
        keys.extend([Action::NextPage, Action::PrevPage, Action::Wide]);
        if self.filter_mode != FilterMode::Off {
            keys.push(Action::Filter);
        }
        if self.sorts > 0 {
            keys.extend([Action::SortNext, Action::SortFlip]);
        }
        keys
    }

    pub fn len(&self) -> usize {
        self.page.as_ref().map_or(0, Keyset::rows)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn selected(&self) -> usize {
        self.paging.selected()
    }

    fn query(&self, ctx: &Ctx, filter: Option<String>, at: PageAt) -> Query {
        Query {
            filter,
            sort: self.sort,
            desc: self.desc,
            limit: ctx.page_size,
            at,
        }
    }

    /// Reads the page at `at` with `filter`; a filter the source refuses changes nothing.
    fn fetch(&mut self, ctx: &mut Ctx, filter: Option<String>, at: PageAt, how: Move, debounce: bool, also: bool) {
        let q = self.query(ctx, filter, at.clone());
        let read = match self.source.read(&q) {
            Ok(r) => r,
            Err(e) => {
                ctx.emit(Action::FlashError(format!("filter not applied: {e}")));
                self.filter_error = Some(e);
                return;
            }
        };
        self.filter_error = None;
        self.applied = q.filter.clone();
        self.paging.fetching(at, how);
        let call = move |env: Env| async move { Loaded(read(env).await) };
        if debounce {
            ctx.debounced(self.slot, call);
        } else {
            ctx.load(self.slot, call);
        }
        if also {
            self.source.also(&q, ctx, debounce);
        }
    }

    /// From the first page again with the filter line as it is (new filter).
    pub fn restart(&mut self, ctx: &mut Ctx, debounce: bool) {
        let filter = self.filter.value();
        self.fetch(ctx, filter, PageAt::First, Move::First, debounce, true);
    }

    /// The filter line set to `text` and applied (a link that carries a filter).
    pub fn preset(&mut self, text: &str, ctx: &mut Ctx) {
        self.filter.input = tui_input::Input::new(text.to_owned());
        self.filter.editing = false;
        self.restart(ctx, false);
    }

    /// The same page again, selection kept.
    pub fn reload(&mut self, ctx: &mut Ctx) {
        let (filter, at) = (self.applied.clone(), self.paging.at.clone());
        self.fetch(ctx, filter, at, Move::Stay, false, true);
    }

    /// Handles the list's own keys; false for any other.
    pub fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.paging.on_move(a, self.len()) {
            return true;
        }
        let filtering = self.filter_mode != FilterMode::Off;
        match a {
            Action::NextPage | Action::PrevPage => {
                if let Some((at, how)) = self.page.as_ref().and_then(|p| Paging::turn(a, p)) {
                    let filter = self.applied.clone();
                    self.fetch(ctx, filter, at, how, false, false);
                }
            }
            Action::SortNext | Action::SortFlip if self.sorts > 0 => {
                if *a == Action::SortNext {
                    self.sort = (self.sort + 1) % self.sorts;
                    self.desc = false;
                } else {
                    self.desc = !self.desc;
                }
                let filter = self.applied.clone();
                self.fetch(ctx, filter, PageAt::First, Move::First, false, false);
            }
            Action::Refresh => self.reload(ctx),
            Action::Wide => self.wide = !self.wide,
            Action::Filter if filtering => self.filter.start(),
            Action::Accept if self.filter.editing => {
                self.filter.accept();
                if self.filter_mode == FilterMode::OnEnter {
                    self.restart(ctx, false);
                }
            }
            Action::Close if self.filter.editing => {
                self.filter.cancel();
                self.filter_error = None;
                if self.applied.is_some() {
                    self.restart(ctx, false);
                }
            }
            Action::Back if self.applied.is_some() => {
                self.filter.cancel();
                self.restart(ctx, false);
            }
            _ => return false,
        }
        true
    }

    /// A key typed into the filter line.
    pub fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if self.filter.editing && self.filter.input(key) && self.filter_mode == FilterMode::Live {
            self.restart(ctx, true);
        }
    }

    /// Takes a page read for this list; any other message is given back.
    pub fn apply(&mut self, msg: Msg, ctx: &mut Ctx) -> Option<Msg> {
        let loaded = match msg.downcast::<Loaded<S::Page>>() {
            Ok(m) => m.0,
            Err(m) => return Some(m),
        };
        match loaded {
            Ok(p) => {
                self.paging.arrived(&p);
                self.error = None;
                self.page = Some(p);
            }
            Err(e) => {
                ctx.emit(Action::FlashError(e.to_string()));
                self.error = Some(e.to_string());
            }
        }
        None
    }

    /// `rows 11–20 · more ]`, or where the list is.
    pub fn rows_text(&self, none: &str) -> String {
        match &self.page {
            None => "loading…".to_owned(),
            Some(p) if p.rows() == 0 => none.to_owned(),
            Some(p) => {
                let more = if p.has_next() { " · more ]" } else { "" };
                format!("{}{more}", self.paging.rows_label(p.rows()))
            }
        }
    }

    /// What an empty table says: the error, loading, nothing matching `filtered(filter)`, or
    /// `empty`.
    pub fn empty_text(&self, filtered: impl FnOnce(&str) -> String, empty: &str) -> String {
        match (&self.error, &self.page, &self.applied) {
            (Some(e), _, _) => e.clone(),
            (None, None, _) => "Loading…".to_owned(),
            (None, Some(_), Some(f)) => filtered(f),
            (None, Some(_), None) => empty.to_owned(),
        }
    }

    /// Draws the filter line (when shown) and returns the table's area; the screen renders
    /// its table there with `self.paging.state`.
    pub fn frame(&mut self, f: &mut Frame, area: Rect, theme: &Theme) -> Rect {
        let area = self.filter.draw_above(f, area, theme);
        self.paging.set_viewport(area);
        area
    }
}

impl<T: Send + 'static, S: Source<Page = backend::page::Page<T>>> List<S> {
    /// The rows of the page shown.
    pub fn items(&self) -> &[T] {
        self.page.as_ref().map_or(&[], |p| p.items.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};
    use futures::FutureExt;

    use super::*;

    /// Refuses the filter `bad`; reads nothing real (the jobs are only counted).
    struct Names;

    impl Source for Names {
        type Page = backend::page::Page<String>;

        fn read(&self, q: &Query) -> Result<Read<Self::Page>, String> {
            if q.filter.as_deref() == Some("bad") {
                return Err("bad filter".into());
            }
            Ok(Box::new(|_| {
                async { Err(ServiceError::not_found("name", "x")) }.boxed()
            }))
        }
    }

    fn typ(l: &mut List<Names>, ctx: &mut Ctx, text: &str) {
        for c in text.chars() {
            l.on_input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), ctx);
        }
    }

    #[test]
    fn live_filters_query_debounced_as_typed_and_on_enter_filters_only_on_enter() {
        let mut live = List::new("p", Names, FilterMode::Live);
        let mut ctx = Ctx::new(10);
        live.on_action(&Action::Filter, &mut ctx);
        typ(&mut live, &mut ctx, "ab");
        assert_eq!(ctx.jobs.len(), 2);
        assert!(ctx.jobs.iter().all(|j| j.delay.is_some()), "debounced");
        assert_eq!(live.applied.as_deref(), Some("ab"));

        let mut enter = List::new("p", Names, FilterMode::OnEnter);
        let mut ctx = Ctx::new(10);
        enter.on_action(&Action::Filter, &mut ctx);
        typ(&mut enter, &mut ctx, "bad");
        assert!(ctx.jobs.is_empty(), "typing alone reads nothing");
        enter.on_action(&Action::Accept, &mut ctx);
        assert!(ctx.jobs.is_empty(), "a refused filter reads nothing");
        assert_eq!(enter.filter_error.as_deref(), Some("bad filter"));
        assert_eq!(enter.applied, None, "the old rows stay");
    }

    #[test]
    fn escape_clears_an_applied_filter_and_reads_again_and_off_ignores_slash() {
        let mut l = List::new("p", Names, FilterMode::Live);
        let mut ctx = Ctx::new(10);
        l.on_action(&Action::Filter, &mut ctx);
        typ(&mut l, &mut ctx, "x");
        l.on_action(&Action::Accept, &mut ctx);
        let before = ctx.jobs.len();
        assert!(l.on_action(&Action::Back, &mut ctx));
        assert_eq!(ctx.jobs.len(), before + 1);
        assert_eq!(l.applied, None);
        // Nothing to clear: Back is not the list's.
        assert!(!l.on_action(&Action::Back, &mut ctx));

        let mut off = List::new("p", Names, FilterMode::Off);
        assert!(!off.on_action(&Action::Filter, &mut ctx));
        assert!(!off.keys().contains(&Action::Filter));
    }
}
