//! A form of labelled text fields (tui-input) with per-field errors from the backend's
//! `ServiceError::Validation`. The form knows nothing about what is valid: it shows what the
//! service layer said.

use backend::ServiceError;
use crossterm::event::{Event, KeyEvent};
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::Theme;

const LABEL_WIDTH: usize = 18;

#[derive(Debug, Clone)]
pub struct Field {
    /// The backend's field name (`FieldError::field`).
    pub key: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub input: Input,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Form {
    pub fields: Vec<Field>,
    pub focus: usize,
    /// An error that belongs to no field (conflict, permission, database…).
    pub error: Option<String>,
}

impl Form {
    /// `specs`: (field key, label, hint shown when empty).
    pub fn new(specs: &[(&'static str, &'static str, &'static str)]) -> Form {
        Form {
            fields: specs
                .iter()
                .map(|&(key, label, hint)| Field {
                    key,
                    label,
                    hint,
                    input: Input::default(),
                    error: None,
                })
                .collect(),
            focus: 0,
            error: None,
        }
    }

    pub fn value(&self, key: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.input.value().to_owned())
            .unwrap_or_default()
    }

    pub fn set(&mut self, key: &str, value: &str) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.key == key) {
            f.input = Input::new(value.to_owned());
        }
    }

    pub fn error_of(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .and_then(|f| f.error.as_deref())
    }

    pub fn next(&mut self) {
        if !self.fields.is_empty() {
            self.focus = (self.focus + 1) % self.fields.len();
        }
    }

    pub fn prev(&mut self) {
        if !self.fields.is_empty() {
            self.focus = (self.focus + self.fields.len() - 1) % self.fields.len();
        }
    }

    /// Feeds a key to the focused field; true when its value changed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let Some(f) = self.fields.get_mut(self.focus) else {
            return false;
        };
        f.input
            .handle_event(&Event::Key(key))
            .is_some_and(|changed| changed.value)
    }

    pub fn clear_errors(&mut self) {
        self.error = None;
        for f in &mut self.fields {
            f.error = None;
        }
    }

    /// Shows a service error: validation messages next to their fields (focusing the
    /// first), anything else as the form's own error line.
    pub fn show_error(&mut self, err: &ServiceError) {
        self.clear_errors();
        let mut general = Vec::new();
        let mut first = None;
        for fe in err.fields() {
            match self.fields.iter().position(|f| f.key == fe.field) {
                Some(i) => {
                    self.fields[i].error = Some(fe.message.clone());
                    first = Some(first.map_or(i, |j: usize| j.min(i)));
                }
                None => general.push(format!("{}: {}", fe.field, fe.message)),
            }
        }
        if err.fields().is_empty() {
            general.push(err.to_string());
        }
        if let Some(i) = first {
            self.focus = i;
        }
        if !general.is_empty() {
            self.error = Some(general.join("; "));
        }
    }

    fn lines(&self, width: usize, active: bool, theme: &Theme) -> (Vec<Line<'static>>, usize, Option<(usize, u16)>) {
        let mut lines = Vec::new();
        let mut focus_line = 0;
        let mut cursor = None;
        let swatch_room = 3;
        let value_width = width.saturating_sub(LABEL_WIDTH + 2 + swatch_room).max(1);
        for (i, f) in self.fields.iter().enumerate() {
            let focused = active && i == self.focus;
            if i == self.focus {
                focus_line = lines.len();
            }
            let marker = if focused { "▸ " } else { "  " };
            let label_style = if focused { theme.accent } else { theme.muted };
            let label = widgets::text::truncate(f.label, LABEL_WIDTH - 3).into_owned();
            let scroll = f.input.visual_scroll(value_width);
            let shown: String = f.input.value().chars().skip(scroll).take(value_width).collect();
            let mut spans = vec![
                Span::styled(marker, theme.accent),
                Span::styled(format!("{label:<w$} ", w = LABEL_WIDTH - 3), label_style),
            ];
            if shown.is_empty() && !focused {
                spans.push(Span::styled(f.hint.to_owned(), theme.muted));
            } else {
                let style = if focused { theme.title } else { theme.base };
                spans.push(Span::styled(shown.clone(), style));
            }
            if f.key.ends_with("_color") {
                if let Some(c) = hex_color(f.input.value()) {
                    let pad = value_width.saturating_sub(widgets::text::width(&shown)) + 1;
                    spans.push(Span::raw(" ".repeat(pad)));
                    spans.push(Span::styled("██", Style::default().fg(c)));
                }
            }
            if focused {
                let x = LABEL_WIDTH + (f.input.visual_cursor().saturating_sub(scroll)).min(value_width);
                cursor = Some((lines.len(), u16::try_from(x).unwrap_or(u16::MAX)));
            }
            lines.push(Line::from(spans));
            if let Some(e) = &f.error {
                lines.push(Line::from(vec![
                    Span::raw(" ".repeat(LABEL_WIDTH)),
                    Span::styled(format!("✗ {e}"), theme.error),
                ]));
            }
        }
        if let Some(e) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!("✗ {e}"), theme.error));
        }
        (lines, focus_line, cursor)
    }

    /// Draws the fields in `area`, scrolled so the focused one shows; with `active` the
    /// focused field gets the terminal cursor.
    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme, active: bool) {
        let (lines, focus_line, cursor) = self.lines(usize::from(area.width), active, theme);
        let height = usize::from(area.height);
        let offset = (focus_line + 2).saturating_sub(height);
        if let Some((line, x)) = cursor {
            if line >= offset && line < offset + height {
                let y = area.y + u16::try_from(line - offset).unwrap_or(0);
                f.set_cursor_position(Position::new(area.x + x.min(area.width.saturating_sub(1)), y));
            }
        }
        let visible: Vec<Line> = lines.into_iter().skip(offset).take(height).collect();
        f.render_widget(Paragraph::new(visible).style(theme.base), area);
    }
}

/// `#rrggbb` → a terminal colour, for swatches. Anything else → no swatch.
pub fn hex_color(s: &str) -> Option<Color> {
    let s = s.trim().strip_prefix('#')?;
    if s.len() != 6 || !s.is_ascii() {
        return None;
    }
    let p = |i: usize| u8::from_str_radix(s.get(i..i + 2)?, 16).ok();
    Some(Color::Rgb(p(0)?, p(2)?, p(4)?))
}

#[cfg(test)]
mod tests {
    use backend::FieldError;

    use super::*;

    #[test]
    fn validation_errors_land_on_their_fields() {
        let mut form = Form::new(&[("name", "Name", ""), ("domain", "Domain", "")]);
        form.show_error(&ServiceError::Validation(vec![
            FieldError {
                field: "domain".into(),
                message: "bad".into(),
            },
            FieldError {
                field: "other".into(),
                message: "odd".into(),
            },
        ]));
        assert_eq!(form.error_of("domain"), Some("bad"));
        assert_eq!(form.error_of("name"), None);
        assert_eq!(form.focus, 1);
        assert_eq!(form.error.as_deref(), Some("other: odd"));
    }

    #[test]
    fn hex_colours() {
        assert_eq!(hex_color("#ff0080"), Some(Color::Rgb(255, 0, 128)));
        assert_eq!(hex_color("red"), None);
    }
}
