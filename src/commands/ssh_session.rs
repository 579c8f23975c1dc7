//! `painel ssh-session --key <id>`, the forced command of painel's `authorized_keys` lines
//! (docs/adr/0012-jump-host.md).
//!
//! Trust: the key id comes from argv (written by painel into the file sshd reads), the source
//! from `SSH_CONNECTION` (sshd sets it for every session, overwriting the client's), the verb
//! from `SSH_ORIGINAL_COMMAND` — which the client chose, so it is parsed as hostile input by
//! an SSH-only grammar: painel's batch verbs, no database, config or identity flags, no
//! deployment verbs. Nothing else is read from the environment.

use std::io::IsTerminal;

use anyhow::Result;
use backend::identity::Authenticated;
use backend::sshkeys::session::{self, SshOpen};
use backend::{actor, Db, ServiceError};
use clap::{Parser, Subcommand};

use crate::cli::{
    ApikeysCmd, AuditCmd, Command, CustomersCmd, JobsCmd, OutputFormat, RolesCmd, SchedulesCmd, TenantsCmd, TwoFaCmd,
    UsersCmd,
};
use crate::commands::servers::ServersCmd;
use crate::commands::{auth, dispatch_as};
use crate::config::Config;
use crate::output::Printer;
use crate::{exit, prompt};

/// The exit code of a run that has already printed its own error.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

const SIGTSTP: i32 = 20;

/// Longest command accepted (a tenant update with every flag fits many times over).
pub const MAX_COMMAND: usize = 4096;
pub const USE_TTY: &str =
    "painel over SSH: give a command (ssh painel@host tenants list) or use ssh -t for the console";

