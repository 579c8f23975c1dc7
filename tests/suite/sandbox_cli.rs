//! `painel sandbox run` and `painel sandbox fault` through the real binary: the printed
//! control URL and servers, a fault set from the CLI seen over HTTP, the 0600 record.

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn painel(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(args)
        .env("PAINEL_DATA_DIR", data)
        .env("XDG_CONFIG_HOME", data)
        .output()
        .unwrap()
}

#[tokio::test]
async fn sandbox_run_prints_its_servers_and_takes_faults_from_the_cli() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
        .args([
            "-o",
            "json",
            "sandbox",
            "run",
            "--seed",
            "9",
            "--servers",
            "whm-gru-01,whm-fra-01",
            "--http",
        ])
        .env("PAINEL_DATA_DIR", data.path())
        .env("XDG_CONFIG_HOME", data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        }),
    )
    .await
    .expect("painel sandbox run printed nothing")
    .unwrap();
    let running: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first:?}"));
    let control = running["control_url"].as_str().unwrap().to_owned();
    assert!(control.starts_with("http://127.0.0.1:"), "{running}");
    assert_eq!(running["seed"], 9);
    assert_eq!(running["cert_sha256"].as_str().unwrap().len(), 64);
    let servers = running["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    let gru = servers.iter().find(|s| s["name"] == "whm-gru-01").unwrap();
    let url = gru["url"].as_str().unwrap().to_owned();
    let auth = format!(
        "whm {}:{}",
        gru["api_user"].as_str().unwrap(),
        gru["token"].as_str().unwrap()
    );
    assert_eq!(gru["token"].as_str().unwrap(), painel_sandbox_token(9, "whm-gru-01"));

    let record = data.path().join("sandbox.json");
    let mode = std::fs::metadata(&record).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The issue's example, through the recorded control URL.
    let out = painel(
        data.path(),
        &[
            "-o",
            "json",
            "sandbox",
            "fault",
            "whm-gru-01",
            "createacct",
            "timeout",
            "--rate",
            "0.3",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed[0]["kind"], "timeout");
    assert_eq!(listed[0]["rate"], 0.3);

    // An envelope fault set with --control, seen by an HTTP client.
    let out = painel(
        data.path(),
        &[
            "sandbox",
            "fault",
            "whm-gru-01",
            "createacct",
            "envelope",
            "--reason",
            "disk quota exceeded",
            "--control",
            &control,
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let http = reqwest::Client::new();
    let create = format!("{url}/json-api/createacct?api.version=1&username=cli01&domain=cli01.com.br");
    let v: Value = http
        .get(&create)
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["metadata"]["result"], 0);
    assert_eq!(v["metadata"]["reason"], "disk quota exceeded");

    let out = painel(
        data.path(),
        &["sandbox", "fault", "whm-gru-01", "createacct", "explode"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault kind"));
    let out = painel(
        data.path(),
        &[
            "sandbox",
            "fault",
            "whm-gru-01",
            "createacct",
            "drop",
            "--control",
            "http://192.0.2.1:9",
        ],
    );
    assert!(!out.status.success(), "only loopback control URLs");

    let out = painel(data.path(), &["sandbox", "faults", "clear"]);
    assert!(out.status.success());
    let v: Value = http
        .get(&create)
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["metadata"]["result"], 1, "{v}");
    let out = painel(data.path(), &["sandbox", "state", "whm-gru-01"]);
    let state: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["accounts"][0]["user"], "cli01");
    assert_eq!(state["calls"]["createacct"], 2);

    // What a site serves, set from the CLI like a fault: expired three days ago, then none.
    let out = painel(
        data.path(),
        &[
            "-o",
            "json",
            "sandbox",
            "cert",
            "whm-gru-01",
            "loja.com.br",
            "issued",
            "--days",
            "-3",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sites: Value = serde_json::from_slice(&out.stdout).unwrap();
    let loja = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["domain"] == "loja.com.br")
        .unwrap();
    assert_eq!(loja["cert"]["kind"], "issued");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = loja["cert"]["not_after"].as_i64().unwrap() - now;
    assert!((-3 * 86_400 - 60..=-3 * 86_400 + 60).contains(&left), "{left}");
    let out = painel(
        data.path(),
        &["-o", "json", "sandbox", "cert", "whm-gru-01", "loja.com.br", "none"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sites: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!sites.as_array().unwrap().iter().any(|s| s["domain"] == "loja.com.br"));
    let out = painel(data.path(), &["sandbox", "cert", "whm-gru-01", "loja.com.br", "forged"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate kind"));

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!record.exists(), "the record goes with the sandbox");
    let out = painel(data.path(), &["sandbox", "faults", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("painel sandbox run"));
}

fn painel_sandbox_token(seed: u64, name: &str) -> String {
    ::sandbox::token_for(seed, name)
}
