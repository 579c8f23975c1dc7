//! The client against bodies copied from shared/providers/mercadopago.md, served on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::*;

const CREATED: &str = r#"{
  "id": 1327410519,
  "status": "pending",
  "status_detail": "pending_waiting_transfer",
  "date_created": "2024-03-05T10:15:00.000-03:00",
  "date_of_expiration": "2024-03-06T10:15:00.000-03:00",
  "date_approved": null,
  "payment_method_id": "pix",
  "payment_type_id": "bank_transfer",
  "transaction_amount": 12.34,
  "currency_id": "BRL",
  "description": "Hospedagem Plano Básico - pedido 8812",
  "external_reference": "order_8812",
  "live_mode": false,
  "payer": { "email": "joao@example.com", "identification": { "type": "CPF", "number": "19119119100" } },
  "metadata": { "order_id": "8812", "tenant_id": "t_42" },
  "point_of_interaction": {
    "type": "PIX",
    "transaction_data": {
      "qr_code": "00020126580014br.gov.bcb.pix0136b76aa9c2-2ec4-4110-954e-ebfe34f05b61520400005303986540512.345802BR5911TE35069Wi056014Begz kGOBJEUte62230519mpqrinter132741051963042B7C",
      "qr_code_base64": "iVBORw0KGgoAAAANSUhEUgAABWQAAAVkAQAAAAB79iscAAA...",
      "ticket_url": "https://www.mercadopago.com.br/sandbox/payments/1327410519/ticket?caller_id=1664124048&hash=cce2d9d3-f914-4611-98bf-b5c686c42849"
    }
  }
}"#;

const TOKEN: &str = "TEST-1234-secret-token";

#[derive(Default)]
struct Seen {
    headers: Vec<HeaderMap>,
    bodies: Vec<Value>,
}

async fn serve(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

fn client(url: &str) -> MercadoPagoClient {
    MercadoPagoClient::new(MercadoPagoConfig {
        api_base: url.into(),
        access_token: TOKEN.into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn creates_a_pix_payment_and_reads_it() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = Router::new()
        .route(
            "/v1/payments",
            post(
                |State(s): State<Arc<Mutex<Seen>>>, h: HeaderMap, body: String| async move {
                    let mut s = s.lock().unwrap();
                    s.headers.push(h);
                    s.bodies.push(serde_json::from_str(&body).unwrap());
                    (StatusCode::CREATED, CREATED)
                },
            ),
        )
        .route("/v1/payments/{id}", get(|| async { CREATED }))
        .with_state(seen.clone());
    let c = client(&serve(app).await);
    let p = c
        .create_pix_payment(
            &NewPixPayment {
                amount_minor: 4990,
                description: "Fatura 1".into(),
                external_reference: "inv-1".into(),
                notification_url: Some("https://x.example/webhooks/mercadopago".into()),
                date_of_expiration: "2024-03-06T10:15:00.000-03:00".into(),
                payer_email: "joao@example.com".into(),
                metadata: json!({ "invoice_id": "inv-1" }),
            },
            "pix:abc",
        )
        .await
        .unwrap();
    assert_eq!(p.id, 1327410519);
    assert_eq!(p.amount_minor(), Some(1234));
    let pix = p.pix().unwrap();
    assert!(crate::billing::pix::brcode::parse(&pix.qr_code).is_ok());
    assert_eq!(p.date_of_expiration.as_deref(), Some("2024-03-06T10:15:00.000-03:00"));
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.headers[0]["x-idempotency-key"], "pix:abc");
        assert_eq!(s.headers[0]["authorization"], format!("Bearer {TOKEN}").as_str());
        // Reais as a decimal number, built from centavos.
        assert_eq!(s.bodies[0]["transaction_amount"].to_string(), "49.9");
        assert_eq!(s.bodies[0]["payment_method_id"], "pix");
    }
    let again = c.get_payment("1327410519").await.unwrap();
    assert_eq!(again, p);
    assert!(c.get_payment("../etc").await.is_err());
}

#[tokio::test]
async fn error_envelopes_array_and_object_cause_and_no_token_in_errors() {
    let app = Router::new()
        .route(
            "/v1/payments",
            post(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    r#"{"message":"Invalid user identification number","error":"bad_request","status":400,"cause":[{"code":2067,"description":"Invalid user identification number","data":null}]}"#,
                )
            }),
        )
        .route(
            "/v1/payments/{id}",
            get(|| async {
                (
                    StatusCode::UNAUTHORIZED,
                    format!(r#"{{"message":"invalid token {TOKEN}","error":"unauthorized","status":401,"cause":{{"code":"4020","description":"old shape"}}}}"#),
                )
            }),
        );
    let c = client(&serve(app).await);
    let p = NewPixPayment {
        amount_minor: 100,
        description: "d".into(),
        external_reference: "r".into(),
        notification_url: None,
        date_of_expiration: "2024-03-06T10:15:00.000-03:00".into(),
        payer_email: "a@example.com".into(),
        metadata: json!({}),
    };
    let e = c.create_pix_payment(&p, "k").await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert!(!e.is_transient());
    assert!(e.to_string().contains("2067 Invalid user identification number"), "{e}");
    let e = c.get_payment("1").await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("4020 old shape"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(!format!("{c:?}").contains(TOKEN));
}

#[tokio::test]
async fn transient_failures_are_transient() {
    let app = Router::new().route(
        "/v1/payments/{id}",
        get(|| async { (StatusCode::BAD_GATEWAY, "<html>") }),
    );
    let c = client(&serve(app).await);
    assert!(c.get_payment("1").await.unwrap_err().is_transient());
    let dead = client("http://127.0.0.1:9");
    assert!(dead.get_payment("1").await.unwrap_err().is_transient());
    assert!(MercadoPagoClient::new(MercadoPagoConfig {
        api_base: "http://api.mercadopago.com".into(),
        access_token: TOKEN.into(),
        timeout: Duration::from_secs(1),
    })
    .is_err());
}
