//! The batch mode, through the real binary.

use std::process::{Command, Output};

use crate::common::{fresh, TestDb};

pub(crate) fn painel(t: &TestDb, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url])
        .args(args)
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .env("PAINEL_OPERATOR", "cli-tester")
        .env_remove("PAINEL_DATABASE_URL")
        .output()
        .unwrap()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn tenants_round_trip_in_every_format() {
    let t = fresh().await;
    let created = painel(
        &t,
        &[
            "-o",
            "json",
            "tenants",
            "create",
            "--name",
            "Nuvem BR",
            "--domain",
            "nuvembr.com.br",
            "--tier",
            "pro",
        ],
    );
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    let json: serde_json::Value = serde_json::from_str(&stdout(&created)).unwrap();
    assert_eq!(
        (json["slug"].as_str(), json["max_domains"].as_i64()),
        (Some("nuvem-br"), Some(10))
    );
    painel(
        &t,
        &["tenants", "create", "--name", "Alpha Host", "--domain", "alpha.com"],
    );
    let table = painel(&t, &["-o", "table", "tenants", "list"]);
    let lines: Vec<String> = stdout(&table).lines().map(str::to_owned).collect();
    assert!(lines[0].starts_with("SLUG") && lines[0].contains("DOMAIN"), "{lines:?}");
    assert!(
        lines[1].starts_with("alpha-host") && lines[2].starts_with("nuvem-br"),
        "sorted by name: {lines:?}"
    );
    let csv = painel(&t, &["-o", "csv", "tenants", "list", "--sort", "name", "--desc"]);
    let text = stdout(&csv);
    let mut rows = text.lines();
    assert!(rows.next().unwrap().starts_with("id,slug,name,domain,status"));
    assert!(rows
        .next()
        .unwrap()
        .contains(",nuvem-br,Nuvem BR,nuvembr.com.br,active,pro,"));
    let paged = painel(&t, &["-o", "json", "tenants", "list", "--limit", "1"]);
    let token = stderr(&paged)
        .trim()
        .strip_prefix("more rows: --after ")
        .unwrap()
        .to_owned();
    let next = painel(
        &t,
        &["-o", "json", "tenants", "list", "--limit", "1", "--after", &token],
    );
    let items: serde_json::Value = serde_json::from_str(&stdout(&next)).unwrap();
    assert_eq!(items[0]["slug"], "nuvem-br");
    let all = painel(&t, &["-o", "json", "tenants", "list", "--limit", "1", "--all"]);
    assert_eq!(stdout(&all).matches("\"slug\"").count(), 2, "--all walks every page");
    let upd = painel(
        &t,
        &[
            "-o",
            "json",
            "tenants",
            "update",
            "nuvem-br",
            "--primary-color",
            "#112233",
            "--max-customers",
            "unlimited",
            "--max-domains",
            "3",
        ],
    );
    assert_eq!(upd.status.code(), Some(0), "{}", stderr(&upd));
    let v: serde_json::Value = serde_json::from_str(&stdout(&upd)).unwrap();
    assert_eq!(
        (v["primary_color"].as_str(), v["max_domains"].as_i64()),
        (Some("#112233"), Some(3))
    );
    let shown = painel(&t, &["-o", "table", "tenants", "show", "nuvem-br"]);
    assert!(stdout(&shown)
        .lines()
        .any(|l| l.starts_with("primary_color") && l.ends_with("#112233")));
}

