//! The demo's SSL: each simulated server serves its sites' certificates as the seed says
//! (days left as seeded, one turned expired, failed ones serving the server's own
//! certificate), the checker is pointed at the sandbox and trusts its AutoSSL CA (the demo's
//! worker configuration, [`probe`]), and a check round is queued at once — so the expired one
//! is renewed by AutoSSL while the demo runs.

use std::collections::BTreeMap;

use anyhow::Result;
use backend::{Actor, Db};
use sandbox::{Sandbox, SiteCert};
use serde_json::json;

pub async fn start(db: &Db, sb: &Sandbox) -> Result<()> {
    let actor = Actor::system("demo-sandbox");
    let expired = backend::ssl::demo::expire_one(db, &actor).await?;
    let now = backend::db::now();
    for site in backend::ssl::demo::demo_sites(db).await? {
        let cert = match (site.status.as_str(), site.not_after) {
            ("failed", _) => Some(SiteCert::Hostname),
            (_, Some(t)) => Some(SiteCert::issued(now.timestamp(), backend::ssl::days_between(now, t))),
            (_, None) => None,
        };
        sb.set_site_cert(&site.server, &site.domain, cert)?;
    }
    backend::ssl::set_recheck_seconds(db, &actor, 3).await?;
    // A renewal window of a week: the 5-day ones renew with the expired one, the rest keep
    // their range of days left (yellow under 21).
    backend::ssl::set_renew_days(db, &actor, None, 7).await?;
    let mut tx = db.begin().await?;
    backend::jobs::enqueue(
        &mut tx,
        backend::jobs::NewJob {
            queue: backend::ssl::jobs::QUEUE.into(),
            kind: backend::ssl::jobs::CHECK_ALL.into(),
            payload: json!({"reason": "demo start"}),
            enqueued_by: "demo-sandbox".into(),
            ..Default::default()
        },
    )
    .await?;
    tx.commit().await?;
    if let Some(d) = expired {
        tracing::info!(domain = %d, "demo: expired certificate, AutoSSL renews it on the first round");
    }
    Ok(())
}

/// What the demo's worker is configured with instead of `[ssl]`: every simulated server's
/// sites port and the sandbox's AutoSSL CA.
pub fn probe(sb: &Sandbox) -> Result<backend::ssl::ProbeConfig> {
    let mut connect = BTreeMap::new();
    for s in sb.servers() {
        if let Some(addr) = sb.sites_addr(&s.name) {
            connect.insert(format!("server:{}", s.name), addr.to_string());
        }
    }
    Ok(backend::ssl::ProbeConfig {
        connect,
        extra_roots: vec![sb.autossl_ca_der()?],
        ..Default::default()
    })
}
