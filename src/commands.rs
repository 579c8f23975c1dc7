//! Batch verbs: parse arguments into service calls and print the results. No rules live
//! here; validation, permissions and audit are the service layer's.

use anyhow::Result;
use backend::customers::{self, CustomerEdit, CustomerQuery, NewCustomer};
use backend::page::{Cursor, PageAt, SortDir};
use backend::sensitive::Proof;
use backend::tenants::{self, Limits, NewTenant, TenantPatch, TenantQuery, TenantSort};
use backend::{validate, Actor, Db, ServiceError};

use crate::cli::{Command, CustomersCmd, OutputFormat, TenantListArgs, TenantUpdateArgs, TenantsCmd};
use crate::config::Config;
use crate::output::Printer;
use crate::records::TenantRow;

mod apikeys;
pub mod auth;
pub mod billing;
pub mod certs;
pub mod dns;
pub mod dunning;
pub mod hosting;
mod jobs;
pub mod keys;
pub mod migrations;
pub mod payments;
pub mod pix;
pub mod pricing;
pub mod refunds;
mod roles;
pub mod servers;
pub mod ssh_keys;
pub mod ssh_session;
mod twofa;
pub mod worker;

/// Connects and brings the schema up to date (migrations run on every start).
pub async fn open_db(cfg: &Config) -> Result<Db> {
    if let Some(path) = cfg.database_url.strip_prefix("sqlite://") {
        if let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path)).parent() {
            if !dir.as_os_str().is_empty() {
                crate::config::private_dir(dir)?;
            }
        }
    }
    let db = Db::connect(&cfg.database_url).await?;
    db.migrate().await?;
    // The permission catalogue a newer release brings (docs/adr/0011); a no-op read when complete.
    backend::rbac::ensure_catalogue(&db).await?;
    // Redis is optional and may be down: the bus never blocks and workers poll anyway.
    let bus = cfg.redis_url.as_deref().map(backend::bus::Bus::connect).transpose()?;
    // The audit chain is keyed with the registered master key when this process holds it.
    let audit = keys::audit_keys(cfg, &db).await;
    Ok(db.with_bus(bus).with_audit_keys(audit))
}

pub fn config_show(cfg: &Config, format: OutputFormat) -> Result<()> {
    Printer::new(format).list(&cfg.settings)
}

/// `readonly` (`painel --readonly`): the acting identity is read-only whatever its account says.
pub async fn dispatch(cfg: &Config, db: &Db, command: Command, format: OutputFormat, readonly: bool) -> Result<()> {
    let mut out = Printer::new(format);
    // Verbs that need no acting identity (or establish one) come first; every other verb acts
    // as the logged-in session's user, or as the local operator while no account exists.
    let command = match command {
        Command::Tui { route } => return crate::demo::tui(cfg, db, route, readonly).await,
        Command::Migrate => {
            // open_db has already applied them; say what the database is at.
            eprintln!("database is up to date ({})", db.backend().as_str());
            return Ok(());
        }
        Command::Worker(args) => return worker::run(cfg, db, args).await,
        Command::Serve(args) => return crate::serve::run(cfg, db, args).await,
        Command::Init(a) => return auth::init(cfg, db, a, &mut out).await,
        Command::Login(a) => return auth::login(cfg, db, a, &mut out).await,
        Command::Logout { all } => return auth::logout(cfg, db, all, &mut out).await,
        Command::Whoami => return auth::whoami(cfg, db, &mut out).await,
        Command::SshSession { key } => return ssh_session::run(cfg, db, key).await,
        Command::Config(_)
        | Command::Context(_)
        | Command::Demo { .. }
        | Command::Bench(_)
        | Command::Doctor(_)
        | Command::Sandbox(_) => return Ok(()),
        other => other,
    };
    let mut id = auth::resolve(cfg, db).await?;
    if readonly {
        id.make_read_only();
    }
    dispatch_as(cfg, db, &id, command, &mut out).await
}

