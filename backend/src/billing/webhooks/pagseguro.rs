//! PagSeguro/PagBank's `x-authenticity-token` (shared/providers/pagseguro.md, "Webhook"):
//! lowercase hex SHA-256 of `"{token}-{raw body}"` — not an HMAC, and with no timestamp, so
//! there is no replay window: the event is recorded idempotently and the job fetches the order
//! from the API before trusting anything (`pagseguro_events`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::stripe::SigningSecrets;
use super::{Incoming, Provider, Rejection};

const MAX_ID: usize = 128;

/// What the sender puts in `x-authenticity-token` for `body` under `token`.
pub fn sign(token: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(token.as_bytes());
    h.update(b"-");
    h.update(body);
    hex::encode(h.finalize())
}

pub fn verify(tokens: &SigningSecrets, header: Option<&str>, body: &[u8]) -> Result<(), Rejection> {
    let given = header
        .map(|h| h.trim().to_ascii_lowercase())
        .ok_or(Rejection::BadSignature("no x-authenticity-token header"))?;
    let mut ok = subtle::Choice::from(0u8);
    for t in tokens.iter() {
        let expected = sign(t, body);
        if expected.len() == given.len() {
            ok |= expected.as_bytes().ct_eq(given.as_bytes());
        }
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(Rejection::BadSignature("x-authenticity-token does not match"))
    }
}

fn clean(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

/// Verify, then read the order id. The event id is the order id plus what the body says of
/// its charges, so a retry is a duplicate while a later change (WAITING → PAID) is new.
pub fn accept(tokens: &SigningSecrets, header: Option<&str>, body: &[u8]) -> Result<Incoming, Rejection> {
    verify(tokens, header, body)?;
    let payload: Value = serde_json::from_slice(body).map_err(|_| Rejection::Malformed("body is not JSON"))?;
    let order = payload
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| clean(s) && s.starts_with("ORDE_"))
        .ok_or(Rejection::Malformed("body has no order id"))?
        .to_owned();
    let charges: Vec<String> = payload
        .get("charges")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}={}",
                        c.get("id").and_then(Value::as_str).unwrap_or(""),
                        c.get("status").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let digest = hex::encode(Sha256::digest(charges.join(",").as_bytes()));
    Ok(Incoming {
        provider: Provider::PagSeguro,
        event_id: format!("{order}:{}", &digest[..16]),
        event_type: "order".into(),
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256sum_vector_and_refusals() {
        // printf '%s' 'tok_ps-{"id":"ORDE_1"}' | sha256sum
        let v = "1b0d77ab9e993af183842bb7471781f399bff74441cf305c5c2f7858af285e59";
        assert_eq!(sign("tok_ps", br#"{"id":"ORDE_1"}"#), v);
        let t = SigningSecrets::new(["tok_ps".to_owned()]).unwrap();
        assert!(verify(&t, Some(v), br#"{"id":"ORDE_1"}"#).is_ok());
        assert!(verify(&t, Some(&v.to_ascii_uppercase()), br#"{"id":"ORDE_1"}"#).is_ok());
        assert!(verify(&t, Some(v), br#"{"id":"ORDE_2"}"#).is_err());
        assert!(verify(&t, None, br#"{"id":"ORDE_1"}"#).is_err());
        let ev = accept(&t, Some(v), br#"{"id":"ORDE_1"}"#).unwrap();
        assert!(ev.event_id.starts_with("ORDE_1:"));
    }

    #[test]
    fn a_status_change_is_a_new_event_a_retry_is_not() {
        let t = SigningSecrets::new(["tok".to_owned()]).unwrap();
        let waiting = br#"{"id":"ORDE_A","charges":[{"id":"CHAR_1","status":"WAITING"}]}"#;
        let paid = br#"{"id":"ORDE_A","charges":[{"id":"CHAR_1","status":"PAID"}]}"#;
        let a = accept(&t, Some(&sign("tok", waiting)), waiting).unwrap();
        let b = accept(&t, Some(&sign("tok", paid)), paid).unwrap();
        let c = accept(&t, Some(&sign("tok", paid)), paid).unwrap();
        assert_ne!(a.event_id, b.event_id);
        assert_eq!(b.event_id, c.event_id);
    }
}
