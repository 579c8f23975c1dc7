//! `painel 2fa …` and `painel keys …`.

use std::io::Write;

use anyhow::Result;
use backend::identity::totp;
use backend::secrets::{self, KeySource, MasterKey};
use backend::sensitive::Proof;
use backend::{Db, ServiceError};
use serde::Serialize;

use super::auth::{key_config, load_keys, password_from, Identity};
use crate::cli::{KeysCmd, OutputFormat, TwoFaCmd};
use crate::config::Config;
use crate::output::{Printer, Record};
use crate::prompt;

#[derive(Serialize)]
struct Code {
    recovery_code: String,
}

impl Record for Code {
    fn columns() -> &'static [&'static str] {
        &["recovery_code"]
    }
    fn cells(&self) -> Vec<String> {
        vec![self.recovery_code.clone()]
    }
}

fn print_codes(out: &mut Printer, codes: Vec<String>) -> Result<()> {
    eprintln!(
        "recovery codes — each works once, instead of a code from the app; store them now, they are not shown again:"
    );
    let rows: Vec<Code> = codes.into_iter().map(|recovery_code| Code { recovery_code }).collect();
    out.list(&rows)
}

/// The account's password, asked again before its second factor changes.
fn password_again(stdin: bool) -> Result<String> {
    password_from(stdin, "Your password", false)
}

/// A current code, prompted for on a terminal when `--totp` is missing.
fn current_code(code: Option<String>) -> Result<Option<String>> {
    match code {
        Some(c) => Ok(Some(c)),
        None if prompt::interactive() => Ok(Some(prompt::line("Current 2FA code (or a recovery code)")?)),
        None => Ok(None),
    }
}

pub async fn two_fa(cfg: &Config, db: &Db, id: &Identity, cmd: TwoFaCmd, out: &mut Printer) -> Result<()> {
    let actor = id.actor();
    match cmd {
        TwoFaCmd::Enroll { password_stdin } => {
            let password = password_again(password_stdin)?;
            let keys = load_keys(cfg)?;
            let e = totp::enroll(db, &keys, actor, &password).await?;
            if out.format == OutputFormat::Json {
                let mut stdout = std::io::stdout().lock();
                serde_json::to_writer_pretty(&mut stdout, &e)?;
                writeln!(stdout)?;
            } else {
                let qr = crate::qr::render(&e.uri)?;
                println!("{qr}");
                println!();
                println!("Scan the code with an authenticator app, or type the secret:");
                println!("  secret:  {}", e.secret);
                println!("  account: {} (issuer {})", e.username, totp::ISSUER);
                println!("  uri:     {}", e.uri);
                println!();
                println!("Then turn 2FA on with: painel 2fa enable --code <6 digits from the app>");
            }
            Ok(())
        }
        TwoFaCmd::Enable { code, password_stdin } => {
            let password = password_again(password_stdin)?;
            let keys = load_keys(cfg)?;
            let codes = totp::enable(db, &keys, actor, &code, &password).await?;
            eprintln!("2FA is on for {}", actor.name);
            print_codes(out, codes)
        }
        TwoFaCmd::Disable {
            confirm,
            totp: code,
            password_stdin,
        } => {
            let password = password_again(password_stdin)?;
            let code = current_code(code)?;
            let keys = load_keys(cfg)?;
            let proof = Proof::confirm(&confirm).with_code(code.as_deref(), &keys);
            totp::disable(db, actor, &proof, &password).await?;
            eprintln!("2FA is off for {}", actor.name);
            Ok(())
        }
        TwoFaCmd::RecoveryCodes {
            totp: code,
            password_stdin,
        } => {
            let password = password_again(password_stdin)?;
            let code = current_code(code)?;
            let keys = load_keys(cfg)?;
            let proof = Proof::confirm("").with_code(code.as_deref(), &keys);
            let codes = totp::regenerate_recovery_codes(db, actor, &proof, &password).await?;
            print_codes(out, codes)
        }
    }
}

#[derive(Serialize)]
struct KeyStatus {
    key_id: String,
    source: String,
    retired: Vec<String>,
}

impl Record for KeyStatus {
    fn columns() -> &'static [&'static str] {
        &["key_id", "source", "retired"]
    }
    fn cells(&self) -> Vec<String> {
        vec![self.key_id.clone(), self.source.clone(), self.retired.join(" ")]
    }
}

#[derive(Serialize)]
struct Rewrapped<'a>(&'a secrets::RotateReport);

impl Record for Rewrapped<'_> {
    fn columns() -> &'static [&'static str] {
        &["old_key_id", "new_key_id", "rewrapped"]
    }
    fn cells(&self) -> Vec<String> {
        let n: i64 = self.0.columns.iter().map(|c| c.rewrapped).sum();
        vec![self.0.old_key_id.clone(), self.0.new_key_id.clone(), n.to_string()]
    }
}

pub async fn keys(cfg: &Config, db: &Db, id: &Identity, cmd: KeysCmd, out: &mut Printer) -> Result<()> {
    let loaded = secrets::load(&key_config(cfg))?;
    if loaded.created {
        eprintln!(
            "created a new master key in {} — back it up: without it the encrypted secrets cannot be read",
            cfg.data_dir.join("master.key").display()
        );
    }
    let source = match &loaded.source {
        KeySource::Env => "env PAINEL_MASTER_KEY".to_owned(),
        KeySource::File(f) => format!("file {}", f.current.display()),
    };
    match cmd {
        KeysCmd::Status => out.one(&KeyStatus {
            key_id: loaded.keys.current_id().to_string(),
            source,
            retired: loaded.keys.retired_ids().iter().map(ToString::to_string).collect(),
        }),
        KeysCmd::Rotate {
            confirm,
            totp: code,
            new_key_stdin,
        } => {
            let new = if new_key_stdin {
                MasterKey::parse(&prompt::stdin_line()?)?
            } else if loaded.source == KeySource::Env {
                return Err(ServiceError::invalid(
                    "new_key",
                    "the master key comes from PAINEL_MASTER_KEY: give the new one with --new-key-stdin",
                )
                .into());
            } else {
                MasterKey::generate()?
            };
            let proof = Proof::confirm(&confirm).with_code(code.as_deref(), &loaded.keys);
            let report = match &loaded.source {
                KeySource::File(files) => {
                    // Staged before the database changes, promoted after it commits: a crash
                    // anywhere leaves every value readable (docs/adr/0006).
                    files.stage(&new)?;
                    match secrets::rotate(db, id.actor(), &loaded.keys, &new, &proof).await {
                        Ok(r) => {
                            files.promote()?;
                            r
                        }
                        Err(e) => {
                            files.discard_staged()?;
                            return Err(e.into());
                        }
                    }
                }
                KeySource::Env => {
                    let r = secrets::rotate(db, id.actor(), &loaded.keys, &new, &proof).await?;
                    eprintln!(
                        "now set PAINEL_MASTER_KEY to the new key and PAINEL_MASTER_KEY_PREVIOUS to the old one \
                         (keep the old one while other processes or backups still use it)"
                    );
                    r
                }
            };
            eprintln!(
                "re-encrypted {} value(s) under key {}",
                report.columns.iter().map(|c| c.rewrapped).sum::<i64>(),
                report.new_key_id
            );
            if out.format == OutputFormat::Json {
                let mut stdout = std::io::stdout().lock();
                serde_json::to_writer_pretty(&mut stdout, &report)?;
                writeln!(stdout)?;
                Ok(())
            } else {
                out.one(&Rewrapped(&report))
            }
        }
    }
}
