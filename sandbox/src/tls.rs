//! The sandbox's self-signed certificate, made at start: clients pin its SHA-256 fingerprint
//! the way an operator pins a WHM server's self-signed certificate on :2087.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::SandboxError;

pub(crate) struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub fingerprint: String,
    pub cert_der: Vec<u8>,
}

pub(crate) fn self_signed() -> Result<Tls, SandboxError> {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| SandboxError::Tls(e.to_string()))?;
    let cert_der: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SandboxError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .map_err(|e| SandboxError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let fingerprint = hex::encode(Sha256::digest(cert_der.as_ref()));
    Ok(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        fingerprint,
        cert_der: cert_der.as_ref().to_vec(),
    })
}
