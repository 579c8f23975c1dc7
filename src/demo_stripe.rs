//! `painel demo`'s Stripe: the simulator on a loopback port as the platform's Stripe account,
//! and card money made through the real paths — our client creates Checkout Sessions in the
//! `billing.checkout` job, the buyer pays, the signed event's job settles the invoice; one
//! payment is then refunded in full (a refund job, Stripe's `charge.refunded`) and another
//! is disputed with its evidence due in two days.

use std::time::Duration;

use anyhow::{Context, Result};
use backend::billing::stripe::{checkout, refunds, register_handlers, set_account, AccountInput, StripeEnv};
use backend::billing::webhooks::{record_batch, Incoming, Provider};
use backend::jobs::{Handlers, Worker, WorkerConfig};
use backend::secrets::Keys;
use backend::{args, Actor, Db};
use sandbox::stripe::{StripeInit, StripeSim};
use serde_json::Value;
use uuid::Uuid;

const DEMO_KEY: &str = "sk_test_painel_demo_4242";
const DEMO_WEBHOOK_SECRET: &str = "whsec_painel_demo";

/// Runs the billing queue until the Stripe and webhook jobs are done (at most 30 s).
async fn run_billing(db: &Db, keys: &Keys) -> Result<()> {
    let mut h = Handlers::builtin();
    register_handlers(
        &mut h,
        StripeEnv {
            keys: Some(keys.clone()),
        },
    );
    let mut c = WorkerConfig::new("demo-stripe", vec!["billing".into()]);
    c.poll = Duration::from_millis(20);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let w = tokio::spawn(Worker::new(db.clone(), c, h).run(stopped));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let busy: i64 = db
            .scalar(
                // Only the kinds run here: the seed's own billing jobs are due later.
                "SELECT COUNT(*) FROM jobs WHERE kind IN ('billing.checkout', 'billing.refund', 'billing.webhook') \
                 AND status IN ('queued', 'running')",
                args![],
            )
            .await?;
        if busy == 0 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = stop.send(true);
    w.await.context("demo billing worker")??;
    Ok(())
}

async fn deliver(db: &Db, keys: &Keys, events: &[Value]) -> Result<()> {
    let incoming: Vec<Incoming> = events
        .iter()
        .filter_map(|e| {
            Some(Incoming {
                provider: Provider::Stripe,
                event_id: e["id"].as_str()?.to_owned(),
                event_type: e["type"].as_str()?.to_owned(),
                payload: e.clone(),
            })
        })
        .collect();
    record_batch(db, &incoming).await?;
    run_billing(db, keys).await
}

/// Starts the simulator, makes it the platform's Stripe account, and leaves a refunded
/// payment and an open dispute behind. The simulator stops when the returned value drops.
pub async fn start(db: &Db, keys: &Keys) -> Result<StripeSim> {
    let sim = StripeSim::start(StripeInit {
        api_key: DEMO_KEY.into(),
        webhook_secret: DEMO_WEBHOOK_SECRET.into(),
    })
    .await
    .context("cannot start the demo's Stripe simulator")?;
    let seed = Actor::system("demo-seed");
    set_account(
        db,
        &seed,
        keys,
        AccountInput {
            tenant: None,
            api_base: Some(sim.api_base().to_owned()),
            secret_key: DEMO_KEY.into(),
            success_url: "https://painel.example/pago?session_id={CHECKOUT_SESSION_ID}".into(),
            cancel_url: None,
        },
    )
    .await?;
    // Not the invoice the PIX demo charged (it is paid by the Mercado Pago simulator later).
    let invoices: Vec<(Uuid,)> = db
        .fetch_all(
            "SELECT i.id FROM invoices i WHERE i.status IN ('pending', 'overdue') AND i.customer_id IS NOT NULL \
             AND i.total_minor > 0 AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id) \
             AND NOT EXISTS (SELECT 1 FROM pix_charges c WHERE c.invoice_id = i.id) \
             ORDER BY i.created_at DESC, i.id LIMIT 2",
            args![],
        )
        .await?;
    let mut paid = Vec::new();
    for (id,) in invoices {
        checkout::request(db, &seed, &id.to_string(), checkout::Mode::Payment).await?;
        run_billing(db, keys).await?;
        let Some(cs) = checkout::pay_link(db, &seed, &id.to_string())
            .await?
            .and_then(|l| l.external_id)
        else {
            continue;
        };
        let completed = sim.complete_session(&cs)?;
        deliver(db, keys, &[completed]).await?;
        let pi = sim
            .session(&cs)
            .and_then(|s| s["payment_intent"].as_str().map(str::to_owned));
        let payment: Option<(Uuid,)> = db
            .fetch_optional(
                "SELECT id FROM payments WHERE invoice_id = $1 AND provider = 'stripe'",
                args![id],
            )
            .await?;
        if let (Some(pi), Some((p,))) = (pi, payment) {
            paid.push((p, pi));
        }
    }
    if let Some((payment, _)) = paid.first() {
        let req = refunds::RefundRequest {
            payment: &payment.to_string(),
            amount_minor: None,
            reason: "cliente cancelou no prazo de 7 dias",
            code: None,
        };
        refunds::request(db, &seed, None, req).await?;
        run_billing(db, keys).await?;
    }
    if let Some((_, pi)) = paid.get(1) {
        sim.open_dispute(pi, "fraudulent", 2 * 86_400 + 3 * 3_600)?;
    }
    // Stripe's own events about both: the refund's (already applied: harmless) and the dispute.
    deliver(db, keys, &sim.take_events()).await?;
    Ok(sim)
}
