//! DNS & SSL: the zones list, one zone's records (editing), the live failures feed
//! (docs/adr/0031); certificates stay a browse view here (status and expiry stay on narrow
//! terminals, names and errors shrink).

pub mod failures;
pub mod zone;
pub mod zones;

pub mod certificates;

use crate::screens::common::columns::{keep, shrink, ViewColumns};

pub const COLUMNS: &[ViewColumns] = &[
    ViewColumns {
        view: "dns_zones",
        columns: &[
            shrink("Zone", 9, 12),
            keep("Provider", 4),
            keep("Status", 10),
            keep("Tenant", 5),
            keep("Checked", 3),
            shrink("Last error", 6, 10),
        ],
    },
    ViewColumns {
        view: "certificates",
        columns: &[
            shrink("Common name", 9, 12),
            keep("Issuer", 3),
            keep("Status", 10),
            keep("Expires", 8),
            keep("Tenant", 4),
            shrink("Last error", 5, 10),
        ],
    },
    ViewColumns {
        view: "dns_failures",
        columns: &[
            shrink("Zone", 8, 10),
            keep("Type", 6),
            shrink("Name", 7, 10),
            shrink("Content", 3, 10),
            shrink("Error", 9, 12),
            keep("Tenant", 4),
        ],
    },
];
