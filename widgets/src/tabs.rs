//! Sub-route tabs (`overview  branding  billing  limits`). Our own instead of ratatui's `Tabs`
//! so that, when the row is too narrow, it scrolls to keep the active tab visible and marks the
//! hidden ones with ‹ ›, rather than silently clipping the end.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::text;
use crate::theme::Theme;

const GAP: usize = 2;

/// One row of tabs with the active one highlighted.
#[derive(Debug, Clone)]
pub struct TabBar<'a> {
    titles: &'a [&'a str],
    active: usize,
    theme: &'a Theme,
    numbered: bool,
}

impl<'a> TabBar<'a> {
    pub fn new(titles: &'a [&'a str], active: usize, theme: &'a Theme) -> Self {
        Self {
            titles,
            active,
            theme,
            numbered: false,
        }
    }

    /// Prefix tabs with 1–9 when the screen binds number keys to them.
    #[must_use]
    pub fn numbered(mut self, numbered: bool) -> Self {
        self.numbered = numbered;
        self
    }

    fn label(&self, i: usize) -> String {
        let title = self.titles.get(i).copied().unwrap_or_default();
        if self.numbered && i < 9 {
            format!("{} {}", i + 1, title)
        } else {
            title.to_owned()
        }
    }
}

impl Widget for TabBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() || self.titles.is_empty() {
            return;
        }
        let active = self.active.min(self.titles.len() - 1);
        let width = usize::from(area.width);
        let labels: Vec<String> = (0..self.titles.len()).map(|i| self.label(i)).collect();
        let widths: Vec<usize> = labels.iter().map(|l| text::width(l)).collect();
        // Room for the ‹ › markers (2 columns each with a space) when scrolling is needed.
        let span_width =
            |from: usize, to: usize| -> usize { widths[from..=to].iter().sum::<usize>() + (to - from) * GAP };
        let mut first = 0;
        let marker_room =
            |first: usize, last: usize| usize::from(first > 0) * 2 + usize::from(last + 1 < labels.len()) * 2;
        while first < active && span_width(first, active) + marker_room(first, active) > width {
            first += 1;
        }
        let mut spans = Vec::new();
        if first > 0 {
            spans.push(Span::styled("‹ ", self.theme.muted));
        }
        let mut used = usize::from(first > 0) * 2;
        for (i, label) in labels.iter().enumerate().skip(first) {
            let gap = if i > first { GAP } else { 0 };
            let more_after = i + 1 < labels.len();
            let reserve = if more_after { 2 } else { 0 };
            let fits = used + gap + widths[i] + reserve <= width;
            if !fits && i != active {
                spans.push(Span::styled(" ›", self.theme.muted));
                break;
            }
            if gap > 0 {
                spans.push(Span::raw(" ".repeat(gap)));
            }
            let style = if i == active {
                self.theme.tab_active
            } else {
                self.theme.tab_inactive
            };
            let room = width.saturating_sub(used + gap);
            spans.push(Span::styled(text::truncate(label, room).into_owned(), style));
            used += gap + widths[i];
        }
        buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(active: usize, width: u16) -> (String, Buffer) {
        let theme = Theme::dark();
        let titles = ["overview", "branding", "billing", "limits"];
        let area = Rect::new(0, 0, width, 1);
        let mut buf = Buffer::empty(area);
        TabBar::new(&titles, active, &theme).render(area, &mut buf);
        let line = (0..width).map(|x| buf[(x, 0)].symbol()).collect::<String>();
        (line.trim_end().to_owned(), buf)
    }

    #[test]
    fn all_tabs_when_they_fit() {
        let (line, buf) = render(1, 50);
        assert_eq!(line, "overview  branding  billing  limits");
        assert_eq!(buf[(10, 0)].fg, Theme::dark().tab_active.fg.unwrap_or_default());
        assert_eq!(buf[(0, 0)].fg, Theme::dark().tab_inactive.fg.unwrap_or_default());
    }

    #[test]
    fn scrolls_to_the_active_tab() {
        let (line, _) = render(0, 24);
        assert_eq!(line, "overview  branding ›");
        let (line, _) = render(3, 24);
        assert_eq!(line, "‹ billing  limits");
    }
}
