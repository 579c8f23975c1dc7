//! `painel bench ns-verify`: nameserver verification cycles over N pending domains against
//! the sandbox's loopback DNS server (docs/adr/0031), on the configured database. Cycles
//! 1..=K check every domain and find none delegated (the steady state: lookups plus the
//! check-time writes); the last cycle finds a tenth of them delegated to our nameservers
//! (verification writes, activation jobs and audit rows too). Reports the time per cycle.

use std::time::Instant;

use anyhow::{bail, Result};
use backend::dns::provider::{self, ProviderInput};
use backend::dns::verify;
use backend::{args, tenants, Actor, Db};
use sandbox::Sandbox;
use serde_json::json;
use uuid::Uuid;

use crate::bench::bench_url;
use crate::config::Config;

const OURS: [&str; 2] = ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"];

pub async fn run(cfg: &Config, domains: usize, cycles: usize) -> Result<()> {
    let (url, _dir) = bench_url(cfg)?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    // Verifications are audited: a deployment's database needs its keyed chain.
    let audit = crate::commands::keys::audit_keys(cfg, &db).await;
    let db = db.with_audit_keys(audit);
    let sb = Sandbox::builder().seed(3).dns(true).start().await?;
    let (Some(addr), Some(table)) = (sb.dns_addr(), sb.dns_table()) else {
        bail!("the sandbox did not start its DNS server");
    };
    let actor = Actor::system("bench");
    provider::configure(
        &db,
        None,
        &actor,
        ProviderInput {
            api_url: "http://127.0.0.1:9/client/v4".into(),
            account_id: "bench".into(),
            token: None,
            resolvers: vec![addr.to_string()],
            stall_after_secs: Some(86_400 * 365),
        },
    )
    .await?;
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let tenant = tenants::create(
        &db,
        &actor,
        tenants::NewTenant {
            name: format!("NS bench {run}"),
            domain: format!("ns{run}.example"),
            ..Default::default()
        },
    )
    .await?;
    let started = Instant::now();
    let names: Vec<String> = (0..domains).map(|i| format!("d{i}-{run}.com.br")).collect();
    for chunk in names.chunks(1000) {
        let mut tx = db.begin().await?;
        for name in chunk {
            let (d, z) = (Uuid::now_v7(), Uuid::now_v7());
            tx.execute(
                "INSERT INTO domains (id, tenant_id, name, registrar, status) VALUES ($1, $2, $3, 'registro_br', 'pending')",
                args![d, tenant.id, name.as_str()],
            )
            .await?;
            tx.execute(
                "INSERT INTO dns_zones (id, tenant_id, domain_id, name, status, name_servers) VALUES ($1, $2, $3, $4, 'pending', $5)",
                args![z, tenant.id, d, name.as_str(), json!(OURS)],
            )
            .await?;
            table.set_ns(name, &["a.dns.br", "b.dns.br"]);
        }
        tx.commit().await?;
    }
    println!(
        "ns-verify: {domains} pending domains, {} database, loopback DNS at {addr}, {} lookups in flight (setup {:.1}s)",
        db.backend().as_str(),
        verify::CONCURRENCY,
        started.elapsed().as_secs_f64()
    );
    println!("cycle  checked  verified  pending  lookup_errors  seconds  lookups/s");
    for c in 1..=cycles.max(1) + 1 {
        if c == cycles.max(1) + 1 {
            for name in names.iter().step_by(10) {
                table.set_ns(name, &OURS);
            }
        }
        let t = Instant::now();
        let r = verify::cycle(&db, &actor, None).await?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{c:>5}  {:>7}  {:>8}  {:>7}  {:>13}  {secs:>7.2}  {:>9.0}",
            r.checked,
            r.verified.len(),
            r.still_pending,
            r.lookup_errors,
            r.checked as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}
