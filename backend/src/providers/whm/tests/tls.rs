//! The TLS policies against a loopback HTTPS server with a self-signed certificate.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::server::{client_for, TOKEN};
use crate::providers::whm::{cert_sha256, TlsPolicy, TransportKind, WhmError};

struct TlsServer {
    url: String,
    cert_sha256: [u8; 32],
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_server() -> TlsServer {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let fp = cert_sha256(cert.as_ref());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = Vec::new();
                let mut b = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut b).await {
                        Ok(1) => buf.push(b[0]),
                        _ => return,
                    }
                }
                let body = r#"{"data":{"version":"11.118.0.15"},"metadata":{"command":"version","reason":"OK","result":1,"version":1}}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TlsServer {
        url: format!("https://127.0.0.1:{port}"),
        cert_sha256: fp,
        task,
    }
}

fn assert_tls_refused(e: &WhmError) {
    assert!(
        matches!(
            e,
            WhmError::Transport {
                kind: TransportKind::Tls,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_transient(), "a certificate problem does not fix itself");
    assert!(!e.to_string().contains(TOKEN));
}

#[tokio::test]
async fn verify_refuses_a_self_signed_certificate() {
    let s = tls_server().await;
    let c = client_for(&s.url, TlsPolicy::Verify, Duration::from_secs(5));
    assert_tls_refused(&c.version().await.unwrap_err());
}

#[tokio::test]
async fn the_right_pin_is_accepted_and_a_wrong_one_refused() {
    let s = tls_server().await;
    let c = client_for(&s.url, TlsPolicy::PinSha256(s.cert_sha256), Duration::from_secs(5));
    assert_eq!(c.version().await.unwrap(), "11.118.0.15");

    let mut wrong = s.cert_sha256;
    wrong[0] ^= 0xff;
    let c = client_for(&s.url, TlsPolicy::PinSha256(wrong), Duration::from_secs(5));
    assert_tls_refused(&c.version().await.unwrap_err());
}

#[tokio::test]
async fn trust_any_accepts() {
    let s = tls_server().await;
    let c = client_for(&s.url, TlsPolicy::TrustAny, Duration::from_secs(5));
    assert_eq!(c.version().await.unwrap(), "11.118.0.15");
}
