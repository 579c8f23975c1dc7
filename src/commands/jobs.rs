//! `painel jobs list|show|retry|cancel|stats|enqueue`: the operator's view of the queue.

use anyhow::Result;
use backend::jobs::admin::{self, EnqueueRequest, JobQuery};
use backend::{Actor, Db, ServiceError};

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
        JobsCmd::Enqueue {
            kind,
            queue,
            payload,
            unique_key,
            run_at,
            max_attempts,
        } => {
            let payload: serde_json::Value = serde_json::from_str(&payload)
                .map_err(|e| ServiceError::invalid("payload", format!("must be JSON: {e}")))?;
            let run_at = run_at
                .map(|t| {
                    chrono::DateTime::parse_from_rfc3339(t.trim())
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .map_err(|e| ServiceError::invalid("run_at", format!("must be RFC 3339: {e}")))
                })
                .transpose()?;
            let req = EnqueueRequest {
                queue,
                kind,
                payload,
                unique_key,
                run_at,
                max_attempts,
            };
            out.one(&admin::enqueue(db, actor, req).await?)
        }
    }
}
