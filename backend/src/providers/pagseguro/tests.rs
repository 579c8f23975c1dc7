//! The client against bodies copied from shared/providers/pagseguro.md, served on loopback.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;

use super::*;

const CREATED: &str = r#"{
  "id": "ORDE_367BABB7-2144-4247-ABC5-26232D8F04B9",
  "reference_id": "order_8812",
  "created_at": "2025-01-02T10:00:00.000-03:00",
  "customer": { "name": "João Silva", "email": "joao@example.com", "tax_id": "12345678909" },
  "items": [{ "reference_id": "plano_mensal", "name": "Plano mensal", "quantity": 1, "unit_amount": 4990 }],
  "qr_codes": [{
    "id": "QRCO_F7D7A43A-FCD5-43B9-8AE3-2D17F9E1D52F",
    "expiration_date": "2025-01-02T23:59:59.000-03:00",
    "amount": { "value": 4990 },
    "text": "00020101021226850014br.gov.bcb.pix2563api-h.pagseguro.com/pix/v2/F7D7A43A-FCD5-43B9-8AE3-2D17F9E1D52F27600016BR.COM.PAGSEGURO0136F7D7A43A-FCD5-43B9-8AE3-2D17F9E1D52F520482205303986540599.005802BR5916NI projetos LTDA6015Sao Bernardo do62070503***63040BAC",
    "arrangements": ["PIX"],
    "links": []
  }],
  "notification_urls": ["https://app.example.com/hooks/pagbank/Zt8"],
  "links": []
}"#;

const PAID: &str = r#"{
  "id": "ORDE_367BABB7-2144-4247-ABC5-26232D8F04B9",
  "reference_id": "order_8812",
  "qr_codes": [],
  "charges": [{ "id": "CHAR_5E6F", "reference_id": "order_8812", "status": "PAID",
              "paid_at": "2025-01-02T10:03:11.000-03:00",
              "amount": { "value": 4990, "currency": "BRL", "summary": { "total": 4990, "paid": 4990, "refunded": 0 } },
              "payment_method": { "type": "PIX", "pix": { "end_to_end_id": "E1803615020250102130" } } }]
}"#;

async fn serve(app: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

fn client(url: &str) -> PagSeguroClient {
    PagSeguroClient::new(PagSeguroConfig {
        api_base: url.into(),
        token: "ps-token".into(),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn creates_an_order_and_reads_its_paid_charge() {
    let app = Router::new()
        .route(
            "/orders",
            post(|h: HeaderMap, body: String| async move {
                assert_eq!(h["authorization"], "Bearer ps-token");
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["qr_codes"][0]["amount"]["value"], 4990);
                (StatusCode::CREATED, CREATED)
            }),
        )
        .route("/orders/{id}", get(|| async { PAID }));
    let c = client(&serve(app).await);
    let o = c
        .create_pix_order(&NewPixOrder {
            reference_id: "order_8812".into(),
            customer_name: "João".into(),
            customer_email: "joao@example.com".into(),
            item_name: "Plano".into(),
            amount_minor: 4990,
            expiration_date: "2025-01-02T23:59:59-03:00".into(),
            notification_url: None,
        })
        .await
        .unwrap();
    assert_eq!(o.qr_codes[0].amount.value, 4990);
    assert!(crate::billing::pix::brcode::parse(&o.qr_codes[0].text).is_ok());
    assert!(o.paid_charge().is_none());
    let paid = c.get_order(&o.id).await.unwrap();
    let ch = paid.paid_charge().unwrap();
    assert_eq!((ch.id.as_str(), ch.amount.value), ("CHAR_5E6F", 4990));
}

#[tokio::test]
async fn error_envelope() {
    let app = Router::new().route(
        "/orders",
        post(|| async {
            (
                StatusCode::BAD_REQUEST,
                r#"{ "error_messages": [ { "code": "40002", "description": "invalid_parameter", "parameter_name": "customer.tax_id" } ] }"#,
            )
        }),
    );
    let c = client(&serve(app).await);
    let e = c
        .create_pix_order(&NewPixOrder {
            reference_id: "r".into(),
            customer_name: "n".into(),
            customer_email: "e@example.com".into(),
            item_name: "i".into(),
            amount_minor: 1,
            expiration_date: "x".into(),
            notification_url: None,
        })
        .await
        .unwrap_err();
    assert!(!e.is_transient());
    assert!(
        e.to_string().contains("40002 invalid_parameter (customer.tax_id)"),
        "{e}"
    );
}