/// What `ssh painel@host <command>` may run: painel's batch verbs only.
#[derive(Parser, Debug)]
#[command(
    name = "painel",
    no_binary_name = true,
    disable_version_flag = true,
    about = "painel over SSH: batch verbs as the account your key belongs to (ssh -t for the console)"
)]
pub struct SshCli {
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(short, long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    #[command(subcommand)]
    pub command: SshCommand,
}

#[derive(Subcommand, Debug)]
pub enum SshCommand {
    /// Manage tenants (white-label brands).
    #[command(subcommand)]
    Tenants(Box<TenantsCmd>),
    /// Manage customers of a tenant.
    #[command(subcommand)]
    Customers(CustomersCmd),
    /// Inspect and steer the job queue.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Recurring jobs.
    #[command(subcommand)]
    Schedules(SchedulesCmd),
    /// Read, verify and export the audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// API keys of a tenant.
    #[command(subcommand)]
    Apikeys(ApikeysCmd),
    /// Two-factor authentication of your account.
    #[command(name = "2fa", subcommand)]
    TwoFa(TwoFaCmd),
    /// Accounts.
    #[command(subcommand)]
    Users(UsersCmd),
    /// Roles and their permissions.
    #[command(subcommand)]
    Roles(RolesCmd),
    /// Hosting servers: list, show, create, update, remove, test, metrics.
    #[command(subcommand)]
    Servers(ServersCmd),
    /// Account migrations (WHM Transfer Tool); passwords on standard input (`-`).
    #[command(subcommand)]
    Migrations(crate::commands::migrations::MigrationsCmd),
    /// Hosting services: order, suspend, unsuspend, change plan, terminate (through jobs).
    #[command(subcommand)]
    Services(crate::commands::hosting::ServicesCmd),
    /// SSL certificates: list, show, check, renew (AutoSSL).
    #[command(subcommand)]
    Certs(crate::commands::certs::CertsCmd),
    /// Hosting plans and their WHM packages; the add-ons catalogue.
    #[command(subcommand)]
    Plans(crate::commands::hosting::PlansCmd),
    /// Reseller credits: balances, ledger, transfers, limits, alerts.
    #[command(subcommand)]
    Credits(crate::commands::billing::CreditsCmd),
    /// Invoices: list, show, create, issue, pix (the QR and copy-and-paste code), pix-settings.
    #[command(subcommand)]
    Invoices(crate::commands::billing::InvoicesCmd),
    /// Payments: list, show, record a manual payment (sensitive).
    #[command(subcommand)]
    Payments(crate::commands::payments::PaymentsCmd),
    /// Renewals and dunning: run-renewals, renewals list, settings, timeline.
    #[command(subcommand)]
    Billing(crate::commands::dunning::BillingCmd),
    /// Messages to customers and their delivery.
    #[command(subcommand)]
    Notifications(crate::commands::dunning::NotificationsCmd),
    /// Price lists and reseller overrides.
    #[command(subcommand)]
    Prices(crate::commands::pricing::PricesCmd),
    /// Coupons.
    #[command(subcommand)]
    Coupons(crate::commands::pricing::CouponsCmd),
    /// Chargebacks, by evidence deadline.
    #[command(subcommand)]
    Disputes(crate::commands::refunds::DisputesCmd),
    /// DNS: zones, records, nameserver verification, failures.
    #[command(subcommand)]
    Dns(crate::commands::dns::DnsCmd),
    /// Find tenants, customers, services, invoices, jobs and users by name or (short) id.
    Find(crate::cli::FindArgs),
    /// Who this key acts as.
    Whoami,
}

impl SshCommand {
    fn into_command(self) -> Option<Command> {
        Some(match self {
            SshCommand::Tenants(c) => Command::Tenants(c),
            SshCommand::Customers(c) => Command::Customers(c),
            SshCommand::Jobs(c) => Command::Jobs(c),
            SshCommand::Schedules(c) => Command::Schedules(c),
            SshCommand::Audit(c) => Command::Audit(c),
            SshCommand::Apikeys(c) => Command::Apikeys(c),
            SshCommand::TwoFa(c) => Command::TwoFa(c),
            SshCommand::Users(c) => Command::Users(c),
            SshCommand::Roles(c) => Command::Roles(c),
            SshCommand::Servers(c) => Command::Servers(c),
            SshCommand::Migrations(c) => Command::Migrations(c),
            SshCommand::Services(c) => Command::Services(c),
            SshCommand::Certs(c) => Command::Certs(c),
            SshCommand::Plans(c) => Command::Plans(c),
            SshCommand::Credits(c) => Command::Credits(c),
            SshCommand::Invoices(c) => Command::Invoices(c),
            SshCommand::Payments(c) => Command::Payments(c),
            SshCommand::Billing(c) => Command::Billing(c),
            SshCommand::Notifications(c) => Command::Notifications(c),
            SshCommand::Prices(c) => Command::Prices(c),
            SshCommand::Coupons(c) => Command::Coupons(c),
            SshCommand::Disputes(c) => Command::Disputes(c),
            SshCommand::Dns(c) => Command::Dns(c),
            SshCommand::Find(a) => Command::Find(a),
            SshCommand::Whoami => return None,
        })
    }
}

/// What the client asked for.
#[derive(Debug)]
pub enum Request {
    /// No command: the console, on a terminal.
    Console,
    Batch(Box<SshCli>),
    /// `--help` and friends: clap's text, printed with exit 0.
    Help(String),
}

/// Parses `SSH_ORIGINAL_COMMAND`; `Err((message, exit code))` for what must be refused.
pub fn parse_request(original: Option<&str>) -> Result<Request, (String, u8)> {
    let Some(text) = original.filter(|t| !t.trim().is_empty()) else {
        return Ok(Request::Console);
    };
    if text.len() > MAX_COMMAND {
        return Err((format!("command longer than {MAX_COMMAND} bytes"), exit::USAGE));
    }
    if text.chars().any(char::is_control) {
        return Err(("control characters in the command".into(), exit::USAGE));
    }
    let words = shlex::split(text).ok_or_else(|| ("unbalanced quotes in the command".to_owned(), exit::USAGE))?;
    match SshCli::try_parse_from(words) {
        // Paths name files on the jump host, read with the service account's rights: an
        // operator over SSH must not probe them (verify reads the data dir's own file).
        Ok(SshCli {
            command: SshCommand::Audit(AuditCmd::Verify { checkpoints }),
            ..
        }) if !checkpoints.is_empty() => Err((
            "--checkpoints is not available over ssh (it names files on the jump host); audit verify checks the deployment's own checkpoint file".into(),
            exit::USAGE,
        )),
        // The same for a token file: over SSH the token comes on standard input (`-`).
        Ok(SshCli {
            command: SshCommand::Servers(ServersCmd::Create(crate::commands::servers::ServerCreateArgs { token_file: Some(f), .. }) | ServersCmd::Update(crate::commands::servers::ServerUpdateArgs { token_file: Some(f), .. })),
            ..
        }) if f != "-" => Err((
            "--token-file is not available over ssh (it names files on the jump host); use --token-file - and send the token on standard input".into(),
            exit::USAGE,
        )),
        Ok(SshCli {
            command:
                SshCommand::Migrations(
                    crate::commands::migrations::MigrationsCmd::Create(crate::commands::migrations::CreateArgs {
                        password_file: f,
                        ..
                    })
                    | crate::commands::migrations::MigrationsCmd::Retry { password_file: Some(f), .. },
                ),
            ..
        }) if f != "-" => Err((
            "--password-file is not available over ssh (it names files on the jump host); use --password-file - and send the password on standard input".into(),
            exit::USAGE,
        )),
        Ok(SshCli {
            command: SshCommand::Dns(crate::commands::dns::DnsCmd::Provider(crate::commands::dns::ProviderCmd::Set { token_file: Some(f), .. })),
            ..
        }) if f != "-" => Err((
            "--token-file is not available over ssh (it names files on the jump host); use --token-file - and send the token on standard input".into(),
            exit::USAGE,
        )),
        Ok(cli) => Ok(Request::Batch(Box::new(cli))),
        Err(e) if !e.use_stderr() => Ok(Request::Help(e.render().to_string())),
        Err(e) => Err((e.render().to_string(), exit::USAGE)),
    }
}

/// A refused command: clap's own text on a terminal or in table/CSV, the usual JSON error
/// object with `-o json`; exit 2 like any usage error of the batch mode.
fn refuse(message: &str, format: OutputFormat) -> anyhow::Error {
    let message = message.trim_end();
    if format.is_json() {
        let e = ServiceError::invalid("command", message.to_owned());
        return Exit(crate::report(&e.into(), format)).into();
    }
    eprintln!("{message}");
    Exit(exit::USAGE).into()
}

/// sshd started us for key `key` (never an operator by hand: `SSH_CONNECTION` is required).
pub async fn run(cfg: &Config, db: &Db, key: i64) -> Result<()> {
    // Ctrl-Z at the 2FA prompt would stop painel with no shell to resume it: handling
    // SIGTSTP (and doing nothing) keeps the session alive.
    let _tstp = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(SIGTSTP))?;
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let default_format = if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    };
    let Some(source) = std::env::var("SSH_CONNECTION")
        .ok()
        .as_deref()
        .and_then(actor::ssh_source)
    else {
        let e = ServiceError::PermissionDenied("painel ssh-session runs only as sshd's forced command".into());
        return Err(Exit(crate::report(&e.into(), default_format)).into());
    };
    let original = std::env::var("SSH_ORIGINAL_COMMAND").ok();
    let request = match parse_request(original.as_deref()) {
        Ok(r) => r,
        Err((message, _)) => return Err(refuse(&message, default_format)),
    };
    let format = match &request {
        Request::Batch(cli) => cli.output.unwrap_or(default_format),
        _ => default_format,
    };
    if let Request::Help(text) = &request {
        print!("{text}");
        return Ok(());
    }
    if matches!(request, Request::Console) && !tty {
        eprintln!("{USE_TTY}");
        return Err(Exit(exit::USAGE).into());
    }
    let opened = match open(cfg, db, key, &source, tty).await {
        Ok(o) => o,
        Err(e) => return Err(Exit(crate::report(&e, format)).into()),
    };
    let token = opened.token.clone();
    let id = auth::Identity::Session(
        Box::new(Authenticated {
            session: opened.session,
            user: opened.user,
            actor: opened.actor,
        }),
        token.clone(),
    );
    let result = match request {
        Request::Batch(cli) => {
            let mut out = Printer::new(format);
            match cli.command.into_command() {
                Some(command) => dispatch_as(cfg, db, &id, command, &mut out).await,
                None => whoami(&id, &mut out),
            }
        }
        _ => {
            let login = ui::LoginOptions {
                notice: None,
                token: Some(token.clone()),
                end_on_sign_out: true,
                on_login: None,
            };
            crate::demo::open_tui(cfg, db, id.actor().clone(), None, Some(login), false).await
        }
    };
    // The session lives as long as this connection's command or console.
    if let Err(e) = session::close(db, &token, &source).await {
        tracing::warn!(error = %e, "cannot close the SSH session");
    }
    result.map_err(|e| Exit(crate::report(&e, format)).into())
}

