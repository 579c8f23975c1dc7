//! The jump host (docs/adr/0012): SSH keys, `painel ssh-session` as sshd runs it (argv key id,
//! `SSH_CONNECTION`, `SSH_ORIGINAL_COMMAND`), `painel doctor`, and direct mode's identity
//! from the kernel rather than the environment. The same through a real sshd is
//! scripts/ssh-e2e.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use backend::identity::accounts::{self, NewAccount};
use backend::identity::{sessions, totp};
use backend::sensitive::Proof;
use backend::sshkeys::{self, session::SshOpen};
use backend::{args, tenants, Actor, Db, Role, ServiceError};

use crate::cli::{stderr, stdout};
use crate::common::{fresh, new_tenant, operator, TestDb};
use crate::identity::{enable_2fa, keys, session, try_login, user, PASSWORD};

const ANA_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIJ1ADrjo5vknsGcOgT5c1Rf6O8MCtbFuyC79/LU/syW ana@laptop";
const ANA_FP: &str = "SHA256:xFxuRK2XIFYVXFC1Tj66dBrhfQySkYDPgfH2tfubn7o";

/// A second, distinct key.
fn other_key() -> String {
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOQz1ji0SN5anF+3T1JzW9tXx0Kcujk0BQKCvtKDFy2S bruno".to_owned()
}

async fn tenant_admin(db: &Db, username: &str, tenant: &str) -> backend::identity::User {
    accounts::create_account(
        db,
        &operator(),
        NewAccount {
            username: username.into(),
            email: format!("{username}@example.com"),
            display_name: String::new(),
            password: None,
            role: "tenant_admin".into(),
            tenant: Some(tenant.into()),
            parent: None,
        },
        &Proof::confirm(username),
    )
    .await
    .unwrap()
}

