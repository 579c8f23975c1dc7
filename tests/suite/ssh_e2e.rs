//! The jump host end to end, through a real OpenSSH sshd on a loopback port
//! (docs/adr/0012): keys added with `painel ssh-keys add` as the service account, batch
//! verbs and the console over `ssh`, tenant isolation, refused keys, no shell, no
//! forwarding, client environment inert, and `painel doctor` reading sshd's settings.
//!
//! Needs root (a dedicated OS user, sshd) and openssh-server + tmux: scripts/test installs
//! them. In CI a missing piece fails the test; elsewhere it is skipped with the reason.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use backend::identity::{accounts, totp};
use backend::{tenants, Role};

use crate::common::{engine, fresh, new_tenant, operator, Engine};
use crate::identity::{session, try_login, user, PASSWORD};

const OS_USER: &str = "painel-e2e";
const SSHD: &str = "/usr/sbin/sshd";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Why this machine cannot run the test, if it cannot.
fn missing() -> Option<String> {
    if !std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    {
        return Some("needs root (an OS user for painel, sshd)".into());
    }
    if !Path::new(SSHD).exists() {
        return Some(format!("{SSHD} is missing (apt-get install openssh-server)"));
    }
    for tool in ["ssh", "ssh-keygen", "tmux", "useradd", "runuser"] {
        if Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            return Some(format!("{tool} is missing"));
        }
    }
    None
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    out
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn keygen(path: &Path) -> String {
    let o = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f"])
        .arg(path));
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read_to_string(path.with_extension("pub")).unwrap()
}

