//! Drawing the app: chrome around the current screen, popups on top.

use ratatui::widgets::Block;
use ratatui::Frame;
use widgets::SideNav;

use super::{App, Popup};
use crate::chrome;
use crate::screens::Mode;

impl App {
    pub fn draw(&mut self, f: &mut Frame) {
        self.draw_unscrubbed(f);
        // Stored text is hostile: one pass over the finished frame, whatever drew it.
        widgets::text::sanitize_buffer(f.buffer_mut());
    }

    fn draw_unscrubbed(&mut self, f: &mut Frame) {
        if let Some(l) = &self.login {
            l.draw(f, &self.theme, &self.backend_label);
            return;
        }
        let route = self.route();
        let hint_ctx = self.hint_contexts();
        let base = self.theme.clone();
        f.render_widget(Block::new().style(base.base), f.area());
        let tabs = self.visible_tabs();
        let (nav_items, active) = chrome::nav_items(&route, &self.keymap, |r| self.may_open(r));
        let areas = chrome::layout(f.area(), SideNav::preferred_width(&nav_items), tabs.is_some());
        chrome::header(f, areas.header, &route, &base);
        if let Some(nav) = areas.nav {
            chrome::nav(f, nav, &nav_items, active, &base);
        }
        if let (Some(area), Some((titles, i))) = (areas.tabs, &tabs) {
            chrome::tabs(f, area, titles, *i, &base);
        }
        if let Some((_, screen)) = self.stack.last_mut() {
            let theme = screen.theme().cloned().unwrap_or_else(|| base.clone());
            screen.draw(f, areas.body, &theme);
        }
        let screen = self.stack.last().map(|(_, s)| s.as_ref());
        let read_only = self.actor().read_only;
        // The hint bar offers what the screen handles now; the palette, help and filter line
        // have their own few keys.
        let own_keys = self.popup.is_none() && screen.is_some_and(|s| s.mode() != Mode::Text);
        let pairs = self
            .keymap
            .hints(&hint_ctx, |a, hint| match screen.filter(|_| own_keys) {
                Some(s) if !s.offers(a) || (read_only && a.mutates()) || !self.permits(a) => None,
                Some(s) => Some(s.label(a).unwrap_or(hint).to_owned()),
                None => Some(hint.to_owned()),
            });
        chrome::hints(f, areas.hints, &pairs, &base);
        let flash = self.flash.as_ref().map(|(fl, _)| fl);
        chrome::status(f, areas.status, self.tasks.actor(), &self.backend_label, flash, &base);
        let contexts = self.screen_contexts();
        let screen = self.stack.last().map(|(_, s)| s.as_ref());
        let actor = self.tasks.actor();
        match &mut self.popup {
            Some(Popup::Help(h)) => {
                h.draw(
                    f,
                    &self.keymap,
                    &contexts,
                    |a| {
                        !(read_only && a.mutates())
                            && screen.is_none_or(|s| {
                                s.offers(a) && s.needs(a).is_none_or(|p| backend::authz::allows(actor, p))
                            })
                    },
                    &base,
                );
            }
            Some(Popup::Palette(p)) => p.draw(f, &base),
            None => {}
        }
    }
}
