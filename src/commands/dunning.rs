//! `painel billing run-renewals|renewals|settings|smtp|timeline` and `painel notifications
//! list` (docs/adr/0027): the renewal run by hand (`--dry-run` says what it would do), what
//! is coming and what failed, the tenant's dunning policy and the platform's mail server.

use anyhow::Result;
use backend::billing::dunning::mail::{self, SmtpSettings};
use backend::billing::dunning::read::{self, Event, Notice, Upcoming};
use backend::billing::dunning::run::{self, Step};
use backend::billing::dunning::{self, Policy};
use backend::{money, Actor, Db, ServiceError};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use uuid::Uuid;

use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum BillingCmd {
    /// Run the renewal steps now: invoices due within the lead time, reminders, suspensions
    /// after the grace period, terminations (the `billing.renewals` schedule does it hourly).
    RunRenewals {
        /// Say what would happen; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Upcoming renewals, reminders sent, suspensions pending and failures.
    #[command(subcommand)]
    Renewals(RenewalsCmd),
    /// The dunning policy (days): lead time, reminders, grace, termination.
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// The platform's outgoing mail server (platform staff).
    Smtp {
        #[arg(long)]
        host: String,
        #[arg(long)]
        port: u16,
        /// none (loopback only), starttls or tls.
        #[arg(long, default_value = "starttls")]
        security: String,
        /// Sender when the tenant names none.
        #[arg(long)]
        from: String,
    },
    /// One invoice's dunning timeline: issued, reminders, e-mails, payment, suspension.
    Timeline { invoice: String },
}

#[derive(Subcommand, Debug)]
pub enum RenewalsCmd {
    /// Services due within --days, with their period's invoice when issued.
    List {
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

#[derive(Subcommand, Debug)]
pub enum SettingsCmd {
    Show {
        /// Tenant id or slug (platform staff; none = the platform default).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Change some values; the others stay.
    Set {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        lead_days: Option<i64>,
        /// Days before the due date, comma-separated (e.g. 3,1).
        #[arg(long, value_delimiter = ',')]
        remind_before: Option<Vec<i64>>,
        /// Days after the due date, comma-separated (e.g. 1,3).
        #[arg(long, value_delimiter = ',')]
        remind_after: Option<Vec<i64>>,
        #[arg(long)]
        grace_days: Option<i64>,
        #[arg(long)]
        terminate_days: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum NotificationsCmd {
    /// Messages to customers, newest first.
    List {
        /// queued, sending, sent, delivered, read, failed or cancelled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn short(id: Option<Uuid>) -> String {
    id.map(|i| i.simple().to_string()[24..].to_owned()).unwrap_or_default()
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct StepRow(Step);

impl Record for StepRow {
    fn columns() -> &'static [&'static str] {
        &["action", "service", "invoice", "detail"]
    }
    fn cells(&self) -> Vec<String> {
        let s = &self.0;
        vec![
            s.action.into(),
            short(s.service_id),
            short(s.invoice_id),
            s.detail.clone(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct UpcomingRow(Upcoming);

impl Record for UpcomingRow {
    fn columns() -> &'static [&'static str] {
        &[
            "due",
            "tenant",
            "domain",
            "customer",
            "status",
            "price",
            "invoice",
            "invoice_status",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let u = &self.0;
        vec![
            time(u.next_due_at),
            u.tenant_slug.clone(),
            u.domain.clone().unwrap_or_default(),
            u.customer_name.clone(),
            u.status.clone(),
            money::format(u.price_minor, &u.currency),
            u.invoice_number.clone().unwrap_or_default(),
            u.invoice_status.clone().unwrap_or_default(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub(crate) struct NoticeRow(pub Notice);

impl Record for NoticeRow {
    fn columns() -> &'static [&'static str] {
        &[
            "created",
            "tenant",
            "recipient",
            "subject",
            "status",
            "attempts",
            "error",
            "id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let n = &self.0;
        vec![
            time(n.created_at),
            n.tenant_slug.clone().unwrap_or_default(),
            n.recipient.clone(),
            n.subject.clone().unwrap_or_default(),
            n.status.clone(),
            n.attempts.to_string(),
            n.last_error.clone().unwrap_or_default(),
            n.id.to_string(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct EventRow(Event);

impl Record for EventRow {
    fn columns() -> &'static [&'static str] {
        &["at", "what", "state", "detail"]
    }
    fn cells(&self) -> Vec<String> {
        let e = &self.0;
        vec![time(e.at), e.what.clone(), e.state.clone(), e.detail.clone()]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct PolicyRow(Policy);

impl Record for PolicyRow {
    fn columns() -> &'static [&'static str] {
        &[
            "lead_days",
            "remind_before",
            "remind_after",
            "grace_days",
            "terminate_days",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let p = &self.0;
        let list = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        vec![
            p.lead_days.to_string(),
            list(&p.remind_before),
            list(&p.remind_after),
            p.grace_days.to_string(),
            p.terminate_days.to_string(),
        ]
    }
}

async fn tenant_id(db: &Db, actor: &Actor, key: Option<&str>) -> Result<Option<Uuid>, ServiceError> {
    match key {
        Some(k) => Ok(Some(backend::tenants::get(db, actor, k).await?.id)),
        None => Ok(None),
    }
}

pub async fn billing_cmd(db: &Db, actor: &Actor, cmd: BillingCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        BillingCmd::RunRenewals { dry_run } => {
            let r = run::run(db, actor, backend::db::now(), dry_run).await?;
            if !out.format.is_json() {
                eprintln!(
                    "{}{} invoice(s), {} reminder(s), {} suspension(s), {} termination(s)",
                    if dry_run { "dry run — would do: " } else { "" },
                    r.count("invoice"),
                    r.count("reminder"),
                    r.count("suspend"),
                    r.count("terminate")
                );
            }
            out.list(&r.steps.into_iter().map(StepRow).collect::<Vec<_>>())
        }
        BillingCmd::Renewals(RenewalsCmd::List { days }) => {
            let o = read::overview(db, actor, days).await?;
            if !out.format.is_json() {
                eprintln!(
                    "{} past due (suspension pending), {} reminder(s) sent, {} failed e-mail(s), {} failed job(s)",
                    o.suspensions.len(),
                    o.reminders.len(),
                    o.failures.len(),
                    o.failed_jobs
                );
            }
            out.list(&o.upcoming.into_iter().map(UpcomingRow).collect::<Vec<_>>())
        }
        BillingCmd::Settings(SettingsCmd::Show { tenant }) => {
            let t = tenant_id(db, actor, tenant.as_deref()).await?;
            out.one(&PolicyRow(dunning::get_policy(db, actor, t).await?))
        }
        BillingCmd::Settings(SettingsCmd::Set {
            tenant,
            lead_days,
            remind_before,
            remind_after,
            grace_days,
            terminate_days,
        }) => {
            let t = tenant_id(db, actor, tenant.as_deref()).await?;
            let mut p = dunning::get_policy(db, actor, t).await?;
            p.lead_days = lead_days.unwrap_or(p.lead_days);
            p.remind_before = remind_before.unwrap_or(p.remind_before);
            p.remind_after = remind_after.unwrap_or(p.remind_after);
            p.grace_days = grace_days.unwrap_or(p.grace_days);
            p.terminate_days = terminate_days.unwrap_or(p.terminate_days);
            out.one(&PolicyRow(dunning::set_policy(db, actor, t, &p).await?))
        }
        BillingCmd::Smtp {
            host,
            port,
            security,
            from,
        } => {
            let s = SmtpSettings {
                host,
                port,
                security,
                from,
            };
            mail::set_smtp(db, actor, &s).await?;
            if !out.format.is_json() {
                eprintln!("mail goes out through {}:{} ({})", s.host, s.port, s.security);
            }
            Ok(())
        }
        BillingCmd::Timeline { invoice } => {
            let t = read::timeline(db, actor, &invoice).await?;
            out.list(&t.into_iter().map(EventRow).collect::<Vec<_>>())
        }
    }
}

pub async fn notifications_cmd(db: &Db, actor: &Actor, cmd: NotificationsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        NotificationsCmd::List { status, limit } => {
            let rows = read::notifications(db, actor, status.as_deref(), limit).await?;
            out.list(&rows.into_iter().map(NoticeRow).collect::<Vec<_>>())
        }
    }
}
