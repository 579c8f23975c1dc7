//! `?` help, generated from the keymap: every binding of every context, with its `desc`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;
use widgets::Theme;

use crate::action::Action;
use crate::keymap::{Context, Keymap};

const KEY_WIDTH: usize = 14;

/// The help text: one heading per context, then `keys  desc` lines (bindings with the same
/// description are joined: `j, <Down>  Down`).
pub fn lines(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for ctx in Context::ALL {
        let bindings = keymap.bindings(ctx);
        if bindings.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(ctx.title().to_owned(), theme.title));
        let mut merged: Vec<(Vec<String>, &str)> = Vec::new();
        for b in bindings {
            match merged.iter_mut().find(|(_, d)| *d == b.desc) {
                Some((keys, _)) => keys.push(b.keys()),
                None => merged.push((vec![b.keys()], &b.desc)),
            }
        }
        for (keys, desc) in merged {
            let keys = keys.join(", ");
            let pad = KEY_WIDTH.saturating_sub(widgets::text::width(&keys)).max(1);
            out.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(keys, theme.key_hint),
                Span::raw(" ".repeat(pad)),
                Span::styled(desc.to_owned(), theme.base),
            ]));
        }
    }
    out
}

#[derive(Debug, Default)]
pub struct Help {
    pub scroll: usize,
    total: usize,
    page: usize,
}

impl Help {
    pub fn on_action(&mut self, a: &Action) {
        let max = self.total.saturating_sub(self.page);
        let half = (self.page / 2).max(1);
        self.scroll = match a {
            Action::Down => self.scroll + 1,
            Action::Up => self.scroll.saturating_sub(1),
            Action::HalfPageDown => self.scroll + half,
            Action::HalfPageUp => self.scroll.saturating_sub(half),
            Action::Top => 0,
            Action::Bottom => max,
            _ => self.scroll,
        }
        .min(max);
    }

    pub fn draw(&mut self, f: &mut Frame, area: Rect, keymap: &Keymap, theme: &Theme) {
        let text = lines(keymap, theme);
        let width = area.width.saturating_sub(4).min(72);
        let height = area.height.saturating_sub(2);
        let rect = widgets::popup_area(area, width, height);
        f.render_widget(Clear, rect);
        let title = theme.title_line("Help — keys", usize::from(width));
        let footer = Line::styled(" j/k scroll · esc close ", theme.muted);
        let block = theme.popup_block().title(title).title_bottom(footer);
        let inner = block.inner(rect);
        self.total = text.len();
        self.page = usize::from(inner.height);
        self.scroll = self.scroll.min(self.total.saturating_sub(self.page));
        let visible: Vec<Line> = text.into_iter().skip(self.scroll).take(self.page).collect();
        f.render_widget(Paragraph::new(visible).block(block), rect);
    }
}
