//! The PIX modal of an invoice (`billing/invoices/<id>/pix`, docs/adr/0029): the QR code drawn
//! in the terminal (the renderer 2FA enrolment uses), the copy-and-paste code, the expiry and
//! who issued it. `e` asks for a charge: a static BR Code is made at once; a Mercado Pago or
//! PagSeguro charge is created by the `billing.pix_charge` job, which the modal watches —
//! no provider is called from a keypress.

use std::time::{Duration, Instant};

use backend::billing::pix::{charges, PixCharge};
use backend::error::ServiceError;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::router::Route;
use crate::screens::{Ctx, Keys, Screen};
use crate::tasks::Msg;

const LOAD: &str = "pix.load";
const REQUEST: &str = "pix.request";
/// Columns between the QR and the text beside it.
const QR_GAP: u16 = 2;
/// The narrowest the text beside the QR may be.
const TEXT_MIN: u16 = 30;

/// The terminal size at which the QR shows: the modal's borders, the gap and the text
/// column around the code, the print command's row under it, plus what the console's
/// chrome takes around `area`.
pub fn qr_terminal(frame: Rect, area: Rect, qr_w: u16, qr_h: u16) -> (u16, u16) {
    let chrome_w = frame.width.saturating_sub(area.width);
    let chrome_h = frame.height.saturating_sub(area.height);
    let mut w = qr_w + QR_GAP + TEXT_MIN + 2 + chrome_w;
    // That wide, the side navigation appears and takes its columns too.
    if w >= widgets::SideNav::MIN_TOTAL_WIDTH && chrome_w < widgets::SideNav::WIDTH {
        w += widgets::SideNav::WIDTH;
    }
    // At the narrowest the column beside the QR holds no whole `painel invoices pix <id>`:
    // that line takes a row under the QR.
    (w, qr_h + 1 + 2 + chrome_h)
}

/// How often the modal looks again while the job creates the charge.
const WATCH: Duration = Duration::from_secs(1);

struct Loaded(Result<Option<PixCharge>, ServiceError>);
struct Requested(Result<PixCharge, ServiceError>);

pub struct PixScreen {
    pub key: String,
    /// `None` while the first load runs.
    pub charge: Option<Result<Option<PixCharge>, String>>,
    /// The QR rows of the charge's code.
    pub qr: Vec<String>,
    busy: bool,
    last: Option<Instant>,
}

impl PixScreen {
    pub fn new(key: String) -> PixScreen {
        PixScreen {
            key,
            charge: None,
            qr: Vec::new(),
            busy: false,
            last: None,
        }
    }

    /// Shows `c` as if loaded (render tests).
    pub fn show(&mut self, c: Option<PixCharge>) {
        self.qr = c
            .as_ref()
            .and_then(|c| c.code.as_deref())
            .and_then(|code| widgets::qr::qr_lines(code).ok())
            .unwrap_or_default();
        self.charge = Some(Ok(c));
    }

    fn current(&self) -> Option<&PixCharge> {
        self.charge
            .as_ref()
            .and_then(|c| c.as_ref().ok())
            .and_then(Option::as_ref)
    }

    fn load(&mut self, ctx: &mut Ctx) {
        self.last = Some(Instant::now());
        let key = self.key.clone();
        ctx.load(LOAD, move |env| async move {
            Loaded(charges::current(&env.db, &env.actor, &key).await)
        });
    }

    /// Whether `e` makes sense now: no charge, or one that ended.
    fn can_request(&self) -> bool {
        !self.busy
            && matches!(&self.charge, Some(Ok(c)) if c.as_ref().is_none_or(|c| matches!(c.status.as_str(), "failed" | "expired")))
    }
}

impl Screen for PixScreen {
    fn route(&self) -> Route {
        Route::InvoicePix { key: self.key.clone() }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        self.load(ctx);
    }

