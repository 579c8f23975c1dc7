//! Mercado Pago's `x-signature` (shared/providers/mercadopago.md, "x-signature verification"):
//! `ts=<unix>,v1=<hex>`, `v1` = hex(HMAC-SHA256(secret, "id:{data.id};request-id:{x-request-id};ts:{ts};"))
//! with `data.id` taken from the query string (lower-cased when alphanumeric) and a missing
//! value's whole `key:value;` pair dropped. The body carries no status and is never trusted:
//! the job fetches the payment from the API (`mercadopago_events`).

use serde_json::Value;
use subtle::ConstantTimeEq;

use super::stripe::SigningSecrets;
use super::{Incoming, Provider, Rejection};
use crate::secrets::hmac_sha256;

/// The docs give no window; the fetch is the real boundary, so this only bounds replays.
pub const TOLERANCE_SECS: i64 = 15 * 60;
const MAX_ID: usize = 128;

/// What a delivery brings besides its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delivery<'a> {
    pub signature: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// `data.id` from the URL's query string.
    pub data_id: Option<&'a str>,
}

/// The manifest the signature covers, pairs with absent values dropped.
pub fn manifest(data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut m = String::new();
    if let Some(id) = data_id.filter(|s| !s.is_empty()) {
        let id = if id.bytes().all(|c| c.is_ascii_digit()) {
            id.to_owned()
        } else {
            id.to_ascii_lowercase()
        };
        m += &format!("id:{id};");
    }
    if let Some(r) = request_id.filter(|s| !s.is_empty()) {
        m += &format!("request-id:{r};");
    }
    m += &format!("ts:{ts};");
    m
}

/// `hex(HMAC-SHA256(secret, manifest))`, what the sender puts in `v1`.
pub fn sign(secret: &str, manifest: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), &[manifest.as_bytes()]))
}

/// Checks the `x-signature` header of `d` at `now` (unix seconds) against every secret.
pub fn verify(secrets: &SigningSecrets, d: &Delivery<'_>, now: i64) -> Result<(), Rejection> {
    let header = d.signature.ok_or(Rejection::BadSignature("no x-signature header"))?;
    let (mut ts, mut v1) = (None, None);
    for part in header.split(',') {
        let Some((k, v)) = part.split_once('=') else { continue };
        match k.trim() {
            "ts" => ts = Some(v.trim()),
            "v1" => v1 = Some(v.trim()),
            _ => {}
        }
    }
    let ts_text = ts.ok_or(Rejection::BadSignature("no ts in x-signature"))?;
    let v1 = v1.ok_or(Rejection::BadSignature("no v1 in x-signature"))?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| Rejection::BadSignature("ts is not an integer"))?;
    let m = manifest(d.data_id, d.request_id, ts_text);
    let mut ok = subtle::Choice::from(0u8);
    for secret in secrets.iter() {
        let expected = sign(secret, &m);
        if expected.len() == v1.len() {
            ok |= expected.as_bytes().ct_eq(v1.to_ascii_lowercase().as_bytes());
        }
    }
    if !bool::from(ok) {
        return Err(Rejection::BadSignature("v1 does not match"));
    }
    // Some senders use milliseconds.
    let secs = if ts > 1_000_000_000_000 { ts / 1000 } else { ts };
    if (secs - now).abs() > TOLERANCE_SECS {
        return Err(Rejection::Stale);
    }
    Ok(())
}

