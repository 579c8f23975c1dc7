//! The `:` command palette: fuzzy jump to any section or page of the sitemap (`:srv`,
//! `:bil`, `:invoices`), a tenant (`:tenant acme`), or `:q` to quit.

use crossterm::event::{Event, KeyEvent};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::{CommandPalette, PaletteItem, Theme};

use crate::action::Action;
use crate::router::{page_at, SECTIONS};

/// One thing the palette can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What is shown and completed, e.g. `billing/invoices`.
    pub name: String,
    pub desc: String,
    /// Other names that match it exactly (k9s aliases).
    pub aliases: Vec<&'static str>,
    pub action: Action,
}

/// Every section, every page with its own address, and quit.
pub fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for s in SECTIONS {
        out.push(Entry {
            name: s.key.to_owned(),
            desc: s.title.to_owned(),
            aliases: s.aliases.to_vec(),
            action: Action::Goto(s.key.to_owned()),
        });
        for path in s.pages.iter().filter(|p| **p != s.key) {
            let page = page_at(path);
            let title = page.map_or("", |p| p.title);
            out.push(Entry {
                name: (*path).to_owned(),
                desc: format!("{} › {title}", s.title),
                aliases: page.map_or_else(Vec::new, |p| p.aliases.to_vec()),
                action: Action::Goto((*path).to_owned()),
            });
        }
    }
    out.push(Entry {
        name: "quit".into(),
        desc: "Quit painel".into(),
        aliases: vec!["q", "q!", "exit"],
        action: Action::Quit,
    });
    out
}

/// Ranks entries for `query` (indices into `all`): exact names and aliases first, then fuzzy
/// scores over the full name and its last segment; shorter names win ties.
pub fn matches(query: &str, all: &[Entry]) -> Vec<usize> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return (0..all.len()).collect();
    }
    let mut scored: Vec<(i64, usize)> = Vec::new();
    for (i, e) in all.iter().enumerate() {
        let exact = e.name == q || e.aliases.iter().any(|a| *a == q);
        let segment = e.name.rfind('/').map_or(e.name.as_str(), |p| &e.name[p + 1..]);
        let best = widgets::fuzzy_score(&q, &e.name).max(widgets::fuzzy_score(&q, segment));
        let Some(score) = best.or(exact.then_some(0)) else {
            continue;
        };
        let bonus = if exact { 10_000 } else { 0 };
        scored.push((score + bonus - e.name.len() as i64, i));
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

pub struct Palette {
    pub input: Input,
    pub selected: usize,
    all: Vec<Entry>,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            input: Input::default(),
            selected: 0,
            all: entries(),
        }
    }
}

impl Palette {
    pub fn current(&self) -> Vec<usize> {
        matches(self.input.value(), &self.all)
    }

    /// What Enter runs: `tenant <key>` opens a tenant; otherwise the selected match.
    pub fn accept(&self) -> Option<Action> {
        let v = self.input.value().trim();
        if let Some(key) = v.strip_prefix("tenant ").map(str::trim).filter(|k| !k.is_empty()) {
            return Some(Action::OpenTenant(key.to_owned()));
        }
        let m = self.current();
        m.get(self.selected.min(m.len().saturating_sub(1)))
            .and_then(|i| self.all.get(*i))
            .map(|e| e.action.clone())
    }

    pub fn on_action(&mut self, a: &Action) {
        let n = self.current().len();
        match a {
            Action::Down if n > 0 => self.selected = (self.selected + 1).min(n - 1),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::NextField => {
                if let Some(e) = self.current().get(self.selected).and_then(|i| self.all.get(*i)) {
                    self.input = Input::new(e.name.clone());
                    self.selected = 0;
                }
            }
            _ => {}
        }
    }

    pub fn on_input(&mut self, key: KeyEvent) {
        if self.input.handle_event(&Event::Key(key)).is_some_and(|c| c.value) {
            self.selected = 0;
        }
    }

    /// Draws the palette over the whole frame, with the terminal cursor in its input.
    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let items: Vec<PaletteItem> = self
            .current()
            .into_iter()
            .filter_map(|i| self.all.get(i))
            .map(|e| PaletteItem::new(&e.name, &e.desc))
            .collect();
        let palette =
            CommandPalette::new(self.input.value(), self.input.cursor(), &items, self.selected, theme).title("Go to");
        if let Some(pos) = palette.cursor_position(crate::chrome::popup_frame(f)) {
            f.set_cursor_position(pos);
        }
        f.render_widget(palette, crate::chrome::popup_frame(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(q: &str) -> String {
        let all = entries();
        matches(q, &all)
            .first()
            .map(|i| all[*i].name.clone())
            .unwrap_or_default()
    }

    #[test]
    fn k9s_style_jumps() {
        assert_eq!(top("tenants"), "tenants");
        assert_eq!(top("srv"), "servers");
        assert_eq!(top("bil"), "billing");
        assert_eq!(top("invoices"), "billing/invoices");
        assert_eq!(top("certs"), "dns-ssl/certificates");
        assert_eq!(top("q"), "quit");
        assert_eq!(top("prov"), "services/provisioning");
    }
}
