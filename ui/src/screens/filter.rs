//! The `/` filter line shared by list screens.

use crossterm::event::{Event, KeyEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::Theme;

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

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let width = usize::from(area.width.saturating_sub(2)).max(1);
        let scroll = self.input.visual_scroll(width);
        let shown: String = self.input.value().chars().skip(scroll).collect();
        let mut spans = vec![Span::styled("/", theme.key_hint), Span::styled(shown, theme.base)];
        if !self.editing {
            spans.push(Span::styled("   (/ to change, esc to clear)", theme.muted));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        if self.editing {
            let x = u16::try_from(self.input.visual_cursor().saturating_sub(scroll) + 1).unwrap_or(0);
            f.set_cursor_position(Position::new(area.x + x.min(area.width.saturating_sub(1)), area.y));
        }
    }
}
