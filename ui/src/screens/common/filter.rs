//! The `/` filter line shared by list screens, drawn by [`InputLine`].

use crossterm::event::{Event, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::{InputLine, Theme};

#[derive(Debug, Clone, Default)]
pub struct FilterLine {
    pub input: Input,
    pub editing: bool,
}

impl FilterLine {
    /// The filter to send to the backend, if any.
    pub fn value(&self) -> Option<String> {
        let v = self.input.value().trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    pub fn start(&mut self) {
        self.editing = true;
    }

    /// Feeds a key; true when the text changed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        self.input.handle_event(&Event::Key(key)).is_some_and(|c| c.value)
    }

    pub fn accept(&mut self) {
        self.editing = false;
    }

    /// Esc: stop editing and clear; true when a filter was removed.
    pub fn cancel(&mut self) -> bool {
        self.editing = false;
        let had = self.value().is_some();
        self.input.reset();
        had
    }

    /// Whether the line takes a row of the screen.
    pub fn visible(&self) -> bool {
        self.editing || self.value().is_some()
    }

    /// Draws the line on the first row of `area` when it is [`visible`](Self::visible);
    /// returns the rest of `area` for the list.
    pub fn draw_above(&self, f: &mut Frame, area: Rect, theme: &Theme) -> Rect {
        if !self.visible() {
            return area;
        }
        let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        self.draw(f, line, theme);
        rest
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let line = InputLine::new("/", self.input.value(), self.input.cursor(), self.editing, theme)
            .hint("(/ to change, esc to clear)");
        if let Some(pos) = line.cursor_position(area) {
            f.set_cursor_position(pos);
        }
        f.render_widget(line, area);
    }
}
