//! One-line text input display: the visible slice of a value and where the cursor lands.
//! The caller owns the text and cursor (tui-input in the ui crate); this only scrolls the view
//! so the cursor stays visible, measuring in columns so wide characters do not break it.

use crate::text::{char_width, sanitize};

/// What to draw for an input `width` columns wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InputView {
    /// The visible part of the value (masked if asked).
    pub text: String,
    /// Cursor column relative to the start of the input area.
    pub cursor_col: u16,
}

/// `cursor` counts characters (tui-input's `cursor()`), clamped to the value's length.
pub(crate) fn view(value: &str, cursor: usize, width: u16, masked: bool) -> InputView {
    let width = usize::from(width);
    if width == 0 {
        return InputView {
            text: String::new(),
            cursor_col: 0,
        };
    }
    let value = sanitize(value);
    let chars: Vec<(char, usize)> = value
        .chars()
        .map(|c| if masked { '•' } else { c })
        .map(|c| (c, char_width(c)))
        .collect();
    let cursor = cursor.min(chars.len());
    let cursor_col: usize = chars.iter().take(cursor).map(|(_, w)| w).sum();
    // Scroll just enough that the cursor (which needs one column itself) is inside the view.
    let scroll = (cursor_col + 1).saturating_sub(width);
    let mut text = String::new();
    let mut col = 0;
    for (c, w) in chars {
        if col >= scroll && col + w <= scroll + width {
            text.push(c);
        }
        col += w;
    }
    InputView {
        text,
        cursor_col: u16::try_from(cursor_col.saturating_sub(scroll)).unwrap_or(u16::MAX),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::text::width;

    #[test]
    fn short_values_do_not_scroll() {
        let v = view("acme", 2, 10, false);
        assert_eq!(v.text, "acme");
        assert_eq!(v.cursor_col, 2);
    }

    #[test]
    fn long_values_scroll_to_the_cursor() {
        let v = view("abcdefghij", 10, 5, false);
        assert_eq!(v.text, "ghij");
        assert_eq!(v.cursor_col, 4);
        let v = view("abcdefghij", 0, 5, false);
        assert_eq!(v.text, "abcde");
        assert_eq!(v.cursor_col, 0);
    }

    #[test]
    fn masks_secrets() {
        assert_eq!(view("hunter2", 7, 20, true).text, "•••••••");
    }

    proptest! {
        #[test]
        fn cursor_always_inside(value in "\\PC{0,40}", cursor in 0usize..50, w in 1u16..30) {
            let v = view(&value, cursor, w, false);
            prop_assert!(v.cursor_col < w);
            prop_assert!(width(&v.text) <= usize::from(w));
        }
    }
}
