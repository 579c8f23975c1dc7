//! `painel 2fa …` and `painel keys …`.

use std::io::Write;

use anyhow::Result;
use backend::identity::totp;
use backend::sensitive::Proof;
use backend::Db;
use serde::Serialize;

use super::auth::{load_keys, password_from, Identity};
use crate::cli::TwoFaCmd;
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
            let keys = load_keys(cfg, db).await?;
            let e = totp::enroll(db, &keys, actor, &password).await?;
            if out.format.is_json() {
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
            let keys = load_keys(cfg, db).await?;
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
            let keys = load_keys(cfg, db).await?;
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
            let keys = load_keys(cfg, db).await?;
            let proof = Proof::confirm("").with_code(code.as_deref(), &keys);
            let codes = totp::regenerate_recovery_codes(db, actor, &proof, &password).await?;
            print_codes(out, codes)
        }
    }
}
