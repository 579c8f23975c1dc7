//! Where the master key comes from: `PAINEL_MASTER_KEY` (plus `PAINEL_MASTER_KEY_PREVIOUS`
//! for values sealed before a rotation), else key files in the data dir:
//!
//! * `master.key` — the current key, base64, one line, mode 0600, created only by an explicit
//!   setup (`painel keys init`, `painel demo`): nothing else creates a master key
//!   (docs/adr/0013);
//! * `master.key.retired` — earlier keys, one per line, kept so backups and values written by
//!   a process that had not yet seen a rotation still open;
//! * `master.key.new` — a key staged by `keys rotate` while it re-encrypts; promoted to
//!   `master.key` once the database has committed. Found at start-up it means a rotation was
//!   interrupted after staging: it is loaded as a readable key so no value is ever stranded.
//!
//! A key file readable by group or others is refused rather than used.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{Keys, MasterKey, SecretError};

/// What the environment and the data dir say.
#[derive(Debug, Clone, Default)]
pub struct KeyConfig {
    pub env_key: Option<String>,
    pub env_previous: Option<String>,
    pub data_dir: PathBuf,
}

impl KeyConfig {
    /// Reads `PAINEL_MASTER_KEY` and `PAINEL_MASTER_KEY_PREVIOUS` (comma-separated).
    pub fn from_env(data_dir: &Path) -> KeyConfig {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        KeyConfig {
            env_key: var("PAINEL_MASTER_KEY"),
            env_previous: var("PAINEL_MASTER_KEY_PREVIOUS"),
            data_dir: data_dir.to_path_buf(),
        }
    }
}

/// The key files of one data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub current: PathBuf,
    pub retired: PathBuf,
    pub staged: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(KeyFiles),
}

#[derive(Debug, Clone)]
pub struct Loaded {
    pub keys: Keys,
    pub source: KeySource,
}

/// What to do when no master key is configured.
pub const NO_MASTER_KEY: &str = "no master key is configured (neither PAINEL_MASTER_KEY nor <data dir>/master.key): \
    run painel as the deployment's user, or set the deployment up once with `painel keys init`";

fn io(path: &Path, what: &str, e: std::io::Error) -> SecretError {
    SecretError::File(format!("cannot {what} {}: {e}", path.display()))
}

/// Loads the keys from the environment or the data dir; neither → [`SecretError::NoKey`].
/// Never creates a key: only [`create_key_file`] does, for an explicit setup.
pub fn load(cfg: &KeyConfig) -> Result<Loaded, SecretError> {
    if let Some(text) = &cfg.env_key {
        let current = MasterKey::parse(text).map_err(|e| SecretError::BadKey(format!("PAINEL_MASTER_KEY: {e}")))?;
        let mut retired = Vec::new();
        for part in cfg.env_previous.iter().flat_map(|p| p.split(',')) {
            if !part.trim().is_empty() {
                retired.push(
                    MasterKey::parse(part)
                        .map_err(|e| SecretError::BadKey(format!("PAINEL_MASTER_KEY_PREVIOUS: {e}")))?,
                );
            }
        }
        return Ok(Loaded {
            keys: Keys::new(current, retired),
            source: KeySource::Env,
        });
    }
    let files = KeyFiles::in_dir(&cfg.data_dir);
    if !files.current.exists() {
        return Err(SecretError::NoKey(NO_MASTER_KEY.into()));
    }
    let current = read_keys(&files.current)?
        .into_iter()
        .next()
        .ok_or_else(|| SecretError::File(format!("{} holds no key", files.current.display())))?;
    let mut retired = Vec::new();
    if files.retired.exists() {
        retired.extend(read_keys(&files.retired)?);
    }
    if files.staged.exists() {
        tracing::warn!(
            path = %files.staged.display(),
            "found a staged master key from an interrupted rotation; it is used for reading only — run `painel keys rotate` again"
        );
        retired.extend(read_keys(&files.staged)?);
    }
    Ok(Loaded {
        keys: Keys::new(current, retired),
        source: KeySource::File(files),
    })
}

/// The explicit setup: loads the configured key, or — when there is none — creates
/// `master.key` (0600, in a 0700 data dir). Returns whether a file was created (say so: it
/// must be backed up).
pub fn create_key_file(cfg: &KeyConfig) -> Result<(Loaded, bool), SecretError> {
    match load(cfg) {
        Ok(l) => return Ok((l, false)),
        Err(SecretError::NoKey(_)) => {}
        Err(e) => return Err(e),
    }
    let files = KeyFiles::in_dir(&cfg.data_dir);
    let key = MasterKey::generate()?;
    if !cfg.data_dir.exists() {
        fs::create_dir_all(&cfg.data_dir).map_err(|e| io(&cfg.data_dir, "create", e))?;
        fs::set_permissions(&cfg.data_dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io(&cfg.data_dir, "restrict", e))?;
    }
    write_new(&files.current, &format!("{}\n", key.encode()))?;
    tracing::warn!(
        path = %files.current.display(),
        key_id = %key.id(),
        "created a new master key file; back it up: without it the encrypted secrets cannot be read"
    );
    Ok((load(cfg)?, true))
}

