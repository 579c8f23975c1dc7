//! Batch output: the same records as an aligned table, JSON or CSV.

use std::io::{self, Write};

use anyhow::Result;
use serde::Serialize;

use crate::cli::OutputFormat;

/// A record's cells made safe for a terminal (stored text is hostile: see
/// `widgets::text::sanitize`). Table and CSV both print through this.
fn safe_cells<T: Record>(item: &T) -> Vec<String> {
    item.cells().into_iter().map(|c| clean(&c)).collect()
}

/// CSV cells: like a table's, except where a record writes a value the way JSON does
/// (an unlimited limit is an empty cell, as JSON's `null`).
fn safe_csv_cells<T: Record>(item: &T) -> Vec<String> {
    item.csv_cells().into_iter().map(|c| clean(&c)).collect()
}

/// `text` with every terminal control replaced by a printable stand-in.
pub fn clean(text: &str) -> String {
    widgets::text::sanitize(text).into_owned()
}

/// JSON for a terminal: serde_json escapes C0 controls but writes C1 controls and bidi
/// overrides raw. Apart from the layout's newlines and spaces those only occur inside
/// strings, so escaping them as `\uXXXX` anywhere in the text keeps it the same JSON value.
fn write_json(out: &mut impl Write, value: &impl Serialize, pretty: bool) -> Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    writeln!(out, "{}", escape_json_controls(&text))?;
    Ok(())
}

pub fn escape_json_controls(json: &str) -> String {
    let mut s = String::with_capacity(json.len());
    for c in json.chars() {
        if widgets::text::is_unsafe_char(c) && !matches!(c, '\n' | '\r' | '\t') {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                s.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            s.push(c);
        }
    }
    s
}

/// A record the batch mode prints. JSON uses serde; table and CSV use these columns.
pub trait Record: Serialize {
    fn columns() -> &'static [&'static str];
    fn cells(&self) -> Vec<String>;
    /// The cells of a CSV row; the table's unless a value has a JSON-like form.
    fn csv_cells(&self) -> Vec<String> {
        self.cells()
    }
}

/// Whether `e` is only a closed standard output (`painel audit list --all | head`): the
/// reader has what it wanted, so the command ends quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(|c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe))
    })
}

pub struct Printer {
    pub format: OutputFormat,
    header_done: bool,
    /// `--all` with JSON: pages are elements of one array, opened at the first page and
    /// closed by [`Printer::finish`], so a walk prints one JSON document.
    walking: bool,
    /// Elements of the open array written so far.
    written: usize,
}

impl Printer {
    pub fn new(format: OutputFormat) -> Printer {
        Printer {
            format,
            header_done: false,
            walking: false,
            written: 0,
        }
    }

    /// Starts a walk over every page (`--all`): until [`Printer::finish`], every `list`
    /// call adds to the same JSON array.
    pub fn walk_all(&mut self) {
        self.walking = true;
    }

    /// Ends a walk: closes the JSON array (an empty one when no page had rows).
    pub fn finish(&mut self) -> Result<()> {
        if self.walking && self.format == OutputFormat::Json {
            let mut out = io::stdout().lock();
            if self.written == 0 {
                writeln!(out, "[]")?;
            } else {
                writeln!(out, "\n]")?;
            }
            out.flush()?;
        }
        self.walking = false;
        Ok(())
    }

