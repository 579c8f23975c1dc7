//! Text measuring and fitting shared by the widgets. Data comes from the database and from
//! tenants (names, subjects, brand strings), so it may hold newlines, tabs, wide CJK characters
//! or emoji; everything here measures in terminal columns, never in bytes.

use std::borrow::Cow;

use ratatui::layout::Rect;
use ratatui::text::Span;

/// The character that marks cut text.
pub const ELLIPSIS: char = '…';

/// Width of `text` in terminal columns.
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// Width of one character in terminal columns (0 for combining marks).
pub fn char_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    width(c.encode_utf8(&mut buf))
}

/// Replaces control characters (newlines, tabs, escapes) with spaces: one cell is one line, and
/// an escape sequence from a customer-supplied name must never reach the terminal.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// Cuts `text` to at most `max` columns, ending with "…" when something was cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    let text = sanitize(text);
    if width(&text) <= max {
        return text;
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    // Per-character widths can undercount sequences (emoji + variation selector), so check the
    // whole string and drop more if needed.
    while !out.is_empty() && width(&out) + 1 > max {
        out.pop();
    }
    out.push(ELLIPSIS);
    Cow::Owned(out)
}

/// Like [`truncate`] but keeps the end ("…ting/branding"), for paths where the tail matters.
pub fn truncate_start(text: &str, max: usize) -> Cow<'_, str> {
    let text = sanitize(text);
    if width(&text) <= max {
        return text;
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut tail = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        used += w;
        tail.push(c);
    }
    let mut kept: String = tail.into_iter().rev().collect();
    while !kept.is_empty() && width(&kept) + 1 > max {
        kept.remove(0);
    }
    let mut out = String::from(ELLIPSIS);
    out.push_str(&kept);
    Cow::Owned(out)
}

/// Word-wraps `text` to lines of at most `max` columns (long words are cut). Used where a
/// widget must know its height before drawing (dialogs size themselves to their message).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    if max == 0 {
        return lines;
    }
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in sanitize(paragraph).split(' ').filter(|w| !w.is_empty()) {
            let w = width(word);
            if used > 0 && used + 1 + w <= max {
                line.push(' ');
                line.push_str(word);
                used += 1 + w;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            // A word longer than the line is split wherever it reaches the edge.
            for c in word.chars() {
                let cw = char_width(c);
                if used + cw > max && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cw;
            }
        }
        lines.push(line);
    }
    lines
}

/// A `width`×`height` rectangle centred in `area`, shrunk to fit when `area` is smaller.
pub fn popup_area(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(truncate("servers", 10), "servers");
        assert_eq!(truncate("servers", 7), "servers");
        assert_eq!(truncate("servers", 6), "serve…");
        assert_eq!(truncate("servers", 1), "…");
        assert_eq!(truncate("servers", 0), "");
        assert_eq!(truncate_start("tenants/acme", 6), "…/acme");
    }

    #[test]
    fn wide_characters_count_double() {
        assert_eq!(width("日本"), 4);
        assert_eq!(truncate("日本語", 5), "日本…");
        assert_eq!(truncate("日本語", 4), "日…");
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(sanitize("a\nb\x1b[31m"), "a b [31m");
    }

    #[test]
    fn wraps_words() {
        assert_eq!(
            wrap("This permanently deletes web-01", 12),
            vec!["This", "permanently", "deletes", "web-01"]
        );
        assert_eq!(wrap("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("a\n\nb", 3), vec!["a", "", "b"]);
    }

    #[test]
    fn popup_is_centred_and_clamped() {
        let area = Rect::new(0, 0, 80, 24);
        assert_eq!(popup_area(area, 40, 10), Rect::new(20, 7, 40, 10));
        assert_eq!(popup_area(area, 100, 30), area);
    }

    proptest! {
        #[test]
        fn truncate_fits(text in "\\PC{0,40}", max in 0usize..30) {
            prop_assert!(width(&truncate(&text, max)) <= max);
            prop_assert!(width(&truncate_start(&text, max)) <= max);
            for line in wrap(&text, max.max(2)) {
                prop_assert!(width(&line) <= max.max(2), "{line:?}");
            }
        }
    }
}
