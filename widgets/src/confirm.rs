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
    typed: bool,
    /// Free-text inputs under the typed confirmation (a reason; a 2FA code).
    extras: Vec<Extra<'a>>,
}

/// A second, free-text input under the typed confirmation (see [`ConfirmDialog::extra`]).
#[derive(Debug, Clone, Copy)]
struct Extra<'a> {
    label: &'a str,
    value: &'a str,
    /// `Some` when this input has the focus: the cursor in characters.
    cursor: Option<usize>,
}

/// Where each part of the dialog lands; `None` for parts the dialog does not have.
struct Rows {
    message: Rect,
    prompt: Option<Rect>,
    input: Option<Rect>,
    error: Rect,
    /// (label, input) of each extra input.
    extras: Vec<(Rect, Rect)>,
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
            typed: true,
            extras: Vec::new(),
        }
    }

    /// An error under the input, e.g. "name does not match" or a failure from the backend.
    #[must_use]
    pub fn error(mut self, error: Option<&'a str>) -> Self {
        self.error = error;
        self
    }

    /// With `false`, a plain yes/no confirmation for actions that are easy to undo: no prompt
    /// and no input, and Enter is armed at once. Default `true`.
    #[must_use]
    pub fn typed(mut self, typed: bool) -> Self {
        self.typed = typed;
        self
    }

    /// A second, free-text input under the typed one, e.g. the reason for suspending a tenant.
    /// Errors for it go in [`ConfirmDialog::error`] too: the dialog has one error line.
    #[must_use]
    /// Called again, it adds another input below (a 2FA code under the reason).
    pub fn extra(mut self, label: &'a str, value: &'a str) -> Self {
        self.extras.push(Extra {
            label,
            value,
            cursor: None,
        });
        self
    }

    /// Puts the focus, with the cursor at `cursor` characters, in the [`ConfirmDialog::extra`]
    /// input instead of the typed one.
    #[must_use]
    /// The last one added, when there are several (see [`ConfirmDialog::focus_extra_at`]).
    pub fn focus_extra(self, cursor: usize) -> Self {
        let last = self.extras.len().saturating_sub(1);
        self.focus_extra_at(last, cursor)
    }

    /// Puts the focus in the `i`-th extra input (0 = the first added).
    #[must_use]
    pub fn focus_extra_at(mut self, i: usize, cursor: usize) -> Self {
        for (j, extra) in self.extras.iter_mut().enumerate() {
            extra.cursor = (j == i).then_some(cursor);
        }
        self
    }

    /// True when the typed text equals the target (what the caller should check on Enter).
    pub fn matches(&self) -> bool {
        !self.typed || self.input == self.target
    }

    /// Rows below the message: prompt and input when typed, the error line, and the extra
    /// input's label and value.
    fn fixed_rows(&self) -> u16 {
        2 * u16::from(self.typed) + 1 + 2 * u16::try_from(self.extras.len()).unwrap_or(0)
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
        // message, blank, the fixed rows (prompt, input, error-or-blank, …), + 2 borders
        let lines = self.message_lines(area).len() + 1 + usize::from(self.fixed_rows()) + 2;
        let height = u16::try_from(lines).unwrap_or(u16::MAX);
        text::popup_area(area, width, height)
    }

    fn rows(&self, area: Rect) -> Rows {
        let inner = self.area(area).inner(Margin::new(2, 1));
        let fixed = self.fixed_rows();
        let message_h = u16::try_from(self.message_lines(area).len()).unwrap_or(u16::MAX);
        // When squeezed, the message gives way: the inputs must stay visible.
        let message_h = message_h.min(inner.height.saturating_sub(fixed));
        let row = |dy: u16| {
            let y = (inner.y + dy).min(inner.bottom().saturating_sub(1));
            Rect::new(inner.x, y, inner.width, u16::from(inner.height > 0))
        };
        let mut dy = message_h + u16::from(inner.height > message_h + fixed);
        let mut next = || {
            dy += 1;
            row(dy - 1)
        };
        let (prompt, input) = if self.typed {
            (Some(next()), Some(next()))
        } else {
            (None, None)
        };
        let error = next();
        let extras = self.extras.iter().map(|_| (next(), next())).collect();
        Rows {
            message: Rect::new(inner.x, inner.y, inner.width, message_h),
            prompt,
            input,
            error,
            extras,
        }
    }

    /// Where the terminal cursor goes.
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        let rows = self.rows(area);
        let focused = self
            .extras
            .iter()
            .zip(&rows.extras)
            .find_map(|(e, (_, input))| e.cursor.map(|c| (*input, e.value, c)));
        let (row, value, cursor) = match focused {
            Some(f) => f,
            None => (rows.input?, self.input, self.cursor),
        };
        if row.is_empty() {
            return None;
        }
        let view = input::view(value, cursor, row.width, false);
        Some(Position::new(row.x + view.cursor_col, row.y))
    }
}