    /// Prints a batch of rows. Called once per page when walking pages, so CSV prints its
    /// header once; JSON prints one array per call, or one array in all when walking.
    pub fn list<T: Record>(&mut self, items: &[T]) -> Result<()> {
        let mut out = io::stdout().lock();
        match self.format {
            OutputFormat::Json if self.walking => {
                for item in items {
                    let text = escape_json_controls(&serde_json::to_string_pretty(item)?);
                    let text = text.replace('\n', "\n  ");
                    let sep = if self.written == 0 { "[\n  " } else { ",\n  " };
                    write!(out, "{sep}{text}")?;
                    self.written += 1;
                }
                out.flush()?;
            }
            OutputFormat::Json => write_json(&mut out, &items, true)?,
            OutputFormat::Jsonl => {
                for item in items {
                    write_json(&mut out, item, false)?;
                }
            }
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                if !self.header_done {
                    w.write_record(T::columns())?;
                }
                for i in items {
                    w.write_record(safe_csv_cells(i))?;
                }
                w.flush()?;
            }
            OutputFormat::Table => {
                let rows: Vec<Vec<String>> = items.iter().map(safe_cells).collect();
                write_table(&mut out, T::columns(), &rows, !self.header_done)?;
            }
        }
        self.header_done = true;
        Ok(())
    }

    /// Prints one record: a key/value table, a JSON object or a one-row CSV.
    pub fn one<T: Record>(&mut self, item: &T) -> Result<()> {
        let mut out = io::stdout().lock();
        match self.format {
            OutputFormat::Json => write_json(&mut out, item, true)?,
            OutputFormat::Jsonl => write_json(&mut out, item, false)?,
            OutputFormat::Csv => {
                drop(out);
                self.list(std::slice::from_ref(item))?;
            }
            OutputFormat::Table => {
                let rows: Vec<Vec<String>> = T::columns()
                    .iter()
                    .zip(safe_cells(item))
                    .map(|(k, v)| vec![(*k).to_owned(), v])
                    .collect();
                write_table(&mut out, &["FIELD", "VALUE"], &rows, false)?;
            }
        }
        Ok(())
    }
}

impl Printer {
    /// Prints one row of an open-ended stream at once: a JSON line, a CSV row (header
    /// first), or a table line with the header's column widths guessed from the first row.
    pub fn stream<T: Record>(&mut self, item: &T) -> Result<()> {
        let mut out = io::stdout().lock();
        match self.format {
            OutputFormat::Json | OutputFormat::Jsonl => write_json(&mut out, item, false)?,
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(&mut out);
                if !self.header_done {
                    w.write_record(T::columns())?;
                }
                w.write_record(safe_csv_cells(item))?;
                w.flush()?;
            }
            OutputFormat::Table => {
                let cells = safe_cells(item);
                let widths: Vec<usize> = T::columns()
                    .iter()
                    .zip(&cells)
                    .map(|(h, c)| width(h).max(width(c)).max(STREAM_MIN_WIDTH))
                    .collect();
                if !self.header_done {
                    writeln!(out, "{}", padded(T::columns().iter().copied(), &widths))?;
                }
                writeln!(out, "{}", padded(cells.iter().map(String::as_str), &widths))?;
            }
        }
        out.flush()?;
        self.header_done = true;
        Ok(())
    }
}

/// Narrowest streamed table column, so later rows mostly line up with the first.
const STREAM_MIN_WIDTH: usize = 10;

fn padded<'a>(cells: impl Iterator<Item = &'a str>, widths: &[usize]) -> String {
    let cells: Vec<&str> = cells.collect();
    let mut s = String::new();
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        s.push_str(c);
        if i + 1 < cells.len() {
            s.push_str(&" ".repeat(w.saturating_sub(width(c)) + 2));
        }
    }
    s
}

fn width(s: &str) -> usize {
    s.chars().count()
}

pub fn write_table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>], with_header: bool) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(width(c));
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(w - width(c) + 2));
            }
        }
        s.trim_end().to_owned()
    };
    if with_header {
        writeln!(
            out,
            "{}",
            line(
                headers
                    .iter()
                    .map(|h| h.to_uppercase())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect()
            )
        )?;
    }
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut buf = Vec::new();
        let rows = vec![
            vec!["a".to_owned(), "long value".to_owned()],
            vec!["ção".to_owned(), "x".to_owned()],
        ];
        write_table(&mut buf, &["k", "value"], &rows, true).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text, "K    VALUE\na    long value\nção  x\n");
    }
}
