//! Stripe's `Stripe-Signature` scheme (shared/providers/stripe.md, "Signature verification"):
//! `t=<unix>,v1=<hex>[,v1=<hex>…]`, each `v1` = hex(HMAC-SHA256(secret, "<t>.<raw body>")).
//! Verification runs on the exact bytes received, before anything parses them.

use std::fmt;

use serde_json::Value;
use subtle::ConstantTimeEq;

use super::{Incoming, Provider, Rejection};
use crate::secrets::hmac_sha256;

/// The SDK's `DEFAULT_TOLERANCE`: an older timestamp is a replay.
pub const TOLERANCE_SECS: i64 = 300;
/// Longest event id we store (Stripe's are ~30 characters).
const MAX_EVENT_ID: usize = 255;

/// The endpoint's signing secrets (`whsec_…`), used as-is as HMAC keys. More than one while
/// an operator rolls ours: a delivery signed under any of them is accepted.
#[derive(Clone)]
pub struct SigningSecrets(Vec<String>);

impl SigningSecrets {
    /// Empty strings are dropped; `None` when nothing is left.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Option<SigningSecrets> {
        let v: Vec<String> = secrets
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        (!v.is_empty()).then_some(SigningSecrets(v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

// Never the secrets themselves, in logs or panics.
impl fmt::Debug for SigningSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningSecrets({} secret(s), redacted)", self.0.len())
    }
}

/// Checks `header` against `body` at time `now` (unix seconds). Every `v1` is compared with
/// every secret's expectation in constant time; `v0` and unknown keys are ignored.
pub fn verify(secrets: &SigningSecrets, header: &str, body: &[u8], now: i64) -> Result<(), Rejection> {
    let mut t: Option<&str> = None;
    let mut v1: Vec<&str> = Vec::new();
    for item in header.split(',') {
        let Some((k, v)) = item.split_once('=') else { continue };
        match k.trim() {
            "t" => t = Some(v.trim()),
            "v1" => v1.push(v.trim()),
            _ => {}
        }
    }
    let t_text = t.ok_or(Rejection::BadSignature("no timestamp in Stripe-Signature"))?;
    let ts: i64 = t_text
        .parse()
        .map_err(|_| Rejection::BadSignature("timestamp is not an integer"))?;
    if v1.is_empty() {
        return Err(Rejection::BadSignature("no v1 signature in Stripe-Signature"));
    }
    let mut ok = subtle::Choice::from(0u8);
    for secret in &secrets.0 {
        let expected = hex::encode(hmac_sha256(secret.as_bytes(), &[t_text.as_bytes(), b".", body]));
        for sig in &v1 {
            // Lengths are public (64 hex digits); only equal-length inputs compare bytes.
            if sig.len() == expected.len() {
                ok |= expected.as_bytes().ct_eq(sig.as_bytes());
            }
        }
    }
    if !bool::from(ok) {
        return Err(Rejection::BadSignature("no v1 signature matches"));
    }
    // After the signature: an attacker cannot learn the tolerance window by probing.
    if ts < now - TOLERANCE_SECS {
        return Err(Rejection::Stale);
    }
    // Stricter than the SDK: a timestamp from the future is clock skew or a forgery.
    if ts > now + TOLERANCE_SECS {
        return Err(Rejection::Stale);
    }
    Ok(())
}

/// The event's id and type from a verified body (an Event object).
pub fn parse(body: &[u8]) -> Result<Incoming, Rejection> {
    let payload: Value = serde_json::from_slice(body).map_err(|_| Rejection::Malformed("body is not JSON"))?;
    let id = payload
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= MAX_EVENT_ID && !s.chars().any(char::is_control))
        .ok_or(Rejection::Malformed("event has no valid id"))?
        .to_owned();
    let kind = payload
        .get("type")
        .and_then(Value::as_str)
        .filter(|s| s.len() <= MAX_EVENT_ID && !s.chars().any(char::is_control))
        .ok_or(Rejection::Malformed("event has no valid type"))?
        .to_owned();
    if payload.get("object").and_then(Value::as_str) != Some("event") {
        return Err(Rejection::Malformed("body is not an event object"));
    }
    Ok(Incoming {
        provider: Provider::Stripe,
        event_id: id,
        event_type: kind,
        payload,
    })
}

