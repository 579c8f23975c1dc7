//! The audit log (`audit-logs`): newest first in keyset pages, narrowed by a filter line
//! (`/`: `actor:ana action:tenant.* entity:tenant tenant:acme since:7d until:2026-12-01`,
//! parsed by `backend::audit::filter`; applied on Enter, and a bad line keeps the old results
//! and says which field is wrong). Enter opens a row with its before/after diff; `v` walks
//! the hash chain.

use backend::audit::{self, AuditEntry, AuditQuery, AuditRecord, VerifyReport};
use backend::page::{Page, PageAt};
use backend::ServiceError;
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::audit::detail::{AuditDetail, VerifyResult};
use crate::screens::common::filter::FilterLine;
use crate::screens::common::paging::{Move, Paging};
use crate::screens::services::queues::model::short_id;
use crate::screens::{page_route, Ctx, Keys, Mode, Screen, LISTING};
use crate::tasks::Msg;

/// What the screen's calls bring back.
enum Reply {
    Page(Result<Page<AuditEntry>, ServiceError>),
    Record(Result<Box<AuditRecord>, ServiceError>),
    Verify(Result<VerifyReport, ServiceError>),
}

const PAGE: &str = "audit";
pub const DETAIL: &str = "audit-detail";
pub const VERIFY: &str = "audit-verify";

#[derive(Default)]
pub struct AuditLog {
    pub page: Option<Page<AuditEntry>>,
    pub error: Option<String>,
    pub filter: FilterLine,
    /// The filter line the shown rows were read with.
    pub applied: String,
    /// Why the last filter line was refused (`since: …`), until the next one applies.
    pub filter_error: Option<String>,
    pub paging: Paging,
    pub detail: Option<AuditDetail>,
    pub verify: Option<VerifyResult>,
}

impl Screen for AuditLog {
    fn route(&self) -> Route {
        page_route("audit-logs")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
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
        Keys::new().with(LISTING).with(&[Open, Verify])
    }

    fn mode(&self) -> Mode {
        if self.filter.editing {
            Mode::Text
        } else {
            Mode::Audit
        }
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
        if self.paging.on_move(a, self.rows().len()) {
            return true;
        }
        match a {
            Action::NextPage | Action::PrevPage => {
                if let Some((at, how)) = self.page.as_ref().and_then(|p| Paging::turn(a, p)) {
                    self.fetch(self.applied.clone(), ctx, at, how);
                }
            }
            Action::Open => {
                if let Some(seq) = self.rows().get(self.paging.selected()).map(|e| e.seq) {
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
            Action::Refresh => self.reload(ctx),
            Action::Filter => self.filter.start(),
            Action::Accept if self.filter.editing => {
                self.filter.accept();
                let line = self.filter.value().unwrap_or_default();
                self.fetch(line, ctx, PageAt::First, Move::First);
            }
            Action::Close if self.filter.editing => {
                self.filter.cancel();
                self.filter_error = None;
                if !self.applied.is_empty() {
                    self.fetch(String::new(), ctx, PageAt::First, Move::First);
                }
            }
            Action::Back if !self.applied.is_empty() => {
                self.filter.cancel();
                self.fetch(String::new(), ctx, PageAt::First, Move::First);
            }
            _ => return false,
        }
        true
    }

    /// Typing edits the line only: a half-typed `since:1` must not query.
    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        if self.filter.editing {
            self.filter.input(key);
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let Ok(reply) = msg.downcast::<Reply>() else { return };
        match *reply {
            Reply::Page(Ok(p)) => {
                self.paging.arrived(&p);
                self.error = None;
                self.page = Some(p);
            }
            Reply::Page(Err(e)) => {
                ctx.emit(Action::FlashError(e.to_string()));
                self.error = Some(e.to_string());
            }
            Reply::Record(r) => {
                if let Some(d) = self.detail.as_mut() {
                    d.arrived(r);
                }
            }
            Reply::Verify(r) => self.verify = Some(VerifyResult::Done(r.map_err(|e| e.to_string()))),
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let area = self.filter.draw_above(f, area, theme);
        self.paging.set_viewport(area);
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
        let footer = match &self.page {
            None => "loading…".to_owned(),
            Some(p) if p.items.is_empty() => "no rows · / filter".to_owned(),
            Some(p) => {
                let more = if p.has_next { " · more ]" } else { "" };
                format!("{}{more} · / filter · v verify", self.paging.rows_label(p.items.len()))
            }
        };
        let empty = match (&self.error, &self.page) {
            (Some(e), _) => e.clone(),
            (None, None) => "Loading…".to_owned(),
            (None, Some(_)) if !self.applied.is_empty() => "No row matches the filter: Esc clears it.".to_owned(),
            (None, Some(_)) => "The audit log is empty.".to_owned(),
        };
        let title = self.title();
        let table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty)
            .focused(self.detail.is_none() && self.verify.is_none());
        f.render_stateful_widget(table, area, &mut self.paging.state);
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
        self.page.as_ref().map_or(&[], |p| p.items.as_slice())
    }

    fn query(&self, line: &str, ctx: &Ctx, at: PageAt) -> Result<AuditQuery, String> {
        let mut q = backend::audit::filter::parse_filter(line, backend::db::now()).map_err(|e| e.to_string())?;
        q.limit = ctx.page_size;
        q.at = at;
        Ok(q)
    }

    /// Reads a page with `line`; a line that does not parse changes nothing.
    fn fetch(&mut self, line: String, ctx: &mut Ctx, at: PageAt, how: Move) {
        match self.query(&line, ctx, at.clone()) {
            Ok(q) => {
                self.filter_error = None;
                self.applied = line;
                self.paging.fetching(at, how);
                ctx.load(PAGE, |env| async move {
                    Reply::Page(audit::list(&env.db, &env.actor, &q).await)
                });
            }
            Err(e) => {
                ctx.emit(Action::FlashError(format!("filter not applied: {e}")));
                self.filter_error = Some(e);
            }
        }
    }

    pub fn reload(&mut self, ctx: &mut Ctx) {
        let (line, at) = (self.applied.clone(), self.paging.at.clone());
        self.fetch(line, ctx, at, Move::Stay);
    }

    pub fn title(&self) -> String {
        match (&self.filter_error, self.applied.trim()) {
            (Some(e), _) => format!("Audit log · {e}"),
            (None, "") => "Audit log".to_owned(),
            (None, line) => format!("Audit log · {line}"),
        }
    }
}
