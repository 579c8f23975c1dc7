//! The official Stripe Python library (PyPI `stripe`) against the simulator and painel, so
//! neither our wire format nor our signature scheme can drift from Stripe's: the library
//! creates the Checkout Session (api_base = the simulator) and builds the `Stripe-Signature`
//! header (`stripe.WebhookSignature.generate_signature_header`, checked with
//! `stripe.Webhook.construct_event`), which `painel serve` must accept.

use std::process::Command;

use backend::args;
use sandbox::stripe::{StripeInit, StripeSim};
use serde_json::Value;

use crate::common::fresh;
use crate::serve::{pending_invoice, process_webhooks, Serve, API_KEY, SECRET};

const CREATE: &str = r#"
import json, sys, stripe
stripe.api_key = sys.argv[2]
stripe.api_base = sys.argv[1]
stripe.max_network_retries = 0
s = stripe.checkout.Session.create(
    mode="payment",
    line_items=[{"price_data": {"currency": "brl", "unit_amount": 4990,
                 "product_data": {"name": "Hospedagem"}}, "quantity": 1}],
    success_url="https://painel.example/ok?session_id={CHECKOUT_SESSION_ID}",
    metadata={"invoice_id": sys.argv[3]},
    idempotency_key="checkout:" + sys.argv[3] + ":1",
)
again = stripe.checkout.Session.retrieve(s.id)
print(json.dumps({"id": s.id, "amount_total": s.amount_total, "status": again.status,
                  "invoice_id": s.metadata["invoice_id"]}))
"#;

const SIGN: &str = r#"
import sys, stripe
payload = sys.stdin.read()
header = stripe.WebhookSignature.generate_signature_header(payload, sys.argv[1])
event = stripe.Webhook.construct_event(payload, header, sys.argv[1])
assert event.id, "the library rejected its own header"
print(header)
"#;

/// Whether `python3 -c 'import stripe'` works; in CI its absence is a failure.
fn python_stripe() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import stripe"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
            panic!("CI is set but python3 with the `stripe` package is missing (scripts/test installs it)");
        }
        eprintln!("skipping: python3 with the `stripe` package is missing (python3 -m pip install stripe)");
    }
    ok
}

