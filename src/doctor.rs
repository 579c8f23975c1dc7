//! `painel doctor`: checks the jump-host deployment (docs/adr/0012-jump-host.md) — who owns
//! and can read the data dir, the config, the master key and the database, whether painel's
//! block of `authorized_keys` matches the database and nothing else in that file opens a
//! shell, and (as root) whether sshd would let clients bend the forced command.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::authorized_keys;
use crate::cli::OutputFormat;
use crate::commands::ssh_session::Exit;
use crate::config::Config;
use crate::output::{Printer, Record};

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The service account that must own painel's files (checked as root; otherwise the
    /// files must belong to whoever runs doctor).
    #[arg(long, default_value = "painel")]
    pub service_user: String,
    /// The sshd binary whose effective settings are checked (as root).
    #[arg(long, default_value = "/usr/sbin/sshd")]
    pub sshd: PathBuf,
    /// sshd's config file (default: its own default).
    #[arg(long)]
    pub sshd_config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub status: Status,
    pub detail: String,
}

impl Record for Check {
    fn columns() -> &'static [&'static str] {
        &["check", "status", "detail"]
    }
    fn cells(&self) -> Vec<String> {
        let clean = |s: &str| s.chars().filter(|c| !c.is_control()).collect::<String>();
        vec![clean(&self.check), self.status.as_str().to_owned(), clean(&self.detail)]
    }
}

fn check(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Check {
    Check {
        check: name.into(),
        status,
        detail: detail.into(),
    }
}

pub async fn run(cfg: &Config, a: DoctorArgs, format: OutputFormat) -> Result<()> {
    let me = backend::actor::OsUser::current();
    let root = me.uid == Some(0);
    let mut checks = Vec::new();
    let owner = if root {
        match passwd_uid(&a.service_user) {
            Some(u) => Some(u),
            None => {
                checks.push(check(
                    "service_user",
                    Status::Fail,
                    format!(
                        "no OS user {} (useradd -r -m -d /var/lib/painel -s /bin/sh painel)",
                        a.service_user
                    ),
                ));
                None
            }
        }
    } else {
        if me.name.as_deref() != Some(a.service_user.as_str()) {
            checks.push(check(
                "service_user",
                Status::Warn,
                format!(
                    "running as {}, not {}: files are checked against the current user",
                    me.label(),
                    a.service_user
                ),
            ));
        }
        me.uid
    };
    checks.push(path_check("data_dir", &cfg.data_dir, owner, true, true));
    checks.push(path_check("config_file", &cfg.config_file, owner, false, false));
    checks.push(path_check(
        "master_key",
        &cfg.data_dir.join("master.key"),
        owner,
        false,
        false,
    ));
    if let Some(file) = sqlite_file(&cfg.database_url) {
        checks.push(path_check("database_file", &file, owner, false, true));
        for suffix in ["-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", file.display()));
            if p.exists() {
                checks.push(path_check(&format!("database_file{suffix}"), &p, owner, false, true));
            }
        }
    }
    checks.push(database_url_check(cfg));
    checks.extend(authorized_keys_checks(cfg, owner).await);
    checks.push(sshd_check(&a, root));
    Printer::new(format).list(&checks)?;
    if checks.iter().any(|c| c.status == Status::Fail) {
        return Err(Exit(crate::exit::ERROR).into());
    }
    Ok(())
}

