//! billing/renewals (docs/adr/0027): services due soon with their period's invoice, and
//! below them the dunning timeline of the selected one's invoice — issued, reminders and
//! their e-mails, payment, suspension. The footer counts what needs an eye: services past
//! due (suspension pending), reminders sent, failed e-mails and failed dunning jobs.
//! [`timeline_table`] is the widget the invoice screen shows as its dunning section.

use backend::billing::dunning::read::{self, Event, Overview};
use backend::ServiceError;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::TableState;
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::{page_route, Ctx, Keys, Screen, MOVING};
use crate::tasks::Msg;

/// Days ahead the page looks.
pub const HORIZON_DAYS: i64 = 30;

struct Loaded(Result<Overview, ServiceError>);
struct Timeline(String, Result<Vec<Event>, ServiceError>);

/// The rows of a dunning timeline, oldest first; failures in the error tone, what waits in
/// the warning one.
pub fn timeline_rows(events: &[Event]) -> Vec<DataRow<'static>> {
    events
        .iter()
        .map(|e| {
            let tone = match e.state.as_str() {
                "failed" => Some(Tone::Error),
                "pending" => Some(Tone::Warning),
                _ => None,
            };
            let state = match tone {
                Some(t) => DataCell::styled(e.state.clone(), t),
                None => DataCell::new(e.state.clone()),
            };
            DataRow::new([
                DataCell::new(e.at.format("%Y-%m-%d %H:%M").to_string()),
                DataCell::new(e.what.clone()),
                state,
                DataCell::new(e.detail.clone()),
            ])
        })
        .collect()
}

/// The columns of [`timeline_table`].
pub fn timeline_columns() -> [Column<'static>; 4] {
    [
        Column::new("WHEN", Constraint::Length(16)).priority(7),
        Column::new("STEP", Constraint::Length(18)).priority(9),
        Column::new("STATE", Constraint::Length(8)).priority(8),
        Column::new("DETAIL", Constraint::Fill(1)).min(10).priority(5),
    ]
}

/// A dunning timeline as a table (for the invoice screen's dunning section and this page).
pub fn timeline_table<'a>(
    columns: &'a [Column<'a>],
    rows: &'a [DataRow<'a>],
    title: &'a str,
    empty: &'a str,
    theme: &'a Theme,
) -> DataTable<'a> {
    DataTable::new(columns, rows, theme).title(title).empty_message(empty)
}

#[derive(Default)]
pub struct RenewalsScreen {
    overview: Option<Result<Overview, String>>,
    timeline: Option<(String, Result<Vec<Event>, String>)>,
    state: TableState,
}

impl RenewalsScreen {
    pub fn overview(&self) -> Option<&Overview> {
        match &self.overview {
            Some(Ok(o)) => Some(o),
            _ => None,
        }
    }

    fn count(&self) -> usize {
        self.overview().map_or(0, |o| o.upcoming.len())
    }