fn clean(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Verify, then read the notification: its id (the event id we deduplicate on), its type
/// and action, and `data.id`, which must be the one that was signed.
pub fn accept(secrets: &SigningSecrets, d: &Delivery<'_>, body: &[u8], now: i64) -> Result<Incoming, Rejection> {
    verify(secrets, d, now)?;
    let payload: Value = serde_json::from_slice(body).map_err(|_| Rejection::Malformed("body is not JSON"))?;
    let as_text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let data_id = as_text(payload.pointer("/data/id"))
        .filter(|s| clean(s))
        .ok_or(Rejection::Malformed("notification has no valid data.id"))?;
    if d.data_id != Some(data_id.as_str()) {
        return Err(Rejection::Malformed("data.id in the body differs from the signed one"));
    }
    let kind = payload
        .get("type")
        .and_then(Value::as_str)
        .filter(|s| clean(s))
        .ok_or(Rejection::Malformed("notification has no valid type"))?;
    let action = payload
        .get("action")
        .and_then(Value::as_str)
        .filter(|s| clean(s))
        .unwrap_or("");
    // Retries carry the same notification id; without one, the request id is the delivery.
    let event_id = match as_text(payload.get("id")).filter(|s| clean(s)) {
        Some(id) => id,
        None => format!(
            "{kind}:{data_id}:{action}:{}",
            d.request_id.filter(|r| clean(r)).unwrap_or("")
        ),
    };
    Ok(Incoming {
        provider: Provider::MercadoPago,
        event_id,
        event_type: if action.is_empty() {
            kind.to_owned()
        } else {
            action.to_owned()
        },
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "mp_secret_suite";
    const TS: i64 = 1_704_908_010;
    const RID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";

    fn secrets() -> SigningSecrets {
        SigningSecrets::new([SECRET.to_owned()]).unwrap()
    }

    // printf '%s' 'id:1327410519;request-id:bb56…;ts:1704908010;' | openssl dgst -sha256 -hmac mp_secret_suite
    const V1: &str = "05f6529593f32b8ce0306755343d84cf087240327483815e8e9014005c6049a9";

    #[test]
    fn openssl_vectors() {
        assert_eq!(
            manifest(Some("1327410519"), Some(RID), "1704908010"),
            format!("id:1327410519;request-id:{RID};ts:1704908010;")
        );
        assert_eq!(sign(SECRET, &manifest(Some("1327410519"), Some(RID), "1704908010")), V1);
        // Alphanumeric ids are lower-cased.
        assert_eq!(
            sign(
                SECRET,
                &manifest(Some("ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"), Some("r1"), "1704908010")
            ),
            "916545d5bc725de624a722143b7ff993a481c099049c586f513a012f7c056269"
        );
        // No x-request-id: its pair is dropped.
        assert_eq!(
            sign(SECRET, &manifest(Some("1327410519"), None, "1704908010")),
            "72f8dd633caf90f69da3cf4b94c2b14282f8992fae1b77ebd7d7aa803fa61c2c"
        );
    }

    fn delivery(sig: &str) -> Delivery<'_> {
        Delivery {
            signature: Some(sig),
            request_id: Some(RID),
            data_id: Some("1327410519"),
        }
    }

    #[test]
    fn accepts_and_refuses() {
        let h = format!("ts={TS},v1={V1}");
        assert!(verify(&secrets(), &delivery(&h), TS + 60).is_ok());
        // One character changed anywhere that is signed.
        let mut d = delivery(&h);
        d.data_id = Some("1327410518");
        assert_eq!(
            verify(&secrets(), &d, TS),
            Err(Rejection::BadSignature("v1 does not match"))
        );
        let mut d = delivery(&h);
        d.request_id = Some("bb56a2f1-6aae-46ac-982e-9dcd3581d08f");
        assert!(verify(&secrets(), &d, TS).is_err());
        let h2 = format!("ts={},v1={V1}", TS + 1);
        assert!(verify(&secrets(), &delivery(&h2), TS).is_err());
        // Stale, both ways, only after the signature matched.
        assert_eq!(
            verify(&secrets(), &delivery(&h), TS + TOLERANCE_SECS + 1),
            Err(Rejection::Stale)
        );
        assert_eq!(
            verify(&secrets(), &delivery(&h), TS - TOLERANCE_SECS - 1),
            Err(Rejection::Stale)
        );
        for bad in ["", "ts=1", "v1=ab", "ts=x,v1=ab"] {
            assert!(
                matches!(verify(&secrets(), &delivery(bad), TS), Err(Rejection::BadSignature(_))),
                "{bad}"
            );
        }
        assert!(verify(&secrets(), &Delivery::default(), TS).is_err());
    }

    #[test]
    fn accept_reads_the_notification() {
        let h = format!("ts={TS},v1={V1}");
        let body = br#"{"id":112233445566,"live_mode":true,"type":"payment","action":"payment.updated","data":{"id":"1327410519"}}"#;
        let ev = accept(&secrets(), &delivery(&h), body, TS).unwrap();
        assert_eq!(
            (ev.event_id.as_str(), ev.event_type.as_str()),
            ("112233445566", "payment.updated")
        );
        // The body naming another payment than the signed URL is refused.
        let other = br#"{"id":1,"type":"payment","action":"payment.updated","data":{"id":"999"}}"#;
        assert!(matches!(
            accept(&secrets(), &delivery(&h), other, TS),
            Err(Rejection::Malformed(_))
        ));
        assert!(accept(&secrets(), &delivery(&h), b"nope", TS).is_err());
    }
}
