//! Terminal safety: raw mode and the alternate screen are left on every exit — a `Drop` guard
//! for normal returns and errors, and a panic hook that restores before chaining to the
//! previous hook (so the panic message lands on a usable terminal).

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::Terminal;

pub type Term = Terminal<Clamped<CrosstermBackend<Stdout>>>;

/// Largest window the UI draws into. Over SSH the client sets the window size (up to
/// 65535×65535, i.e. a 4-billion-cell buffer); anything past this is left blank.
pub const MAX_COLUMNS: u16 = 1000;
pub const MAX_ROWS: u16 = 500;

/// Clamps a reported window size to 1..=[`MAX_COLUMNS`] × 1..=[`MAX_ROWS`].
pub fn clamp_size(s: Size) -> Size {
    Size::new(s.width.clamp(1, MAX_COLUMNS), s.height.clamp(1, MAX_ROWS))
}

/// A backend whose reported size is clamped ([`clamp_size`]); everything else passes through.
pub struct Clamped<B>(pub B);

impl<B: Backend> Backend for Clamped<B> {
    type Error = B::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.0.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.0.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.0.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.0.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.0.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.0.size().map(clamp_size)
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        let w = self.0.window_size()?;
        Ok(WindowSize {
            columns_rows: clamp_size(w.columns_rows),
            pixels: w.pixels,
        })
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush()
    }
}

/// Owns the terminal while the UI runs; restores it when dropped.
pub struct TerminalGuard {
    pub terminal: Term,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        let setup = execute!(io::stdout(), EnterAlternateScreen, Hide)
            .and_then(|()| Terminal::new(Clamped(CrosstermBackend::new(io::stdout()))));
        match setup {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;

    #[test]
    fn absurd_window_sizes_are_clamped() {
        assert_eq!(clamp_size(Size::new(0, 0)), Size::new(1, 1));
        assert_eq!(clamp_size(Size::new(65535, 65535)), Size::new(MAX_COLUMNS, MAX_ROWS));
        assert_eq!(clamp_size(Size::new(120, 40)), Size::new(120, 40));
        let t = Terminal::new(Clamped(TestBackend::new(4000, 3000))).unwrap();
        assert_eq!(t.size().unwrap(), Size::new(MAX_COLUMNS, MAX_ROWS));
    }
}
