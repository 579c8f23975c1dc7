//! `painel payments refund|refunds|stripe-account` (folded into `payments`' own verbs),, `painel disputes list|show` and
//! `painel invoices pay-link` (docs/adr/0028). Refunds and checkout links are carried out by
//! jobs (`billing.refund`, `billing.checkout`); `--wait` watches the row the job answers in.

use std::time::Duration;

use anyhow::{Context, Result};
use backend::billing::stripe::checkout::{self, Mode, PayLink};
use backend::billing::stripe::disputes::{self, DisputeFilter, DisputeRow};
use backend::billing::stripe::refunds::{self, Quote, RefundRequest, RefundRow};
use backend::billing::stripe::{set_account, AccountInput, AccountView};
use backend::{money, Actor, Db, ServiceError};
use chrono::SecondsFormat;
use clap::Subcommand;

use crate::config::Config;
use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum CardCmd {
    /// Refund a card payment, whole or in part (sensitive: --totp, and a --reason). A job
    /// sends it to Stripe.
    Refund {
        /// Payment id, prefix or its last 8 hex digits.
        payment: String,
        /// How much, like 10.00 (default: all that is left).
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        reason: String,
        /// A fresh 2FA code.
        #[arg(long)]
        totp: Option<String>,
        /// Wait for Stripe's answer (up to 60 s).
        #[arg(long)]
        wait: bool,
    },
    /// A payment's refunds, newest first, and what is left to refund.
    Refunds { payment: String },
    /// Set the Stripe account painel charges cards with (the platform's, or --tenant's).
    /// The secret key (sk_… or rk_…) is read from standard input — never the command line,
    /// never a file path (over SSH that would read the service account's files) — and sealed.
    StripeAccount {
        #[arg(long)]
        tenant: Option<String>,
        /// Where the buyer lands after paying; may hold {CHECKOUT_SESSION_ID}.
        #[arg(long)]
        success_url: String,
        #[arg(long)]
        cancel_url: Option<String>,
        /// The API (default https://api.stripe.com; http:// only to loopback: the sandbox).
        #[arg(long)]
        api_base: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DisputesCmd {
    /// Disputes by evidence deadline: open ones first, the nearest deadline on top.
    List {
        /// Only disputes still open.
        #[arg(long)]
        open: bool,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One dispute (id, prefix or its last 8 hex digits).
    Show { key: String },
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(time).unwrap_or_default()
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct Dispute(DisputeRow);

impl Record for Dispute {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "status",
            "days_left",
            "evidence_due",
            "amount",
            "reason",
            "invoice",
            "customer",
            "tenant",
            "external_id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let d = &self.0;
        vec![
            d.id.to_string(),
            d.status.clone(),
            d.days_left(backend::db::now())
                .map(|n| n.to_string())
                .unwrap_or_default(),
            opt_time(d.evidence_due_at),
            money::format(d.amount_minor, &d.currency),
            d.reason.clone().unwrap_or_default(),
            d.invoice_number.clone(),
            d.customer_name.clone().unwrap_or_default(),
            d.tenant_slug.clone(),
            d.external_id.clone(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct Refund(RefundRow);

impl Record for Refund {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "status",
            "amount",
            "reason",
            "requested_by",
            "external_id",
            "error",
            "created",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        vec![
            r.id.to_string(),
            r.status.clone(),
            money::format(r.amount_minor, &r.currency),
            r.reason.clone(),
            r.requested_by.clone(),
            r.external_id.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
            time(r.created_at),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct QuoteRow(Quote);

impl Record for QuoteRow {
    fn columns() -> &'static [&'static str] {
        &[
            "payment",
            "invoice",
            "status",
            "amount",
            "refunded",
            "pending",
            "refundable",
            "provider",
            "external_id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let q = &self.0;
        let m = |v| money::format(v, &q.currency);
        vec![
            q.payment_id.to_string(),
            q.invoice_number.clone(),
            q.status.clone(),
            m(q.amount_minor),
            m(q.refunded_minor),
            m(q.pending_minor),
            m(q.refundable_minor),
            q.provider.clone(),
            q.external_id.clone().unwrap_or_default(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Link(pub(crate) PayLink);

impl Record for Link {
    fn columns() -> &'static [&'static str] {
        &[
            "invoice", "status", "mode", "url", "amount", "expires", "session", "error", "id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let l = &self.0;
        vec![
            l.invoice_number.clone(),
            l.status.clone(),
            l.mode.clone(),
            l.url.clone().unwrap_or_default(),
            money::format(l.amount_minor, &l.currency),
            opt_time(l.expires_at),
            l.external_id.clone().unwrap_or_default(),
            l.error.clone().unwrap_or_default(),
            l.id.to_string(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct Account(AccountView);

impl Record for Account {
    fn columns() -> &'static [&'static str] {
        &["id", "tenant", "api_base", "success_url", "key"]
    }
    fn cells(&self) -> Vec<String> {
        let a = &self.0;
        vec![
            a.id.to_string(),
            a.tenant_id.map(|t| t.to_string()).unwrap_or_else(|| "platform".into()),
            a.api_base.clone(),
            a.success_url.clone(),
            if a.key_set { "set" } else { "not set" }.into(),
        ]
    }
}

/// Polls `check` every 250 ms for up to 60 s, until it says the job has answered.
async fn wait_for<T, F, Fut>(mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ServiceError>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("no answer from the job within 60 s: is a worker running? (painel jobs list --kind …)");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn tenant_id(db: &Db, actor: &Actor, key: Option<&str>) -> Result<Option<uuid::Uuid>, ServiceError> {
    match key {
        Some(k) => Ok(Some(backend::tenants::get(db, actor, k).await?.id)),
        None => Ok(None),
    }
}

pub async fn card_cmd(cfg: &Config, db: &Db, actor: &Actor, cmd: CardCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        CardCmd::Refund {
            payment,
            amount,
            reason,
            totp,
            wait,
        } => {
            let amount_minor = match amount {
                Some(a) => {
                    let q = refunds::quote(db, actor, &payment).await?;
                    Some(money::parse(&a, &q.currency).map_err(|m| ServiceError::invalid("amount", m))?)
                }
                None => None,
            };
            let keys = super::auth::step_up_keys(cfg, db, totp.as_deref()).await?;
            let req = RefundRequest {
                payment: &payment,
                amount_minor,
                reason: &reason,
                code: totp.as_deref(),
            };
            let r = refunds::request(db, actor, keys.as_ref(), req).await?;
            let row = if wait {
                let id = r.refund.id;
                wait_for(|| async move {
                    let r = refunds::get(db, actor, id).await?;
                    Ok((r.status != "requested").then_some(r))
                })
                .await?
            } else {
                eprintln!("refund requested: job {} sends it to Stripe", r.job_id);
                r.refund
            };
            out.one(&Refund(row))
        }
        CardCmd::Refunds { payment } => {
            let q = refunds::quote(db, actor, &payment).await?;
            out.one(&QuoteRow(q))?;
            let rows = refunds::list(db, actor, &payment).await?;
            out.list(&rows.into_iter().map(Refund).collect::<Vec<_>>())?;
            out.finish()
        }
        CardCmd::StripeAccount {
            tenant,
            success_url,
            cancel_url,
            api_base,
        } => {
            let mut key = String::new();
            std::io::stdin()
                .read_line(&mut key)
                .context("cannot read the secret key from standard input")?;
            let keys = super::auth::load_keys(cfg, db).await?;
            let input = AccountInput {
                tenant: tenant_id(db, actor, tenant.as_deref()).await?,
                api_base,
                secret_key: key.trim().to_owned(),
                success_url,
                cancel_url,
            };
            out.one(&Account(set_account(db, actor, &keys, input).await?))
        }
    }
}

pub async fn disputes_cmd(db: &Db, actor: &Actor, cmd: DisputesCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        DisputesCmd::List { open, tenant, limit } => {
            let f = DisputeFilter {
                open,
                tenant: tenant_id(db, actor, tenant.as_deref()).await?,
                limit,
            };
            let rows = disputes::list(db, actor, f).await?;
            out.list(&rows.into_iter().map(Dispute).collect::<Vec<_>>())?;
            out.finish()
        }
        DisputesCmd::Show { key } => out.one(&Dispute(disputes::show(db, actor, &key).await?)),
    }
}

/// `painel invoices pay-link ID`: the invoice's card payment link; `--create` asks for one
/// (a job creates it at Stripe), `--wait` waits for its URL.
pub async fn pay_link(
    db: &Db,
    actor: &Actor,
    key: &str,
    create: Option<String>,
    wait: bool,
    out: &mut Printer,
) -> Result<()> {
    let mut link = match create {
        Some(mode) => {
            let mode = Mode::parse(&mode).ok_or_else(|| ServiceError::invalid("mode", "payment or subscription"))?;
            let r = checkout::request(db, actor, key, mode).await?;
            if let Some(j) = r.job_id {
                eprintln!("checkout link requested: job {j} creates it at Stripe");
            }
            r.link
        }
        None => checkout::pay_link(db, actor, key)
            .await?
            .ok_or_else(|| ServiceError::not_found("payment link of invoice", key))?,
    };
    if wait && link.status == "requested" {
        let id = link.id;
        link = wait_for(|| async move {
            let l = checkout::get(db, actor, id).await?;
            Ok((l.status != "requested").then_some(l))
        })
        .await?;
    }
    out.one(&Link(link))
}
