//! painel: the terminal UI, the batch mode and (later) the server and worker, in one binary.

mod audit_cmd;
mod authorized_keys;
mod bench;
mod bench_find;
mod bench_jobs;
mod bench_migrations;
mod bench_ns;
mod bench_paid;
mod bench_provision;
mod bench_webhooks;
mod cli;
mod commands;
mod config;
mod context;
mod demo;
mod demo_dns;
mod demo_migrations;
mod demo_pix;
mod demo_sandbox;
mod demo_ssl;
mod demo_stripe;
mod doctor;
mod output;
mod pix_config;
mod prompt;
mod qr;
mod records;
mod sandbox_cmd;
mod serve;
mod session_store;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use backend::ServiceError;
use clap::Parser;

use cli::{Cli, Command, OutputFormat};
use config::{Config, Overrides};

/// Stable exit codes; documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const PERMISSION_DENIED: u8 = 4;
    pub const CONFLICT: u8 = 5;
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are not errors.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::from(exit::OK);
            }
            eprint!("{}", with_plain_usage(&e));
            return ExitCode::from(exit::USAGE);
        }
    };
    let format = cli.output.unwrap_or(if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(run(cli, format)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => ExitCode::from(report(&e, format)),
    }
}

/// clap's error text with its usage line replaced by the subcommand's own: for a mistyped
/// flag clap prints the flag it suggests as if it were required (`Usage: painel audit list
/// --since <SINCE>`), which reads as an instruction.
fn with_plain_usage(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let mut cur = cmd;
    for arg in std::env::args().skip(1).filter(|a| !a.starts_with('-')) {
        // Option values are skipped too: they name no subcommand.
        if let Some(sub) = cur.find_subcommand(&arg) {
            cur = sub.clone();
        }
    }
    let usage = cur.render_usage().to_string();
    text.lines()
        .map(|l| {
            if l.starts_with("Usage: ") {
                usage.trim_end().to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Prints one clear line on stderr (a JSON object with `-o json`) and picks the exit code.
fn report(e: &anyhow::Error, format: OutputFormat) -> u8 {
    // Already reported in the format the command asked for (`painel ssh-session`).
    if let Some(commands::ssh_session::Exit(code)) = e.downcast_ref() {
        return *code;
    }
    // The reader closed the pipe (`| head`): it has what it wanted, which is success.
    if output::is_broken_pipe(e) {
        return exit::OK;
    }
    let service = e.downcast_ref::<ServiceError>();
    let code = match service {
        Some(ServiceError::NotFound { .. }) => exit::NOT_FOUND,
        Some(ServiceError::PermissionDenied(_)) => exit::PERMISSION_DENIED,
        Some(ServiceError::Conflict(_) | ServiceError::NeedsConfirmation(_)) => exit::CONFLICT,
        Some(ServiceError::Validation(_)) => exit::USAGE,
        _ => exit::ERROR,
    };
    // Errors quote stored and typed text (names, usernames): never raw on a terminal.
    let message = output::clean(&format!("{e:#}"));
    if format.is_json() {
        let body = serde_json::json!({
            "error": {
                "kind": service.map(ServiceError::kind).unwrap_or("error"),
                "message": message,
                "fields": service.map(ServiceError::fields).unwrap_or(&[]),
                "exit_code": code,
            }
        });
        eprintln!("{}", output::escape_json_controls(&body.to_string()));
    } else {
        eprintln!("error: {message}");
    }
    code
}

fn init_logging(cfg: &Config) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    // The TUI owns the terminal, so logs go to a daily-rolling file, never to stderr.
    config::private_dir(&cfg.log_dir).ok()?;
    let appender = tracing_appender::rolling::daily(&cfg.log_dir, "painel.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

async fn run(cli: Cli, format: OutputFormat) -> Result<()> {
    let cfg = Config::load(&Overrides {
        config: cli.config.as_deref(),
        database_url: cli.database_url.as_deref(),
        data_dir: cli.data_dir.as_deref(),
        context: cli.context.as_deref(),
    })?;
    let _log_guard = init_logging(&cfg);
    if let Some(w) = config::data_dir_warning(&cfg.data_dir) {
        eprintln!("{w}");
    }
    let command = cli.command.unwrap_or(Command::Tui { route: None });
    match command {
        Command::Config(cli::ConfigCmd::Show) => commands::config_show(&cfg, format),
        Command::Context(cmd) => context::run(&cfg, cmd, &mut output::Printer::new(format)),
        Command::Demo { seed_only, headless } => {
            let mode = if headless {
                demo::Mode::Headless
            } else if seed_only {
                demo::Mode::SeedOnly
            } else {
                demo::Mode::Tui
            };
            demo::run(&cfg, cli.database_url.as_deref(), mode, format).await
        }
        Command::Bench(b) => bench::run(&cfg, b).await,
        Command::Sandbox(c) => sandbox_cmd::run(&cfg, c, format).await,
        Command::Doctor(a) => doctor::run(&cfg, a, format).await,
        other => {
            let db = commands::open_db(&cfg).await?;
            let result = commands::dispatch(&cfg, &db, other, format, cli.readonly).await;
            db.close().await;
            result
        }
    }
}
