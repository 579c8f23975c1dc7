//! The client over real HTTP on loopback: response bodies shaped like cPanel's published
//! ones (`backend/tests/fixtures/whm/`), faults (status codes, hangs, cut bodies), TLS
//! policies against a self-signed server, and — when the sandbox is there — the simulator.

mod faults;
mod fixtures;
mod sandbox;
mod sandbox_transfer;
mod server;
mod tls;
mod transfer;
