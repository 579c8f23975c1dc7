//! PIX through the real `painel serve` (docs/adr/0029): Mercado Pago and PagSeguro
//! notifications from the sandbox's simulators are verified, recorded once, and settle an
//! invoice only when the payment fetched from the API is approved/paid for the invoice's
//! amount; a static BR Code needs no provider.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use backend::billing::pix::{brcode, charges, settings, PixEnv};
use backend::billing::webhooks::ProviderApis;
use backend::jobs::{Handlers, Worker, WorkerConfig};
use backend::providers::mercadopago::{MercadoPagoClient, MercadoPagoConfig, NewPixPayment};
use backend::providers::pagseguro::{PagSeguroClient, PagSeguroConfig};
use backend::{args, Db};
use sandbox::mercadopago::{self as mp, MercadoPagoInit, MercadoPagoSim};
use sandbox::pagseguro::{self as ps, PagSeguroInit, PagSeguroSim};
use serde_json::json;
use uuid::Uuid;

use crate::common::{fresh, operator, TestDb};
use crate::serve::pending_invoice;

const MP_TOKEN: &str = "TEST-suite-mp-token";
const MP_SECRET: &str = "mp-webhook-secret-suite";
const PS_TOKEN: &str = "ps-suite-token-0001";

struct Serve {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start(t: &TestDb, mp_base: &str, ps_base: &str) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        for (name, body) in [
            (
                "mercadopago.json",
                json!({ "access_token": MP_TOKEN, "webhook_secret": MP_SECRET, "api_base": mp_base }),
            ),
            ("pagseguro.json", json!({ "token": PS_TOKEN, "api_base": ps_base })),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, body.to_string()).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
            .args(["--database-url", &t.url, "serve", "--listen", "127.0.0.1:0"])
            .env("PAINEL_DATA_DIR", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env_remove("PAINEL_DATABASE_URL")
            .env_remove("PAINEL_STRIPE_WEBHOOK_SECRET")
            .env_remove("PAINEL_REDIS_URL")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("serve printed nothing");
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        assert!(!first.contains(MP_SECRET) && !first.contains(PS_TOKEN));
        Serve { child, addr, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env(mp_base: &str, ps_base: &str, serve: &Serve) -> PixEnv {
    PixEnv {
        apis: ProviderApis {
            mercadopago: Some(mp_client(mp_base)),
            pagseguro: Some(
                PagSeguroClient::new(PagSeguroConfig {
                    api_base: ps_base.into(),
                    token: PS_TOKEN.into(),
                    timeout: Duration::from_secs(10),
                })
                .unwrap(),
            ),
        },
        mercadopago_notification_url: Some(serve.url("/webhooks/mercadopago")),
        pagseguro_notification_url: Some(serve.url("/webhooks/pagseguro")),
    }
}

fn mp_client(base: &str) -> MercadoPagoClient {
    MercadoPagoClient::new(MercadoPagoConfig {
        api_base: base.into(),
        access_token: MP_TOKEN.into(),
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

/// Runs a worker with the PIX handlers until `done` says so.
async fn run_until<F, Fut>(db: &Db, env: &PixEnv, what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut cfg = WorkerConfig::new("suite-pix", vec!["billing".into()]);
    cfg.poll = Duration::from_millis(20);
    cfg.concurrency = 1;
    cfg.prefetch = 1;
    let mut h = Handlers::builtin();
    backend::billing::pix::register_handlers(&mut h, env.clone());
    let worker = tokio::spawn(Worker::new(db.clone(), cfg, h).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();
}

async fn count(db: &Db, sql: &str, a: Vec<backend::db::Arg>) -> i64 {
    db.scalar(sql, a).await.unwrap()
}

async fn status(db: &Db, invoice: Uuid) -> String {
    db.scalar("SELECT status FROM invoices WHERE id = $1", args![invoice])
        .await
        .unwrap()
}

async fn processed(db: &Db, env: &PixEnv) {
    run_until(db, env, "every webhook event processed", || async {
        count(
            db,
            "SELECT COUNT(*) FROM webhook_events WHERE status = 'received'",
            args![],
        )
        .await
            == 0
    })
    .await;
}

async fn use_provider(db: &Db, tenant: Uuid, provider: &str, key: Option<&str>) {
    settings::set(
        db,
        &operator(),
        settings::PixSettingsInput {
            tenant_id: tenant,
            provider: provider.into(),
            key: key.map(str::to_owned),
            merchant_name: "Loja São João".into(),
            merchant_city: "São Paulo".into(),
        },
    )
    .await
    .unwrap();
}

async fn tenant_of(db: &Db, invoice: Uuid) -> Uuid {
    db.scalar("SELECT tenant_id FROM invoices WHERE id = $1", args![invoice])
        .await
        .unwrap()
}

#[tokio::test]
async fn mercadopago_pix_paid_only_by_a_verified_notification_of_an_approved_payment() {
    let t = fresh().await;
    let inv = pending_invoice(&t.db, "pix-mp", "2026-0101").await;
    let inv2 = pending_invoice(&t.db, "pix-mp", "2026-0102").await;
    use_provider(&t.db, tenant_of(&t.db, inv).await, "mercadopago", None).await;
    let sim = MercadoPagoSim::start(MercadoPagoInit {
        access_token: MP_TOKEN.into(),
        webhook_secret: MP_SECRET.into(),
    })
    .await
    .unwrap();
    let pss = PagSeguroSim::start(PagSeguroInit { token: PS_TOKEN.into() })
        .await
        .unwrap();
    let serve = Serve::start(&t, sim.api_base(), pss.api_base());
    let hook = serve.url("/webhooks/mercadopago");
    let env = env(sim.api_base(), pss.api_base(), &serve);

    // The keypress records a request and enqueues the job; the job calls the API.
    let c = charges::request(&t.db, &operator(), &inv.to_string()).await.unwrap();
    assert_eq!(
        (c.provider.as_str(), c.status.as_str(), c.code.as_deref()),
        ("mercadopago", "requested", None)
    );
    assert_eq!(sim.payments().len(), 0, "no provider call in the request path");
    let again = charges::request(&t.db, &operator(), &inv.to_string()).await.unwrap();
    assert_eq!(again.id, c.id, "asking twice while requested is the same charge");
    run_until(&t.db, &env, "the charge is active", || async {
        charges::current(&t.db, &operator(), &inv.to_string())
            .await
            .unwrap()
            .is_some_and(|c| c.status == "active")
    })
    .await;
    let c = charges::current(&t.db, &operator(), &inv.to_string())
        .await
        .unwrap()
        .unwrap();
    let pid = c.external_id.clone().unwrap();
    let code = brcode::parse(c.code.as_deref().unwrap()).unwrap();
    assert_eq!(code.amount_minor, Some(4990));
    assert!(c.expires_at.is_some());
    let p = sim.payment(&pid).unwrap();
    assert_eq!(p["transaction_amount"].to_string(), "49.9");
    assert_eq!(p["external_reference"], inv.to_string());

    // Refused with 400, nothing written.
    for (how, reason) in [
        (mp::Delivery::BadSignature, "v1 does not match"),
        (mp::Delivery::Unsigned, "no x-signature header"),
        (mp::Delivery::Stale { secs: 16 * 60 }, "timestamp outside the tolerance"),
    ] {
        let sent = sim.notify(&hook, &pid, how.clone()).await.unwrap();
        assert_eq!(sent.answer.status, 400, "{how:?}");
        assert!(sent.answer.body.contains(reason), "{how:?}: {}", sent.answer.body);
    }
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM webhook_events", args![]).await, 0);

    // A verified notification while the API says `pending` pays nothing.
    let early = sim.notify(&hook, &pid, mp::Delivery::Signed).await.unwrap();
    assert_eq!(early.answer.status, 200, "{}", early.answer.body);
    processed(&t.db, &env).await;
    assert_eq!(status(&t.db, inv).await, "pending");
    let why: String =
        t.db.scalar(
            "SELECT error FROM webhook_events WHERE provider = 'mercadopago'",
            args![],
        )
        .await
        .unwrap();
    assert!(why.contains("pending"), "{why}");

    // The payer pays: the simulator notifies painel's URL; the job fetches, sees approved, settles.
    let paid = sim.pay(&pid).await.unwrap().unwrap();
    assert_eq!(paid.answer.status, 200, "{}", paid.answer.body);
    let dup = sim.replay(&paid).await.unwrap();
    assert_eq!(dup.answer.status, 200);
    assert!(dup.answer.body.contains("\"duplicate\":true"), "{}", dup.answer.body);
    processed(&t.db, &env).await;
    assert_eq!(status(&t.db, inv).await, "paid");
    // A second notification about the same payment records nothing more.
    sim.notify(&hook, &pid, mp::Delivery::Signed).await.unwrap();
    processed(&t.db, &env).await;
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM payments WHERE provider = 'mercadopago' AND invoice_id = $1",
            args![inv]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM pix_charges WHERE invoice_id = $1 AND status = 'paid'",
            args![inv]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'invoice.paid' AND entity_id = $1",
            args![inv.to_string()]
        )
        .await,
        1
    );

    // Approved, but for another amount than the invoice's: not paid.
    let other = mp_client(sim.api_base())
        .create_pix_payment(
            &NewPixPayment {
                amount_minor: 100,
                description: "short".into(),
                external_reference: inv2.to_string(),
                notification_url: None,
                date_of_expiration: "2026-12-31T10:00:00.000-03:00".into(),
                payer_email: "x@example.com".into(),
                metadata: json!({}),
            },
            "suite-mismatch",
        )
        .await
        .unwrap();
    sim.set_status(&other.id.to_string(), "approved", "accredited").unwrap();
    let sent = sim
        .notify(&hook, &other.id.to_string(), mp::Delivery::Signed)
        .await
        .unwrap();
    assert_eq!(sent.answer.status, 200);
    processed(&t.db, &env).await;
    assert_eq!(status(&t.db, inv2).await, "pending");
    let why: String =
        t.db.scalar(
            "SELECT error FROM webhook_events WHERE provider = 'mercadopago' AND status = 'failed'",
            args![],
        )
        .await
        .unwrap();
    assert!(why.contains("amount mismatch"), "{why}");
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM payments WHERE invoice_id = $1",
            args![inv2]
        )
        .await,
        0
    );
}

#[tokio::test]
async fn pagseguro_pix_paid_only_when_the_fetched_order_is_paid_in_full() {
    let t = fresh().await;
    let inv = pending_invoice(&t.db, "pix-ps", "2026-0201").await;
    let inv2 = pending_invoice(&t.db, "pix-ps", "2026-0202").await;
    use_provider(&t.db, tenant_of(&t.db, inv).await, "pagseguro", None).await;
    let mps = MercadoPagoSim::start(MercadoPagoInit {
        access_token: MP_TOKEN.into(),
        webhook_secret: MP_SECRET.into(),
    })
    .await
    .unwrap();
    let sim = PagSeguroSim::start(PagSeguroInit { token: PS_TOKEN.into() })
        .await
        .unwrap();
    let serve = Serve::start(&t, mps.api_base(), sim.api_base());
    let hook = serve.url("/webhooks/pagseguro");
    let env = env(mps.api_base(), sim.api_base(), &serve);

    for i in [inv, inv2] {
        charges::request(&t.db, &operator(), &i.to_string()).await.unwrap();
    }
    run_until(&t.db, &env, "both charges active", || async {
        count(
            &t.db,
            "SELECT COUNT(*) FROM pix_charges WHERE status = 'active'",
            args![],
        )
        .await
            == 2
    })
    .await;
    let order = charges::current(&t.db, &operator(), &inv.to_string())
        .await
        .unwrap()
        .unwrap()
        .external_id
        .unwrap();
    let order2 = charges::current(&t.db, &operator(), &inv2.to_string())
        .await
        .unwrap()
        .unwrap()
        .external_id
        .unwrap();

    // Wrong token, no token: 400, nothing written.
    for how in [ps::Delivery::BadSignature, ps::Delivery::Unsigned] {
        let sent = sim.notify(&hook, &order, how.clone()).await.unwrap();
        assert_eq!(sent.answer.status, 400, "{how:?}");
    }
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM webhook_events", args![]).await, 0);

    // A signed notification of an order with no charge yet: recorded, pays nothing.
    let early = sim.notify(&hook, &order, ps::Delivery::Signed).await.unwrap();
    assert_eq!(early.answer.status, 200, "{}", early.answer.body);
    processed(&t.db, &env).await;
    assert_eq!(status(&t.db, inv).await, "pending");

    let sent = sim.pay(&order).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].answer.status, 200, "{}", sent[0].answer.body);
    let dup = sim.replay(&sent[0]).await.unwrap();
    assert!(dup.answer.body.contains("\"duplicate\":true"), "{}", dup.answer.body);
    processed(&t.db, &env).await;
    assert_eq!(status(&t.db, inv).await, "paid");
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM payments WHERE provider = 'pagseguro' AND invoice_id = $1",
            args![inv]
        )
        .await,
        1
    );

    // A PAID charge for less than the invoice: not paid.
    sim.add_charge(&order2, "PAID", 100).unwrap();
    let sent = sim.notify(&hook, &order2, ps::Delivery::Signed).await.unwrap();
    assert_eq!(sent.answer.status, 200);
    processed(&t.db, &env).await;
    assert_eq!(status(&t.db, inv2).await, "pending");
}

