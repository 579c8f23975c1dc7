//! Money after the checkout: charges (made when a session is paid), refunds (`POST
//! /v1/refunds`, which also sends `charge.refunded`), disputes (opened and closed by control
//! calls, which send `charge.dispute.created` / `charge.dispute.closed`), and reading each
//! back (`GET /v1/charges|refunds|disputes/{id}`). Shapes from shared/providers/stripe.md and
//! Stripe's API reference; the rules are Stripe's: a refund needs a charge or PaymentIntent,
//! never exceeds what is left, and its `reason` is one of three words.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Value};

use super::{authorised, error, faulted, form, int, now, replayed, store_answer, unauthorised, Inner};
use crate::server::ConnKill;
use crate::SandboxError;

/// A succeeded charge for a paid session (its PaymentIntent, and its Stripe invoice in
/// subscription mode), with an empty refunds list.
pub(super) fn charge_for(inner: &Inner, session: &Value, pi: &str, invoice: Option<&str>) -> Value {
    let id = inner.next_id("ch");
    json!({
        "id": id,
        "object": "charge",
        "amount": session["amount_total"],
        "amount_captured": session["amount_total"],
        "amount_refunded": 0,
        "captured": true,
        "created": now(),
        "currency": session["currency"],
        "disputed": false,
        "invoice": invoice,
        "livemode": false,
        "metadata": session["metadata"],
        "paid": true,
        "payment_intent": pi,
        "payment_method_details": { "type": "card", "card": { "brand": "visa", "last4": "4242" } },
        "refunded": false,
        "refunds": { "object": "list", "data": [], "has_more": false, "total_count": 0,
                     "url": format!("/v1/charges/{id}/refunds") },
        "status": "succeeded"
    })
}

/// The charge a refund or dispute names: by `ch_…` id or by its PaymentIntent.
fn find_charge<'a>(charges: &'a mut std::collections::HashMap<String, Value>, key: &str) -> Option<&'a mut Value> {
    if charges.contains_key(key) {
        return charges.get_mut(key);
    }
    charges.values_mut().find(|c| c["payment_intent"] == key)
}

pub(super) async fn create_refund(
    State(inner): State<Arc<Inner>>,
    Extension(kill): Extension<ConnKill>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorised();
    }
    let params = match form::parse(&body) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", None, &m, None),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(r) = replayed(&inner, key.as_deref(), &params) {
        return r;
    }
    let inner2 = inner.clone();
    faulted(&inner, "refunds.create", &kill, move || refund(&inner2, &params, key)).await
}

fn refund(inner: &Arc<Inner>, params: &Value, key: Option<String>) -> Response {
    let target = params["charge"].as_str().or(params["payment_intent"].as_str());
    let Some(target) = target else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_missing"),
            "One of the following params should be provided for this request: payment_intent or charge.",
            None,
        );
    };
    let reason = params["reason"].as_str();
    if reason.is_some_and(|r| !matches!(r, "duplicate" | "fraudulent" | "requested_by_customer")) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid_string"),
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            Some("reason"),
        );
    }
    let mut store = crate::faults::lock(&inner.store);
    let Some(charge) = find_charge(&mut store.charges, target) else {
        let param = if params["charge"].is_string() {
            "charge"
        } else {
            "payment_intent"
        };
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such {param}: '{target}'"),
            Some(param),
        );
    };
    let total = charge["amount"].as_i64().unwrap_or(0);
    let done = charge["amount_refunded"].as_i64().unwrap_or(0);
    let left = total - done;
    if left <= 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("charge_already_refunded"),
            &format!(
                "Charge {} has already been refunded.",
                charge["id"].as_str().unwrap_or("")
            ),
            None,
        );
    }
    let amount = int(&params["amount"]).unwrap_or(left);
    if amount <= 0 || amount > left {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("amount_too_large"),
            &format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"),
            Some("amount"),
        );
    }
    let refund = json!({
        "id": inner.next_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": null,
        "charge": charge["id"],
        "created": now(),
        "currency": charge["currency"],
        "metadata": params.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null
    });
    charge["amount_refunded"] = json!(done + amount);
    charge["refunded"] = json!(done + amount == total);
    if let Some(list) = charge["refunds"]["data"].as_array_mut() {
        list.insert(0, refund.clone());
    }
    charge["refunds"]["total_count"] = json!(charge["refunds"]["total_count"].as_i64().unwrap_or(0) + 1);
    let snapshot = charge.clone();
    store
        .refunds
        .insert(refund["id"].as_str().unwrap_or("").to_owned(), refund.clone());
    drop(store);
    store_answer(inner, key, params.clone(), 200, &refund);
    inner.emit(inner.event("charge.refunded", snapshot));
    axum::Json(refund).into_response()
}

