//! Forms (create tenant, edit server, …). The caller owns each field's text and cursor
//! (tui-input) and validation; the form lays out labels, values, inline errors and hints, and
//! says where the terminal cursor belongs.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use crate::color::swatch_color;
use crate::input;
use crate::text;
use crate::theme::Theme;

/// The style of a text input: base text on the status bar's background.
pub(crate) fn input_style(theme: &Theme) -> Style {
    let mut style = theme.base;
    style.bg = theme.status_bar.bg.or(theme.base.bg);
    // Themes without colour (plain) still need the input to be visible.
    if style.bg.is_none() {
        style = style.add_modifier(ratatui::style::Modifier::UNDERLINED);
    }
    style
}

/// The default footer.
pub const FORM_FOOTER: &str = "Tab next · Shift-Tab prev · Enter save · Esc cancel";

/// Below this inner width labels go above their values instead of beside them.
const STACK_BELOW: u16 = 40;
const MAX_LABEL_WIDTH: usize = 20;

/// One field: label, current text, and optional inline error and hint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormField<'a> {
    pub label: Cow<'a, str>,
    pub value: Cow<'a, str>,
    /// Validation message, shown under the value in the error style (wins over `hint`).
    pub error: Option<Cow<'a, str>>,
    /// Help text shown under the value in the muted style, e.g. "lowercase, used in URLs".
    pub hint: Option<Cow<'a, str>>,
    /// Shown as dots (passwords, API tokens).
    pub masked: bool,
    /// Shown muted while the value is empty, e.g. `https://whm.example.com:2087`.
    pub placeholder: Option<Cow<'a, str>>,
    /// Shows a colour swatch at the end of the value while it is a `#rrggbb`/`#rgb` colour.
    pub swatch: bool,
}

impl<'a> FormField<'a> {
    pub fn new(label: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn error(mut self, error: Option<impl Into<Cow<'a, str>>>) -> Self {
        self.error = error.map(Into::into);
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<Cow<'a, str>>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn masked(mut self, masked: bool) -> Self {
        self.masked = masked;
        self
    }

    /// A colour swatch after the value while it is a hex colour (brand colour fields).
    #[must_use]
    pub fn swatch(mut self, swatch: bool) -> Self {
        self.swatch = swatch;
        self
    }

    /// The swatch colour to show, if the field wants one and its value is a colour.
    fn swatch_color(&self) -> Option<ratatui::style::Color> {
        self.swatch.then(|| swatch_color(&self.value)).flatten()
    }

    #[must_use]
    pub fn placeholder(mut self, placeholder: impl Into<Cow<'a, str>>) -> Self {
        self.placeholder = Some(placeholder.into());
        self
    }

    /// Lines under the value (error or hint).
    fn note(&self) -> Option<(&str, bool)> {
        match (&self.error, &self.hint) {
            (Some(e), _) => Some((e, true)),
            (None, Some(h)) => Some((h, false)),
            (None, None) => None,
        }
    }
}

/// A bordered form filling the area it is given (use [`crate::popup_area`] with
/// [`Form::required_height`] to show it as a dialog).
#[derive(Debug, Clone)]
pub struct Form<'a> {
    title: &'a str,
    fields: &'a [FormField<'a>],
    focused: usize,
    cursor: usize,
    theme: &'a Theme,
    footer: &'a str,
    error: Option<&'a str>,
    active: bool,
}

/// Columns a swatch takes at the end of a value ("██" and a space before it), and the
/// narrowest value that still gets one.
const SWATCH_WIDTH: u16 = 3;
const SWATCH_MIN_VALUE: u16 = 10;

/// Where each visible field landed; shared by rendering and `cursor_position`.
struct Placed {
    index: usize,
    label: Rect,
    value: Rect,
    note: Option<Rect>,
}