/// Refuses files other users could read: a master key is only as secret as its file.
fn check_private(path: &Path) -> Result<(), SecretError> {
    let meta = fs::metadata(path).map_err(|e| io(path, "read", e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretError::File(format!(
            "{} is accessible by other users (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

fn read_keys(path: &Path) -> Result<Vec<MasterKey>, SecretError> {
    check_private(path)?;
    let text = fs::read_to_string(path).map_err(|e| io(path, "read", e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| MasterKey::parse(l).map_err(|e| SecretError::File(format!("{}: {e}", path.display()))))
        .collect()
}

/// Creates `path` with mode 0600 (failing if it exists) and syncs it to disk.
fn write_new(path: &Path, text: &str) -> Result<(), SecretError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, "create", e))?;
    f.write_all(text.as_bytes()).map_err(|e| io(path, "write", e))?;
    f.sync_all().map_err(|e| io(path, "sync", e))
}

fn append(path: &Path, text: &str) -> Result<(), SecretError> {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, "open", e))?;
    check_private(path)?;
    f.write_all(text.as_bytes()).map_err(|e| io(path, "write", e))?;
    f.sync_all().map_err(|e| io(path, "sync", e))
}

impl KeyFiles {
    pub fn in_dir(dir: &Path) -> KeyFiles {
        KeyFiles {
            current: dir.join("master.key"),
            retired: dir.join("master.key.retired"),
            staged: dir.join("master.key.new"),
        }
    }

    /// Writes `key` as the staged key before the database is re-encrypted under it, so a crash
    /// at any point leaves every value readable. A key already staged (an interrupted
    /// rotation) is moved to the retired file first, never overwritten.
    pub fn stage(&self, key: &MasterKey) -> Result<(), SecretError> {
        if self.staged.exists() {
            let old = fs::read_to_string(&self.staged).map_err(|e| io(&self.staged, "read", e))?;
            append(&self.retired, &old)?;
            fs::remove_file(&self.staged).map_err(|e| io(&self.staged, "remove", e))?;
        }
        write_new(&self.staged, &format!("{}\n", key.encode()))
    }

    /// After the re-encryption committed: the current key joins the retired ones and the
    /// staged key becomes current.
    pub fn promote(&self) -> Result<(), SecretError> {
        let current = fs::read_to_string(&self.current).map_err(|e| io(&self.current, "read", e))?;
        append(&self.retired, &current)?;
        fs::rename(&self.staged, &self.current).map_err(|e| io(&self.current, "replace", e))
    }

    /// The rotation rolled back: the staged key sealed nothing and can go.
    pub fn discard_staged(&self) -> Result<(), SecretError> {
        match fs::remove_file(&self.staged) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&self.staged, "remove", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path) -> KeyConfig {
        KeyConfig {
            data_dir: dir.to_path_buf(),
            ..KeyConfig::default()
        }
    }

    #[test]
    fn key_file_is_created_private_once_and_only_by_setup() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&cfg(dir.path())).unwrap_err().to_string();
        assert!(err.contains("painel keys init"), "{err}");
        assert!(!dir.path().join("master.key").exists(), "loading creates nothing");
        let (first, created) = create_key_file(&cfg(dir.path())).unwrap();
        assert!(created);
        let path = dir.path().join("master.key");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (again, created) = create_key_file(&cfg(dir.path())).unwrap();
        assert!(!created);
        assert_eq!(again.keys.current_id(), first.keys.current_id());
        assert_eq!(
            load(&cfg(dir.path())).unwrap().keys.current_id(),
            first.keys.current_id()
        );
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        create_key_file(&cfg(dir.path())).unwrap();
        let path = dir.path().join("master.key");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(&cfg(dir.path())).unwrap_err().to_string();
        assert!(err.contains("mode 644") && err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn env_key_wins_and_previous_keys_are_readable() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (MasterKey::from_bytes([1; 32]), MasterKey::from_bytes([2; 32]));
        let loaded = load(&KeyConfig {
            env_key: Some(a.encode()),
            env_previous: Some(format!("{}, ", b.encode())),
            data_dir: dir.path().to_path_buf(),
        })
        .unwrap();
        assert_eq!(loaded.source, KeySource::Env);
        assert_eq!(loaded.keys.current_id(), a.id());
        assert_eq!(loaded.keys.retired_ids(), vec![b.id()]);
        assert!(
            !dir.path().join("master.key").exists(),
            "no file when the env has the key"
        );
        let bad = load(&KeyConfig {
            env_key: Some("short".into()),
            ..KeyConfig::default()
        });
        assert!(bad.unwrap_err().to_string().contains("PAINEL_MASTER_KEY"));
    }

    #[test]
    fn staging_and_promotion_never_lose_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = create_key_file(&cfg(dir.path())).unwrap();
        let KeySource::File(files) = first.source else {
            panic!("file source")
        };
        let k2 = MasterKey::generate().unwrap();
        files.stage(&k2).unwrap();
        // Interrupted here: both keys open values, the old one still seals.
        let mid = load(&cfg(dir.path())).unwrap();
        assert_eq!(mid.keys.current_id(), first.keys.current_id());
        assert_eq!(mid.keys.retired_ids(), vec![k2.id()]);
        // A second rotation stages k3 without dropping k2.
        let k3 = MasterKey::generate().unwrap();
        files.stage(&k3).unwrap();
        files.promote().unwrap();
        let after = load(&cfg(dir.path())).unwrap();
        assert_eq!(after.keys.current_id(), k3.id());
        let mut retired = after.keys.retired_ids();
        retired.sort_by_key(|k| k.to_string());
        let mut want = vec![first.keys.current_id(), k2.id()];
        want.sort_by_key(|k| k.to_string());
        assert_eq!(retired, want);
        assert_eq!(
            fs::metadata(&files.retired).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
