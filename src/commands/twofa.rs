//! `painel 2fa …` and `painel keys …`.

use std::io::Write;

use anyhow::Result;
use backend::identity::totp;
use backend::sensitive::Proof;
use backend::Db;
use serde::Serialize;

use super::auth::{load_keys, Identity};
use crate::cli::{OutputFormat, TwoFaCmd};
use crate::config::Config;
use crate::output::{Printer, Record};

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

pub async fn two_fa(cfg: &Config, db: &Db, id: &Identity, cmd: TwoFaCmd, out: &mut Printer) -> Result<()> {
    let actor = id.actor();
    match cmd {
        TwoFaCmd::Enroll => {
            let keys = load_keys(cfg, db).await?;
            let e = totp::enroll(db, &keys, actor).await?;
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
        TwoFaCmd::Enable { code } => {
            let keys = load_keys(cfg, db).await?;
            let codes = totp::enable(db, &keys, actor, &code).await?;
            eprintln!("2FA is on for {}", actor.name);
            print_codes(out, codes)
        }
        TwoFaCmd::Disable { confirm, totp: code } => {
            let keys = load_keys(cfg, db).await?;
            totp::disable(db, actor, &Proof::confirm(&confirm).with_code(code.as_deref(), &keys)).await?;
            eprintln!("2FA is off for {}", actor.name);
            Ok(())
        }
        TwoFaCmd::RecoveryCodes { totp: code } => {
            let keys = load_keys(cfg, db).await?;
            let proof = Proof::confirm("").with_code(code.as_deref(), &keys);
            let codes = totp::regenerate_recovery_codes(db, actor, &proof).await?;
            print_codes(out, codes)
        }
    }
}