impl<'a> Form<'a> {
    /// `focused` is the index of the focused field, `cursor` the cursor (in characters) inside
    /// its value.
    pub fn new(title: &'a str, fields: &'a [FormField<'a>], focused: usize, cursor: usize, theme: &'a Theme) -> Self {
        Self {
            title,
            fields,
            focused,
            cursor,
            theme,
            footer: FORM_FOOTER,
            error: None,
            active: true,
        }
    }

    /// With `false`, a read-only view of the values: no field is marked and there is no
    /// cursor (the focused field still decides the scrolling). Default `true`.
    #[must_use]
    pub fn active(mut self, active: bool) -> Self {
        self.active = active;
        self
    }

    /// An error that belongs to no field (a conflict, a permission), on the form's last row.
    #[must_use]
    pub fn error(mut self, error: Option<&'a str>) -> Self {
        self.error = error;
        self
    }

    #[must_use]
    pub fn footer(mut self, footer: &'a str) -> Self {
        self.footer = footer;
        self
    }

    /// Rows needed to show every field when laid out side by side (borders included).
    pub fn required_height(&self) -> u16 {
        let rows: usize = self.fields.iter().map(|f| 1 + usize::from(f.note().is_some())).sum();
        u16::try_from(rows + 2 + usize::from(self.error.is_some())).unwrap_or(u16::MAX)
    }

    /// Where the terminal cursor goes for the focused field, if it is visible.
    pub fn cursor_position(&self, area: Rect) -> Option<Position> {
        if !self.active {
            return None;
        }
        let placed = self.layout(area);
        let field = placed.iter().find(|p| p.index == self.focused)?;
        let value = self.fields.get(self.focused)?;
        let rect = value_area(value, field.value);
        if rect.width == 0 {
            return None;
        }
        let view = input::view(&value.value, self.cursor, rect.width, value.masked);
        Some(Position::new(rect.x + view.cursor_col, rect.y))
    }

    fn block(&self, area: Rect) -> Block<'a> {
        let room = usize::from(area.width.saturating_sub(2));
        self.theme
            .popup_block()
            .title(self.theme.title_line(self.title, room))
            .title_bottom(Line::styled(
                format!(" {} ", text::truncate(self.footer, room.saturating_sub(2))),
                self.theme.muted,
            ))
    }

    /// The inner area for fields, and the row for the form's own error (the last one).
    fn body(&self, area: Rect) -> (Rect, Option<Rect>) {
        // One column of padding inside the border on each side.
        let mut inner = self.block(area).inner(area).inner(ratatui::layout::Margin::new(1, 0));
        if self.error.is_none() || inner.height < 2 {
            return (inner, None);
        }
        inner.height -= 1;
        let error = Rect::new(inner.x, inner.bottom(), inner.width, 1);
        (inner, Some(error))
    }

    fn layout(&self, area: Rect) -> Vec<Placed> {
        let (inner, _) = self.body(area);
        if inner.is_empty() {
            return Vec::new();
        }
        let stacked = inner.width < STACK_BELOW;
        let label_w = if stacked {
            0
        } else {
            let widest = self.fields.iter().map(|f| text::width(&f.label)).max().unwrap_or(0);
            // marker + label + ": " gap
            u16::try_from(widest.min(MAX_LABEL_WIDTH) + 3)
                .unwrap_or(0)
                .min(inner.width / 3)
        };
        let heights: Vec<u16> = self
            .fields
            .iter()
            .map(|f| 1 + u16::from(stacked) + u16::from(f.note().is_some()))
            .collect();
        // Scroll so the focused field is entirely visible.
        let focused = self.focused.min(self.fields.len().saturating_sub(1));
        let mut first = 0;
        while first < focused && heights[first..=focused].iter().sum::<u16>() > inner.height {
            first += 1;
        }
        let value_x = inner.x + label_w;
        let value_w = inner.width - label_w;
        let mut placed = Vec::new();
        let mut y = inner.y;
        for (index, &h) in heights.iter().enumerate().skip(first) {
            if y + h > inner.bottom() {
                break;
            }
            let label = Rect::new(inner.x, y, if stacked { inner.width } else { label_w }, 1);
            let value_y = y + u16::from(stacked);
            let value = Rect::new(value_x, value_y, value_w, 1);
            let note = (h > 1 + u16::from(stacked)).then(|| Rect::new(value_x, value_y + 1, value_w, 1));
            placed.push(Placed {
                index,
                label,
                value,
                note,
            });
            y += h;
        }
        placed
    }

    fn input_style(&self) -> Style {
        // The status bar's background gives inputs a subtle "well" without another theme slot;
        // focus is shown by the marker, the label colour and the terminal cursor.
        input_style(self.theme)
    }
}

impl Widget for Form<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = self.block(area);
        block.render(area, buf);
        for place in self.layout(area) {
            let Some(field) = self.fields.get(place.index) else {
                continue;
            };
            let focused = self.active && place.index == self.focused;
            let (marker, label_style) = if focused {
                ("› ", self.theme.accent.add_modifier(ratatui::style::Modifier::BOLD))
            } else {
                ("  ", self.theme.muted)
            };
            let label_room = usize::from(place.label.width).saturating_sub(3);
            let label = Line::from(vec![
                Span::styled(marker, self.theme.accent),
                Span::styled(text::truncate(&field.label, label_room).into_owned(), label_style),
            ]);
            buf.set_line(place.label.x, place.label.y, &label, place.label.width);

            let style = self.input_style();
            let value = value_area(field, place.value);
            buf.set_style(value, style);
            if field.value.is_empty() && !focused {
                if let Some(placeholder) = &field.placeholder {
                    let text = text::truncate(placeholder, usize::from(value.width)).into_owned();
                    buf.set_string(value.x, value.y, text, self.theme.placeholder());
                }
            } else {
                let cursor = if focused { self.cursor } else { 0 };
                let view = input::view(&field.value, cursor, value.width, field.masked);
                buf.set_stringn(value.x, value.y, view.text, usize::from(value.width), style);
            }
            if let Some(color) = field.swatch_color().filter(|_| value != place.value) {
                buf.set_string(value.right() + 1, value.y, "██", Style::new().fg(color));
            }

            if let (Some(rect), Some((note, is_error))) = (place.note, field.note()) {
                let (prefix, style) = if is_error {
                    ("✗ ", self.theme.error)
                } else {
                    ("", self.theme.muted)
                };
                let note = format!("{prefix}{note}");
                let note = text::truncate(&note, usize::from(rect.width)).into_owned();
                buf.set_string(rect.x, rect.y, note, style);
            }
        }
        if let (Some(rect), Some(error)) = (self.body(area).1, self.error) {
            let error = text::truncate(&format!("✗ {error}"), usize::from(rect.width)).into_owned();
            buf.set_string(rect.x, rect.y, error, self.theme.error);
        }
    }
}