    fn keys(&self) -> Keys {
        let k = Keys::new().with(&[Action::Refresh]);
        if self.can_request() {
            k.labelled(Action::Edit, "new PIX charge")
        } else {
            k
        }
    }

    fn needs(&self, a: &Action) -> Option<backend::authz::Permission> {
        matches!(a, Action::Edit).then_some(backend::authz::Permission::InvoicesCreate)
    }

    fn on_action(&mut self, a: &Action, ctx: &mut Ctx) -> bool {
        match a {
            Action::Refresh => self.load(ctx),
            Action::Edit if self.can_request() => {
                self.busy = true;
                let key = self.key.clone();
                ctx.load(REQUEST, move |env| async move {
                    Requested(charges::request(&env.db, &env.actor, &key).await)
                });
            }
            Action::Edit => ctx.emit(Action::FlashError("this invoice already has a live PIX charge".into())),
            _ => return false,
        }
        true
    }

    fn tick(&mut self, ctx: &mut Ctx) -> bool {
        let waiting = self.current().is_some_and(|c| c.status == "requested");
        if waiting && self.last.is_none_or(|t| t.elapsed() >= WATCH) {
            self.load(ctx);
        }
        false
    }

    fn apply(&mut self, _slot: &'static str, msg: Msg, ctx: &mut Ctx) {
        let msg = match msg.downcast::<Loaded>() {
            Ok(r) => {
                match r.0 {
                    Ok(c) => self.show(c),
                    Err(e) => self.charge = Some(Err(e.to_string())),
                }
                return;
            }
            Err(m) => m,
        };
        if let Ok(r) = msg.downcast::<Requested>() {
            self.busy = false;
            match r.0 {
                Ok(c) => self.show(Some(c)),
                Err(e) => ctx.emit(Action::FlashError(e.to_string())),
            }
        }
    }