/// Draws an input's value on its row with the input style.
fn render_input(row: Rect, value: &str, cursor: usize, theme: &Theme, buf: &mut Buffer) {
    let style = input_style(theme);
    buf.set_style(row, style);
    let view = input::view(value, cursor, row.width, false);
    buf.set_stringn(row.x, row.y, view.text, usize::from(row.width), style);
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

        let rows = self.rows(area);
        let message = rows.message;
        for (i, line) in self
            .message_lines(area)
            .iter()
            .take(usize::from(message.height))
            .enumerate()
        {
            let y = message.y + u16::try_from(i).unwrap_or(0);
            buf.set_stringn(message.x, y, line, usize::from(message.width), self.theme.base);
        }
        if rows.error.is_empty() {
            return;
        }
        // When squeezed, rows share the last line; the inputs win, then the error line.
        let mut taken: Vec<u16> = Vec::new();
        let mut claim = |row: Option<Rect>| {
            let row = row.filter(|r| !taken.contains(&r.y))?;
            taken.push(row.y);
            Some(row)
        };
        let input_row = claim(rows.input);
        let extra_rows: Vec<Option<Rect>> = rows.extras.iter().map(|(_, input)| claim(Some(*input))).collect();
        let error_row = claim(Some(rows.error));
        let prompt_row = claim(rows.prompt);
        let extra_label_rows: Vec<Option<Rect>> = rows.extras.iter().map(|(label, _)| claim(Some(*label))).collect();
        let width = usize::from(rows.error.width);

        if let Some(prompt) = prompt_row {
            let target = text::truncate(self.target, width.saturating_sub(17));
            let prompt_line = Line::from(vec![
                Span::styled("Type ", self.theme.muted),
                Span::styled(target.into_owned(), self.theme.title),
                Span::styled(" to confirm:", self.theme.muted),
            ]);
            buf.set_line(prompt.x, prompt.y, &prompt_line, prompt.width);
        }
        let extra_focused = self.extras.iter().any(|e| e.cursor.is_some());
        if let Some(row) = input_row {
            let cursor = if extra_focused { 0 } else { self.cursor };
            render_input(row, self.input, cursor, self.theme, buf);
        }
        if let Some(error_row) = error_row {
            let note = match self.error {
                Some(error) => Some((format!("✗ {error}"), self.theme.error)),
                None if self.matches() => Some(("✓ press Enter to confirm".to_owned(), self.theme.warning)),
                None => None,
            };
            if let Some((note, style)) = note {
                buf.set_string(error_row.x, error_row.y, text::truncate(&note, width), style);
            }
        }
        for ((extra, label_row), input_row) in self.extras.iter().zip(extra_label_rows).zip(extra_rows) {
            if let Some(row) = label_row {
                let label = text::truncate(&format!("{}:", extra.label), width).into_owned();
                buf.set_string(row.x, row.y, label, self.theme.muted);
            }
            if let Some(row) = input_row {
                render_input(row, extra.value, extra.cursor.unwrap_or(0), self.theme, buf);
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
    fn extra_input_and_untyped_confirmation() {
        let theme = Theme::dark();
        let area = Rect::new(0, 0, 80, 24);
        let dialog = ConfirmDialog::new("Suspend", "Stops it.", "acme", "acme", 4, &theme)
            .extra("Reason", "unpaid")
            .focus_extra(6);
        let popup = dialog.area(area);
        // message, gap, prompt, input, error line, label → the extra input on the 7th inner row.
        assert_eq!(popup.height, 1 + 1 + 5 + 2);
        assert_eq!(
            dialog.cursor_position(area),
            Some(Position::new(popup.x + 2 + 6, popup.y + 7))
        );
        let mut buf = Buffer::empty(area);
        dialog.render(area, &mut buf);
        let row = |y: u16| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>();
        assert!(
            row(popup.y + 5).contains("✓ press Enter to confirm"),
            "{}",
            row(popup.y + 5)
        );
        assert!(row(popup.y + 6).contains("Reason:"));
        assert!(row(popup.y + 7).contains("unpaid"));

        let plain = ConfirmDialog::new("Reactivate", "Reactivate acme?", "acme", "", 0, &theme).typed(false);
        assert!(plain.matches());
        assert_eq!(plain.cursor_position(area), None);
        assert_eq!(plain.area(area).height, 1 + 1 + 1 + 2);
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
            dialog.clone().render(area, &mut buf);
            let dialog = dialog.extra("Reason", "because").focus_extra(3);
            let _ = dialog.cursor_position(area);
            dialog.clone().render(area, &mut buf);
            dialog.typed(false).render(area, &mut buf);
        }
    }
}
