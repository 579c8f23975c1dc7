//! `painel payments list|show|record` (docs/adr/0025). `record` is the manual payment entry:
//! a sensitive action (`--confirm` the invoice number, `--totp` a fresh code) that goes
//! through `billing::settle` like every provider's event.

use anyhow::Result;
use backend::billing::invoices;
use backend::billing::payments::{self, ManualPayment, Payment, PaymentQuery, Recorded};
use backend::sensitive::Proof;
use backend::{money, Actor, Db};
use chrono::SecondsFormat;
use clap::Subcommand;

use crate::commands::{auth, next_page, start_at};
use crate::config::Config;
use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum PaymentsCmd {
    /// List payments, newest first.
    List {
        /// stripe, pix, mercadopago, pagseguro, credit or manual.
        #[arg(long)]
        provider: Option<String>,
        /// pending, processing, succeeded, failed, cancelled, expired or refunded.
        #[arg(long)]
        status: Option<String>,
        /// Tenant id or slug.
        #[arg(long)]
        tenant: Option<String>,
        /// Words matched against the invoice number, customer, tenant and provider id;
        /// `24h` keeps what succeeded in the last 24 hours (the dashboard's card), `today` since
        /// 00:00 UTC (as the screen's `/` line).
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this cursor (printed on stderr after a page).
        #[arg(long)]
        after: Option<String>,
        /// Walk every page.
        #[arg(long)]
        all: bool,
    },
    /// One payment (id or short id).
    Show { key: String },
    /// Record money that arrived outside any provider (sensitive, audited with its reason).
    Record {
        /// Invoice id, short id or number.
        invoice: String,
        /// In the invoice's currency unless --currency: `49.90`.
        #[arg(long)]
        amount: String,
        /// ISO 4217; default the invoice's. Another currency is recorded but never pays it.
        #[arg(long)]
        currency: Option<String>,
        /// How it was paid: `bank transfer`, `cash`, … (default `manual`).
        #[arg(long)]
        method: Option<String>,
        /// Why it is entered by hand.
        #[arg(long)]
        reason: String,
        /// The invoice number, typed again.
        #[arg(long)]
        confirm: String,
        /// A current 2FA code (needed unless one was given in the last 5 minutes).
        #[arg(long)]
        totp: Option<String>,
    },
    /// Card payments: refund, refunds, stripe-account (docs/adr/0028).
    #[command(flatten)]
    Card(crate::commands::refunds::CardCmd),
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct PaymentRow(Payment);

impl Record for PaymentRow {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "tenant",
            "invoice",
            "customer",
            "provider",
            "method",
            "status",
            "amount",
            "refunded",
            "paid_at",
            "external_id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let p = &self.0;
        vec![
            backend::ids::short(p.id),
            p.tenant_slug.clone(),
            p.invoice_number.clone(),
            p.customer_name.clone().unwrap_or_default(),
            p.provider.clone(),
            p.method.clone().unwrap_or_default(),
            p.status.clone(),
            money::format(p.amount_minor, &p.currency),
            money::format(p.refunded_minor, &p.currency),
            p.paid_at.map(time).unwrap_or_default(),
            p.external_id.clone().unwrap_or_default(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct RecordedRow(Recorded);

impl Record for RecordedRow {
    fn columns() -> &'static [&'static str] {
        &["payment_id", "invoice", "invoice_status", "outcome"]
    }
    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        vec![
            r.payment_id.to_string(),
            r.invoice.number.clone(),
            r.invoice.status.clone(),
            r.coverage.describe(),
        ]
    }
}

pub async fn run(cfg: &Config, db: &Db, actor: &Actor, cmd: PaymentsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        PaymentsCmd::Card(c) => crate::commands::refunds::card_cmd(cfg, db, actor, c, out).await,
        PaymentsCmd::List {
            provider,
            status,
            tenant,
            search,
            limit,
            after,
            all,
        } => {
            let mut q = PaymentQuery {
                tenant: match tenant {
                    Some(k) => Some(backend::tenants::get(db, actor, &k).await?.id),
                    None => None,
                },
                limit,
                at: start_at(after.as_deref())?,
                ..PaymentQuery::default()
            };
            if let Some(s) = search.as_deref() {
                q.parse_filter(s)
                    .map_err(|e| backend::ServiceError::invalid("search", e))?;
            }
            // Explicit flags win over words of the search.
            q.provider = provider.or(q.provider);
            q.status = status.or(q.status);
            if all {
                out.walk_all();
            }
            loop {
                let page = payments::list(db, actor, &q).await?;
                out.list(&page.items.iter().cloned().map(PaymentRow).collect::<Vec<_>>())?;
                match next_page(all, &page) {
                    Some(at) => q.at = at,
                    None => break,
                }
            }
            out.finish()
        }
        PaymentsCmd::Show { key } => out.one(&PaymentRow(payments::show(db, actor, &key).await?)),
        PaymentsCmd::Record {
            invoice,
            amount,
            currency,
            method,
            reason,
            confirm,
            totp,
        } => {
            let inv = invoices::show(db, actor, &invoice).await?.0;
            let cur = currency
                .clone()
                .unwrap_or_else(|| inv.currency.clone())
                .to_ascii_uppercase();
            let amount_minor = money::parse(&amount, &cur).map_err(|e| backend::ServiceError::invalid("amount", e))?;
            let keys = auth::step_up_keys(cfg, db, totp.as_deref()).await?;
            let proof = Proof::confirm(&confirm).with_step_up(totp.as_deref(), keys.as_ref());
            let input = ManualPayment {
                invoice: inv.id.to_string(),
                amount_minor,
                currency,
                method,
                reason,
            };
            let done = payments::record_manual(db, actor, &input, &proof).await?;
            eprintln!("invoice {}: {}", done.invoice.number, done.coverage.describe());
            out.one(&RecordedRow(done))
        }
    }
}
