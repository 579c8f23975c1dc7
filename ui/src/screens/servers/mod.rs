//! Servers: the list, one server's screen (overview, metrics, WHM, capacity, logs) and the
//! capacity of the whole fleet (docs/adr/0020). The browse view's column declarations stay
//! for tables that still show the `servers` view.

pub mod capacity;
pub mod create;
pub mod detail;
pub mod list;

use crate::screens::common::columns::{keep, shrink, ViewColumns};

pub const COLUMNS: &[ViewColumns] = &[ViewColumns {
    view: "servers",
    columns: &[
        shrink("Name", 9, 10),
        keep("Kind", 3),
        shrink("Host", 6, 12),
        keep("IP", 2),
        keep("Region", 8),
        keep("Status", 10),
        keep("Accounts", 5),
        keep("Max", 1),
        keep("Disk GB", 4),
    ],
}];
