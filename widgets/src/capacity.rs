//! `CapacityBar`: one line showing how full something is (disk, accounts, bandwidth), coloured
//! by threshold so the dashboard's trouble spots stand out at a glance.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::text;
use crate::theme::{Theme, Tone};

/// Eighth-block characters for a smooth bar end.
const PARTIAL: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// The tone for a usage percentage: below 70 success, below 90 warning, else error.
pub fn capacity_tone(percent: f64) -> Tone {
    if percent < 70.0 {
        Tone::Success
    } else if percent < 90.0 {
        Tone::Warning
    } else {
        Tone::Error
    }
}

/// `label  ██████▍░░░░  72%  72/100 GB`.
#[derive(Debug, Clone)]
pub struct CapacityBar<'a> {
    label: &'a str,
    used: f64,
    total: f64,
    unit: &'a str,
    label_width: Option<u16>,
    theme: &'a Theme,
}

impl<'a> CapacityBar<'a> {
    pub fn new(label: &'a str, used: f64, total: f64, theme: &'a Theme) -> Self {
        Self {
            label,
            used,
            total,
            unit: "",
            label_width: None,
            theme,
        }
    }

    /// Unit after the numbers, e.g. "GB".
    #[must_use]
    pub fn unit(mut self, unit: &'a str) -> Self {
        self.unit = unit;
        self
    }

    /// Fixed label column width, so stacked bars line up.
    #[must_use]
    pub fn label_width(mut self, width: u16) -> Self {
        self.label_width = Some(width);
        self
    }

    /// Usage in percent, `None` when the total is unknown or zero.
    pub fn percent(&self) -> Option<f64> {
        let (used, total) = (finite(self.used), finite(self.total));
        (total > 0.0).then(|| used / total * 100.0)
    }

    fn numbers(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        // Right-aligned in a fixed minimum width so stacked bars keep their columns aligned.
        format!(
            "{:>12}",
            format!("{}/{}{}", number(self.used), number(self.total), unit)
        )
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v.max(0.0)
    } else {
        0.0
    }
}

/// Whole numbers without decimals, others with one.
fn number(v: f64) -> String {
    let v = finite(v);
    if (v - v.round()).abs() < f64::EPSILON {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

impl Widget for CapacityBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let width = usize::from(area.width);
        let percent = self.percent();
        let (pct_text, style) = match percent {
            Some(p) => (format!("{:>3.0}%", p.min(999.0)), self.theme.tone(capacity_tone(p))),
            None => (" n/a".to_owned(), self.theme.muted),
        };
        let label_w = self.label_width.map_or_else(|| text::width(self.label), usize::from);
        let numbers = self.numbers();
        // Drop parts in order of least value when narrow: numbers, then label.
        let bar_min = 6;
        // Without a total the numbers say nothing ("5/0"), so they are left out.
        let show_numbers = percent.is_some() && label_w + 1 + bar_min + 1 + 4 + 2 + text::width(&numbers) <= width;
        let show_label = label_w + 1 + bar_min + 1 + 4 <= width;
        let mut spans = Vec::new();
        let mut used = 0;
        if show_label {
            let label = text::truncate(self.label, label_w);
            let pad = label_w - text::width(&label) + 1;
            spans.push(Span::styled(label.into_owned(), self.theme.base));
            spans.push(Span::raw(" ".repeat(pad)));
            used += label_w + 1;
        }
        let tail_w = 1 + 4 + if show_numbers { 2 + text::width(&numbers) } else { 0 };
        let bar_w = width.saturating_sub(used + tail_w);
        let fraction = percent.map_or(0.0, |p| (p / 100.0).clamp(0.0, 1.0));
        // Eighths of a cell; the bar is at most a few hundred cells, so this cannot overflow.
        let eighths = (fraction * bar_w as f64 * 8.0).round() as usize;
        let (full, part) = (eighths / 8, eighths % 8);
        let filled = "█".repeat(full) + PARTIAL[part];
        let empty = bar_w.saturating_sub(full + usize::from(part > 0));
        spans.push(Span::styled(filled, style));
        spans.push(Span::styled("░".repeat(empty), self.theme.border));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(pct_text, style));
        if show_numbers {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(numbers, self.theme.muted));
        }
        buf.set_line(area.x, area.y, &Line::from(spans), area.width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(bar: CapacityBar<'_>, width: u16) -> (String, Buffer) {
        let area = Rect::new(0, 0, width, 1);
        let mut buf = Buffer::empty(area);
        bar.render(area, &mut buf);
        ((0..width).map(|x| buf[(x, 0)].symbol()).collect(), buf)
    }

    #[test]
    fn thresholds() {
        assert_eq!(capacity_tone(0.0), Tone::Success);
        assert_eq!(capacity_tone(69.9), Tone::Success);
        assert_eq!(capacity_tone(70.0), Tone::Warning);
        assert_eq!(capacity_tone(89.9), Tone::Warning);
        assert_eq!(capacity_tone(90.0), Tone::Error);
        assert_eq!(capacity_tone(150.0), Tone::Error);
    }

    #[test]
    fn renders_bar_percent_and_numbers() {
        let theme = Theme::dark();
        let (line, buf) = render(CapacityBar::new("disk", 75.0, 100.0, &theme).unit("GB"), 40);
        assert_eq!(line, "disk ████████████░░░░  75%     75/100 GB");
        assert_eq!(buf[(5, 0)].fg, theme.warning.fg.unwrap_or_default());
    }

    #[test]
    fn narrow_drops_numbers_then_label() {
        let theme = Theme::dark();
        let (line, _) = render(CapacityBar::new("disk", 95.0, 100.0, &theme), 20);
        assert_eq!(line, "disk █████████▌  95%");
        let (line, _) = render(CapacityBar::new("disk", 95.0, 100.0, &theme), 12);
        assert_eq!(line, "██████▋  95%");
    }

    #[test]
    fn unknown_total_is_na() {
        let theme = Theme::dark();
        let (line, _) = render(CapacityBar::new("bw", 5.0, 0.0, &theme), 20);
        assert_eq!(line, "bw ░░░░░░░░░░░░  n/a");
        let (line, _) = render(CapacityBar::new("bw", f64::NAN, f64::INFINITY, &theme), 20);
        assert!(line.ends_with(" n/a"));
    }
}
