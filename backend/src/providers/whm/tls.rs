//! The TLS side of a WHM endpoint (docs/adr/0019): the public web PKI by default, or — for
//! the self-signed certificate most servers have on :2087 — an explicit per-server choice:
//! pin the exact leaf certificate by its SHA-256 (preferred) or trust any certificate.
//! Handshake signatures are always checked, so a peer must hold the key of the certificate
//! it presents, even under `TrustAny`.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::WhmError;

/// How the server's certificate is checked.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Chain to a public root (Mozilla's, compiled in: `webpki-roots`) and match the host.
    #[default]
    Verify,
    /// Accept exactly the leaf certificate whose DER has this SHA-256; name and expiry are
    /// not checked (the pin says which certificate, not which name).
    PinSha256([u8; 32]),
    /// Accept any certificate. Only by an explicit, audited choice per server.
    TrustAny,
}

impl fmt::Debug for TlsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsPolicy::Verify => f.write_str("Verify"),
            TlsPolicy::PinSha256(p) => write!(f, "PinSha256({})", hex::encode(p)),
            TlsPolicy::TrustAny => f.write_str("TrustAny"),
        }
    }
}

impl TlsPolicy {
    /// A pin from its hex form, with or without colons (`AB:CD:…` as browsers show it).
    pub fn pin_from_hex(text: &str) -> Result<TlsPolicy, WhmError> {
        parse_sha256_hex(text).map(TlsPolicy::PinSha256)
    }

    /// The stored mode name (`servers.tls_mode`).
    pub fn mode(&self) -> &'static str {
        match self {
            TlsPolicy::Verify => "verify",
            TlsPolicy::PinSha256(_) => "pin",
            TlsPolicy::TrustAny => "trust",
        }
    }
}

/// 32 bytes from 64 hex digits, colons and surrounding spaces ignored.
pub fn parse_sha256_hex(text: &str) -> Result<[u8; 32], WhmError> {
    let clean: String = text.trim().chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&clean).map_err(|_| WhmError::Config("certificate pin is not hex".into()))?;
    bytes
        .try_into()
        .map_err(|_| WhmError::Config("certificate pin must be a SHA-256 (64 hex digits)".into()))
}

/// The SHA-256 of a certificate's DER, the form pins are written in.
pub fn cert_sha256(der: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Sha256::digest(der));
    out
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls configuration for `policy`.
pub(crate) fn client_config(policy: TlsPolicy) -> Result<ClientConfig, WhmError> {
    let provider = provider();
    let algs = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WhmError::Config(format!("TLS: {e}")))?;
    let config = match policy {
        TlsPolicy::Verify => {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsPolicy::PinSha256(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { pin: Some(pin), algs }))
            .with_no_client_auth(),
        TlsPolicy::TrustAny => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned { pin: None, algs }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Accepts the leaf whose SHA-256 is `pin` (any leaf when `None`), and checks handshake
/// signatures with the crypto provider's algorithms.
#[derive(Debug)]
struct Pinned {
    pin: Option<[u8; 32]>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(pin) => {
                let seen = cert_sha256(end_entity.as_ref());
                if bool::from(seen.ct_eq(&pin)) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_or_without_colons() {
        let hex64 = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(
            TlsPolicy::pin_from_hex(&hex64).unwrap(),
            TlsPolicy::PinSha256([0xab; 32])
        );
        assert_eq!(
            TlsPolicy::pin_from_hex(&colons).unwrap(),
            TlsPolicy::PinSha256([0xab; 32])
        );
        assert!(TlsPolicy::pin_from_hex("abcd").is_err());
        assert!(TlsPolicy::pin_from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn every_policy_builds() {
        for p in [TlsPolicy::Verify, TlsPolicy::PinSha256([1; 32]), TlsPolicy::TrustAny] {
            client_config(p).unwrap();
        }
    }
}
