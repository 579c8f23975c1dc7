//! Key hints (`: cmd  / filter  ? help`), shared by the status bar and popup footers so keys
//! look the same everywhere.

use ratatui::text::{Line, Span};

use crate::text;
use crate::theme::Theme;

/// One key and what it does, e.g. `KeyHint::new("/", "filter")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHint<'a> {
    pub key: &'a str,
    pub desc: &'a str,
}

impl<'a> KeyHint<'a> {
    pub const fn new(key: &'a str, desc: &'a str) -> Self {
        Self { key, desc }
    }
}

/// The hints every screen shows when it has nothing more specific.
pub const DEFAULT_HINTS: &[KeyHint<'static>] = &[
    KeyHint::new(":", "cmd"),
    KeyHint::new("/", "filter"),
    KeyHint::new("?", "help"),
    KeyHint::new("q", "back"),
];

const GAP: &str = "  ";

/// Renders as many whole hints as fit in `max_width` columns; later hints are dropped first,
/// so callers list the most important ones first.
pub fn hint_line<'a>(hints: &[KeyHint<'a>], theme: &Theme, max_width: usize) -> Line<'a> {
    let mut spans = Vec::new();
    let mut used = 0;
    for hint in hints {
        let gap = if spans.is_empty() { 0 } else { GAP.len() };
        let w = gap + text::width(hint.key) + 1 + text::width(hint.desc);
        if used + w > max_width {
            break;
        }
        if gap > 0 {
            spans.push(Span::raw(GAP));
        }
        spans.push(Span::styled(hint.key, theme.key_hint));
        spans.push(Span::styled(format!(" {}", hint.desc), theme.muted));
        used += w;
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_hints_that_do_not_fit() {
        let theme = Theme::dark();
        let line = hint_line(DEFAULT_HINTS, &theme, 100);
        assert_eq!(line.to_string(), ": cmd  / filter  ? help  q back");
        let line = hint_line(DEFAULT_HINTS, &theme, 16);
        assert_eq!(line.to_string(), ": cmd  / filter");
        assert_eq!(line.spans[0].style, theme.key_hint);
        assert_eq!(hint_line(DEFAULT_HINTS, &theme, 2).width(), 0);
    }
}
