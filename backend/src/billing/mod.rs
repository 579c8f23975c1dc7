//! Money the platform takes and moves: the reseller credits ledger and invoices.

pub mod credits;
pub mod invoices;
