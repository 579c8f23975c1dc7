//! A one-line input with a prompt, e.g. the `/` filter line above a table: `/stream`. The
//! caller owns the text and cursor (tui-input); while not editing, an optional hint follows the
//! value (`/stream   (/ to change, esc to clear)`).

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::input;
use crate::text;
use crate::theme::Theme;

#[derive(Debug, Clone)]
pub struct InputLine<'a> {
    prompt: &'a str,
    value: &'a str,
    cursor: usize,
    editing: bool,
    hint: Option<&'a str>,
    theme: &'a Theme,
}

impl<'a> InputLine<'a> {
    /// `cursor` is in characters; the cursor is only shown while `editing`.
    pub fn new(prompt: &'a str, value: &'a str, cursor: usize, editing: bool, theme: &'a Theme) -> Self {
        Self {
            prompt,
            value,
            cursor,
            editing,
            hint: None,
            theme,
        }
    }

    /// Shown muted after the value while not editing.
    #[must_use]
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    fn prompt_width(&self, area: Rect) -> u16 {
        u16::try_from(text::width(self.prompt))
            .unwrap_or(u16::MAX)
            .min(area.width)
    }

    /// Where the terminal cursor goes while editing.
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        let prompt_w = self.prompt_width(area);
        let width = area.width.saturating_sub(prompt_w);
        if !self.editing || area.height == 0 || width == 0 {
            return None;
        }
        let view = input::view(self.value, self.cursor, width, false);
        Some(Position::new(area.x + prompt_w + view.cursor_col, area.y))
    }
}

impl Widget for InputLine<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let prompt_w = self.prompt_width(area);
        let width = area.width - prompt_w;
        // Not editing: show the start of the value, as it was typed.
        let cursor = if self.editing { self.cursor } else { 0 };
        let view = input::view(self.value, cursor, width, false);
        let used = usize::from(prompt_w) + text::width(&view.text);
        let mut spans = vec![
            Span::styled(
                text::truncate(self.prompt, usize::from(area.width)),
                self.theme.key_hint,
            ),
            Span::styled(view.text, self.theme.base),
        ];
        if let Some(hint) = self.hint.filter(|_| !self.editing) {
            let hint = format!("   {hint}");
            let room = usize::from(area.width).saturating_sub(used);
            spans.push(Span::styled(text::truncate(&hint, room).into_owned(), self.theme.muted));
        }
        buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(line: InputLine<'_>, width: u16) -> String {
        let area = Rect::new(0, 0, width, 1);
        let mut buf = Buffer::empty(area);
        line.render(area, &mut buf);
        (0..width)
            .map(|x| buf[(x, 0)].symbol())
            .collect::<String>()
            .trim_end()
            .to_owned()
    }

    #[test]
    fn prompt_value_hint_and_cursor() {
        let theme = Theme::dark();
        let area = Rect::new(0, 0, 40, 1);
        let editing = InputLine::new("/", "stream", 3, true, &theme).hint("esc to clear");
        assert_eq!(editing.cursor_position(area), Some(Position::new(4, 0)));
        assert_eq!(render(editing, 40), "/stream");
        let idle = InputLine::new("/", "stream", 3, false, &theme).hint("esc to clear");
        assert_eq!(idle.cursor_position(area), None);
        assert_eq!(render(idle.clone(), 40), "/stream   esc to clear");
        assert_eq!(render(idle, 14), "/stream   esc…");
    }

    #[test]
    fn long_values_scroll_to_the_cursor() {
        let theme = Theme::dark();
        let line = InputLine::new("/", "abcdefghij", 10, true, &theme);
        assert_eq!(line.cursor_position(Rect::new(0, 0, 6, 1)), Some(Position::new(5, 0)));
        assert_eq!(render(line, 6), "/ghij");
    }
}