async fn audit_count(db: &Db, action: &str) -> i64 {
    db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1", args![action])
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_are_parsed_unique_sensitive_and_for_super_admins_only() {
    let t = fresh().await;
    let db = &t.db;
    user(db, "ana", Role::SuperAdmin).await;
    let acme = tenants::create(db, &operator(), new_tenant("Acme", "acme.com.br"))
        .await
        .unwrap();
    tenant_admin(db, "bruno", "acme").await;
    let ok = Proof::confirm("ana");
    let wrong = sshkeys::add(db, &operator(), "ana", ANA_KEY, &Proof::confirm("bruno")).await;
    assert!(matches!(wrong, Err(ServiceError::Validation(_))), "{wrong:?}");
    assert_eq!(audit_count(db, "sensitive.refused").await, 1);
    let injected = format!("{ANA_KEY}\nssh-ed25519 AAAA evil");
    assert!(matches!(
        sshkeys::add(db, &operator(), "ana", &injected, &ok).await,
        Err(ServiceError::Validation(_))
    ));
    let opts = format!("command=\"/bin/sh\" {ANA_KEY}");
    assert!(sshkeys::add(db, &operator(), "ana", &opts, &ok).await.is_err());
    let key = sshkeys::add(db, &operator(), "ana", &format!("  {ANA_KEY}\x07\n"), &ok).await;
    assert!(key.is_err(), "control characters are refused, not stripped: {key:?}");
    let key = sshkeys::add(db, &operator(), "ana", ANA_KEY, &ok).await.unwrap();
    assert_eq!(key.fingerprint, ANA_FP);
    assert_eq!(key.label, "ana@laptop");
    assert!(!key.public_key.contains("ana@laptop"), "no comment in the stored key");
    let dup = sshkeys::add(db, &operator(), "bruno", ANA_KEY, &Proof::confirm("bruno")).await;
    assert!(
        matches!(dup, Err(ServiceError::Conflict(_))),
        "one key, one account: {dup:?}"
    );
    // A tenant admin, even of its own account, cannot manage keys.
    let tenant_actor = Actor::tenant_user("bruno", Role::TenantAdmin, acme.id);
    let refused = sshkeys::add(db, &tenant_actor, "bruno", &other_key(), &Proof::confirm("bruno")).await;
    assert!(matches!(refused, Err(ServiceError::PermissionDenied(_))), "{refused:?}");
    assert!(sshkeys::list(db, &tenant_actor, None).await.is_err());
    sshkeys::add(db, &operator(), "bruno", &other_key(), &Proof::confirm("bruno"))
        .await
        .unwrap();
    let anas = sshkeys::list(db, &operator(), Some("ana")).await.unwrap();
    assert_eq!(anas.iter().map(|k| k.id).collect::<Vec<_>>(), vec![key.id]);
    assert_eq!(sshkeys::authorized_lines(db).await.unwrap().len(), 2);
    assert_eq!(audit_count(db, "ssh_key.add").await, 2);
    // A super admin account needs a fresh second factor like any sensitive action.
    let s = session(try_login(db, "ana", PASSWORD, None, backend::db::now()).await);
    let no_2fa = sshkeys::remove(db, &s.actor, "ana", ANA_FP, &ok).await;
    assert!(matches!(no_2fa, Err(ServiceError::PermissionDenied(_))), "{no_2fa:?}");
    let removed = sshkeys::remove(db, &operator(), "ana", ANA_FP, &ok).await.unwrap();
    assert_eq!(removed.id, key.id);
    assert_eq!(audit_count(db, "ssh_key.remove").await, 1);
}

#[tokio::test]
async fn an_ssh_session_is_the_keys_account_until_the_key_or_account_goes() {
    let t = fresh().await;
    let db = &t.db;
    tenants::create(db, &operator(), new_tenant("Acme", "acme.com.br"))
        .await
        .unwrap();
    let bruno = tenant_admin(db, "bruno", "acme").await;
    let key = sshkeys::add(db, &operator(), "bruno", ANA_KEY, &Proof::confirm("bruno"))
        .await
        .unwrap();
    let SshOpen::Session(s) = sshkeys::session::open(db, None, key.id, "ssh:192.0.2.4", None)
        .await
        .unwrap()
    else {
        panic!("no 2FA on bruno");
    };
    assert_eq!(s.actor.user_id, Some(bruno.id));
    assert_eq!((s.actor.role, s.actor.tenant_id), (Role::TenantAdmin, bruno.tenant_id));
    assert_eq!(s.actor.source, "ssh:192.0.2.4");
    let (bound,): (Option<i64>,) = db
        .fetch_optional("SELECT ssh_key_id FROM sessions WHERE id = $1", args![s.session.id])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bound, Some(key.id));
    assert_eq!(audit_count(db, "auth.ssh_login").await, 1);
    // Disabled account: refused at once, audited.
    db.execute("UPDATE users SET status = 'disabled' WHERE id = $1", args![bruno.id])
        .await
        .unwrap();
    let off = sshkeys::session::open(db, None, key.id, "ssh:192.0.2.4", None).await;
    assert!(matches!(off, Err(ServiceError::PermissionDenied(_))), "{off:?}");
    db.execute("UPDATE users SET status = 'active' WHERE id = $1", args![bruno.id])
        .await
        .unwrap();
    // Removing the key revokes the live session (the TUI's minute check ends it) and refuses
    // new ones.
    sshkeys::remove(db, &operator(), "bruno", &key.id.to_string(), &Proof::confirm("bruno"))
        .await
        .unwrap();
    let live = sessions::authenticate(db, &s.token, "ssh:192.0.2.4").await;
    assert!(
        matches!(&live, Err(ServiceError::PermissionDenied(m)) if m == sessions::REVOKED),
        "{live:?}"
    );
    let gone = sshkeys::session::open(db, None, key.id, "ssh:192.0.2.4", None).await;
    assert!(matches!(gone, Err(ServiceError::PermissionDenied(_))), "{gone:?}");
    let reasons: Vec<(serde_json::Value,)> = db
        .fetch_all(
            "SELECT after FROM audit_log WHERE action = 'auth.ssh_refused' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    let reasons: Vec<&str> = reasons.iter().map(|(v,)| v["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, vec!["account_not_active", "unknown_key"]);
}

#[tokio::test]
async fn a_2fa_account_must_give_its_code_over_ssh_too() {
    let t = fresh().await;
    let db = &t.db;
    user(db, "ana", Role::SuperAdmin).await;
    let now = backend::db::now();
    let s = session(try_login(db, "ana", PASSWORD, None, now).await);
    let (secret, _) = enable_2fa(db, &s, now - chrono::TimeDelta::minutes(2)).await;
    let key = sshkeys::add(db, &operator(), "ana", ANA_KEY, &Proof::confirm("ana"))
        .await
        .unwrap();
    let k = keys();
    let asked = sshkeys::session::open(db, Some(&k), key.id, "ssh:192.0.2.9", None)
        .await
        .unwrap();
    assert!(matches!(asked, SshOpen::CodeRequired { ref username } if username == "ana"));
    let bad = sshkeys::session::open(db, Some(&k), key.id, "ssh:192.0.2.9", Some("000000")).await;
    assert!(matches!(bad, Err(ServiceError::PermissionDenied(_))), "{bad:?}");
    let failures: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE username = 'ana' AND source = 'ssh:192.0.2.9' AND success = $1",
            args![false],
        )
        .await
        .unwrap();
    assert_eq!(failures, 1, "wrong codes count towards the lockout");
    let code = totp::code_at(&secret, backend::db::now()).unwrap();
    let SshOpen::Session(s) = sshkeys::session::open(db, Some(&k), key.id, "ssh:192.0.2.9", Some(&code))
        .await
        .unwrap()
    else {
        panic!("the code was right");
    };
    assert!(
        s.session.totp_verified_at.is_some(),
        "sensitive actions need no second code"
    );
}

