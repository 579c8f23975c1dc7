//! The `?` help popup: key bindings grouped by section, scrollable. The entries come from the
//! keymap (its `desc` fields), so help never disagrees with what the keys actually do.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, StatefulWidget, Widget};

use crate::scrollbar;
use crate::text;
use crate::theme::Theme;

const MAX_WIDTH: u16 = 76;
const MAX_KEYS_WIDTH: usize = 18;

/// A centred help popup over `area` (pass the whole frame). State is the scroll offset in
/// lines; it is clamped on render so the caller can simply add and subtract.
#[derive(Debug, Clone)]
pub struct HelpPopup<'a> {
    /// `(section, keys, description)`, e.g. `("tables", "shift-o", "sort by column")`.
    entries: &'a [(&'a str, &'a str, &'a str)],
    theme: &'a Theme,
    title: &'a str,
}

impl<'a> HelpPopup<'a> {
    pub fn new(entries: &'a [(&'a str, &'a str, &'a str)], theme: &'a Theme) -> Self {
        Self {
            entries,
            theme,
            title: "Help",
        }
    }

    #[must_use]
    pub fn title(mut self, title: &'a str) -> Self {
        self.title = title;
        self
    }

    /// The popup's rectangle within `area`.
    pub fn area(&self, area: Rect) -> Rect {
        let lines = u16::try_from(self.lines(usize::from(MAX_WIDTH)).len()).unwrap_or(u16::MAX);
        let width = MAX_WIDTH.min(area.width.saturating_sub(4)).max(area.width.min(20));
        let height = lines
            .saturating_add(2)
            .min(area.height.saturating_sub(2))
            .max(area.height.min(5));
        text::popup_area(area, width, height)
    }

    /// Sections in order of first appearance, each with its entries.
    fn sections(&self) -> Vec<(&'a str, Vec<(&'a str, &'a str)>)> {
        let mut sections: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
        for &(section, keys, desc) in self.entries {
            match sections.iter_mut().find(|(s, _)| *s == section) {
                Some((_, list)) => list.push((keys, desc)),
                None => sections.push((section, vec![(keys, desc)])),
            }
        }
        sections
    }

    /// Every content line for an inner width of `width` columns.
    fn lines(&self, width: usize) -> Vec<Line<'a>> {
        let keys_w = self
            .entries
            .iter()
            .map(|(_, keys, _)| text::width(keys))
            .max()
            .unwrap_or(0)
            .min(MAX_KEYS_WIDTH)
            .min(width / 3);
        let mut lines = Vec::new();
        for (i, (section, entries)) in self.sections().into_iter().enumerate() {
            if i > 0 {
                lines.push(Line::default());
            }
            lines.push(Line::styled(
                text::truncate(section, width).into_owned(),
                self.theme.title,
            ));
            for (keys, desc) in entries {
                let keys = text::truncate(keys, keys_w);
                let pad = keys_w - text::width(&keys);
                let desc_room = width.saturating_sub(keys_w + 4);
                lines.push(Line::from(vec![
                    Span::raw("  "),
                    Span::styled(keys.into_owned(), self.theme.key_hint),
                    Span::raw(" ".repeat(pad + 2)),
                    Span::raw(text::truncate(desc, desc_room).into_owned()),
                ]));
            }
        }
        if lines.is_empty() {
            lines.push(Line::styled("No key bindings", self.theme.muted));
        }
        lines
    }
}

impl StatefulWidget for HelpPopup<'_> {
    type State = usize;

    fn render(self, area: Rect, buf: &mut Buffer, offset: &mut usize) {
        let popup = self.area(area);
        Clear.render(popup, buf);
        let inner_width = popup.width.saturating_sub(2);
        let block = self
            .theme
            .popup_block()
            .title(self.theme.title_line(self.title, usize::from(inner_width)));
        let inner = block.inner(popup);
        let lines = self.lines(usize::from(inner.width.saturating_sub(2)));
        let viewport = usize::from(inner.height);
        *offset = (*offset).min(lines.len().saturating_sub(viewport));
        let scrollable = lines.len() > viewport;
        let footer = if scrollable {
            let last = (*offset + viewport).min(lines.len());
            format!(" ↑↓ scroll · {}–{} of {} · esc close ", *offset + 1, last, lines.len())
        } else {
            " esc close ".to_owned()
        };
        let footer = text::truncate(&footer, usize::from(inner_width)).into_owned();
        block
            .title_bottom(Line::styled(footer, self.theme.muted).right_aligned())
            .render(popup, buf);
        for (row, line) in lines.iter().skip(*offset).take(viewport).enumerate() {
            let y = inner.y + u16::try_from(row).unwrap_or(0);
            buf.set_line(inner.x + 1, y, line, inner.width.saturating_sub(2));
        }
        if scrollable {
            scrollbar::render(popup, inner, buf, self.theme, lines.len(), *offset, viewport);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRIES: &[(&str, &str, &str)] = &[
        ("global", ":", "command palette"),
        ("tables", "shift-o", "sort by column"),
        ("global", "?", "help"),
    ];

    #[test]
    fn groups_by_section_in_first_appearance_order() {
        let theme = Theme::dark();
        let popup = HelpPopup::new(ENTRIES, &theme);
        let lines: Vec<String> = popup.lines(60).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "global",
                "  :        command palette",
                "  ?        help",
                "",
                "tables",
                "  shift-o  sort by column",
            ]
        );
    }

    #[test]
    fn offset_is_clamped() {
        let theme = Theme::dark();
        let area = Rect::new(0, 0, 80, 24);
        let mut buf = Buffer::empty(area);
        let mut offset = 100;
        HelpPopup::new(ENTRIES, &theme).render(area, &mut buf, &mut offset);
        assert_eq!(offset, 0);
    }
}
