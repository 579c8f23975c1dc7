//! billing/credits: reseller balances (the actor's reach), and the ledger of the selected
//! reseller below them. Up/Down choose a reseller; its ledger loads on the move.

use backend::billing::credits::{self, Balance, LedgerEntry};
use backend::ServiceError;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::TableState;
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::{page_route, Ctx, Keys, Screen, MOVING};
use crate::tasks::Msg;

struct Balances(Result<Vec<Balance>, ServiceError>);
struct Ledger(String, Result<Vec<LedgerEntry>, ServiceError>);

#[derive(Default)]
pub struct CreditsScreen {
    balances: Option<Result<Vec<Balance>, String>>,
    ledger: Option<(String, Result<Vec<LedgerEntry>, String>)>,
    state: TableState,
}

impl CreditsScreen {
    pub fn balances(&self) -> &[Balance] {
        match &self.balances {
            Some(Ok(b)) => b,
            _ => &[],
        }
    }

    fn selected(&self) -> Option<&Balance> {
        self.balances().get(self.state.selected().unwrap_or(0))
    }

    fn load_ledger(&mut self, ctx: &mut Ctx) {
        let Some(b) = self.selected() else { return };
        let key = b.user_id.to_string();
        let name = b.username.clone();
        ctx.load("ledger", move |env| async move {
            Ledger(name, credits::ledger(&env.db, &env.actor, &key, 200).await)
        });
    }

    fn step(&mut self, by: isize, ctx: &mut Ctx) {
        let n = self.balances().len();
        if n == 0 {
            return;
        }
        let at = self.state.selected().unwrap_or(0) as isize + by;
        self.state.select(Some(at.clamp(0, n as isize - 1) as usize));
        self.load_ledger(ctx);
    }
}

impl Screen for CreditsScreen {
    fn route(&self) -> Route {
        page_route("billing/credits")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        ctx.load("balances", |env| async move {
            Balances(credits::balances(&env.db, &env.actor, None).await)
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
        let msg = match msg.downcast::<Balances>() {
            Ok(b) => {
                self.balances = Some(b.0.map_err(|e| e.to_string()));
                let n = self.balances().len();
                self.state
                    .select((n > 0).then(|| self.state.selected().unwrap_or(0).min(n - 1)));
                self.load_ledger(ctx);
                return;
            }
            Err(m) => m,
        };
        if let Ok(l) = msg.downcast::<Ledger>() {
            let Ledger(name, r) = *l;
            self.ledger = Some((name, r.map_err(|e| e.to_string())));
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        // The balances take what they need, at most half: the selected reseller's ledger
        // keeps the rest, so it always shows rows (a fixed split left a handful of
        // balances a big empty box and the ledger none).
        let need = u16::try_from(self.balances().len().max(1))
            .unwrap_or(u16::MAX)
            .saturating_add(3);
        let top_h = need.min(area.height / 2).max(4.min(area.height));
        let [top, bottom] = Layout::vertical([Constraint::Length(top_h), Constraint::Fill(1)]).areas(area);
        let columns = [
            Column::new("RESELLER", Constraint::Fill(2)).min(10).priority(9),
            Column::new("ROLE", Constraint::Length(8)).priority(4),
            Column::new("BALANCE", Constraint::Length(16)).priority(8),
            Column::new("LIMIT", Constraint::Length(14)).priority(5),
            Column::new("ALERT <", Constraint::Length(14)).priority(3),
            Column::new("TENANT", Constraint::Length(12)).priority(6),
        ];
        let rows: Vec<DataRow> = self
            .balances()
            .iter()
            .map(|b| {
                let low = b.alert_threshold.is_some_and(|t| b.balance < t) || b.balance < 0;
                DataRow::new([
                    DataCell::new(b.username.clone()),
                    DataCell::new(b.role.clone()),
                    if low {
                        DataCell::styled(backend::money::format(b.balance, &b.currency), Tone::Warning)
                    } else {
                        DataCell::new(backend::money::format(b.balance, &b.currency))
                    },
                    DataCell::new(backend::money::format(b.credit_limit, &b.currency)),
                    DataCell::new(
                        b.alert_threshold
                            .map(|t| backend::money::format(t, &b.currency))
                            .unwrap_or_default(),
                    ),
                    DataCell::new(b.tenant_slug.clone()),
                ])
            })
            .collect();
        let empty = match &self.balances {
            None => "Loading…".to_owned(),
            Some(Err(e)) => e.clone(),
            Some(Ok(_)) => "No reseller has moved credits yet.".to_owned(),
        };
        let footer = format!("{} resellers", self.balances().len());
        let table = DataTable::new(&columns, &rows, theme)
            .title("Credits")
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, top, &mut self.state);

        let lcols = [
            Column::new("WHEN", Constraint::Length(16)).priority(7),
            Column::new("KIND", Constraint::Length(10)).priority(6),
            Column::new("AMOUNT", Constraint::Length(14)).priority(9),
            Column::new("BALANCE", Constraint::Length(14)).priority(8),
            Column::new("DESCRIPTION", Constraint::Fill(1)).min(10).priority(5),
        ];
        let entries: &[LedgerEntry] = match &self.ledger {
            Some((_, Ok(e))) => e,
            _ => &[],
        };
        let lrows: Vec<DataRow> = entries
            .iter()
            .map(|e| {
                DataRow::new([
                    DataCell::new(e.created_at.format("%Y-%m-%d %H:%M").to_string()),
                    DataCell::new(e.kind.clone()),
                    DataCell::new(backend::money::format(e.amount, &e.currency)),
                    DataCell::new(backend::money::format(e.balance_after, &e.currency)),
                    DataCell::new(e.description.clone()),
                ])
            })
            .collect();
        let (title, lempty) = match &self.ledger {
            None => ("Ledger".to_owned(), "Select a reseller.".to_owned()),
            Some((n, Err(e))) => (format!("Ledger of {n}"), e.clone()),
            Some((n, Ok(_))) => (format!("Ledger of {n}"), "No entries yet.".to_owned()),
        };
        let room = DataTable::visible_rows(bottom);
        let lfooter = if entries.len() > room {
            format!("newest {room} of {} entries", entries.len())
        } else {
            format!("{} entries (newest first)", entries.len())
        };
        let ltable = DataTable::new(&lcols, &lrows, theme)
            .title(&title)
            .footer(&lfooter)
            .empty_message(&lempty);
        f.render_stateful_widget(ltable, bottom, &mut TableState::default());
    }
}
