//! The frame around every screen: breadcrumbs, side navigation, tabs, the hint bar and the
//! status bar (user@role, tenant scope, database backend, flash).

use backend::Actor;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;
use widgets::{Flash, KeyHint, Theme};

use crate::keymap::{Context, Keymap};

use crate::router::{Route, SECTIONS};

/// Below this width the side navigation is hidden (the palette and `g` keys still work).
pub const NAV_MIN_WIDTH: u16 = 100;
const NAV_WIDTH: u16 = 20;

pub struct Areas {
    pub header: Rect,
    pub nav: Option<Rect>,
    pub tabs: Option<Rect>,
    pub body: Rect,
    pub hints: Rect,
    pub status: Rect,
}

pub fn layout(area: Rect, has_tabs: bool) -> Areas {
    let [header, main, hints, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (nav, content) = if area.width >= NAV_MIN_WIDTH {
        let [nav, content] = Layout::horizontal([Constraint::Length(NAV_WIDTH), Constraint::Min(0)]).areas(main);
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

pub fn header(f: &mut Frame, area: Rect, route: &Route, theme: &Theme) {
    let mut spans = vec![Span::styled(" painel", theme.title)];
    for crumb in route.breadcrumbs() {
        spans.push(Span::styled(" › ", theme.muted));
        spans.push(Span::styled(crumb, theme.base));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(theme.base), area);
}

/// The `g` key that jumps to a section, read from the keymap (`goto <section>`).
fn goto_key(keymap: &Keymap, section: &str) -> Option<String> {
    keymap
        .bindings(Context::Global)
        .iter()
        .find(|b| b.run == format!("goto {section}"))
        .map(|b| b.keys())
}

pub fn nav(f: &mut Frame, area: Rect, route: &Route, keymap: &Keymap, theme: &Theme) {
    let current = route.section().key;
    let lines: Vec<Line> = SECTIONS
        .iter()
        .map(|s| {
            let key = goto_key(keymap, s.key).unwrap_or_default();
            let selected = s.key == current;
            let marker = if selected { "▸ " } else { "  " };
            let style = if selected { theme.selection } else { theme.base };
            let room = usize::from(area.width.saturating_sub(7));
            Line::from(vec![
                Span::styled(marker, theme.accent),
                Span::styled(format!("{:<room$}", s.title), style),
                Span::styled(format!(" {key:>2}"), theme.key_hint),
            ])
        })
        .collect();
    let block = theme.block(false);
    f.render_widget(Paragraph::new(lines).block(block), area);
}

pub fn tabs(f: &mut Frame, area: Rect, titles: Vec<&'static str>, selected: usize, theme: &Theme) {
    let tabs = Tabs::new(titles)
        .select(selected)
        .style(theme.tab_inactive)
        .highlight_style(theme.tab_active)
        .divider(Span::styled("·", theme.muted));
    f.render_widget(tabs, area);
}

pub fn hints(f: &mut Frame, area: Rect, pairs: &[(String, String)], theme: &Theme) {
    let hints: Vec<KeyHint> = pairs.iter().map(|(k, d)| KeyHint::new(k, d)).collect();
    let line = widgets::hint_line(&hints, theme, usize::from(area.width.saturating_sub(1)));
    f.render_widget(
        Paragraph::new(Line::from([vec![Span::raw(" ")], line.spans].concat())),
        area,
    );
}

pub fn scope(actor: &Actor) -> String {
    match actor.tenant_id {
        None => "all tenants".to_owned(),
        Some(id) => format!("tenant {}", id.simple().to_string().get(..8).unwrap_or_default()),
    }
}

pub fn status(f: &mut Frame, area: Rect, actor: &Actor, backend: &str, flash: Option<&Flash>, theme: &Theme) {
    let sep = Span::styled(" │ ", theme.status_bar);
    let mut spans = vec![
        Span::styled(format!(" {}@{}", actor.name, actor.role.as_str()), theme.status_bar),
        sep.clone(),
        Span::styled(scope(actor), theme.status_bar),
        sep,
        Span::styled(format!(" {backend} "), theme.badge),
    ];
    if let Some(fl) = flash {
        spans.push(Span::styled("  ", theme.status_bar));
        let style: Style = theme.status_bar.patch(fl.style(theme));
        spans.push(Span::styled(format!("{} {}", fl.kind.icon(), fl.text), style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(theme.status_bar), area);
}