/// Opens the key's session, asking for the 2FA code on a terminal when the account has 2FA.
/// Without a terminal a 2FA account is refused: there is nobody to ask.
async fn open(cfg: &Config, db: &Db, key: i64, source: &str, tty: bool) -> Result<backend::identity::NewSession> {
    match session::open(db, None, key, source, None).await? {
        SshOpen::Session(s) => Ok(*s),
        SshOpen::CodeRequired { username } => {
            if !(tty && prompt::interactive()) {
                return Err(ServiceError::PermissionDenied(format!(
                    "{username} has 2FA: connect with ssh -t so painel can ask for the code"
                ))
                .into());
            }
            let code = prompt::secret(&format!("2FA code for {username} (or a recovery code)"))?;
            let keys = auth::load_keys(cfg, db).await?;
            match session::open(db, Some(&keys), key, source, Some(&code)).await? {
                SshOpen::Session(s) => Ok(*s),
                SshOpen::CodeRequired { .. } => Err(ServiceError::PermissionDenied(session::REFUSED.into()).into()),
            }
        }
    }
}

fn whoami(id: &auth::Identity, out: &mut Printer) -> Result<()> {
    match id {
        auth::Identity::Session(s, _) => out.one(&auth::WhoAmI {
            source: s.actor.source.clone(),
            ..auth::WhoAmI::of_user(&s.user, Some(&s.session))
        }),
        auth::Identity::Local(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(cmd: &str) -> (String, u8) {
        parse_request(Some(cmd)).unwrap_err()
    }

    #[test]
    fn batch_verbs_parse_with_output_flags() {
        let Ok(Request::Batch(cli)) = parse_request(Some("tenants list -o json --filter 'acme hosting'")) else {
            panic!("not a batch request");
        };
        assert_eq!(cli.output, Some(OutputFormat::Json));
        assert!(matches!(parse_request(None), Ok(Request::Console)));
        for cmd in [
            "prices list -o json",
            "prices set plan basic 34.90 --reseller ana --cycle annual",
            "coupons create VERAO --kind percent --value 10 --only plan:basic",
            "coupons disable VERAO",
            "services create --customer c1 --plan basic --domain x.com.br --coupon VERAO",
        ] {
            assert!(matches!(parse_request(Some(cmd)), Ok(Request::Batch(_))), "{cmd}");
        }
        assert!(matches!(parse_request(Some("  ")), Ok(Request::Console)));
        assert!(matches!(parse_request(Some("--help")), Ok(Request::Help(_))));
    }

    #[test]
    fn certs_verbs_are_in_the_ssh_grammar() {
        for cmd in [
            "certs list -o csv --state expired,expiring",
            "certs show a.com.br",
            "certs renew a.com.br --no-wait",
        ] {
            let Ok(Request::Batch(cli)) = parse_request(Some(cmd)) else {
                panic!("{cmd} not a batch request");
            };
            assert!(matches!(cli.command, SshCommand::Certs(_)), "{cmd}");
        }
    }

    #[test]
    fn shells_deployment_verbs_and_identity_flags_are_unknown() {
        for cmd in [
            "sh",
            "bash -i",
            "/usr/lib/openssh/sftp-server",
            "scp -t /tmp",
            "ssh-session --key 1",
            "ssh-keys list",
            "init --bootstrap",
            "migrate",
            "keys status",
            "doctor",
            "demo",
            "worker",
            "bench list",
            "login",
            "tenants list --database-url sqlite:///tmp/x",
            "tenants list --config /tmp/c.toml",
            "tenants list --data-dir /tmp",
        ] {
            assert_eq!(refused(cmd).1, exit::USAGE, "{cmd} must be refused");
        }
    }

    #[test]
    fn hostile_text_is_refused_before_parsing() {
        assert_eq!(refused("tenants list\nsh").1, exit::USAGE);
        assert_eq!(refused("tenants list \x1b[2J").1, exit::USAGE);
        assert!(refused(&format!("tenants list --filter {}", "a".repeat(MAX_COMMAND)))
            .0
            .contains("longer"));
        assert!(refused("tenants list --filter 'unbalanced").0.contains("quotes"));
        assert!(
            refused("servers create --name a --hostname a.example.net --ip 192.0.2.1 --region sa-east-1 --token-file /etc/shadow")
                .0
                .contains("not available over ssh")
        );
        assert!(refused("servers update a --token-file /root/.ssh/id_ed25519")
            .0
            .contains("not available over ssh"));
        assert!(matches!(
            parse_request(Some("servers update a --token-file -")),
            Ok(Request::Batch(_))
        ));
        assert!(matches!(parse_request(Some("services list")), Ok(Request::Batch(_))));
        assert!(refused("audit verify --checkpoints /etc/shadow")
            .0
            .contains("not available over ssh"));
        assert!(matches!(parse_request(Some("audit verify")), Ok(Request::Batch(_))));
    }

    #[test]
    fn invoices_pix_is_in_the_ssh_grammar() {
        for cmd in [
            "invoices pix 2026-000123",
            "invoices pix 1f6e66bf --wait 5 -o json",
            "invoices pix-settings --tenant loja",
            "invoices pix-settings --tenant loja --provider static --key 12345678909",
        ] {
            assert!(matches!(parse_request(Some(cmd)), Ok(Request::Batch(_))), "{cmd}");
        }
        let Ok(Request::Batch(cli)) = parse_request(Some("invoices pix 2026-000123 --wait 5")) else {
            panic!("not a batch request");
        };
        assert!(matches!(
            cli.command.into_command(),
            Some(Command::Invoices(crate::commands::billing::InvoicesCmd::Pix { key, wait: 5 })) if key == "2026-000123"
        ));
        assert!(refused("invoices pix").0.contains("KEY"), "the invoice is required");
    }

    #[test]
    fn migrations_verbs_over_ssh_read_passwords_from_stdin_only() {
        for cmd in [
            "migrations list -o csv",
            "migrations show 1f6e66bf --log --stage dns",
            "migrations watch 1f6e66bf -o jsonl",
            "migrations abort 1f6e66bf",
            "migrations retry 1f6e66bf --password-file -",
            "migrations retry 1f6e66bf",
            "migrations create --tenant t --source-host old.example.com --password-file - --account a1 --target whm-gru-01",
        ] {
            assert!(matches!(parse_request(Some(cmd)), Ok(Request::Batch(_))), "{cmd}");
        }
        for cmd in [
            "migrations retry 1f6e66bf --password-file /etc/shadow",
            "migrations create --tenant t --source-host h --password-file /root/pw --account a1 --target s",
        ] {
            assert!(refused(cmd).0.contains("not available over ssh"), "{cmd}");
        }
    }

    #[test]
    fn dns_verbs_over_ssh() {
        for ok in [
            "dns zones list -o json",
            "dns zones show loja.com.br",
            "dns zones create loja.com.br --tenant loja",
            "dns records add loja.com.br MX @ mail.loja.com.br --priority 10",
            "dns records edit loja.com.br 0a1b2c3d --content 203.0.113.20",
            "dns records rm loja.com.br 0a1b2c3d",
            "dns verify loja.com.br",
            "dns failures -o csv",
            "dns provider set --account-id abc --token-file -",
        ] {
            assert!(matches!(parse_request(Some(ok)), Ok(Request::Batch(_))), "{ok}");
        }
        assert!(refused("dns provider set --account-id abc --token-file /etc/shadow")
            .0
            .contains("not available over ssh"));
    }
}
