//! Command-line grammar. `painel` alone opens the TUI; `painel <noun> <verb>` is batch mode.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "painel",
    version,
    about = "Operator console for hosting and streaming resellers"
)]
pub struct Cli {
    /// Config file (default: the platform config dir's painel/config.toml).
    #[arg(long, global = true, env = "PAINEL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (overrides contexts, config and
    /// PAINEL_DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Use this context's database for this run (see `painel context`).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Data directory for the embedded SQLite database and logs.
    #[arg(long, global = true, env = "PAINEL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Output format of batch commands (default: table on a terminal, json otherwise).
    #[arg(short, long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// Read-only: look, change nothing. The service layer refuses every change and the TUI
    /// hides the keys that would make one (docs/adr/0016).
    #[arg(long, global = true)]
    pub readonly: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    /// One JSON document (an object, or one array for a list, even with `--all`).
    Json,
    /// JSON Lines: one object per line (lists, streams such as `jobs watch`).
    Jsonl,
    Csv,
}

impl OutputFormat {
    /// JSON or JSON Lines: errors are JSON objects too.
    pub fn is_json(self) -> bool {
        matches!(self, OutputFormat::Json | OutputFormat::Jsonl)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the terminal UI (the default).
    Tui {
        /// Route to open first, e.g. tenants or billing/invoices.
        #[arg(long)]
        route: Option<String>,
    },
    /// Manage tenants (white-label brands).
    #[command(subcommand)]
    Tenants(Box<TenantsCmd>),
    /// Manage customers of a tenant.
    #[command(subcommand)]
    Customers(CustomersCmd),
    /// Hosting services: order, suspend, unsuspend, change plan, terminate (through jobs).
    #[command(subcommand)]
    Services(crate::commands::hosting::ServicesCmd),
    /// Hosting plans and their WHM packages; the add-ons catalogue.
    #[command(subcommand)]
    Plans(crate::commands::hosting::PlansCmd),
    /// Hosting servers (WHM/cPanel and others): CRUD, connection test, metrics.
    #[command(subcommand)]
    Servers(crate::commands::servers::ServersCmd),
    /// Account migrations from other cPanel servers (WHM Transfer Tool): list, show, create, abort, retry, watch.
    #[command(subcommand)]
    Migrations(crate::commands::migrations::MigrationsCmd),
    /// DNS at Cloudflare: zones, records, nameserver verification, failures (through jobs).
    #[command(subcommand)]
    Dns(crate::commands::dns::DnsCmd),
    /// SSL certificates of the hosted domains: inventory, TLS check, AutoSSL (through jobs).
    #[command(subcommand)]
    Certs(crate::commands::certs::CertsCmd),
    /// Reseller credits: balances, ledger, transfers, limits, alerts.
    #[command(subcommand)]
    Credits(crate::commands::billing::CreditsCmd),
    /// Invoices: list (status filters), show, create with gap-free numbers, issue.
    #[command(subcommand)]
    Invoices(crate::commands::billing::InvoicesCmd),
    /// Payments: list (provider/status filters), show, record a manual payment (sensitive).
    #[command(subcommand)]
    Payments(crate::commands::payments::PaymentsCmd),
    /// Renewals and dunning: run-renewals, renewals list, settings, smtp, timeline.
    #[command(subcommand)]
    Billing(crate::commands::dunning::BillingCmd),
    /// Messages to customers (e-mail reminders and notices) and their delivery.
    #[command(subcommand)]
    Notifications(crate::commands::dunning::NotificationsCmd),
    /// Price lists per plan/add-on and cycle; reseller overrides (docs/adr/0026).
    #[command(subcommand)]
    Prices(crate::commands::pricing::PricesCmd),
    /// Coupons: percent or fixed, validity, usage limits.
    #[command(subcommand)]
    Coupons(crate::commands::pricing::CouponsCmd),
    /// Chargebacks, by evidence deadline.
    #[command(subcommand)]
    Disputes(crate::commands::refunds::DisputesCmd),
    /// Inspect and steer the job queue.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Read, verify and export the audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// API keys of a tenant for the public API: shown once, stored hashed, revocable.
    #[command(subcommand)]
    Apikeys(ApikeysCmd),
    /// Run jobs from the queue until SIGTERM/SIGINT, then drain.
    Worker(WorkerArgs),
    /// The HTTP side: provider webhooks, /healthz, /readyz, /metrics (docs/adr/0023).
    Serve(ServeArgs),
    /// Recurring jobs (cron, UTC) that the workers' schedulers fire.
    #[command(subcommand)]
    Schedules(SchedulesCmd),
    /// Create the first account, a super admin (only while the database has none).
    Init(InitArgs),
    /// Log in; the session is kept in the kernel keyring (or a 0600 file).
    Login(LoginArgs),
    /// End this session (revoke it) and forget its token.
    Logout {
        /// Revoke every session of this account, on every machine.
        #[arg(long)]
        all: bool,
    },
    /// Who batch commands and the TUI act as.
    Whoami,
    /// Two-factor authentication (TOTP) of the logged-in account.
    #[command(name = "2fa", subcommand)]
    TwoFa(TwoFaCmd),
    /// Accounts (super admins create them; the first one comes from `painel init`).
    #[command(subcommand)]
    Users(UsersCmd),
    /// The master key that encrypts secrets at rest.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Roles and their permissions (editing is super-admin only and sensitive).
    #[command(subcommand)]
    Roles(RolesCmd),
    /// Operators' SSH keys and painel's block of authorized_keys (docs/adr/0012).
    #[command(subcommand)]
    SshKeys(crate::commands::ssh_keys::SshKeysCmd),
    /// The forced command in authorized_keys: started by sshd for an operator's key.
    #[command(hide = true)]
    SshSession {
        #[arg(long)]
        key: i64,
    },
    /// Check the deployment: file modes and owners, authorized_keys, sshd's settings.
    Doctor(crate::doctor::DoctorArgs),
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Named databases, like kubectl's contexts: the selected one is used by every verb.
    #[command(subcommand)]
    Context(ContextCmd),
    /// Find tenants, customers, services, invoices, jobs and users by name, slug, e-mail,
    /// domain, document or (short) id.
    Find(FindArgs),
    /// Apply database migrations (also done automatically on start).
    Migrate,
    /// Create a fresh demo database, seed it and open the TUI.
    Demo {
        /// Seed and exit without opening the TUI.
        #[arg(long)]
        seed_only: bool,
        /// Seed and keep the provider sandbox running without the TUI (for batch verbs and
        /// `painel worker` against the demo) until Ctrl-C.
        #[arg(long, conflicts_with = "seed_only")]
        headless: bool,
    },
    /// Measure performance targets (see README).
    #[command(subcommand, hide = true)]
    Bench(BenchCmd),
    /// The provider simulators (WHM) on loopback, with faults, for manual trials.
    #[command(subcommand)]
    Sandbox(crate::sandbox_cmd::SandboxCmd),
}

#[derive(Subcommand, Debug)]
pub enum TenantsCmd {
    /// List tenants, one page at a time.
    List(TenantListArgs),
    /// Show one tenant by id or slug.
    Show { key: String },
    /// Create a tenant.
    Create(TenantCreateArgs),
    /// Change a tenant's details, branding or limits.
    Update(TenantUpdateArgs),
    /// Suspend a tenant (sensitive: type its slug with --confirm).
    Suspend {
        key: String,
        #[arg(long)]
        reason: String,
        /// The tenant's slug, typed again.
        #[arg(long)]
        confirm: String,
        /// A current 2FA code (needed unless one was given in the last 5 minutes).
        #[arg(long)]
        totp: Option<String>,
    },
    /// Reactivate a suspended tenant.
    Reactivate { key: String },
}

#[derive(Args, Debug)]
pub struct TenantListArgs {
    /// Case-insensitive text found in name, slug or domain.
    #[arg(long)]
    pub filter: Option<String>,
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub tier: Option<String>,
    /// name, domain, status, tier or created.
    #[arg(long, default_value = "name")]
    pub sort: String,
    #[arg(long)]
    pub desc: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Continue after this cursor (printed on stderr when more rows exist).
    #[arg(long)]
    pub after: Option<String>,
    /// Walk every page.
    #[arg(long, conflicts_with = "after")]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct TenantCreateArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub domain: String,
    /// Default: derived from the name.
    #[arg(long, default_value = "")]
    pub slug: String,
    /// free, basic, pro or enterprise.
    #[arg(long, default_value = "basic")]
    pub tier: String,
    #[arg(long, default_value = "BRL")]
    pub currency: String,
    #[command(flatten)]
    pub branding: BrandingArgs,
}

#[derive(Args, Debug, Default)]
pub struct BrandingArgs {
    #[arg(long)]
    pub logo_text: Option<String>,
    #[arg(long)]
    pub primary_color: Option<String>,
    #[arg(long)]
    pub accent_color: Option<String>,
    /// Empty clears it.
    #[arg(long)]
    pub sender_name: Option<String>,
    #[arg(long)]
    pub sender_email: Option<String>,
    #[arg(long)]
    pub support_email: Option<String>,
}

#[derive(Args, Debug)]
pub struct TenantUpdateArgs {
    pub key: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub domain: Option<String>,
    #[arg(long)]
    pub tier: Option<String>,
    #[arg(long)]
    pub currency: Option<String>,
    #[command(flatten)]
    pub branding: BrandingArgs,
    /// A number or "unlimited".
    #[arg(long)]
    pub max_customers: Option<String>,
    #[arg(long)]
    pub max_services: Option<String>,
    #[arg(long)]
    pub max_storage_gb: Option<String>,
    #[arg(long)]
    pub max_domains: Option<String>,
    #[arg(long)]
    pub max_tickets_month: Option<String>,
    /// Set the limits even where one is below what the tenant already uses (without it such
    /// a change is refused, naming the usage). Limits are platform-only (`tenants:limits`).
    #[arg(long)]
    pub confirm_below_usage: bool,
}

#[derive(Subcommand, Debug)]
pub enum CustomersCmd {
    /// List customers (of one tenant with --tenant).
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this cursor (printed on stderr when more rows exist).
        #[arg(long)]
        after: Option<String>,
        /// Walk every page.
        #[arg(long, conflicts_with = "after")]
        all: bool,
    },
    /// Show one customer by id or a unique id prefix.
    Show { id: String },
    /// Create a customer in a tenant.
    Create {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        phone: String,
        /// CPF or CNPJ.
        #[arg(long, default_value = "")]
        document: String,
        #[arg(long, default_value = "")]
        notes: String,
        /// The reseller (username or id) it belongs to; default: you, when you are one.
        #[arg(long, default_value = "")]
        reseller: String,
    },
    /// Change a customer's profile; fields not given stay as they are ("" clears phone,
    /// document and notes).
    Edit {
        /// Customer id or a unique id prefix.
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// CPF or CNPJ, punctuation allowed; check digits are verified.
        #[arg(long)]
        document: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Block a customer (status suspended), with a reason.
    Block {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Unblock a blocked customer.
    Unblock { id: String },
    /// Move a customer to another reseller of the same tenant (within your tree, if you are a
    /// reseller).
    Transfer {
        id: String,
        /// The reseller's username or id.
        #[arg(long)]
        to: String,
    },
    /// A customer's activity: audit rows and jobs touching it, newest first.
    History { id: String },
}

#[derive(Subcommand, Debug)]
pub enum ApikeysCmd {
    /// Create a key; prints it once (it cannot be shown again).
    Create {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// A permission key the API key grants (repeat, or comma-separated).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// When it stops working (RFC 3339, e.g. 2026-12-31T23:59:59Z); default never.
        #[arg(long)]
        expires: Option<String>,
        /// Requests per minute (default: the tenant's).
        #[arg(long)]
        rate_limit: Option<i64>,
        #[arg(long)]
        burst: Option<i64>,
    },
    /// List keys (of one tenant with --tenant), never their secrets.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this cursor (printed on stderr when more rows exist).
        #[arg(long)]
        after: Option<String>,
        /// Walk every page.
        #[arg(long, conflicts_with = "after")]
        all: bool,
    },
    /// Show one key by id or prefix.
    Show { key: String },
    /// Revoke a key by id or prefix: the API refuses it from now on.
    Revoke { key: String },
}

#[derive(Subcommand, Debug)]
pub enum JobsCmd {
    /// List jobs, newest first.
    List {
        #[arg(long)]
        queue: Option<String>,
        /// queued, running, succeeded, failed, dead or cancelled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this cursor (printed on stderr when more rows exist).
        #[arg(long)]
        after: Option<String>,
        /// Walk every page.
        #[arg(long, conflicts_with = "after")]
        all: bool,
    },
    /// Show one job (by id or a unique id prefix) with its payload and error history.
    Show { id: String },
    /// Queue a failed, dead or cancelled job again (one more attempt); id or unique prefix.
    Retry { id: String },
    /// Cancel a queued job (id or unique prefix).
    Cancel { id: String },
    /// Job counts per queue and status.
    Stats,
    /// Stream job events as they happen (Redis when configured, else read from the database).
    Watch {
        #[arg(long)]
        queue: Option<String>,
        /// Only retrying, failed and dead jobs.
        #[arg(long)]
        failures: bool,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<usize>,
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Add a job to a queue (audited).
    Enqueue {
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "default")]
        queue: String,
        /// A JSON value.
        #[arg(long, default_value = "{}")]
        payload: String,
        /// While a job with this key is queued or running, that job is returned instead.
        #[arg(long)]
        unique_key: Option<String>,
        /// When it becomes due (RFC 3339); default now.
        #[arg(long)]
        run_at: Option<String>,
        #[arg(long)]
        max_attempts: Option<i64>,
    },
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Jobs run at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Comma-separated queues to take jobs from; default (or `*`): every queue.
    #[arg(long, value_delimiter = ',')]
    pub queues: Vec<String>,
    /// Sleep between claims when nothing is due, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
    /// Lease of a claimed job, renewed every third of it.
    #[arg(long, default_value_t = 30)]
    pub lease_secs: u64,
    /// After SIGTERM/SIGINT, how long running jobs may take before they are released.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// Jobs claimed ahead of free slots (fewer claims per job; default = concurrency).
    #[arg(long)]
    pub prefetch: Option<usize>,
    /// Do not run the scheduler in this process (schedules fire once however many run it).
    #[arg(long)]
    pub no_scheduler: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, env = "PAINEL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// File with the Stripe endpoint's signing secret(s), one per line, mode 0600 (default:
    /// `stripe-webhook-secret` in the data directory; PAINEL_STRIPE_WEBHOOK_SECRET wins).
    #[arg(long)]
    pub stripe_secret_file: Option<std::path::PathBuf>,
    /// Commit each webhook on its own instead of grouping concurrent ones (for comparison).
    #[arg(long)]
    pub no_batching: bool,
    /// Most webhook events in one commit.
    #[arg(long, default_value_t = 1000)]
    pub max_batch: usize,
    /// Writer tasks committing webhook batches.
    #[arg(long, default_value_t = 2)]
    pub writers: usize,
}

