//! `POST /webhooks/mercadopago` and `POST /webhooks/pagseguro` (docs/adr/0029): verified on
//! the raw request (Mercado Pago's `x-signature` over the manifest, PagBank's
//! `x-authenticity-token`), recorded through the same Intake as Stripe's, answered fast.
//! Neither body is trusted: the `billing.webhook` job fetches the payment from the API.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use backend::billing::webhooks::{mercadopago, pagseguro, Incoming, Outcome, Rejection};

use super::{text, AppState};

fn header_text<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `data.id` from the query string, percent-decoded.
fn data_id(query: Option<&str>) -> Option<String> {
    let url = reqwest::Url::parse(&format!("http://q/?{}", query?)).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "data.id")
        .map(|(_, v)| v.into_owned())
}

async fn record(st: &AppState, provider: &'static str, verified: Result<Incoming, Rejection>) -> Response {
    let ev = match verified {
        Ok(ev) => ev,
        Err(r) => {
            st.metrics.webhook(provider, r.label());
            return text(StatusCode::BAD_REQUEST, r.reason());
        }
    };
    match st.intake.submit(ev).await {
        Ok(outcome) => {
            st.metrics.webhook(provider, outcome.label());
            let duplicate = outcome == Outcome::Duplicate;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{{\"received\":true,\"duplicate\":{duplicate}}}"),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, provider, "webhook not recorded");
            st.metrics.webhook(provider, "error");
            text(StatusCode::SERVICE_UNAVAILABLE, "not recorded; retry later")
        }
    }
}

pub(super) async fn mercadopago_webhook(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let Some(secrets) = &st.pix.mercadopago else {
        st.metrics.webhook("mercadopago", "unconfigured");
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "mercadopago webhooks are not configured",
        );
    };
    let id = data_id(query.as_deref());
    let d = mercadopago::Delivery {
        signature: header_text(&headers, "x-signature"),
        request_id: header_text(&headers, "x-request-id"),
        data_id: id.as_deref(),
    };
    let now = chrono::Utc::now().timestamp();
    let verified = mercadopago::accept(secrets, &d, &body, now);
    record(&st, "mercadopago", verified).await
}

pub(super) async fn pagseguro_webhook(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(tokens) = &st.pix.pagseguro else {
        st.metrics.webhook("pagseguro", "unconfigured");
        return text(StatusCode::SERVICE_UNAVAILABLE, "pagseguro webhooks are not configured");
    };
    let verified = pagseguro::accept(tokens, header_text(&headers, "x-authenticity-token"), &body);
    record(&st, "pagseguro", verified).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn data_id_from_the_query() {
        assert_eq!(super::data_id(Some("data.id=123&type=payment")).as_deref(), Some("123"));
        assert_eq!(
            super::data_id(Some("source=pix&data.id=ORD%2D1")).as_deref(),
            Some("ORD-1")
        );
        assert_eq!(super::data_id(Some("type=payment")), None);
        assert_eq!(super::data_id(None), None);
    }
}
