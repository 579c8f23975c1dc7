//! `painel audit list|show|verify|export`: the audit log's batch verbs. Reading, scoping and
//! verifying are the service layer's (backend::audit); this only parses and prints.

use std::io::{self, Write};

use anyhow::{bail, Result};
use backend::audit::{self, AuditQuery, AuditRecord};
use backend::page::PageAt;
use backend::{Actor, Db, ServiceError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{AuditCmd, AuditFilterArgs, OutputFormat};
use crate::commands::{next_page, start_at};
use crate::output::{Printer, Record};

pub async fn run(db: &Db, actor: &Actor, cmd: AuditCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        AuditCmd::List {
            filter,
            limit,
            after,
            all,
        } => {
            let mut q = query(filter)?;
            q.limit = limit;
            q.at = start_at(after.as_deref())?;
            if all {
                out.walk_all();
            }
            loop {
                let page = audit::list(db, actor, &q).await?;
                out.list(&page.items)?;
                match next_page(all, &page) {
                    Some(at) => q.at = at,
                    None => break,
                }
            }
            out.finish()
        }
        AuditCmd::Show { key } => show(db, actor, &key, out).await,
        AuditCmd::Verify { checkpoints } => {
            let report = audit::verify_with(db, actor, &checkpoints).await?;
            out.one(&report)?;
            match report.first_bad {
                None => Ok(()),
                // A checkpoint line that does not even parse names no row.
                Some(bad) if bad.seq == 0 => bail!("audit checkpoints rejected: {}", bad.reason),
                Some(bad) => bail!(
                    "audit chain broken at seq {}: {} ({} rows checked)",
                    bad.seq,
                    bad.reason,
                    report.rows
                ),
            }
        }
        AuditCmd::Export { filter } => export(db, actor, filter, out).await,
        AuditCmd::Checkpoint => {
            let cp = audit::checkpoint(db, actor).await?;
            // One JSON line whatever the output format: it is the thing to ship elsewhere.
            println!("{}", serde_json::to_string(&cp)?);
            eprintln!(
                "checkpoint of seq {} ({} rows) appended to {}",
                cp.seq,
                cp.rows,
                db.audit_keys()
                    .and_then(|k| k.checkpoint_file())
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            Ok(())
        }
    }
}

/// RFC 3339, a date or an age (`7d`), as on the audit screen's filter line.
fn time(field: &str, raw: Option<String>) -> Result<Option<DateTime<Utc>>, ServiceError> {
    raw.map(|s| backend::audit::filter::parse_time(&s, Utc::now()).map_err(|m| ServiceError::invalid(field, m)))
        .transpose()
}

fn query(f: AuditFilterArgs) -> Result<AuditQuery, ServiceError> {
    Ok(AuditQuery {
        actor_name: f.actor,
        action: f.action,
        entity: f.entity,
        entity_id: f.entity_id,
        tenant: f.tenant,
        since: time("since", f.since)?,
        until: time("until", f.until)?,
        ..Default::default()
    })
}

/// One changed field in `audit show`.
#[derive(Serialize)]
struct DiffRow {
    path: String,
    old: Value,
    new: Value,
}

impl Record for DiffRow {
    fn columns() -> &'static [&'static str] {
        &["path", "old", "new"]
    }

    fn cells(&self) -> Vec<String> {
        let show = |v: &Value| match v {
            Value::Null => "—".to_owned(),
            Value::String(s) => s.clone(),
            other => audit::canonical_json(other),
        };
        vec![self.path.clone(), show(&self.old), show(&self.new)]
    }
}

/// The row with its diff (JSON); CSV carries the row alone.
#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    record: AuditRecord,
    diff: Vec<DiffRow>,
}

impl Record for Shown {
    fn columns() -> &'static [&'static str] {
        AuditRecord::columns()
    }

    fn cells(&self) -> Vec<String> {
        self.record.cells()
    }
}

async fn show(db: &Db, actor: &Actor, key: &str, out: &mut Printer) -> Result<()> {
    let record = audit::get(db, actor, key).await?;
    let diff: Vec<DiffRow> = audit::diff(record.before.as_ref(), record.after.as_ref())
        .into_iter()
        .map(|(path, old, new)| DiffRow { path, old, new })
        .collect();
    if out.format == OutputFormat::Table {
        out.one(&record)?;
        if diff.is_empty() {
            writeln!(io::stdout().lock(), "\n(no field changes)")?;
            Ok(())
        } else {
            writeln!(io::stdout().lock())?;
            out.list(&diff)
        }
    } else {
        out.one(&Shown { record, diff })
    }
}

/// Streams every matching row oldest first, a page at a time: JSON as one array written as it
/// goes, CSV and tables page by page.
async fn export(db: &Db, actor: &Actor, filter: AuditFilterArgs, out: &mut Printer) -> Result<()> {
    let mut q = query(filter)?;
    q.oldest_first = true;
    q.limit = audit::MAX_PAGE;
    let json = out.format == OutputFormat::Json;
    let mut first = true;
    if json {
        write!(io::stdout().lock(), "[")?;
    }
    loop {
        let page = audit::list_records(db, actor, &q).await?;
        if json {
            let mut w = io::stdout().lock();
            for r in &page.items {
                write!(w, "{}", if first { "\n" } else { ",\n" })?;
                let line = crate::output::escape_json_controls(&serde_json::to_string(r)?);
                write!(w, "{line}")?;
                first = false;
            }
            w.flush()?;
        } else {
            out.list(&page.items)?;
        }
        match page.last {
            Some(last) if page.has_next => q.at = PageAt::After(last),
            _ => break,
        }
    }
    if json {
        writeln!(io::stdout().lock(), "\n]")?;
    }
    Ok(())
}
