//! The `:` command palette: what was typed, with a cursor, above the matching commands.
//! The caller filters and ranks (see [`crate::fuzzy::rank`]) and owns the input; the palette
//! highlights the matched characters so the user sees why a command matched.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use crate::fuzzy;
use crate::input;
use crate::text;
use crate::theme::Theme;

const MAX_WIDTH: u16 = 64;
const WIDE_WIDTH: u16 = 110;
const MAX_ITEMS: u16 = 10;
const PROMPT: &str = ": ";

/// A command shown in the palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaletteItem<'a> {
    /// What you type, e.g. "servers" or "tenants/create".
    pub name: &'a str,
    /// One line saying what it does.
    pub description: &'a str,
}

impl<'a> PaletteItem<'a> {
    pub const fn new(name: &'a str, description: &'a str) -> Self {
        Self { name, description }
    }
}

/// The palette popup, placed near the top of `area` (pass the whole frame).
#[derive(Debug, Clone)]
pub struct CommandPalette<'a> {
    input: &'a str,
    cursor: usize,
    items: &'a [PaletteItem<'a>],
    selected: usize,
    theme: &'a Theme,
    title: &'a str,
}

impl<'a> CommandPalette<'a> {
    /// `input` is the typed text (without the `:`), `cursor` its cursor in characters, `items`
    /// the already ranked matches, `selected` an index into `items`.
    pub fn new(input: &'a str, cursor: usize, items: &'a [PaletteItem<'a>], selected: usize, theme: &'a Theme) -> Self {
        Self {
            input,
            cursor,
            items,
            selected,
            theme,
            title: "Command",
        }
    }

    #[must_use]
    pub fn title(mut self, title: &'a str) -> Self {
        self.title = title;
        self
    }

    /// The popup's rectangle within `area`: centred horizontally, one row below the top so the
    /// header stays visible, at most ten results tall.
    pub fn area(&self, area: Rect) -> Rect {
        // Grows on wide terminals: "go to" hits carry a name, a tenant and an e-mail.
        let width = MAX_WIDTH
            .max(area.width.saturating_mul(3) / 4)
            .min(WIDE_WIDTH)
            .min(area.width.saturating_sub(4))
            .max(area.width.min(20));
        let items = u16::try_from(self.items.len()).unwrap_or(u16::MAX).clamp(1, MAX_ITEMS);
        // border + input + rule + items + border
        let height = (items + 4).min(area.height.saturating_sub(2)).max(area.height.min(3));
        let x = area.x + (area.width - width) / 2;
        let y = area.y + u16::from(area.height > height + 1);
        Rect::new(x, y, width, height)
    }

    /// Where the terminal cursor goes (call `frame.set_cursor_position` with it).
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        let inner = self.inner(area);
        if inner.height == 0 || inner.width <= 2 {
            return None;
        }
        let view = input::view(self.input, self.cursor, self.input_width(inner), false);
        Some(Position::new(inner.x + 3 + view.cursor_col, inner.y))
    }

    fn inner(&self, area: Rect) -> Rect {
        self.area(area).inner(ratatui::layout::Margin::new(1, 1))
    }

    fn input_width(&self, inner: Rect) -> u16 {
        // " : " before the text, one column spare at the end.
        inner.width.saturating_sub(4)
    }

    fn item_line(&self, item: &PaletteItem<'_>, name_w: usize, width: usize, selected: bool) -> Line<'a> {
        let base = if selected {
            self.theme.selection
        } else {
            self.theme.base
        };
        let matched = fuzzy::fuzzy_match(self.input, item.name)
            .map(|(_, idx)| idx)
            .unwrap_or_default();
        let name = text::truncate(item.name, name_w);
        let mut spans: Vec<Span<'a>> = vec![Span::styled(" ", base)];
        for (i, c) in name.chars().enumerate() {
            let style = if matched.contains(&i) {
                base.patch(self.theme.accent)
                    .add_modifier(ratatui::style::Modifier::BOLD)
            } else {
                base
            };
            spans.push(Span::styled(c.to_string(), style));
        }
        let pad = name_w.saturating_sub(text::width(&name)) + 2;
        spans.push(Span::styled(" ".repeat(pad), base));
        let desc_room = width.saturating_sub(name_w + 3);
        let desc_style = if selected { base } else { self.theme.muted };
        spans.push(Span::styled(
            text::truncate(item.description, desc_room).into_owned(),
            desc_style,
        ));
        Line::from(spans)
    }
}

impl Widget for CommandPalette<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let popup = self.area(area);
        Clear.render(popup, buf);
        let room = usize::from(popup.width.saturating_sub(2));
        let footer = text::truncate(" ↑↓ select · enter go · esc close ", room).into_owned();
        let block = self
            .theme
            .popup_block()
            .title(self.theme.title_line(self.title, room))
            .title_bottom(Line::styled(footer, self.theme.muted).right_aligned());
        let inner = block.inner(popup);
        block.render(popup, buf);
        if inner.is_empty() {
            return;
        }

