//! Hosting on WHM/cPanel: servers, plans ↔ packages, services and their lifecycle.
//! Orders and plan edits happen in the service layer (`services`, `plans`); only the jobs
//! registered by [`register_handlers`] talk to WHM (docs/adr/0021).

pub mod connect;
pub mod placement;
pub mod plans;
pub mod services;
