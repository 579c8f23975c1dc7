//! What goes wrong on the wire: status codes, hangs, cut and malformed bodies, and the
//! token staying out of every error.

use std::time::{Duration, Instant};

use super::server::{client_for, raw_server, write_and_hold, FixtureServer, TOKEN};
use crate::jobs::JobError;
use crate::providers::whm::{
    CreateAccount, MalformedKind, Secret, TlsPolicy, TransportKind, WhmClient, WhmEndpoint, WhmError, MAX_BODY_BYTES,
};

fn no_token(e: &WhmError) {
    assert!(!e.to_string().contains(TOKEN), "token in Display: {e}");
    assert!(!format!("{e:?}").contains(TOKEN), "token in Debug: {e:?}");
    let j: JobError = e.clone().into();
    assert!(!j.message().contains(TOKEN));
}

fn http_response(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn server_errors_and_rate_limits() {
    let s = FixtureServer::start().await;
    let c = s.client();
    for status in [500u16, 502, 503] {
        s.answer("version", status, "<html>Internal Server Error</html>");
        let e = c.version().await.unwrap_err();
        assert!(matches!(e, WhmError::Http { status: st, .. } if st == status), "{e:?}");
        assert!(e.is_transient());
        assert!(matches!(JobError::from(e), JobError::Transient(_)));
    }
    s.answer_with("version", 429, "slow down", vec![("retry-after", "7".into())]);
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(e, WhmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{e:?}"
    );
    assert!(e.is_transient());
    s.answer("version", 404, "not here");
    let e = c.version().await.unwrap_err();
    assert!(matches!(e, WhmError::Http { status: 404, .. }));
    assert!(!e.is_transient());
    assert!(matches!(JobError::from(e), JobError::Permanent(_)));
    // A redirect is not followed (it could carry the token elsewhere).
    s.answer_with(
        "version",
        302,
        "",
        vec![("location", "http://127.0.0.2:1/steal".into())],
    );
    let e = c.version().await.unwrap_err();
    assert!(matches!(e, WhmError::Http { status: 302, .. }), "{e:?}");
}

#[tokio::test]
async fn malformed_bodies_are_typed() {
    let s = FixtureServer::start().await;
    let c = s.client();
    let cases: [(&str, MalformedKind, bool); 5] = [
        (
            "<html><body>cpsrvd is restarting</body></html>",
            MalformedKind::NotJson,
            true,
        ),
        (
            r#"{"metadata":{"command":"listaccts","result":1,"reason":"OK"},"data":{"acct":[{"user":"jo"#,
            MalformedKind::Truncated,
            true,
        ),
        (
            r#"{"metadata":{"result":1,"reason":"OK"},"data":{"acct":"not a list"}}"#,
            MalformedKind::Shape,
            false,
        ),
        (r#"[1,2,3]"#, MalformedKind::NotEnvelope, false),
        (
            r#"{"metadata":{"result":"maybe","reason":"OK"}}"#,
            MalformedKind::NotEnvelope,
            false,
        ),
    ];
    for (body, kind, transient) in cases {
        s.answer("listaccts", 200, body);
        let e = c.list_accounts().await.unwrap_err();
        assert!(
            matches!(&e, WhmError::Malformed { kind: k, command, .. } if *k == kind && command == "listaccts"),
            "{body}: {e:?}"
        );
        assert_eq!(e.is_transient(), transient, "{body}");
        assert!(e.outcome_unknown());
    }
    // An answer past the read bound is refused without being read whole.
    let mut big = br#"{"metadata":{"result":1,"reason":"OK"},"data":{"acct":[],"pad":""#.to_vec();
    big.resize(MAX_BODY_BYTES + 1024, b'x');
    big.extend_from_slice(b"\"}}");
    s.answer("listaccts", 200, big);
    let e = c.list_accounts().await.unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::TooLarge,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_transient());
}

#[tokio::test]
async fn a_body_cut_short_is_truncated_and_transient() {
    let (url, task) = raw_server(|s| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n";
        let mut bytes = head.as_bytes().to_vec();
        bytes.extend_from_slice(br#"{"metadata":{"result":1,"#);
        // Written, then the connection closes 480 bytes early.
        write_and_hold(s, bytes, Duration::ZERO).await;
    })
    .await;
    let c = client_for(&url, TlsPolicy::Verify, Duration::from_secs(5));
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::Truncated,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient());
    no_token(&e);
    task.abort();
}

