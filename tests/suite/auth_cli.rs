//! init, login, whoami, logout, 2fa and keys through the real binary.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use backend::args;
use backend::identity::totp;
use backend::secrets::{self, KeyConfig};

use crate::cli::{stderr, stdout};
use crate::common::{fresh, TestDb};
use crate::identity::PASSWORD;

/// A user's home for the binary: config, data dir (key file, session file, logs).
struct Home {
    dir: tempfile::TempDir,
    store: &'static str,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            store: "file",
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, t: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_env(t, args, stdin, &[])
    }

    fn run_env(&self, t: &TestDb, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let data = self.data();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_painel"));
        cmd.args(["--database-url", &t.url, "--data-dir"])
            .arg(&data)
            .args(args)
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path())
            .env("PAINEL_OPERATOR", "cli-tester")
            .env("PAINEL_SESSION_STORE", self.store)
            .env_remove("PAINEL_DATABASE_URL")
            .env_remove("PAINEL_MASTER_KEY")
            .env_remove("PAINEL_MASTER_KEY_PREVIOUS")
            .env_remove("SSH_CONNECTION")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    fn init_and_login(&self, t: &TestDb) {
        let init = self.run(
            t,
            &[
                "init",
                "--bootstrap",
                "--username",
                "admin",
                "--email",
                "admin@example.com",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        );
        assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
        let login = self.run(
            t,
            &["-o", "json", "login", "--username", "admin", "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        );
        assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));
    }

    fn token_file(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.data().join("sessions"))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "token"))
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for e in std::fs::read_dir(self.data().join("logs"))
            .into_iter()
            .flatten()
            .flatten()
        {
            all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
        all
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn init_login_whoami_logout_through_the_binary() {
    let t = fresh().await;
    let h = Home::new();
    let init = h.run(
        &t,
        &[
            "-o",
            "json",
            "init",
            "--bootstrap",
            "--username",
            "admin",
            "--email",
            "admin@example.com",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    assert_eq!(json(&init)["role"], "super_admin");
    let again = h.run(
        &t,
        &[
            "init",
            "--bootstrap",
            "--username",
            "other",
            "--email",
            "o@example.com",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(again.status.code(), Some(5), "{}", stderr(&again));
    let who = h.run(&t, &["whoami"], None);
    assert_eq!(who.status.code(), Some(4));
    assert!(
        stderr(&who).contains("not logged in — run painel login"),
        "{}",
        stderr(&who)
    );
    let wrong = h.run_env(
        &t,
        &["login", "--username", "admin", "--password-stdin"],
        Some("not the password\n"),
        &[("SSH_CONNECTION", "203.0.113.9 51234 10.0.0.1 22")],
    );
    let unknown = h.run(
        &t,
        &["login", "--username", "nobody", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!((wrong.status.code(), unknown.status.code()), (Some(4), Some(4)));
    assert_eq!(stderr(&wrong), stderr(&unknown), "one message whatever was wrong");
    assert!(stderr(&wrong).contains("login failed"));
    let sources: Vec<(String, String)> =
        t.db.fetch_all("SELECT username, source FROM login_attempts ORDER BY at", args![])
            .await
            .unwrap();
    // SSH_CONNECTION is anyone's to set: direct mode records the OS uid and tty instead.
    assert_eq!(sources[0].0, "admin");
    assert!(
        sources[0].1.starts_with("uid:") && !sources[0].1.contains("203.0.113.9"),
        "{:?}",
        sources[0]
    );
    let login = h.run(
        &t,
        &["-o", "json", "login", "--username", "admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));
    assert_eq!(json(&login)["mode"], "session");
    let file = h
        .token_file()
        .expect("the session is kept in a file (PAINEL_SESSION_STORE=file)");
    assert_eq!(mode(&file), 0o600);
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(token.starts_with("pnl_"));
    // Logging in again ends the session it replaces.
    let again = h.run(
        &t,
        &["login", "--username", "admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let live: i64 =
        t.db.scalar("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL", args![])
            .await
            .unwrap();
    assert_eq!(live, 1);
    let file = h.token_file().unwrap();
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    let who = h.run(&t, &["-o", "json", "whoami"], None);
    assert_eq!(who.status.code(), Some(0), "{}", stderr(&who));
    let v = json(&who);
    assert_eq!(
        (v["username"].as_str(), v["role"].as_str()),
        (Some("admin"), Some("super_admin"))
    );
    assert!(v["expires_at"].is_string() && v["session_id"].is_string());
    let csv = h.run(&t, &["-o", "csv", "whoami"], None);
    assert!(stdout(&csv).starts_with("username,display_name,role,tenant_id,mode,two_factor"));
    let table = h.run(&t, &["-o", "table", "whoami"], None);
    assert!(stdout(&table)
        .lines()
        .any(|l| l.starts_with("mode") && l.ends_with("session")));
    // Batch verbs act as the session's user.
    let created = h.run(
        &t,
        &["tenants", "create", "--name", "Loja", "--domain", "loja.com.br"],
        None,
    );
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let (name, user_id): (String, Option<uuid::Uuid>) =
        t.db.fetch_optional(
            "SELECT actor_name, actor_user_id FROM audit_log WHERE action = 'tenant.create'",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(name, "admin");
    assert!(user_id.is_some());
    let out = h.run(&t, &["logout"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(h.token_file().is_none(), "the token is forgotten");
    assert_eq!(h.run(&t, &["tenants", "list"], None).status.code(), Some(4));
    // Neither the password nor the token reached the log.
    let logs = h.logs();
    assert!(!logs.contains(PASSWORD) && !logs.contains(&token), "{logs}");
}

#[tokio::test]
async fn expired_and_revoked_sessions_exit_4_with_a_clear_message() {
    let t = fresh().await;
    let h = Home::new();
    h.init_and_login(&t);
    t.db.execute("UPDATE sessions SET revoked_at = $1", args![backend::db::now()])
        .await
        .unwrap();
    let r = h.run(&t, &["tenants", "list"], None);
    assert_eq!(r.status.code(), Some(4));
    assert!(
        stderr(&r).contains("session revoked — run painel login"),
        "{}",
        stderr(&r)
    );
    let login = h.run(
        &t,
        &["login", "--username", "admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));
    assert_eq!(h.run(&t, &["whoami"], None).status.code(), Some(0));
    t.db.execute(
        "UPDATE sessions SET expires_at = $1 WHERE revoked_at IS NULL",
        args![backend::db::now() - chrono::TimeDelta::minutes(1)],
    )
    .await
    .unwrap();
    let r = h.run(&t, &["-o", "json", "whoami"], None);
    assert_eq!(r.status.code(), Some(4));
    let err: serde_json::Value = serde_json::from_str(stderr(&r).trim()).unwrap();
    assert_eq!(err["error"]["kind"], "permission_denied");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("session expired — run painel login"));
}

#[tokio::test]
async fn two_factor_through_the_binary() {
    let t = fresh().await;
    let h = Home::new();
    h.init_and_login(&t);
    let pw = format!("{PASSWORD}\n");
    // A session alone does not enrol: the password again, on a terminal or standard input.
    let stolen = h.run(&t, &["2fa", "enroll"], None);
    assert_eq!(stolen.status.code(), Some(2), "{}", stderr(&stolen));
    assert!(stderr(&stolen).contains("--password-stdin"), "{}", stderr(&stolen));
    // Enrolment never creates a master key: without the deployment's setup it is refused.
    let refused = h.run(&t, &["-o", "table", "2fa", "enroll", "--password-stdin"], Some(&pw));
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("painel keys init"), "{}", stderr(&refused));
    assert!(
        !h.data().join("master.key").exists(),
        "no key created behind the operator's back"
    );
    let setup = h.run(&t, &["keys", "init"], None);
    assert_eq!(setup.status.code(), Some(0), "{}", stderr(&setup));
    assert!(
        stderr(&setup).contains("created a new master key"),
        "{}",
        stderr(&setup)
    );
    assert_eq!(mode(&h.data().join("master.key")), 0o600);
    let qr = h.run(&t, &["-o", "table", "2fa", "enroll", "--password-stdin"], Some(&pw));
    assert_eq!(qr.status.code(), Some(0), "{}", stderr(&qr));
    assert!(stdout(&qr).contains('█') && stdout(&qr).contains("otpauth://totp/painel:admin?secret="));
    let wrong = h.run(&t, &["2fa", "enroll", "--password-stdin"], Some("guess guess guess\n"));
    assert_eq!(wrong.status.code(), Some(4), "{}", stderr(&wrong));
    let e = h.run(&t, &["-o", "json", "2fa", "enroll", "--password-stdin"], Some(&pw));
    let secret = json(&e)["secret"].as_str().unwrap().to_owned();
    let bad = h.run(
        &t,
        &["2fa", "enable", "--code", "000000", "--password-stdin"],
        Some(&pw),
    );
    assert_eq!(bad.status.code(), Some(4), "{}", stderr(&bad));
    let code = totp::code_at(&secret, backend::db::now()).unwrap();
    let on = h.run(
        &t,
        &["-o", "json", "2fa", "enable", "--code", &code, "--password-stdin"],
        Some(&pw),
    );
    assert_eq!(on.status.code(), Some(0), "{}", stderr(&on));
    let codes: Vec<String> = json(&on)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["recovery_code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(h.run(&t, &["logout"], None).status.code(), Some(0));
    let no_code = h.run(
        &t,
        &["login", "--username", "admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(no_code.status.code(), Some(2));
    assert!(stderr(&no_code).contains("pass --totp"), "{}", stderr(&no_code));
    // The code that enabled 2FA was spent: a recovery code logs in instead.
    let replay = h.run(
        &t,
        &["login", "--username", "admin", "--password-stdin", "--totp", &code],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(replay.status.code(), Some(4), "{}", stderr(&replay));
    let rc = h.run(
        &t,
        &["login", "--username", "admin", "--password-stdin", "--totp", &codes[0]],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(rc.status.code(), Some(0), "{}", stderr(&rc));
    // That login presented a second factor: sensitive verbs need only the typed name for 5
    // minutes.
    h.run(
        &t,
        &["tenants", "create", "--name", "Loja", "--domain", "loja.com.br"],
        None,
    );
    let s = h.run(
        &t,
        &["tenants", "suspend", "loja", "--reason", "test", "--confirm", "loja"],
        None,
    );
    assert_eq!(s.status.code(), Some(0), "{}", stderr(&s));
    // Switching 2FA off needs the password and a code of this request, however recent the
    // session's.
    let no_code = h.run(
        &t,
        &["2fa", "disable", "--confirm", "admin", "--password-stdin"],
        Some(&pw),
    );
    assert_eq!(no_code.status.code(), Some(4), "{}", stderr(&no_code));
    assert!(stderr(&no_code).contains("--totp"), "{}", stderr(&no_code));
    let wrong = h.run(
        &t,
        &[
            "2fa",
            "disable",
            "--confirm",
            "root",
            "--totp",
            &codes[1],
            "--password-stdin",
        ],
        Some(&pw),
    );
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    let off = h.run(
        &t,
        &[
            "2fa",
            "disable",
            "--confirm",
            "admin",
            "--totp",
            &codes[1],
            "--password-stdin",
        ],
        Some(&pw),
    );
    assert_eq!(off.status.code(), Some(0), "{}", stderr(&off));
    let refused: Vec<(serde_json::Value,)> =
        t.db.fetch_all(
            "SELECT after FROM audit_log WHERE action = 'sensitive.refused' ORDER BY seq",
            args![],
        )
        .await
        .unwrap();
    let reasons: Vec<&str> = refused.iter().map(|(v,)| v["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["bad_password", "2fa_code_missing", "wrong_confirmation"]);
    let logs = h.logs();
    assert!(!logs.contains(&secret) && !logs.contains(&codes[1]), "{logs}");
}

#[tokio::test]
async fn keys_status_and_rotate_through_the_binary() {
    let t = fresh().await;
    let h = Home::new();
    // Nothing is set up: status says how, and creates no key.
    let none = h.run(&t, &["keys", "status"], None);
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    assert!(stderr(&none).contains("painel keys init"), "{}", stderr(&none));
    assert!(!h.data().join("master.key").exists());
    let init = h.run(&t, &["-o", "json", "keys", "init"], None);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    assert_eq!(json(&init)["registered"], true);
    let again = h.run(&t, &["-o", "json", "keys", "init"], None);
    assert_eq!(json(&again)["registered"], false, "a repeated init changes nothing");
    // No account yet: the local operator needs only the typed key id.
    let st = h.run(&t, &["-o", "json", "keys", "status"], None);
    assert_eq!(st.status.code(), Some(0), "{}", stderr(&st));
    assert_eq!(json(&st)["registered"], true);
    let old_id = json(&st)["key_id"].as_str().unwrap().to_owned();
    let loaded = secrets::load(&KeyConfig {
        data_dir: h.data(),
        ..KeyConfig::default()
    })
    .unwrap();
    let server = uuid::Uuid::now_v7();
    let sealed = loaded
        .keys
        .encrypt("servers.api_token_enc", server, b"whm-token")
        .unwrap();
    t.db.execute(
        "INSERT INTO servers (id, name, hostname, ip, api_token_enc) VALUES ($1, 'whm-1', 'whm-1.example.net', '192.0.2.5', $2)",
        args![server, sealed],
    )
    .await
    .unwrap();
    let wrong = h.run(&t, &["keys", "rotate", "--confirm", "deadbeef"], None);
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    assert!(!h.data().join("master.key.new").exists(), "the staged key is discarded");
    let rot = h.run(&t, &["-o", "json", "keys", "rotate", "--confirm", &old_id], None);
    assert_eq!(rot.status.code(), Some(0), "{}", stderr(&rot));
    let new_id = json(&rot)["new_key_id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);
    let st = json(&h.run(&t, &["-o", "json", "keys", "status"], None));
    assert_eq!(st["key_id"], new_id.as_str());
    assert_eq!(st["retired"], serde_json::json!([old_id]));
    for f in ["master.key", "master.key.retired"] {
        assert_eq!(mode(&h.data().join(f)), 0o600, "{f}");
    }
    let (value,): (Vec<u8>,) =
        t.db.fetch_optional("SELECT api_token_enc FROM servers", args![])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(secrets::key_id_of(&value).map(|k| k.to_string()), Some(new_id));
    // A key file others can read is refused.
    std::fs::set_permissions(h.data().join("master.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = h.run(&t, &["keys", "status"], None);
    assert_eq!(open.status.code(), Some(1));
    assert!(stderr(&open).contains("chmod 600"), "{}", stderr(&open));
    // With the key in the environment, the new key comes from standard input.
    let env_key = secrets::MasterKey::from_bytes([5; 32]);
    let env = [("PAINEL_MASTER_KEY", env_key.encode())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let st = json(&h.run_env(&t, &["-o", "json", "keys", "status"], None, &env));
    assert_eq!(st["source"], "env PAINEL_MASTER_KEY");
    assert_eq!(st["registered"], false, "another key than the deployment's");
    let stranger = h.run_env(&t, &["keys", "init"], None, &env);
    assert_eq!(stranger.status.code(), Some(5), "{}", stderr(&stranger));
    assert!(
        stderr(&stranger).contains("is not one of them"),
        "{}",
        stderr(&stranger)
    );
    let refused = h.run_env(
        &t,
        &["keys", "rotate", "--confirm", &env_key.id().to_string()],
        None,
        &env,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
}

#[tokio::test]
async fn the_default_store_keeps_the_session_in_the_keyring_or_a_file() {
    let t = fresh().await;
    let h = Home {
        store: "auto",
        ..Home::new()
    };
    h.init_and_login(&t);
    let who = h.run(&t, &["-o", "json", "whoami"], None);
    assert_eq!(who.status.code(), Some(0), "{}", stderr(&who));
    assert_eq!(json(&who)["username"], "admin");
    assert_eq!(h.run(&t, &["logout"], None).status.code(), Some(0));
    let who = h.run(&t, &["whoami"], None);
    assert_eq!(who.status.code(), Some(4), "logged out wherever the token was kept");
}

/// With a session keyring (as an SSH login on Debian has, via pam_keyinit), the token goes to
/// the kernel keyring and no file is written. `keyctl session` gives the test a keyring of its
/// own; all painel runs happen inside it.
#[tokio::test]
async fn the_session_goes_to_the_kernel_keyring_when_there_is_one() {
    let available = Command::new("keyctl")
        .args(["session", "-", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        // In CI a refused keyring is a failure, not a skip: the jump host depends on it.
        let why = match Command::new("keyctl").args(["session", "-", "true"]).output() {
            Err(e) => format!("keyctl cannot run ({e}); scripts/test installs keyutils"),
            Ok(o) => format!(
                "the kernel refused a session keyring: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
        };
        assert!(
            !std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false"),
            "CI is set and {why}"
        );
        eprintln!("skipping: {why}");
        return;
    }
    let t = fresh().await;
    let h = Home {
        store: "keyring",
        ..Home::new()
    };
    let bin = env!("CARGO_BIN_EXE_painel");
    let script = format!(
        "set -u; p() {{ {bin} --database-url '{url}' --data-dir '{data}' \"$@\"; }}; \
         printf '%s\\n' '{PASSWORD}' | p init --bootstrap --username kai --email k@example.com --password-stdin >/dev/null || exit 10; \
         printf '%s\\n' '{PASSWORD}' | p login --username kai --password-stdin >/dev/null || exit 11; \
         p -o json whoami || exit 12; \
         p logout >/dev/null || exit 13; \
         p whoami >/dev/null 2>&1; echo \"after-logout=$?\"",
        url = t.url,
        data = h.data().display(),
    );
    let out = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", &script])
        .env("XDG_CONFIG_HOME", h.dir.path())
        .env("XDG_DATA_HOME", h.dir.path())
        .env("PAINEL_SESSION_STORE", h.store)
        .env_remove("PAINEL_DATABASE_URL")
        .env_remove("PAINEL_MASTER_KEY")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(
        stderr(&out).contains("session kept in the kernel keyring"),
        "{}",
        stderr(&out)
    );
    assert!(text.contains("\"username\": \"kai\""), "{text}");
    assert!(text.trim_end().ends_with("after-logout=4"), "{text}");
    assert!(h.token_file().is_none(), "no token file when the keyring works");
}

#[tokio::test]
async fn a_super_admin_creates_accounts_that_can_log_in() {
    let t = fresh().await;
    let admin = Home::new();
    admin.init_and_login(&t);
    let tenant = admin.run(
        &t,
        &[
            "tenants",
            "create",
            "--name",
            "Rita Hosting",
            "--domain",
            "rita.example",
        ],
        None,
    );
    assert_eq!(tenant.status.code(), Some(0), "{}", stderr(&tenant));
    let create = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["-o", "json", "users", "create"];
        all.extend_from_slice(args);
        admin.run(&t, &all, stdin)
    };
    let master = create(
        &[
            "--username",
            "mara",
            "--email",
            "mara@example.com",
            "--role",
            "master",
            "--tenant",
            "rita-hosting",
        ],
        None,
    );
    assert_eq!(master.status.code(), Some(0), "{}", stderr(&master));
    let rita = create(
        &[
            "--username",
            "rita",
            "--email",
            "rita@example.com",
            "--role",
            "reseller",
            "--tenant",
            "rita-hosting",
            "--parent",
            "mara",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(rita.status.code(), Some(0), "{}", stderr(&rita));
    assert_eq!(json(&rita)["role"], "reseller");
    let bad_role = create(
        &["--username", "zed", "--email", "z@example.com", "--role", "emperor"],
        None,
    );
    assert_eq!(bad_role.status.code(), Some(2), "{}", stderr(&bad_role));
    let no_parent = create(
        &[
            "--username",
            "zed",
            "--email",
            "z@example.com",
            "--role",
            "reseller",
            "--tenant",
            "rita-hosting",
            "--parent",
            "nobody",
        ],
        None,
    );
    assert_eq!(no_parent.status.code(), Some(3), "{}", stderr(&no_parent));
    // Creating a super admin is sensitive: the typed name and a recent 2FA code, which this
    // admin (no 2FA enrolled) cannot give.
    let boss = |confirm: &str| {
        create(
            &[
                "--username",
                "boss",
                "--email",
                "b@example.com",
                "--role",
                "super_admin",
                "--confirm",
                confirm,
            ],
            None,
        )
    };
    let unconfirmed = boss("bos");
    assert_eq!(unconfirmed.status.code(), Some(2), "{}", stderr(&unconfirmed));
    let no_2fa = boss("boss");
    assert_eq!(no_2fa.status.code(), Some(4), "{}", stderr(&no_2fa));
    assert!(stderr(&no_2fa).contains("2fa enroll"), "{}", stderr(&no_2fa));

    let home = Home::new();
    let login = home.run(
        &t,
        &["login", "--username", "rita", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(login.status.code(), Some(0), "{}", stderr(&login));
    let who = home.run(&t, &["-o", "json", "whoami"], None);
    assert_eq!(json(&who)["role"], "reseller", "{}", stdout(&who));
    let denied = home.run(
        &t,
        &[
            "users",
            "create",
            "--username",
            "eve",
            "--email",
            "e@example.com",
            "--role",
            "reseller",
            "--tenant",
            "rita-hosting",
        ],
        None,
    );
    assert_eq!(denied.status.code(), Some(4), "{}", stderr(&denied));
    let audited: i64 =
        t.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create'", args![])
            .await
            .unwrap();
    assert!(audited >= 2, "{audited}");
}
