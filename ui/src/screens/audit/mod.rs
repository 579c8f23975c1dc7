//! Audit logs: the log and one row's detail (with the chain verification report).

pub mod detail;
pub mod log;
