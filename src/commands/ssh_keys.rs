//! `painel ssh-keys add|list|remove|sync`: operators' keys in the database, and painel's
//! block of the service account's `authorized_keys` regenerated from them after each change
//! (docs/adr/0012-jump-host.md). Run as the `painel` service account.

use anyhow::{Context, Result};
use backend::sensitive::Proof;
use backend::sshkeys::{self, SshKey};
use backend::{Actor, Db};
use clap::Subcommand;
use serde::Serialize;

use crate::authorized_keys;
use crate::commands::auth;
use crate::config::Config;
use crate::output::{Printer, Record};

#[derive(Subcommand, Debug)]
pub enum SshKeysCmd {
    /// Register a public key for an account (sensitive: type the username with --confirm).
    Add {
        #[arg(long)]
        user: String,
        /// The public key file (`id_ed25519.pub`); `-` reads standard input.
        #[arg(long)]
        key_file: String,
        /// The username, typed again.
        #[arg(long)]
        confirm: String,
        /// A current 2FA code (needed unless one was given in the last 5 minutes).
        #[arg(long)]
        totp: Option<String>,
    },
    /// List keys (of one account with --user).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Remove a key by id or fingerprint; its SSH sessions end within a minute.
    Remove {
        #[arg(long)]
        user: String,
        /// Key id or SHA256 fingerprint.
        key: String,
        /// The username, typed again.
        #[arg(long)]
        confirm: String,
        #[arg(long)]
        totp: Option<String>,
    },
    /// Rewrite painel's block of authorized_keys from the database.
    Sync,
}

pub async fn run(cfg: &Config, db: &Db, actor: &Actor, cmd: SshKeysCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        SshKeysCmd::Add {
            user,
            key_file,
            confirm,
            totp,
        } => {
            let text = if key_file == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read the key from standard input")?
            } else {
                std::fs::read_to_string(&key_file).with_context(|| format!("cannot read {key_file}"))?
            };
            let keys = auth::step_up_keys(cfg, db, totp.as_deref()).await?;
            let proof = Proof::confirm(&confirm).with_step_up(totp.as_deref(), keys.as_ref());
            let key = sshkeys::add(db, actor, &user, &text, &proof).await?;
            sync(cfg, db).await?;
            out.one(&KeyRow(key))
        }
        SshKeysCmd::List { user } => {
            let keys = sshkeys::list(db, actor, user.as_deref()).await?;
            out.list(&keys.into_iter().map(KeyRow).collect::<Vec<_>>())
        }
        SshKeysCmd::Remove {
            user,
            key,
            confirm,
            totp,
        } => {
            let keys = auth::step_up_keys(cfg, db, totp.as_deref()).await?;
            let proof = Proof::confirm(&confirm).with_step_up(totp.as_deref(), keys.as_ref());
            let removed = sshkeys::remove(db, actor, &user, &key, &proof).await?;
            sync(cfg, db).await?;
            out.one(&KeyRow(removed))
        }
        SshKeysCmd::Sync => {
            // Same gate as listing: only those who manage keys rewrite the file.
            sshkeys::list(db, actor, None).await?;
            let n = sync(cfg, db).await?;
            eprintln!("{} key(s) in {}", n, cfg.authorized_keys.display());
            Ok(())
        }
    }
}

/// Rewrites the block from the database; returns how many keys it holds.
pub async fn sync(cfg: &Config, db: &Db) -> Result<usize> {
    let lines = sshkeys::authorized_lines(db).await?;
    let exe = authorized_keys::painel_exe()?;
    authorized_keys::write(&cfg.authorized_keys, &exe, &lines).with_context(|| {
        format!(
            "the database changed but {} could not be rewritten (fix it, then run `painel ssh-keys sync`)",
            cfg.authorized_keys.display()
        )
    })?;
    Ok(lines.len())
}

#[derive(Serialize)]
#[serde(transparent)]
struct KeyRow(SshKey);

impl Record for KeyRow {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "user",
            "type",
            "fingerprint",
            "label",
            "created_at",
            "created_by",
            "last_used_at",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let k = &self.0;
        // Stored text is hostile: the label came from whoever pasted the key.
        let clean = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
        vec![
            k.id.to_string(),
            clean(&k.username),
            k.key_type.clone(),
            k.fingerprint.clone(),
            clean(&k.label),
            k.created_at.to_rfc3339(),
            clean(&k.created_by),
            k.last_used_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ]
    }
}
