//! Services: the hosting services list and one service's live screen, plans and add-ons (browse views), the queue screen (`provisioning`), the job list,
//! and the job popups they share.

pub mod create;
pub mod job_confirm;
pub mod job_detail;
pub mod jobs;
pub mod list;
pub mod queues;
pub mod service;

use crate::screens::common::columns::{keep, shrink, ViewColumns};

/// Plans, add-ons and the services view: status and price stay on narrow terminals.
pub const COLUMNS: &[ViewColumns] = &[
    ViewColumns {
        view: "plans",
        columns: PLAN_COLUMNS,
    },
    ViewColumns {
        view: "addons",
        columns: PLAN_COLUMNS,
    },
    ViewColumns {
        view: "services",
        columns: &[
            shrink("Customer", 8, 10),
            keep("Plan", 6),
            shrink("Domain", 9, 12),
            keep("Tenant", 3),
            keep("Status", 10),
            keep("Price", 7),
            keep("Next due", 5),
        ],
    },
];

const PLAN_COLUMNS: &[crate::screens::common::columns::Col] = &[
    keep("Code", 8),
    shrink("Name", 9, 10),
    keep("Kind", 5),
    keep("Tenant", 3),
    keep("Status", 10),
    keep("Price", 9),
    keep("Cycle", 6),
];
