//! The tenant list: keyset pages over any number of tenants, sortable columns, `/` filter,
//! the total from `tenants::count` fetched on the side, suspend/reactivate from the list.

use backend::authz::Permission;
use backend::page::{Page, SortDir};
use backend::tenants::{self, Tenant, TenantQuery, TenantSort};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Sort, Theme};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::common::confirm::{self, ConfirmKind, ConfirmModal, Outcome};
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::{page_route, Ctx, Dialog, Keys, Mode, Screen, TABS};
use crate::tasks::{Env, Msg};

/// Reads tenant pages; with each new or reloaded list, the total from `tenants::count`.
pub struct Tenants;

/// The total matching the filter, fetched on the side.
struct Count(Result<i64, ServiceError>);

impl Source for Tenants {
    type Page = Page<Tenant>;

    fn read(&self, q: &Query) -> Result<Read<Page<Tenant>>, String> {
        let q = TenantQuery {
            filter: q.filter.clone(),
            sort: TenantSort::ALL.get(q.sort).copied().unwrap_or(TenantSort::Name),
            dir: if q.desc { SortDir::Desc } else { SortDir::Asc },
            limit: q.limit,
            at: q.at.clone(),
            ..TenantQuery::default()
        };
        Ok(Box::new(move |env| {
            async move { tenants::list(&env.db, &env.actor, &q).await }.boxed()
        }))
    }

    fn also(&self, q: &Query, ctx: &mut Ctx, debounce: bool) {
        let filter = q.filter.clone();
        let call = |env: Env| async move { Count(tenants::count(&env.db, &env.actor, filter.as_deref(), None).await) };
        if debounce {
            ctx.debounced("count", call);
        } else {
            ctx.load("count", call);
        }
    }
}

pub struct TenantsList {
    pub list: List<Tenants>,
    pub count: Option<i64>,
    pub modal: Option<ConfirmModal>,
}

impl Default for TenantsList {
    fn default() -> Self {
        TenantsList {
            list: List::new("page", Tenants, FilterMode::Live).sortable(TenantSort::ALL.len()),
            count: None,
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
        self.list.reload(ctx);
    }

    fn dialog(&self) -> Option<Dialog> {
        // The typed confirmation has fields: reason, slug, a 2FA code.
        self.modal.is_some().then_some(Dialog::Confirm { fields: true })
    }

    fn keys(&self) -> Keys {
        use Action::*;
        // Suspend or reactivate, whichever the selected tenant's status allows.
        let change = match self.selected().map(|t| t.status.as_str()) {
            Some("suspended") => Some(Reactivate),
            Some(_) => Some(Suspend),
            None => None,
        };
        Keys::new()
            .with(&self.list.keys())
            .with(&[Open, Create])
            .with(change.as_slice())
            .with(TABS)
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        match a {
            Action::Create => Some(Permission::TenantsCreate),
            Action::Suspend | Action::Reactivate => Some(Permission::TenantsSuspend),
            _ => None,
        }
    }

    fn mode(&self) -> Mode {
        if self.modal.is_some() {
            Mode::Form
        } else {
            self.list.mode(Mode::List)
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(m) = &mut self.modal {
            if m.on_action(a, ctx) == Outcome::Close {
                self.modal = None;
            }
            return true;
        }
        if self.list.on_action(a, ctx) {
            return true;
        }
        match a {
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
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        if let Some(m) = &mut self.modal {
            m.on_input(key);
        } else {
            self.list.on_input(key, ctx);
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Some(msg) = self.list.apply(msg, ctx) else { return };
        let msg = match msg.downcast::<Count>() {
            Ok(c) => {
                match c.0 {
                    Ok(n) => self.count = Some(n),
                    Err(e) => {
                        self.list.error = Some(e.to_string());
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
                self.list.reload(ctx);
            }
            Err(e) => match &mut self.modal {
                Some(m) => m.failed(&e),
                None => ctx.emit(Action::FlashError(e.to_string())),
            },
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.list.frame(f, area, theme);
        let columns = [
            Column::new("NAME", Constraint::Fill(3)),
            Column::new("SLUG", Constraint::Fill(2)),
            Column::new("DOMAIN", Constraint::Fill(3)),
            Column::new("STATUS", Constraint::Length(9)),
            Column::new("TIER", Constraint::Length(10)),
            Column::new("CUR", Constraint::Length(3)),
        ];
        let rows: Vec<DataRow> = self
            .list
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
        let sort = sort_column(self.sort()).map(|c| Sort {
            column: c,
            descending: self.list.desc,
        });
        let footer = self.footer();
        let empty = self.list.empty_text(
            |v| format!("No tenant matches \"{v}\"."),
            "No tenants yet — press c to create one.",
        );
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title("Tenants")
            .footer(&footer)
            .sort(sort)
            .empty_message(&empty)
            .focused(self.modal.is_none());
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
        if let Some(m) = &self.modal {
            m.draw(f, theme);
        }
    }
}

impl TenantsList {
    pub fn rows(&self) -> &[Tenant] {
        self.list.items()
    }

    pub fn selected(&self) -> Option<&Tenant> {
        self.rows().get(self.list.selected())
    }

    pub fn sort(&self) -> TenantSort {
        TenantSort::ALL.get(self.list.sort).copied().unwrap_or(TenantSort::Name)
    }

    pub fn footer(&self) -> String {
        let dir = if self.list.desc { "▼" } else { "▲" };
        let sort = format!("sorted by {} {dir}", self.sort().as_str());
        let total = self.count.map_or_else(|| "…".to_owned(), |n| n.to_string());
        let rows = match &self.list.page {
            None => "loading…".to_owned(),
            Some(p) if p.items.is_empty() => format!("rows 0 of {total}"),
            Some(p) => format!("{} of {total}", self.list.paging.rows_label(p.items.len())),
        };
        format!("{rows} · {sort}")
    }
}