/// Runs a batch verb as `id` (the stored session, the local operator, or an SSH key's
/// session from `painel ssh-session`).
pub async fn dispatch_as(
    cfg: &Config,
    db: &Db,
    id: &auth::Identity,
    command: Command,
    out: &mut Printer,
) -> Result<()> {
    let actor = id.actor();
    // Row-level security on PostgreSQL confines a tenant user's queries a second time.
    let db = &db.scoped(actor.tenant_id);
    match command {
        Command::Tenants(cmd) => tenants_cmd(cfg, db, actor, *cmd, out).await,
        Command::Customers(cmd) => customers_cmd(db, actor, cmd, out).await,
        Command::Services(cmd) => hosting::services_cmd(cfg, db, actor, cmd, out).await,
        Command::Plans(cmd) => hosting::plans_cmd(db, actor, cmd, out).await,
        Command::Servers(cmd) => servers::run(cfg, db, actor, cmd, out).await,
        Command::Migrations(cmd) => migrations::run(cfg, db, actor, cmd, out).await,
        Command::Dns(cmd) => dns::dispatch(cfg, db, actor, cmd, out).await,
        Command::Certs(cmd) => certs::run(db, actor, cmd, out).await,
        Command::Credits(cmd) => billing::credits_cmd(db, actor, cmd, out).await,
        Command::Invoices(cmd) => billing::invoices_cmd(db, actor, cmd, out).await,
        Command::Payments(cmd) => payments::run(cfg, db, actor, cmd, out).await,
        Command::Billing(cmd) => dunning::billing_cmd(db, actor, cmd, out).await,
        Command::Notifications(cmd) => dunning::notifications_cmd(db, actor, cmd, out).await,
        Command::Prices(cmd) => pricing::prices_cmd(db, actor, cmd, out).await,
        Command::Coupons(cmd) => pricing::coupons_cmd(db, actor, cmd, out).await,
        Command::Disputes(cmd) => refunds::disputes_cmd(db, actor, cmd, out).await,
        Command::Jobs(cmd) => jobs::run(db, actor, cmd, out).await,
        Command::Schedules(cmd) => jobs::schedules(db, actor, cmd, out).await,
        Command::Audit(cmd) => crate::audit_cmd::run(db, actor, cmd, out).await,
        Command::Apikeys(cmd) => apikeys::run(db, actor, cmd, out).await,
        Command::TwoFa(cmd) => twofa::two_fa(cfg, db, id, cmd, out).await,
        Command::Users(cmd) => auth::users(cfg, db, actor, cmd, out).await,
        Command::Keys(cmd) => keys::run(cfg, db, id, cmd, out).await,
        Command::Roles(cmd) => roles::run(cfg, db, actor, cmd, out).await,
        Command::SshKeys(cmd) => ssh_keys::run(cfg, db, actor, cmd, out).await,
        Command::Find(a) => out.list(&backend::find::find(db, actor, &a.term, a.limit).await?),
        _ => Ok(()),
    }
}

async fn tenants_cmd(cfg: &Config, db: &Db, actor: &Actor, cmd: TenantsCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        TenantsCmd::List(args) => list_tenants(db, actor, args, out).await,
        TenantsCmd::Show { key } => out.one(&tenants::get(db, actor, &key).await?),
        TenantsCmd::Create(a) => {
            let b = a.branding;
            let t = tenants::create(
                db,
                actor,
                NewTenant {
                    name: a.name,
                    slug: a.slug,
                    domain: a.domain,
                    tier: a.tier,
                    currency: a.currency,
                    logo_text: b.logo_text.unwrap_or_default(),
                    primary_color: b.primary_color.unwrap_or_default(),
                    accent_color: b.accent_color.unwrap_or_default(),
                    sender_name: b.sender_name.unwrap_or_default(),
                    sender_email: b.sender_email.unwrap_or_default(),
                    support_email: b.support_email.unwrap_or_default(),
                },
            )
            .await?;
            out.one(&t)
        }
        TenantsCmd::Update(a) => update_tenant(db, actor, a, out).await,
        TenantsCmd::Suspend {
            key,
            reason,
            confirm,
            totp,
        } => {
            let keys = auth::step_up_keys(cfg, db, totp.as_deref()).await?;
            let proof = Proof::confirm(&confirm).with_step_up(totp.as_deref(), keys.as_ref());
            out.one(&tenants::suspend(db, actor, &key, &reason, &proof).await?)
        }
        TenantsCmd::Reactivate { key } => out.one(&tenants::reactivate(db, actor, &key).await?),
    }
}

async fn list_tenants(db: &Db, actor: &Actor, a: TenantListArgs, out: &mut Printer) -> Result<()> {
    let sort = TenantSort::parse(&a.sort)
        .ok_or_else(|| ServiceError::invalid("sort", "must be one of: name, domain, status, tier, created"))?;
    let mut q = TenantQuery {
        filter: a.filter,
        status: a.status,
        tier: a.tier,
        sort,
        dir: if a.desc { SortDir::Desc } else { SortDir::Asc },
        limit: a.limit,
        at: start_at(a.after.as_deref())?,
    };
    if a.all {
        out.walk_all();
    }
    loop {
        let page = tenants::list(db, actor, &q).await?;
        if out.format == OutputFormat::Table {
            out.list(&page.items.iter().map(TenantRow).collect::<Vec<_>>())?;
        } else {
            out.list(&page.items)?;
        }
        match next_page(a.all, &page) {
            Some(at) => q.at = at,
            None => break,
        }
    }
    out.finish()
}

