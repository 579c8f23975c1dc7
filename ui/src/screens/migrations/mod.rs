//! Migrations: the live queue (`queue`, progress bars per migration and stage) and one
//! migration with its log followed live (`detail`), and the form of a new one (`create`). The browse view's columns below serve
//! the generic table of the same rows (status, stage and progress stay on narrow terminals,
//! the source and target shrink).

pub mod create;
pub mod detail;
pub mod queue;

use crate::screens::common::columns::{keep, shrink, ViewColumns};

pub const COLUMNS: &[ViewColumns] = &[ViewColumns {
    view: "migrations",
    columns: &[
        shrink("Source", 7, 12),
        shrink("Target", 5, 8),
        keep("Tenant", 4),
        keep("Status", 10),
        keep("Stage", 9),
        keep("%", 9),
        shrink("Error", 3, 10),
        keep("Created", 1),
    ],
}];
