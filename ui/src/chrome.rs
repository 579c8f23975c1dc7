//! The frame around every screen, composed from the widgets crate: breadcrumbs, side
//! navigation, tabs, the hint bar and the status bar (user@role, tenant scope, database
//! backend, flash). What goes in them comes from the router, the keymap and the actor.

use backend::Actor;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::Frame;
use widgets::{Breadcrumbs, Flash, KeyHint, NavItem, SideNav, StatusBar, TabBar, Theme, Tone};

use crate::keymap::{Context, Keymap};
use crate::router::{Route, SECTIONS};

pub struct Areas {
    pub header: Rect,
    pub nav: Option<Rect>,
    pub tabs: Option<Rect>,
    pub body: Rect,
    pub hints: Rect,
    pub status: Rect,
}

/// Splits the frame. The navigation is shown only where [`SideNav::fits`] (the palette and
/// the `g` keys still work without it); `nav_width` is the width it wants.
pub fn layout(area: Rect, nav_width: u16, has_tabs: bool) -> Areas {
    let [header, main, hints, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (nav, content) = if SideNav::fits(area.width) {
        let [nav, content] = Layout::horizontal([Constraint::Length(nav_width), Constraint::Min(0)]).areas(main);
        (Some(nav), content)
    } else {
        (None, main)
    };
    let (tabs, body) = if has_tabs {
        let [t, b] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(content);
        (Some(t), b)
    } else {
        (None, content)
    };
    Areas {
        header,
        nav,
        tabs,
        body,
        hints,
        status,
    }
}

/// Where popups and dialogs go: the frame above the hint bar and the status line, which are
/// drawn after the screen and would otherwise cut a popup's bottom border.
pub fn popup_frame(f: &ratatui::Frame) -> Rect {
    let area = f.area();
    Rect {
        height: area.height.saturating_sub(2),
        ..area
    }
}

/// One column of padding on both sides of a one-line bar.
fn padded(area: Rect) -> Rect {
    area.inner(Margin::new(1, 0))
}

/// `painel › Tenants › acme-hosting › Branding`.
pub fn header(f: &mut Frame, area: Rect, route: &Route, theme: &Theme) {
    let crumbs = route.breadcrumbs();
    let segments: Vec<&str> = std::iter::once("painel")
        .chain(crumbs.iter().map(String::as_str))
        .collect();
    f.render_widget(Breadcrumbs::new(&segments, theme), padded(area));
}

/// The `g` key that jumps to a section, read from the keymap (`goto <section>`).
fn goto_key(keymap: &Keymap, section: &str) -> Option<String> {
    keymap
        .bindings(Context::Global)
        .iter()
        .find(|b| b.run == format!("goto {section}"))
        .map(|b| b.keys())
}

/// The sections of the sitemap, each with its `g` key as a badge, and the current one.
/// Sections whose every page `may_open` refuses are left out (a tenant admin sees no Servers).
pub fn nav_items(route: &Route, keymap: &Keymap, may_open: impl Fn(&Route) -> bool) -> (Vec<NavItem<'static>>, usize) {
    let current = route.section().key;
    let shown: Vec<&crate::router::Section> = SECTIONS
        .iter()
        .filter(|s| s.key == current || s.pages.iter().filter_map(|p| Route::parse(p)).any(|r| may_open(&r)))
        .collect();
    let items = shown
        .iter()
        .map(|s| {
            let item = NavItem::new(s.title);
            match goto_key(keymap, s.key) {
                Some(key) => item.badge(key, Tone::Muted),
                None => item,
            }
        })
        .collect();
    let active = shown.iter().position(|s| s.key == current).unwrap_or(0);
    (items, active)
}

pub fn nav(f: &mut Frame, area: Rect, items: &[NavItem<'_>], active: usize, theme: &Theme) {
    f.render_widget(SideNav::new(items, active, theme), area);
}

pub fn tabs(f: &mut Frame, area: Rect, titles: &[&str], selected: usize, theme: &Theme) {
    f.render_widget(TabBar::new(titles, selected, theme), padded(area));
}

/// The keys the current screen offers, most important first (see `Keymap::hints`).
pub fn hints(f: &mut Frame, area: Rect, pairs: &[(String, String)], theme: &Theme) {
    let hints: Vec<KeyHint> = pairs.iter().map(|(k, d)| KeyHint::new(k, d)).collect();
    let area = padded(area);
    f.render_widget(widgets::hint_line(&hints, theme, usize::from(area.width)), area);
}

pub fn scope(actor: &Actor) -> String {
    match actor.tenant_id {
        None => "all tenants".to_owned(),
        Some(id) => format!("tenant {}", id.simple().to_string().get(..8).unwrap_or_default()),
    }
}

/// Who, where and on what; a flash message on the right. Key hints have their own line.
pub fn status(f: &mut Frame, area: Rect, actor: &Actor, backend: &str, flash: Option<&Flash>, theme: &Theme) {
    let mut scope = scope(actor);
    // Said where the operator looks for who they are: nothing here will change anything.
    if actor.read_only {
        scope.push_str(" · read-only");
    }
    let bar = StatusBar::new(theme)
        .user(&actor.name, actor.role.as_str())
        .scope(&scope)
        .backend(backend)
        .flash(flash)
        .hints(&[]);
    f.render_widget(bar, area);
}
