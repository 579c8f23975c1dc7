//! The client over real HTTP on loopback against bodies copied from Stripe's documentation
//! (shared/providers/stripe.md): what it sends (form body, headers) and how it reads answers
//! and the error envelope.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;

use super::*;

const KEY: &str = "sk_test_51Hx0clientTESTkey";

const SESSION: &str = r#"{
  "id": "cs_test_a1B2c3D4",
  "object": "checkout.session",
  "url": "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4#fidkdWxOYHwn",
  "mode": "payment",
  "status": "open",
  "payment_status": "unpaid",
  "amount_subtotal": 4990,
  "amount_total": 4990,
  "currency": "brl",
  "customer": null,
  "customer_email": "joao@example.com",
  "customer_details": null,
  "client_reference_id": "order_8812",
  "metadata": { "order_id": "8812", "tenant_id": "t_42" },
  "payment_intent": null,
  "subscription": null,
  "invoice": null,
  "success_url": "https://painel.hostbr.example/checkout/sucesso?session_id={CHECKOUT_SESSION_ID}",
  "cancel_url": "https://painel.hostbr.example/checkout/cancelado",
  "created": 1700000000,
  "expires_at": 1700086400,
  "livemode": false
}"#;

const ERROR: &str = r#"{
  "error": {
    "type": "invalid_request_error",
    "code": "parameter_missing",
    "message": "Missing required param: success_url.",
    "param": "success_url",
    "doc_url": "https://stripe.com/docs/error-codes/parameter-missing",
    "request_log_url": "https://dashboard.stripe.com/test/logs/req_AbCdEf123?t=1700000000"
  }
}"#;

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, HeaderMap, String)>>>);

/// Answers every request with `status`, `body` and `headers`, recording what it got.
async fn canned(status: u16, body: &'static str, headers: Vec<(&'static str, &'static str)>) -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .fallback(any(
            move |State(seen): State<Seen>, uri: axum::http::Uri, h: HeaderMap, b: Bytes| {
                let headers = headers.clone();
                async move {
                    seen.0
                        .lock()
                        .unwrap()
                        .push((uri.path().to_owned(), h, String::from_utf8_lossy(&b).into_owned()));
                    let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
                    for (k, v) in headers {
                        r.headers_mut().insert(k, v.parse().unwrap());
                    }
                    r
                }
            },
        ))
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, seen)
}

fn client(url: &str) -> StripeClient {
    StripeClient::new(StripeEndpoint::new(url, KEY)).unwrap()
}

fn new_session() -> NewCheckoutSession {
    NewCheckoutSession {
        mode: "payment".into(),
        currency: "BRL".into(),
        line_items: vec![LineItem {
            name: "Hospedagem Plano Básico (1 mês)".into(),
            unit_amount: 4990,
            quantity: 1,
            interval: None,
        }],
        success_url: "https://painel.hostbr.example/checkout/sucesso?session_id={CHECKOUT_SESSION_ID}".into(),
        cancel_url: None,
        customer_email: Some("joao@example.com".into()),
        client_reference_id: Some("order_8812".into()),
        metadata: BTreeMap::from([("invoice_id".to_owned(), "8812".to_owned())]),
        expires_at: None,
    }
}

#[tokio::test]
async fn creates_a_checkout_session_form_encoded_with_its_idempotency_key() {
    let (url, seen) = canned(200, SESSION, vec![]).await;
    let s = client(&url)
        .create_checkout_session(&new_session(), "checkout:abc")
        .await
        .unwrap();
    assert_eq!(s.id, "cs_test_a1B2c3D4");
    assert_eq!(s.amount_total, Some(4990));
    assert_eq!(
        s.url.as_deref(),
        Some("https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4#fidkdWxOYHwn")
    );
    assert_eq!(s.metadata["order_id"], "8812");
    let seen = seen.0.lock().unwrap();
    let (path, h, body) = &seen[0];
    assert_eq!(path, "/v1/checkout/sessions");
    assert_eq!(h["authorization"], format!("Bearer {KEY}").as_str());
    assert_eq!(h["idempotency-key"], "checkout:abc");
    assert_eq!(h["stripe-version"], API_VERSION);
    assert_eq!(h["content-type"], "application/x-www-form-urlencoded");
    for part in [
        "mode=payment",
        "line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=brl",
        "line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=4990",
        "line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Hospedagem+Plano+B%C3%A1sico+%281+m%C3%AAs%29",
        "line_items%5B0%5D%5Bquantity%5D=1",
        "metadata%5Binvoice_id%5D=8812",
        "payment_intent_data%5Bmetadata%5D%5Binvoice_id%5D=8812",
        "success_url=https%3A%2F%2Fpainel.hostbr.example%2Fcheckout%2Fsucesso%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D",
        "payment_method_types%5B0%5D=card",
    ] {
        assert!(body.split('&').any(|p| p == part), "{part} missing from {body}");
    }
}

