//! Label/value panels for overview, branding and limits pages. Hex colour values get a swatch
//! so an operator checking a tenant's branding sees the colour, not just its code.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::color::swatch_color;
use crate::text;
use crate::theme::{Theme, Tone};

const MAX_LABEL_WIDTH: usize = 24;

/// One row: label, value, and a tone for the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KvEntry<'a> {
    pub label: Cow<'a, str>,
    pub value: Cow<'a, str>,
    pub tone: Tone,
}

impl<'a> KvEntry<'a> {
    pub fn new(label: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            tone: Tone::Normal,
        }
    }

    #[must_use]
    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }
}

/// A two-column label/value panel, optionally bordered with a title.
#[derive(Debug, Clone)]
pub struct KeyValuePanel<'a> {
    entries: &'a [KvEntry<'a>],
    theme: &'a Theme,
    title: Option<&'a str>,
    bordered: bool,
    focused: bool,
}

impl<'a> KeyValuePanel<'a> {
    pub fn new(entries: &'a [KvEntry<'a>], theme: &'a Theme) -> Self {
        Self {
            entries,
            theme,
            title: None,
            bordered: true,
            focused: false,
        }
    }

    #[must_use]
    pub fn title(mut self, title: &'a str) -> Self {
        self.title = Some(title);
        self
    }

    #[must_use]
    pub fn bordered(mut self, bordered: bool) -> Self {
        self.bordered = bordered;
        self
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }

    /// Rows needed to show every entry (borders included when bordered).
    pub fn required_height(&self) -> u16 {
        let rows = self.entries.len() + if self.bordered { 2 } else { 0 };
        u16::try_from(rows).unwrap_or(u16::MAX)
    }
}

impl Widget for KeyValuePanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let inner = if self.bordered {
            let mut block = self.theme.block(self.focused);
            if let Some(title) = self.title {
                block = block.title(self.theme.title_line(title, usize::from(area.width.saturating_sub(2))));
            }
            let inner = block.inner(area);
            block.render(area, buf);
            inner.inner(ratatui::layout::Margin::new(1, 0))
        } else {
            area
        };
        if inner.is_empty() {
            return;
        }
        let width = usize::from(inner.width);
        let label_w = self
            .entries
            .iter()
            .map(|e| text::width(&e.label))
            .max()
            .unwrap_or(0)
            .min(MAX_LABEL_WIDTH)
            .min(width / 2);
        for (row, entry) in self.entries.iter().take(usize::from(inner.height)).enumerate() {
            let y = inner.y + u16::try_from(row).unwrap_or(0);
            let label = text::truncate(&entry.label, label_w);
            let pad = label_w - text::width(&label) + 2;
            let mut spans = vec![
                Span::styled(label.into_owned(), self.theme.muted),
                Span::raw(" ".repeat(pad)),
            ];
            let mut room = width.saturating_sub(label_w + 2);
            if let Some(color) = swatch_color(&entry.value) {
                if room >= 10 {
                    spans.push(Span::styled("██", Style::new().fg(color)));
                    spans.push(Span::raw(" "));
                    room -= 3;
                }
            }
            spans.push(Span::styled(
                text::truncate(&entry.value, room).into_owned(),
                self.theme.tone(entry.tone),
            ));
            buf.set_line(inner.x, y, &Line::from(spans), inner.width);
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use super::*;

    #[test]
    fn hex_values_get_a_swatch() {
        let theme = Theme::dark();
        let entries = [
            KvEntry::new("primary", "#3b82f6"),
            KvEntry::new("status", "red").tone(Tone::Error),
        ];
        let area = Rect::new(0, 0, 30, 2);
        let mut buf = Buffer::empty(area);
        KeyValuePanel::new(&entries, &theme)
            .bordered(false)
            .render(area, &mut buf);
        let row = |y: u16| (0..30).map(|x| buf[(x, y)].symbol()).collect::<String>();
        assert_eq!(row(0).trim_end(), "primary  ██ #3b82f6");
        assert_eq!(buf[(9, 0)].fg, Color::Rgb(0x3b, 0x82, 0xf6));
        assert_eq!(row(1).trim_end(), "status   red");
        assert_eq!(buf[(9, 1)].fg, theme.error.fg.unwrap_or_default());
    }
}