    fn load_timeline(&mut self, ctx: &mut Ctx) {
        let Some(o) = self.overview() else { return };
        let Some(u) = o.upcoming.get(self.state.selected().unwrap_or(0)) else {
            return;
        };
        let Some(number) = u.invoice_number.clone() else {
            self.timeline = None;
            return;
        };
        let tenant = u.tenant_slug.clone();
        ctx.load("timeline", move |env| async move {
            // Numbers repeat across tenants: the invoice of this row's tenant.
            let key = match backend::billing::invoices::list(
                &env.db,
                &env.actor,
                backend::billing::invoices::InvoiceFilter {
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            {
                Ok(list) => list
                    .into_iter()
                    .find(|i| i.number == number && i.tenant_slug == tenant)
                    .map_or(number.clone(), |i| i.id.to_string()),
                Err(e) => return Timeline(number, Err(e)),
            };
            Timeline(number, read::timeline(&env.db, &env.actor, &key).await)
        });
    }

    fn step(&mut self, by: isize, ctx: &mut Ctx) {
        let n = self.count();
        if n == 0 {
            return;
        }
        let at = self.state.selected().unwrap_or(0) as isize + by;
        self.state.select(Some(at.clamp(0, n as isize - 1) as usize));
        self.load_timeline(ctx);
    }
}

impl Screen for RenewalsScreen {
    fn route(&self) -> Route {
        page_route("billing/renewals")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        ctx.load("renewals", |env| async move {
            Loaded(read::overview(&env.db, &env.actor, HORIZON_DAYS).await)
        });
    }

    fn keys(&self) -> Keys {
        Keys::new().with(MOVING)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if let Some(by) = crate::screens::common::moving_step(a) {
            self.step(by, ctx);
            return true;
        }
        match a {
            Action::Refresh => self.start(ctx),
            _ => return false,
        }
        true
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Loaded>() {
            Ok(l) => {
                self.overview = Some(l.0.map_err(|e| e.to_string()));
                let n = self.count();
                self.state
                    .select((n > 0).then(|| self.state.selected().unwrap_or(0).min(n - 1)));
                self.load_timeline(ctx);
                return;
            }
            Err(m) => m,
        };
        if let Ok(t) = msg.downcast::<Timeline>() {
            let Timeline(n, r) = *t;
            self.timeline = Some((n, r.map_err(|e| e.to_string())));
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let [top, bottom] = Layout::vertical([Constraint::Percentage(50), Constraint::Fill(1)]).areas(area);
        let columns = [
            Column::new("DUE", Constraint::Length(10)).priority(9),
            Column::new("DOMAIN", Constraint::Fill(2)).min(10).priority(8),
            Column::new("CUSTOMER", Constraint::Fill(1)).min(8).priority(4),
            Column::new("STATUS", Constraint::Length(9)).priority(6),
            Column::new("PRICE", Constraint::Length(13)).priority(5),
            Column::new("INVOICE", Constraint::Length(8)).priority(7),
            Column::new("INV.STATUS", Constraint::Length(10)).priority(6),
        ];
        let upcoming = self.overview().map(|o| o.upcoming.as_slice()).unwrap_or(&[]);
        let rows: Vec<DataRow> = upcoming
            .iter()
            .map(|u| {
                let status = if u.status == "suspended" {
                    DataCell::styled(u.status.clone(), Tone::Warning)
                } else {
                    DataCell::new(u.status.clone())
                };
                DataRow::new([
                    DataCell::new(u.next_due_at.format("%Y-%m-%d").to_string()),
                    DataCell::new(u.domain.clone().unwrap_or_default()),
                    DataCell::new(u.customer_name.clone()),
                    status,
                    DataCell::new(backend::money::format(u.price_minor, &u.currency)),
                    DataCell::new(u.invoice_number.clone().unwrap_or_else(|| "—".into())),
                    DataCell::new(u.invoice_status.clone().unwrap_or_default()),
                ])
            })
            .collect();
        let empty = match &self.overview {
            None => "Loading…".to_owned(),
            Some(Err(e)) => e.clone(),
            Some(Ok(_)) => format!("Nothing due in the next {HORIZON_DAYS} days."),
        };
        let footer = match self.overview() {
            Some(o) => format!(
                "{} due · {} past due · {} reminders · {} failed e-mails · {} failed jobs",
                o.upcoming.len(),
                o.suspensions.len(),
                o.reminders.len(),
                o.failures.len(),
                o.failed_jobs
            ),
            None => String::new(),
        };
        let title = format!("Renewals (next {HORIZON_DAYS} days)");
        let table = DataTable::new(&columns, &rows, theme)
            .title(&title)
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, top, &mut self.state);

        let events: &[Event] = match &self.timeline {
            Some((_, Ok(e))) => e,
            _ => &[],
        };
        let (title, empty) = match &self.timeline {
            None => (
                "Dunning timeline".to_owned(),
                "Select a service whose invoice is issued.".to_owned(),
            ),
            Some((n, Err(e))) => (format!("Dunning timeline of {n}"), e.clone()),
            Some((n, Ok(_))) => (format!("Dunning timeline of {n}"), "Nothing yet.".to_owned()),
        };
        let tcols = timeline_columns();
        let trows = timeline_rows(events);
        let t = timeline_table(&tcols, &trows, &title, &empty, theme);
        f.render_stateful_widget(t, bottom, &mut TableState::default());
    }
}
