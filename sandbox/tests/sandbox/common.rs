use std::time::Duration;

use painel_sandbox::{AccountInit, Package, Sandbox, WhmInit};
use serde_json::Value;

pub const TOKEN: &str = "ABCDEF0123456789ABCDEF0123456789";
pub const GRU: &str = "whm-gru-01";
pub const FRA: &str = "whm-fra-01";

pub fn init() -> WhmInit {
    WhmInit::new("root", TOKEN)
        .limits(50, 200 * 1024)
        .package(Package::new("basic_1gb", Some(1024), Some(10_240)))
        .package(Package::new("pro_10gb", Some(10_240), None))
        .account(AccountInit {
            user: "joao01".into(),
            domain: "joaosilva.com.br".into(),
            plan: "basic_1gb".into(),
            email: Some("joao@example.com".into()),
            suspended: None,
        })
        .account(AccountInit {
            user: "maria".into(),
            domain: "maria.com.br".into(),
            plan: "pro_10gb".into(),
            email: None,
            suspended: Some("Nonpayment".into()),
        })
}

pub async fn start(seed: u64) -> Sandbox {
    Sandbox::builder()
        .seed(seed)
        .whm(GRU, init())
        .whm(FRA, WhmInit::new("reseller1", "OTHERTOKEN"))
        .start()
        .await
        .unwrap()
}

/// A client that accepts the sandbox's self-signed certificate (the pin is checked in
/// `whm::tls_fingerprint_is_the_served_certificate`).
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(timeout)
        .build()
        .unwrap()
}

pub fn url(sb: &Sandbox, server: &str, function: &str, params: &[(&str, &str)]) -> String {
    let mut u = format!("{}/json-api/{function}?api.version=1", sb.whm_url(server).unwrap());
    for (k, v) in params {
        u.push('&');
        u.push_str(k);
        u.push('=');
        u.push_str(&v.replace(' ', "%20").replace('^', "%5E").replace('$', "%24"));
    }
    u
}

pub async fn send(
    c: &reqwest::Client,
    sb: &Sandbox,
    server: &str,
    function: &str,
    params: &[(&str, &str)],
) -> reqwest::Result<reqwest::Response> {
    let token = if server == GRU {
        format!("whm root:{TOKEN}")
    } else {
        "whm reseller1:OTHERTOKEN".into()
    };
    c.get(url(sb, server, function, params))
        .header("Authorization", token)
        .send()
        .await
}

/// One call that must answer HTTP 200 with JSON.
pub async fn call(sb: &Sandbox, function: &str, params: &[(&str, &str)]) -> Value {
    let r = send(&client(Duration::from_secs(10)), sb, GRU, function, params)
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{function}");
    r.json().await.unwrap()
}

pub fn result(v: &Value) -> i64 {
    v["metadata"]["result"].as_i64().unwrap()
}

pub fn reason(v: &Value) -> &str {
    v["metadata"]["reason"].as_str().unwrap()
}
