//! Money the platform takes and moves: the reseller credits ledger, invoices, and payment
//! providers' webhooks (docs/adr/0023) — a verified webhook is the only thing that marks an
//! invoice paid; it does so in a job, in one audited transaction.

pub mod balance;
pub mod coupons;
pub mod credits;
pub mod dunning;
pub mod figures;
pub mod fulfil;
pub mod invoices;
pub mod payments;
pub mod pix;
pub mod plan_change;
pub mod prices;
pub mod settle;
pub mod stripe;
pub mod webhooks;
