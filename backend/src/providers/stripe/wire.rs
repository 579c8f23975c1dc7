//! Stripe's objects as painel reads them (fields we use; the rest are ignored) and the
//! request bodies: `application/x-www-form-urlencoded` with bracket notation for nesting
//! (`metadata[invoice_id]=…`, `line_items[0][price_data][currency]=brl`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One inline-priced line of a Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub name: String,
    /// Minor units.
    pub unit_amount: i64,
    pub quantity: i64,
    /// `month`, `year`, … — subscription mode only.
    pub interval: Option<String>,
}

/// `POST /v1/checkout/sessions` for card payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckoutSession {
    /// `payment` or `subscription`.
    pub mode: String,
    /// Lower case ISO 4217.
    pub currency: String,
    pub line_items: Vec<LineItem>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    /// Set on the session, and copied to the PaymentIntent (payment mode) or the
    /// Subscription (subscription mode) so later charge/invoice events carry it too.
    pub metadata: BTreeMap<String, String>,
    pub expires_at: Option<i64>,
}

impl NewCheckoutSession {
    /// The form fields, in a stable order.
    pub fn form(&self) -> Vec<(String, String)> {
        let mut f = vec![
            ("mode".to_owned(), self.mode.clone()),
            ("payment_method_types[0]".to_owned(), "card".to_owned()),
            ("success_url".to_owned(), self.success_url.clone()),
        ];
        for (i, item) in self.line_items.iter().enumerate() {
            let p = format!("line_items[{i}]");
            f.push((format!("{p}[price_data][currency]"), self.currency.to_lowercase()));
            f.push((format!("{p}[price_data][unit_amount]"), item.unit_amount.to_string()));
            f.push((format!("{p}[price_data][product_data][name]"), item.name.clone()));
            if let Some(iv) = &item.interval {
                f.push((format!("{p}[price_data][recurring][interval]"), iv.clone()));
            }
            f.push((format!("{p}[quantity]"), item.quantity.to_string()));
        }
        for (k, v) in [
            ("cancel_url", &self.cancel_url),
            ("customer_email", &self.customer_email),
            ("client_reference_id", &self.client_reference_id),
        ] {
            if let Some(v) = v {
                f.push((k.to_owned(), v.clone()));
            }
        }
        if let Some(at) = self.expires_at {
            f.push(("expires_at".to_owned(), at.to_string()));
        }
        let copy = if self.mode == "subscription" {
            "subscription_data"
        } else {
            "payment_intent_data"
        };
        for (k, v) in &self.metadata {
            f.push((format!("metadata[{k}]"), v.clone()));
            f.push((format!("{copy}[metadata][{k}]"), v.clone()));
        }
        f
    }
}

/// `POST /v1/refunds`: a whole or partial refund of a charge or PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewRefund {
    pub charge: Option<String>,
    pub payment_intent: Option<String>,
    /// Minor units; `None` refunds what is left.
    pub amount: Option<i64>,
    /// `duplicate`, `fraudulent` or `requested_by_customer` (Stripe's enumeration; our free
    /// text goes in metadata).
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl NewRefund {
    pub fn form(&self) -> Vec<(String, String)> {
        let mut f = Vec::new();
        if let Some(c) = &self.charge {
            f.push(("charge".to_owned(), c.clone()));
        }
        if let Some(p) = &self.payment_intent {
            f.push(("payment_intent".to_owned(), p.clone()));
        }
        if let Some(a) = self.amount {
            f.push(("amount".to_owned(), a.to_string()));
        }
        if let Some(r) = &self.reason {
            f.push(("reason".to_owned(), r.clone()));
        }
        for (k, v) in &self.metadata {
            f.push((format!("metadata[{k}]"), v.clone()));
        }
        f
    }
}

/// The form body itself (percent-encoded, brackets included, as Stripe's libraries send it).
pub fn form_encode(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A Checkout Session (`cs_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub url: Option<String>,
    pub mode: String,
    /// open, complete, expired.
    pub status: Option<String>,
    pub payment_status: Option<String>,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub payment_intent: Option<String>,
    pub subscription: Option<String>,
    pub expires_at: Option<i64>,
}

/// A Refund (`re_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub charge: Option<String>,
    pub payment_intent: Option<String>,
    /// pending, requires_action, succeeded, failed, canceled.
    pub status: String,
    pub reason: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub failure_reason: Option<String>,
}

/// `charge.refunds` where it is included (a list object).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RefundList {
    #[serde(default)]
    pub data: Vec<Refund>,
}

/// A Charge (`ch_…`): what a refund or a dispute is against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub amount: i64,
    #[serde(default)]
    pub amount_refunded: i64,
    pub currency: String,
    #[serde(default)]
    pub refunded: bool,
    #[serde(default)]
    pub disputed: bool,
    pub payment_intent: Option<String>,
    pub invoice: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Not included by default since API 2022-11-15; read when present.
    #[serde(default)]
    pub refunds: Option<RefundList>,
}

/// When evidence is due (`evidence_details.due_by`, unix seconds).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EvidenceDetails {
    pub due_by: Option<i64>,
    #[serde(default)]
    pub has_evidence: bool,
    #[serde(default)]
    pub submission_count: i64,
}

/// A Dispute (`dp_…` / `du_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispute {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub charge: Option<String>,
    pub payment_intent: Option<String>,
    pub reason: Option<String>,
    /// warning_needs_response, warning_under_review, warning_closed, needs_response,
    /// under_review, won, lost, prevented.
    pub status: String,
    #[serde(default)]
    pub evidence_details: EvidenceDetails,
    #[serde(default)]
    pub is_charge_refundable: bool,
    pub created: Option<i64>,
}

impl Dispute {
    /// Our `disputes.status` for Stripe's.
    pub fn our_status(&self) -> &'static str {
        match self.status.as_str() {
            "won" => "won",
            "lost" => "lost",
            "warning_closed" | "prevented" => "closed",
            "under_review" | "warning_under_review" => "under_review",
            _ => "needs_response",
        }
    }
}