/// The part of a field's value row its text uses: all of it, less room for a swatch.
fn value_area(field: &FormField<'_>, value: Rect) -> Rect {
    if field.swatch_color().is_some() && value.width >= SWATCH_MIN_VALUE {
        Rect {
            width: value.width - SWATCH_WIDTH,
            ..value
        }
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<FormField<'static>> {
        vec![
            FormField::new("Name", "Acme Hosting"),
            FormField::new("Slug", "acme hosting").error(Some("only a-z, 0-9 and -")),
            FormField::new("Domain", "").placeholder("acme.example"),
        ]
    }

    #[test]
    fn cursor_lands_in_the_focused_value() {
        let theme = Theme::dark();
        let fields = fields();
        let area = Rect::new(0, 0, 60, 10);
        let form = Form::new("New tenant", &fields, 1, 4, &theme);
        // border 1 + padding 1 + label column ("› " + "Domain" + gap = 9) + 4
        assert_eq!(form.cursor_position(area), Some(Position::new(2 + 9 + 4, 2)));
    }

    #[test]
    fn error_is_under_its_field() {
        let theme = Theme::dark();
        let fields = fields();
        let area = Rect::new(0, 0, 60, 10);
        let mut buf = Buffer::empty(area);
        Form::new("New tenant", &fields, 0, 0, &theme).render(area, &mut buf);
        let row = |y: u16| (0..60).map(|x| buf[(x, y)].symbol()).collect::<String>();
        assert!(row(3).contains("✗ only a-z, 0-9 and -"), "{}", row(3));
        assert_eq!(buf[(11, 3)].fg, theme.error.fg.unwrap_or_default());
        assert!(row(4).contains("Domain"));
    }

    #[test]
    fn swatch_and_form_error() {
        let theme = Theme::dark();
        let fields = [
            FormField::new("Primary", "#3b82f6").swatch(true),
            FormField::new("Accent", "purple").swatch(true),
        ];
        let area = Rect::new(0, 0, 50, 6);
        let mut buf = Buffer::empty(area);
        let form = Form::new("Branding", &fields, 0, 7, &theme).error(Some("permission denied"));
        assert_eq!(form.required_height(), 5);
        // The value shrinks to make room for the swatch; the cursor stays inside it.
        assert_eq!(form.cursor_position(area), Some(Position::new(12 + 7, 1)));
        form.render(area, &mut buf);
        let row = |y: u16| (0..50).map(|x| buf[(x, y)].symbol()).collect::<String>();
        assert!(row(1).contains("› Primary #3b82f6"), "{}", row(1));
        assert!(row(1).ends_with("██ │"), "{}", row(1));
        assert_eq!(buf[(46, 1)].fg, ratatui::style::Color::Rgb(0x3b, 0x82, 0xf6));
        assert!(!row(2).contains('█'), "not a colour: no swatch");
        assert!(row(4).contains("✗ permission denied"), "{}", row(4));
        assert_eq!(buf[(2, 4)].fg, theme.error.fg.unwrap_or_default());

        let inactive = Form::new("Branding", &fields, 0, 7, &theme).active(false);
        assert_eq!(inactive.cursor_position(area), None);
        let mut buf = Buffer::empty(area);
        inactive.render(area, &mut buf);
        assert_eq!(buf[(2, 1)].symbol(), " ", "no focus marker");
    }

    #[test]
    fn scrolls_to_focus_and_stacks_when_narrow() {
        let theme = Theme::dark();
        let fields = fields();
        let area = Rect::new(0, 0, 30, 5);
        let form = Form::new("New tenant", &fields, 2, 0, &theme);
        // Narrow: label row then value row; only the focused field fits in 3 rows.
        assert_eq!(form.cursor_position(area), Some(Position::new(2, 2)));
        assert_eq!(form.required_height(), 6);
    }
}