/// Directories 0700, files 0600 (no group or other bits), owned by the service account.
/// `required`: missing is a failure (else skipped).
fn path_check(name: &str, path: &Path, owner: Option<u32>, dir: bool, required: bool) -> Check {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) if !required => return check(name, Status::Skip, format!("{} does not exist", path.display())),
        Err(e) => return check(name, Status::Fail, format!("{}: {e}", path.display())),
    };
    let mode = meta.permissions().mode() & 0o7777;
    let mut problems = Vec::new();
    if meta.file_type().is_symlink() {
        problems.push("is a symlink".to_owned());
    }
    if dir != meta.is_dir() {
        problems.push(if dir { "is not a directory" } else { "is not a file" }.to_owned());
    }
    if mode & 0o077 != 0 {
        problems.push(format!("mode {mode:04o}, want {}", if dir { "0700" } else { "0600" }));
    }
    if let Some(uid) = owner.filter(|u| *u != meta.uid()) {
        problems.push(format!("owned by uid {}, want uid {uid}", meta.uid()));
    }
    if problems.is_empty() {
        check(
            name,
            Status::Ok,
            format!("{} {mode:04o} uid {}", path.display(), meta.uid()),
        )
    } else {
        check(
            name,
            Status::Fail,
            format!("{}: {}", path.display(), problems.join("; ")),
        )
    }
}

fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite://")?;
    Some(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

/// Where the database credential lives decides who else can read it.
fn database_url_check(cfg: &Config) -> Check {
    let source = cfg
        .settings
        .iter()
        .find(|s| s.key == "database_url")
        .map_or("default", |s| s.source);
    match source {
        "env" => check(
            "database_url",
            Status::Warn,
            "from PAINEL_DATABASE_URL: every process of this user and its children can read it; prefer the 0600 config file",
        ),
        "file" => check(
            "database_url",
            Status::Ok,
            format!("in {} (see config_file for who can read it)", cfg.config_file.display()),
        ),
        "flag" => check(
            "database_url",
            Status::Warn,
            "given with --database-url: visible in the process list to every local user",
        ),
        _ => check(
            "database_url",
            Status::Ok,
            "the embedded SQLite file (see database_file for who can read it)",
        ),
    }
}

async fn authorized_keys_checks(cfg: &Config, owner: Option<u32>) -> Vec<Check> {
    let path = &cfg.authorized_keys;
    let mut out = Vec::new();
    if let Some(dir) = path.parent() {
        out.push(path_check("ssh_dir", dir, owner, true, false));
    }
    out.push(path_check("authorized_keys", path, owner, false, false));
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(_) => return out,
    };
    let foreign: Vec<&str> = outside_block(&text)
        .into_iter()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    if !foreign.is_empty() {
        out.push(check(
            "authorized_keys_other_lines",
            Status::Fail,
            format!(
                "{} line(s) outside painel's block: they bypass the forced command (a shell as the service account)",
                foreign.len()
            ),
        ));
    }
    let expected = match crate::commands::open_db(cfg).await {
        Ok(db) => {
            let lines = backend::sshkeys::authorized_lines(&db).await;
            db.close().await;
            lines
        }
        Err(e) => {
            out.push(check(
                "authorized_keys_match",
                Status::Fail,
                format!("cannot open the database: {e}"),
            ));
            return out;
        }
    };
    let expected = match expected.map_err(anyhow::Error::from).and_then(|keys| {
        let exe = authorized_keys::painel_exe()?;
        keys.iter()
            .map(|(id, k)| authorized_keys::command_line(&exe, *id, k))
            .collect::<Result<Vec<_>>>()
    }) {
        Ok(l) => l,
        Err(e) => {
            out.push(check("authorized_keys_match", Status::Fail, format!("{e:#}")));
            return out;
        }
    };
    let actual: Vec<&str> = authorized_keys::block_of(&text).unwrap_or_default();
    let extra = actual.iter().filter(|l| !expected.iter().any(|e| e == *l)).count();
    let missing = expected.iter().filter(|e| !actual.contains(&e.as_str())).count();
    out.push(if extra == 0 && missing == 0 {
        check(
            "authorized_keys_match",
            Status::Ok,
            format!("{} key line(s), as in the database", actual.len()),
        )
    } else {
        check(
            "authorized_keys_match",
            Status::Fail,
            format!("{extra} line(s) not from the database, {missing} key(s) missing: run `painel ssh-keys sync`"),
        )
    });
    out
}

