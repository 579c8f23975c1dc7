//! Servers: the browse view, with the columns an operator opens it for (status, region)
//! kept on narrow terminals while names and hosts shrink.

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
