//! The `:` command palette: fuzzy jump to any section or page of the sitemap (`:srv`,
//! `:bil`, `:invoices`), a tenant (`:tenant acme`), or `:q` to quit.

use crossterm::event::{Event, KeyEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::Theme;

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
            let title = page_at(path).map_or("", |p| p.title);
            out.push(Entry {
                name: (*path).to_owned(),
                desc: format!("{} › {title}", s.title),
                aliases: Vec::new(),
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

/// Ranks entries for `query`: exact names and aliases first, then fuzzy scores over the full
/// name and its last segment; shorter names win ties.
pub fn matches(query: &str, all: &[Entry]) -> Vec<(usize, Vec<usize>)> {
    let q = query.trim().to_lowercase();
    let mut scored: Vec<(i64, usize, Vec<usize>)> = Vec::new();
    for (i, e) in all.iter().enumerate() {
        if q.is_empty() {
            scored.push((0, i, Vec::new()));
            continue;
        }
        let exact = e.name == q || e.aliases.iter().any(|a| *a == q);
        let full = widgets::fuzzy_match(&q, &e.name);
        let seg_start = e.name.rfind('/').map_or(0, |p| p + 1);
        let seg = widgets::fuzzy_match(&q, &e.name[seg_start..]).map(|(s, idx)| {
            let shift = e.name[..seg_start].chars().count();
            (s, idx.into_iter().map(|k| k + shift).collect::<Vec<_>>())
        });
        let best = match (full, seg) {
            (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        let Some((score, idx)) = best.or_else(|| exact.then(|| (0, Vec::new()))) else {
            continue;
        };
        let bonus = if exact { 10_000 } else { 0 };
        scored.push((score + bonus - e.name.len() as i64, i, idx));
    }
    if !q.is_empty() {
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    scored.into_iter().map(|(_, i, idx)| (i, idx)).collect()
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
    pub fn current(&self) -> Vec<(usize, Vec<usize>)> {
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
            .and_then(|(i, _)| self.all.get(*i))
            .map(|e| e.action.clone())
    }

    pub fn on_action(&mut self, a: &Action) {
        let n = self.current().len();
        match a {
            Action::Down if n > 0 => self.selected = (self.selected + 1).min(n - 1),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::NextField => {
                if let Some(e) = self.current().get(self.selected).and_then(|(i, _)| self.all.get(*i)) {
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

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let m = self.current();
        let height = (m.len() as u16 + 3).clamp(4, 14);
        let width = area.width.saturating_sub(4).min(60);
        let top = 2.min(area.height);
        let height = height.min(area.height - top);
        let rect = Rect::new(area.x + (area.width - width) / 2, area.y + top, width, height);
        f.render_widget(Clear, rect);
        let block = theme.popup_block().title(theme.title_line("Go to", usize::from(width)));
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        if inner.height == 0 {
            return;
        }
        let line = Line::from(vec![
            Span::styled(":", theme.key_hint),
            Span::styled(self.input.value().to_owned(), theme.base),
        ]);
        f.render_widget(Paragraph::new(line), Rect::new(inner.x, inner.y, inner.width, 1));
        let x = u16::try_from(self.input.visual_cursor() + 1)
            .unwrap_or(0)
            .min(inner.width.saturating_sub(1));
        f.set_cursor_position(Position::new(inner.x + x, inner.y));
        let list_area = Rect::new(inner.x, inner.y + 1, inner.width, inner.height.saturating_sub(1));
        if m.is_empty() {
            f.render_widget(Paragraph::new("no match").style(theme.muted), list_area);
            return;
        }
        let name_w: usize = 24;
        let items: Vec<ListItem> = m
            .iter()
            .filter_map(|(i, idx)| self.all.get(*i).map(|e| (e, idx)))
            .map(|(e, idx)| {
                let mut spans: Vec<Span> = e
                    .name
                    .chars()
                    .enumerate()
                    .map(|(k, c)| {
                        let style = if idx.contains(&k) { theme.accent } else { theme.base };
                        Span::styled(c.to_string(), style)
                    })
                    .collect();
                let pad = name_w.saturating_sub(e.name.chars().count()).max(1);
                spans.push(Span::raw(" ".repeat(pad)));
                spans.push(Span::styled(e.desc.clone(), theme.muted));
                ListItem::new(Line::from(spans))
            })
            .collect();
        let list = List::new(items).highlight_style(theme.selection).highlight_symbol("▸ ");
        let mut state = ListState::default().with_selected(Some(self.selected.min(m.len() - 1)));
        f.render_stateful_widget(list, list_area, &mut state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(q: &str) -> String {
        let all = entries();
        matches(q, &all)
            .first()
            .map(|(i, _)| all[*i].name.clone())
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
