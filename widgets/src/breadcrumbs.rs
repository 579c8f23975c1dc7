//! Where am I: `painel › tenants › Acme Hosting › branding`. When the path does not fit, middle
//! segments collapse to "…" first; the start (the app) and the end (this screen) matter most.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::text;
use crate::theme::Theme;

const SEPARATOR: &str = " › ";

/// A one-line breadcrumb trail; the last segment is the current screen.
#[derive(Debug, Clone)]
pub struct Breadcrumbs<'a> {
    segments: &'a [&'a str],
    theme: &'a Theme,
}

impl<'a> Breadcrumbs<'a> {
    pub fn new(segments: &'a [&'a str], theme: &'a Theme) -> Self {
        Self { segments, theme }
    }

    /// The segments to draw at `width` columns, with `None` standing for the "…" gap.
    fn fit(&self, width: usize) -> Vec<Option<&'a str>> {
        let total = |parts: &[Option<&str>]| {
            parts.iter().map(|p| p.map_or(1, text::width)).sum::<usize>()
                + parts.len().saturating_sub(1) * SEPARATOR.chars().count()
        };
        let all: Vec<Option<&str>> = self.segments.iter().copied().map(Some).collect();
        if all.len() <= 2 || total(&all) <= width {
            return all;
        }
        // Drop segments right after the first until it fits, keeping at least the last one.
        for skip in 1..all.len() - 1 {
            let mut parts = vec![all[0], None];
            parts.extend_from_slice(&all[skip + 1..]);
            if total(&parts) <= width {
                return parts;
            }
        }
        vec![None, all[all.len() - 1]]
    }
}

impl Widget for Breadcrumbs<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() || self.segments.is_empty() {
            return;
        }
        let width = usize::from(area.width);
        let parts = self.fit(width);
        let last = parts.len() - 1;
        let mut spans = Vec::new();
        let mut used = 0;
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(SEPARATOR, self.theme.muted));
                used += SEPARATOR.chars().count();
            }
            let room = width.saturating_sub(used);
            let (content, style) = match part {
                None => ("…".to_owned(), self.theme.muted),
                Some(s) if i == last => (text::truncate(s, room).into_owned(), self.theme.title),
                Some(s) => (text::truncate(s, room).into_owned(), self.theme.base),
            };
            used += text::width(&content);
            spans.push(Span::styled(content, style));
        }
        buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(segments: &[&str], width: u16) -> String {
        let theme = Theme::dark();
        let area = Rect::new(0, 0, width, 1);
        let mut buf = Buffer::empty(area);
        Breadcrumbs::new(segments, &theme).render(area, &mut buf);
        (0..width)
            .map(|x| buf[(x, 0)].symbol())
            .collect::<String>()
            .trim_end()
            .to_owned()
    }

    #[test]
    fn collapses_the_middle() {
        let path = ["painel", "tenants", "Acme Hosting", "branding"];
        assert_eq!(render(&path, 60), "painel › tenants › Acme Hosting › branding");
        assert_eq!(render(&path, 36), "painel › … › Acme Hosting › branding");
        assert_eq!(render(&path, 22), "painel › … › branding");
        assert_eq!(render(&path, 14), "… › branding");
        assert_eq!(render(&path, 8), "… › bra…");
    }
}
