//! The integration suite: one test binary (each binary costs a link on CI).
//! Runs on SQLite by default, on PostgreSQL with PAINEL_TEST_BACKEND=postgres (see
//! scripts/test, which runs it both ways).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod addons;
mod apikeys;
mod audit;
mod audit_keys;
mod auth_cli;
mod authz_matrix;
mod cli;
mod common;
mod credits;
mod customer_changes;
mod customers;
mod demo;
mod demo_sandbox;
mod dns;
mod dns_python;
mod dns_setup;
mod dunning;
mod identity;
mod jobs;
mod jobs_load;
mod keymap;
mod lifecycle;
mod payments;
mod pix;
mod pricing;
mod rbac;
mod read_only;
mod rls;
mod sandbox_cli;
mod schedules;
mod scoping;
mod secrets;
mod serve;
mod servers;
mod servers_whm;
mod signals;
mod ssh;
mod ssh_e2e;
mod ssl;
mod storage;
mod stripe_money;
mod stripe_python;
mod tenant_filter;
mod tenants;
mod terminal;
mod tmux;
mod transfers;
mod trust;
mod verbs;
mod whm_connect;
mod worker;
