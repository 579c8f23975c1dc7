//! PagBank's order JSON (the fields painel reads) and its error envelope.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Order {
    pub id: String,
    #[serde(default)]
    pub reference_id: Option<String>,
    #[serde(default)]
    pub qr_codes: Vec<QrCode>,
    #[serde(default)]
    pub charges: Vec<Charge>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct QrCode {
    pub id: String,
    #[serde(default)]
    pub expiration_date: Option<String>,
    pub amount: Amount,
    /// The BR Code.
    pub text: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Amount {
    pub value: i64,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Charge {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub paid_at: Option<String>,
    pub amount: Amount,
}

impl Order {
    /// The first charge that says `PAID`, if any.
    pub fn paid_charge(&self) -> Option<&Charge> {
        self.charges.iter().find(|c| c.status == "PAID")
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default)]
    error_messages: Vec<ErrorMessage>,
}

#[derive(Debug, Deserialize)]
struct ErrorMessage {
    #[serde(default)]
    code: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameter_name: Option<String>,
}

impl ErrorBody {
    pub(super) fn messages(&self) -> Vec<String> {
        self.error_messages
            .iter()
            .map(|m| match &m.parameter_name {
                Some(p) => format!("{} {} ({p})", m.code, m.description),
                None => format!("{} {}", m.code, m.description),
            })
            .collect()
    }
}