/// A deployment directory: config (pointing authorized_keys into it) and data dir.
struct Deploy {
    dir: tempfile::TempDir,
}

impl Deploy {
    fn new() -> Deploy {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let d = Deploy { dir };
        std::fs::write(
            d.config(),
            format!("authorized_keys = \"{}\"\n", d.authorized_keys().display()),
        )
        .unwrap();
        std::fs::set_permissions(d.config(), std::fs::Permissions::from_mode(0o600)).unwrap();
        d
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn authorized_keys(&self) -> PathBuf {
        self.dir.path().join("ssh/authorized_keys")
    }

    fn cmd(&self, t: &TestDb, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_painel"));
        cmd.args(["--database-url", &t.url, "--config"])
            .arg(self.config())
            .arg("--data-dir")
            .arg(self.data())
            .args(args)
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env("PAINEL_SESSION_STORE", "file")
            .env_remove("PAINEL_DATABASE_URL")
            .env_remove("PAINEL_MASTER_KEY")
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_ORIGINAL_COMMAND")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, t: &TestDb, args: &[&str]) -> Output {
        self.cmd(t, args).output().unwrap()
    }

    /// As sshd starts the forced command of key `key` for a client at 192.0.2.4.
    fn ssh(&self, t: &TestDb, key: i64, command: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = self.cmd(t, &["ssh-session", "--key", &key.to_string()]);
        cmd.env("SSH_CONNECTION", "192.0.2.4 50000 192.0.2.1 22");
        if let Some(c) = command {
            cmd.env("SSH_ORIGINAL_COMMAND", c);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {} {}", stdout(o), stderr(o)))
}

#[tokio::test]
async fn ssh_session_runs_batch_verbs_as_the_keys_account_only() {
    let t = fresh().await;
    let db = &t.db;
    let d = Deploy::new();
    user(db, "ana", Role::SuperAdmin).await;
    tenants::create(db, &operator(), new_tenant("Acme", "acme.com.br"))
        .await
        .unwrap();
    tenants::create(db, &operator(), new_tenant("Beta", "beta.com.br"))
        .await
        .unwrap();
    tenant_admin(db, "bruno", "acme").await;
    let ana = sshkeys::add(db, &operator(), "ana", ANA_KEY, &Proof::confirm("ana"))
        .await
        .unwrap();
    let bruno = sshkeys::add(db, &operator(), "bruno", &other_key(), &Proof::confirm("bruno"))
        .await
        .unwrap();

    let all = d.ssh(&t, ana.id, Some("tenants list -o json"), &[]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    assert_eq!(json(&all).as_array().unwrap().len(), 2);
    let own = d.ssh(&t, bruno.id, Some("tenants list -o json"), &[]);
    assert_eq!(own.status.code(), Some(0), "{}", stderr(&own));
    let own = json(&own);
    let slugs: Vec<&str> = own
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["acme"], "a tenant admin sees its own tenant only");
    // Same exit codes and formats as direct batch mode.
    let missing = d.ssh(&t, bruno.id, Some("tenants show beta -o json"), &[]);
    assert!(matches!(missing.status.code(), Some(3 | 4)), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("\"exit_code\""), "{}", stderr(&missing));
    // Identity from the key alone, whatever the client's environment says.
    let who = d.ssh(
        &t,
        bruno.id,
        Some("whoami -o json"),
        &[("LC_PAINEL_USER", "ana"), ("PAINEL_OPERATOR", "root"), ("USER", "ana")],
    );
    assert_eq!(who.status.code(), Some(0), "{}", stderr(&who));
    assert_eq!(json(&who)["username"], "bruno");
    assert_eq!(json(&who)["source"], "ssh:192.0.2.4");
    // No shell, no deployment verbs, no way to point at another database.
    for cmd in [
        "sh",
        "bash -i",
        "/usr/lib/openssh/sftp-server",
        "ssh-keys list",
        "init --bootstrap",
        "tenants list --database-url sqlite:///tmp/x.sqlite",
        "tenants list\nsh",
        "tenants 'list",
    ] {
        let o = d.ssh(&t, ana.id, Some(cmd), &[]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        // Not a terminal: the JSON error object, like batch mode's.
        assert!(stderr(&o).contains("\"exit_code\":2"), "{cmd}: {}", stderr(&o));
    }
    // No command and no terminal: told to use ssh -t.
    let console = d.ssh(&t, ana.id, None, &[]);
    assert_eq!(console.status.code(), Some(2));
    assert!(stderr(&console).contains("ssh -t"), "{}", stderr(&console));
    // Started by hand (no SSH_CONNECTION): refused.
    let by_hand = d.run(&t, &["ssh-session", "--key", &ana.id.to_string()]);
    assert_eq!(by_hand.status.code(), Some(4), "{}", stderr(&by_hand));
    // Each command's session ends with it.
    let live: i64 = db
        .scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL", args![])
        .await
        .unwrap();
    assert_eq!(live, 0);
    let sources: Vec<(String,)> = db
        .fetch_all(
            "SELECT DISTINCT source FROM audit_log WHERE action = 'auth.ssh_login'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(sources, vec![("ssh:192.0.2.4".to_owned(),)]);
    // A removed key stops working at once.
    sshkeys::remove(
        db,
        &operator(),
        "bruno",
        &bruno.id.to_string(),
        &Proof::confirm("bruno"),
    )
    .await
    .unwrap();
    let removed = d.ssh(&t, bruno.id, Some("tenants list"), &[]);
    assert_eq!(removed.status.code(), Some(4), "{}", stderr(&removed));
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn ssh_keys_verbs_keep_the_block_and_doctor_checks_it() {
    let t = fresh().await;
    let d = Deploy::new();
    // The first account, on purpose.
    let init = d
        .cmd(
            &t,
            &[
                "init",
                "--username",
                "admin",
                "--email",
                "admin@example.com",
                "--password-stdin",
            ],
        )
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"correct horse battery\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(init.status.code(), Some(2), "init needs --bootstrap: {}", stderr(&init));
    assert!(stderr(&init).contains("--bootstrap"));
    // The deployment's master key, set up explicitly; audited writes from here on are keyed.
    let setup = d.cmd(&t, &["keys", "init"]).output().unwrap();
    assert!(setup.status.success(), "{}", stderr(&setup));
    let kc = backend::secrets::KeyConfig::from_env(&d.data());
    let k = backend::secrets::load(&kc).unwrap().keys;
    let mut t = t;
    t.db =
        t.db.clone()
            .with_audit_keys(Some(backend::audit::AuditKeys::from_keys(&k)));
    user(&t.db, "admin", Role::SuperAdmin).await;
    user(&t.db, "ana", Role::SuperAdmin).await;
    // Log admin in with 2FA through the services; the binary finds the session in its file.
    let now = backend::db::now();
    let s = session(try_login(&t.db, "admin", PASSWORD, None, now).await);
    let e = totp::enroll(&t.db, &k, &s.actor, PASSWORD).await.unwrap();
    totp::enable_at(
        &t.db,
        &k,
        &s.actor,
        &totp::code_at(&e.secret, now).unwrap(),
        PASSWORD,
        now,
    )
    .await
    .unwrap();
    let login = d
        .cmd(
            &t,
            &[
                "login",
                "--username",
                "admin",
                "--password-stdin",
                "--totp",
                &totp::code_at(&e.secret, now + chrono::TimeDelta::seconds(30)).unwrap(),
            ],
        )
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"correct horse battery\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));
    let key_file = d.dir.path().join("ana.pub");
    std::fs::write(&key_file, format!("{ANA_KEY}\n")).unwrap();
    std::fs::create_dir_all(d.authorized_keys().parent().unwrap()).unwrap();
    chmod(d.authorized_keys().parent().unwrap(), 0o700);
    std::fs::write(d.authorized_keys(), "# the service account's own notes\n").unwrap();
    chmod(&d.authorized_keys(), 0o600);
    let add = d.run(
        &t,
        &[
            "-o",
            "json",
            "ssh-keys",
            "add",
            "--user",
            "ana",
            "--key-file",
            key_file.to_str().unwrap(),
            "--confirm",
            "ana",
        ],
    );
    assert_eq!(add.status.code(), Some(0), "{}", stderr(&add));
    let id = json(&add)["id"].as_i64().unwrap();
    let text = std::fs::read_to_string(d.authorized_keys()).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_painel")).unwrap();
    let expected = format!(
        "restrict,pty,command=\"{} ssh-session --key {id}\" {}",
        exe.display(),
        ANA_KEY.trim_end_matches(" ana@laptop")
    );
    assert!(text.starts_with("# the service account's own notes\n"), "{text}");
    assert!(text.lines().any(|l| l == expected), "{text}\nwant {expected}");
    let list = d.run(&t, &["-o", "csv", "ssh-keys", "list", "--user", "ana"]);
    assert!(stdout(&list).contains(ANA_FP), "{}", stdout(&list));

    // doctor: the deployment as set up here passes (sshd skipped: not at that path).
    let me = backend::actor::OsUser::current().name.unwrap();
    let doctor_args = [
        "-o",
        "json",
        "doctor",
        "--service-user",
        &me,
        "--sshd",
        "/nonexistent/sshd",
    ];
    chmod(&d.data(), 0o700);
    chmod(&d.data().join("master.key"), 0o600);
    if let Some(path) = t.url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{path}{suffix}"));
            if p.exists() {
                chmod(&p, 0o600);
            }
        }
    }
    let ok = d.run(&t, &doctor_args);
    let checks = json(&ok);
    let status = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert_eq!(status("authorized_keys_match").as_deref(), Some("ok"));
    assert_eq!(status("data_dir").as_deref(), Some("ok"));
    // A data dir others can read, a key line that is not the database's, a shell line.
    chmod(&d.data(), 0o755);
    let tampered = text.replace(&format!("--key {id}\""), "--key 999\"");
    std::fs::write(
        d.authorized_keys(),
        format!("{tampered}ssh-ed25519 AAAA shell-for-me\n"),
    )
    .unwrap();
    let bad = d.run(&t, &doctor_args);
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
    let checks = json(&bad);
    let status = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status("data_dir").as_deref(), Some("fail"));
    assert_eq!(status("authorized_keys_match").as_deref(), Some("fail"));
    assert_eq!(status("authorized_keys_other_lines").as_deref(), Some("fail"));
    // sync puts painel's block back (the foreign line is the operator's to remove).
    let sync = d.run(&t, &["ssh-keys", "sync"]);
    assert_eq!(sync.status.code(), Some(0), "{}", stderr(&sync));
    assert!(std::fs::read_to_string(d.authorized_keys())
        .unwrap()
        .lines()
        .any(|l| l == expected));
    // remove: the line goes, the other lines stay.
    let rm = d.run(
        &t,
        &[
            "ssh-keys",
            "remove",
            "--user",
            "ana",
            &id.to_string(),
            "--confirm",
            "ana",
        ],
    );
    assert_eq!(rm.status.code(), Some(0), "{}", stderr(&rm));
    let after = std::fs::read_to_string(d.authorized_keys()).unwrap();
    assert!(
        !after.contains(ANA_FP) && !after.contains("ssh-session --key"),
        "{after}"
    );
    assert!(
        after.contains("shell-for-me") && after.starts_with("# the service"),
        "{after}"
    );
}

#[tokio::test]
async fn direct_mode_records_the_os_user_and_ignores_forged_environment() {
    let t = fresh().await;
    let d = Deploy::new();
    let who = d
        .cmd(&t, &["-o", "json", "whoami"])
        .env("PAINEL_OPERATOR", "superadmin")
        .env("USER", "superadmin")
        .env("SSH_CONNECTION", "203.0.113.66 1 2 3")
        .output()
        .unwrap();
    assert_eq!(who.status.code(), Some(0), "{}", stderr(&who));
    let me = backend::actor::OsUser::current();
    assert_eq!(json(&who)["username"], me.label());
    let source = json(&who)["source"].as_str().unwrap().to_owned();
    assert!(source.starts_with(&format!("uid:{}", me.uid.unwrap())), "{source}");
    assert!(!source.contains("203.0.113.66"), "{source}");
    // The per-source lockout counts the trusted source, not the forged one.
    user(&t.db, "ana", Role::SuperAdmin).await;
    let login = d
        .cmd(&t, &["login", "--username", "ana", "--password-stdin"])
        .env("SSH_CONNECTION", "203.0.113.66 1 2 3")
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"wrong password here\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(login.status.code(), Some(4), "{}", stderr(&login));
    let (recorded,): (String,) =
        t.db.fetch_optional("SELECT source FROM login_attempts WHERE username = 'ana'", args![])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(recorded, source, "the attempt is counted against uid and tty");
}