#[tokio::test]
async fn a_server_that_hangs_times_out() {
    // Accepts, reads the request, never answers.
    let (url, task) = raw_server(|s| write_and_hold(s, Vec::new(), Duration::from_secs(60))).await;
    let c = client_for(&url, TlsPolicy::Verify, Duration::from_millis(300));
    let started = Instant::now();
    let e = c.version().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(
        matches!(
            e,
            WhmError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient() && e.is_timeout() && e.outcome_unknown());
    no_token(&e);
    task.abort();

    // Headers, part of the body, then silence: the budget covers the body too.
    let (url, task) = raw_server(|s| {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"meta".to_vec();
        write_and_hold(s, head, Duration::from_secs(60))
    })
    .await;
    let c = client_for(&url, TlsPolicy::Verify, Duration::from_millis(300));
    let started = Instant::now();
    let e = c.version().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(e.is_timeout(), "{e:?}");
    task.abort();
}

#[tokio::test]
async fn createacct_gets_a_longer_budget() {
    // Every answer comes after 600 ms; the ordinary budget is 300 ms.
    let (url, task) = raw_server(|s| async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let body = r#"{"metadata":{"command":"x","result":1,"reason":"OK"},"data":{"version":"11.118.0.15"}}"#;
        write_and_hold(s, http_response(body), Duration::ZERO).await;
    })
    .await;
    let c = client_for(&url, TlsPolicy::Verify, Duration::from_millis(300));
    assert!(c.version().await.unwrap_err().is_timeout());
    let req = CreateAccount {
        username: "joao01".into(),
        domain: "joao.example".into(),
        ..CreateAccount::default()
    };
    c.create_account(&req).await.unwrap();
    task.abort();
}

#[tokio::test]
async fn dropped_and_refused_connections() {
    let (url, task) = raw_server(|s| async move { drop(s) }).await;
    let c = client_for(&url, TlsPolicy::Verify, Duration::from_secs(5));
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Transport {
                kind: TransportKind::Dropped,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient() && e.outcome_unknown());
    task.abort();

    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let c = client_for(
        &format!("http://127.0.0.1:{port}"),
        TlsPolicy::Verify,
        Duration::from_secs(5),
    );
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient() && !e.outcome_unknown());
    no_token(&e);
}

#[tokio::test]
async fn the_token_never_shows() {
    // A hostile server echoing the Authorization header (and the password) everywhere.
    let (url, task) = raw_server(|s| async move {
        let echoed = format!("whm root:{TOKEN} / S3nhaSecreta");
        let body = format!(
            r#"{{"metadata":{{"command":"createacct","result":0,"reason":"bad header {echoed}","output":{{"raw":"{echoed}"}}}}}}"#
        );
        write_and_hold(s, http_response(&body), Duration::ZERO).await;
    })
    .await;
    let c = client_for(&url, TlsPolicy::Verify, Duration::from_secs(5));
    let req = CreateAccount {
        username: "joao01".into(),
        domain: "joao.example".into(),
        password: Some(Secret::new("S3nhaSecreta")),
        ..CreateAccount::default()
    };
    let e = c.create_account(&req).await.unwrap_err();
    no_token(&e);
    assert!(!e.to_string().contains("S3nhaSecreta"), "{e}");
    assert!(e.to_string().contains("[redacted]"), "{e}");
    let e = c.version().await.unwrap_err();
    no_token(&e);
    task.abort();

    // Debug of the client, the endpoint and the request.
    let ep = WhmEndpoint::new("https://whm.example.net:2087", "root", TOKEN);
    assert!(!format!("{ep:?}").contains(TOKEN));
    let c = WhmClient::new(ep).unwrap();
    assert!(!format!("{c:?}").contains(TOKEN));
    assert!(!format!("{req:?}").contains("S3nhaSecreta"));
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let e = WhmClient::new(WhmEndpoint::new("http://whm.example.net:2086", "root", TOKEN)).unwrap_err();
    assert!(matches!(&e, WhmError::Config(m) if m.contains("non-loopback")), "{e:?}");
    assert!(!e.is_transient());
    for bad in [
        WhmEndpoint::new("https://whm.example.net:2087", "", TOKEN),
        WhmEndpoint::new("https://whm.example.net:2087", "ro:ot", TOKEN),
        WhmEndpoint::new("https://whm.example.net:2087", "root", ""),
        WhmEndpoint::new("https://whm.example.net:2087", "root", "bad\ntoken"),
        WhmEndpoint::new("https://whm.example.net:2087", "root", TOKEN).with_timeout(Duration::ZERO),
    ] {
        let e = WhmClient::new(bad).unwrap_err();
        assert!(matches!(e, WhmError::Config(_)));
        no_token(&e);
    }
}
