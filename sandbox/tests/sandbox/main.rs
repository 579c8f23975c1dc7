//! The sandbox over real HTTP(S) with reqwest: every WHM function, auth, API 0, every fault
//! kind, determinism and the control API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod control;
mod faults;
mod whm;
