//! `?` help, generated from the keymap: the bindings the current screen handles, with their
//! `desc`, shown in the widgets crate's [`HelpPopup`].

use ratatui::Frame;
use widgets::{HelpPopup, Theme};

use crate::action::Action;
use crate::keymap::{Context, Keymap};

/// The help entries: `(section, keys, description)`, one section per context of `contexts`
/// (the current screen's, then the help popup's own keys), only bindings whose action `offered`
/// accepts; bindings with the same description are joined (`j, ↓  Down`).
pub fn entries(
    keymap: &Keymap,
    contexts: &[Context],
    offered: impl Fn(&Action) -> bool,
) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for ctx in contexts.iter().copied().chain([Context::Help]) {
        let mut merged: Vec<(Vec<String>, &str)> = Vec::new();
        for b in keymap.bindings(ctx) {
            let keys = b.keys();
            if ctx != Context::Help && !offered(&b.action) {
                continue;
            }
            match merged.iter_mut().find(|(_, d)| *d == b.desc) {
                Some((k, _)) => k.push(keys),
                None => merged.push((vec![keys], &b.desc)),
            }
        }
        out.extend(
            merged
                .into_iter()
                .map(|(keys, desc)| (ctx.title(), keys.join(", "), desc.to_owned())),
        );
    }
    out
}

/// The popup's scroll state. The popup clamps the offset when drawn, so moving only adds and
/// subtracts; `page` (rows shown) is remembered from the last draw for half-page moves.
#[derive(Debug, Default)]
pub struct Help {
    pub scroll: usize,
    page: usize,
}

impl Help {
    pub fn on_action(&mut self, a: &Action) {
        let half = (self.page / 2).max(1);
        self.scroll = match a {
            Action::Down => self.scroll.saturating_add(1),
            Action::Up => self.scroll.saturating_sub(1),
            Action::HalfPageDown => self.scroll.saturating_add(half),
            Action::HalfPageUp => self.scroll.saturating_sub(half),
            Action::Top => 0,
            Action::Bottom => usize::MAX,
            _ => self.scroll,
        };
    }

    /// Draws the keys of `contexts` the screen beneath handles (`offered`).
    pub fn draw(
        &mut self,
        f: &mut Frame,
        keymap: &Keymap,
        contexts: &[Context],
        offered: impl Fn(&Action) -> bool,
        theme: &Theme,
    ) {
        let entries = entries(keymap, contexts, offered);
        let entries: Vec<(&str, &str, &str)> = entries.iter().map(|(s, k, d)| (*s, k.as_str(), d.as_str())).collect();
        let popup = HelpPopup::new(&entries, theme).title("Help — keys");
        self.page = usize::from(popup.area(crate::chrome::popup_frame(f)).height.saturating_sub(2));
        f.render_stateful_widget(popup, crate::chrome::popup_frame(f), &mut self.scroll);
    }
}
