//! `painel jobs list|show|retry|cancel|stats`: the operator's view of the queue.

use anyhow::Result;
use backend::jobs::admin::{self, JobQuery};
use backend::{Actor, Db};

use super::start_at;
use crate::cli::{JobsCmd, OutputFormat};
use crate::output::Printer;
use crate::records::JobRow;

pub async fn run(db: &Db, actor: &Actor, cmd: JobsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        JobsCmd::List {
            queue,
            status,
            kind,
            limit,
            after,
        } => {
            let q = JobQuery {
                queue,
                status,
                kind,
                limit,
                at: start_at(after.as_deref())?,
            };
            let page = admin::list(db, actor, &q).await?;
            if out.format == OutputFormat::Table {
                out.list(&page.items.iter().map(JobRow).collect::<Vec<_>>())?;
            } else {
                out.list(&page.items)?;
            }
            if let Some(token) = page.next_cursor {
                eprintln!("more rows: --after {token}");
            }
            Ok(())
        }
        JobsCmd::Show { id } => out.one(&admin::get(db, actor, &id).await?),
        JobsCmd::Retry { id } => out.one(&admin::retry(db, actor, &id).await?),
        JobsCmd::Cancel { id } => out.one(&admin::cancel(db, actor, &id).await?),
        JobsCmd::Stats => out.list(&admin::stats(db, actor).await?),
    }
}