/// Verify, then parse: what `POST /webhooks/stripe` does with a delivery.
pub fn accept(secrets: &SigningSecrets, header: Option<&str>, body: &[u8], now: i64) -> Result<Incoming, Rejection> {
    let header = header.ok_or(Rejection::BadSignature("no Stripe-Signature header"))?;
    verify(secrets, header, body, now)?;
    parse(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{}}}"#;

    fn secrets(s: &[&str]) -> SigningSecrets {
        SigningSecrets::new(s.iter().map(|s| (*s).to_owned())).unwrap()
    }

    // The documented test vector: `printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$whsec"`.
    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        hex::encode(hmac_sha256(secret.as_bytes(), &[t.to_string().as_bytes(), b".", body]))
    }

    #[test]
    fn known_vector_from_openssl() {
        // printf '%s' '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test_secret
        let v = "ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3";
        assert_eq!(sign(SECRET, 1_700_000_000, b"{}"), v);
        assert!(verify(
            &secrets(&[SECRET]),
            &format!("t=1700000000,v1={v}"),
            b"{}",
            1_700_000_000
        )
        .is_ok());
    }

    #[test]
    fn accepts_exact_bytes_and_rejects_one_changed_byte() {
        let t = 1_700_000_000;
        let h = format!("t={t},v1={}", sign(SECRET, t, BODY));
        assert!(verify(&secrets(&[SECRET]), &h, BODY, t + 10).is_ok());
        let mut changed = BODY.to_vec();
        changed[10] ^= 1;
        assert_eq!(
            verify(&secrets(&[SECRET]), &h, &changed, t),
            Err(Rejection::BadSignature("no v1 signature matches"))
        );
    }

    #[test]
    fn tolerance_is_300_seconds_both_ways() {
        let t = 1_700_000_000;
        let h = format!("t={t},v1={}", sign(SECRET, t, BODY));
        let s = secrets(&[SECRET]);
        assert!(verify(&s, &h, BODY, t + 300).is_ok());
        assert_eq!(verify(&s, &h, BODY, t + 301), Err(Rejection::Stale));
        assert_eq!(verify(&s, &h, BODY, t - 301), Err(Rejection::Stale));
    }

    #[test]
    fn any_of_several_v1_and_any_of_our_secrets() {
        let t = 1_700_000_000;
        let h = format!(
            "t={t},v0=dead,v1={},v1={},x=1",
            "0".repeat(64),
            sign("whsec_new", t, BODY)
        );
        assert!(verify(&secrets(&[SECRET]), &h, BODY, t).is_err());
        assert!(verify(&secrets(&[SECRET, "whsec_new"]), &h, BODY, t).is_ok());
    }

    #[test]
    fn header_shapes_refused() {
        let s = secrets(&[SECRET]);
        for h in ["", "t=1", "v1=abc", "t=x,v1=abc", "garbage"] {
            assert!(matches!(verify(&s, h, BODY, 1), Err(Rejection::BadSignature(_))), "{h}");
        }
        // v0 alone is not enough.
        let h = format!("t=1,v0={}", sign(SECRET, 1, BODY));
        assert!(verify(&s, &h, BODY, 1).is_err());
    }

    #[test]
    fn parse_needs_an_event_with_id_and_type() {
        assert!(parse(BODY).is_ok());
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"id":"evt_1","object":"event"}"#).is_err());
        assert!(parse(br#"{"id":"","object":"event","type":"x"}"#).is_err());
        assert!(parse(br#"{"id":"evt_1","object":"charge","type":"x"}"#).is_err());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        assert!(!format!("{:?}", secrets(&[SECRET])).contains("whsec"));
    }
}
