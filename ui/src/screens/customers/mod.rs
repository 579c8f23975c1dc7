//! Customers: the list over every tenant the actor sees, and one customer's whole story
//! (profile, services, lines, invoices, payments, tickets, jobs, audit trail).

pub mod change;
pub mod detail;
pub mod list;
