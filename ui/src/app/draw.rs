//! Drawing the app: chrome around the current screen, popups on top.

use ratatui::widgets::Block;
use ratatui::Frame;
use widgets::SideNav;

use super::{App, Popup};
use crate::action::Action;
use crate::chrome;
use crate::screens::{Mode, Screen};

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
        let tabs = self.screen().and_then(Screen::tabs);
        let (nav_items, active) = chrome::nav_items(&route, &self.keymap);
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
        let screen = self.stack.last().map(|(_, s)| s);
        let list_mode = self.popup.is_none() && screen.is_some_and(|s| matches!(s.mode(), Mode::List | Mode::Jobs));
        let pairs = self.keymap.hints(&hint_ctx, |a| {
            !list_mode
                || matches!(a, Action::Palette | Action::Help | Action::Back | Action::Quit)
                || screen.is_some_and(|s| s.supports(a))
        });
        chrome::hints(f, areas.hints, &pairs, &base);
        let flash = self.flash.as_ref().map(|(fl, _)| fl);
        chrome::status(f, areas.status, self.tasks.actor(), &self.backend_label, flash, &base);
        match &mut self.popup {
            Some(Popup::Help(h)) => h.draw(f, &self.keymap, &base),
            Some(Popup::Palette(p)) => p.draw(f, &base),
            None => {}
        }
    }
}
