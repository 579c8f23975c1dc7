//! `painel demo --headless` through the binary: the demo's hosting servers are simulated on
//! loopback, their rows name the simulators (URL, sealed token, pinned certificate, audited),
//! and what painel's WHM client lists there agrees with the seeded services and plans.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use backend::args;
use backend::secrets::{self, KeyConfig};
use serde_json::Value;
use uuid::Uuid;

use crate::common::fresh;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    status: String,
    whm_url: Option<String>,
    tls_mode: String,
    tls_pin_sha256: Option<String>,
}

#[derive(sqlx::FromRow, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct Live {
    username: String,
    domain: String,
    package: String,
    suspended: bool,
}

#[tokio::test]
async fn demo_servers_are_simulated_and_agree_with_the_seed() {
    let t = fresh().await;
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url, "-o", "json", "demo", "--headless"])
        .env("PAINEL_DATA_DIR", data.path())
        .env("XDG_CONFIG_HOME", data.path())
        .env("XDG_DATA_HOME", data.path())
        .env_remove("PAINEL_DATABASE_URL")
        .env_remove("PAINEL_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        }),
    )
    .await
    .expect("painel demo --headless printed nothing")
    .unwrap();
    let running: Value = match serde_json::from_str(&first) {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{e}: {first:?} {}", String::from_utf8_lossy(&out.stderr));
        }
    };
    let pin = running["cert_sha256"].as_str().unwrap().to_owned();

    let loaded = secrets::load(&KeyConfig {
        env_key: None,
        env_previous: None,
        data_dir: data.path().to_path_buf(),
    })
    .unwrap();
    let keys = secrets::registered(&t.db, &loaded.keys).await.unwrap();
    let rows: Vec<Row> = t
        .db
        .fetch_all(
            "SELECT id, name, status, whm_url, tls_mode, tls_pin_sha256 FROM servers WHERE kind IN ('whm', 'cpanel') ORDER BY name",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 7);
    let mut compared = 0;
    for r in &rows {
        let listed = running["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == r.name.as_str())
            .unwrap();
        assert_eq!(r.whm_url.as_deref(), listed["url"].as_str(), "{}", r.name);
        assert!(r.whm_url.as_deref().unwrap().starts_with("https://127.0.0.1:"));
        assert_eq!(
            (r.tls_mode.as_str(), r.tls_pin_sha256.as_deref()),
            ("pin", Some(pin.as_str()))
        );
        let client = backend::hosting::connect::whm_client(&t.db, &keys, r.id).await.unwrap();
        match r.status.as_str() {
            // The offline server does not answer; the one in maintenance answers 503.
            "offline" | "maintenance" => {
                assert!(client.version().await.is_err(), "{} answered", r.name);
                continue;
            }
            _ => {}
        }
        let accounts = client.list_accounts().await.unwrap();
        let on_whm: BTreeSet<Live> = accounts
            .iter()
            .map(|a| Live {
                username: a.user.clone(),
                domain: a.domain.clone(),
                package: a.plan.clone(),
                suspended: a.suspended,
            })
            .collect();
        let in_painel: Vec<Live> =
            t.db.fetch_all(
                "SELECT s.username AS username, s.domain AS domain, p.external_package AS package, \
                        s.status = 'suspended' AS suspended \
                 FROM services s JOIN plans p ON p.id = s.plan_id \
                 WHERE s.server_id = $1 AND s.status IN ('active', 'suspended')",
                args![r.id],
            )
            .await
            .unwrap();
        assert!(!in_painel.is_empty(), "{} hosts no live service", r.name);
        assert_eq!(on_whm, in_painel.into_iter().collect::<BTreeSet<_>>(), "{}", r.name);
        let packages: BTreeSet<String> = client
            .list_packages()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        let plans: Vec<String> = t
            .db
            .fetch_all::<(String,)>(
                "SELECT external_package FROM plans WHERE kind IN ('hosting', 'reseller_hosting', 'email') AND external_package IS NOT NULL",
                args![],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|(p,)| p)
            .collect();
        assert!(plans.iter().all(|p| packages.contains(p)), "{}: {packages:?}", r.name);
        compared += 1;
    }
    assert!(compared >= 4, "servers compared: {compared}");
    let audited: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE actor_name = 'demo-sandbox' AND action = 'server.update'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 7);

    // DNS (docs/adr/0031): one verification completes against the sandbox's DNS server once
    // the demo "customer" delegates the domain; the other stalls into the failure feed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let states: Vec<(String, String, Option<String>, String)> =
            t.db.fetch_all(
                "SELECT d.name, d.status, CAST(d.ns_stalled_at AS TEXT), z.status FROM domains d \
                 JOIN dns_zones z ON z.domain_id = d.id WHERE d.name IN ('verifica-demo.com.br', 'parado-demo.com.br') \
                 ORDER BY d.name",
                args![],
            )
            .await
            .unwrap();
        let done = states.len() == 2
            && states[0].0 == "parado-demo.com.br"
            && states[0].1 == "pending"
            && states[0].2.is_some()
            && states[1].1 == "active"
            && states[1].3 == "active";
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "demo DNS never settled: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let pushed: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM dns_records r JOIN dns_zones z ON z.id = r.zone_id \
             WHERE z.name = 'verifica-demo.com.br' AND r.sync_status = 'synced'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(
        pushed, 4,
        "the verified zone's records reached the Cloudflare simulator"
    );

    let record = data.path().join("sandbox.json");
    assert!(record.exists(), "painel sandbox fault can reach the demo's sandbox");
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!record.exists());
}
