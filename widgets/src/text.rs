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

/// Whether `c` must not reach a terminal as it is: C0 controls (ESC starts every escape
/// sequence, BEL ends OSC titles), DEL, C1 controls (U+009B is CSI on terminals that honour
/// 8-bit controls) and the bidirectional overrides and isolates that reorder what the operator
/// reads ("Trojan Source").
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The printable stand-in for an unsafe character: line breaks and tabs become spaces (one cell
/// is one line), other C0 controls and DEL their Unicode control picture (ESC shows as `␛`, so
/// tampering stays visible), C1 controls and bidi controls U+FFFD.
fn replacement(c: char) -> char {
    match c {
        '\n' | '\r' | '\t' => ' ',
        '\u{7f}' => '\u{2421}',
        c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'),
        _ => '\u{FFFD}',
    }
}

/// Makes stored text safe to print on a terminal: every character [`is_unsafe_char`] says is
/// unsafe is replaced, one for one, by a printable one. Names, usernames, SSH connection
/// strings and audit payloads come from tenants and from failed logins: hostile by default.
/// Every terminal output goes through this (batch tables, CSV, errors, prompts, the TUI).
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe_char) {
        Cow::Owned(
            text.chars()
                .map(|c| if is_unsafe_char(c) { replacement(c) } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// Scrubs a drawn frame: ratatui drops control characters from spans but keeps zero-width
/// ones (bidi overrides) glued to the previous cell, and widgets may set symbols directly. The
/// app runs this once over the whole buffer after drawing, so no screen can forget it.
pub fn sanitize_buffer(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(is_unsafe_char) {
            let clean: String = cell.symbol().chars().filter(|c| !is_unsafe_char(*c)).collect();
            cell.set_symbol(if clean.is_empty() { " " } else { &clean });
        }
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
    fn control_characters_become_printable() {
        assert_eq!(sanitize("a\nb\x1b[31m"), "a b\u{241b}[31m");
        assert_eq!(
            sanitize("\x1b[2J\x1b]0;pwned\x07"),
            "\u{241b}[2J\u{241b}]0;pwned\u{2407}"
        );
        assert_eq!(sanitize("\u{9b}31m\u{202e}gnp.exe"), "\u{fffd}31m\u{fffd}gnp.exe");
        assert!(matches!(sanitize("plain café 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn buffer_scrub_removes_bidi_overrides_glued_to_cells() {
        use ratatui::buffer::Buffer;
        use ratatui::text::Line;
        use ratatui::widgets::Widget;
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        Line::raw("ab\u{202e}cd\x1b").render(buf.area, &mut buf);
        assert!(
            buf.content.iter().any(|c| c.symbol().contains('\u{202e}')),
            "ratatui keeps it"
        );
        sanitize_buffer(&mut buf);
        let text: String = buf.content.iter().map(|c| c.symbol()).collect();
        assert!(!text.chars().any(is_unsafe_char), "{text:?}");
        assert!(text.starts_with("abcd"), "{text:?}");
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
        fn sanitize_leaves_nothing_unsafe(text in any::<String>()) {
            let clean = sanitize(&text);
            prop_assert!(!clean.chars().any(is_unsafe_char), "{clean:?}");
            prop_assert!(!clean.contains('\x1b'));
            // One for one: nothing the operator should see disappears.
            prop_assert_eq!(clean.chars().count(), text.chars().count());
            for (a, b) in text.chars().zip(clean.chars()) {
                if !is_unsafe_char(a) {
                    prop_assert_eq!(a, b);
                }
            }
        }

        #[test]
        fn sanitize_covers_every_control(c in any::<char>()) {
            let s = c.to_string();
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                let clean = sanitize(&s);
                prop_assert_ne!(clean.as_ref(), s.as_str());
            }
        }

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