#[derive(Subcommand, Debug)]
pub enum SchedulesCmd {
    /// List schedules with their next run.
    List,
    /// Create a schedule, or replace the one with that name (audited).
    Set {
        name: String,
        /// Cron expression in UTC: "minute hour day month weekday", or with seconds first.
        #[arg(long)]
        cron: String,
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "default")]
        queue: String,
        /// A JSON object.
        #[arg(long, default_value = "{}")]
        payload: String,
    },
    /// Delete a schedule (audited).
    Remove { name: String },
    /// Resume a paused schedule.
    Enable { name: String },
    /// Pause a schedule.
    Disable { name: String },
    /// Enqueue a schedule's job now.
    Run { name: String },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Required: create the first super admin of this deployment (run as the service
    /// account that owns the data dir; docs/adr/0012).
    #[arg(long)]
    pub bootstrap: bool,
    /// Prompted for on a terminal when missing.
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long, default_value = "")]
    pub display_name: String,
    /// Read the password from the first line of standard input (for scripts).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Subcommand, Debug)]
pub enum UsersCmd {
    /// Create an account (audited): a role at or below yours, in your tenant and reseller
    /// tree. Tenant roles need --tenant (tenant users: their own by default).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// super_admin, tenant_admin, partner, ultra, master, reseller, support_agent, on_call.
        #[arg(long)]
        role: String,
        /// Tenant id or slug.
        #[arg(long)]
        tenant: Option<String>,
        /// Parent account in the reseller tree (username).
        #[arg(long)]
        parent: Option<String>,
        #[arg(long, default_value = "")]
        display_name: String,
        /// Read the password from the first line of standard input; without it the account
        /// cannot log in with a password yet.
        #[arg(long)]
        password_stdin: bool,
        /// Creating a super admin is sensitive: type the new username again.
        #[arg(long)]
        confirm: Option<String>,
        /// A current 2FA code (creating a super admin, unless one was given in the last 5
        /// minutes).
        #[arg(long)]
        totp: Option<String>,
    },
    /// Make an account read-only (on-call staff: look, change nothing), or lift it with --off
    /// (audited).
    ReadOnly {
        username: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Prompted for on a terminal when missing.
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from the first line of standard input (for scripts).
    #[arg(long)]
    pub password_stdin: bool,
    /// The 2FA code (or a recovery code); prompted for on a terminal when the account needs one.
    #[arg(long)]
    pub totp: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TwoFaCmd {
    /// Start enrolment: shows a QR code and the secret for an authenticator app (asks for
    /// your password again).
    Enroll {
        /// Read your password from the first line of standard input (for scripts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Finish enrolment with a code from the app; prints 10 single-use recovery codes (asks
    /// for your password again).
    Enable {
        #[arg(long)]
        code: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Turn 2FA off (sensitive: type your username with --confirm; your password again and a
    /// current code with --totp).
    Disable {
        #[arg(long)]
        confirm: String,
        #[arg(long)]
        totp: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Replace the recovery codes (the old ones stop working); your password again and a
    /// current code with --totp.
    RecoveryCodes {
        #[arg(long)]
        totp: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RolesCmd {
    /// Every role with its permission keys.
    List,
    /// Give a role a permission (sensitive: type the role key with --confirm).
    Grant(RoleEditArgs),
    /// Take a permission from a role (sensitive: type the role key with --confirm).
    Revoke(RoleEditArgs),
}

#[derive(Args, Debug)]
pub struct RoleEditArgs {
    /// Role key, e.g. reseller.
    pub role: String,
    /// Permission key, e.g. dns:read.
    pub permission: String,
    /// The role key, typed again.
    #[arg(long)]
    pub confirm: String,
    /// A current 2FA code (needed unless one was given in the last 5 minutes).
    #[arg(long)]
    pub totp: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// The current key's id, where it comes from, whether this database registered it, and
    /// the retired keys still readable.
    Status,
    /// Set the deployment up: register the master key with the database (creating
    /// <data dir>/master.key when neither it nor PAINEL_MASTER_KEY exists), re-seal values of
    /// earlier versions, and key the audit chain from here on. Only this (and `painel demo`)
    /// creates a master key.
    Init,
    /// Re-encrypt every secret under a new master key (sensitive: type the current key id).
    Rotate {
        /// The current key id (see `painel keys status`).
        #[arg(long)]
        confirm: String,
        #[arg(long)]
        totp: Option<String>,
        /// Read the new key (base64 or hex of 32 bytes) from standard input; required when the
        /// key comes from PAINEL_MASTER_KEY, otherwise a new key file is generated.
        #[arg(long)]
        new_key_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ContextCmd {
    /// Every context; `*` marks the selected one.
    List,
    /// One context (default: the selected one, or what this run uses when none is).
    Show { name: Option<String> },
    /// Select a context for every later run.
    Use { name: String },
    /// Add (or replace) a context: a name and a database URL (kept in a 0600 file).
    Add { name: String, url: String },
    /// Forget a context.
    Remove { name: String },
}

#[derive(Args, Debug)]
pub struct FindArgs {
    /// A name, slug, e-mail, domain, document, or an id / short id (4+ hex digits).
    pub term: String,
    /// Most results per kind.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Print the effective configuration, secrets masked.
    Show,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// List audit rows, newest first.
    List {
        #[command(flatten)]
        filter: AuditFilterArgs,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this cursor (printed on stderr when more rows exist).
        #[arg(long)]
        after: Option<String>,
        /// Walk every page.
        #[arg(long, conflicts_with = "after")]
        all: bool,
    },
    /// Show one audit row (by seq or id) with its before/after diff.
    Show { key: String },
    /// Walk the keyed hash chain and hold it against the signed checkpoints; exit 1 naming the
    /// first altered or removed row, a cut-off tail, a wiped table or a forged checkpoint.
    Verify {
        /// Also check the checkpoints in FILE (e.g. a copy shipped off the host); repeatable.
        #[arg(long = "checkpoints", value_name = "FILE")]
        checkpoints: Vec<std::path::PathBuf>,
    },
    /// Verify the rows since the last checkpoint, then sign a checkpoint of the chain's head,
    /// append it to <data dir>/audit-checkpoints.jsonl and print it (ship it elsewhere).
    Checkpoint,
    /// Stream every matching row, oldest first, with before/after and hashes.
    Export {
        #[command(flatten)]
        filter: AuditFilterArgs,
    },
}

#[derive(Args, Debug, Default)]
pub struct AuditFilterArgs {
    /// Actor name, or a prefix of it (thiago).
    #[arg(long)]
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in * (tenant.*).
    #[arg(long)]
    pub action: Option<String>,
    #[arg(long)]
    pub entity: Option<String>,
    #[arg(long)]
    pub entity_id: Option<String>,
    /// Tenant id, slug, or a unique prefix of either.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Inclusive: RFC 3339, YYYY-MM-DD (UTC) or an age like 7d, 12h, 30m.
    #[arg(long)]
    pub since: Option<String>,
    /// Exclusive: same forms as --since.
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// First page of a large tenant list, filtered and sorted.
    List {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Job queue: no-op throughput and enqueue-to-start latency (bench/jobs.sh compares BullMQ).
    Jobs {
        #[arg(long, default_value_t = 50_000)]
        jobs: usize,
        #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
        concurrency: Vec<usize>,
        /// Jobs claimed ahead of free slots.
        #[arg(long, default_value_t = 500)]
        prefetch: usize,
        /// Single jobs enqueued one at a time to an idle worker, for latency.
        #[arg(long, default_value_t = 300)]
        latency_samples: usize,
        /// Worker processes on the one database (0: one worker inside the bench process).
        #[arg(long, default_value_t = 0)]
        workers: usize,
    },
    /// One worker process of `bench jobs --workers N`: starts on a line on stdin, stops at
    /// end of input, prints its statistics.
    #[command(hide = true)]
    JobsWorker {
        #[arg(long)]
        concurrency: usize,
        #[arg(long)]
        prefetch: usize,
    },
    /// Hosting services provisioned end to end against the in-process WHM simulator: one
    /// worker, the configured database; throughput and order → active latency.
    Provision {
        #[arg(long, default_value_t = 1000)]
        services: usize,
        #[arg(long, value_delimiter = ',', default_value = "8")]
        concurrency: Vec<usize>,
        /// Injected into every WHM call, per run (e.g. 0,200).
        #[arg(long, value_delimiter = ',', default_value = "0")]
        latency_ms: Vec<u64>,
    },
    /// Concurrent migrations through the sandbox's Transfer Tool with the queue screen open:
    /// its frame time and the database load while they run.
    Migrations {
        #[arg(long, default_value_t = 50)]
        migrations: usize,
        #[arg(long, default_value_t = 2)]
        accounts: usize,
        /// How long one stage of an account takes in the simulator.
        #[arg(long, default_value_t = 300)]
        pace_ms: u64,
        /// How often a running session is polled.
        #[arg(long, default_value_t = 1000)]
        poll_ms: u64,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Nameserver verification cycles over many pending domains against the sandbox's
    /// loopback DNS server: time per cycle.
    NsVerify {
        #[arg(long, default_value_t = 10_000)]
        domains: usize,
        /// Cycles with nothing delegated before the one where a tenth is.
        #[arg(long, default_value_t = 3)]
        cycles: usize,
    },
    /// `painel find`'s first page over many customers, for every kind of term.
    Find {
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Verified webhook intake through `painel serve` on loopback: commit per request, then
    /// group commit, each with req/s and p50/p99.
    Webhooks {
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Writer tasks of the group commit.
        #[arg(long, default_value_t = 2)]
        writers: usize,
    },
    /// Bill-first orders paid by signed webhooks through `painel serve`: webhook → service
    /// `active` latency p50/p99 against the in-process WHM simulator.
    PaidToActive {
        #[arg(long, default_value_t = 200)]
        services: usize,
        /// Milliseconds between two webhooks.
        #[arg(long, default_value_t = 50)]
        interval_ms: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Rendering one full 200×50 frame of the tenants list into a TestBackend.
    Render {
        #[arg(long, default_value_t = 500)]
        iterations: usize,
    },
}
