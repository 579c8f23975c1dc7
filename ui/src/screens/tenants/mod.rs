//! Tenants: the list, the create form, one tenant's detail tabs.

pub mod create;
pub mod detail;
pub mod list;
pub mod overview;