fn missing(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some("id"),
    )
}

/// `GET /v1/{charges|refunds|disputes}/{id}`.
pub(super) async fn retrieve(
    State(inner): State<Arc<Inner>>,
    Extension(kill): Extension<ConnKill>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    if !authorised(&inner, &headers) {
        return unauthorised();
    }
    let op = format!("{kind}.retrieve");
    let inner2 = inner.clone();
    faulted(&inner, &op, &kill, move || {
        let store = crate::faults::lock(&inner2.store);
        let found = match kind.as_str() {
            "charges" => store.charges.get(&id),
            "refunds" => store.refunds.get(&id),
            "disputes" => store.disputes.get(&id),
            _ => None,
        };
        match found {
            Some(v) => axum::Json(v.clone()).into_response(),
            None => missing(kind.trim_end_matches('s'), &id),
        }
    })
    .await
}

impl Inner {
    /// Opens a dispute on a charge (by `ch_…` or its PaymentIntent): evidence due in
    /// `due_in_secs`; the `charge.dispute.created` event is sent and returned.
    pub(super) fn open_dispute(&self, charge: &str, reason: &str, due_in_secs: i64) -> Result<Value, SandboxError> {
        let mut store = crate::faults::lock(&self.store);
        let c = find_charge(&mut store.charges, charge)
            .ok_or_else(|| SandboxError::InvalidInit(format!("no charge {charge}")))?;
        c["disputed"] = json!(true);
        let created = now();
        let dispute = json!({
            "id": self.next_id("dp"),
            "object": "dispute",
            "amount": c["amount"],
            "balance_transactions": [],
            "charge": c["id"],
            "created": created,
            "currency": c["currency"],
            "evidence_details": { "due_by": created + due_in_secs, "has_evidence": false, "past_due": false,
                                  "submission_count": 0 },
            "is_charge_refundable": false,
            "livemode": false,
            "metadata": {},
            "payment_intent": c["payment_intent"],
            "reason": reason,
            "status": "needs_response"
        });
        store
            .disputes
            .insert(dispute["id"].as_str().unwrap_or("").to_owned(), dispute.clone());
        drop(store);
        let ev = self.event("charge.dispute.created", dispute);
        self.emit(ev.clone());
        Ok(ev)
    }

    /// Closes a dispute as `won`, `lost` or `warning_closed`; sends and returns
    /// `charge.dispute.closed`.
    pub(super) fn close_dispute(&self, id: &str, status: &str) -> Result<Value, SandboxError> {
        if !matches!(status, "won" | "lost" | "warning_closed") {
            return Err(SandboxError::InvalidInit(format!(
                "a dispute closes won, lost or warning_closed, not {status}"
            )));
        }
        let mut store = crate::faults::lock(&self.store);
        let d = store
            .disputes
            .get_mut(id)
            .ok_or_else(|| SandboxError::InvalidInit(format!("no dispute {id}")))?;
        d["status"] = json!(status);
        let snapshot = d.clone();
        drop(store);
        let ev = self.event("charge.dispute.closed", snapshot);
        self.emit(ev.clone());
        Ok(ev)
    }
}

/// Control: `POST /_sandbox/disputes` (`charge`, `reason`, `due_in_days`) opens one;
/// `POST /_sandbox/disputes/{id}/close` (`status`) closes it. Answers the event sent.
pub(super) async fn control_open(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let p = form::parse(&body).unwrap_or_default();
    let charge = p["charge"].as_str().unwrap_or("");
    let days = int(&p["due_in_days"]).unwrap_or(7);
    match inner.open_dispute(charge, p["reason"].as_str().unwrap_or("fraudulent"), days * 86_400) {
        Ok(ev) => axum::Json(ev).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

pub(super) async fn control_close(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> Response {
    let p = form::parse(&body).unwrap_or_default();
    match inner.close_dispute(&id, p["status"].as_str().unwrap_or("won")) {
        Ok(ev) => axum::Json(ev).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
