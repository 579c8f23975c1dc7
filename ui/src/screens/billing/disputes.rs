//! billing/disputes: chargebacks by evidence deadline — open ones first, the nearest deadline
//! on top, days left coloured (overdue or ≤ 2 days red, ≤ 7 yellow) — and one dispute
//! (`billing/disputes/<id>`): what is disputed, for how much, until when.

use backend::billing::stripe::disputes::{self, DisputeFilter, DisputeRow};
use backend::ServiceError;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::TableState;
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, KeyValuePanel, KvEntry, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::{notice, page_route, Ctx, Keys, Screen, MOVING};
use crate::tasks::Msg;

struct Loaded(Result<Vec<DisputeRow>, ServiceError>);
struct One(Result<DisputeRow, ServiceError>);

/// How urgent a deadline is.
pub fn days_tone(days: Option<i64>) -> Tone {
    match days {
        Some(d) if d <= 2 => Tone::Error,
        Some(d) if d <= 7 => Tone::Warning,
        Some(_) => Tone::Success,
        None => Tone::Muted,
    }
}

fn days_text(days: Option<i64>) -> String {
    match days {
        Some(d) if d < 0 => format!("{} d late", -d),
        Some(d) => format!("{d} d"),
        None => "—".into(),
    }
}

#[derive(Default)]
pub struct DisputesScreen {
    rows: Option<Result<Vec<DisputeRow>, String>>,
    state: TableState,
}

impl DisputesScreen {
    pub fn rows(&self) -> &[DisputeRow] {
        match &self.rows {
            Some(Ok(r)) => r,
            _ => &[],
        }
    }

    fn step(&mut self, by: isize) {
        let n = self.rows().len();
        if n == 0 {
            return;
        }
        let at = self.state.selected().unwrap_or(0) as isize + by;
        self.state.select(Some(at.clamp(0, n as isize - 1) as usize));
    }
}

impl Screen for DisputesScreen {
    fn route(&self) -> Route {
        page_route("billing/disputes")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        ctx.load("disputes", |env| async move {
            let f = DisputeFilter {
                limit: 500,
                ..Default::default()
            };
            Loaded(disputes::list(&env.db, &env.actor, f).await)
        });
    }

    fn keys(&self) -> Keys {
        Keys::new().with(MOVING).with(&[Action::Open])
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(by) = crate::screens::common::moving_step(a) {
            self.step(by);
            return true;
        }
        match a {
            Action::Refresh => self.start(ctx),
            Action::Open => {
                if let Some(d) = self.rows().get(self.state.selected().unwrap_or(0)) {
                    ctx.emit(Action::Goto(format!("billing/disputes/{}", d.id)));
                }
            }
            _ => return false,
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, _ctx: &mut Ctx) {
        if let Ok(l) = msg.downcast::<Loaded>() {
            self.rows = Some(l.0.map_err(|e| e.to_string()));
            let n = self.rows().len();
            self.state
                .select((n > 0).then(|| self.state.selected().unwrap_or(0).min(n - 1)));
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let columns = [
            Column::new("DUE IN", Constraint::Length(9)).priority(9),
            Column::new("STATUS", Constraint::Length(14)).priority(9),
            Column::new("AMOUNT", Constraint::Length(14)).priority(8),
            Column::new("REASON", Constraint::Fill(1)).min(8).priority(5),
            Column::new("INVOICE", Constraint::Length(10)).priority(6),
            Column::new("CUSTOMER", Constraint::Fill(1)).min(8).priority(4),
            Column::new("EVIDENCE DUE", Constraint::Length(16)).priority(3),
        ];
        let now = backend::db::now();
        let rows: Vec<DataRow> = self
            .rows()
            .iter()
            .map(|d| {
                let days = d.days_left(now);
                let status_tone = match d.status.as_str() {
                    "won" => Tone::Success,
                    "lost" => Tone::Error,
                    "closed" => Tone::Muted,
                    _ => Tone::Normal,
                };
                DataRow::new([
                    DataCell::styled(days_text(days), days_tone(days)),
                    DataCell::styled(d.status.clone(), status_tone),
                    DataCell::new(backend::money::format(d.amount_minor, &d.currency)),
                    DataCell::new(d.reason.clone().unwrap_or_default()),
                    DataCell::new(d.invoice_number.clone()),
                    DataCell::new(d.customer_name.clone().unwrap_or_default()),
                    DataCell::new(
                        d.evidence_due_at
                            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_default(),
                    ),
                ])
            })
            .collect();
        let empty = match &self.rows {
            None => "Loading…".to_owned(),
            Some(Err(e)) => e.clone(),
            Some(Ok(_)) => "No disputes: no chargebacks opened.".to_owned(),
        };
        let open = self.rows().iter().filter(|d| !disputes::is_closed(&d.status)).count();
        let footer = format!("{open} open · {} in all · by evidence deadline", self.rows().len());
        let table = DataTable::new(&columns, &rows, theme)
            .title("Disputes")
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, area, &mut self.state);
    }
}

/// One dispute.
pub struct DisputeScreen {
    key: String,
    row: Option<Result<DisputeRow, String>>,
}

impl DisputeScreen {
    pub fn new(key: String) -> DisputeScreen {
        DisputeScreen { key, row: None }
    }

    pub fn dispute(&self) -> Option<&DisputeRow> {
        self.row.as_ref().and_then(|r| r.as_ref().ok())
    }
}

impl Screen for DisputeScreen {
    fn route(&self) -> Route {
        Route::Dispute { key: self.key.clone() }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        let key = self.key.clone();
        ctx.load("dispute", move |env| async move {
            One(disputes::show(&env.db, &env.actor, &key).await)
        });
    }

    fn keys(&self) -> Keys {
        Keys::new()
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::Refresh => self.start(ctx),
            _ => return false,
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, _ctx: &mut Ctx) {
        if let Ok(o) = msg.downcast::<One>() {
            self.row = Some(o.0.map_err(|e| e.to_string()));
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let d = match &self.row {
            None => return notice(f, area, "Dispute", "Loading…", theme.muted, theme),
            Some(Err(e)) => return notice(f, area, "Dispute", e, theme.error, theme),
            Some(Ok(d)) => d,
        };
        let days = d.days_left(backend::db::now());
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "—".into())
        };
        let entries = [
            KvEntry::new("Status", d.status.clone()),
            KvEntry::new("Evidence due", time(d.evidence_due_at)),
            KvEntry::new("Days left", days_text(days)).tone(days_tone(days)),
            KvEntry::new("Amount", backend::money::format(d.amount_minor, &d.currency)),
            KvEntry::new("Reason", d.reason.clone().unwrap_or_else(|| "—".into())),
            KvEntry::new("Invoice", d.invoice_number.clone()),
            KvEntry::new("Customer", d.customer_name.clone().unwrap_or_else(|| "—".into())),
            KvEntry::new("Tenant", d.tenant_slug.clone()),
            KvEntry::new("Provider", format!("{} {}", d.provider, d.external_id)),
            KvEntry::new("Payment", d.payment_id.to_string()),
            KvEntry::new("Opened", time(Some(d.created_at))),
            KvEntry::new("Closed", time(d.closed_at)),
        ];
        let title = format!("Dispute {}", &d.id.to_string()[28..]);
        f.render_widget(KeyValuePanel::new(&entries, theme).title(&title).focused(true), area);
    }
}
