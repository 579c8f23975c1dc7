//! Every widget at every awkward size: nothing may panic or write outside its area, whatever
//! the terminal is resized to over a slow SSH link.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use painel_widgets::{
    Breadcrumbs, CapacityBar, Column, CommandPalette, ConfirmDialog, DataCell, DataRow, DataTable, Flash, Form,
    FormField, HelpPopup, InputLine, KeyValuePanel, KvEntry, NavItem, PaletteItem, SideNav, Sort, StatCard, StatusBar,
    TabBar, TableState, Theme, Tone,
};
use proptest::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{StatefulWidget, Widget};

const WIDTHS: &[u16] = &[0, 1, 2, 3, 4, 5, 7, 10, 16, 24, 40, 80, 200];
const HEIGHTS: &[u16] = &[0, 1, 2, 3, 4, 5, 6, 8, 12, 24, 60];

/// Renders into a buffer larger than `area`, with a sentinel border, and checks the border
/// was not touched.
fn check(area_w: u16, area_h: u16, draw: impl FnOnce(Rect, &mut Buffer)) {
    let outer = Rect::new(0, 0, area_w + 2, area_h + 2);
    let mut buf = Buffer::empty(outer);
    for x in 0..outer.width {
        for y in 0..outer.height {
            buf[(x, y)].set_symbol("#");
        }
    }
    let area = Rect::new(1, 1, area_w, area_h);
    draw(area, &mut buf);
    for x in 0..outer.width {
        for y in 0..outer.height {
            if !area.contains((x, y).into()) {
                assert_eq!(buf[(x, y)].symbol(), "#", "wrote outside {area:?} at ({x},{y})");
            }
        }
    }
}

fn all_widgets(w: u16, h: u16, text: &str) {
    let theme = Theme::dark();
    let columns = [
        Column::new("NAME", Constraint::Fill(1)),
        Column::new("N", Constraint::Length(6)).right(),
        Column::new(text, Constraint::Percentage(30)),
    ];
    let rows: Vec<DataRow<'_>> = (0..30)
        .map(|i| {
            DataRow::new([
                DataCell::new(text),
                DataCell::new(format!("{i}")),
                DataCell::styled(text, Tone::Error),
            ])
        })
        .collect();
    check(w, h, |a, b| {
        let mut state = TableState::default().with_selected(Some(17));
        DataTable::new(&columns, &rows, &theme)
            .title(text)
            .footer(text)
            .sort(Some(Sort::asc(2)))
            .render(a, b, &mut state);
    });
    check(w, h, |a, b| {
        DataTable::new(&columns, &[], &theme)
            .empty_message(text)
            .render(a, b, &mut TableState::default());
    });
    let nav = [NavItem::new(text), NavItem::new("servers").badge(text, Tone::Error)];
    check(w, h, |a, b| {
        SideNav::new(&nav, 1, &theme).title(text).focused(true).render(a, b)
    });
    check(w, h, |a, b| {
        Breadcrumbs::new(&["painel", text, "x"], &theme).render(a, b)
    });
    check(w, h, |a, b| {
        TabBar::new(&[text, "b", text], 2, &theme).numbered(true).render(a, b)
    });
    let flash = Flash::error(text);
    check(w, h, |a, b| {
        StatusBar::new(&theme)
            .user(text, text)
            .scope(text)
            .backend(text)
            .read_only(true)
            .flash(Some(&flash))
            .render(a, b);
    });
    check(w, h, |a, b| {
        StatusBar::new(&theme).user(text, "r").scope(text).render(a, b)
    });
    let help = [("g", text, text), (text, "k", "d")];
    check(w, h, |a, b| HelpPopup::new(&help, &theme).render(a, b, &mut 3));
    let items = [PaletteItem::new(text, text), PaletteItem::new("servers", "list")];
    check(w, h, |a, b| {
        let p = CommandPalette::new(text, 99, &items, 5, &theme);
        if let Some(pos) = p.cursor_position(a) {
            assert!(a.contains(pos), "palette cursor {pos:?} outside {a:?}");
        }
        p.render(a, b);
    });
    let fields = [
        FormField::new(text, text).error(Some(text)),
        FormField::new("b", "").placeholder(text).hint(text),
        FormField::new("c", text).masked(true),
        FormField::new("d", "#3b82f6").swatch(true),
    ];
    check(w, h, |a, b| {
        let f = Form::new(text, &fields, 2, 99, &theme).error(Some(text));
        if let Some(pos) = f.cursor_position(a) {
            assert!(a.contains(pos), "form cursor {pos:?} outside {a:?}");
        }
        f.render(a, b);
    });
    check(w, h, |a, b| {
        let d = ConfirmDialog::new(text, text, text, text, 3, &theme).error(Some(text));
        if let Some(pos) = d.cursor_position(a) {
            assert!(a.contains(pos), "confirm cursor {pos:?} outside {a:?}");
        }
        d.render(a, b);
    });
    check(w, h, |a, b| {
        let d = ConfirmDialog::new(text, text, text, text, 3, &theme)
            .extra(text, text)
            .focus_extra(99);
        if let Some(pos) = d.cursor_position(a) {
            assert!(a.contains(pos), "confirm cursor {pos:?} outside {a:?}");
        }
        d.clone().render(a, b);
        d.typed(false).render(a, b);
    });
    check(w, h, |a, b| {
        let l = InputLine::new(text, text, 99, true, &theme).hint(text);
        if let Some(pos) = l.cursor_position(a) {
            assert!(a.contains(pos), "input line cursor {pos:?} outside {a:?}");
        }
        l.clone().render(a, b);
        InputLine::new("/", text, 0, false, &theme).hint(text).render(a, b);
    });
    let kv = [KvEntry::new(text, "#3b82f6"), KvEntry::new("b", text)];
    check(w, h, |a, b| KeyValuePanel::new(&kv, &theme).title(text).render(a, b));
    check(w, h, |a, b| {
        CapacityBar::new(text, 95.0, 100.0, &theme).unit(text).render(a, b)
    });
    check(w, h, |a, b| {
        StatCard::new(text, text, &theme)
            .subtitle(text)
            .trend(&[1, 5, 2])
            .render(a, b)
    });
}

#[test]
fn every_widget_at_every_size() {
    for &w in WIDTHS {
        for &h in HEIGHTS {
            all_widgets(w, h, "Acme Hosting — 日本語 ✓ a-rather-long-value-that-will-not-fit");
            all_widgets(w, h, "");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}", w in 0u16..90, h in 0u16..30) {
        all_widgets(w, h, &text);
    }

    #[test]
    fn control_characters_never_reach_the_buffer(text in "[a-z\\n\\t\\x1b\\r]{0,30}") {
        let theme = Theme::dark();
        let area = Rect::new(0, 0, 40, 6);
        let mut buf = Buffer::empty(area);
        let rows = [DataRow::new([text.as_str()])];
        let columns = [Column::new("A", Constraint::Fill(1))];
        DataTable::new(&columns, &rows, &theme).title(&text).render(area, &mut buf, &mut TableState::default());
        for cell in buf.content() {
            prop_assert!(!cell.symbol().chars().any(char::is_control));
        }
    }
}
