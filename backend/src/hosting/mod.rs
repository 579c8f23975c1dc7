//! Hosting on WHM/cPanel: servers, plans ↔ packages, services and their lifecycle.

pub mod connect;
