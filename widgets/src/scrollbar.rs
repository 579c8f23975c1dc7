//! A minimal vertical scroll indicator drawn over a panel's right border. Our own (instead of
//! ratatui's `Scrollbar`) so the thumb reaches the bottom exactly at the last page and the track
//! stays the border itself.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::theme::Theme;

/// Draws a thumb on the right border of `panel`, alongside the rows of `body`, for a view of
/// `viewport` lines starting at `offset` into `total` lines. Draws nothing when everything fits
/// or the panel has no right border to draw on.
pub(crate) fn render(
    panel: Rect,
    body: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    total: usize,
    offset: usize,
    viewport: usize,
) {
    let track = Rect::new(panel.right().saturating_sub(1), body.y, 1, body.height).intersection(panel);
    let height = usize::from(track.height);
    if panel.width < 2 || total <= viewport || height == 0 || viewport == 0 {
        return;
    }
    let thumb = (height * viewport / total).clamp(1, height);
    let max_offset = total - viewport;
    let start = (height - thumb) * offset.min(max_offset) / max_offset;
    for i in start..start + thumb {
        // i < height <= u16::MAX, so the conversion cannot fail.
        let y = track.y + u16::try_from(i).unwrap_or(0);
        if let Some(cell) = buf.cell_mut((track.x, y)) {
            cell.set_symbol("┃").set_style(theme.border_focused);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thumb_rows(total: usize, offset: usize) -> Vec<u16> {
        let panel = Rect::new(0, 0, 3, 10);
        let mut buf = Buffer::empty(panel);
        render(panel, panel, &mut buf, &Theme::plain(), total, offset, 10);
        (0..10).filter(|&y| buf[(2, y)].symbol() == "┃").collect()
    }

    #[test]
    fn thumb_spans_top_to_bottom() {
        assert!(thumb_rows(10, 0).is_empty());
        assert_eq!(thumb_rows(40, 0), vec![0, 1]);
        assert_eq!(thumb_rows(40, 30), vec![8, 9]);
        assert_eq!(thumb_rows(40, 99), vec![8, 9]);
    }
}