/// Kills what it started when the test ends, however it ends.
struct Cleanup {
    sshd: Option<Child>,
    tmux: Option<String>,
    root: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(s) = &self.tmux {
            let _ = Command::new("tmux").args(["kill-session", "-t", s]).output();
        }
        if let Some(c) = &mut self.sshd {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

struct Host {
    root: PathBuf,
    home: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl Host {
    fn config(&self) -> PathBuf {
        self.home.join(".config/painel/config.toml")
    }

    /// painel as the service account, as an administrator on the jump host runs it.
    fn painel(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", OS_USER, "--"])
            .arg(&self.bin)
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env("PAINEL_SESSION_STORE", "file")
            .env_remove("PAINEL_DATABASE_URL")
            .env_remove("PAINEL_MASTER_KEY")
            .env_remove("SSH_CONNECTION")
            .current_dir("/")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let (Some(s), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(s.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    fn ssh_args(&self, key: &Path) -> Vec<String> {
        let mut a: Vec<String> = ["-F", "/dev/null", "-p", &self.port.to_string()]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for o in [
            "BatchMode=yes",
            "IdentitiesOnly=yes",
            "StrictHostKeyChecking=no",
            "LogLevel=ERROR",
            "ConnectTimeout=10",
        ] {
            a.extend(["-o".to_owned(), o.to_owned()]);
        }
        a.extend([
            "-o".to_owned(),
            format!("UserKnownHostsFile={}", self.root.join("known_hosts").display()),
            "-i".to_owned(),
            key.display().to_string(),
        ]);
        a
    }

    fn ssh(&self, key: &Path, extra: &[&str], command: &[&str]) -> Output {
        run(Command::new("ssh")
            .args(self.ssh_args(key))
            .args(extra)
            .arg(format!("{OS_USER}@127.0.0.1"))
            .args(command)
            .stdin(Stdio::null()))
    }
}

fn tmux(args: &[&str]) -> String {
    String::from_utf8_lossy(&run(Command::new("tmux").args(args)).stdout).into_owned()
}

fn wait_for(session: &str, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(needle) {
            return screen;
        }
        assert!(
            start.elapsed() < timeout,
            "'{needle}' did not appear within {timeout:?}; the screen was:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test]
async fn operators_reach_painel_through_their_keys_and_nothing_else() {
    if let Some(why) = missing() {
        assert!(!in_ci(), "CI must run the sshd test: {why}");
        eprintln!("skipping the sshd test: {why}");
        return;
    }
    // PAINEL_TEST_SSHD_PORT (default 2231) for SQLite, the next one for PostgreSQL.
    let base: u16 = std::env::var("PAINEL_TEST_SSHD_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2231);
    let port = match engine() {
        Engine::Sqlite => base,
        Engine::Postgres => base + 1,
    };
    // One dir for everything, readable by the service account where it must be.
    let root = PathBuf::from(format!("/tmp/painel-sshd-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("bin")).unwrap();
    chmod(&root, 0o755);
    chmod(&root.join("bin"), 0o755);
    let bin = root.join("bin/painel");
    std::fs::copy(env!("CARGO_BIN_EXE_painel"), &bin).unwrap();
    chmod(&bin, 0o755);
    let home = root.join("home");
    let data = home.join("data");
    std::fs::create_dir_all(home.join(".config/painel")).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let exists = run(Command::new("id").arg(OS_USER)).status.success();
    let o = if exists {
        run(Command::new("usermod")
            .args(["-d"])
            .arg(&home)
            .args(["-s", "/bin/sh", OS_USER]))
    } else {
        run(Command::new("useradd")
            .args(["-r", "-M", "-d"])
            .arg(&home)
            .args(["-s", "/bin/sh", OS_USER]))
    };
    assert!(o.status.success(), "{}", text(&o));
    // '*' rather than a locked '!': sshd without PAM refuses locked accounts even for keys.
    assert!(run(Command::new("usermod").args(["-p", "*", OS_USER])).status.success());

    let t = fresh().await;
    let url = match engine() {
        Engine::Sqlite => format!("sqlite://{}", data.join("painel.sqlite").display()),
        Engine::Postgres => t.url.clone(),
    };
    std::fs::write(
        home.join(".config/painel/config.toml"),
        format!("database_url = \"{url}\"\ndata_dir = \"{}\"\n", data.display()),
    )
    .unwrap();
    let chown = |p: &Path| {
        let o = run(Command::new("chown").args(["-R", &format!("{OS_USER}:")]).arg(p));
        assert!(o.status.success(), "{}", text(&o));
    };
    for d in [&home, &home.join(".config"), &home.join(".config/painel"), &data] {
        chmod(d, 0o700);
    }
    chmod(&home.join(".config/painel/config.toml"), 0o600);
    chown(&home);
    let h = Host {
        root: root.clone(),
        home: home.clone(),
        bin,
        port,
    };
    let migrate = h.painel(&["migrate"], None);
    assert!(migrate.status.success(), "{}", text(&migrate));

    // Accounts and 2FA through the services (the test computes the codes), on the
    // deployment's own database and master key.
    // The deployment's master key, set up explicitly as the service account; the test's own
    // handle keys its audited writes with it like painel's processes do.
    let setup = h.painel(&["keys", "init"], None);
    assert!(setup.status.success(), "{}", text(&setup));
    let keys = backend::secrets::load(&backend::secrets::KeyConfig::from_env(&data))
        .unwrap()
        .keys;
    let db = backend::Db::connect(&url)
        .await
        .unwrap()
        .with_audit_keys(Some(backend::audit::AuditKeys::from_keys(&keys)));
    tenants::create(&db, &operator(), new_tenant("Acme", "acme.com.br"))
        .await
        .unwrap();
    tenants::create(&db, &operator(), new_tenant("Beta", "beta.com.br"))
        .await
        .unwrap();
    user(&db, "boss", Role::SuperAdmin).await;
    accounts::create_account(
        &db,
        &operator(),
        accounts::NewAccount {
            username: "tadmin".into(),
            email: "tadmin@example.com".into(),
            display_name: String::new(),
            password: None,
            role: "tenant_admin".into(),
            tenant: Some("acme".into()),
            parent: None,
        },
        &backend::sensitive::Proof::confirm("tadmin"),
    )
    .await
    .unwrap();
    let now = backend::db::now();
    let s = session(try_login(&db, "boss", PASSWORD, None, now).await);
    let e = totp::enroll(&db, &keys, &s.actor, PASSWORD).await.unwrap();
    let recovery = totp::enable_at(
        &db,
        &keys,
        &s.actor,
        &totp::code_at(&e.secret, now).unwrap(),
        PASSWORD,
        now,
    )
    .await
    .unwrap();
    db.close().await;
    chown(&home);

    // The administrator logs in as boss (with a code) and adds the operators' keys.
    let next = |k: i64| totp::code_at(&e.secret, now + chrono::TimeDelta::seconds(30 * k)).unwrap();
    let login = h.painel(
        &["login", "--username", "boss", "--password-stdin", "--totp", &next(1)],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(login.status.success(), "{}", text(&login));
    let boss_key = root.join("boss");
    let tadmin_key = root.join("tadmin");
    let stranger_key = root.join("stranger");
    let mut pubs = Vec::new();
    for k in [&boss_key, &tadmin_key, &stranger_key] {
        pubs.push(keygen(k));
    }
    for (who, public) in [("boss", &pubs[0]), ("tadmin", &pubs[1])] {
        let add = h.painel(
            &[
                "-o",
                "json",
                "ssh-keys",
                "add",
                "--user",
                who,
                "--key-file",
                "-",
                "--confirm",
                who,
            ],
            Some(public),
        );
        assert!(add.status.success(), "{}", text(&add));
    }
    let ak = home.join(".ssh/authorized_keys");
    let meta = std::fs::metadata(&ak).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(home.join(".ssh")).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // sshd on loopback with a test config.
    let host_key = root.join("host_key");
    keygen(&host_key);
    std::fs::create_dir_all("/run/sshd").unwrap();
    chmod(Path::new("/run/sshd"), 0o755);
    let cfg = root.join("sshd_config");
    let cfg_text = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nUsePAM no\nStrictModes yes\n\
         AuthorizedKeysFile .ssh/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
         AcceptEnv LANG LC_*\nAllowUsers {OS_USER}\nSubsystem sftp /usr/lib/openssh/sftp-server\nLogLevel VERBOSE\n",
        hk = host_key.display(),
        pid = root.join("sshd.pid").display(),
    );
    std::fs::write(&cfg, &cfg_text).unwrap();
    let check = run(Command::new(SSHD).arg("-t").arg("-f").arg(&cfg));
    assert!(check.status.success(), "{}", text(&check));
    let log = root.join("sshd.log");
    let mut guard = Cleanup {
        sshd: None,
        tmux: None,
        root: root.clone(),
    };
    guard.sshd = Some(
        Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Server listening")
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "sshd did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Batch verbs: boss (2FA) has no terminal to give a code on, so is refused (exit 4);
    // tadmin (no 2FA) runs them and sees its own tenant only.
    let boss_batch = h.ssh(&boss_key, &[], &["tenants", "list", "-o", "json"]);
    assert_eq!(boss_batch.status.code(), Some(4), "{}", text(&boss_batch));
    assert!(
        String::from_utf8_lossy(&boss_batch.stderr).contains("ssh -t"),
        "{}",
        text(&boss_batch)
    );
    let own = h.ssh(&tadmin_key, &[], &["tenants", "list", "-o", "json"]);
    assert_eq!(own.status.code(), Some(0), "{}", text(&own));
    let slugs: Vec<String> = json(&own)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs, vec!["acme"]);
    // The client's environment is inert: SetEnv of an accepted LC_* name changes nothing.
    let who = h.ssh(
        &tadmin_key,
        &["-o", "SetEnv=LC_PAINEL_USER=boss LC_ALL=C"],
        &["whoami", "-o", "json"],
    );
    assert_eq!(who.status.code(), Some(0), "{}", text(&who));
    assert_eq!(json(&who)["username"], "tadmin");
    assert_eq!(json(&who)["source"], "ssh:127.0.0.1");
    // No shell, no subsystem, unknown verbs refused with painel's usage exit code.
    for cmd in [&["sh"][..], &["bash", "-i"], &["ssh-keys", "list"], &["id;", "sh"]] {
        let o = h.ssh(&tadmin_key, &[], cmd);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", text(&o));
    }
    let sftp = h.ssh(&tadmin_key, &["-s"], &["sftp"]);
    assert_ne!(sftp.status.code(), Some(0), "{}", text(&sftp));
    // Forwarding is refused (restrict): -W opens the same direct-tcpip channel as -L, and
    // -R asks for a listening port on the jump host.
    let local = h.ssh(&tadmin_key, &["-W", &format!("127.0.0.1:{port}")], &[]);
    assert_eq!(local.status.code(), Some(255), "{}", text(&local));
    assert!(
        String::from_utf8_lossy(&local.stderr).contains("forwarding failed"),
        "{}",
        text(&local)
    );
    let remote = h.ssh(
        &tadmin_key,
        &[
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            &format!("{}:127.0.0.1:22", port + 8),
        ],
        &["whoami"],
    );
    assert_eq!(remote.status.code(), Some(255), "{}", text(&remote));
    // -L: the local end listens, but sshd refuses the channel, so a connection through it
    // is closed without reaching the target (here sshd itself, which would greet us).
    let local_port = port + 7;
    let mut tunnel = Command::new("ssh")
        .args(h.ssh_args(&tadmin_key))
        .args(["-N", "-L", &format!("{local_port}:127.0.0.1:{port}")])
        .arg(format!("{OS_USER}@127.0.0.1"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut conn = loop {
        if let Ok(c) = std::net::TcpStream::connect(("127.0.0.1", local_port)) {
            break c;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "ssh -L never listened");
        std::thread::sleep(Duration::from_millis(100));
    };
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut greeting = Vec::new();
    let _ = std::io::Read::read_to_end(&mut conn, &mut greeting);
    let _ = tunnel.kill();
    let _ = tunnel.wait();
    assert!(
        !String::from_utf8_lossy(&greeting).starts_with("SSH-"),
        "-L reached the target: {}",
        String::from_utf8_lossy(&greeting)
    );
    // A key painel does not know.
    let stranger = h.ssh(&stranger_key, &[], &["whoami"]);
    assert_eq!(stranger.status.code(), Some(255), "{}", text(&stranger));

    // The console through ssh -t in tmux: boss is asked for the 2FA code first.
    let tm = format!("painel-sshd-{}-{port}", std::process::id());
    let ssh_cmd = format!(
        "ssh {} -t {OS_USER}@127.0.0.1; echo SSH-EXITED=$?; sleep 30",
        h.ssh_args(&boss_key).join(" ")
    );
    tmux(&["new-session", "-d", "-s", &tm, "-x", "120", "-y", "40", &ssh_cmd]);
    guard.tmux = Some(tm.clone());
    wait_for(&tm, "2FA code for boss", Duration::from_secs(20));
    // The login spent this time step's code: a recovery code answers (single use too).
    tmux(&["send-keys", "-t", &tm, &recovery[0], "Enter"]);
    let screen = wait_for(&tm, "Active tenants", Duration::from_secs(30));
    assert!(screen.contains("boss"), "the console acts as boss:\n{screen}");
    tmux(&["resize-window", "-t", &tm, "-x", "80", "-y", "24"]);
    wait_for(&tm, "Active tenants", Duration::from_secs(10));
    for _ in 0..3 {
        tmux(&["send-keys", "-t", &tm, "q"]);
    }
    let after = wait_for(&tm, "SSH-EXITED=", Duration::from_secs(20));
    assert!(after.contains("SSH-EXITED=0"), "{after}");

    // Removing tadmin's key: refused by sshd at once (the line is gone).
    let list = h.painel(&["-o", "json", "ssh-keys", "list", "--user", "tadmin"], None);
    assert!(list.status.success(), "{}", text(&list));
    let id = json(&list)[0]["id"].as_i64().unwrap().to_string();
    let rm = h.painel(
        &["ssh-keys", "remove", "--user", "tadmin", &id, "--confirm", "tadmin"],
        None,
    );
    assert!(rm.status.success(), "{}", text(&rm));
    let removed = h.ssh(&tadmin_key, &[], &["whoami"]);
    assert_eq!(removed.status.code(), Some(255), "{}", text(&removed));

    // doctor as root reads sshd's effective settings for the service account.
    let doctor = |cfg: &Path| {
        run(Command::new(&h.bin)
            .arg("--config")
            .arg(h.config())
            .args(["-o", "json", "doctor", "--service-user", OS_USER, "--sshd-config"])
            .arg(cfg))
    };
    let good = doctor(&cfg);
    let checks = json(&good);
    let sshd = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "sshd")
        .unwrap();
    assert_eq!(sshd["status"], "ok", "{}", text(&good));
    let bent = root.join("sshd_config_bent");
    std::fs::write(
        &bent,
        cfg_text.replace("AcceptEnv LANG LC_*", "AcceptEnv *\nPermitUserEnvironment yes"),
    )
    .unwrap();
    let bad = doctor(&bent);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let checks = json(&bad);
    let sshd = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "sshd")
        .unwrap();
    assert_eq!(sshd["status"], "fail");
    assert!(
        sshd["detail"].as_str().unwrap().contains("PermitUserEnvironment"),
        "{sshd}"
    );

    drop(guard);
    drop(t);
}
