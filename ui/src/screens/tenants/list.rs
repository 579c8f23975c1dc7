//! The tenant list: keyset pages over any number of tenants, sortable columns, `/` filter,
//! the total from `tenants::count` fetched on the side, suspend/reactivate from the list.

use backend::page::{Page, PageAt, SortDir};
use backend::tenants::{self, Tenant, TenantQuery, TenantSort};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Sort, Theme};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::confirm::{self, ConfirmKind, ConfirmModal, Outcome};
use crate::screens::common::filter::FilterLine;
use crate::screens::common::paging::{Move, Paging};
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen, LISTING, TABS};
use crate::tasks::{Env, Msg};

/// What the list's calls bring back.
enum Reply {
    Page(Result<Page<Tenant>, ServiceError>),
    Count(Result<i64, ServiceError>),
}

pub struct TenantsList {
    pub page: Option<Page<Tenant>>,
    pub count: Option<i64>,
    pub error: Option<String>,
    pub sort: TenantSort,
    pub dir: SortDir,
    pub filter: FilterLine,
    pub paging: Paging,
    pub modal: Option<ConfirmModal>,
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
            paging: Paging::default(),
            modal: None,
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

impl Screen for TenantsList {
    fn route(&self) -> Route {
        page_route("tenants")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn dialog(&self) -> Option<Dialog> {
        // The typed confirmation has fields: reason, slug, a 2FA code.
        self.modal.is_some().then_some(Dialog::Confirm { fields: true })
    }

    fn keys(&self) -> Keys {
        use Action::*;
        Keys::new()
            .with(LISTING)
            .with(&[Open, SortNext, SortFlip, Create, Suspend, Reactivate])
            .with(TABS)
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() {
            Mode::Form
        } else if self.filter.editing {
            Mode::Text
        } else {
            Mode::List
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if m.on_action(a, ctx) == Outcome::Close {
                self.modal = None;
            }
            return true;
        }
        if self.paging.on_move(a, self.rows().len()) {
            return true;
        }
        match a {
            Action::NextPage | Action::PrevPage => {
                if let Some((at, how)) = self.page.as_ref().and_then(|p| Paging::turn(a, p)) {
                    self.fetch(ctx, at, how, false);
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

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if let Some(m) = &mut self.modal {
            m.on_input(key);
        } else if self.filter.editing && self.filter.input(key) {
            self.restart(ctx, true);
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Reply>() {
            Ok(r) => {
                match *r {
                    Reply::Page(Ok(p)) => {
                        self.paging.arrived(&p);
                        self.error = None;
                        self.page = Some(p);
                    }
                    Reply::Count(Ok(n)) => self.count = Some(n),
                    Reply::Page(Err(e)) | Reply::Count(Err(e)) => {
                        self.error = Some(e.to_string());
                        ctx.emit(Action::FlashError(e.to_string()));
                    }
                }
                return;
            }
            Err(m) => m,
        };
        let Ok(r) = msg.downcast::<confirm::Changed>() else {
            return;
        };
        match r.0 {
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
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.filter.draw_above(f, area, theme);
        self.paging.set_viewport(area);
        let columns = [
            Column::new("NAME", Constraint::Fill(3)),
            Column::new("SLUG", Constraint::Fill(2)),
            Column::new("DOMAIN", Constraint::Fill(3)),
            Column::new("STATUS", Constraint::Length(9)),
            Column::new("TIER", Constraint::Length(10)),
            Column::new("CUR", Constraint::Length(3)),
        ];
        let rows: Vec<DataRow> = self
            .page
            .iter()
            .flat_map(|p| &p.items)
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
        f.render_stateful_widget(table, area, &mut self.paging.state);
        if let Some(m) = &self.modal {
            m.draw(f, theme);
        }
    }
}

impl TenantsList {
    pub fn rows(&self) -> &[Tenant] {
        self.page.as_ref().map_or(&[], |p| p.items.as_slice())
    }

    pub fn selected(&self) -> Option<&Tenant> {
        self.rows().get(self.paging.selected())
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
        self.paging.fetching(at, how);
        let call = |env: Env| async move { Reply::Page(tenants::list(&env.db, &env.actor, &q).await) };
        if debounce {
            ctx.debounced("page", call);
        } else {
            ctx.load("page", call);
        }
    }

    fn count(&mut self, ctx: &mut Ctx, debounce: bool) {
        let filter = self.filter.value();
        let call =
            |env: Env| async move { Reply::Count(tenants::count(&env.db, &env.actor, filter.as_deref(), None).await) };
        if debounce {
            ctx.debounced("count", call);
        } else {
            ctx.load("count", call);
        }
    }

    /// From the first page again (new filter or sort).
    fn restart(&mut self, ctx: &mut Ctx, debounce: bool) {
        self.fetch(ctx, PageAt::First, Move::First, debounce);
        self.count(ctx, debounce);
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        let at = self.paging.at.clone();
        self.fetch(ctx, at, Move::Stay, false);
        self.count(ctx, false);
    }

    pub fn footer(&self) -> String {
        let dir = if self.dir == SortDir::Asc { "▲" } else { "▼" };
        let sort = format!("sorted by {} {dir}", self.sort.as_str());
        let total = self.count.map_or_else(|| "…".to_owned(), |n| n.to_string());
        let rows = match &self.page {
            None => "loading…".to_owned(),
            Some(p) if p.items.is_empty() => format!("rows 0 of {total}"),
            Some(p) => format!("{} of {total}", self.paging.rows_label(p.items.len())),
        };
        format!("{rows} · {sort}")
    }
}
