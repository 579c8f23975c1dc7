//! The state of a form of labelled text fields (tui-input) with per-field errors from the
//! backend's `ServiceError::Validation`, drawn by [`widgets::Form`]. The form knows nothing
//! about what is valid: it shows what the service layer said.

use backend::ServiceError;
use crossterm::event::{Event, KeyEvent};
use ratatui::layout::Rect;
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::{FormField, Theme};

#[derive(Debug, Clone)]
pub struct Field {
    /// The backend's field name (`FieldError::field`).
    pub key: &'static str,
    pub label: &'static str,
    /// An example of a value, shown ("e.g. …", dim italic) while the field is empty. Never a
    /// default: a default is filled in as the field's value (docs/adr/0022).
    pub hint: &'static str,
    pub input: Input,
    pub error: Option<String>,
    /// Drawn as dots (passwords).
    pub masked: bool,
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
                    masked: false,
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

    /// Shows the field `key` as dots.
    #[must_use]
    pub fn masked(mut self, key: &str) -> Form {
        if let Some(f) = self.fields.iter_mut().find(|f| f.key == key) {
            f.masked = true;
        }
        self
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

    /// Feeds a key to the focused field; true when its value changed. Editing a field clears
    /// its error: the message was about the old value, and keeping it would say the new one is
    /// wrong too (the next save says again what the service thinks).
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let Some(f) = self.fields.get_mut(self.focus) else {
            return false;
        };
        let changed = f
            .input
            .handle_event(&Event::Key(key))
            .is_some_and(|changed| changed.value);
        if changed {
            f.error = None;
        }
        changed
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

    /// The fields as the [`widgets::Form`] shows them: the hint is the placeholder of an empty
    /// field — always an example, written "e.g. …" and drawn dim italic, so grey text never
    /// reads as a value (a default is filled in as a real value instead; docs/adr/0022) —
    /// and colour fields (`*_color`) get a swatch.
    pub fn widget_fields(&self) -> Vec<FormField<'_>> {
        self.fields
            .iter()
            .map(|f| {
                let example = if f.hint.is_empty() {
                    String::new()
                } else {
                    format!("e.g. {}", f.hint)
                };
                FormField::new(f.label, f.input.value())
                    .placeholder(example)
                    .error(f.error.as_deref())
                    .swatch(f.key.ends_with("_color"))
                    .masked(f.masked)
            })
            .collect()
    }

    /// Draws the form filling `area`; with `active` the focused field is marked and gets the
    /// terminal cursor.
    pub fn draw(&self, f: &mut Frame, area: Rect, title: &str, footer: &str, theme: &Theme, active: bool) {
        let fields = self.widget_fields();
        let cursor = self.fields.get(self.focus).map_or(0, |f| f.input.cursor());
        let form = widgets::Form::new(title, &fields, self.focus, cursor, theme)
            .footer(footer)
            .error(self.error.as_deref())
            .active(active);
        if let Some(pos) = form.cursor_position(area) {
            f.set_cursor_position(pos);
        }
        f.render_widget(form, area);
    }
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

    fn bad(fields: &[&str]) -> ServiceError {
        ServiceError::Validation(
            fields
                .iter()
                .map(|f| FieldError {
                    field: (*f).into(),
                    message: "bad".into(),
                })
                .collect(),
        )
    }

    #[test]
    fn editing_a_field_clears_its_error_only() {
        use crossterm::event::{KeyCode, KeyModifiers};
        let mut form = Form::new(&[("name", "Name", ""), ("domain", "Domain", ""), ("tier", "Tier", "")]);
        form.show_error(&bad(&["tier", "domain"]));
        // Focus goes to the first bad field in the form's order, not the service's.
        assert_eq!(form.focus, 1);
        // A key that changes nothing (moving the cursor) leaves the error standing.
        assert!(!form.input(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE)));
        assert_eq!(form.error_of("domain"), Some("bad"));
        assert!(form.input(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)));
        assert_eq!(form.error_of("domain"), None, "the edited field's error is gone");
        assert_eq!(
            form.error_of("tier"),
            Some("bad"),
            "the other field still says what is wrong"
        );
        // A second failed save moves focus back to the first bad field.
        form.next();
        form.next();
        assert_eq!(form.focus, 0);
        form.show_error(&bad(&["tier"]));
        assert_eq!(form.focus, 2);
    }
}
