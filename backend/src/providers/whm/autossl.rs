//! AutoSSL on WHM (`start_autossl_check_for_one_user`): starts the account's check in the
//! background and returns at once; whether a certificate came out is read later, by checking
//! what the domain serves (docs/adr/0032).

use serde_json::Value;

use super::client::WhmClient;
use super::error::WhmError;

/// The WHM function that starts one account's AutoSSL check.
pub const START_FOR_ONE_USER: &str = "start_autossl_check_for_one_user";

impl WhmClient {
    /// Starts AutoSSL for cPanel user `username`; returns the background process id when the
    /// server gives one (a number or a string on the wire). Refusals (AutoSSL disabled, the
    /// feature missing, a check already running, no such user) are `WhmError::Api`.
    pub async fn start_autossl_check_for_one_user(&self, username: &str) -> Result<Option<u64>, WhmError> {
        let a = self
            .get::<Value>(START_FOR_ONE_USER, &[("username", username.to_owned())])
            .await?;
        let pid = a.data.get("pid").and_then(|p| match p {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        Ok(pid)
    }
}
