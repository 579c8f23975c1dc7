//! `painel credits balance|ledger|transfer|limit|alert` and `painel invoices
//! list|show|create|issue` (docs/adr/0024). Amounts are integer minor units (cents).

use anyhow::Result;
use backend::billing::credits::{self, Balance, LedgerEntry, Movement, Transfer};
use backend::billing::invoices::{self, Invoice, InvoiceQuery, Item, NewInvoice, NewItem};
use backend::{money, Actor, Db, ServiceError};
use chrono::SecondsFormat;
use clap::Subcommand;
use uuid::Uuid;

use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum CreditsCmd {
    /// Reseller balances (a reseller sees its own subtree).
    Balance {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// One reseller's ledger entries, newest first.
    Ledger {
        /// Reseller username or user id.
        reseller: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Every entry (up to 1000).
        #[arg(long)]
        all: bool,
    },
    /// Move credits along one branch of the reseller tree.
    Transfer {
        /// Receiving reseller (username or user id).
        to: String,
        /// Minor units (cents).
        amount: i64,
        /// Sending reseller; default: you.
        #[arg(long)]
        from: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Set how far below zero a reseller may go (minor units; 0 = never negative).
    Limit { reseller: String, limit: i64 },
    /// Set the low-balance alert threshold (minor units), or turn it off with --off.
    Alert {
        reseller: String,
        threshold: Option<i64>,
        #[arg(long, conflicts_with = "threshold")]
        off: bool,
    },
}

// Parsed once per run: the size of the create variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum InvoicesCmd {
    /// List invoices, newest first.
    List {
        /// draft, pending, overdue (pending past due), paid, cancelled or refunded.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        /// Customer id (or short id).
        #[arg(long)]
        customer: Option<String>,
        /// Words matched against the number, customer and tenant; a status word filters by
        /// status (`overdue acme`), as the screen's `/` line does.
        #[arg(long)]
        search: Option<String>,
        /// Oldest first.
        #[arg(long)]
        oldest: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this cursor (printed on stderr after a page).
        #[arg(long)]
        after: Option<String>,
        /// Walk every page.
        #[arg(long)]
        all: bool,
    },
    /// One invoice (id, short id or number) with its items.
    Show { key: String },
    /// Create an invoice with its next number: a draft, or pending with --issue.
    Create {
        #[arg(long)]
        tenant: Option<String>,
        /// Customer id (or short id).
        #[arg(long, conflicts_with = "user")]
        customer: Option<String>,
        /// Reseller user id buying credits.
        #[arg(long)]
        user: Option<Uuid>,
        /// order, renewal, addon, credits or manual.
        #[arg(long)]
        reason: Option<String>,
        /// Bill a service at its price (repeatable).
        #[arg(long = "service")]
        services: Vec<Uuid>,
        /// Bill a plan (code or id) at its price (repeatable).
        #[arg(long = "plan")]
        plans: Vec<String>,
        /// Bill an add-on (code or id) at its price (repeatable).
        #[arg(long = "addon")]
        addons: Vec<String>,
        /// The billing cycle plans and add-ons are priced on (default: their own).
        #[arg(long)]
        cycle: Option<String>,
        /// A coupon code (customers' invoices), redeemed with the invoice.
        #[arg(long)]
        coupon: Option<String>,
        /// A free line: "description=amount_in_minor_units" (repeatable).
        #[arg(long = "line")]
        lines: Vec<String>,
        #[arg(long)]
        due_in_days: Option<i64>,
        #[arg(long)]
        issue: bool,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Issue a draft (draft → pending).
    Issue { key: String },
    /// The invoice's PIX charge: the QR code and the copy-and-paste code (a new charge when
    /// it has none payable; a provider's charge is made by a job, watched up to --wait secs).
    Pix {
        key: String,
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// A tenant's PIX setting: shown, or set with --provider (static needs --key).
    PixSettings {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
        /// static, mercadopago or pagseguro.
        #[arg(long)]
        provider: Option<String>,
        /// The tenant's own PIX key: CPF, CNPJ, e-mail, +55 phone or random key.
        #[arg(long)]
        key: Option<String>,
        /// Merchant name in the BR Code (25 characters used).
        #[arg(long)]
        name: Option<String>,
        /// Merchant city in the BR Code (15 characters used).
        #[arg(long)]
        city: Option<String>,
    },
    /// The invoice's card payment link (Stripe Checkout); --create payment|subscription asks
    /// for one.
    PayLink {
        key: String,
        #[arg(long, value_name = "MODE")]
        create: Option<String>,
        /// Wait until Stripe has answered (up to 60 s).
        #[arg(long)]
        wait: bool,
    },
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct BalanceRow(Balance);

impl Record for BalanceRow {
    fn columns() -> &'static [&'static str] {
        &[
            "tenant",
            "reseller",
            "role",
            "balance",
            "limit",
            "alert_below",
            "currency",
            "user_id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let b = &self.0;
        vec![
            b.tenant_slug.clone(),
            b.username.clone(),
            b.role.clone(),
            money::format(b.balance, &b.currency),
            money::format(b.credit_limit, &b.currency),
            b.alert_threshold
                .map(|t| money::format(t, &b.currency))
                .unwrap_or_default(),
            b.currency.clone(),
            b.user_id.to_string(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct EntryRow(LedgerEntry);

impl Record for EntryRow {
    fn columns() -> &'static [&'static str] {
        &[
            "at",
            "kind",
            "amount",
            "balance_after",
            "description",
            "actor",
            "movement_id",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let e = &self.0;
        vec![
            time(e.created_at),
            e.kind.clone(),
            money::format(e.amount, &e.currency),
            money::format(e.balance_after, &e.currency),
            e.description.clone(),
            e.actor_name.clone(),
            e.movement_id.to_string(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct MovementRow(Movement);

impl Record for MovementRow {
    fn columns() -> &'static [&'static str] {
        &["movement_id", "kind", "account", "user_id", "amount", "balance_after"]
    }
    fn cells(&self) -> Vec<String> {
        // One table line per entry would need a list; the table shows the first leg, JSON all.
        let m = &self.0;
        let first = m.entries.first();
        vec![
            m.id.to_string(),
            m.kind.to_owned(),
            first.map(|e| e.account.clone()).unwrap_or_default(),
            first.and_then(|e| e.user_id).map(|u| u.to_string()).unwrap_or_default(),
            first.map(|e| money::format(e.amount, &m.currency)).unwrap_or_default(),
            first
                .map(|e| money::format(e.balance_after, &m.currency))
                .unwrap_or_default(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct InvoiceRow(Invoice);

impl Record for InvoiceRow {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "tenant",
            "number",
            "status",
            "reason",
            "customer",
            "total",
            "due_at",
            "paid_at",
            "created_at",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let i = &self.0;
        vec![
            backend::ids::short(i.id),
            i.tenant_slug.clone(),
            i.number.clone(),
            i.status.clone(),
            i.reason.clone(),
            i.customer_name.clone().unwrap_or_default(),
            money::format(i.total_minor, &i.currency),
            time(i.due_at),
            i.paid_at.map(time).unwrap_or_default(),
            time(i.created_at),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct ItemRow(Item);

impl Record for ItemRow {
    fn columns() -> &'static [&'static str] {
        &["description", "quantity", "unit_price", "amount", "service_id"]
    }
    fn cells(&self) -> Vec<String> {
        let i = &self.0;
        vec![
            i.description.clone(),
            i.quantity.to_string(),
            money::format(i.unit_price_minor, &i.currency),
            money::format(i.amount_minor, &i.currency),
            i.service_id.map(|s| s.to_string()).unwrap_or_default(),
        ]
    }
}

async fn tenant_id(db: &Db, actor: &Actor, key: Option<&str>) -> Result<Option<Uuid>, ServiceError> {
    match key {
        Some(k) => Ok(Some(backend::tenants::get(db, actor, k).await?.id)),
        None => Ok(None),
    }
}

pub async fn credits_cmd(db: &Db, actor: &Actor, cmd: CreditsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        CreditsCmd::Balance { tenant } => {
            let t = tenant_id(db, actor, tenant.as_deref()).await?;
            let rows = credits::balances(db, actor, t).await?;
            out.list(&rows.into_iter().map(BalanceRow).collect::<Vec<_>>())?;
            out.finish()
        }
        CreditsCmd::Ledger { reseller, limit, all } => {
            let rows = credits::ledger(db, actor, &reseller, if all { 1000 } else { limit }).await?;
            out.list(&rows.into_iter().map(EntryRow).collect::<Vec<_>>())?;
            out.finish()
        }
        CreditsCmd::Transfer { to, amount, from, note } => {
            let m = credits::transfer(
                db,
                actor,
                Transfer {
                    from,
                    to,
                    amount,
                    description: note,
                },
            )
            .await?;
            out.one(&MovementRow(m))
        }
        CreditsCmd::Limit { reseller, limit } => {
            credits::set_limit(db, actor, &reseller, limit).await?;
            eprintln!("credit limit of {reseller} set to {limit}");
            Ok(())
        }
        CreditsCmd::Alert {
            reseller,
            threshold,
            off,
        } => {
            if threshold.is_none() && !off {
                return Err(ServiceError::invalid("threshold", "give a threshold in minor units, or --off").into());
            }
            credits::set_alert(db, actor, &reseller, threshold).await?;
            eprintln!(
                "low-balance alert of {reseller}: {}",
                threshold.map_or("off".into(), |t| t.to_string())
            );
            Ok(())
        }
    }
}

async fn customer_id(db: &Db, actor: &Actor, key: &str) -> Result<Uuid, ServiceError> {
    let id = backend::ids::expand(db, actor, &backend::ids::CUSTOMERS, key).await?;
    Uuid::parse_str(id.trim()).map_err(|_| ServiceError::invalid("customer", "must be a customer id"))
}

fn free_line(raw: &str) -> Result<NewItem, ServiceError> {
    let (d, a) = raw
        .rsplit_once('=')
        .ok_or_else(|| ServiceError::invalid("line", "must be description=amount_in_minor_units"))?;
    let price: i64 = a
        .trim()
        .parse()
        .map_err(|_| ServiceError::invalid("line", "the amount must be an integer number of minor units"))?;
    Ok(NewItem {
        description: Some(d.to_owned()),
        unit_price_minor: Some(price),
        ..NewItem::default()
    })
}

pub async fn invoices_cmd(db: &Db, actor: &Actor, cmd: InvoicesCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        InvoicesCmd::List {
            status,
            tenant,
            customer,
            search,
            oldest,
            limit,
            after,
            all,
        } => {
            let mut q = InvoiceQuery {
                tenant: tenant_id(db, actor, tenant.as_deref()).await?,
                customer: match customer {
                    Some(c) => Some(customer_id(db, actor, &c).await?),
                    None => None,
                },
                oldest_first: oldest,
                limit,
                at: crate::commands::start_at(after.as_deref())?,
                ..InvoiceQuery::default()
            };
            let line = [status.unwrap_or_default(), search.unwrap_or_default()].join(" ");
            q.parse_filter(&line).map_err(|e| ServiceError::invalid("status", e))?;
            if all {
                out.walk_all();
            }
            loop {
                let page = invoices::page(db, actor, &q).await?;
                out.list(&page.items.iter().cloned().map(InvoiceRow).collect::<Vec<_>>())?;
                match crate::commands::next_page(all, &page) {
                    Some(at) => q.at = at,
                    None => break,
                }
            }
            out.finish()
        }
        InvoicesCmd::Show { key } => {
            let (inv, items) = invoices::show(db, actor, &key).await?;
            out.one(&InvoiceRow(inv))?;
            out.list(&items.into_iter().map(ItemRow).collect::<Vec<_>>())?;
            out.finish()
        }
        InvoicesCmd::Create {
            tenant,
            customer,
            user,
            reason,
            services,
            plans,
            lines,
            due_in_days,
            issue,
            notes,
            addons,
            cycle,
            coupon,
        } => {
            let customer = match customer {
                Some(c) => Some(customer_id(db, actor, &c).await?),
                None => None,
            };
            let mut items: Vec<NewItem> = services
                .into_iter()
                .map(|s| NewItem {
                    service: Some(s),
                    ..NewItem::default()
                })
                .collect();
            items.extend(plans.into_iter().map(|p| NewItem {
                plan: Some(p),
                cycle: cycle.clone(),
                ..NewItem::default()
            }));
            items.extend(addons.into_iter().map(|a| NewItem {
                addon: Some(a),
                cycle: cycle.clone(),
                ..NewItem::default()
            }));
            for l in &lines {
                items.push(free_line(l)?);
            }
            let input = NewInvoice {
                tenant: tenant_id(db, actor, tenant.as_deref()).await?,
                customer,
                user,
                reason,
                due_in_days,
                issue,
                notes,
                items,
                coupon,
            };
            out.one(&InvoiceRow(invoices::create(db, actor, input).await?))
        }
        InvoicesCmd::Issue { key } => out.one(&InvoiceRow(invoices::issue(db, actor, &key).await?)),
        InvoicesCmd::Pix { key, wait } => super::pix::pix(db, actor, &key, wait, out).await,
        InvoicesCmd::PixSettings {
            tenant,
            provider,
            key,
            name,
            city,
        } => {
            let a = super::pix::SettingsArgs {
                tenant,
                provider,
                key,
                name,
                city,
            };
            super::pix::settings_cmd(db, actor, a, out).await
        }
        InvoicesCmd::PayLink { key, create, wait } => {
            super::refunds::pay_link(db, actor, &key, create, wait, out).await
        }
    }
}
