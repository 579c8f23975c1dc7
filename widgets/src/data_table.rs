//! The list table every resource screen uses (tenants, servers, invoices, …).
//!
//! Only the visible window of rows is turned into ratatui rows, so a screen can hand over a
//! page of thousands without paying for it each frame. Cells are cut with "…" to their column
//! instead of being clipped mid-word by ratatui.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

use crate::scrollbar;
use crate::text;
use crate::theme::{Theme, Tone};

/// Spaces between columns.
const COLUMN_SPACING: u16 = 1;

/// A column: header title, width constraint and alignment (right for numbers).
///
/// When the table is too narrow for every column, columns with the lowest `priority` are
/// hidden first (ties: the rightmost first); the first column is never hidden. A column is
/// "too narrow" below its constraint's length, or below [`MIN_FLEX_WIDTH`] for `Fill`,
/// `Percentage` and `Ratio` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column<'a> {
    pub title: Cow<'a, str>,
    pub width: Constraint,
    pub align: Alignment,
    pub priority: u8,
    /// Narrowest width worth showing; below it the column hides (by priority) instead.
    pub min: Option<u16>,
}

/// Narrowest useful width of a flexible column (a name cut to 10 columns is still a name).
pub const MIN_FLEX_WIDTH: u16 = 10;

impl<'a> Column<'a> {
    /// A left-aligned column.
    pub fn new(title: impl Into<Cow<'a, str>>, width: Constraint) -> Self {
        Self {
            title: title.into(),
            width,
            align: Alignment::Left,
            priority: 0,
            min: None,
        }
    }

    /// The column hides rather than shrink below `min` (a name cut to 12 is still a name).
    #[must_use]
    pub fn min(mut self, min: u16) -> Self {
        self.min = Some(min);
        self
    }

    /// Higher priority columns stay visible longer on narrow terminals.
    #[must_use]
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    fn min_width(&self) -> u16 {
        if let Some(m) = self.min {
            return m;
        }
        match self.width {
            Constraint::Length(n) | Constraint::Min(n) => n,
            Constraint::Max(n) => n.min(MIN_FLEX_WIDTH),
            _ => MIN_FLEX_WIDTH,
        }
    }

    /// Right-aligns the column (numbers, money, counts).
    #[must_use]
    pub fn right(mut self) -> Self {
        self.align = Alignment::Right;
        self
    }

    #[must_use]
    pub fn align(mut self, align: Alignment) -> Self {
        self.align = align;
        self
    }
}

/// A cell's text plus a tone hint (a status column shows `error` in the error colour).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataCell<'a> {
    pub text: Cow<'a, str>,
    pub tone: Tone,
}

impl<'a> DataCell<'a> {
    pub fn new(text: impl Into<Cow<'a, str>>) -> Self {
        Self {
            text: text.into(),
            tone: Tone::Normal,
        }
    }

    pub fn styled(text: impl Into<Cow<'a, str>>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }

    #[must_use]
    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }
}

impl From<String> for DataCell<'_> {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl<'a> From<&'a str> for DataCell<'a> {
    fn from(text: &'a str) -> Self {
        Self::new(text)
    }
}

/// A row: its cells, and a tone for the whole row (e.g. `Muted` for a suspended tenant).
/// Cell tones win over the row tone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataRow<'a> {
    pub cells: Vec<DataCell<'a>>,
    pub tone: Tone,
}

impl<'a> DataRow<'a> {
    pub fn new<C: Into<DataCell<'a>>>(cells: impl IntoIterator<Item = C>) -> Self {
        Self {
            cells: cells.into_iter().map(Into::into).collect(),
            tone: Tone::Normal,
        }
    }

    #[must_use]
    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }
}

impl From<Vec<String>> for DataRow<'_> {
    fn from(cells: Vec<String>) -> Self {
        Self::new(cells)
    }
}

impl<'a> From<Vec<&'a str>> for DataRow<'a> {
    fn from(cells: Vec<&'a str>) -> Self {
        Self::new(cells)
    }
}

impl<'a> From<Vec<DataCell<'a>>> for DataRow<'a> {
    fn from(cells: Vec<DataCell<'a>>) -> Self {
        Self {
            cells,
            tone: Tone::Normal,
        }
    }
}

