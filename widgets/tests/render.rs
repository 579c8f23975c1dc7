//! Render snapshots of every widget through ratatui's `TestBackend`, plus assertions on the
//! things a snapshot of characters cannot show (styles).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use insta::assert_snapshot;
use painel_widgets::{
    Breadcrumbs, CapacityBar, Column, CommandPalette, ConfirmDialog, DataCell, DataRow, DataTable, Flash, Form,
    FormField, HelpPopup, KeyHint, KeyValuePanel, KvEntry, NavItem, PaletteItem, SideNav, Sort, StatCard, StatusBar,
    TabBar, TableState, Theme, Tone,
};
use ratatui::backend::TestBackend;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::Terminal;

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).expect("test backend never fails")
}

fn servers_columns() -> Vec<Column<'static>> {
    vec![
        Column::new("NAME", Constraint::Fill(2)),
        Column::new("REGION", Constraint::Length(9)),
        Column::new("IP", Constraint::Length(15)),
        Column::new("ACCTS", Constraint::Length(5)).right(),
        Column::new("DISK", Constraint::Length(5)).right(),
        Column::new("STATUS", Constraint::Length(11)).priority(1),
    ]
}

fn servers_rows(n: usize) -> Vec<DataRow<'static>> {
    let regions = ["sa-east-1", "us-east-1", "eu-west-2"];
    (0..n)
        .map(|i| {
            let (status, tone) = match i % 7 {
                3 => ("degraded", Tone::Warning),
                5 => ("down", Tone::Error),
                6 => ("maintenance", Tone::Muted),
                _ => ("up", Tone::Success),
            };
            let name = if i == 2 {
                "cpanel-shared-hosting-very-long-name.example.com.br".to_owned()
            } else {
                format!("whm-{i:02}.painel.net")
            };
            DataRow::new([
                DataCell::new(name),
                DataCell::new(regions[i % 3]),
                DataCell::new(format!("10.0.{}.{}", i / 10, 10 + i)),
                DataCell::new(format!("{}", (i * 37) % 500)),
                DataCell::new(format!("{}%", (i * 13) % 100)),
                DataCell::styled(status, tone),
            ])
        })
        .collect()
}

const FOOTER: &str = "rows 1–40 of 40 · sorted by name ▲ · filter \"ar\"";

fn draw_table(width: u16, height: u16, selected: usize) -> (Terminal<TestBackend>, TableState) {
    let theme = Theme::dark();
    let columns = servers_columns();
    let rows = servers_rows(40);
    let mut state = TableState::default().with_selected(Some(selected));
    let mut terminal = terminal(width, height);
    terminal
        .draw(|frame| {
            let table = DataTable::new(&columns, &rows, &theme)
                .title("servers (all tenants) [40]")
                .footer(FOOTER)
                .sort(Some(Sort::asc(0)));
            frame.render_stateful_widget(table, frame.area(), &mut state);
        })
        .unwrap();
    (terminal, state)
}

