//! `painel jobs list|show|retry|cancel|stats|enqueue|watch` and `painel schedules …`: the
//! operator's view of the queue.

use std::time::Duration;

use anyhow::Result;
use backend::jobs::admin::{self, EnqueueRequest, JobQuery};
use backend::jobs::feed::{self, WatchFilter, WatchItem};
use backend::jobs::schedule::{self, NewSchedule};
use backend::{Actor, Db, ServiceError};

use super::{next_page, start_at};
use crate::cli::{JobsCmd, OutputFormat, SchedulesCmd};
use crate::output::Printer;
use crate::records::JobRow;

fn json_arg(field: &str, raw: &str) -> Result<serde_json::Value, ServiceError> {
    serde_json::from_str(raw).map_err(|e| ServiceError::invalid(field, format!("must be JSON: {e}")))
}

pub async fn run(db: &Db, actor: &Actor, cmd: JobsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        JobsCmd::List {
            queue,
            status,
            kind,
            limit,
            after,
            all,
        } => {
            let mut q = JobQuery {
                queue,
                status,
                kind,
                limit,
                at: start_at(after.as_deref())?,
            };
            if all {
                out.walk_all();
            }
            loop {
                let page = admin::list(db, actor, &q).await?;
                if out.format == OutputFormat::Table {
                    out.list(&page.items.iter().map(JobRow).collect::<Vec<_>>())?;
                } else {
                    out.list(&page.items)?;
                }
                match next_page(all, &page) {
                    Some(at) => q.at = at,
                    None => break,
                }
            }
            out.finish()
        }
        JobsCmd::Show { id } => out.one(&admin::get(db, actor, &id).await?),
        JobsCmd::Retry { id } => out.one(&admin::retry(db, actor, &id).await?),
        JobsCmd::Cancel { id } => out.one(&admin::cancel(db, actor, &id).await?),
        JobsCmd::Stats => out.list(&admin::stats(db, actor).await?),
        JobsCmd::Watch {
            queue,
            failures,
            count,
            seconds,
        } => {
            let filter = WatchFilter {
                queue,
                failures_only: failures,
            };
            watch(db, actor, filter, count, seconds.map(Duration::from_secs), out).await
        }
        JobsCmd::Enqueue {
            kind,
            queue,
            payload,
            unique_key,
            run_at,
            max_attempts,
        } => {
            let payload = json_arg("payload", &payload)?;
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

/// Prints events as they come until `count` events or `limit` time; the event source
/// (Redis or polling) is reported on stderr when it changes.
async fn watch(
    db: &Db,
    actor: &Actor,
    filter: WatchFilter,
    count: Option<usize>,
    limit: Option<Duration>,
    out: &mut Printer,
) -> Result<()> {
    let mut rx = feed::watch(db, actor, filter)?;
    let deadline = limit.map(|d| tokio::time::Instant::now() + d);
    let mut seen = 0usize;
    loop {
        if count.is_some_and(|c| seen >= c) {
            return Ok(());
        }
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, rx.recv()).await.ok().flatten(),
                None => rx.recv().await,
            }
        };
        tokio::select! {
            item = next => match item {
                None => return Ok(()),
                Some(WatchItem::Source(s)) => eprintln!("watching job events ({s})"),
                Some(WatchItem::Event(e)) => {
                    seen += 1;
                    out.stream(&e)?;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

pub async fn schedules(db: &Db, actor: &Actor, cmd: SchedulesCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        SchedulesCmd::List => out.list(&schedule::list(db, actor).await?),
        SchedulesCmd::Set {
            name,
            cron,
            kind,
            queue,
            payload,
        } => {
            let new = NewSchedule {
                name,
                cron,
                queue,
                kind,
                payload: json_arg("payload", &payload)?,
            };
            out.one(&schedule::upsert(db, actor, new).await?)
        }
        SchedulesCmd::Remove { name } => out.one(&schedule::remove(db, actor, &name).await?),
        SchedulesCmd::Enable { name } => out.one(&schedule::set_enabled(db, actor, &name, true).await?),
        SchedulesCmd::Disable { name } => out.one(&schedule::set_enabled(db, actor, &name, false).await?),
        SchedulesCmd::Run { name } => out.one(&schedule::run_now(db, actor, &name).await?),
    }
}
