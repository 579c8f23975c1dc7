//! PIX: BR Codes (`brcode`), tenants' own keys (`key`), and the charges painel issues for an
//! invoice — a static BR Code on the tenant's key, or a Mercado Pago / PagSeguro charge
//! created in the `billing.pix_charge` job (docs/adr/0029).

pub mod brcode;
pub mod charges;
pub mod key;
pub mod settings;

use crate::jobs::Handlers;

pub use charges::{PixCharge, PixEnv};

/// Registers `billing.pix_charge` and, over the built-in, `billing.webhook` with the provider
/// APIs this worker reaches (the webhook job fetches Mercado Pago and PagSeguro payments).
pub fn register_handlers(h: &mut Handlers, env: PixEnv) {
    let e = env.clone();
    h.register(charges::JOB_KIND, move |job, db| {
        charges::run_charge(job, db, e.clone())
    });
    let apis = env.apis;
    h.register(crate::billing::webhooks::JOB_KIND, move |job, db| {
        crate::billing::webhooks::process::handle_with(job, db, apis.clone())
    });
}
