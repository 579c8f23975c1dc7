//! Issue 10's batch verbs through the real binary: contexts and the demo's session, `find`,
//! short ids everywhere, the audit filter by slug and actor prefix, pipes, one JSON document
//! for `--all`, JSON Lines, usage lines, "unlimited" in JSON and CSV, unknown job kinds.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use backend::args;
use serde_json::Value;
use tempfile::TempDir;

use crate::cli::{stderr, stdout};
use crate::common::{fresh, TestDb};

/// One operator's machine: a config and data dir kept across runs.
struct Home {
    dir: TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_painel"));
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path())
            .env("PAINEL_SESSION_STORE", "file")
            .env_remove("PAINEL_DATABASE_URL")
            .env_remove("PAINEL_MASTER_KEY")
            .env_remove("SSH_CONNECTION")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs with no `--database-url`: the selected context decides.
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let o = self.run(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&o)))
    }
}

/// A demo database at `t` (seeded through the binary) with `home` in its demo context.
fn demo(t: &TestDb) -> Home {
    let home = Home::new();
    let o = home.run(&["--database-url", &t.url, "demo", "--seed-only"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    home
}

#[tokio::test]
async fn the_demo_selects_its_context_and_keeps_its_session_for_batch_verbs() {
    let t = fresh().await;
    let home = demo(&t);
    // No --database-url: the demo context's database, as the demo admin.
    let who = home.json(&["whoami"]);
    assert_eq!(
        (who["username"].as_str(), who["mode"].as_str()),
        (Some("admin"), Some("session"))
    );
    assert_eq!(home.json(&["tenants", "list"]).as_array().unwrap().len(), 8);
    let ctx = home.json(&["context", "show"]);
    assert_eq!(
        (ctx["name"].as_str(), ctx["current"].as_bool()),
        (Some("demo"), Some(true))
    );
    let file = home.dir.path().join("painel/contexts.toml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // A second context with a password: never printed unmasked, and selecting it moves
    // every verb there (an empty SQLite file here).
    let other = format!("sqlite://{}", home.dir.path().join("other.sqlite").display());
    assert_eq!(home.run(&["context", "add", "other", &other]).status.code(), Some(0));
    let pg = "postgres://app:s3cr3t-pw@db.example:5432/painel";
    assert_eq!(home.run(&["context", "add", "remote", pg]).status.code(), Some(0));
    let listed = home.run(&["-o", "csv", "context", "list"]);
    assert!(!stdout(&listed).contains("s3cr3t-pw"), "{}", stdout(&listed));
    assert!(stdout(&listed).contains("postgres db.example:5432/painel"));
    assert_eq!(home.run(&["context", "use", "other"]).status.code(), Some(0));
    assert_eq!(home.json(&["whoami"])["mode"], "local-operator");
    assert_eq!(home.json(&["tenants", "list"]).as_array().unwrap().len(), 0);
    // --context and --database-url pick another database for one run.
    assert_eq!(
        home.json(&["--context", "demo", "tenants", "list"])
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let flag = home.json(&["--database-url", &t.url, "config", "show"]);
    let source = flag
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "database_url")
        .unwrap()["source"]
        .clone();
    assert_eq!(source, "flag");
    let unknown = home.run(&["context", "use", "nope"]);
    assert_eq!(unknown.status.code(), Some(3));
    assert!(stderr(&unknown).contains("demo, other, remote"), "{}", stderr(&unknown));
}

#[tokio::test]
async fn find_reaches_every_kind_by_every_kind_of_term_within_scope() {
    let t = fresh().await;
    let home = demo(&t);
    let kinds = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{}:{}", h["kind"].as_str().unwrap(), h["matched"].as_str().unwrap()))
            .collect()
    };
    let found = home.json(&["find", "streammax"]);
    assert!(kinds(&found).contains(&"tenant:slug".to_owned()), "{found}");
    assert!(found
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["route"] == "tenants/streammax-revenda"));

    // A customer by e-mail, by document and by a short id; users by name.
    let (id, email, document): (uuid::Uuid, String, Option<String>) =
        t.db.fetch_optional(
            "SELECT id, email, document FROM customers WHERE document IS NOT NULL ORDER BY email LIMIT 1",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    for (term, matched) in [
        (email.clone(), "email"),
        (document.unwrap(), "document"),
        (id.simple().to_string()[..12].to_owned(), "id"),
        (id.to_string(), "id"),
    ] {
        let hits = home.json(&["find", &term]);
        assert!(
            hits.as_array()
                .unwrap()
                .iter()
                .any(|h| h["kind"] == "customer" && h["id"] == id.to_string() && h["matched"] == matched),
            "{term}: {hits}"
        );
    }
    assert!(kinds(&home.json(&["find", "thiago"])).contains(&"user:username".to_owned()));

    // A tenant admin finds only its own tenant's records.
    let mut login = home
        .cmd(&["login", "--username", "thiago.barbosa", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut login.stdin.take().unwrap(), b"painel-demo-2024\n").unwrap();
    assert!(login.wait().unwrap().success());
    let scoped = home.json(&["find", "@gmail.com", "--limit", "50"]);
    let tenants: std::collections::BTreeSet<&str> = scoped
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["tenant"].as_str())
        .collect();
    assert_eq!(
        tenants.into_iter().collect::<Vec<_>>(),
        vec!["streammax-revenda"],
        "{scoped}"
    );
    let other: (uuid::Uuid,) = t
        .db
        .fetch_optional(
            "SELECT c.id FROM customers c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug <> 'streammax-revenda' LIMIT 1",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(home.json(&["find", &other.0.to_string()]), serde_json::json!([]));
}

#[tokio::test]
async fn short_ids_work_in_every_verb_and_ambiguity_lists_the_candidates() {
    let t = fresh().await;
    let home = demo(&t);
    // The queue screen shows a job's last 8 hex digits; a failed job is retried by them.
    let failed: (uuid::Uuid,) =
        t.db.fetch_optional(
            "SELECT id FROM jobs WHERE status IN ('failed', 'dead') LIMIT 1",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    let hex = failed.0.simple().to_string();
    let retried = home.json(&["jobs", "retry", &hex[24..]]);
    assert_eq!(
        (retried["id"].as_str(), retried["status"].as_str()),
        (Some(failed.0.to_string().as_str()), Some("queued"))
    );
    assert_eq!(home.json(&["jobs", "show", &hex[..13]])["id"], failed.0.to_string());

    // Demo rows are created within one second: their ids share a prefix.
    let ambiguous = home.run(&["jobs", "show", &hex[..4]]);
    assert_eq!(ambiguous.status.code(), Some(2), "{}", stderr(&ambiguous));
    let text = stderr(&ambiguous);
    assert!(
        text.contains("ambiguous") && text.matches(&hex[..4]).count() >= 3,
        "{text}"
    );
    assert_eq!(home.run(&["jobs", "show", "ffffeeee"]).status.code(), Some(3));

    let (customer, tenant, slug): (uuid::Uuid, uuid::Uuid, String) =
        t.db.fetch_optional(
            "SELECT c.id, t.id, t.slug FROM customers c JOIN tenants t ON t.id = c.tenant_id ORDER BY c.email LIMIT 1",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    let c = customer.simple().to_string();
    assert_eq!(home.json(&["customers", "show", &c[20..]])["id"], customer.to_string());
    let tn = tenant.simple().to_string();
    assert_eq!(home.json(&["tenants", "show", &tn[20..]])["slug"], slug);
    let row = home.json(&["audit", "list", "--limit", "1"])[0].clone();
    let audit_id = row["id"].as_str().unwrap().replace('-', "");
    assert_eq!(home.json(&["audit", "show", &audit_id[20..]])["seq"], row["seq"]);
}

#[tokio::test]
async fn the_audit_filter_takes_slugs_and_actor_prefixes_and_rows_carry_the_slug() {
    let t = fresh().await;
    let home = demo(&t);
    let rows = home.json(&[
        "audit",
        "list",
        "--tenant",
        "streammax",
        "--actor",
        "demo",
        "--limit",
        "20",
    ]);
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert_eq!(r["tenant_slug"], "streammax-revenda", "{r}");
        assert!(r["actor_name"].as_str().unwrap().starts_with("demo"), "{r}");
    }
    let table = home.run(&["-o", "table", "audit", "list", "--tenant", "streammax", "--limit", "3"]);
    assert!(
        stdout(&table).lines().nth(1).unwrap().contains("streammax-revenda"),
        "{}",
        stdout(&table)
    );
    let none = home.json(&["audit", "list", "--actor", "nobody-like-this"]);
    assert_eq!(none, serde_json::json!([]));
}

#[tokio::test]
async fn pipes_json_documents_json_lines_and_every_list_walks_all_pages() {
    let t = fresh().await;
    let home = demo(&t);
    // A reader that stops after one line: painel ends quietly with success.
    let mut child = home
        .cmd(&["-o", "table", "audit", "list", "--all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("SEQ"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).to_lowercase().contains("broken pipe"), "{}", stderr(&out));

    // --all with JSON: one document, every row.
    let total: i64 = t.db.scalar("SELECT COUNT(*) FROM audit_log", args![]).await.unwrap();
    let all = home.json(&["audit", "list", "--all", "--limit", "97"]);
    assert_eq!(all.as_array().unwrap().len() as i64, total);
    let customers: i64 = t.db.scalar("SELECT COUNT(*) FROM customers", args![]).await.unwrap();
    let walked = home.json(&["customers", "list", "--all", "--limit", "7"]);
    assert_eq!(walked.as_array().unwrap().len() as i64, customers);
    let jobs: i64 = t.db.scalar("SELECT COUNT(*) FROM jobs", args![]).await.unwrap();
    assert_eq!(
        home.json(&["jobs", "list", "--all", "--limit", "5"])
            .as_array()
            .unwrap()
            .len() as i64,
        jobs
    );
    assert_eq!(
        home.json(&["tenants", "list", "--all", "--limit", "3"])
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert!(home.json(&["apikeys", "list", "--all"]).is_array());
    // An empty walk is still one document.
    assert_eq!(
        home.json(&["jobs", "list", "--all", "--kind", "none.such"]),
        serde_json::json!([])
    );

    // JSON Lines: one object per line.
    let lines = home.run(&["-o", "jsonl", "customers", "list", "--all", "--limit", "7"]);
    let text = stdout(&lines);
    assert_eq!(text.lines().count() as i64, customers);
    for l in text.lines() {
        assert!(serde_json::from_str::<Value>(l).unwrap().is_object(), "{l}");
    }
}

#[tokio::test]
async fn usage_lines_unlimited_values_and_unknown_job_kinds() {
    let t = fresh().await;
    let home = demo(&t);
    // A mistyped flag: the usage line is the verb's own, not the suggested flag as required.
    let typo = home.run(&["audit", "list", "--sinse", "1d"]);
    assert_eq!(typo.status.code(), Some(2));
    let usage: Vec<&str> = std::str::from_utf8(&typo.stderr)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("Usage:"))
        .collect();
    assert_eq!(usage, vec!["Usage: painel audit list [OPTIONS]"]);

    // "unlimited" is JSON's null and CSV's empty cell.
    let upd = home.run(&[
        "-o",
        "json",
        "tenants",
        "update",
        "streammax-revenda",
        "--max-customers",
        "unlimited",
    ]);
    assert_eq!(upd.status.code(), Some(0), "{}", stderr(&upd));
    assert!(home.json(&["tenants", "show", "streammax-revenda"])["max_customers"].is_null());
    let csv = home.run(&["-o", "csv", "tenants", "show", "streammax-revenda"]);
    let mut r = csv::Reader::from_reader(csv.stdout.as_slice());
    let headers = r.headers().unwrap().clone();
    let row = r.records().next().unwrap().unwrap();
    let at = headers.iter().position(|h| h == "max_customers").unwrap();
    assert_eq!(&row[at], "");

    // An unknown kind is refused at enqueue, naming the known ones.
    let o = home.run(&["-o", "table", "jobs", "enqueue", "--kind", "foo.bar"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("foo.bar") && e.contains("noop") && e.contains("audit.note"),
        "{e}"
    );
    let queued: i64 =
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'foo.bar'", args![])
            .await
            .unwrap();
    assert_eq!(queued, 0);
}

/// A short id resolves only among rows the actor may see: another tenant's (or a platform)
/// job is "not found" for a tenant user, never an ambiguity that reveals it.
#[tokio::test]
async fn short_ids_resolve_within_the_actors_scope_only() {
    use backend::ids::{self, JOBS};
    use backend::{Actor, Role, ServiceError};
    let t = fresh().await;
    let _home = demo(&t);
    let (tenant,): (uuid::Uuid,) =
        t.db.fetch_optional("SELECT id FROM tenants WHERE slug = 'streammax-revenda'", args![])
            .await
            .unwrap()
            .unwrap();
    let (foreign,): (uuid::Uuid,) =
        t.db.fetch_optional(
            "SELECT id FROM jobs WHERE tenant_id IS NULL OR tenant_id <> $1 LIMIT 1",
            args![tenant],
        )
        .await
        .unwrap()
        .unwrap();
    let hex = foreign.simple().to_string();
    let admin = Actor::tenant_user("t-admin", Role::TenantAdmin, tenant);
    let scoped = t.db.scoped(Some(tenant));
    for short in [&hex[..16], &hex[24..]] {
        let got = ids::expand(&scoped, &admin, &JOBS, short).await;
        assert!(matches!(got, Err(ServiceError::NotFound { .. })), "{short}: {got:?}");
        let platform = ids::expand(&t.db, &Actor::system("ops"), &JOBS, short).await.unwrap();
        assert_eq!(platform, foreign.to_string());
    }
}

/// The demo admin has 2FA with the README's secret: a code computed from it (as `oathtool
/// --totp -b SECRET` would) logs in, and a sensitive action then works in the demo.
#[tokio::test]
async fn the_demo_admin_has_2fa_with_the_readme_secret_and_sensitive_actions_work() {
    use backend::identity::totp;
    use backend::seed::DEMO_TOTP_SECRET;
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&format!("oathtool --totp -b {DEMO_TOTP_SECRET}")),
        "the README gives the secret"
    );
    let t = fresh().await;
    let home = demo(&t);
    let tenants = home.json(&["tenants", "list"]);
    let slug = tenants
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "active")
        .and_then(|t| t["slug"].as_str())
        .unwrap()
        .to_owned();
    // A login without a code is asked for one; with the secret's next code it succeeds.
    assert_eq!(home.run(&["logout"]).status.code(), Some(0));
    let login = |code: Option<String>| {
        let mut args = vec!["login", "--username", "admin", "--password-stdin"];
        let code = code.unwrap_or_default();
        if !code.is_empty() {
            args.extend(["--totp", code.as_str()]);
        }
        let mut child = home
            .cmd(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{}\n", backend::seed::DEMO_PASSWORD).as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let without = login(None);
    assert_ne!(without.status.code(), Some(0), "{}", stderr(&without));
    // The demo's own login used the current step's code; the next step's is still in the
    // window and has not been used.
    let next = backend::db::now() + chrono::TimeDelta::seconds(30);
    let with = login(Some(totp::code_at(DEMO_TOTP_SECRET, next).unwrap()));
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    let o = home.run(&[
        "tenants",
        "suspend",
        &slug,
        "--reason",
        "trying the demo",
        "--confirm",
        &slug,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let shown = home.json(&["tenants", "show", &slug]);
    assert_eq!(shown["status"], "suspended");
}
