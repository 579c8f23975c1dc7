//! DNS zones (`dns-ssl/zones`): every zone the actor may see with its verification state
//! (waiting for the customer's nameservers, verified, stalled); Enter opens its records.

use backend::dns::zones::{self, Zone};
use backend::ServiceError;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::TableState;
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::browse::tone_for;
use crate::screens::{page_route, Ctx, Keys, Screen, MOVING};
use crate::tasks::Msg;

struct Loaded(Result<Vec<Zone>, ServiceError>);

#[derive(Default)]
pub struct ZonesScreen {
    pub zones: Option<Vec<Zone>>,
    pub error: Option<String>,
    pub state: TableState,
}

/// The verification word's colour.
pub fn verification_tone(v: &str) -> Tone {
    match v {
        "verified" => Tone::Success,
        "waiting NS" => Tone::Warning,
        "stalled" | "error" => Tone::Error,
        _ => Tone::Muted,
    }
}

impl ZonesScreen {
    fn reload(&mut self, ctx: &mut Ctx) {
        ctx.load("zones", |env| async move {
            Loaded(zones::list(&env.db, &env.actor, None, 2000).await)
        });
    }

    pub fn rows(&self) -> &[Zone] {
        self.zones.as_deref().unwrap_or(&[])
    }

    fn selected(&self) -> Option<&Zone> {
        self.rows().get(self.state.selected().unwrap_or(0))
    }
}

/// Moves a table selection for the list keys; true when `a` was one of them.
pub fn step(state: &mut TableState, len: usize, a: &Action) -> bool {
    let cur = state.selected().unwrap_or(0);
    let last = len.saturating_sub(1);
    let next = match a {
        Action::Down => (cur + 1).min(last),
        Action::Up => cur.saturating_sub(1),
        Action::Top => 0,
        Action::Bottom => last,
        Action::HalfPageDown => (cur + 10).min(last),
        Action::HalfPageUp => cur.saturating_sub(10),
        _ => return false,
    };
    state.select(Some(next));
    true
}

impl Screen for ZonesScreen {
    fn route(&self) -> Route {
        page_route("dns-ssl/zones")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.reload(ctx);
    }

    fn keys(&self) -> Keys {
        Keys::new().with(MOVING).with(&[Action::Open])
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        let len = self.rows().len();
        if step(&mut self.state, len, a) {
            return true;
        }
        match a {
            Action::Refresh => {
                self.reload(ctx);
                true
            }
            Action::Open => {
                if let Some(z) = self.selected() {
                    ctx.emit(Action::Goto(format!("dns-ssl/zones/{}", z.name)));
                }
                true
            }
            _ => false,
        }
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, _ctx: &mut Ctx) {
        let Ok(r) = msg.downcast::<Loaded>() else { return };
        match r.0 {
            Ok(z) => {
                if self.state.selected().is_none() && !z.is_empty() {
                    self.state.select(Some(0));
                }
                self.zones = Some(z);
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let Some(zones) = &self.zones else {
            let msg = self.error.clone().unwrap_or_else(|| "Loading zones…".into());
            return crate::screens::notice(f, area, "DNS zones", &msg, theme.muted, theme);
        };
        let columns = [
            Column::new("ZONE", Constraint::Fill(2)).min(12).priority(9),
            Column::new("STATUS", Constraint::Length(8)).priority(8),
            Column::new("NS CHECK", Constraint::Length(10)).priority(8),
            Column::new("RECS", Constraint::Length(4)).priority(6),
            Column::new("TENANT", Constraint::Length(10)).priority(4),
            Column::new("NAMESERVERS", Constraint::Fill(3)).min(12).priority(5),
            Column::new("LAST ERROR", Constraint::Fill(2)).min(10).priority(3),
        ];
        let rows: Vec<DataRow> = zones
            .iter()
            .map(|z| {
                let v = z.verification();
                DataRow::new([
                    DataCell::new(z.name.clone()),
                    DataCell::styled(z.status.clone(), tone_for(&z.status)),
                    DataCell::styled(v.to_owned(), verification_tone(v)),
                    DataCell::new(z.records.to_string()),
                    DataCell::new(z.tenant_slug.clone()),
                    DataCell::new(z.nameservers().join(" ")),
                    DataCell::styled(z.last_error.clone().unwrap_or_default(), Tone::Error),
                ])
            })
            .collect();
        let footer = format!("{} zones", zones.len());
        let table = DataTable::new(&columns, &rows, theme)
            .title("DNS zones")
            .footer(&footer)
            .empty_message("No DNS zones yet: painel dns zones create <domain>.");
        f.render_stateful_widget(table, area, &mut self.state);
    }
}