#[test]
fn subscription_mode_copies_metadata_to_the_subscription_and_sends_the_interval() {
    let mut s = new_session();
    s.mode = "subscription".into();
    s.line_items[0].interval = Some("month".into());
    let f = s.form();
    assert!(f.contains(&("subscription_data[metadata][invoice_id]".into(), "8812".into())));
    assert!(f.contains(&("line_items[0][price_data][recurring][interval]".into(), "month".into())));
    assert!(!f.iter().any(|(k, _)| k.starts_with("payment_intent_data")));
}

#[tokio::test]
async fn reads_the_error_envelope_and_says_what_is_worth_retrying() {
    let (url, _) = canned(400, ERROR, vec![("request-id", "req_AbCdEf123")]).await;
    let e = client(&url)
        .create_checkout_session(&new_session(), "k1")
        .await
        .unwrap_err();
    match &e {
        StripeError::Api(a) => {
            assert_eq!(a.status, 400);
            assert_eq!(a.kind, "invalid_request_error");
            assert_eq!(a.code.as_deref(), Some("parameter_missing"));
            assert_eq!(a.param.as_deref(), Some("success_url"));
            assert_eq!(a.request_id.as_deref(), Some("req_AbCdEf123"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_transient());
    assert!(matches!(
        crate::jobs::JobError::from(e),
        crate::jobs::JobError::Permanent(_)
    ));

    let (url, _) = canned(
        429,
        r#"{"error":{"type":"invalid_request_error","message":"Too many requests"}}"#,
        vec![],
    )
    .await;
    assert!(client(&url).retrieve_charge("ch_1").await.unwrap_err().is_transient());
    let (url, _) = canned(500, "<html>oops</html>", vec![]).await;
    let e = client(&url).retrieve_charge("ch_1").await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    // Stripe's own verdict wins over the status.
    let (url, _) = canned(500, ERROR, vec![("stripe-should-retry", "false")]).await;
    assert!(!client(&url).retrieve_charge("ch_1").await.unwrap_err().is_transient());
    let (url, _) = canned(400, ERROR, vec![("stripe-should-retry", "true")]).await;
    assert!(client(&url).retrieve_charge("ch_1").await.unwrap_err().is_transient());
}

#[tokio::test]
async fn no_answer_is_transient_and_the_key_never_shows() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let c = client(&url);
    let e = c.retrieve_dispute("dp_1").await.unwrap_err();
    assert!(matches!(e, StripeError::Transport { .. }) && e.is_transient(), "{e}");
    assert!(!format!("{c:?} {e} {e:?}").contains(KEY));
    // An echoed key is scrubbed from the server's text.
    let (url, _) = canned(
        401,
        r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_51Hx0clientTESTkey"}}"#,
        vec![],
    )
    .await;
    let e = client(&url).retrieve_charge("ch_1").await.unwrap_err();
    assert!(!e.to_string().contains(KEY), "{e}");
    assert!(!e.is_transient());
}

#[test]
fn refuses_what_must_not_be_sent() {
    assert!(matches!(
        StripeClient::new(StripeEndpoint::new("http://api.stripe.com", KEY)),
        Err(StripeError::Config(_))
    ));
    assert!(StripeClient::new(StripeEndpoint::new(DEFAULT_API_BASE, "")).is_err());
    let c = StripeClient::new(StripeEndpoint::new(DEFAULT_API_BASE, KEY)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(matches!(
        rt.block_on(c.retrieve_charge("../v1/x")),
        Err(StripeError::Config(_))
    ));
    assert!(matches!(
        rt.block_on(c.create_refund(&NewRefund::default(), "k")),
        Err(StripeError::Config(_))
    ));
}

#[test]
fn reads_dispute_charge_and_refund_objects() {
    let d: Dispute = serde_json::from_str(
        r#"{"id":"dp_1","object":"dispute","amount":4990,"currency":"brl","charge":"ch_1","payment_intent":"pi_1",
            "reason":"fraudulent","status":"warning_needs_response","evidence_details":{"due_by":1700600000,
            "has_evidence":false,"past_due":false,"submission_count":0},"is_charge_refundable":true,"created":1700000000}"#,
    )
    .unwrap();
    assert_eq!(d.evidence_details.due_by, Some(1_700_600_000));
    assert_eq!(d.our_status(), "needs_response");
    for (s, ours) in [
        ("won", "won"),
        ("lost", "lost"),
        ("warning_closed", "closed"),
        ("under_review", "under_review"),
    ] {
        let mut x = d.clone();
        x.status = s.into();
        assert_eq!(x.our_status(), ours);
    }
    let c: Charge = serde_json::from_str(
        r#"{"id":"ch_1","object":"charge","amount":4990,"amount_refunded":1000,"currency":"brl","refunded":false,
            "payment_intent":"pi_1","metadata":{},"refunds":{"object":"list","data":[{"id":"re_1","object":"refund",
            "amount":1000,"currency":"brl","charge":"ch_1","status":"succeeded","metadata":{"refund_id":"x"}}]}}"#,
    )
    .unwrap();
    assert_eq!(c.amount_refunded, 1000);
    assert_eq!(c.refunds.unwrap().data[0].metadata["refund_id"], "x");
    let r = NewRefund {
        payment_intent: Some("pi_1".into()),
        amount: Some(1000),
        reason: Some("requested_by_customer".into()),
        metadata: BTreeMap::from([("refund_id".to_owned(), "x".to_owned())]),
        ..Default::default()
    };
    assert_eq!(
        form_encode(&r.form()),
        "payment_intent=pi_1&amount=1000&reason=requested_by_customer&metadata%5Brefund_id%5D=x"
    );
}

/// The client against the sandbox's simulator: Stripe's rules for refunds, the control call
/// that opens a dispute, and the sandbox's faults as Stripe would show them.
#[tokio::test]
async fn against_the_simulator() {
    use sandbox::stripe::{StripeInit, StripeSim};
    use sandbox::{FaultKind, FaultSpec};
    let sim = StripeSim::start(StripeInit {
        api_key: KEY.into(),
        webhook_secret: "whsec_x".into(),
    })
    .await
    .unwrap();
    let c = client(sim.api_base());
    let s = c.create_checkout_session(&new_session(), "k-sim").await.unwrap();
    assert_eq!(
        c.retrieve_checkout_session(&s.id).await.unwrap().status.as_deref(),
        Some("open")
    );
    sim.complete_session(&s.id).unwrap();
    let s = c.retrieve_checkout_session(&s.id).await.unwrap();
    let pi = s.payment_intent.unwrap();
    let refund = |amount| NewRefund {
        payment_intent: Some(pi.clone()),
        amount: Some(amount),
        ..Default::default()
    };
    let r = c.create_refund(&refund(1000), "r1").await.unwrap();
    assert_eq!((r.amount, r.status.as_str()), (1000, "succeeded"));
    // The same key again: the same refund, not a second one.
    assert_eq!(c.create_refund(&refund(1000), "r1").await.unwrap().id, r.id);
    let e = c.create_refund(&refund(1000), "r1-other").await;
    assert!(e.is_ok());
    let e = c.create_refund(&refund(5000), "r2").await.unwrap_err();
    assert!(
        matches!(&e, StripeError::Api(a) if a.code.as_deref() == Some("amount_too_large")),
        "{e}"
    );
    assert!(!e.is_transient());
    let ch = c.retrieve_charge(r.charge.as_deref().unwrap()).await.unwrap();
    assert_eq!((ch.amount_refunded, ch.refunded), (2000, false));

    // The control call opens a dispute, which the client reads back.
    let ev: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_sandbox/disputes", sim.api_base()))
        .form(&[
            ("charge", ch.id.as_str()),
            ("reason", "fraudulent"),
            ("due_in_days", "3"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ev["type"], "charge.dispute.created");
    let d = c
        .retrieve_dispute(ev["data"]["object"]["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (d.our_status(), d.charge.as_deref()),
        ("needs_response", Some(ch.id.as_str()))
    );
    assert!(d.evidence_details.due_by.unwrap() > ev["created"].as_i64().unwrap() + 2 * 86_400);

    sim.set_fault(
        "charges.retrieve",
        FaultSpec::times(FaultKind::Http5xx { status: 500 }, 1),
    )
    .unwrap();
    let e = c.retrieve_charge(&ch.id).await.unwrap_err();
    assert!(e.status() == Some(500) && e.is_transient(), "{e}");
    sim.set_fault(
        "refunds.create",
        FaultSpec::times(FaultKind::RateLimited { retry_after_secs: 1 }, 1),
    )
    .unwrap();
    let e = c.create_refund(&refund(1), "r3").await.unwrap_err();
    assert!(e.status() == Some(429) && e.is_transient(), "{e}");
    sim.set_fault("refunds.create", FaultSpec::times(FaultKind::Malformed, 1))
        .unwrap();
    let e = c.create_refund(&refund(1), "r4").await.unwrap_err();
    assert!(matches!(e, StripeError::Malformed { .. }) && e.is_transient(), "{e}");
    let e = StripeClient::new(StripeEndpoint::new(sim.api_base(), "sk_test_wrong"))
        .unwrap()
        .retrieve_charge(&ch.id)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(!e.is_transient());
}
