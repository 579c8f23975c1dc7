//! `dns-ssl/certificates` (docs/adr/0032): every certificate sorted by days left, coloured
//! by how urgent it is (red: expired, under [`RED_DAYS`] days or nothing usable served;
//! yellow: inside the renewal window), refreshed every few seconds so a renewal shows up
//! by itself. Enter shows one certificate whole; `r` asks WHM for AutoSSL and `c` checks the
//! domain now (both enqueue a job).

use std::time::{Duration, Instant};

use backend::authz::Permission;
use backend::page::Page;
use backend::ssl::{self, CertQuery, Certificate, RED_DAYS};
use chrono::{DateTime, SecondsFormat, Utc};
use crossterm::event::KeyEvent;
use futures::FutureExt;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use widgets::{Column, DataCell, DataRow, DataTable, Theme, Tone};

use crate::action::Action;
use crate::router::Route;
use crate::screens::common::list::{FilterMode, List, Query, Read, Source};
use crate::screens::{page_route, Ctx, Keys, Mode, Screen};
use crate::tasks::Msg;

/// How often the list reloads while shown.
const LIVE: Duration = Duration::from_secs(3);
/// Yellow below this many days (the default renewal window).
pub const YELLOW_DAYS: i64 = backend::ssl::settings::DEFAULT_RENEW_DAYS;

/// Reads the inventory (one page: most urgent first, capped by the service).
pub struct Certs;

impl Source for Certs {
    type Page = Page<Certificate>;

    fn read(&self, q: &Query) -> Result<Read<Page<Certificate>>, String> {
        let q = CertQuery {
            filter: q.filter.clone(),
            ..CertQuery::default()
        };
        Ok(Box::new(move |env| {
            async move {
                ssl::list(&env.db, &env.actor, &q).await.map(|items| Page {
                    items,
                    has_next: false,
                    has_prev: false,
                    first: None,
                    last: None,
                    next_cursor: None,
                })
            }
            .boxed()
        }))
    }
}

struct Requested(Result<(String, String), String>);

pub struct CertificatesScreen {
    pub list: List<Certs>,
    /// The certificate shown whole (Enter), by id.
    pub detail: Option<uuid::Uuid>,
    last: Option<Instant>,
    /// What "now" is for days left (tests fix it).
    pub now: Option<DateTime<Utc>>,
}

impl Default for CertificatesScreen {
    fn default() -> Self {
        CertificatesScreen {
            list: List::new("page", Certs, FilterMode::Live),
            detail: None,
            last: None,
            now: None,
        }
    }
}

/// The tone of a certificate: red, yellow or green by state and days left.
pub fn tone(state: &str, days_left: Option<i64>) -> Tone {
    match state {
        "expired" | "missing" | "mismatch" | "untrusted" => Tone::Error,
        "unreachable" => Tone::Warning,
        "unchecked" => Tone::Muted,
        _ => match days_left {
            Some(d) if d < RED_DAYS => Tone::Error,
            Some(d) if d < YELLOW_DAYS => Tone::Warning,
            Some(_) => Tone::Success,
            None => Tone::Muted,
        },
    }
}

fn days_text(d: Option<i64>) -> String {
    match d {
        Some(d) if d < 0 => format!("{d}"),
        Some(d) => d.to_string(),
        None => "—".into(),
    }
}

fn when(t: &Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| "never".into())
}

impl CertificatesScreen {
    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(backend::db::now)
    }

    pub fn rows(&self) -> &[Certificate] {
        self.list.items()
    }

    pub fn selected(&self) -> Option<&Certificate> {
        match self.detail {
            Some(id) => self.rows().iter().find(|c| c.id == id),
            None => self.rows().get(self.list.selected()),
        }
    }

    fn request(&mut self, renew: bool, ctx: &mut Ctx) {
        let Some(c) = self.selected() else {
            return;
        };
        let key = c.id.to_string();
        ctx.load("request", move |env| async move {
            let r = if renew {
                ssl::request_renew(&env.db, &env.actor, &key).await
            } else {
                ssl::request_check(&env.db, &env.actor, &key).await
            };
            Requested(r.map(|(c, j)| (c.domain, j.kind)).map_err(|e| e.to_string()))
        });
    }

    fn draw_detail(&self, f: &mut Frame, area: Rect, theme: &Theme, c: &Certificate) {
        let now = self.now();
        let days = c.days_left(now);
        let t = tone(&c.state, days);
        let field = |k: &str, v: String| {
            Line::from(vec![
                Span::styled(format!("{k:<14}"), theme.tone(Tone::Muted)),
                Span::raw(widgets::text::sanitize(&v).into_owned()),
            ])
        };
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format!("{:<14}", "state"), theme.tone(Tone::Muted)),
                Span::styled(format!("{} ({} days left)", c.state, days_text(days)), theme.tone(t)),
            ]),
            field("issuer", c.issuer.clone().unwrap_or_default()),
            field("subject", c.subject.clone().unwrap_or_default()),
            field("names", c.sans().join(", ")),
            field("not before", when(&c.not_before)),
            field("not after", when(&c.not_after)),
            field("tenant", c.tenant_slug.clone()),
            field(
                "server",
                format!(
                    "{} (cPanel user {})",
                    c.server_name.clone().unwrap_or_else(|| "—".into()),
                    c.username.clone().unwrap_or_else(|| "—".into())
                ),
            ),
            field("fingerprint", c.fingerprint.clone().unwrap_or_default()),
            field("checked", when(&c.last_checked_at)),
            field("AutoSSL asked", when(&c.renew_requested_at)),
        ];
        if let Some(e) = &c.last_error {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<14}", "error"), theme.tone(Tone::Muted)),
                Span::styled(widgets::text::sanitize(e).into_owned(), theme.tone(Tone::Error)),
            ]));
        }
        if let Some(e) = &c.renew_error {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<14}", "AutoSSL error"), theme.tone(Tone::Muted)),
                Span::styled(widgets::text::sanitize(e).into_owned(), theme.tone(Tone::Error)),
            ]));
        }
        let title = format!("Certificate {}", widgets::text::sanitize(&c.domain));
        let block = theme
            .block(true)
            .title(theme.title_line(&title, usize::from(area.width.saturating_sub(2))));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block), area);
    }
}