fn row_text(terminal: &Terminal<TestBackend>, y: u16) -> String {
    let buf = terminal.backend().buffer();
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

#[test]
fn data_table_80x24() {
    let (terminal, state) = draw_table(80, 24, 3);
    let theme = Theme::dark();
    let buf = terminal.backend().buffer();
    // Header row has the sort arrow on NAME.
    assert!(row_text(&terminal, 1).contains("NAME ▲"));
    // Selected row (index 3, screen row 2 + 3) is highlighted across the table.
    assert!(row_text(&terminal, 5).contains("whm-03"));
    assert_eq!(buf[(1, 5)].bg, theme.selection.bg.unwrap());
    assert_eq!(buf[(40, 5)].bg, theme.selection.bg.unwrap());
    assert_ne!(buf[(1, 4)].bg, theme.selection.bg.unwrap());
    // The long name is cut with an ellipsis, not overflowing into REGION.
    assert!(row_text(&terminal, 4).contains('…'));
    // Status tones: "down" (row 5) in the error colour.
    let y = 7;
    let x = row_text(&terminal, y)
        .find("down")
        .map(|b| row_text(&terminal, y)[..b].chars().count())
        .unwrap();
    assert_eq!(buf[(u16::try_from(x).unwrap(), y)].fg, theme.error.fg.unwrap());
    assert_eq!(state.offset(), 0);
    assert_snapshot!("data_table_80x24", terminal.backend());
}

#[test]
fn data_table_120x40_scrolled() {
    let (terminal, state) = draw_table(120, 40, 39);
    // 40 rows − 2 borders − header = 37 visible; selecting the last scrolls by 3.
    assert_eq!(state.offset(), 3);
    assert!(row_text(&terminal, 38).contains("whm-39"));
    assert_snapshot!("data_table_120x40", terminal.backend());
}

#[test]
fn data_table_narrow_40x12() {
    let (terminal, _) = draw_table(40, 12, 0);
    assert_snapshot!("data_table_40x12", terminal.backend());
}

#[test]
fn data_table_empty_state() {
    let theme = Theme::dark();
    let columns = servers_columns();
    let mut terminal = terminal(80, 24);
    terminal
        .draw(|frame| {
            let table = DataTable::new(&columns, &[], &theme)
                .title("servers")
                .footer("rows 0 · filter \"zzz\"")
                .empty_message("No servers yet — press c to create one");
            frame.render_stateful_widget(table, frame.area(), &mut TableState::default().with_selected(Some(0)));
        })
        .unwrap();
    let message_row = row_text(&terminal, 12);
    assert!(
        message_row.contains("No servers yet — press c to create one"),
        "{message_row}"
    );
    let buf = terminal.backend().buffer();
    let x = u16::try_from(message_row.chars().position(|c| c == 'N').unwrap()).unwrap();
    assert_eq!(buf[(x, 12)].fg, theme.muted.fg.unwrap());
    assert_snapshot!("data_table_empty", terminal.backend());
}

const HELP: &[(&str, &str, &str)] = &[
    ("global", ":", "command palette (go to any screen)"),
    ("global", "/", "filter the current list (/! inverts)"),
    ("global", "?", "this help"),
    ("global", "esc / q", "back"),
    ("global", "ctrl-c", "quit"),
    ("navigation", "j / ↓", "down"),
    ("navigation", "k / ↑", "up"),
    ("navigation", "g g", "first row"),
    ("navigation", "G", "last row"),
    ("navigation", "ctrl-d / ctrl-u", "half page down / up"),
    ("navigation", "tab", "next panel"),
    ("tables", "shift-o", "sort by column"),
    ("tables", "ctrl-r", "refresh"),
    ("tables", "enter", "open"),
    ("servers", "c", "create server"),
    ("servers", "ctrl-d", "delete server (asks for the name)"),
    ("servers", "m", "metrics"),
    ("servers", "w", "open WHM session"),
    ("servers", "l", "logs"),
];

#[test]
fn help_popup_80x24() {
    let theme = Theme::dark();
    let mut terminal = terminal(80, 24);
    let mut offset = 0;
    terminal
        .draw(|frame| frame.render_stateful_widget(HelpPopup::new(HELP, &theme), frame.area(), &mut offset))
        .unwrap();
    assert_snapshot!("help_80x24", terminal.backend());
    assert!(row_text(&terminal, 2).contains("global"));
    assert!(row_text(&terminal, 22).contains("of 26"));

    // Scrolled to the end: the offset is clamped to the last page.
    let mut offset = 1000;
    terminal
        .draw(|frame| frame.render_stateful_widget(HelpPopup::new(HELP, &theme), frame.area(), &mut offset))
        .unwrap();
    assert_eq!(offset, 26 - 20);
    assert!(row_text(&terminal, 21).contains("logs"));
    assert_snapshot!("help_80x24_scrolled", terminal.backend());
}

#[test]
fn palette_with_matches() {
    let theme = Theme::dark();
    let commands = [
        ("dashboard", "overview of everything"),
        ("tenants", "white-label brands"),
        ("servers", "hosting servers (WHM)"),
        ("services", "plans, addons, provisioning"),
        ("servers/create", "add a server"),
        ("settings", "preferences and theme"),
        ("dns-ssl", "zones and certificates"),
    ];
    let names: Vec<&str> = commands.iter().map(|(n, _)| *n).collect();
    let ranked = painel_widgets::rank("srv", &names);
    let items: Vec<PaletteItem<'_>> = ranked
        .iter()
        .map(|&(i, _)| PaletteItem::new(commands[i].0, commands[i].1))
        .collect();
    assert_eq!(items[0].name, "servers");
    let mut terminal = terminal(80, 24);
    let palette = CommandPalette::new("srv", 3, &items, 0, &theme);
    let cursor = palette.cursor_position(Rect::new(0, 0, 80, 24));
    terminal
        .draw(|frame| {
            frame.render_widget(palette.clone(), frame.area());
            if let Some(pos) = cursor {
                frame.set_cursor_position(pos);
            }
        })
        .unwrap();
    assert_eq!(cursor, Some(Position::new(15, 2)));
    assert!(row_text(&terminal, 2).contains(": srv"));
    let buf = terminal.backend().buffer();
    assert_eq!(buf[(10, 4)].bg, theme.selection.bg.unwrap());
    assert_snapshot!("palette_80x24", terminal.backend());
}

#[test]
fn form_with_error() {
    let theme = Theme::dark();
    let fields = [
        FormField::new("Name", "Acme Hosting"),
        FormField::new("Slug", "acme hosting").error(Some("use only a-z, 0-9 and -")),
        FormField::new("Domain", "").placeholder("painel.acme.com.br"),
        FormField::new("Primary colour", "#3b82f6").hint("shown as the tenant's accent"),
        FormField::new("Support email", "suporte@acme.com.br"),
        FormField::new("API token", "s3cr3t-t0k3n").masked(true),
    ];
    let form = Form::new("New tenant", &fields, 1, 4, &theme);
    let frame_area = Rect::new(0, 0, 80, 24);
    let area = painel_widgets::popup_area(frame_area, 70, form.required_height());
    let cursor = form.cursor_position(area);
    let mut terminal = terminal(80, 24);
    terminal
        .draw(|frame| {
            frame.render_widget(form.clone(), area);
            if let Some(pos) = cursor {
                frame.set_cursor_position(pos);
            }
        })
        .unwrap();
    let error_row = (0..24)
        .find(|&y| row_text(&terminal, y).contains("✗ use only"))
        .unwrap();
    let slug_row = (0..24).find(|&y| row_text(&terminal, y).contains("Slug")).unwrap();
    assert_eq!(error_row, slug_row + 1);
    assert_eq!(cursor.map(|p| p.y), Some(slug_row));
    assert!(!row_text(&terminal, slug_row + 5).contains("s3cr3t"));
    assert_snapshot!("form_with_error", terminal.backend());
}

#[test]
fn status_bar_variants() {
    let theme = Theme::dark();
    let flash = Flash::success("server whm-07 created");
    let mut terminal = terminal(80, 3);
    terminal
        .draw(|frame| {
            let [a, b, c] = Layout::vertical([Constraint::Length(1); 3]).areas(frame.area());
            frame.render_widget(
                StatusBar::new(&theme)
                    .user("ana", "super")
                    .scope("all tenants")
                    .backend("sqlite"),
                a,
            );
            frame.render_widget(
                StatusBar::new(&theme)
                    .user("rafa", "support")
                    .scope("Acme Hosting")
                    .backend("postgres")
                    .read_only(true)
                    .flash(Some(&flash)),
                b,
            );
            let hints = [
                KeyHint::new("enter", "open"),
                KeyHint::new("c", "create"),
                KeyHint::new("?", "help"),
            ];
            frame.render_widget(
                StatusBar::new(&theme)
                    .user("a-very-long-operator-name", "tenant-admin")
                    .scope("Streaming Brasil Revenda Oficial")
                    .backend("postgres")
                    .hints(&hints),
                c,
            );
        })
        .unwrap();
    assert!(row_text(&terminal, 0).contains("? help"));
    assert!(row_text(&terminal, 1).contains("✓ server whm-07 created"));
    assert!(row_text(&terminal, 1).contains(" RO "));
    assert_snapshot!("status_bar", terminal.backend());
}

#[test]
fn confirm_modal() {
    let theme = Theme::dark();
    let mut terminal = terminal(80, 24);
    let dialog = ConfirmDialog::new(
        "Delete server",
        "This permanently removes whm-07.painel.net and the 212 accounts on it from painel. \
         The machine itself is not touched.",
        "whm-07.painel.net",
        "whm-07",
        6,
        &theme,
    )
    .error(Some("name does not match"));
    let cursor = dialog.cursor_position(Rect::new(0, 0, 80, 24));
    terminal
        .draw(|frame| {
            frame.render_widget(dialog.clone(), frame.area());
            if let Some(pos) = cursor {
                frame.set_cursor_position(pos);
            }
        })
        .unwrap();
    let popup = dialog.area(Rect::new(0, 0, 80, 24));
    let buf = terminal.backend().buffer();
    assert_eq!(buf[(popup.x, popup.y)].fg, theme.error.fg.unwrap());
    assert!(!dialog.matches());
    assert_snapshot!("confirm_80x24", terminal.backend());
}

#[test]
fn dashboard_composition_80x24() {
    let theme = Theme::dark();
    let mut terminal = terminal(80, 24);
    let kv = [
        KvEntry::new("tenant", "Acme Hosting"),
        KvEntry::new("domain", "painel.acme.com.br"),
        KvEntry::new("primary", "#3b82f6"),
        KvEntry::new("accent", "#f59e0b"),
        KvEntry::new("status", "active").tone(Tone::Success),
    ];
    terminal
        .draw(|frame| {
            let [crumbs, tabs, cards, bars, kv_area, status] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Length(1),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Fill(1),
                Constraint::Length(1),
            ])
            .areas(frame.area());
            frame.render_widget(
                Breadcrumbs::new(&["painel", "tenants", "Acme Hosting", "overview"], &theme),
                crumbs,
            );
            frame.render_widget(
                TabBar::new(&["overview", "branding", "billing", "limits"], 0, &theme),
                tabs,
            );
            let [c1, c2, c3, c4] = Layout::horizontal([Constraint::Fill(1); 4]).areas(cards);
            frame.render_widget(StatCard::new("MRR", "R$ 48.2k", &theme).subtitle("+3% this month"), c1);
            frame.render_widget(
                StatCard::new("services", "1,204", &theme)
                    .subtitle("12 suspended")
                    .trend(&[3, 4, 4, 6, 5, 7, 8, 9]),
                c2,
            );
            frame.render_widget(
                StatCard::new("failed jobs", "3", &theme)
                    .subtitle("last 24h")
                    .tone(Tone::Error),
                c3,
            );
            frame.render_widget(
                StatCard::new("tickets", "17", &theme)
                    .subtitle("4 over SLA")
                    .tone(Tone::Warning),
                c4,
            );
            let rows: [Rect; 3] =
                Layout::vertical([Constraint::Length(1); 3]).areas(bars.inner(ratatui::layout::Margin::new(2, 1)));
            frame.render_widget(ratatui::widgets::Block::bordered().title(" capacity "), bars);
            frame.render_widget(
                CapacityBar::new("disk", 412.0, 500.0, &theme).unit("GB").label_width(9),
                rows[0],
            );
            frame.render_widget(
                CapacityBar::new("accounts", 212.0, 250.0, &theme).label_width(9),
                rows[1],
            );
            frame.render_widget(
                CapacityBar::new("bandwidth", 3.2, 10.0, &theme)
                    .unit("TB")
                    .label_width(9),
                rows[2],
            );
            frame.render_widget(KeyValuePanel::new(&kv, &theme).title("branding"), kv_area);
            frame.render_widget(
                StatusBar::new(&theme)
                    .user("ana", "super")
                    .scope("Acme Hosting")
                    .backend("sqlite"),
                status,
            );
        })
        .unwrap();
    assert_snapshot!("dashboard_80x24", terminal.backend());
}

