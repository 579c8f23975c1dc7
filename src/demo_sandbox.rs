//! `painel demo`'s provider sandbox: the demo's hosting servers simulated in-process, holding
//! the packages of the plans and the accounts of the live services, and the servers' rows
//! pointed at them (docs/adr/0018). Nothing in the demo reaches a real network.

use anyhow::{Context, Result};
use backend::secrets::Keys;
use backend::seed::{SandboxTarget, SimWorld};
use backend::Db;
use sandbox::{AccountInit, FaultKind, FaultSpec, Package, Sandbox, WhmInit, WhmLimits, ANY_OPERATION};

/// The same seed every run: the same tokens, disk figures and fault draws.
pub const DEMO_SEED: u64 = 2024;

/// What the demo's servers look like to the sandbox (pure, for tests).
pub fn inits(world: &SimWorld) -> Vec<(String, WhmInit, &'static str)> {
    let packages: Vec<Package> = world
        .packages
        .iter()
        .map(|p| {
            let mut k = Package::new(&p.name, p.quota_mb, p.bwlimit_mb);
            if let Some(n) = p.max_pop {
                k = k.with("MAXPOP", &n.to_string());
            }
            if let Some(n) = p.max_sql {
                k = k.with("MAXSQL", &n.to_string());
            }
            k
        })
        .collect();
    world
        .servers
        .iter()
        .map(|s| {
            let mut init = WhmInit::new("root", &sandbox::token_for(DEMO_SEED, &s.name));
            init.limits = WhmLimits {
                max_accounts: s.max_accounts.and_then(|n| u32::try_from(n).ok()).unwrap_or(500),
                disk_total_mb: u64::try_from(s.disk_total_gb).unwrap_or(0) * 1024,
            };
            init.system_disk_mb = u64::try_from(s.disk_used_gb).ok().map(|g| g * 1024);
            init.packages = packages.clone();
            init.accounts = s
                .accounts
                .iter()
                .map(|a| AccountInit {
                    user: a.user.clone(),
                    domain: a.domain.clone(),
                    plan: a.package.clone(),
                    email: Some(a.email.clone()),
                    suspended: a.suspended.clone(),
                })
                .collect();
            (s.name.clone(), init, status_label(&s.status))
        })
        .collect()
}

fn status_label(s: &str) -> &'static str {
    match s {
        "offline" => "offline",
        "maintenance" => "maintenance",
        "degraded" => "degraded",
        _ => "online",
    }
}

/// Starts the simulators for the seeded database and points its servers at them.
pub async fn start(db: &Db, keys: &Keys) -> Result<Sandbox> {
    let world = backend::seed::sandbox_world(db).await?;
    let mut b = Sandbox::builder()
        .seed(DEMO_SEED)
        .smtp(true)
        .cloudflare(sandbox::cloudflare::CloudflareInit::new(
            crate::demo_dns::ACCOUNT,
            &sandbox::token_for(DEMO_SEED, "cloudflare"),
        ))
        .dns(true);
    let inits = inits(&world);
    for (name, init, _) in &inits {
        b = b.whm(name, init.clone());
    }
    let sb = crate::demo_migrations::with_legacy(b)
        .start()
        .await
        .context("cannot start the demo's provider sandbox")?;
    // A server the demo shows offline does not answer; one in maintenance answers 503; a
    // degraded one is slow.
    for (name, _, status) in &inits {
        let fault = match *status {
            "offline" => Some(FaultKind::Drop),
            "maintenance" => Some(FaultKind::Http5xx { status: 503 }),
            "degraded" => Some(FaultKind::Latency { ms: 1200 }),
            _ => None,
        };
        if let Some(kind) = fault {
            sb.set_fault(name, ANY_OPERATION, FaultSpec::always(kind))?;
        }
    }
    let pin = sb.cert_sha256_hex();
    let targets: Vec<SandboxTarget> = world
        .servers
        .iter()
        .filter_map(|s| {
            Some(SandboxTarget {
                server_id: s.id,
                url: sb.whm_url(&s.name)?,
                api_user: "root".to_owned(),
                token: sandbox::token_for(DEMO_SEED, &s.name),
                pin_sha256: Some(pin.clone()),
            })
        })
        .collect();
    backend::seed::point_servers_at(db, keys, &targets).await?;
    // Reminders and notices go to the sandbox's SMTP sink (docs/adr/0027).
    if let Some(sink) = sb.smtp() {
        let smtp = backend::billing::dunning::mail::SmtpSettings {
            host: sink.host(),
            port: sink.port(),
            security: "none".into(),
            from: "cobranca@painel.demo".into(),
        };
        backend::billing::dunning::mail::set_smtp(db, &backend::Actor::system("demo-sandbox"), &smtp).await?;
    }
    crate::demo_dns::setup(db, keys, &sb).await?;
    crate::demo_ssl::start(db, &sb).await?;
    Ok(sb)
}
