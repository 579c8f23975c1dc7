//! The bottom line: who and where on the left (`admin@super · Acme Hosting · sqlite · RO`),
//! and on the right either a flash message or key hints. A flash always wins over hints, and an
//! error must stay readable, so when space runs short the scope shrinks before the flash does.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::flash::Flash;
use crate::hints::{hint_line, KeyHint, DEFAULT_HINTS};
use crate::text;
use crate::theme::Theme;

/// The status bar. Everything is optional except the theme; see the setters.
#[derive(Debug, Clone)]
pub struct StatusBar<'a> {
    theme: &'a Theme,
    user: Option<(&'a str, &'a str)>,
    scope: Option<&'a str>,
    backend: Option<&'a str>,
    read_only: bool,
    flash: Option<&'a Flash>,
    hints: &'a [KeyHint<'a>],
}

impl<'a> StatusBar<'a> {
    pub fn new(theme: &'a Theme) -> Self {
        Self {
            theme,
            user: None,
            scope: None,
            backend: None,
            read_only: false,
            flash: None,
            hints: DEFAULT_HINTS,
        }
    }

    /// Shown as `user@role`.
    #[must_use]
    pub fn user(mut self, user: &'a str, role: &'a str) -> Self {
        self.user = Some((user, role));
        self
    }

    /// The tenant scope, e.g. "Acme Hosting" or "all tenants".
    #[must_use]
    pub fn scope(mut self, scope: &'a str) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The database backend badge, e.g. "sqlite" or "postgres".
    #[must_use]
    pub fn backend(mut self, backend: &'a str) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Shows the `RO` badge (read-only mode, dangerous actions removed).
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// A flash message replaces the key hints while it is set.
    #[must_use]
    pub fn flash(mut self, flash: Option<&'a Flash>) -> Self {
        self.flash = flash;
        self
    }

    /// Key hints for the right side (default [`DEFAULT_HINTS`]).
    #[must_use]
    pub fn hints(mut self, hints: &'a [KeyHint<'a>]) -> Self {
        self.hints = hints;
        self
    }

    /// The backend badge takes up to half of `budget`: it names a context and a database
    /// (`demo · sqlite /path`), not only an engine.
    fn badges(&self, budget: usize) -> Vec<Span<'a>> {
        let mut spans = Vec::new();
        if let Some(backend) = self.backend {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(
                format!(" {} ", text::truncate(backend, (budget / 2).clamp(10, 60))),
                self.theme.badge,
            ));
        }
        if self.read_only {
            // Read-only is a warning about what you cannot do: badge shape, warning colour.
            let style = self.theme.badge.bg(self.theme.warning.fg.unwrap_or_default());
            spans.push(Span::raw(" "));
            spans.push(Span::styled(" RO ", style));
        }
        spans
    }

    /// The left side within `budget` columns: badges are fixed, user then scope take the rest.
    fn left(&self, budget: usize) -> Vec<Span<'a>> {
        let badges = self.badges(budget);
        let badges_w: usize = badges.iter().map(Span::width).sum();
        let mut room = budget.saturating_sub(badges_w + 1);
        let mut spans = vec![Span::raw(" ")];
        if let Some((user, role)) = self.user {
            let who = text::truncate(&format!("{user}@{role}"), room).into_owned();
            room = room.saturating_sub(text::width(&who));
            spans.push(Span::styled(who, self.theme.accent));
        }
        if let Some(scope) = self.scope {
            // Below 6 columns a scope is unrecognisable; leave it out rather than show "A…".
            let sep = if spans.len() > 1 { 3 } else { 0 };
            if room >= sep + 6 {
                if sep > 0 {
                    spans.push(Span::styled(" · ", self.theme.muted));
                }
                let scope = text::truncate(scope, room - sep).into_owned();
                spans.push(Span::raw(scope));
            }
        }
        spans.extend(badges);
        spans
    }

    fn flash_line(&self, flash: &Flash, max: usize) -> Line<'a> {
        let style: Style = flash.style(self.theme);
        let icon = flash.kind.icon();
        let body = text::truncate(&flash.text, max.saturating_sub(2)).into_owned();
        Line::from(vec![
            Span::styled(icon, style),
            Span::raw(" "),
            Span::styled(body, style),
        ])
    }
}

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let area = Rect::new(area.x, area.y, area.width, 1);
        buf.set_style(area, self.theme.status_bar);
        let width = usize::from(area.width);
        // A flash claims up to two thirds of the bar. Without one, the first two hints are kept
        // (callers put `? help` early: it is how everything else is discovered).
        let right_min = match self.flash {
            Some(f) => (text::width(&f.text) + 3).min(width * 2 / 3),
            None => {
                let first = &self.hints[..self.hints.len().min(2)];
                let w = hint_line(first, self.theme, usize::MAX).width();
                if w > 0 && w + 2 <= width / 2 {
                    w + 2
                } else {
                    0
                }
            }
        };
        let left = Line::from(self.left(width.saturating_sub(right_min)));
        let left_w = left.width();
        buf.set_line(area.x, area.y, &left, area.width);

        let room = width.saturating_sub(left_w + 2);
        let right = match self.flash {
            Some(flash) => self.flash_line(flash, room),
            None => hint_line(self.hints, self.theme, room),
        };
        let right_w = u16::try_from(right.width()).unwrap_or(u16::MAX);
        if right_w > 0 && right_w < area.width {
            // One column of padding at the right edge.
            let x = area.right().saturating_sub(right_w + 1);
            buf.set_line(x, area.y, &right, right_w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(bar: StatusBar<'_>, width: u16) -> (String, Buffer) {
        let area = Rect::new(0, 0, width, 1);
        let mut buf = Buffer::empty(area);
        bar.render(area, &mut buf);
        let line = (0..width).map(|x| buf[(x, 0)].symbol()).collect::<String>();
        (line, buf)
    }

    #[test]
    fn shows_identity_badges_and_hints() {
        let theme = Theme::dark();
        let bar = StatusBar::new(&theme)
            .user("ana", "super")
            .scope("all tenants")
            .backend("sqlite")
            .read_only(true);
        let (line, buf) = render(bar, 80);
        assert_eq!(
            line,
            " ana@super · all tenants  sqlite   RO           : cmd  / filter  ? help  q back "
        );
        assert_eq!(buf[(0, 0)].bg, theme.status_bar.bg.unwrap_or_default());
        assert_eq!(buf[(27, 0)].bg, theme.badge.bg.unwrap_or_default());
        assert_eq!(buf[(36, 0)].bg, theme.warning.fg.unwrap_or_default());
    }

    #[test]
    fn flash_replaces_hints_and_survives_narrow_widths() {
        let theme = Theme::dark();
        let flash = Flash::error("could not reach WHM on web-01: timeout after 10s");
        let bar = StatusBar::new(&theme)
            .user("ana", "super")
            .scope("Acme Hosting")
            .backend("postgres")
            .flash(Some(&flash));
        let (line, buf) = render(bar.clone(), 100);
        assert!(
            line.contains("✗ could not reach WHM on web-01: timeout after 10s"),
            "{line}"
        );
        assert!(!line.contains("help"));
        let x = line.chars().position(|c| c == '✗').unwrap_or_default();
        assert_eq!(
            buf[(u16::try_from(x).unwrap_or_default(), 0)].fg,
            theme.error.fg.unwrap_or_default()
        );
        let (line, _) = render(bar, 60);
        assert!(line.contains("✗ could not reach WHM"), "{line}");
        assert!(line.contains("postgres"), "{line}");
    }
}
