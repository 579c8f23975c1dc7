//! Money: payment providers' webhooks (docs/adr/0023). A verified webhook is the only thing
//! that marks an invoice paid; it does so in a job, in one audited transaction.

pub mod webhooks;