    fn draw(&mut self, f: &mut Frame, area: Rect, theme: &Theme) {
        let title = "PIX";
        let c = match &self.charge {
            None => return crate::screens::notice(f, area, title, "Loading the PIX charge…", theme.muted, theme),
            Some(Err(e)) => return crate::screens::notice(f, area, title, e, theme.error, theme),
            Some(Ok(None)) => {
                return crate::screens::notice(
                    f,
                    area,
                    title,
                    "No PIX charge for this invoice yet. Press e to create one: a static BR Code on the \
                     tenant's key is made at once; a Mercado Pago or PagSeguro charge is created by a job.",
                    theme.muted,
                    theme,
                )
            }
            Some(Ok(Some(c))) => c.clone(),
        };
        f.render_widget(Clear, area);
        let block = theme.block(true).title(theme.title_line(
            &format!("PIX · invoice {}", c.invoice_number),
            usize::from(area.width.saturating_sub(2)),
        ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let qr_w = self.qr.first().map(|r| r.chars().count()).unwrap_or(0) as u16;
        let qr_h = self.qr.len() as u16;
        // The QR (half blocks: two modules a row, quiet zone kept — the densest that still
        // scans) goes beside the text only when whole; the code and amount always show.
        let command = format!("painel invoices pix {}", c.invoice_id);
        let wide = !self.qr.is_empty() && qr_w + QR_GAP + TEXT_MIN <= inner.width;
        // Beside the QR the column is often narrower than the command, and a wrap would
        // split the invoice id where nobody can copy it whole: then it takes a full-width
        // row of its own under the QR and the text, one row more the QR needs.
        let below = wide && widgets::text::width(&command) > usize::from(inner.width - qr_w - QR_GAP);
        let fits = wide && qr_h + u16::from(below) <= inner.height;
        let below = below && fits;
        let [left, right] = if fits {
            Layout::horizontal([Constraint::Length(qr_w + QR_GAP), Constraint::Min(TEXT_MIN)]).areas(inner)
        } else {
            [Rect::default(), inner]
        };
        if fits {
            let rows: Vec<Line> = self.qr.iter().map(|r| Line::from(r.as_str())).collect();
            f.render_widget(Paragraph::new(rows).style(theme.base), left);
        }
        let label = |t: &'static str| Span::styled(t, theme.muted);
        let amount = backend::money::format(c.amount_minor, &c.currency);
        let status_style = match c.status.as_str() {
            "paid" => theme.success,
            "failed" | "expired" => theme.error,
            "requested" => theme.warning,
            _ => theme.accent,
        };
        let expires = match (c.expires_at, c.provider.as_str()) {
            (Some(e), _) => e.format("%Y-%m-%d %H:%M UTC").to_string(),
            (None, "static") => "never (static code)".into(),
            (None, _) => "— (set when the provider creates the charge)".into(),
        };
        let mut lines = vec![
            Line::from(vec![label("Amount    "), Span::raw(amount)]),
            Line::from(vec![
                label("Status    "),
                Span::styled(c.status.clone(), status_style),
                Span::styled(format!("  via {}", c.provider), theme.muted),
            ]),
            Line::from(vec![label("Expires   "), Span::raw(expires)]),
        ];
        if c.status == "requested" {
            lines.push(Line::styled(
                "The job is creating the charge at the provider…",
                theme.warning,
            ));
        }
        if let Some(e) = &c.error {
            lines.push(Line::styled(widgets::text::sanitize(e).into_owned(), theme.error));
        }
        if !fits && !self.qr.is_empty() {
            let (w, h) = qr_terminal(f.area(), area, qr_w, qr_h);
            let now = f.area();
            lines.push(Line::from(vec![
                label("QR code   "),
                Span::styled(
                    format!(
                        "the terminal is too small: it needs {w}×{h} (this one is {}×{})",
                        now.width, now.height
                    ),
                    theme.warning,
                ),
            ]));
        }
        if let Some(code) = &c.code {
            lines.push(Line::from(""));
            let print = if below {
                " · select it with the mouse to copy, or print it with the command below"
            } else {
                " · select it with the mouse to copy, or print it with"
            };
            lines.push(Line::from(vec![
                Span::styled("PIX copia e cola", theme.accent),
                Span::styled(print, theme.muted),
            ]));
            if !below {
                lines.push(Line::styled(command.clone(), theme.muted));
            }
            // Cut into rows of the column's width by hand: a wrap at the code's spaces
            // ("SAO PAULO") would drop them, and a copied code with a space missing fails
            // its CRC.
            let code: Vec<char> = widgets::text::sanitize(code).chars().collect();
            for row in code.chunks(usize::from(right.width.max(1))) {
                lines.push(Line::from(row.iter().collect::<String>()));
            }
        }
        if !below {
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), right);
            return;
        }
        let text = Rect {
            height: right.height - 1,
            ..right
        };
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text);
        // The row under whichever of the QR and the text ends lower (the area was cleared:
        // a row holding only spaces is free).
        let buf = f.buffer_mut();
        let used = (0..text.height)
            .rev()
            .find(|&y| (text.left()..text.right()).any(|x| buf[(x, text.y + y)].symbol() != " "))
            .map_or(0, |y| y + 1);
        let row = Rect {
            y: inner.y + qr_h.max(used),
            height: 1,
            ..inner
        };
        f.render_widget(Paragraph::new(Line::styled(command, theme.muted)), row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_asked_for_counts_the_navigation_that_appears() {
        let frame = Rect::new(0, 0, 80, 24);
        let area = Rect::new(0, 1, 80, 21);
        assert_eq!(qr_terminal(frame, area, 49, 25), (83, 31));
        // 66 + 34 = 100 columns without the navigation: that wide it shows, 18 more.
        assert_eq!(qr_terminal(frame, area, 66, 33), (100 + widgets::SideNav::WIDTH, 39));
        let wide = Rect::new(0, 0, 140, 50);
        let beside_nav = Rect::new(18, 1, 122, 47);
        assert_eq!(qr_terminal(wide, beside_nav, 66, 33), (118, 39));
    }
}