/// Which column the rows are sorted by, shown as ▲/▼ in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    pub column: usize,
    pub descending: bool,
}

impl Sort {
    pub const fn asc(column: usize) -> Self {
        Self {
            column,
            descending: false,
        }
    }

    pub const fn desc(column: usize) -> Self {
        Self {
            column,
            descending: true,
        }
    }

    /// "▲" ascending, "▼" descending.
    pub const fn arrow(self) -> &'static str {
        if self.descending {
            "▼"
        } else {
            "▲"
        }
    }
}

/// A bordered table with header, sort arrow, selection, footer summary and empty state.
///
/// State is ratatui's [`TableState`]: `selected` is an index into `rows` (clamped on render),
/// `offset` is updated so the selection stays visible.
#[derive(Debug, Clone)]
pub struct DataTable<'a> {
    columns: &'a [Column<'a>],
    rows: &'a [DataRow<'a>],
    theme: &'a Theme,
    title: Option<&'a str>,
    footer: Option<&'a str>,
    sort: Option<Sort>,
    empty_message: &'a str,
    focused: bool,
    wide: bool,
}

impl<'a> DataTable<'a> {
    pub fn new(columns: &'a [Column<'a>], rows: &'a [DataRow<'a>], theme: &'a Theme) -> Self {
        Self {
            columns,
            rows,
            theme,
            title: None,
            footer: None,
            sort: None,
            empty_message: "Nothing here yet",
            focused: true,
            wide: false,
        }
    }

    /// Title in the top border, e.g. "servers (all)".
    #[must_use]
    pub fn title(mut self, title: &'a str) -> Self {
        self.title = Some(title);
        self
    }

    /// Summary in the bottom border, e.g. `rows 51–100 · sorted by name ▲ · filter "ar"`.
    #[must_use]
    pub fn footer(mut self, footer: &'a str) -> Self {
        self.footer = Some(footer);
        self
    }

    #[must_use]
    pub fn sort(mut self, sort: Option<Sort>) -> Self {
        self.sort = sort;
        self
    }

    /// Shown centred when there are no rows; say what to do, e.g.
    /// "No servers yet — press c to create one".
    #[must_use]
    pub fn empty_message(mut self, message: &'a str) -> Self {
        self.empty_message = message;
        self
    }

    #[must_use]
    pub fn focused(mut self, focused: bool) -> Self {
        self.focused = focused;
        self
    }

    /// The wide view (`w`, like k9s): every column shown, however narrow.
    #[must_use]
    pub fn wide(mut self, wide: bool) -> Self {
        self.wide = wide;
        self
    }

    /// How many rows fit in `area` (for page-up/page-down and for fetching a page).
    pub fn visible_rows(area: Rect) -> usize {
        // Two border rows and the header.
        usize::from(area.height.saturating_sub(3))
    }

    fn block(&self, inner_width: u16) -> ratatui::widgets::Block<'a> {
        let room = usize::from(inner_width.saturating_sub(2));
        let mut block = self.theme.block(self.focused);
        if let Some(title) = self.title {
            block = block.title(self.theme.title_line(title, usize::from(inner_width)));
        }
        if let Some(footer) = self.footer {
            block = block.title_bottom(Line::styled(
                format!(" {} ", text::truncate(footer, room)),
                self.theme.muted,
            ));
        }
        block
    }

    /// Width of every column; 0 for the columns hidden because the table is too narrow.
    fn column_widths(&self, width: u16) -> Vec<u16> {
        let mut visible: Vec<usize> = (0..self.columns.len()).collect();
        loop {
            let rects = Layout::horizontal(visible.iter().map(|&i| self.columns[i].width))
                .flex(Flex::Start)
                .spacing(COLUMN_SPACING)
                .split(Rect::new(0, 0, width, 1));
            let cramped = visible
                .iter()
                .zip(rects.iter())
                .any(|(&i, r)| r.width < self.columns[i].min_width().min(width));
            let victim = visible
                .iter()
                .enumerate()
                .skip(1)
                .min_by_key(|(pos, &i)| (self.columns[i].priority, std::cmp::Reverse(*pos)))
                .map(|(pos, _)| pos);
            match victim {
                Some(pos) if cramped && !self.wide => {
                    visible.remove(pos);
                }
                _ => {
                    let mut widths = vec![0; self.columns.len()];
                    for (&i, r) in visible.iter().zip(rects.iter()) {
                        widths[i] = r.width;
                    }
                    return widths;
                }
            }
        }
    }

    /// The shown columns as (index, column, width).
    fn visible<'s>(&'s self, widths: &'s [u16]) -> impl Iterator<Item = (usize, &'s Column<'a>, usize)> + 's {
        self.columns
            .iter()
            .zip(widths)
            .enumerate()
            .filter(|(_, (_, &w))| w > 0)
            .map(|(i, (col, &w))| (i, col, usize::from(w)))
    }

    fn header(&self, widths: &[u16]) -> Row<'a> {
        let cells = self.visible(widths).map(|(i, col, w)| {
            let line = match self.sort.filter(|s| s.column == i) {
                Some(sort) if w >= 2 => {
                    // "DISK ▼" when there is room, "DISK▼" in a tight column, else cut the title.
                    let title_w = text::width(&col.title);
                    let gap = if title_w + 2 <= w { " " } else { "" };
                    Line::from(vec![
                        Span::raw(text::truncate(&col.title, w - 1 - gap.len()).into_owned()),
                        Span::raw(gap),
                        Span::styled(sort.arrow(), self.theme.accent),
                    ])
                }
                _ => Line::from(text::truncate(&col.title, w).into_owned()),
            };
            Cell::from(line.alignment(col.align))
        });
        Row::new(cells).style(self.theme.header)
    }

    fn row(&self, row: &DataRow<'_>, widths: &[u16]) -> Row<'a> {
        let cells = self.visible(widths).map(|(i, col, w)| {
            let Some(cell) = row.cells.get(i) else {
                return Cell::from("");
            };
            let text = text::truncate(&cell.text, w).into_owned();
            Cell::from(Line::styled(text, self.theme.tone(cell.tone)).alignment(col.align))
        });
        Row::new(cells).style(self.theme.tone(row.tone))
    }

    fn render_empty(&self, body: Rect, buf: &mut Buffer) {
        if body.height == 0 || body.width == 0 {
            return;
        }
        let lines = text::width(self.empty_message).div_ceil(usize::from(body.width)).max(1);
        let lines = u16::try_from(lines).unwrap_or(u16::MAX).min(body.height);
        let area = Rect::new(body.x, body.y + (body.height - lines) / 2, body.width, lines);
        Paragraph::new(text::sanitize(self.empty_message).into_owned())
            .style(self.theme.muted)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .render(area, buf);
    }
}

