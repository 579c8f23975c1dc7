//! The client against answers copied from /work/shared/providers/cloudflare.md, served by a
//! tiny loopback server that also records what the client sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::*;

const ZONE_LIST: &str = r##"{
  "success": true, "errors": [], "messages": [],
  "result": [
    {
      "id": "023e105f4ecef8ad9ca31a8372d0c353",
      "name": "joaosilva.com.br",
      "status": "pending",
      "paused": false,
      "type": "full",
      "development_mode": 0,
      "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
      "original_name_servers": ["ns1.registro.br", "ns2.registro.br"],
      "original_registrar": null,
      "original_dnshost": null,
      "created_on": "2024-03-05T13:10:22.000000Z",
      "modified_on": "2024-03-05T13:10:22.000000Z",
      "activated_on": null,
      "account": { "id": "01a7362d577a6c3019a474fd6f485823", "name": "Hostbr" },
      "owner": { "id": null, "type": "organization", "email": null },
      "permissions": ["#zone:edit", "#dns_records:edit"],
      "plan": { "id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0, "currency": "USD" },
      "meta": { "step": 2, "phishing_detected": false, "page_rule_quota": 3 },
      "vanity_name_servers": []
    }
  ],
  "result_info": { "page": 1, "per_page": 50, "count": 1, "total_count": 1, "total_pages": 1 }
}"##;

const RECORD: &str = r#"{
  "id": "372e67954025e0ba6aaa6d586b9e0b59",
  "zone_id": "023e105f4ecef8ad9ca31a8372d0c353",
  "zone_name": "joaosilva.com.br",
  "name": "www.joaosilva.com.br",
  "type": "A",
  "content": "203.0.113.10",
  "proxiable": true,
  "proxied": false,
  "ttl": 1,
  "locked": false,
  "comment": "managed-by:hostbr",
  "tags": [],
  "created_on": "2024-03-05T13:12:00.000000Z",
  "modified_on": "2024-03-05T13:12:00.000000Z",
  "data": {},
  "meta": { "auto_added": false, "source": "primary" }
}"#;

const DUPLICATE: &str =
    r#"{"success":false,"errors":[{"code":81057,"message":"Record already exists."}],"messages":[],"result":null}"#;
const ZONE_EXISTS: &str = r#"{"success":false,"errors":[{"code":1061,"message":"joaosilva.com.br already exists"}],"messages":[],"result":null}"#;
const ACTIVATION: &str =
    r#"{"success":true,"errors":[],"messages":[],"result":{"id":"023e105f4ecef8ad9ca31a8372d0c353"}}"#;
const AUTH_ERROR: &str =
    r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#;

const TOKEN: &str = "cf-secret-token-123";
const ACCOUNT: &str = "01a7362d577a6c3019a474fd6f485823";

type Seen = Arc<Mutex<Vec<(String, String, String, Option<String>)>>>;
type Answer = Arc<dyn Fn(&Method, &str, &str) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync>;