/// After a page is printed: where the next one starts when walking every page (`--all`),
/// else `None` (the next page's cursor goes to stderr, for scripts).
pub(crate) fn next_page<T>(all: bool, page: &backend::page::Page<T>) -> Option<PageAt> {
    match (all, &page.last) {
        (true, Some(last)) if page.has_next => Some(PageAt::After(last.clone())),
        _ => {
            if let Some(token) = page.next_cursor.as_ref().filter(|_| !all) {
                eprintln!("more rows: --after {token}");
            }
            None
        }
    }
}

/// Where a listing starts: after the `--after` token, or at the beginning.
pub(crate) fn start_at(after: Option<&str>) -> Result<PageAt, ServiceError> {
    Ok(match after {
        Some(t) => PageAt::After(Cursor::from_token(t)?),
        None => PageAt::First,
    })
}

fn parse_limit(field: &str, raw: Option<&str>, current: Option<i64>) -> Result<Option<i64>, ServiceError> {
    match raw {
        None => Ok(current),
        Some(v) => validate::parse_limit(v).map_err(|m| ServiceError::invalid(field, m)),
    }
}

async fn update_tenant(db: &Db, actor: &Actor, a: TenantUpdateArgs, out: &mut Printer) -> Result<()> {
    let b = a.branding;
    let patch = TenantPatch {
        name: a.name,
        domain: a.domain,
        tier: a.tier,
        currency: a.currency,
        logo_text: b.logo_text,
        primary_color: b.primary_color,
        accent_color: b.accent_color,
        sender_name: b.sender_name,
        sender_email: b.sender_email,
        support_email: b.support_email,
    };
    let limit_flags = [
        &a.max_customers,
        &a.max_services,
        &a.max_storage_gb,
        &a.max_domains,
        &a.max_tickets_month,
    ];
    let current = tenants::get(db, actor, &a.key).await?;
    // Parse every limit before changing anything, so a bad one leaves the tenant untouched.
    let limits = Limits {
        max_customers: parse_limit("max_customers", a.max_customers.as_deref(), current.max_customers)?,
        max_services: parse_limit("max_services", a.max_services.as_deref(), current.max_services)?,
        max_storage_gb: parse_limit("max_storage_gb", a.max_storage_gb.as_deref(), current.max_storage_gb)?,
        max_domains: parse_limit("max_domains", a.max_domains.as_deref(), current.max_domains)?,
        max_tickets_month: parse_limit(
            "max_tickets_month",
            a.max_tickets_month.as_deref(),
            current.max_tickets_month,
        )?,
    };
    // Limits first: they are the stricter check (platform-only, confirmation below usage),
    // so a refusal leaves the other fields untouched too.
    if limit_flags.iter().any(|f| f.is_some()) {
        tenants::set_limits(db, actor, &current.id.to_string(), limits, a.confirm_below_usage).await?;
    }
    let t = tenants::update(db, actor, &current.id.to_string(), patch).await?;
    out.one(&t)
}

async fn customers_cmd(db: &Db, actor: &Actor, cmd: CustomersCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        CustomersCmd::List {
            tenant,
            filter,
            limit,
            after,
            all,
        } => {
            let mut q = CustomerQuery {
                tenant,
                filter,
                dir: SortDir::Asc,
                limit,
                at: start_at(after.as_deref())?,
            };
            if all {
                out.walk_all();
            }
            loop {
                let page = customers::list(db, actor, &q).await?;
                out.list(&page.items)?;
                match next_page(all, &page) {
                    Some(at) => q.at = at,
                    None => break,
                }
            }
            out.finish()
        }
        CustomersCmd::Show { id } => out.one(&customers::get(db, actor, &id).await?),
        CustomersCmd::Create {
            tenant,
            name,
            email,
            phone,
            document,
            notes,
            reseller,
        } => {
            let c = customers::create(
                db,
                actor,
                NewCustomer {
                    tenant,
                    name,
                    email,
                    phone,
                    document,
                    notes,
                    reseller,
                },
            )
            .await?;
            out.one(&c)
        }
        CustomersCmd::Edit {
            id,
            name,
            email,
            phone,
            document,
            notes,
        } => {
            let edit = CustomerEdit {
                name,
                email,
                phone,
                document,
                notes,
            };
            out.one(&customers::edit(db, actor, &id, edit).await?)
        }
        CustomersCmd::Block { id, reason } => out.one(&customers::block(db, actor, &id, &reason).await?),
        CustomersCmd::Unblock { id } => out.one(&customers::unblock(db, actor, &id).await?),
        CustomersCmd::Transfer { id, to } => out.one(&customers::transfer(db, actor, &id, &to).await?),
        CustomersCmd::History { id } => {
            out.list(&customers::history(db, actor, &id).await?)?;
            out.finish()
        }
    }
}
