//! The `:` command palette: fuzzy jump to any section or page of the sitemap (`:srv`,
//! `:bil`, `:invoices`), a tenant (`:tenant acme`), `:q` to quit — and "go to": any other
//! term is looked up with `backend::find` (tenants, customers, services, invoices, jobs and
//! users by name, slug, e-mail, domain, document, number or short id, in the actor's scope);
//! the hits follow the commands and Enter opens one. The app runs the lookups (debounced
//! while typing, at once on Enter when nothing was found yet) and hands the answers back.

use crossterm::event::{Event, KeyEvent};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use widgets::{CommandPalette, PaletteItem, Theme};

use backend::find::Hit;
use backend::ServiceError;

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

/// The entries `actor` may open: pages its role cannot read are not offered (they would
/// only say "not open to you"; docs/adr/0016).
pub fn entries_for(actor: &backend::Actor) -> Vec<Entry> {
    entries()
        .into_iter()
        .filter(|e| match &e.action {
            Action::Goto(path) => crate::router::Route::parse(path)
                .and_then(|r| crate::screens::route_permission(&r))
                .is_none_or(|p| backend::authz::allows(actor, p)),
            _ => true,
        })
        .collect()
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

/// Hits per kind asked of `find` (a palette shows a screenful).
pub const HITS_PER_KIND: usize = 5;

/// The answer of a lookup for `term`, while typing.
pub struct Found(pub String, pub Result<Vec<Hit>, ServiceError>);

/// The answer of a lookup run by Enter: open the first hit.
pub struct FoundOpen(pub String, pub Result<Vec<Hit>, ServiceError>);

/// One line of the palette: a command, or something found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Command(usize),
    Hit(usize),
}

pub struct Palette {
    pub input: Input,
    pub selected: usize,
    all: Vec<Entry>,
    /// What `find` answered for `found_for`.
    pub hits: Vec<Hit>,
    pub found_for: String,
    pub find_error: Option<String>,
    /// (label, description) of each hit, for drawing.
    hit_lines: Vec<(String, String)>,
}

impl Default for Palette {
    fn default() -> Self {
        Palette {
            input: Input::default(),
            selected: 0,
            all: entries(),
            hits: Vec::new(),
            found_for: String::new(),
            find_error: None,
            hit_lines: Vec::new(),
        }
    }
}

/// Where Enter on a hit leads: its screen, or — for kinds without one yet — a flash naming
/// it with its id (which every batch verb resolves).
pub fn open_hit(h: &Hit) -> Action {
    match h.kind {
        "customer" | "tenant" | "job" | "user" => Action::Goto(h.route.clone()),
        "invoice" => Action::Goto("billing/invoices".into()),
        // Until services have a screen of their own: the services list narrowed to this one
        // (its label is the domain, which the list's filter matches).
        "service" => Action::Goto(format!("services?{}", h.label)),
        _ => Action::Flash(format!(
            "{} {} · id {} (no screen of its own yet)",
            h.kind,
            widgets::text::sanitize(&h.label),
            h.id
        )),
    }
}

impl Palette {
    /// A palette offering only what `actor` may open.
    pub fn for_actor(actor: &backend::Actor) -> Palette {
        Palette {
            all: entries_for(actor),
            ..Palette::default()
        }
    }

    /// The commands matching the input, then the hits found for it.
    pub fn current(&self) -> Vec<Item> {
        let mut out: Vec<Item> = matches(self.input.value(), &self.all)
            .into_iter()
            .map(Item::Command)
            .collect();
        if self.found_for == self.input.value().trim() {
            out.extend((0..self.hits.len()).map(Item::Hit));
        }
        out
    }

    /// The term to look up for the input as it is, if it is worth a lookup.
    pub fn term(&self) -> Option<String> {
        let v = self.input.value().trim();
        let command = v.starts_with("tenant ") || v.starts_with('q') && v.len() < 3;
        (v.chars().count() >= 2 && !command).then(|| v.to_owned())
    }

    /// What Enter runs: `tenant <key>` opens a tenant; otherwise the selected line.
    pub fn accept(&self) -> Option<Action> {
        let v = self.input.value().trim();
        if let Some(key) = v.strip_prefix("tenant ").map(str::trim).filter(|k| !k.is_empty()) {
            return Some(Action::OpenTenant(key.to_owned()));
        }
        let m = self.current();
        match m.get(self.selected.min(m.len().saturating_sub(1)))? {
            Item::Command(i) => self.all.get(*i).map(|e| e.action.clone()),
            Item::Hit(i) => self.hits.get(*i).map(open_hit),
        }
    }

    /// `find`'s answer while typing; one for an older input is dropped.
    pub fn found(&mut self, Found(term, r): Found) {
        if term != self.input.value().trim() {
            return;
        }
        match r {
            Ok(hits) => {
                self.hit_lines = hits.iter().map(hit_line).collect();
                self.hits = hits;
                self.find_error = None;
            }
            Err(e) => {
                self.hits.clear();
                self.hit_lines.clear();
                self.find_error = Some(e.to_string());
            }
        }
        self.found_for = term;
    }

    pub fn on_action(&mut self, a: &Action) {
        let n = self.current().len();
        match a {
            Action::Down if n > 0 => self.selected = (self.selected + 1).min(n - 1),
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::NextField => {
                if let Some(Item::Command(i)) = self.current().get(self.selected) {
                    if let Some(e) = self.all.get(*i) {
                        self.input = Input::new(e.name.clone());
                        self.selected = 0;
                    }
                }
            }
            _ => {}
        }
    }

    /// A key typed; true when the input changed (the app then looks the term up).
    pub fn on_input(&mut self, key: KeyEvent) -> bool {
        if self.input.handle_event(&Event::Key(key)).is_some_and(|c| c.value) {
            self.selected = 0;
            return true;
        }
        false
    }

    /// Draws the palette over the whole frame, with the terminal cursor in its input.
    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let mut items: Vec<PaletteItem> = self
            .current()
            .into_iter()
            .filter_map(|i| match i {
                Item::Command(i) => self.all.get(i).map(|e| PaletteItem::new(&e.name, &e.desc)),
                Item::Hit(i) => self.hit_lines.get(i).map(|(n, d)| PaletteItem::new(n, d)),
            })
            .collect();
        if let Some(e) = &self.find_error {
            items.push(PaletteItem::new("find", e));
        }
        let palette =
            CommandPalette::new(self.input.value(), self.input.cursor(), &items, self.selected, theme).title("Go to");
        if let Some(pos) = palette.cursor_position(crate::chrome::popup_frame(f)) {
            f.set_cursor_position(pos);
        }
        f.render_widget(palette, crate::chrome::popup_frame(f));
    }
}

/// A hit as a palette line: its label, then kind, tenant, detail and what matched.
fn hit_line(h: &Hit) -> (String, String) {
    let mut desc = h.kind.to_owned();
    if let Some(t) = &h.tenant {
        desc.push_str(&format!(" · {t}"));
    }
    desc.push_str(&format!(" · {} · by {}", h.detail, h.matched));
    (h.label.clone(), desc)
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
