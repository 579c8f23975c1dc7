//! Settings: the settings view (browse), API keys and the account's security (2FA).

pub mod api_keys;
pub mod security;
pub mod user;

use crate::screens::common::columns::{keep, shrink, ViewColumns};

pub const COLUMNS: &[ViewColumns] = &[ViewColumns {
    view: "settings",
    columns: &[shrink("Key", 10, 12), keep("Tenant", 6), keep("Updated", 5)],
}];
