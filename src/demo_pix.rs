//! PIX in `painel demo` (docs/adr/0029): a Mercado Pago simulator, `painel serve`'s webhook
//! routes in-process, and the data dir's `mercadopago.json` pointing the worker at them. One
//! pending invoice gets a PIX charge (created by the `billing.pix_charge` job like any other);
//! a little later the simulated payer pays it, the simulator sends its signed notification,
//! and the worker fetches the payment and settles the invoice — live, while the demo runs.

use std::time::Duration;

use anyhow::Result;
use backend::billing::pix::{charges, settings};
use backend::billing::webhooks::stripe::SigningSecrets;
use backend::billing::webhooks::IntakeConfig;
use backend::{args, Actor, Db};
use sandbox::mercadopago::{MercadoPagoInit, MercadoPagoSim};
use uuid::Uuid;

use crate::config::Config;
use crate::pix_config::{self, MercadoPagoFile, PixSecrets};
use crate::serve::{self, ServeOptions};

/// How long after the charge is ready the simulated payer pays.
const PAY_AFTER: Duration = Duration::from_secs(20);

pub struct DemoPix {
    _sim: std::sync::Arc<MercadoPagoSim>,
    _serve: serve::Running,
    payer: tokio::task::JoinHandle<()>,
}

impl Drop for DemoPix {
    fn drop(&mut self) {
        self.payer.abort();
    }
}

/// Starts the simulator and the webhook routes, writes `mercadopago.json`, asks for a charge
/// on the first pending BRL invoice. Call before the in-process worker starts (it reads the
/// file).
pub async fn start(cfg: &Config, db: &Db) -> Result<Option<DemoPix>> {
    // Never replace a real account's file: only one the demo wrote (loopback API) or none.
    if let Ok(Some(f)) = pix_config::mercadopago(&cfg.data_dir) {
        if !f.api_base.starts_with("http://127.0.0.1") {
            eprintln!(
                "PIX demo skipped: {} names a real Mercado Pago account",
                pix_config::MERCADOPAGO_FILE
            );
            return Ok(None);
        }
    }
    let token = format!("TEST-demo-{}", Uuid::new_v4().simple());
    let secret = format!("demo-mp-secret-{}", Uuid::new_v4().simple());
    let sim = std::sync::Arc::new(
        MercadoPagoSim::start(MercadoPagoInit {
            access_token: token.clone(),
            webhook_secret: secret.clone(),
        })
        .await?,
    );
    let running = serve::start(
        db.clone(),
        ServeOptions {
            listen: "127.0.0.1:0".parse()?,
            stripe: None,
            pix: PixSecrets {
                mercadopago: SigningSecrets::new([secret.clone()]),
                pagseguro: None,
            },
            intake: IntakeConfig::default(),
        },
    )
    .await?;
    let hook = format!("http://{}/webhooks/mercadopago", running.addr);
    pix_config::write(
        &cfg.data_dir,
        pix_config::MERCADOPAGO_FILE,
        &MercadoPagoFile {
            access_token: token,
            webhook_secret: secret,
            api_base: sim.api_base().to_owned(),
            notification_url: Some(hook.clone()),
        },
    )?;
    let actor = Actor::system("demo-seed");
    let pick: Option<(Uuid, Uuid)> = db
        .fetch_optional(
            "SELECT id, tenant_id FROM invoices WHERE status = 'pending' AND currency = 'BRL' AND total_minor > 0 \
             ORDER BY number, id LIMIT 1",
            args![],
        )
        .await?;
    let Some((invoice, tenant)) = pick else {
        return Ok(None);
    };
    settings::set(
        db,
        &actor,
        settings::PixSettingsInput {
            tenant_id: tenant,
            provider: "mercadopago".into(),
            key: None,
            merchant_name: "Painel Demo".into(),
            merchant_city: "Sao Paulo".into(),
        },
    )
    .await?;
    charges::request(db, &actor, &invoice.to_string()).await?;
    eprintln!("PIX: Mercado Pago simulator at {}, webhooks at {hook}", sim.api_base());
    let (db, payer_sim) = (db.clone(), sim.clone());
    let payer = tokio::spawn(async move {
        // Wait for the job to create the charge, then pay it a little later.
        for _ in 0..240 {
            let c = charges::current(&db, &actor, &invoice.to_string()).await.ok().flatten();
            if let Some(id) = c.filter(|c| c.status == "active").and_then(|c| c.external_id) {
                tokio::time::sleep(PAY_AFTER).await;
                if let Err(e) = payer_sim.pay(&id).await {
                    tracing::warn!(error = %e, "demo PIX payment not delivered");
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    Ok(Some(DemoPix {
        _sim: sim,
        _serve: running,
        payer,
    }))
}
