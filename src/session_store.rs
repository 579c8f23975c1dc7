//! Where the batch mode and the TUI keep the session token between runs: the kernel
//! keyutils keyring (works on a headless jump host with a session keyring, see
//! shared/STACK.md), else a 0600 file in the data dir. One entry per database, so logging
//! in to a staging database does not log you out of production.
//!
//! `PAINEL_SESSION_STORE=keyring|file` forces one store (`auto`, the default, tries the
//! keyring first).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use keyring_core::api::CredentialStore;
use keyring_core::Entry;
use sha2::{Digest, Sha256};

use crate::config::Config;

const SERVICE: &str = "painel";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Auto,
    Keyring,
    File,
}

pub struct SessionStore {
    account: String,
    file: PathBuf,
    mode: Mode,
}

/// Where a saved token went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    Keyring,
    File(PathBuf),
}

impl std::fmt::Display for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Saved::Keyring => f.write_str("the kernel keyring"),
            Saved::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Whether this process has a session keyring of its own. Without one (cron, systemd, some
/// sandboxes) the kernel falls back to the user's default session keyring, where a key can be
/// written but is not found again by the next process: keep the token in the file instead.
fn has_session_keyring() -> bool {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    match (
        KeyRing::from_special_id(KeyRingIdentifier::Session, false),
        KeyRing::from_special_id(KeyRingIdentifier::UserSession, false),
    ) {
        (Ok(session), Ok(user_default)) => session != user_default,
        (Ok(_), Err(_)) => true,
        _ => false,
    }
}

fn entry(account: &str) -> Result<Entry> {
    if !has_session_keyring() {
        bail!("keyutils: this process has no session keyring (log in over SSH, or PAINEL_SESSION_STORE=file)");
    }
    let store: Arc<CredentialStore> =
        linux_keyutils_keyring_store::Store::new().map_err(|e| anyhow::anyhow!("keyutils: {e}"))?;
    Entry::new_in_store(&store, SERVICE, account).map_err(|e| anyhow::anyhow!("keyutils: {e}"))
}

impl SessionStore {
    pub fn new(cfg: &Config) -> Result<SessionStore> {
        SessionStore::for_database(cfg, &cfg.database_url)
    }

    /// The entry of the database at `url` (the demo's own database).
    pub fn for_database(cfg: &Config, url: &str) -> Result<SessionStore> {
        let digest = Sha256::digest(url.as_bytes());
        let id: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let mode = match std::env::var("PAINEL_SESSION_STORE").as_deref() {
            Ok("keyring") => Mode::Keyring,
            Ok("file") => Mode::File,
            Ok("auto") | Ok("") | Err(_) => Mode::Auto,
            Ok(other) => bail!("PAINEL_SESSION_STORE={other}: expected auto, keyring or file"),
        };
        Ok(SessionStore {
            account: format!("session:{id}"),
            file: cfg.data_dir.join("sessions").join(format!("{id}.token")),
            mode,
        })
    }

    /// The stored token, if any (keyring first, then the file).
    pub fn load(&self) -> Result<Option<String>> {
        if self.mode != Mode::File {
            match entry(&self.account).and_then(|e| e.get_password().map_err(anyhow::Error::from)) {
                Ok(t) => return Ok(Some(t)),
                Err(e) if self.mode == Mode::Keyring => {
                    if is_missing(&e) {
                        return Ok(None);
                    }
                    return Err(e.context("cannot read the session from the kernel keyring"));
                }
                Err(_) => {}
            }
        }
        match fs::read_to_string(&self.file) {
            Ok(t) => {
                let mode = fs::metadata(&self.file)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    bail!(
                        "{} is accessible by other users (mode {mode:o}): remove it and run painel login",
                        self.file.display()
                    );
                }
                Ok(Some(t.trim().to_owned()).filter(|t| !t.is_empty()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.file.display())),
        }
    }

    /// Saves the token: the keyring when it works, else the file (and says why in the log).
    pub fn save(&self, token: &str) -> Result<Saved> {
        if self.mode != Mode::File {
            // Read back what was written: a process without a session keyring of its own can
            // have the write accepted (into the user's default keyring) and every later read
            // refused, which would lose the session.
            let stored = entry(&self.account).and_then(|e| {
                e.set_password(token)?;
                match e.get_password() {
                    Ok(back) if back == token => Ok(()),
                    Ok(_) => Err(anyhow::anyhow!("keyutils: the token read back differs")),
                    Err(err) => Err(anyhow::anyhow!("keyutils: cannot read the token back: {err}")),
                }
            });
            match stored {
                Ok(()) => {
                    // A stale file token from an earlier fallback must not shadow this one
                    // later, when the keyring has been cleared.
                    self.remove_file()?;
                    return Ok(Saved::Keyring);
                }
                Err(e) if self.mode == Mode::Keyring => {
                    return Err(e.context("cannot store the session in the kernel keyring"))
                }
                Err(e) => {
                    tracing::info!(error = %e, "kernel keyring unavailable; keeping the session token in a 0600 file");
                    // A half-written keyring entry must not shadow the file later.
                    if let Ok(e) = entry(&self.account) {
                        let _ = e.delete_credential();
                    }
                }
            }
        }
        if let Some(dir) = self.file.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        self.remove_file()?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.file)
            .with_context(|| format!("cannot create {}", self.file.display()))?;
        f.write_all(token.as_bytes())?;
        f.write_all(b"\n")?;
        Ok(Saved::File(self.file.clone()))
    }

    /// Forgets the token everywhere it may be.
    pub fn clear(&self) -> Result<()> {
        if self.mode != Mode::File {
            if let Ok(e) = entry(&self.account) {
                match e.delete_credential() {
                    Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                    Err(err) if self.mode == Mode::Keyring => {
                        return Err(anyhow::anyhow!(
                            "cannot remove the session from the kernel keyring: {err}"
                        ))
                    }
                    Err(_) => {}
                }
            }
        }
        self.remove_file()
    }

    fn remove_file(&self) -> Result<()> {
        match fs::remove_file(&self.file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", self.file.display())),
        }
    }
}

fn is_missing(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<keyring_core::Error>(),
        Some(keyring_core::Error::NoEntry)
    )
}
