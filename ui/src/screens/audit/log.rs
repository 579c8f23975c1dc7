//! The audit log (`audit-logs`): newest first in keyset pages, narrowed by a filter line
//! (`/`: `actor:ana action:tenant.* entity:tenant tenant:acme since:7d until:2026-12-01`,
//! parsed by `backend::audit::filter`; applied on Enter, and a bad line keeps the old results
//! and says which field is wrong). Enter opens a row with its before/after diff; `v` walks
//! the hash chain.

use backend::audit::{self, AuditEntry, AuditQuery, AuditRecord, VerifyReport};
use backend::page::Page;
use backend::ServiceError;
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::audit::detail::{AuditDetail, VerifyResult};
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::services::queues::model::short_id;
use crate::screens::{page_route, Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

/// What the screen's own calls bring back (its pages go to the list).
enum Reply {
    Record(Result<Box<AuditRecord>, ServiceError>),
    Verify(Result<VerifyReport, ServiceError>),
}

const PAGE: &str = "audit";
pub const DETAIL: &str = "audit-detail";
pub const VERIFY: &str = "audit-verify";

/// Reads audit pages with the filter line parsed by `backend::audit::filter`.
pub struct Entries;

impl Source for Entries {
    type Page = Page<AuditEntry>;

    fn read(&self, q: &Query) -> Result<Read<Page<AuditEntry>>, String> {
        let line = q.filter.as_deref().unwrap_or_default();
        let mut aq: AuditQuery = audit::filter::parse_filter(line, backend::db::now()).map_err(|e| e.to_string())?;
        aq.limit = q.limit;
        aq.at = q.at.clone();
        Ok(Box::new(move |env| {
            async move { audit::list(&env.db, &env.actor, &aq).await }.boxed()
        }))
    }
}

pub struct AuditLog {
    pub list: List<Entries>,
    pub detail: Option<AuditDetail>,
    pub verify: Option<VerifyResult>,
}

impl Default for AuditLog {
    fn default() -> Self {
        AuditLog {
            list: List::new(PAGE, Entries, FilterMode::OnEnter),
            detail: None,
            verify: None,
        }
    }
}

impl Screen for AuditLog {
    fn route(&self) -> Route {
        page_route("audit-logs")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.list.reload(ctx);
    }

    fn keys(&self) -> Keys {
        use Action::*;
        // Enter closes the detail or the verify report it opened.
        if self.verify.is_some() {
            return Keys::new().labelled(Open, "close").with(&[Back]);
        }
        if self.detail.is_some() {
            return Keys::new()
                .labelled(Open, "close")
                .with(&[Back, Up, Down, HalfPageDown, HalfPageUp]);
        }
        Keys::new().with(&self.list.keys()).with(&[Open, Verify])
    }

    fn mode(&self) -> Mode {
        self.list.mode(Mode::Audit)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.verify.is_some() {
            if matches!(a, Action::Back | Action::Close | Action::Open | Action::Accept) {
                self.verify = None;
            }
            return true;
        }
        if let Some(d) = &mut self.detail {
            match a {
                Action::Back | Action::Close | Action::Open => self.detail = None,
                Action::Down => d.scroll(1),
                Action::Up => d.scroll(-1),
                Action::HalfPageDown => d.scroll(10),
                Action::HalfPageUp => d.scroll(-10),
                _ => {}
            }
            return true;
        }
        if self.list.on_action(a, ctx) {
            return true;
        }
        match a {
            Action::Open => {
                if let Some(seq) = self.rows().get(self.list.selected()).map(|e| e.seq) {
                    self.detail = Some(AuditDetail::loading(seq));
                    let key = seq.to_string();
                    ctx.load(DETAIL, |env| async move {
                        Reply::Record(audit::get(&env.db, &env.actor, &key).await.map(Box::new))
                    });
                }
            }
            Action::Verify => {
                self.verify = Some(VerifyResult::Running);
                ctx.load(VERIFY, |env| async move {
                    Reply::Verify(audit::verify(&env.db, &env.actor).await)
                });
            }
            _ => return false,
        }
        true
    }

    /// Typing edits the line only: a half-typed `since:1` must not query.
    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.list.on_input(key, ctx);
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Some(msg) = self.list.apply(msg, ctx) else { return };
        let Ok(reply) = msg.downcast::<Reply>() else { return };
        match *reply {
            Reply::Record(r) => {
                if let Some(d) = self.detail.as_mut() {
                    d.arrived(r);
                }
            }
            Reply::Verify(r) => self.verify = Some(VerifyResult::Done(r.map_err(|e| e.to_string()))),
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.list.frame(f, area, theme);
        // Higher priorities stay longest on narrow terminals: who did what, then when.
        let columns = [
            Column::new("SEQ", Constraint::Length(6)).right().priority(3),
            Column::new("AT (UTC)", Constraint::Length(16)).priority(3),
            Column::new("ACTOR", Constraint::Fill(2)).priority(4),
            Column::new("TENANT", Constraint::Length(8)).priority(1),
            Column::new("ACTION", Constraint::Fill(2)).priority(5),
            Column::new("ENTITY", Constraint::Length(10)).priority(2),
            Column::new("ENTITY ID", Constraint::Fill(2)).priority(2),
            Column::new("SOURCE", Constraint::Length(16)),
        ];
        let rows: Vec<DataRow> = self
            .list
            .page
            .iter()
            .flat_map(|p| &p.items)
            .map(|e| {
                DataRow::new([
                    DataCell::styled(e.seq.to_string(), Tone::Muted),
                    DataCell::new(e.at.format("%Y-%m-%d %H:%M").to_string()),
                    DataCell::new(format!("{} ({})", e.actor_name, e.actor_role)),
                    DataCell::styled(
                        e.tenant_id.map(|t| short_id(&t)).unwrap_or_else(|| "—".into()),
                        Tone::Muted,
                    ),
                    DataCell::new(e.action.as_str()),
                    DataCell::new(e.entity.as_str()),
                    DataCell::new(e.entity_id.as_deref().unwrap_or("—")),
                    DataCell::styled(e.source.as_str(), Tone::Muted),
                ])
            })
            .collect();
        let footer = match &self.list.page {
            None => self.list.rows_text(""),
            Some(p) if p.items.is_empty() => "no rows · / filter".to_owned(),
            Some(_) => format!("{} · / filter · v verify", self.list.rows_text("")),
        };
        let empty = self.list.empty_text(
            |_| "No row matches the filter: Esc clears it.".to_owned(),
            "The audit log is empty.",
        );
        let title = self.title();
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty)
            .focused(self.detail.is_none() && self.verify.is_none());
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
        if let Some(d) = &self.detail {
            d.draw(f, theme);
        }
        if let Some(v) = &self.verify {
            v.draw(f, theme);
        }
    }
}

impl AuditLog {
    pub fn rows(&self) -> &[AuditEntry] {
        self.list.items()
    }

    pub fn title(&self) -> String {
        match (
            &self.list.filter_error,
            self.list.applied.as_deref().unwrap_or("").trim(),
        ) {
            (Some(e), _) => format!("Audit log · {e}"),
            (None, "") => "Audit log".to_owned(),
            (None, line) => format!("Audit log · {line}"),
        }
    }
}
