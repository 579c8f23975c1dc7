//! From a `servers` row to a working WHM client (docs/adr/0019): the TLS columns of
//! migration 0019 and their checks, the sealed token opened for its own row only, and a
//! call over real HTTP with the row's credentials.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use backend::hosting::connect::{self, whm_client};
use backend::providers::whm::TlsPolicy;
use backend::secrets::{Keys, MasterKey};
use backend::{args, Db, ServiceError};
use uuid::Uuid;

use crate::common::fresh;

const TOKEN: &str = "ROWTOKEN4C1F9E2D7B3A";

fn keys() -> Keys {
    Keys::new(MasterKey::from_bytes([5; 32]), vec![])
}

async fn add_server(db: &Db, keys: &Keys, name: &str, url: &str) -> Uuid {
    let id = Uuid::now_v7();
    let sealed = keys.encrypt_str(connect::TOKEN_CONTEXT, id, TOKEN).unwrap();
    db.execute(
        "INSERT INTO servers (id, name, hostname, ip, whm_url, api_user, api_token_enc) \
         VALUES ($1, $2, $3, '192.0.2.30', $4, 'root', $5)",
        args![id, name, format!("{name}.example.net"), url, sealed],
    )
    .await
    .unwrap();
    id
}

/// A one-shot HTTP server on loopback answering `version`; sends back the request head.
fn one_shot_version() -> (String, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = l.accept() else { return };
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut b).unwrap_or(0) == 1 {
            head.push(b[0]);
        }
        let body = r#"{"data":{"version":"11.120.0.4"},"metadata":{"command":"version","reason":"OK","result":1,"version":1}}"#;
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = tx.send(String::from_utf8_lossy(&head).into_owned());
    });
    (url, rx)
}

#[tokio::test]
async fn a_server_row_becomes_a_working_client() {
    let t = fresh().await;
    let keys = keys();
    let (url, heads) = one_shot_version();
    let id = add_server(&t.db, &keys, "whm-gru-01", &url).await;

    let row = connect::load(&t.db, id).await.unwrap();
    assert_eq!(row.tls_mode, "verify", "verification is the default");
    assert_eq!(row.tls_pin_sha256, None);
    assert_eq!(row.api_timeout_ms, 30_000);

    let client = whm_client(&t.db, &keys, id).await.unwrap();
    assert!(!format!("{client:?}").contains(TOKEN));
    assert_eq!(client.version().await.unwrap(), "11.120.0.4");
    let head = heads.recv().unwrap();
    assert!(head.starts_with("GET /json-api/version?api.version=1 "), "{head}");
    assert!(head
        .to_lowercase()
        .contains(&format!("authorization: whm root:{}", TOKEN.to_lowercase())));
}

#[tokio::test]
async fn tls_columns_and_their_checks() {
    let t = fresh().await;
    let keys = keys();
    let id = add_server(&t.db, &keys, "whm-gru-02", "https://whm-gru-02.example.net:2087").await;
    let set = |mode: &'static str, pin: Option<String>| {
        let db = t.db.clone();
        async move {
            db.execute(
                "UPDATE servers SET tls_mode = $1, tls_pin_sha256 = $2 WHERE id = $3",
                args![mode, pin, id],
            )
            .await
        }
    };
    let pin = "ab".repeat(32);
    set("pin", Some(pin.clone())).await.unwrap();
    let row = connect::load(&t.db, id).await.unwrap();
    let ep = connect::endpoint(&row, "x".into()).unwrap();
    assert_eq!(ep.tls, TlsPolicy::PinSha256([0xab; 32]));
    whm_client(&t.db, &keys, id).await.unwrap();

    set("trust", None).await.unwrap();
    let row = connect::load(&t.db, id).await.unwrap();
    assert_eq!(connect::endpoint(&row, "x".into()).unwrap().tls, TlsPolicy::TrustAny);

    // Refused by the schema itself, on both engines.
    assert!(set("bogus", None).await.is_err(), "unknown mode");
    assert!(set("pin", None).await.is_err(), "pin mode without a pin");
    assert!(
        set("verify", Some(pin.clone())).await.is_err(),
        "a pin outside pin mode"
    );
    assert!(set("pin", Some("AB".repeat(32))).await.is_err(), "upper-case hex");
    assert!(set("pin", Some("ab".repeat(31))).await.is_err(), "too short");
    let r =
        t.db.execute("UPDATE servers SET api_timeout_ms = 10 WHERE id = $1", args![id])
            .await;
    assert!(r.is_err(), "a timeout below a second");
}

#[tokio::test]
async fn the_token_opens_only_for_its_own_row() {
    let t = fresh().await;
    let keys = keys();
    let a = add_server(&t.db, &keys, "whm-a", "https://a.example.net:2087").await;
    let b = add_server(&t.db, &keys, "whm-b", "https://b.example.net:2087").await;
    // Copy a's sealed token into b's row: it must not open there.
    t.db.execute(
        "UPDATE servers SET api_token_enc = (SELECT api_token_enc FROM servers WHERE id = $1) WHERE id = $2",
        args![a, b],
    )
    .await
    .unwrap();
    whm_client(&t.db, &keys, a).await.unwrap();
    let e = whm_client(&t.db, &keys, b).await.unwrap_err();
    assert!(matches!(e, ServiceError::Unavailable(_)), "{e:?}");

    let stranger = Keys::new(MasterKey::from_bytes([6; 32]), vec![]);
    assert!(whm_client(&t.db, &stranger, a).await.is_err());

    let e = whm_client(&t.db, &keys, Uuid::now_v7()).await.unwrap_err();
    assert!(matches!(e, ServiceError::NotFound { .. }), "{e:?}");

    // Plain http:// to a non-loopback host is refused before anything is sent.
    t.db.execute(
        "UPDATE servers SET whm_url = 'http://a.example.net:2086' WHERE id = $1",
        args![a],
    )
    .await
    .unwrap();
    let e = whm_client(&t.db, &keys, a).await.unwrap_err();
    assert_eq!(e.fields()[0].field, "whm_url", "{e:?}");
    assert!(!e.to_string().contains(TOKEN));
}
