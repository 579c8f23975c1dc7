//! The v4 envelope and the zone and DNS record objects (the fields painel reads; unknown
//! fields are ignored, as Cloudflare adds them freely).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::CfError;

/// An item of `errors[]` / `messages[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiMessage {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

/// `result_info` of list endpoints (older answers omit `total_pages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct ResultInfo {
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub per_page: u32,
    #[serde(default)]
    pub count: u32,
    #[serde(default)]
    pub total_count: u32,
    #[serde(default)]
    pub total_pages: Option<u32>,
}

impl ResultInfo {
    /// Whether a page follows this one.
    pub fn has_more(&self) -> bool {
        let pages = self
            .total_pages
            .unwrap_or_else(|| self.total_count.div_ceil(self.per_page.max(1)));
        self.page < pages && self.count > 0
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiMessage>,
    #[serde(default)]
    pub result: Value,
    #[serde(default)]
    pub result_info: Option<ResultInfo>,
}

/// Reads a body as the envelope; `success: false` becomes [`CfError::Api`].
pub(crate) fn parse<T: DeserializeOwned>(
    op: &str,
    status: u16,
    body: &[u8],
) -> Result<(T, Option<ResultInfo>), CfError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| CfError::Malformed {
        op: op.to_owned(),
        detail: format!("not the v4 envelope: {e}"),
    })?;
    if !env.success {
        return Err(CfError::Api {
            op: op.to_owned(),
            status,
            errors: env.errors,
        });
    }
    let result = serde_json::from_value(env.result).map_err(|e| CfError::Malformed {
        op: op.to_owned(),
        detail: format!("unexpected result shape: {e}"),
    })?;
    Ok((result, env.result_info))
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ZoneAccount {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A zone: `status` is `initializing | pending | active | moved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub paused: bool,
    #[serde(default, rename = "type")]
    pub zone_type: Option<String>,
    #[serde(default)]
    pub name_servers: Vec<String>,
    #[serde(default)]
    pub original_name_servers: Option<Vec<String>>,
    #[serde(default)]
    pub activated_on: Option<String>,
    #[serde(default)]
    pub account: ZoneAccount,
}

/// A DNS record as the API returns it (`name` is always the FQDN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    pub id: String,
    #[serde(default)]
    pub zone_id: Option<String>,
    #[serde(default)]
    pub zone_name: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: String,
    pub content: String,
    #[serde(default)]
    pub proxied: bool,
    #[serde(default = "auto_ttl")]
    pub ttl: u32,
    #[serde(default)]
    pub priority: Option<u16>,
    #[serde(default)]
    pub comment: Option<String>,
}

fn auto_ttl() -> u32 {
    1
}

/// The body of a create (`POST .../dns_records`) or full update (`PUT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRecord {
    #[serde(rename = "type")]
    pub record_type: String,
    pub name: String,
    pub content: String,
    /// 1 = automatic.
    pub ttl: u32,
    /// Only for A/AAAA/CNAME; left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxied: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The body of a partial update (`PATCH`): only the fields sent change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RecordPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxied: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
}

/// `{"id": "..."}` (activation check, deletes).
#[derive(Debug, Deserialize)]
pub(crate) struct IdOnly {
    #[allow(dead_code)]
    pub id: String,
}
