//! Billing: invoices and payments (lists and the invoice screen, docs/adr/0025), disputes
//! (a browse view), credits; the tenant's billing tab. Status and amounts stay on narrow
//! terminals, customers and provider ids shrink.

pub mod coupons;
pub mod credits;
pub mod disputes;
pub mod invoice;
pub mod invoices;
pub mod payments;
pub mod pix;
pub mod prices;
pub mod record;
pub mod refund;
pub mod renewals;
pub mod tenant_tab;

use crate::screens::common::columns::{keep, shrink, ViewColumns};

pub const COLUMNS: &[ViewColumns] = &[
    ViewColumns {
        view: "invoices",
        columns: &[
            keep("Number", 9),
            shrink("Customer", 7, 10),
            keep("Tenant", 4),
            keep("Status", 10),
            keep("Total", 9),
            keep("Due", 6),
            keep("Paid", 2),
        ],
    },
    ViewColumns {
        view: "payments",
        columns: &[
            keep("Invoice", 8),
            keep("Provider", 5),
            shrink("External id", 2, 10),
            keep("Status", 10),
            keep("Amount", 9),
            keep("Paid", 6),
            keep("Tenant", 3),
        ],
    },
    ViewColumns {
        view: "disputes",
        columns: &[
            keep("Provider", 5),
            shrink("External id", 2, 10),
            keep("Status", 10),
            shrink("Reason", 6, 10),
            keep("Amount", 9),
            keep("Evidence due", 8),
            keep("Tenant", 3),
        ],
    },
];