fn python(script: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .env("NO_PROXY", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(b) = stdin {
        input.write_all(b).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

// The simulator answers from the runtime while python blocks this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_stripe_library_creates_a_session_and_signs_what_painel_accepts() {
    if !python_stripe() {
        return;
    }
    let t = fresh().await;
    let invoice = pending_invoice(&t.db, "loja-py", "2026-0100").await;
    let sim = StripeSim::start(StripeInit {
        api_key: API_KEY.into(),
        webhook_secret: SECRET.into(),
    })
    .await
    .unwrap();
    let created: Value =
        serde_json::from_str(&python(CREATE, &[sim.api_base(), API_KEY, &invoice.to_string()], None)).unwrap();
    assert_eq!(created["amount_total"], 4990);
    assert_eq!(created["status"], "open");
    assert_eq!(created["invoice_id"], invoice.to_string());

    let event = sim.complete_session(created["id"].as_str().unwrap()).unwrap();
    let body = serde_json::to_vec(&event).unwrap();
    let header = python(SIGN, &[SECRET], Some(&body));
    assert!(header.starts_with("t=") && header.contains(",v1="), "{header}");

    let serve = Serve::start(&t);
    let res = reqwest::Client::new()
        .post(serve.url("/webhooks/stripe"))
        .header("Stripe-Signature", &header)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    process_webhooks(&t.db).await;
    let status: String =
        t.db.scalar("SELECT status FROM invoices WHERE id = $1", args![invoice])
            .await
            .unwrap();
    assert_eq!(status, "paid");
}

const READ_AND_REFUND: &str = r#"
import json, sys, stripe
stripe.api_key = sys.argv[2]
stripe.api_base = sys.argv[1]
stripe.max_network_retries = 0
s = stripe.checkout.Session.retrieve(sys.argv[3])
ours = stripe.Refund.retrieve(sys.argv[5])
theirs = stripe.Refund.create(payment_intent=sys.argv[4], amount=500, reason="requested_by_customer",
                              metadata={"by": "library"}, idempotency_key="lib-refund-1")
print(json.dumps({
    "session": {"id": s.id, "mode": s.mode, "url": s.url, "amount_total": s.amount_total,
                "currency": s.currency, "invoice_id": s.metadata["invoice_id"],
                "client_reference_id": s.client_reference_id, "status": s.status},
    "ours": ours.to_dict_recursive() if hasattr(ours, "to_dict_recursive") else json.loads(str(ours)),
    "theirs": theirs.to_dict_recursive() if hasattr(theirs, "to_dict_recursive") else json.loads(str(theirs)),
}))
"#;

/// The session and refund OUR client created are what the official library reads, and a
/// refund the library creates has the same shape as ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_library_reads_what_our_client_created_and_refunds_agree_in_shape() {
    use backend::billing::stripe::{checkout, refunds};

    use crate::common::operator;
    use crate::stripe_money::{feed, run_billing_jobs, sim_and_account};
    if !python_stripe() {
        return;
    }
    let t = fresh().await;
    let sim = sim_and_account(&t.db).await;
    let invoice = pending_invoice(&t.db, "loja-py2", "2026-0700").await;
    checkout::request(&t.db, &operator(), &invoice.to_string(), checkout::Mode::Payment)
        .await
        .unwrap();
    run_billing_jobs(&t.db).await;
    let link = checkout::pay_link(&t.db, &operator(), &invoice.to_string())
        .await
        .unwrap()
        .unwrap();
    let cs = link.external_id.clone().unwrap();
    feed(&t.db, &[sim.complete_session(&cs).unwrap()]).await;
    let pi = sim.session(&cs).unwrap()["payment_intent"].as_str().unwrap().to_owned();
    let payment: uuid::Uuid =
        t.db.scalar("SELECT id FROM payments WHERE invoice_id = $1", args![invoice])
            .await
            .unwrap();
    let pid = payment.to_string();
    let r = refunds::request(
        &t.db,
        &operator(),
        None,
        refunds::RefundRequest {
            payment: &pid,
            amount_minor: Some(1000),
            reason: "teste",
            code: None,
        },
    )
    .await
    .unwrap();
    run_billing_jobs(&t.db).await;
    let re = refunds::get(&t.db, &operator(), r.refund.id)
        .await
        .unwrap()
        .external_id
        .unwrap();

    let out: Value = serde_json::from_str(&python(
        READ_AND_REFUND,
        &[sim.api_base(), API_KEY, &cs, &pi, &re],
        None,
    ))
    .unwrap();
    let s = &out["session"];
    assert_eq!(s["id"], cs.as_str());
    assert_eq!(s["mode"], "payment");
    assert_eq!(s["status"], "complete");
    assert_eq!(s["amount_total"], 4990);
    assert_eq!(s["currency"], "brl");
    assert_eq!(s["invoice_id"], invoice.to_string());
    assert_eq!(s["client_reference_id"], invoice.to_string());
    assert_eq!(s["url"].as_str(), link.url.as_deref());

    let (ours, theirs) = (&out["ours"], &out["theirs"]);
    assert_eq!(ours["metadata"]["refund_id"], r.refund.id.to_string());
    assert_eq!(
        (ours["amount"].as_i64(), theirs["amount"].as_i64()),
        (Some(1000), Some(500))
    );
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        keys(ours),
        keys(theirs),
        "refunds from our client and the library differ in shape"
    );
    for k in ["object", "status", "currency", "charge", "payment_intent", "reason"] {
        assert_eq!(ours[k], theirs[k], "{k}");
    }
    // The library's refund is Stripe's too: its event brings the payment to 1,500 refunded.
    feed(&t.db, &sim.take_events()).await;
    let q = refunds::quote(&t.db, &operator(), &pid).await.unwrap();
    assert_eq!((q.refunded_minor, q.status.as_str()), (1500, "partially_refunded"));
}