#[test]
fn screen_with_side_nav_120x40() {
    let theme = Theme::dark().tinted("#e11d48", "#f59e0b");
    let nav: Vec<NavItem<'_>> = [
        "dashboard",
        "tenants",
        "servers",
        "services",
        "migrations",
        "billing",
        "dns-ssl",
        "audit-logs",
    ]
    .into_iter()
    .map(NavItem::from)
    .chain([
        NavItem::new("incidents").badge("3", Tone::Error),
        NavItem::new("settings"),
    ])
    .collect();
    let columns = servers_columns();
    let rows = servers_rows(12);
    let mut state = TableState::default().with_selected(Some(1));
    let mut terminal = terminal(120, 40);
    assert!(SideNav::fits(120));
    terminal
        .draw(|frame| {
            let [main, status] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(frame.area());
            let [nav_area, body] =
                Layout::horizontal([Constraint::Length(SideNav::preferred_width(&nav)), Constraint::Fill(1)])
                    .areas(main);
            frame.render_widget(SideNav::new(&nav, 2, &theme).title("painel"), nav_area);
            let [crumbs, table] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
            frame.render_widget(
                Breadcrumbs::new(&["painel", "servers"], &theme),
                crumbs.inner(ratatui::layout::Margin::new(1, 0)),
            );
            frame.render_stateful_widget(
                DataTable::new(&columns, &rows, &theme)
                    .title("servers")
                    .footer("rows 1–12 of 12")
                    .sort(Some(Sort::desc(4))),
                table,
                &mut state,
            );
            frame.render_widget(
                StatusBar::new(&theme)
                    .user("ana", "super")
                    .scope("all tenants")
                    .backend("postgres"),
                status,
            );
        })
        .unwrap();
    assert_snapshot!("screen_120x40", terminal.backend());
}
