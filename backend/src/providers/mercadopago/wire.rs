//! Mercado Pago's JSON: the payment object (the fields painel reads) and the error envelope,
//! whose `cause` is an array on current endpoints and a single object on old ones.

use serde::Deserialize;
use serde_json::Value;

use crate::money;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Payment {
    /// A 64-bit integer: never through f64.
    pub id: i64,
    pub status: String,
    #[serde(default)]
    pub status_detail: Option<String>,
    /// Reais as a JSON number (`12.34`); see [`Payment::amount_minor`].
    pub transaction_amount: serde_json::Number,
    #[serde(default)]
    pub currency_id: Option<String>,
    #[serde(default)]
    pub external_reference: Option<String>,
    #[serde(default)]
    pub date_of_expiration: Option<String>,
    #[serde(default)]
    pub date_approved: Option<String>,
    #[serde(default)]
    pub payment_method_id: Option<String>,
    #[serde(default)]
    pub metadata: Value,
    #[serde(default)]
    pub point_of_interaction: Option<PointOfInteraction>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PointOfInteraction {
    #[serde(default)]
    pub transaction_data: Option<PixData>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PixData {
    /// The BR Code ("copia e cola").
    pub qr_code: String,
    /// PNG, base64, no `data:` prefix.
    #[serde(default)]
    pub qr_code_base64: Option<String>,
    #[serde(default)]
    pub ticket_url: Option<String>,
}

impl Payment {
    /// The amount in centavos, exactly: the number's decimal text, never f64 arithmetic.
    pub fn amount_minor(&self) -> Option<i64> {
        let currency = self.currency_id.as_deref().unwrap_or("BRL");
        money::parse(&self.transaction_amount.to_string(), currency).ok()
    }

    pub fn pix(&self) -> Option<&PixData> {
        self.point_of_interaction.as_ref()?.transaction_data.as_ref()
    }
}

/// `{"message","error","status","cause":[{"code","description"}]}`.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Value,
}

impl ErrorBody {
    pub(super) fn causes(&self) -> Vec<(String, String)> {
        let one = |c: &Value| {
            let code = match c.get("code") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            let d = c.get("description").and_then(Value::as_str).unwrap_or("").to_owned();
            (code, d)
        };
        match &self.cause {
            Value::Array(a) => a.iter().map(one).collect(),
            v @ Value::Object(_) => vec![one(v)],
            _ => Vec::new(),
        }
    }
}