fn outside_block(text: &str) -> Vec<&str> {
    let mut inside = false;
    let mut out = Vec::new();
    for l in text.lines() {
        if l == authorized_keys::BEGIN {
            inside = true;
        } else if inside && l == authorized_keys::END {
            inside = false;
        } else if !inside {
            out.push(l);
        }
    }
    out
}

fn sshd_check(a: &DoctorArgs, root: bool) -> Check {
    if !root {
        return check(
            "sshd",
            Status::Skip,
            "run doctor as root to check sshd's effective settings",
        );
    }
    if !a.sshd.exists() {
        return check("sshd", Status::Skip, format!("{} not found", a.sshd.display()));
    }
    let mut cmd = std::process::Command::new(&a.sshd);
    if let Some(c) = &a.sshd_config {
        cmd.arg("-f").arg(c);
    }
    cmd.arg("-T")
        .arg("-C")
        .arg(format!("user={},host=h,addr=127.0.0.1", a.service_user));
    match cmd.output() {
        Ok(o) if o.status.success() => {
            let problems = sshd_problems(&String::from_utf8_lossy(&o.stdout));
            if problems.is_empty() {
                check(
                    "sshd",
                    Status::Ok,
                    "no client-set environment, no forced command override, no authorized_keys2",
                )
            } else {
                check("sshd", Status::Fail, problems.join("; "))
            }
        }
        Ok(o) => check(
            "sshd",
            Status::Fail,
            format!("sshd -T failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
        ),
        Err(e) => check("sshd", Status::Fail, format!("cannot run {}: {e}", a.sshd.display())),
    }
}

/// What in `sshd -T` output would let a client reach past the forced command.
pub fn sshd_problems(effective: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for line in effective.lines() {
        let mut words = line.split_whitespace();
        let key = words.next().unwrap_or_default().to_ascii_lowercase();
        let values: Vec<&str> = words.collect();
        match key.as_str() {
            "acceptenv" => {
                let extra: Vec<&&str> = values.iter().filter(|v| **v != "LANG" && **v != "LC_*").collect();
                if !extra.is_empty() {
                    problems.push(format!(
                        "AcceptEnv {} (clients could set them for painel)",
                        extra.iter().map(|v| **v).collect::<Vec<_>>().join(" ")
                    ));
                }
            }
            "permituserenvironment" if values.first().is_some_and(|v| *v != "no") => {
                problems.push(format!("PermitUserEnvironment {}", values.join(" ")));
            }
            "forcecommand" if values.first().is_some_and(|v| *v != "none") => {
                problems.push("ForceCommand is set: it overrides painel's command=".to_owned());
            }
            "authorizedkeysfile" if values.iter().any(|v| v.contains("authorized_keys2")) => {
                problems.push("AuthorizedKeysFile reads authorized_keys2 (keys painel does not manage)".to_owned());
            }
            _ => {}
        }
    }
    problems
}

fn passwd_uid(name: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/passwd").ok()?.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name)).then(|| f.get(2)?.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_defaults_pass_and_bent_settings_fail() {
        let debian = "port 22\nacceptenv LANG\nacceptenv LC_*\npermituserenvironment no\n\
                      authorizedkeysfile .ssh/authorized_keys\n";
        assert!(sshd_problems(debian).is_empty());
        let stock = "authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2\n";
        assert_eq!(sshd_problems(stock).len(), 1);
        let bent = "acceptenv LANG LC_* PAINEL_* LD_PRELOAD\npermituserenvironment yes\nforcecommand /bin/sh\n";
        let p = sshd_problems(bent);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("PAINEL_* LD_PRELOAD"));
    }

    #[test]
    fn lines_outside_the_block_are_found() {
        let text = format!(
            "ssh-ed25519 AAAA shell\n{}\nrestrict x\n{}\n# note\n",
            authorized_keys::BEGIN,
            authorized_keys::END
        );
        assert_eq!(outside_block(&text), vec!["ssh-ed25519 AAAA shell", "# note"]);
    }
}
