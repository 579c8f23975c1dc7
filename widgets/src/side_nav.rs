//! The left navigation column listing the sitemap sections. At 80 columns every column counts,
//! so the caller hides it below [`SideNav::MIN_TOTAL_WIDTH`] and relies on `:` and breadcrumbs.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::text;
use crate::theme::{Theme, Tone};

/// A section in the navigation, optionally with a small count badge ("3" open incidents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavItem<'a> {
    pub label: Cow<'a, str>,
    pub badge: Option<(Cow<'a, str>, Tone)>,
}

impl<'a> NavItem<'a> {
    pub fn new(label: impl Into<Cow<'a, str>>) -> Self {
        Self {
            label: label.into(),
            badge: None,
        }
    }

    #[must_use]
    pub fn badge(mut self, text: impl Into<Cow<'a, str>>, tone: Tone) -> Self {
        self.badge = Some((text.into(), tone));
        self
    }
}

impl<'a> From<&'a str> for NavItem<'a> {
    fn from(label: &'a str) -> Self {
        Self::new(label)
    }
}

/// The navigation panel: items, which one is active, and whether the panel has focus.
#[derive(Debug, Clone)]
pub struct SideNav<'a> {
    items: &'a [NavItem<'a>],
    active: usize,
    focused: bool,
    theme: &'a Theme,
    title: Option<&'a str>,
}

impl<'a> SideNav<'a> {
    /// Below this terminal width the caller should hide the navigation.
    pub const MIN_TOTAL_WIDTH: u16 = 100;
    /// Default width of the panel, borders included.
    pub const WIDTH: u16 = 18;

    pub fn new(items: &'a [NavItem<'a>], active: usize, theme: &'a Theme) -> Self {
        Self {
            items,
            active,
            focused: false,
            theme,
            title: None,
        }
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }

    #[must_use]
    pub fn title(mut self, title: &'a str) -> Self {
        self.title = Some(title);
        self
    }

    /// Whether the navigation should be shown at this terminal width.
    pub const fn fits(total_width: u16) -> bool {
        total_width >= Self::MIN_TOTAL_WIDTH
    }

    /// The width that shows every label and badge, borders included, within 14..=26.
    pub fn preferred_width(items: &[NavItem<'_>]) -> u16 {
        let widest = items
            .iter()
            .map(|item| text::width(&item.label) + item.badge.as_ref().map_or(0, |(b, _)| text::width(b) + 1))
            .max()
            .unwrap_or(0);
        // marker + label + padding + two borders
        u16::try_from(widest + 5).unwrap_or(u16::MAX).clamp(14, 26)
    }
}

impl Widget for SideNav<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut block = self.theme.block(self.focused);
        if let Some(title) = self.title {
            block = block.title(self.theme.title_line(title, usize::from(area.width.saturating_sub(2))));
        }
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let height = usize::from(inner.height);
        // Stateless scrolling: keep the active item on screen.
        let offset = (self.active + 1).saturating_sub(height);
        let width = usize::from(inner.width);
        for (row, (i, item)) in self.items.iter().enumerate().skip(offset).take(height).enumerate() {
            let active = i == self.active;
            let y = inner.y + u16::try_from(row).unwrap_or(0);
            let line_area = Rect::new(inner.x, y, inner.width, 1);
            let (marker, style) = match (active, self.focused) {
                (true, true) => ("▌", self.theme.selection),
                (true, false) => ("▌", self.theme.accent),
                _ => (" ", self.theme.base),
            };
            buf.set_style(line_area, style);
            let badge = item.badge.as_ref().map(|(b, tone)| (text::truncate(b, 4), *tone));
            let badge_w = badge.as_ref().map_or(0, |(b, _)| text::width(b) + 1);
            let label_room = width.saturating_sub(1 + badge_w);
            let mut spans = vec![
                Span::raw(marker),
                Span::raw(text::truncate(&item.label, label_room).into_owned()),
            ];
            let used = 1 + text::width(&spans[1].content);
            if let Some((badge, tone)) = badge {
                let pad = width.saturating_sub(used + text::width(&badge));
                spans.push(Span::raw(" ".repeat(pad)));
                spans.push(Span::styled(badge.into_owned(), self.theme.tone(tone)));
            }
            buf.set_line(inner.x, y, &Line::from(spans), inner.width);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_active_and_scrolls_to_it() {
        let theme = Theme::dark();
        let items: Vec<NavItem<'_>> = ["dashboard", "tenants", "servers", "services", "billing"]
            .into_iter()
            .map(NavItem::from)
            .collect();
        let area = Rect::new(0, 0, 16, 5);
        let mut buf = Buffer::empty(area);
        SideNav::new(&items, 4, &theme).focused(true).render(area, &mut buf);
        let row = |y: u16| (0..16).map(|x| buf[(x, y)].symbol()).collect::<String>();
        assert_eq!(row(3), "│▌billing      │");
        assert_eq!(buf[(5, 3)].bg, theme.selection.bg.unwrap_or_default());
        assert_eq!(row(1), "│ servers      │");
    }

    #[test]
    fn badges_are_right_aligned() {
        let theme = Theme::dark();
        let items = [NavItem::new("incidents").badge("3", Tone::Error)];
        let area = Rect::new(0, 0, 16, 3);
        let mut buf = Buffer::empty(area);
        SideNav::new(&items, 0, &theme).render(area, &mut buf);
        let row: String = (0..16).map(|x| buf[(x, 1)].symbol()).collect();
        assert_eq!(row, "│▌incidents   3│");
        assert_eq!(buf[(14, 1)].fg, theme.error.fg.unwrap_or_default());
    }

    #[test]
    fn width_helpers() {
        let items = [NavItem::new("audit-logs"), NavItem::new("dns-ssl")];
        assert_eq!(SideNav::preferred_width(&items), 15);
        assert!(!SideNav::fits(80));
        assert!(SideNav::fits(120));
    }
}