impl StatefulWidget for DataTable<'_> {
    type State = TableState;

    fn render(self, area: Rect, buf: &mut Buffer, state: &mut TableState) {
        let inner_width = area.width.saturating_sub(2);
        let block = self.block(inner_width);
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let widths = self.column_widths(inner.width);
        let body_height = usize::from(inner.height.saturating_sub(1));

        // Keep the selection inside the data and on screen.
        let len = self.rows.len();
        let selected = state.selected().map(|s| s.min(len.saturating_sub(1)));
        let selected = selected.filter(|_| len > 0);
        let mut offset = state.offset().min(len.saturating_sub(body_height));
        if let Some(sel) = selected {
            if sel < offset {
                offset = sel;
            } else if body_height > 0 && sel >= offset + body_height {
                offset = sel + 1 - body_height;
            }
        }
        *state.selected_mut() = selected;
        *state.offset_mut() = offset;

        let window = self.rows.iter().skip(offset).take(body_height);
        let table = Table::new(
            window.map(|r| self.row(r, &widths)).collect::<Vec<_>>(),
            widths.iter().filter(|&&w| w > 0).map(|&w| Constraint::Length(w)),
        )
        .header(self.header(&widths))
        .column_spacing(COLUMN_SPACING)
        .flex(Flex::Start)
        .highlight_spacing(HighlightSpacing::Never)
        .row_highlight_style(self.theme.selection);
        let mut window_state = TableState::default().with_selected(selected.map(|s| s - offset));
        StatefulWidget::render(table, inner, buf, &mut window_state);

        let body = Rect::new(inner.x, inner.y + 1, inner.width, inner.height.saturating_sub(1));
        if len == 0 {
            self.render_empty(body, buf);
        } else {
            scrollbar::render(area, body, buf, self.theme, len, offset, body_height);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column<'static>> {
        vec![
            Column::new("NAME", Constraint::Fill(1)),
            Column::new("CPU", Constraint::Length(5)).right(),
        ]
    }

    fn rows(n: usize) -> Vec<DataRow<'static>> {
        (0..n)
            .map(|i| DataRow::new([format!("web-{i:02}"), format!("{}%", i * 3)]))
            .collect()
    }

    fn render(rows: &[DataRow<'_>], state: &mut TableState, w: u16, h: u16) -> Buffer {
        let theme = Theme::dark();
        let columns = columns();
        let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
        let table = DataTable::new(&columns, rows, &theme).sort(Some(Sort::desc(1)));
        StatefulWidget::render(table, buf.area, &mut buf, state);
        buf
    }

    fn line(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
    }

    #[test]
    fn keeps_selection_visible_and_clamped() {
        let rows = rows(50);
        let mut state = TableState::default().with_selected(Some(30));
        let buf = render(&rows, &mut state, 30, 10);
        // 10 rows: 2 borders + header → 7 body rows; row 30 is the last visible one.
        assert_eq!(state.offset(), 24);
        assert!(line(&buf, 8).contains("web-30"));
        assert_eq!(buf[(1, 8)].bg, Theme::dark().selection.bg.unwrap());

        let mut state = TableState::default().with_selected(Some(999));
        render(&rows, &mut state, 30, 10);
        assert_eq!(state.selected(), Some(49));
        assert_eq!(state.offset(), 43);
    }

    #[test]
    fn header_has_sort_arrow_and_right_aligned_numbers() {
        let rows = rows(3);
        let buf = render(&rows, &mut TableState::default(), 30, 8);
        assert!(line(&buf, 1).ends_with("CPU ▼│"), "{:?}", line(&buf, 1));
        assert!(line(&buf, 3).ends_with("  3%│"), "{:?}", line(&buf, 3));
    }

    #[test]
    fn long_cells_get_an_ellipsis() {
        let rows = vec![DataRow::new(["a-very-long-server-name.example.com", "1%"])];
        let buf = render(&rows, &mut TableState::default(), 20, 5);
        assert!(line(&buf, 2).contains("a-very-long…"), "{:?}", line(&buf, 2));
        assert!(line(&buf, 2).contains('…'));
    }

    #[test]
    fn cell_tone_is_applied() {
        let theme = Theme::dark();
        let rows = vec![DataRow::new([
            DataCell::new("web-01"),
            DataCell::styled("down", Tone::Error),
        ])];
        let buf = render(&rows, &mut TableState::default(), 20, 5);
        let x = line(&buf, 2).chars().position(|c| c == 'd').unwrap();
        assert_eq!(buf[(u16::try_from(x).unwrap(), 2)].fg, theme.error.fg.unwrap());
    }

    #[test]
    fn narrow_tables_hide_low_priority_columns() {
        let theme = Theme::dark();
        let columns = [
            Column::new("NAME", Constraint::Fill(1)),
            Column::new("REGION", Constraint::Length(9)),
            Column::new("IP", Constraint::Length(15)),
            Column::new("STATUS", Constraint::Length(8)).priority(1),
        ];
        let table = DataTable::new(&columns, &[], &theme);
        // Everything fits at 60: NAME gets the rest.
        assert_eq!(table.column_widths(60), vec![25, 9, 15, 8]);
        // At 30 IP goes first (rightmost of the lowest priority); STATUS (priority 1) stays.
        assert_eq!(table.column_widths(30), vec![11, 9, 0, 8]);
        // At 25 REGION goes too.
        assert_eq!(table.column_widths(25), vec![16, 0, 0, 8]);
        // At 12 only NAME is left.
        assert_eq!(table.column_widths(12), vec![12, 0, 0, 0]);
    }

    #[test]
    fn tiny_areas_do_not_panic() {
        let rows = rows(5);
        for (w, h) in [(0, 0), (1, 1), (2, 2), (3, 3), (5, 2), (80, 3)] {
            let mut state = TableState::default().with_selected(Some(3));
            render(&rows, &mut state, w, h);
            render(&[], &mut state, w, h);
        }
    }
}
