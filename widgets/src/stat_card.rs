//! `StatCard`: a dashboard tile with a title, one big number, a subtitle and an optional trend
//! sparkline ("MRR  R$ 48.2k  +3% this month").

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::{Sparkline, Widget};

use crate::text;
use crate::theme::{Theme, Tone};

/// A bordered stat tile. Looks right from 5 rows tall (title in the border, value, subtitle,
/// trend) and 16 columns wide.
#[derive(Debug, Clone)]
pub struct StatCard<'a> {
    title: &'a str,
    value: &'a str,
    subtitle: Option<&'a str>,
    tone: Tone,
    trend: Option<&'a [u64]>,
    focused: bool,
    theme: &'a Theme,
}

impl<'a> StatCard<'a> {
    pub fn new(title: &'a str, value: &'a str, theme: &'a Theme) -> Self {
        Self {
            title,
            value,
            subtitle: None,
            tone: Tone::Normal,
            trend: None,
            focused: false,
            theme,
        }
    }

    #[must_use]
    pub fn subtitle(mut self, subtitle: &'a str) -> Self {
        self.subtitle = Some(subtitle);
        self
    }

    /// Colour of the value (e.g. `Error` for "3 failed").
    #[must_use]
    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }

    /// Recent values, oldest first, drawn as a sparkline in the rows left over.
    #[must_use]
    pub fn trend(mut self, trend: &'a [u64]) -> Self {
        self.trend = Some(trend);
        self
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }
}

impl Widget for StatCard<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = self.theme.block(self.focused).title(
            self.theme
                .title_line(self.title, usize::from(area.width.saturating_sub(2))),
        );
        let inner = block.inner(area).inner(ratatui::layout::Margin::new(1, 0));
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let width = usize::from(inner.width);
        let value_style = self
            .theme
            .base
            .patch(self.theme.tone(self.tone))
            .add_modifier(Modifier::BOLD);
        buf.set_string(inner.x, inner.y, text::truncate(self.value, width), value_style);
        let mut y = inner.y + 1;
        if let Some(subtitle) = self.subtitle {
            if y < inner.bottom() {
                buf.set_string(inner.x, y, text::truncate(subtitle, width), self.theme.muted);
                y += 1;
            }
        }
        if let Some(trend) = self.trend {
            if y < inner.bottom() && !trend.is_empty() {
                // Show the most recent points that fit.
                let start = trend.len().saturating_sub(width);
                let style = match self.tone {
                    Tone::Normal => self.theme.accent,
                    tone => self.theme.tone(tone),
                };
                Sparkline::default()
                    .data(&trend[start..])
                    .style(style)
                    .render(Rect::new(inner.x, y, inner.width, inner.bottom() - y), buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_subtitle_and_trend() {
        let theme = Theme::dark();
        let area = Rect::new(0, 0, 20, 5);
        let mut buf = Buffer::empty(area);
        StatCard::new("servers", "42", &theme)
            .subtitle("3 over 90%")
            .tone(Tone::Warning)
            .trend(&[1, 2, 3, 8])
            .render(area, &mut buf);
        let row = |y: u16| (0..20).map(|x| buf[(x, y)].symbol()).collect::<String>();
        assert_eq!(row(0), "┌ servers ─────────┐");
        assert_eq!(row(1), "│ 42               │");
        assert_eq!(row(2), "│ 3 over 90%       │");
        assert_eq!(buf[(2, 1)].fg, theme.warning.fg.unwrap_or_default());
        assert!(buf[(2, 1)].modifier.contains(Modifier::BOLD));
        assert_ne!(buf[(5, 3)].symbol(), " ");
    }
}