        let view = input::view(self.input, self.cursor, self.input_width(inner), false);
        let prompt = Line::from(vec![
            Span::raw(" "),
            Span::styled(PROMPT, self.theme.key_hint),
            Span::raw(view.text),
        ]);
        buf.set_line(inner.x, inner.y, &prompt, inner.width);
        if inner.height < 2 {
            return;
        }
        // A rule joined to the border separates what you type from what it matches.
        let rule = format!("├{}┤", "─".repeat(usize::from(inner.width)));
        buf.set_string(popup.x, inner.y + 1, rule, self.theme.border_focused);

        let list = Rect::new(inner.x, inner.y + 2, inner.width, inner.height.saturating_sub(2));
        if list.height == 0 {
            return;
        }
        if self.items.is_empty() {
            let msg = text::truncate(" no matching command", usize::from(list.width)).into_owned();
            buf.set_string(list.x, list.y, msg, self.theme.muted);
            return;
        }
        let width = usize::from(list.width);
        let name_w = self
            .items
            .iter()
            .map(|i| text::width(i.name))
            .max()
            .unwrap_or(0)
            .min(width / 2);
        let viewport = usize::from(list.height);
        let selected = self.selected.min(self.items.len() - 1);
        let offset = (selected + 1).saturating_sub(viewport);
        for (row, (i, item)) in self.items.iter().enumerate().skip(offset).take(viewport).enumerate() {
            let y = list.y + u16::try_from(row).unwrap_or(0);
            let line_area = Rect::new(list.x, y, list.width, 1);
            if i == selected {
                buf.set_style(line_area, self.theme.selection);
            }
            let line = self.item_line(item, name_w, width, i == selected);
            buf.set_line(list.x, y, &line, list.width);
        }
        if self.items.len() > viewport {
            crate::scrollbar::render(popup, list, buf, self.theme, self.items.len(), offset, viewport);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_follows_the_input() {
        let theme = Theme::dark();
        let items = [PaletteItem::new("servers", "list servers")];
        let area = Rect::new(0, 0, 80, 24);
        let palette = CommandPalette::new("srv", 3, &items, 0, &theme);
        let popup = palette.area(area);
        assert_eq!(
            palette.cursor_position(area),
            Some(Position::new(popup.x + 7, popup.y + 1))
        );
    }

    #[test]
    fn matched_characters_are_accented() {
        let theme = Theme::dark();
        let items = [
            PaletteItem::new("servers", "list servers"),
            PaletteItem::new("services", ""),
        ];
        let area = Rect::new(0, 0, 80, 24);
        let mut buf = Buffer::empty(area);
        let palette = CommandPalette::new("srv", 3, &items, 1, &theme);
        let popup = palette.area(area);
        palette.render(area, &mut buf);
        let y = popup.y + 3;
        let x = popup.x + 2;
        // "servers": s (matched), e (not)
        assert_eq!(buf[(x, y)].symbol(), "s");
        assert_eq!(buf[(x, y)].fg, theme.accent.fg.unwrap_or_default());
        assert_eq!(buf[(x + 1, y)].fg, theme.base.fg.unwrap_or_default());
        // The selected second row carries the selection background.
        assert_eq!(buf[(x + 1, y + 1)].bg, theme.selection.bg.unwrap_or_default());
    }
}