impl Screen for CertificatesScreen {
    fn route(&self) -> Route {
        page_route("dns-ssl/certificates")
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.last = Some(Instant::now());
        self.list.reload(ctx);
    }

    fn keys(&self) -> Keys {
        let base = if self.detail.is_some() {
            Keys::new()
        } else {
            Keys::new().with(&self.list.keys()).labelled(Action::Open, "details")
        };
        base.labelled(Action::Reactivate, "AutoSSL")
            .labelled(Action::Create, "check now")
    }

    fn needs(&self, a: &Action) -> Option<Permission> {
        matches!(a, Action::Reactivate | Action::Create).then_some(Permission::ServicesManage)
    }

    fn mode(&self) -> Mode {
        self.list.mode(Mode::List)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        if self.detail.is_some() {
            return match a {
                Action::Back => {
                    self.detail = None;
                    true
                }
                Action::Reactivate => {
                    self.request(true, ctx);
                    true
                }
                Action::Create => {
                    self.request(false, ctx);
                    true
                }
                Action::Refresh => {
                    self.list.reload(ctx);
                    true
                }
                _ => false,
            };
        }
        if self.list.on_action(a, ctx) {
            return true;
        }
        match a {
            Action::Open => {
                self.detail = self.selected().map(|c| c.id);
                true
            }
            Action::Reactivate => {
                self.request(true, ctx);
                true
            }
            Action::Create => {
                self.request(false, ctx);
                true
            }
            _ => false,
        }
    }

    fn on_input(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        self.list.on_input(key, ctx);
    }

    fn filter_by(&mut self, text: &str, ctx: &mut Ctx) -> bool {
        self.list.preset(text, ctx);
        true
    }

    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        if self.last.is_some_and(|t| t.elapsed() >= LIVE) {
            self.last = Some(Instant::now());
            self.list.reload(ctx);
        }
        false
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        match msg.downcast::<Requested>() {
            Ok(r) => match r.0 {
                Ok((domain, kind)) => {
                    let what = if kind == ssl::jobs::AUTOSSL {
                        "AutoSSL requested"
                    } else {
                        "check queued"
                    };
                    ctx.emit(Action::Flash(format!("{what} for {domain}")));
                }
                Err(e) => ctx.emit(Action::FlashError(e)),
            },
            Err(msg) => {
                self.list.apply(msg, ctx);
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        if let Some(c) = self
            .detail
            .and_then(|id| self.rows().iter().find(|c| c.id == id))
            .cloned()
        {
            self.draw_detail(f, area, theme, &c);
            return;
        }
        let now = self.now();
        let area = self.list.frame(f, area, theme);
        let columns = [
            Column::new("DOMAIN", Constraint::Fill(3)).min(12).priority(9),
            Column::new("DAYS", Constraint::Length(5)).priority(8),
            Column::new("STATE", Constraint::Length(11)).priority(8),
            Column::new("ISSUER", Constraint::Fill(2)).min(8).priority(4),
            Column::new("TENANT", Constraint::Length(10)).priority(5),
            Column::new("ERROR", Constraint::Fill(3)).min(10).priority(6),
        ];
        let rows: Vec<DataRow> = self
            .list
            .items()
            .iter()
            .map(|c| {
                let days = c.days_left(now);
                let t = tone(&c.state, days);
                let error = c
                    .last_error
                    .clone()
                    .or_else(|| c.renew_error.as_ref().map(|e| format!("AutoSSL: {e}")))
                    .unwrap_or_default();
                DataRow::new([
                    DataCell::new(c.domain.clone()),
                    DataCell::styled(days_text(days), t),
                    DataCell::styled(c.state.clone(), t),
                    DataCell::new(c.issuer.clone().unwrap_or_default()),
                    DataCell::new(c.tenant_slug.clone()),
                    DataCell::styled(error, Tone::Error),
                ])
            })
            .collect();
        let footer = self.list.rows_text("no certificates");
        let empty = self
            .list
            .empty_text(|v| format!("No certificate matches \"{v}\"."), "No certificates yet.");
        let table = DataTable::new(&columns, &rows, theme)
            .wide(self.list.wide)
            .title("Certificates · by days left")
            .footer(&footer)
            .empty_message(&empty);
        f.render_stateful_widget(table, area, &mut self.list.paging.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_colour_by_days_and_state() {
        assert_eq!(tone("valid", Some(60)), Tone::Success);
        assert_eq!(tone("expiring", Some(20)), Tone::Warning);
        assert_eq!(tone("expiring", Some(6)), Tone::Error);
        assert_eq!(tone("expired", Some(-2)), Tone::Error);
        assert_eq!(tone("mismatch", Some(200)), Tone::Error);
        assert_eq!(tone("unreachable", None), Tone::Warning);
        assert_eq!(tone("unchecked", None), Tone::Muted);
    }
}