#[tokio::test]
async fn a_static_br_code_on_the_tenants_own_key_needs_no_provider() {
    let t = fresh().await;
    let inv = pending_invoice(&t.db, "pix-static", "2026-0301").await;
    let tenant = tenant_of(&t.db, inv).await;
    let bad = settings::set(
        &t.db,
        &operator(),
        settings::PixSettingsInput {
            tenant_id: tenant,
            provider: "static".into(),
            key: Some("529.982.247-26".into()),
            merchant_name: "Loja".into(),
            merchant_city: "Recife".into(),
        },
    )
    .await;
    assert!(bad.is_err(), "a CPF with wrong check digits is no key");
    use_provider(&t.db, tenant, "static", Some("+55 11 98765-4321")).await;
    let c = charges::request(&t.db, &operator(), &inv.to_string()).await.unwrap();
    assert_eq!((c.provider.as_str(), c.status.as_str()), ("static", "active"));
    let code = brcode::parse(c.code.as_deref().unwrap()).unwrap();
    assert_eq!(code.key.as_deref(), Some("+5511987654321"));
    assert_eq!(code.amount_minor, Some(4990));
    assert_eq!(code.merchant_name, "LOJA SAO JOAO");
    assert_eq!(code.txid.as_deref(), Some("20260301"));
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM jobs", args![]).await, 0);
    assert_eq!(
        count(
            &t.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'pix.charge.request'",
            args![]
        )
        .await,
        1
    );
}
