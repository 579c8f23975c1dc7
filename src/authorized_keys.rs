//! painel's block of the service account's `authorized_keys` (docs/adr/0012-jump-host.md).
//!
//! One line per key, regenerated from the database:
//! `restrict,pty,command="<painel> ssh-session --key <id>" type base64`. Lines outside the
//! marked block are kept as they are. Writers take a cross-process `flock` on a lock file
//! beside it, write a 0600 temp file, fsync it, rename it over the old one and fsync the
//! directory, so sshd reads either the old file or the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const BEGIN: &str = "# BEGIN painel — managed by `painel ssh-keys`; edits inside this block are overwritten";
pub const END: &str = "# END painel";

/// The forced command carries only the painel binary's path and the key's digits: sshd runs
/// it through the account's shell, so neither may hold anything the shell would interpret.
pub fn command_line(exe: &Path, id: i64, key: &str) -> Result<String> {
    let exe_text = exe.to_str().unwrap_or_default();
    let safe = exe.is_absolute()
        && !exe_text.is_empty()
        && exe_text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+'));
    if !safe {
        bail!(
            "the painel binary's path {} cannot go into a forced command: use an absolute path of letters, digits and / . _ - +",
            exe.display()
        );
    }
    if id < 0 || key.chars().any(|c| c.is_control() || c == '"') {
        bail!("refusing to write a malformed key line for key {id}");
    }
    Ok(format!(
        "restrict,pty,command=\"{exe_text} ssh-session --key {id}\" {key}"
    ))
}

/// The painel binary as installed: the forced command must name a path that never changes.
pub fn painel_exe() -> Result<PathBuf> {
    std::env::current_exe().context("cannot tell where the painel binary is")
}

/// The lines of the marked block, or `None` when the file has no block.
pub fn block_of(text: &str) -> Option<Vec<&str>> {
    let mut lines = text.lines();
    lines.by_ref().find(|l| *l == BEGIN)?;
    Some(lines.take_while(|l| *l != END).collect())
}

/// `text` with its block replaced by `block` (appended when there was none).
fn splice(text: &str, block: &[String]) -> String {
    let mut out = String::new();
    let mut inside = false;
    let mut placed = false;
    let emit = |out: &mut String| {
        out.push_str(BEGIN);
        out.push('\n');
        for l in block {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str(END);
        out.push('\n');
    };
    for line in text.lines() {
        if line == BEGIN && !placed {
            inside = true;
            emit(&mut out);
            placed = true;
        } else if inside {
            inside = line != END;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !placed {
        emit(&mut out);
    }
    out
}

/// Rewrites `path`'s block with `keys` (`(id, "type base64")`), keeping every other line.
pub fn write(path: &Path, exe: &Path, keys: &[(i64, String)]) -> Result<()> {
    let block = keys
        .iter()
        .map(|(id, key)| command_line(exe, *id, key))
        .collect::<Result<Vec<_>>>()?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("authorized_keys");
    let lock_path = dir.join(format!(".{name}.painel-lock"));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .with_context(|| format!("cannot open the lock file {}", lock_path.display()))?;
    // Held until `lock` drops at the end: concurrent `painel ssh-keys` runs (other processes,
    // other operators) take turns, and each reads the file the previous one wrote.
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    let old = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let new = splice(&old, &block);
    let tmp = dir.join(format!(".{name}.painel-tmp"));
    let _ = fs::remove_file(&tmp);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(new.as_bytes())?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        f.sync_all()
            .with_context(|| format!("cannot fsync {}", tmp.display()))?;
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot fsync {}", dir.display()))?;
    drop(lock);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIJ1ADrjo5vknsGcOgT5c1Rf6O8MCtbFuyC79/LU/syW";

    #[test]
    fn lines_force_the_session_command() {
        let l = command_line(Path::new("/usr/local/bin/painel"), 42, KEY).unwrap();
        assert_eq!(
            l,
            format!("restrict,pty,command=\"/usr/local/bin/painel ssh-session --key 42\" {KEY}")
        );
        assert!(command_line(Path::new("/opt/my painel/painel"), 1, KEY).is_err());
        assert!(command_line(Path::new("/opt/$(id)/painel"), 1, KEY).is_err());
        assert!(command_line(Path::new("painel"), 1, KEY).is_err());
        assert!(command_line(Path::new("/p"), 1, &format!("{KEY}\nssh-rsa x")).is_err());
    }

    #[test]
    fn the_block_is_replaced_and_other_lines_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssh/authorized_keys");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "ssh-ed25519 AAAA mine\n").unwrap();
        let exe = Path::new("/usr/bin/painel");
        write(&path, exe, &[(1, KEY.into()), (2, KEY.into())]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("ssh-ed25519 AAAA mine\n"), "{text}");
        assert_eq!(block_of(&text).unwrap().len(), 2);
        write(&path, exe, &[(2, KEY.into())]).unwrap();
        fs::write(&path, format!("{}# after\n", fs::read_to_string(&path).unwrap())).unwrap();
        write(&path, exe, &[]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("ssh-ed25519 AAAA mine\n{BEGIN}\n{END}\n# after\n"));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
