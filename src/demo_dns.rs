//! The demo's DNS (docs/adr/0031): the Cloudflare simulator and the loopback DNS server as the
//! provider, two zones of the first tenant — `verifica-demo.com.br`, whose customer "sets our
//! nameservers at Registro.br" 20 s into the demo (the next verification cycle activates it
//! and pushes its records), and `parado-demo.com.br`, pending for days (stalled, in the
//! failure feed) — and a verification cycle every 10 s instead of every 5 minutes.

use std::time::Duration;

use anyhow::{Context, Result};
use backend::dns::jobs::{QUEUE, VERIFY};
use backend::dns::provider::{self, ProviderInput};
use backend::dns::records::RecordInput;
use backend::dns::zones::{self, NewZone};
use backend::jobs::{enqueue, NewJob};
use backend::secrets::Keys;
use backend::{args, Actor, Db};
use sandbox::Sandbox;
use serde_json::json;

use crate::demo_sandbox::DEMO_SEED;

pub const VERIFIES: &str = "verifica-demo.com.br";
pub const STALLS: &str = "parado-demo.com.br";
/// The simulator's account id in the demo.
pub const ACCOUNT: &str = "d3m0acc0unt0000000000000000000aa";

pub async fn setup(db: &Db, keys: &Keys, sb: &Sandbox) -> Result<()> {
    let (Some(api_url), Some(dns), Some(table)) = (sb.cloudflare_url(), sb.dns_addr(), sb.dns_table()) else {
        anyhow::bail!("the demo sandbox runs without Cloudflare or DNS");
    };
    let actor = Actor::system("demo-dns");
    provider::configure(
        db,
        Some(keys),
        &actor,
        ProviderInput {
            api_url,
            account_id: ACCOUNT.into(),
            token: Some(sandbox::token_for(DEMO_SEED, "cloudflare")),
            resolvers: vec![dns.to_string()],
            stall_after_secs: Some(3600),
        },
    )
    .await?;
    let (tenant,): (String,) = db
        .fetch_optional("SELECT slug FROM tenants ORDER BY created_at, id LIMIT 1", args![])
        .await?
        .context("the demo has no tenant")?;
    for name in [VERIFIES, STALLS] {
        zones::create(
            db,
            &actor,
            NewZone {
                name: name.into(),
                tenant: Some(tenant.clone()),
                registrar: Some("registro_br".into()),
            },
        )
        .await?;
        // Until the customer acts, the registrar still delegates to Registro.br's servers.
        table.set_ns(name, &["a.dns.br", "b.dns.br"]);
    }
    for (t, n, c, p) in [
        ("A", "@", "203.0.113.10", None),
        ("CNAME", "www", VERIFIES, None),
        ("MX", "@", "mail.verifica-demo.com.br", Some(10)),
        ("TXT", "@", "v=spf1 mx -all", None),
    ] {
        let input = RecordInput {
            record_type: t.into(),
            name: n.into(),
            content: c.into(),
            priority: p,
            ..RecordInput::default()
        };
        zones::add_record(db, &actor, VERIFIES, &input).await?;
    }
    db.execute(
        "UPDATE domains SET created_at = $1 WHERE name = $2",
        args![backend::db::now() - chrono::Duration::days(3), STALLS],
    )
    .await?;
    let ours = sandbox::cloudflare::nameservers_for(DEMO_SEED, VERIFIES);
    let db = db.clone();
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            every.tick().await;
            if started.elapsed() >= Duration::from_secs(20) {
                let refs: Vec<&str> = ours.iter().map(String::as_str).collect();
                table.set_ns(VERIFIES, &refs);
            }
            let r = async {
                let mut tx = db.begin().await?;
                enqueue(
                    &mut tx,
                    NewJob {
                        queue: QUEUE.into(),
                        kind: VERIFY.into(),
                        payload: json!({}),
                        max_attempts: Some(1),
                        unique_key: Some("dns.verify:demo".into()),
                        enqueued_by: "demo".into(),
                        ..NewJob::default()
                    },
                )
                .await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = r {
                tracing::debug!(error = %e, "demo: cannot enqueue the verification cycle");
            }
        }
    });
    Ok(())
}