async fn serve(answer: Answer) -> (String, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let state = (answer, seen.clone());
    let app = Router::new().fallback(
        |State((answer, seen)): State<(Answer, Seen)>,
         method: Method,
         OriginalUri(uri): OriginalUri,
         headers: HeaderMap,
         body: Bytes| async move {
            let path = uri.path().to_owned();
            let query = uri.query().unwrap_or("").to_owned();
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            seen.lock().unwrap().push((
                method.to_string(),
                format!("{path}?{query}"),
                String::from_utf8_lossy(&body).into_owned(),
                auth,
            ));
            let (status, headers, body) = answer(&method, &path, &query);
            let mut r: Response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            r.headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            for (k, v) in headers {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client/v4", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.with_state(state)).await.unwrap() });
    (url, seen)
}

fn client(url: &str) -> CloudflareClient {
    CloudflareClient::new(CfEndpoint::new(url, ACCOUNT, TOKEN).with_timeout(Duration::from_secs(5))).unwrap()
}

fn ok(result: &str) -> String {
    format!(r#"{{"success":true,"errors":[],"messages":[],"result":{result}}}"#)
}

#[tokio::test]
async fn zones_list_and_create_reuses_an_existing_zone() {
    let (url, seen) = serve(Arc::new(|m, path, _q| match (m.as_str(), path) {
        ("GET", "/client/v4/zones") => (200, vec![], ZONE_LIST.to_owned()),
        ("POST", "/client/v4/zones") => (400, vec![], ZONE_EXISTS.to_owned()),
        _ => (404, vec![], "{}".to_owned()),
    }))
    .await;
    let c = client(&url);
    let zones = c.list_zones(None).await.unwrap();
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0].status, "pending");
    assert_eq!(
        zones[0].name_servers,
        ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]
    );
    assert_eq!(zones[0].account.id, ACCOUNT);

    let z = c.create_zone("joaosilva.com.br").await.unwrap();
    assert_eq!(z.id, "023e105f4ecef8ad9ca31a8372d0c353", "1061 → the existing zone");
    let seen = seen.lock().unwrap();
    assert!(
        seen[0].1.contains("account.id=01a7362d577a6c3019a474fd6f485823"),
        "{:?}",
        seen[0]
    );
    assert_eq!(seen[0].3.as_deref(), Some("Bearer cf-secret-token-123"));
    let create = seen.iter().find(|s| s.0 == "POST").unwrap();
    let body: serde_json::Value = serde_json::from_str(&create.2).unwrap();
    assert_eq!(body["name"], "joaosilva.com.br");
    assert_eq!(body["account"]["id"], ACCOUNT);
    assert_eq!(body["type"], "full");
}

#[tokio::test]
async fn records_pages_are_all_walked() {
    let (url, seen) = serve(Arc::new(|_m, _p, q| {
        let page: u32 = q
            .split('&')
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let rec = RECORD.replace("372e67954025e0ba6aaa6d586b9e0b59", &format!("rec{page}"));
        let body = format!(
            r#"{{"success":true,"errors":[],"messages":[],"result":[{rec}],"result_info":{{"page":{page},"per_page":1,"count":1,"total_count":3,"total_pages":3}}}}"#
        );
        (200, vec![], body)
    }))
    .await;
    let recs = client(&url)
        .list_records(
            "023e105f4ecef8ad9ca31a8372d0c353",
            Some("www.joaosilva.com.br"),
            Some("A"),
        )
        .await
        .unwrap();
    assert_eq!(
        recs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["rec1", "rec2", "rec3"]
    );
    assert_eq!(recs[0].record_type, "A");
    assert_eq!(recs[0].content, "203.0.113.10");
    assert_eq!(recs[0].ttl, 1);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen[2].1.contains("page=3") && seen[2].1.contains("name=www.joaosilva.com.br"));
}

