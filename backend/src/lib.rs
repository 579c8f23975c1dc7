//! The painel service layer: every read and change the TUI, the batch mode and the HTTP API
//! make goes through the functions here, which check permissions, scope to the actor's
//! tenant, validate input and write the audit log in the same transaction. No terminal code.

pub mod actor;
pub mod apikeys;
pub mod audit;
pub mod authz;
pub mod billing;
pub mod browse;
pub mod bus;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod dns;
pub mod error;
pub mod find;
pub mod hosting;
pub mod identity;
pub mod ids;
pub mod jobs;
pub mod money;
pub mod page;
pub mod providers;
pub mod rbac;
pub mod reseller;
pub mod search;
pub mod secrets;
pub mod seed;
pub mod sensitive;
pub mod sshkeys;
pub mod ssl;
pub mod tenants;
pub mod transfers;
pub mod validate;
mod views;

pub use actor::{Actor, Role};
pub use db::{Backend, Db};
pub use error::{FieldError, ServiceError};
