//! One zone (`dns-ssl/zones/<name>`): the nameservers to give the customer, the verification
//! state, and the records — `c` adds one (`TYPE NAME CONTENT`, MX `MX NAME PRIORITY HOST`),
//! `e` edits the selected record's content, `x` removes it (Enter confirms). Every change is
//! validated by the service layer; its field errors show under the input, and the record is
//! pushed to Cloudflare by a job (its sync column follows).

use backend::dns::records::RecordInput;
use backend::dns::zones::{self, Record, RecordEdit, Zone};
use backend::ServiceError;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, TableState};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use super::zones::{step, verification_tone};
use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::{Ctx, Dialog, Keys, Mode, Screen, MOVING};
use crate::tasks::Msg;

struct Loaded(Result<(Zone, Vec<Record>), ServiceError>);
struct Saved(Result<String, ServiceError>);

/// What the input line is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Editing {
    Add(String),
    /// The record's id and the new content.
    Edit(uuid::Uuid, String),
    Remove(uuid::Uuid),
}

pub struct ZoneScreen {
    pub name: String,
    pub zone: Option<Zone>,
    pub records: Vec<Record>,
    pub error: Option<String>,
    pub editing: Option<Editing>,
    /// The service layer's answer to the last change (field: message…).
    pub problem: Option<String>,
    pub state: TableState,
}

impl ZoneScreen {
    pub fn new(name: String) -> ZoneScreen {
        ZoneScreen {
            name,
            zone: None,
            records: Vec::new(),
            error: None,
            editing: None,
            problem: None,
            state: TableState::default(),
        }
    }

    fn reload(&mut self, ctx: &mut Ctx) {
        let name = self.name.clone();
        ctx.load("zone", move |env| async move {
            Loaded(zones::get(&env.db, &env.actor, &name).await)
        });
    }

    fn selected(&self) -> Option<&Record> {
        self.records.get(self.state.selected().unwrap_or(0))
    }

    fn submit(&mut self, ctx: &mut Ctx) {
        let Some(e) = self.editing.clone() else { return };
        let zone = self.name.clone();
        match e {
            Editing::Add(text) => {
                let input = parse_add(&text);
                ctx.load("save", move |env| async move {
                    Saved(
                        zones::add_record(&env.db, &env.actor, &zone, &input)
                            .await
                            .map(|(r, _)| format!("added {} {}", r.record_type, r.name)),
                    )
                });
            }
            Editing::Edit(id, content) => {
                let edit = RecordEdit {
                    content: Some(content),
                    ..RecordEdit::default()
                };
                ctx.load("save", move |env| async move {
                    Saved(
                        zones::edit_record(&env.db, &env.actor, &zone, &id.simple().to_string(), &edit)
                            .await
                            .map(|(r, _)| format!("changed {} {}", r.record_type, r.name)),
                    )
                });
            }
            Editing::Remove(id) => {
                ctx.load("save", move |env| async move {
                    Saved(
                        zones::remove_record(&env.db, &env.actor, &zone, &id.simple().to_string())
                            .await
                            .map(|(r, _)| format!("removed {} {}", r.record_type, r.name)),
                    )
                });
            }
        }
    }
}

/// `TYPE NAME CONTENT…` (`MX NAME PRIORITY HOST`): TXT content keeps its spaces.
pub fn parse_add(text: &str) -> RecordInput {
    let mut words = text.split_whitespace();
    let record_type = words.next().unwrap_or("").to_ascii_uppercase();
    let name = words.next().unwrap_or("").to_owned();
    let mut rest: Vec<&str> = words.collect();
    let mut priority = None;
    if record_type == "MX" && rest.len() > 1 {
        priority = rest.first().and_then(|p| p.parse().ok());
        if priority.is_some() {
            rest.remove(0);
        }
    }
    RecordInput {
        record_type,
        name,
        content: rest.join(" "),
        ttl: None,
        priority,
        proxied: false,
    }
}

fn problem_text(e: &ServiceError) -> String {
    match e.fields() {
        [] => e.to_string(),
        fields => fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join(" · "),
    }
}

impl Screen for ZoneScreen {
    fn route(&self) -> Route {
        Route::Zone {
            name: self.name.clone(),
        }
    }

    fn mode(&self) -> Mode {
        match self.editing {
            Some(Editing::Add(_) | Editing::Edit(..)) => Mode::Text,
            _ => Mode::List,
        }
    }