#[tokio::test]
async fn errors_have_stable_exit_codes_and_change_nothing() {
    let t = fresh().await;
    let bad = painel(
        &t,
        &["-o", "table", "tenants", "create", "--name", "Bad", "--domain", "nope"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        stderr(&bad).trim(),
        "error: invalid input: domain: must be a domain name like example.com.br"
    );
    let bad_json = painel(
        &t,
        &[
            "-o",
            "json",
            "tenants",
            "create",
            "--name",
            "Bad",
            "--domain",
            "nope",
            "--primary-color",
            "x",
        ],
    );
    let err: serde_json::Value = serde_json::from_str(stderr(&bad_json).trim()).unwrap();
    assert_eq!(err["error"]["kind"], "validation");
    assert_eq!(err["error"]["fields"][1]["field"], "primary_color");
    assert_eq!(painel(&t, &["tenants", "show", "ghost"]).status.code(), Some(3));
    assert_eq!(painel(&t, &["tenants", "frobnicate"]).status.code(), Some(2));
    painel(
        &t,
        &["tenants", "create", "--name", "Alpha Host", "--domain", "alpha.com"],
    );
    assert_eq!(
        painel(
            &t,
            &["tenants", "create", "--name", "Alpha Host", "--domain", "alpha2.com"]
        )
        .status
        .code(),
        Some(5)
    );
    let wrong = painel(
        &t,
        &[
            "tenants",
            "suspend",
            "alpha-host",
            "--reason",
            "late",
            "--confirm",
            "alpha",
        ],
    );
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    let bad_limit = painel(
        &t,
        &[
            "tenants",
            "update",
            "alpha-host",
            "--name",
            "Renamed",
            "--max-domains",
            "lots",
        ],
    );
    assert_eq!(bad_limit.status.code(), Some(2));
    let list = painel(&t, &["-o", "json", "tenants", "list"]);
    let items: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(
        (items.as_array().unwrap().len(), items[0]["name"].as_str()),
        (1, Some("Alpha Host")),
        "nothing changed"
    );
    let ok = painel(
        &t,
        &[
            "tenants",
            "suspend",
            "alpha-host",
            "--reason",
            "late",
            "--confirm",
            "alpha-host",
        ],
    );
    assert_eq!(ok.status.code(), Some(0));
    let audit: Vec<(String, String)> =
        t.db.fetch_all(
            "SELECT action, actor_name FROM audit_log ORDER BY seq",
            backend::args![],
        )
        .await
        .unwrap();
    // PAINEL_OPERATOR is set to "cli-tester" and ignored: the real OS user acted.
    let me = backend::actor::OsUser::current().label();
    assert_eq!(
        audit,
        [
            ("tenant.create".into(), me.clone()),
            // The wrong confirmation changed nothing, but its refusal is on record.
            ("sensitive.refused".into(), me.clone()),
            ("tenant.suspend".into(), me)
        ]
    );
}

#[tokio::test]
async fn customers_and_config_show() {
    let t = fresh().await;
    painel(&t, &["tenants", "create", "--name", "Loja", "--domain", "loja.com.br"]);
    let c = painel(
        &t,
        &[
            "-o",
            "json",
            "customers",
            "create",
            "--tenant",
            "loja",
            "--name",
            "Ana Lima",
            "--email",
            "ana@loja.com.br",
        ],
    );
    assert_eq!(c.status.code(), Some(0), "{}", stderr(&c));
    let list = painel(&t, &["-o", "csv", "customers", "list", "--tenant", "loja"]);
    assert!(stdout(&list).contains(",loja,Ana Lima,ana@loja.com.br,"));
    let home = tempfile::tempdir().unwrap();
    let cfg = Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["-o", "json", "config", "show"])
        .env("XDG_CONFIG_HOME", home.path())
        .env("PAINEL_DATABASE_URL", "postgres://app:hunter2@db.internal:5432/painel")
        .env("PAINEL_MASTER_KEY", "c2VjcmV0LW1hc3Rlci1rZXktb2YtMzItYnl0ZXMhISE=")
        .output()
        .unwrap();
    let text = stdout(&cfg);
    assert!(!text.contains("hunter2"), "secrets are masked: {text}");
    assert!(!text.contains("c2VjcmV0"), "the master key is never shown: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let db = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "database_url")
        .unwrap();
    assert_eq!(
        (db["value"].as_str(), db["source"].as_str()),
        (Some("postgres://app:****@db.internal:5432/painel"), Some("env"))
    );
}

#[tokio::test]
async fn jobs_verbs_through_the_binary() {
    use backend::jobs::{self, NewJob};

    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    let mut ids = Vec::new();
    for (queue, kind) in [("default", "provision"), ("default", "renew"), ("mail", "send")] {
        let j = jobs::enqueue(
            &mut tx,
            NewJob {
                queue: queue.into(),
                kind: kind.into(),
                payload: serde_json::json!({"k": kind}),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        ids.push(j.id.to_string());
    }
    tx.commit().await.unwrap();

    let cancelled = painel(&t, &["-o", "json", "jobs", "cancel", &ids[0]]);
    assert_eq!(cancelled.status.code(), Some(0), "{}", stderr(&cancelled));
    let json: serde_json::Value = serde_json::from_str(&stdout(&cancelled)).unwrap();
    assert_eq!(json["status"], "cancelled");

    let stats = painel(&t, &["-o", "json", "jobs", "stats"]);
    assert_eq!(stats.status.code(), Some(0), "{}", stderr(&stats));
    let json: serde_json::Value = serde_json::from_str(&stdout(&stats)).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"queue": "default", "status": "cancelled", "count": 1},
            {"queue": "default", "status": "queued", "count": 1},
            {"queue": "mail", "status": "queued", "count": 1},
        ])
    );

    let retried = painel(&t, &["-o", "json", "jobs", "retry", &ids[0]]);
    assert_eq!(retried.status.code(), Some(0), "{}", stderr(&retried));
    let again = painel(&t, &["-o", "json", "jobs", "retry", &ids[0]]);
    assert_eq!(again.status.code(), Some(5), "conflict: {}", stderr(&again));
    assert_eq!(painel(&t, &["jobs", "show", "nope"]).status.code(), Some(3));

    let csv = painel(&t, &["-o", "csv", "jobs", "list", "--queue", "default"]);
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("id,queue,kind,status,attempts"));
    assert_eq!(lines.count(), 2);
    let table = painel(
        &t,
        &["-o", "table", "jobs", "list", "--status", "queued", "--limit", "1"],
    );
    assert!(stdout(&table).starts_with("ID"), "{}", stdout(&table));
    assert!(stderr(&table).contains("more rows: --after "));
    let show = painel(&t, &["-o", "json", "jobs", "show", &ids[2]]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(
        (json["kind"].as_str(), json["payload"]["k"].as_str()),
        (Some("send"), Some("send"))
    );
}
