use std::time::Duration;

use painel_sandbox::{ServerInfo, WhmSnapshot};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn control_api_lists_sets_reads_and_clears() {
    let sb = start(3).await;
    let http = reqwest::Client::new();
    let base = sb.control_url();
    assert!(base.starts_with("http://127.0.0.1:"));

    let servers: Vec<ServerInfo> = http
        .get(format!("{base}/servers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(servers.len(), 2);
    let gru = servers.iter().find(|s| s.name == GRU).unwrap();
    assert_eq!(Some(gru.url.clone()), sb.whm_url(GRU));
    assert_eq!(
        (gru.api_user.as_str(), gru.token.as_str(), gru.kind.as_str()),
        ("root", TOKEN, "whm")
    );
    let overview: serde_json::Value = http.get(&base).send().await.unwrap().json().await.unwrap();
    assert_eq!(overview["seed"], 3);
    assert_eq!(overview["cert_sha256"], sb.cert_sha256_hex());

    let r = http
        .post(format!("{base}/faults"))
        .json(&json!({ "server": GRU, "operation": "createacct", "kind": "503", "rate": 1.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c = client(Duration::from_secs(5));
    let r = send(&c, &sb, GRU, "createacct", &[("username", "x1"), ("domain", "x1.com")])
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let listed: serde_json::Value = http
        .get(format!("{base}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["server"], GRU);
    assert_eq!(listed[0]["operation"], "createacct");
    assert_eq!(listed[0]["kind"], "http5xx");
    assert_eq!(listed[0]["status"], 503);
    assert_eq!(listed[0]["fired"], 1);

    let r = http
        .post(format!("{base}/faults"))
        .json(&json!({ "server": "whm-nowhere", "operation": "createacct", "kind": "drop" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    for bad in [
        json!({ "server": GRU, "operation": "x", "kind": "explode" }),
        json!({ "server": GRU, "operation": "x", "kind": "latency" }),
        json!({ "server": GRU, "operation": "x", "kind": "drop", "rate": 3 }),
    ] {
        let r = http.post(format!("{base}/faults")).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }

    let r = http.delete(format!("{base}/faults/{GRU}")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = send(&c, &sb, GRU, "createacct", &[("username", "x1"), ("domain", "x1.com")])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let state: WhmSnapshot = http
        .get(format!("{base}/servers/{GRU}/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(state.accounts.iter().any(|a| a.user == "x1"));
    assert_eq!(state, sb.whm_state(GRU).unwrap());
    assert_eq!(
        http.get(format!("{base}/servers/whm-nowhere/state"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    http.post(format!("{base}/faults"))
        .json(&json!({ "server": FRA, "operation": "*", "kind": "latency", "ms": 5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(sb.faults().len(), 1);
    assert_eq!(
        http.delete(format!("{base}/faults")).send().await.unwrap().status(),
        204
    );
    assert!(sb.faults().is_empty());
}

#[tokio::test]
async fn dropping_the_sandbox_stops_it() {
    let sb = start(3).await;
    let url = sb.whm_url(GRU).unwrap();
    let control = sb.control_url();
    drop(sb);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let c = client(Duration::from_secs(2));
    assert!(c
        .get(format!("{url}/json-api/version?api.version=1"))
        .send()
        .await
        .is_err());
    assert!(c.get(control).send().await.is_err());
}
