//! Money the platform takes and moves: the reseller credits ledger, invoices, and payment
//! providers' webhooks (docs/adr/0023) — a verified webhook is the only thing that marks an
//! invoice paid; it does so in a job, in one audited transaction.

pub mod credits;
pub mod invoices;
pub mod settle;
pub mod webhooks;
