//! DNS at Cloudflare with nameserver verification (docs/adr/0031): `provider` (the account,
//! its sealed token, resolvers), `records` (validation per type), `zones` (the service
//! layer), `verify` (NS resolution cycles), `jobs` (the only code calling Cloudflare),
//! `failures` (the feed the dns-ssl/failures screen shows).

pub mod failures;
pub mod jobs;
pub mod provider;
pub mod records;
pub mod verify;
pub mod zones;

use crate::jobs::Handlers;
use crate::secrets::Keys;

/// The job kinds [`register_handlers`] adds.
pub const KINDS: [&str; 4] = [jobs::ZONE_SYNC, jobs::ZONE_ACTIVATE, jobs::VERIFY, jobs::SERVICE_SETUP];

/// Registers the DNS job kinds; `keys` open the Cloudflare token.
pub fn register_handlers(h: &mut Handlers, keys: Option<Keys>) {
    let k = keys.clone();
    h.register(jobs::ZONE_SYNC, move |job, db| jobs::zone_sync(job, db, k.clone()));
    let k = keys.clone();
    h.register(jobs::ZONE_ACTIVATE, move |job, db| {
        jobs::zone_activate(job, db, k.clone())
    });
    h.register(jobs::VERIFY, jobs::verify_cycle);
    h.register(jobs::SERVICE_SETUP, move |job, db| {
        jobs::service_setup(job, db, keys.clone())
    });
}
