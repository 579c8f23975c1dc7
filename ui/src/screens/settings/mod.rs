//! Settings: the settings view (browse) and API keys.

pub mod api_keys;

use crate::screens::common::columns::{keep, shrink, ViewColumns};

pub const COLUMNS: &[ViewColumns] = &[ViewColumns {
    view: "settings",
    columns: &[shrink("Key", 10, 12), keep("Tenant", 6), keep("Updated", 5)],
}];