#[test]
fn older_result_info_without_total_pages() {
    let i: ResultInfo = serde_json::from_str(r#"{"page":1,"per_page":20,"count":20,"total_count":45}"#).unwrap();
    assert!(i.has_more());
    let last: ResultInfo = serde_json::from_str(r#"{"page":3,"per_page":20,"count":5,"total_count":45}"#).unwrap();
    assert!(!last.has_more());
}

#[tokio::test]
async fn record_create_update_delete_and_the_error_envelope() {
    let (url, seen) = serve(Arc::new(|m, path, _q| match (m.as_str(), path) {
        ("POST", p) if p.ends_with("/dns_records") => (400, vec![], DUPLICATE.to_owned()),
        ("PATCH", _) | ("PUT", _) => (200, vec![], ok(&RECORD.replace("203.0.113.10", "203.0.113.20"))),
        ("DELETE", p) if p.ends_with("/gone") => (
            404,
            vec![],
            r#"{"success":false,"errors":[{"code":81044,"message":"Record does not exist."}],"messages":[],"result":null}"#.to_owned(),
        ),
        ("DELETE", _) => (200, vec![], ok(r#"{"id":"372e67954025e0ba6aaa6d586b9e0b59"}"#)),
        _ => (404, vec![], "{}".to_owned()),
    }))
    .await;
    let c = client(&url);
    let rec = NewRecord {
        record_type: "MX".into(),
        name: "@".into(),
        content: "mail.joaosilva.com.br".into(),
        ttl: 1,
        proxied: None,
        priority: Some(10),
        comment: Some("managed-by:painel".into()),
    };
    let err = c.create_record("z", &rec).await.unwrap_err();
    assert!(err.already_exists(), "{err}");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("81057"), "{err}");

    let patched = c
        .patch_record(
            "z",
            "372e67954025e0ba6aaa6d586b9e0b59",
            &RecordPatch {
                content: Some("203.0.113.20".into()),
                ..RecordPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.content, "203.0.113.20");
    assert!(c.delete_record("z", "372e67954025e0ba6aaa6d586b9e0b59").await.unwrap());
    assert!(!c.delete_record("z", "gone").await.unwrap(), "not found = already done");
    let seen = seen.lock().unwrap();
    let post: serde_json::Value = serde_json::from_str(&seen[0].2).unwrap();
    assert_eq!(post["priority"], 10);
    assert!(post.get("proxied").is_none(), "proxied only for A/AAAA/CNAME");
    assert_eq!(seen[1].0, "PATCH");
    assert_eq!(seen[1].2, r#"{"content":"203.0.113.20"}"#);
}

#[tokio::test]
async fn activation_check_and_zone_status() {
    let (url, _) = serve(Arc::new(|m, path, _q| match (m.as_str(), path) {
        ("PUT", p) if p.ends_with("/activation_check") => (200, vec![], ACTIVATION.to_owned()),
        ("GET", _) => {
            let zone = ZONE_LIST
                .split_once("\"result\": [")
                .unwrap()
                .1
                .rsplit_once("],")
                .unwrap()
                .0
                .replace("\"pending\"", "\"active\"");
            (200, vec![], ok(&zone))
        }
        _ => (404, vec![], "{}".to_owned()),
    }))
    .await;
    let c = client(&url);
    c.activation_check("023e105f4ecef8ad9ca31a8372d0c353").await.unwrap();
    assert_eq!(
        c.zone("023e105f4ecef8ad9ca31a8372d0c353").await.unwrap().status,
        "active"
    );
}

#[tokio::test]
async fn a_429_opens_a_window_and_auth_is_permanent_without_the_token() {
    let (url, seen) = serve(Arc::new(|_m, path, _q| {
        if path.ends_with("verify") {
            (403, vec![], AUTH_ERROR.replace("Authentication error", &format!("bad token {TOKEN}")))
        } else {
            (
                429,
                vec![("retry-after", "30".to_owned())],
                r#"{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}"#.to_owned(),
            )
        }
    }))
    .await;
    let c = client(&url);
    let e = c.list_zones(None).await.unwrap_err();
    assert!(
        matches!(e, CfError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(30)),
        "{e:?}"
    );
    assert!(e.is_transient());
    let again = c.zone("x").await.unwrap_err();
    assert!(matches!(again, CfError::RateLimited { .. }), "{again:?}");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the second call is refused without being sent"
    );
    let j: crate::jobs::JobError = again.into();
    assert!(matches!(j, crate::jobs::JobError::Transient(_)));

    let c2 = client(&url);
    let auth = c2.verify_token().await.unwrap_err();
    assert!(matches!(auth, CfError::Auth { status: 403, .. }), "{auth:?}");
    assert!(!auth.is_transient());
    assert!(!auth.to_string().contains(TOKEN), "{auth}");
    assert!(!format!("{c2:?}").contains(TOKEN));
}

#[tokio::test]
async fn proxy_html_5xx_is_transient_and_http_is_refused_off_loopback() {
    let (url, _) = serve(Arc::new(|_m, _p, _q| {
        (
            502,
            vec![("content-type", "text/html".to_owned())],
            "<html>bad gateway</html>".to_owned(),
        )
    }))
    .await;
    let e = client(&url).list_zones(None).await.unwrap_err();
    assert!(matches!(e, CfError::Http { status: 502, .. }), "{e:?}");
    assert!(e.is_transient());
    assert!(CloudflareClient::new(CfEndpoint::new("http://api.example.com/client/v4", ACCOUNT, TOKEN)).is_err());
    assert!(CloudflareClient::new(CfEndpoint::new(DEFAULT_BASE_URL, ACCOUNT, "")).is_err());
}