    fn dialog(&self) -> Option<Dialog> {
        match self.editing {
            Some(Editing::Remove(_)) => Some(Dialog::Confirm { fields: false }),
            Some(_) => Some(Dialog::Form),
            None => None,
        }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new()
            .with(MOVING)
            .labelled(Action::Create, "add record")
            .when(self.selected().is_some(), &[Action::Edit])
            .labelled(Action::Suspend, "remove")
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Create | Action::Edit | Action::Suspend).then_some(backend::authz::Permission::DnsManage)
    }

    fn accept_label(&self) -> Option<&'static str> {
        match self.editing {
            Some(Editing::Remove(_)) => Some("remove"),
            Some(_) => Some("save"),
            None => None,
        }
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.editing.is_some() {
            match a {
                Action::Accept => self.submit(ctx),
                Action::Close => {
                    self.editing = None;
                    self.problem = None;
                }
                _ => {}
            }
            return true;
        }
        if step(&mut self.state, self.records.len(), a) {
            return true;
        }
        match a {
            Action::Refresh => self.reload(ctx),
            Action::Create => {
                self.problem = None;
                self.editing = Some(Editing::Add(String::new()));
            }
            Action::Edit => {
                if let Some(r) = self.selected() {
                    self.editing = Some(Editing::Edit(r.id, r.content.clone()));
                    self.problem = None;
                }
            }
            Action::Suspend => {
                if let Some(r) = self.selected() {
                    self.editing = Some(Editing::Remove(r.id));
                    self.problem = None;
                }
            }
            _ => return false,
        }
        true
    }

    fn on_input(&mut self, key: KeyEvent, _ctx: &mut Ctx) {
        let text = match &mut self.editing {
            Some(Editing::Add(t) | Editing::Edit(_, t)) => t,
            _ => return,
        };
        match key.code {
            KeyCode::Char(c) if !c.is_control() && text.len() < 2100 => text.push(c),
            KeyCode::Backspace => {
                text.pop();
            }
            _ => {}
        }
    }

    fn apply(&mut self, slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        if slot == "save" {
            let Ok(r) = msg.downcast::<Saved>() else { return };
            match r.0 {
                Ok(what) => {
                    self.editing = None;
                    self.problem = None;
                    ctx.emit(Action::Flash(format!("{what}; a job pushes it to Cloudflare")));
                    self.reload(ctx);
                }
                Err(e) => self.problem = Some(problem_text(&e)),
            }
            return;
        }
        let Ok(r) = msg.downcast::<Loaded>() else { return };
        match r.0 {
            Ok((z, recs)) => {
                if self.state.selected().is_none_or(|i| i >= recs.len()) {
                    self.state.select((!recs.is_empty()).then_some(0));
                }
                self.zone = Some(z);
                self.records = recs;
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(z) = &self.zone else {
            let msg = self
                .error
                .clone()
                .unwrap_or_else(|| format!("Loading zone {}…", self.name));
            return crate::screens::notice(f, area, "DNS zone", &msg, theme.muted, theme);
        };
        let input_h = if self.editing.is_some() { 4 } else { 0 };
        let [head, table_area, input] =
            Layout::vertical([Constraint::Length(3), Constraint::Fill(1), Constraint::Length(input_h)]).areas(area);
        let v = z.verification();
        let sanitize = |s: &str| widgets::text::sanitize(s).into_owned();
        let head_lines = vec![
            Line::from(vec![
                Span::styled(sanitize(&z.name), theme.tone(Tone::Accent)),
                Span::raw("  zone "),
                Span::styled(z.status.clone(), theme.tone(tone_for(&z.status))),
                Span::raw("  NS check "),
                Span::styled(v.to_owned(), theme.tone(verification_tone(v))),
                Span::raw(format!("  tenant {}", sanitize(&z.tenant_slug))),
            ]),
            Line::from(vec![
                Span::styled("Customer sets at the registrar: ", theme.muted),
                Span::raw(sanitize(&z.nameservers().join(" "))),
            ]),
            Line::from(Span::styled(
                sanitize(z.last_error.as_deref().unwrap_or("")),
                theme.tone(Tone::Error),
            )),
        ];
        f.render_widget(Paragraph::new(head_lines), head);
        let columns = [
            Column::new("TYPE", Constraint::Length(5)).priority(9),
            Column::new("NAME", Constraint::Fill(2)).min(12).priority(9),
            Column::new("CONTENT", Constraint::Fill(3)).min(12).priority(9),
            Column::new("TTL", Constraint::Length(5)).priority(4),
            Column::new("PRI", Constraint::Length(4)).priority(5),
            Column::new("SYNC", Constraint::Length(8)).priority(8),
            Column::new("ERROR", Constraint::Fill(2)).min(8).priority(3),
        ];
        let rows: Vec<DataRow> = self
            .records
            .iter()
            .map(|r| {
                let sync = match r.sync_status.as_str() {
                    "synced" => Tone::Success,
                    "error" => Tone::Error,
                    _ => Tone::Warning,
                };
                DataRow::new([
                    DataCell::new(r.record_type.clone()),
                    DataCell::new(r.name.clone()),
                    DataCell::new(r.content.clone()),
                    DataCell::new(if r.ttl == 1 { "auto".into() } else { r.ttl.to_string() }),
                    DataCell::new(r.priority.map(|p| p.to_string()).unwrap_or_default()),
                    DataCell::styled(r.sync_status.clone(), sync),
                    DataCell::styled(r.last_error.clone().unwrap_or_default(), Tone::Error),
                ])
            })
            .collect();
        let footer = format!("{} records", self.records.len());
        let table = DataTable::new(&columns, &rows, theme)
            .title("Records")
            .footer(&footer)
            .empty_message("No records yet: c adds one.");
        f.render_stateful_widget(table, table_area, &mut self.state);
        if let Some(e) = &self.editing {
            let prompt = match e {
                Editing::Add(t) => format!("add (TYPE NAME CONTENT, MX NAME PRIO HOST): {t}▏"),
                Editing::Edit(_, t) => format!("new content: {t}▏"),
                Editing::Remove(_) => {
                    let what = self
                        .selected()
                        .map(|r| format!("{} {} {}", r.record_type, r.name, r.content))
                        .unwrap_or_default();
                    format!("remove {what}? Enter removes, Esc keeps it")
                }
            };
            let lines = vec![
                Line::from(sanitize(&prompt)),
                Line::from(Span::styled(
                    sanitize(self.problem.as_deref().unwrap_or("")),
                    theme.tone(Tone::Error),
                )),
            ];
            f.render_widget(Paragraph::new(lines).block(theme.block(true)), input);
        }
    }
}
