//! `painel services …` and `painel plans …`: orders and plans through the service layer. A
//! verb never calls WHM: it commits the change with its job and prints both (docs/adr/0021).

use anyhow::Result;
use backend::hosting::plans::{self, Addon, Drift, Plan, PlanInput};
use backend::hosting::services::{self, NewService, Service, ServiceQuery};
use backend::page::SortDir;
use backend::sensitive::Proof;
use backend::{Actor, Db};
use clap::Subcommand;

use super::{auth, next_page, start_at};
use crate::config::Config;
use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum ServicesCmd {
    /// List hosting services (newest first).
    List {
        #[arg(long)]
        status: Option<String>,
        /// Customer id or short id.
        #[arg(long)]
        customer: Option<String>,
        /// Text in the domain, username, customer name or status.
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        after: Option<String>,
        #[arg(long, conflicts_with = "after")]
        all: bool,
    },
    /// Show one service, with its lifecycle jobs.
    Show {
        id: String,
    },
    /// Order a hosting service: placed on a server now, created on WHM by a job.
    Create {
        /// Customer id or short id.
        #[arg(long)]
        customer: String,
        /// Plan id or code.
        #[arg(long)]
        plan: String,
        #[arg(long)]
        domain: String,
        /// Region to place in (default: the plan's).
        #[arg(long, default_value = "")]
        region: String,
        /// Bill first: issue the order invoice and provision when it is paid.
        #[arg(long)]
        bill_first: bool,
        /// Days the order invoice gives to pay (with --bill-first).
        #[arg(long, default_value_t = 3)]
        due_in_days: i64,
        /// A coupon code: the order is billed at once with its discount.
        #[arg(long)]
        coupon: Option<String>,
    },
    /// Suspend the account (a job runs `suspendacct`).
    Suspend {
        id: String,
        #[arg(long)]
        reason: String,
    },
    Unsuspend {
        id: String,
    },
    /// Upgrade or downgrade (`changepackage`).
    ChangePlan {
        id: String,
        /// The new plan's id or code.
        #[arg(long)]
        plan: String,
    },
    /// Remove the account for good (sensitive: type the domain with --confirm).
    Terminate {
        id: String,
        #[arg(long)]
        confirm: String,
        /// A current 2FA code (needed unless one was given in the last 5 minutes).
        #[arg(long)]
        totp: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[arg(long)]
    pub name: String,
    /// Price like 29.90.
    #[arg(long)]
    pub price: String,
    #[arg(long, default_value = "")]
    pub currency: String,
    #[arg(long, default_value = "")]
    pub cycle: String,
    /// WHM package name.
    #[arg(long)]
    pub package: String,
    #[arg(long, default_value = "")]
    pub region: String,
    #[arg(long)]
    pub disk_gb: Option<u64>,
    #[arg(long)]
    pub bandwidth_gb: Option<u64>,
    #[arg(long)]
    pub mailboxes: Option<u64>,
    #[arg(long)]
    pub databases: Option<u64>,
    #[arg(long)]
    pub sites: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum PlansCmd {
    /// Hosting plans.
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    Show {
        plan: String,
    },
    /// Create a hosting plan; a job pushes its package to the servers.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        code: String,
        #[command(flatten)]
        plan: PlanArgs,
    },
    /// Edit a plan (every field given again); a job pushes the package again.
    Update {
        plan: String,
        #[command(flatten)]
        args: PlanArgs,
    },
    /// Compare every server's packages with the plans (a job).
    Sync,
    /// What the last push or sync saw, per plan and server.
    Drift {
        /// Only packages missing or different.
        #[arg(long)]
        only: bool,
    },
    /// The add-ons catalogue.
    Addons,
    /// Add an add-on (SSL, backup, e-mail, dedicated IP, security, other) to a tenant's catalogue.
    AddonCreate {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        code: String,
        #[command(flatten)]
        args: AddonArgs,
    },
    /// Edit an add-on (by id, or by code within --tenant): the fields given change.
    AddonUpdate {
        addon: String,
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        args: AddonArgs,
        /// active, hidden or retired.
        #[arg(long, default_value = "")]
        status: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct AddonArgs {
    #[arg(long, default_value = "")]
    pub name: String,
    /// ssl, backup, email, dedicated_ip, security or other.
    #[arg(long, default_value = "")]
    pub kind: String,
    /// Price like 9.90.
    #[arg(long, default_value = "")]
    pub price: String,
    /// Default: the tenant's currency.
    #[arg(long, default_value = "")]
    pub currency: String,
    #[arg(long, default_value = "")]
    pub cycle: String,
}

fn addon_input(tenant: String, code: String, a: AddonArgs, status: String) -> backend::hosting::addons::AddonInput {
    backend::hosting::addons::AddonInput {
        tenant,
        code,
        name: a.name,
        kind: a.kind,
        price: a.price,
        currency: a.currency,
        billing_cycle: a.cycle,
        status,
    }
}

fn input(tenant: String, code: String, a: PlanArgs) -> PlanInput {
    let mut r = serde_json::Map::new();
    for (k, v) in [
        ("disk_gb", a.disk_gb),
        ("bandwidth_gb", a.bandwidth_gb),
        ("mailboxes", a.mailboxes),
        ("databases", a.databases),
        ("sites", a.sites),
    ] {
        if let Some(v) = v {
            r.insert(k.into(), v.into());
        }
    }
    PlanInput {
        tenant,
        code,
        name: a.name,
        price: a.price,
        currency: a.currency,
        billing_cycle: a.cycle,
        package: a.package,
        region: a.region,
        resources: serde_json::Value::Object(r),
    }
}

pub async fn services_cmd(cfg: &Config, db: &Db, actor: &Actor, cmd: ServicesCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        ServicesCmd::List {
            status,
            customer,
            filter,
            limit,
            after,
            all,
        } => {
            let mut q = ServiceQuery {
                status,
                customer,
                filter,
                limit,
                dir: SortDir::Desc,
                at: start_at(after.as_deref())?,
            };
            if all {
                out.walk_all();
            }
            loop {
                let page = services::list(db, actor, &q).await?;
                out.list(&page.items)?;
                match next_page(all, &page) {
                    Some(at) => q.at = at,
                    None => break,
                }
            }
            out.finish()
        }
        ServicesCmd::Show { id } => {
            let s = services::get(db, actor, &id).await?;
            out.one(&s)?;
            if !out.format.is_json() {
                out.list(&services::jobs_of(db, actor, &s.id.to_string()).await?)?;
            }
            Ok(())
        }
        ServicesCmd::Create {
            customer,
            plan,
            domain,
            region,
            bill_first,
            due_in_days,
            coupon,
        } => {
            let input = NewService {
                customer,
                plan,
                domain,
                region,
                coupon,
            };
            if bill_first {
                let o = services::create_billed(db, actor, input, due_in_days).await?;
                out.one(&o.service)?;
                if !out.format.is_json() {
                    eprintln!(
                        "invoice {} ({}) starts the service when paid",
                        o.invoice.number, o.invoice.id
                    );
                }
                return Ok(());
            }
            let o = services::create(db, actor, input).await?;
            out.one(&o.service)?;
            if !out.format.is_json() {
                if let Some(i) = &o.invoice {
                    eprintln!(
                        "invoice {} issued: {}",
                        i.number,
                        backend::money::format(i.total_minor, &i.currency)
                    );
                }
                eprintln!("job {} ({}) will create the account", o.job.id, o.job.kind);
            }
            Ok(())
        }
        ServicesCmd::Suspend { id, reason } => out.one(&services::suspend(db, actor, &id, &reason).await?),
        ServicesCmd::Unsuspend { id } => out.one(&services::unsuspend(db, actor, &id).await?),
        ServicesCmd::ChangePlan { id, plan } => {
            let c = services::change_plan(db, actor, &id, &plan).await?;
            if !out.format.is_json() {
                let p = &c.proration;
                let m = |v: i64| backend::money::format(v, &p.currency);
                match (&p.invoice, p.amount_minor) {
                    (Some(i), a) => eprintln!("charged {} on invoice {}", m(a), i.number),
                    (None, a) if a < 0 => eprintln!("credited {} to the customer's balance", m(-a)),
                    _ => eprintln!("nothing to prorate"),
                }
            }
            out.one(&c.job)
        }
        ServicesCmd::Terminate { id, confirm, totp } => {
            let keys = auth::step_up_keys(cfg, db, totp.as_deref()).await?;
            let proof = Proof::confirm(&confirm).with_step_up(totp.as_deref(), keys.as_ref());
            out.one(&services::terminate(db, actor, &id, &proof).await?)
        }
    }
}

pub async fn plans_cmd(db: &Db, actor: &Actor, cmd: PlansCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        PlansCmd::List { tenant } => out.list(&plans::list(db, actor, tenant.as_deref()).await?),
        PlansCmd::Show { plan } => out.one(&plans::get(db, actor, &plan).await?),
        PlansCmd::Create { tenant, code, plan } => {
            let (p, _) = plans::create(db, actor, input(tenant, code, plan)).await?;
            out.one(&p)
        }
        PlansCmd::Update { plan, args } => {
            let (p, _) = plans::update(db, actor, &plan, input(String::new(), String::new(), args)).await?;
            out.one(&p)
        }
        PlansCmd::Sync => out.one(&plans::sync(db, actor).await?),
        PlansCmd::Drift { only } => out.list(&plans::drift(db, actor, only).await?),
        PlansCmd::Addons => out.list(&plans::addons(db, actor).await?),
        PlansCmd::AddonCreate { tenant, code, args } => {
            out.one(&backend::hosting::addons::create(db, actor, addon_input(tenant, code, args, String::new())).await?)
        }
        PlansCmd::AddonUpdate {
            addon,
            tenant,
            args,
            status,
        } => out.one(
            &backend::hosting::addons::update(db, actor, &addon, addon_input(tenant, String::new(), args, status))
                .await?,
        ),
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

impl Record for Service {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "tenant",
            "customer",
            "plan",
            "domain",
            "server",
            "username",
            "status",
            "last_error",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.tenant_slug.clone(),
            self.customer_name.clone(),
            self.plan_code.clone(),
            opt(&self.domain),
            opt(&self.server_name),
            opt(&self.username),
            self.status.clone(),
            opt(&self.last_error),
        ]
    }
}

impl Record for Plan {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "tenant",
            "code",
            "name",
            "status",
            "price",
            "cycle",
            "package",
            "region",
            "resources",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.tenant_slug.clone(),
            self.code.clone(),
            self.name.clone(),
            self.status.clone(),
            backend::money::format(self.price_minor, &self.currency),
            self.billing_cycle.clone(),
            opt(&self.external_package),
            self.region.clone(),
            self.resources.to_string(),
        ]
    }
}

impl Record for Drift {
    fn columns() -> &'static [&'static str] {
        &["plan", "server", "package", "state", "detail", "checked_at"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.plan_code.clone(),
            self.server_name.clone(),
            self.package.clone(),
            self.state.clone(),
            self.detail.clone(),
            self.checked_at.to_rfc3339(),
        ]
    }
}

impl Record for Addon {
    fn columns() -> &'static [&'static str] {
        &["id", "tenant", "code", "name", "kind", "status", "price", "cycle"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.tenant_slug.clone(),
            self.code.clone(),
            self.name.clone(),
            self.kind.clone(),
            self.status.clone(),
            backend::money::format(self.price_minor, &self.currency),
            self.billing_cycle.clone(),
        ]
    }
}
