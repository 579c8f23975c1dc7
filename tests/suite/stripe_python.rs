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
