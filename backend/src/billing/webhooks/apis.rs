//! The provider APIs the `billing.webhook` job reads before trusting a notification: Mercado
//! Pago's and PagSeguro's bodies are only hints, so the job fetches the payment (or order)
//! itself — before its transaction, so no lock is held across the network.

use serde_json::Value;

use super::process::text;
use crate::jobs::JobError;
use crate::providers::mercadopago::{MercadoPagoClient, MercadoPagoError, Payment};
use crate::providers::pagseguro::{Order, PagSeguroClient, PagSeguroError};

/// What a worker process can reach (configured at its start).
#[derive(Clone, Debug, Default)]
pub struct ProviderApis {
    pub mercadopago: Option<MercadoPagoClient>,
    pub pagseguro: Option<PagSeguroClient>,
}

/// What the API said about the notification's subject.
pub(super) enum Fetched {
    /// Nothing to fetch (Stripe: its events are signed whole).
    Nothing,
    MercadoPago(Result<Payment, String>),
    PagSeguro(Result<Order, String>),
}

fn mp_error(e: MercadoPagoError) -> Result<Result<Payment, String>, JobError> {
    if e.is_transient() {
        Err(JobError::Transient(e.to_string()))
    } else {
        Ok(Err(e.to_string()))
    }
}

fn ps_error(e: PagSeguroError) -> Result<Result<Order, String>, JobError> {
    if e.is_transient() {
        Err(JobError::Transient(e.to_string()))
    } else {
        Ok(Err(e.to_string()))
    }
}

impl ProviderApis {
    /// Fetches what the event names. A transient failure retries the job; a permanent one
    /// (404, 401) is handed on so the event is marked failed with the reason.
    pub(super) async fn fetch(&self, provider: &str, event_type: &str, payload: &Value) -> Result<Fetched, JobError> {
        match provider {
            "mercadopago" => {
                let is_payment = text(payload, &["type"]) == Some("payment") || event_type.starts_with("payment.");
                let id = match payload.pointer("/data/id") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                let (true, Some(id)) = (is_payment, id) else {
                    return Ok(Fetched::Nothing);
                };
                let api = self.mercadopago.as_ref().ok_or_else(|| {
                    JobError::Transient("Mercado Pago is not configured in this worker (mercadopago.json)".into())
                })?;
                Ok(Fetched::MercadoPago(match api.get_payment(&id).await {
                    Ok(p) => Ok(p),
                    Err(e) => mp_error(e)?,
                }))
            }
            "pagseguro" => {
                let Some(id) = text(payload, &["id"]) else {
                    return Ok(Fetched::Nothing);
                };
                let api = self.pagseguro.as_ref().ok_or_else(|| {
                    JobError::Transient("PagSeguro is not configured in this worker (pagseguro.json)".into())
                })?;
                Ok(Fetched::PagSeguro(match api.get_order(id).await {
                    Ok(o) => Ok(o),
                    Err(e) => ps_error(e)?,
                }))
            }
            _ => Ok(Fetched::Nothing),
        }
    }
}

impl Fetched {
    pub(super) fn mercadopago(self) -> Option<Result<Payment, String>> {
        match self {
            Fetched::MercadoPago(r) => Some(r),
            _ => None,
        }
    }

    pub(super) fn pagseguro(self) -> Option<Result<Order, String>> {
        match self {
            Fetched::PagSeguro(r) => Some(r),
            _ => None,
        }
    }
}
