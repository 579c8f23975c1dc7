//! The typed confirmation for dangerous actions (delete a server, terminate a service): the
//! user must type the target's name, so a stray Enter can never destroy anything. The caller
//! owns the input and decides when it matches; the dialog only shows the state.

use ratatui::buffer::Buffer;
use ratatui::layout::{Margin, Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use crate::form::input_style;
use crate::input;
use crate::text;
use crate::theme::Theme;

const MAX_WIDTH: u16 = 60;

/// A danger dialog centred in `area` (pass the whole frame).
#[derive(Debug, Clone)]
pub struct ConfirmDialog<'a> {
    title: &'a str,
    message: &'a str,
    target: &'a str,
    input: &'a str,
    cursor: usize,
    error: Option<&'a str>,
    theme: &'a Theme,
}

impl<'a> ConfirmDialog<'a> {
    /// `target` is the name the user must type; `input`/`cursor` what they typed so far.
    pub fn new(
        title: &'a str,
        message: &'a str,
        target: &'a str,
        input: &'a str,
        cursor: usize,
        theme: &'a Theme,
    ) -> Self {
        Self {
            title,
            message,
            target,
            input,
            cursor,
            error: None,
            theme,
        }
    }

    /// An error under the input, e.g. "name does not match" or a failure from the backend.
    #[must_use]
    pub fn error(mut self, error: Option<&'a str>) -> Self {
        self.error = error;
        self
    }

    /// True when the typed text equals the target (what the caller should check on Enter).
    pub fn matches(&self) -> bool {
        self.input == self.target
    }

    fn text_width(area: Rect) -> u16 {
        MAX_WIDTH
            .min(area.width.saturating_sub(4))
            .max(area.width.min(24))
            .saturating_sub(4)
    }

    fn message_lines(&self, area: Rect) -> Vec<String> {
        text::wrap(self.message, usize::from(Self::text_width(area)))
    }

    /// The dialog's rectangle within `area`.
    pub fn area(&self, area: Rect) -> Rect {
        let width = Self::text_width(area) + 4;
        // message, blank, prompt, input, error-or-blank, + 2 borders
        let lines = self.message_lines(area).len() + 4 + 2;
        let height = u16::try_from(lines).unwrap_or(u16::MAX);
        text::popup_area(area, width, height)
    }

    /// Rows inside the dialog: (message rows, prompt row, input row, error row).
    fn rows(&self, area: Rect) -> (Rect, Rect, Rect, Rect) {
        let inner = self.area(area).inner(Margin::new(2, 1));
        let message_h = u16::try_from(self.message_lines(area).len()).unwrap_or(u16::MAX);
        // When squeezed, the message gives way: the input must stay visible.
        let message_h = message_h.min(inner.height.saturating_sub(3));
        let row = |dy: u16| {
            let y = (inner.y + dy).min(inner.bottom().saturating_sub(1));
            Rect::new(inner.x, y, inner.width, u16::from(inner.height > 0))
        };
        let gap = u16::from(inner.height >= message_h + 4);
        let message = Rect::new(inner.x, inner.y, inner.width, message_h);
        (
            message,
            row(message_h + gap),
            row(message_h + gap + 1),
            row(message_h + gap + 2),
        )
    }

    /// Where the terminal cursor goes.
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        let (_, _, input_row, _) = self.rows(area);
        if input_row.is_empty() {
            return None;
        }
        let view = input::view(self.input, self.cursor, input_row.width, false);
        Some(Position::new(input_row.x + view.cursor_col, input_row.y))
    }
}

impl Widget for ConfirmDialog<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let popup = self.area(area);
        Clear.render(popup, buf);
        let room = usize::from(popup.width.saturating_sub(2));
        let danger = self.theme.error;
        let confirm_style = if self.matches() {
            danger.add_modifier(Modifier::BOLD)
        } else {
            self.theme.muted
        };
        let footer = Line::from(vec![
            Span::raw(" "),
            Span::styled("Enter", confirm_style),
            Span::styled(" confirm · ", self.theme.muted),
            Span::styled("Esc", self.theme.key_hint),
            Span::styled(" cancel ", self.theme.muted),
        ]);
        let title = format!("! {}", self.title);
        let block = self
            .theme
            .popup_block()
            .border_style(danger)
            .title(Line::styled(
                format!(" {} ", text::truncate(&title, room.saturating_sub(2))),
                danger,
            ))
            .title_bottom(footer.right_aligned());
        block.render(popup, buf);

        let (message, prompt, input_row, error_row) = self.rows(area);
        for (i, line) in self
            .message_lines(area)
            .iter()
            .take(usize::from(message.height))
            .enumerate()
        {
            let y = message.y + u16::try_from(i).unwrap_or(0);
            buf.set_stringn(message.x, y, line, usize::from(message.width), self.theme.base);
        }
        if input_row.is_empty() {
            return;
        }
        let width = usize::from(prompt.width);
        let target = text::truncate(self.target, width.saturating_sub(17));
        let prompt_line = Line::from(vec![
            Span::styled("Type ", self.theme.muted),
            Span::styled(target.into_owned(), self.theme.title),
            Span::styled(" to confirm:", self.theme.muted),
        ]);
        buf.set_line(prompt.x, prompt.y, &prompt_line, prompt.width);

        let style = input_style(self.theme);
        buf.set_style(input_row, style);
        let view = input::view(self.input, self.cursor, input_row.width, false);
        buf.set_stringn(input_row.x, input_row.y, view.text, usize::from(input_row.width), style);

        if error_row.y != input_row.y {
            if let Some(error) = self.error {
                let error = text::truncate(&format!("✗ {error}"), width).into_owned();
                buf.set_string(error_row.x, error_row.y, error, self.theme.error);
            } else if self.matches() {
                buf.set_string(error_row.x, error_row.y, "✓ press Enter to confirm", self.theme.warning);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_sits_in_the_input() {
        let theme = Theme::dark();
        let area = Rect::new(0, 0, 80, 24);
        let dialog = ConfirmDialog::new("Delete server", "This deletes web-01.", "web-01", "web", 3, &theme);
        let popup = dialog.area(area);
        // border+padding (2), message (1), gap (1), prompt (1) → input on the 4th inner row.
        assert_eq!(
            dialog.cursor_position(area),
            Some(Position::new(popup.x + 2 + 3, popup.y + 4))
        );
    }

    #[test]
    fn matching_input_arms_enter() {
        let theme = Theme::dark();
        let dialog = ConfirmDialog::new("Delete", "Sure?", "web-01", "web-01", 6, &theme);
        assert!(dialog.matches());
        let dialog = ConfirmDialog::new("Delete", "Sure?", "web-01", "web-0", 5, &theme);
        assert!(!dialog.matches());
    }

    #[test]
    fn tiny_areas_do_not_panic() {
        let theme = Theme::dark();
        for (w, h) in [(0, 0), (5, 3), (20, 6), (30, 4)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            let dialog = ConfirmDialog::new("Delete", "A long message that wraps a lot", "web-01", "w", 1, &theme)
                .error(Some("no"));
            let _ = dialog.cursor_position(area);
            dialog.render(area, &mut buf);
        }
    }
}
