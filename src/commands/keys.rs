//! `painel keys init|status|rotate`, and the audit keys every process gets from the
//! registered master key (docs/adr/0006, 0013).

use std::io::Write;

use anyhow::Result;
use backend::audit::{AuditKeys, CHECKPOINT_FILE};
use backend::secrets::{self, KeySource, Loaded, MasterKey};
use backend::sensitive::Proof;
use backend::{Actor, Db, ServiceError};
use serde::Serialize;

use super::auth::{key_config, Identity};
use crate::cli::KeysCmd;
use crate::config::Config;
use crate::output::{Printer, Record};
use crate::prompt;

/// The audit chain's keys, when this process holds a master key the database registered;
/// otherwise `None` (appends are then refused once the deployment is keyed, with a message
/// saying why). Loading never creates a key.
pub async fn audit_keys(cfg: &Config, db: &Db) -> Option<AuditKeys> {
    let loaded = match secrets::load(&key_config(cfg)) {
        Ok(l) => l,
        Err(e) => {
            tracing::debug!(error = %e, "no master key: the audit chain is not keyed by this process");
            return None;
        }
    };
    match secrets::registered(db, &loaded.keys).await {
        Ok(keys) if keys.can_seal() => {
            Some(AuditKeys::from_keys(&keys).with_checkpoint_file(&cfg.data_dir.join(CHECKPOINT_FILE)))
        }
        Ok(_) => None,
        Err(e) => {
            tracing::debug!(error = %e, "master key not registered: the audit chain is not keyed by this process");
            None
        }
    }
}

/// The explicit setup shared by `keys init` and `painel demo`: a key (created when none is
/// configured, and said so), registered with `db`. Returns `db` keying its audit rows.
pub async fn setup(cfg: &Config, db: &Db, actor: &Actor) -> Result<(Db, secrets::InitReport)> {
    let (loaded, created) = secrets::create_key_file(&key_config(cfg))?;
    if created {
        eprintln!(
            "created a new master key {} in {} — back it up, apart from database backups: without it the \
             encrypted secrets cannot be read and the audit chain cannot be verified",
            loaded.keys.current_id(),
            cfg.data_dir.join("master.key").display()
        );
    }
    let report = secrets::init(db, actor, &loaded.keys).await?;
    let keyed = AuditKeys::from_keys(&loaded.keys).with_checkpoint_file(&cfg.data_dir.join(CHECKPOINT_FILE));
    Ok((db.clone().with_audit_keys(Some(keyed)), report))
}

#[derive(Serialize)]
struct KeyStatus {
    key_id: String,
    source: String,
    /// Whether this database registered the key (`painel keys init`); unregistered keys
    /// neither seal nor open.
    registered: bool,
    retired: Vec<String>,
}

impl Record for KeyStatus {
    fn columns() -> &'static [&'static str] {
        &["key_id", "source", "registered", "retired"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.key_id.clone(),
            self.source.clone(),
            if self.registered { "yes" } else { "no" }.to_owned(),
            self.retired.join(" "),
        ]
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

#[derive(Serialize)]
struct Initialised(secrets::InitReport);

impl Record for Initialised {
    fn columns() -> &'static [&'static str] {
        &["key_id", "registered", "resealed"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.0.key_id.clone(),
            if self.0.registered { "yes" } else { "already" }.to_owned(),
            self.0.resealed.to_string(),
        ]
    }
}

fn source_of(loaded: &Loaded) -> String {
    match &loaded.source {
        KeySource::Env => "env PAINEL_MASTER_KEY".to_owned(),
        KeySource::File(f) => format!("file {}", f.current.display()),
    }
}

pub async fn run(cfg: &Config, db: &Db, id: &Identity, cmd: KeysCmd, out: &mut Printer) -> Result<()> {
    if let KeysCmd::Init = cmd {
        let (_, report) = setup(cfg, db, id.actor()).await?;
        if report.registered {
            eprintln!(
                "master key {} registered; the audit chain is keyed from now on — run `painel worker` \
                 (it writes signed audit checkpoints) or `painel audit checkpoint` regularly",
                report.key_id
            );
        } else {
            eprintln!("master key {} was already registered", report.key_id);
        }
        return out.one(&Initialised(report));
    }
    let loaded = secrets::load(&key_config(cfg))?;
    let source = source_of(&loaded);
    match cmd {
        KeysCmd::Init => Ok(()),
        KeysCmd::Status => {
            let registered = secrets::registered(db, &loaded.keys).await.is_ok_and(|k| k.can_seal());
            out.one(&KeyStatus {
                key_id: loaded.keys.current_id().to_string(),
                source,
                registered,
                retired: loaded.keys.retired_ids().iter().map(ToString::to_string).collect(),
            })
        }
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
            let keys = secrets::registered(db, &loaded.keys).await?;
            let proof = Proof::confirm(&confirm).with_code(code.as_deref(), &keys);
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
            if out.format.is_json() {
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
