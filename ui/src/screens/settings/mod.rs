//! Settings: the settings view (browse) and API keys.

pub mod api_keys;
