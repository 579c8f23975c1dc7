//! Incidents (a browse view): severity and status stay on narrow terminals, titles shrink.

use crate::screens::common::columns::{keep, shrink, ViewColumns};

pub const COLUMNS: &[ViewColumns] = &[ViewColumns {
    view: "incidents",
    columns: &[
        shrink("Title", 9, 14),
        keep("Severity", 10),
        keep("Status", 10),
        keep("Server", 6),
        keep("Started", 7),
        keep("Resolved", 3),
    ],
}];
