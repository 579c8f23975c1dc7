//! `painel demo`'s migrations: a legacy cPanel server simulated beside the demo's fleet, and a
//! few migrations from it started through the service layer, so the queue screen moves live
//! while the in-process worker runs them against the sandbox — one clean, one meeting a
//! temporary stage failure (a second session), one whose SSL stage fails critically (an
//! incident for on-call).

use anyhow::Result;
use backend::providers::whm::Secret;
use backend::secrets::Keys;
use backend::transfers::{self, Credentials, NewMigration};
use backend::{args, Actor, Db};
use sandbox::{AccountInit, FaultKind, FaultSpec, Package, Sandbox, SandboxBuilder, WhmInit};

/// The simulated source server (not one of painel's).
pub const LEGACY: &str = "legacy-cpanel";
/// How long one stage of a transferred account takes in the demo.
pub const PACE: std::time::Duration = std::time::Duration::from_secs(3);

const ACCOUNTS: [(&str, &str); 7] = [
    ("padaria01", "padariasaojose.com.br"),
    ("oficina02", "oficinadoze.com.br"),
    ("escola03", "escolaarcoiris.com.br"),
    ("clinica04", "clinicavidaplena.com.br"),
    ("pousada05", "pousadamaresia.com.br"),
    ("studio06", "studiopilatesbh.com.br"),
    ("advoc07", "advocaciaribeiro.adv.br"),
];

/// The legacy server added to the demo's sandbox, and the pace of its transfers.
pub fn with_legacy(b: SandboxBuilder) -> SandboxBuilder {
    let mut init = WhmInit::new("root", &sandbox::token_for(crate::demo_sandbox::DEMO_SEED, LEGACY))
        .package(Package::new("legacy_basic", Some(2048), None));
    for (user, domain) in ACCOUNTS {
        init = init.account(AccountInit {
            user: user.into(),
            domain: domain.into(),
            plan: "legacy_basic".into(),
            email: Some(format!("contato@{domain}")),
            suspended: None,
        });
    }
    b.whm(LEGACY, init).transfer_pace(PACE)
}

/// Starts the demo's migrations (the worker picks them up).
pub async fn start(db: &Db, keys: &Keys, sb: &Sandbox) -> Result<usize> {
    let actor = Actor::system("demo-seed");
    let Some(source) = sb.whm_url(LEGACY) else { return Ok(0) };
    let tenant: Option<(String,)> = db
        .fetch_optional(
            "SELECT slug FROM tenants WHERE status = 'active' ORDER BY created_at, id LIMIT 1",
            args![],
        )
        .await?;
    let Some((tenant,)) = tenant else { return Ok(0) };
    let targets: Vec<(String,)> = db
        .fetch_all(
            "SELECT name FROM servers WHERE status = 'online' AND kind = 'whm' AND whm_url IS NOT NULL \
             AND tenant_id IS NULL ORDER BY name LIMIT 3",
            args![],
        )
        .await?;
    if targets.is_empty() {
        return Ok(0);
    }
    let t = |i: usize| targets[i % targets.len()].0.clone();
    // A broken link once on the second target; a refused certificate on the third.
    sb.set_fault(&t(1), "transfer:files", FaultSpec::times(FaultKind::Drop, 1))?;
    sb.set_fault(
        &t(2),
        "transfer:ssl",
        FaultSpec::times(
            FaultKind::Envelope {
                reason: "The SSL certificate for “advocaciaribeiro.adv.br” could not be installed: key mismatch".into(),
            },
            1,
        ),
    )?;
    let plan: [(&[&str], usize, &str); 4] = [
        (&["padaria01", "oficina02", "escola03"], 0, "root"),
        (&["clinica04", "pousada05"], 1, "root"),
        (&["studio06"], 0, "user"),
        (&["advoc07"], 2, "root"),
    ];
    let mut n = 0;
    for (accounts, target, auth) in plan {
        let user = if auth == "user" { accounts[0] } else { "root" };
        let input = NewMigration {
            tenant: Some(tenant.clone()),
            customer: None,
            source_host: source.clone(),
            ssh_port: None,
            credentials: Credentials {
                kind: auth.into(),
                user: user.into(),
                password: Secret::new(sb.source_password(LEGACY, user)),
            },
            accounts: accounts.iter().map(|a| (*a).to_owned()).collect(),
            target: t(target),
        };
        transfers::create(db, &actor, Some(keys), input).await?;
        n += 1;
    }
    Ok(n)
}
