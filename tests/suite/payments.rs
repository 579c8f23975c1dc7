//! Issue 12's screens' money (docs/adr/0025) on the engine under test: manual payment entry
//! (sensitive, audited, through `settle`), partial / foreign-currency / over payments, the
//! payments and invoices lists with their filters, the dashboard's money figures, and seed
//! 003's history in the double-entry ledger as opening balances.

use backend::billing::invoices::{self, InvoiceQuery, NewInvoice, NewItem, Status};
use backend::billing::payments::{self, ManualPayment, PaymentQuery};
use backend::billing::settle::Coverage;
use backend::identity::accounts::{self, NewUser};
use backend::sensitive::{self, Proof};
use backend::{args, Actor, Db, Role, ServiceError};
use chrono::TimeDelta;
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator};
use crate::identity::{enable_2fa, keys, session, try_login, user, PASSWORD};

async fn payer(db: &Db, tenant: Uuid, name: &str) -> Uuid {
    accounts::create_user(
        db,
        &operator(),
        NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            role: Some(Role::Reseller),
            tenant_id: Some(tenant),
            ..Default::default()
        },
        &Proof::confirm(name),
    )
    .await
    .unwrap()
    .id
}

async fn invoice(db: &Db, tenant: Uuid, who: Uuid, total: i64, due_in_days: i64) -> invoices::Invoice {
    invoices::create(
        db,
        &operator(),
        NewInvoice {
            tenant: Some(tenant),
            user: Some(who),
            issue: true,
            due_in_days: Some(due_in_days),
            items: vec![NewItem {
                description: Some("Hospedagem".into()),
                unit_price_minor: Some(total),
                ..NewItem::default()
            }],
            ..NewInvoice::default()
        },
    )
    .await
    .unwrap()
}

fn manual(invoice: &str, amount: i64, currency: Option<&str>) -> ManualPayment {
    ManualPayment {
        invoice: invoice.into(),
        amount_minor: amount,
        currency: currency.map(str::to_owned),
        method: Some("bank transfer".into()),
        reason: "TED received, statement 2026-12-06".into(),
    }
}

async fn actions(db: &Db, entity_id: Uuid) -> Vec<String> {
    let rows: Vec<(String,)> = db
        .fetch_all(
            "SELECT action FROM audit_log WHERE entity_id = $1 ORDER BY seq",
            args![entity_id.to_string()],
        )
        .await
        .unwrap();
    rows.into_iter().map(|(a,)| a).collect()
}

#[tokio::test]
async fn a_manual_payment_is_sensitive_audited_and_pays_only_what_covers_the_total() {
    let t = fresh().await;
    let tenant = backend::tenants::create(&t.db, &operator(), new_tenant("Paga Host", "paga.com.br"))
        .await
        .unwrap()
        .id;
    let who = payer(&t.db, tenant, "paga-r").await;
    let inv = invoice(&t.db, tenant, who, 10_000, 7).await;
    user(&t.db, "fabio", Role::SuperAdmin).await;
    let ten_ago = backend::db::now() - TimeDelta::minutes(10);
    let s = session(try_login(&t.db, "fabio", PASSWORD, None, ten_ago).await);
    let k = keys();

    // The gate: 2FA enrolled, a recent code, the invoice number typed again.
    let r = payments::record_manual(
        &t.db,
        &s.actor,
        &manual(&inv.number, 4_000, None),
        &Proof::confirm(&inv.number),
    )
    .await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_ENROLMENT),
        "{r:?}"
    );
    let (secret, _) = enable_2fa(&t.db, &s, ten_ago).await;
    let r = payments::record_manual(
        &t.db,
        &s.actor,
        &manual(&inv.number, 4_000, None),
        &Proof::confirm(&inv.number),
    )
    .await;
    assert!(
        matches!(&r, Err(ServiceError::PermissionDenied(m)) if m == sensitive::NEEDS_CODE),
        "{r:?}"
    );
    let code = backend::identity::totp::code_at(&secret, backend::db::now()).unwrap();
    let wrong = Proof::confirm("000999").with_code(Some(&code), &k);
    let r = payments::record_manual(&t.db, &s.actor, &manual(&inv.number, 4_000, None), &wrong).await;
    assert!(
        matches!(&r, Err(e) if e.fields().first().is_some_and(|f| f.field == "confirm")),
        "{r:?}"
    );
    // No reason, no entry.
    let mut no_reason = manual(&inv.number, 4_000, None);
    no_reason.reason = "  ".into();
    let r = payments::record_manual(&t.db, &operator(), &no_reason, &Proof::confirm(&inv.number)).await;
    assert!(
        matches!(&r, Err(e) if e.fields().first().is_some_and(|f| f.field == "reason")),
        "{r:?}"
    );
    // A role without payments:record is refused before anything else.
    let reseller = Actor::tenant_user("paga-r", Role::Reseller, tenant);
    let r = payments::record_manual(
        &t.db,
        &reseller,
        &manual(&inv.number, 4_000, None),
        &Proof::confirm(&inv.number),
    )
    .await;
    assert!(matches!(r, Err(ServiceError::PermissionDenied(_))), "{r:?}");
    assert!(payments::list(
        &t.db,
        &operator(),
        &PaymentQuery {
            limit: 50,
            ..Default::default()
        }
    )
    .await
    .unwrap()
    .items
    .is_empty());

    // Under the total: recorded, audited, the invoice stays open and shows partially paid.
    let proof = Proof::confirm(&inv.number).with_code(Some(&code), &k);
    let part = payments::record_manual(&t.db, &s.actor, &manual(&inv.number, 4_000, None), &proof)
        .await
        .unwrap();
    assert_eq!(
        part.coverage,
        Coverage::Short {
            paid_minor: 4_000,
            due_minor: 6_000,
            currency: "BRL".into()
        }
    );
    assert_eq!(part.invoice.status, "pending");
    let d = invoices::detail(&t.db, &operator(), &inv.number).await.unwrap();
    assert!(d.partially_paid());
    assert_eq!(d.payments.len(), 1);
    assert_eq!(d.payments[0].provider, "manual");
    assert_eq!(d.payments[0].method.as_deref(), Some("bank transfer"));
    assert!(
        d.trail.iter().any(|r| r.action == "invoice.partially_paid"),
        "{:?}",
        d.trail
    );
    assert!(d.trail.iter().any(|r| r.action == "payment.manual"), "{:?}", d.trail);
    let reason: (serde_json::Value,) =
        t.db.fetch_optional("SELECT after FROM audit_log WHERE action = 'payment.manual'", args![])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(reason.0["reason"], "TED received, statement 2026-12-06");

    // The rest and more: paid, and the audit row keeps the difference. The code just spent
    // covers the next five minutes; presenting it again would be a replay.
    let proof = Proof::confirm(&inv.number);
    let rest = payments::record_manual(&t.db, &s.actor, &manual(&inv.number, 6_500, None), &proof)
        .await
        .unwrap();
    assert_eq!(
        rest.coverage,
        Coverage::Full {
            paid_minor: 10_500,
            over_minor: 500,
            currency: "BRL".into()
        }
    );
    assert_eq!(rest.invoice.status, "paid");
    assert!(rest.invoice.paid_at.is_some());
    let paid: (serde_json::Value,) =
        t.db.fetch_optional("SELECT after FROM audit_log WHERE action = 'invoice.paid'", args![])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(paid.0["coverage"]["over_minor"], 500, "{}", paid.0);
    assert_eq!(
        actions(&t.db, inv.id).await,
        ["invoice.create", "invoice.partially_paid", "invoice.paid"]
    );
    // A paid invoice takes no more manual money.
    let r = payments::record_manual(&t.db, &s.actor, &manual(&inv.number, 1, None), &proof).await;
    assert!(matches!(r, Err(ServiceError::Conflict(_))), "{r:?}");

    // Another currency: recorded, audited as a mismatch, never paying (nor converted).
    let other = invoice(&t.db, tenant, who, 10_000, 7).await;
    let usd = payments::record_manual(
        &t.db,
        &operator(),
        &manual(&other.number, 10_000, Some("usd")),
        &Proof::confirm(&other.number),
    )
    .await
    .unwrap();
    assert!(
        matches!(usd.coverage, Coverage::CurrencyMismatch { .. }),
        "{:?}",
        usd.coverage
    );
    assert_eq!(usd.invoice.status, "pending");
    assert_eq!(
        actions(&t.db, other.id).await,
        ["invoice.create", "payment.currency_mismatch"]
    );

    // The lists: provider and status filters, the invoice's status filters and search.
    let all = payments::list(
        &t.db,
        &operator(),
        &PaymentQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.items.len(), 3);
    let mut q = PaymentQuery {
        limit: 50,
        ..Default::default()
    };
    q.parse_filter(&format!("manual succeeded {}", other.number)).unwrap();
    let found = payments::list(&t.db, &operator(), &q).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].currency, "USD");
    let stripe = PaymentQuery {
        provider: Some("stripe".into()),
        limit: 50,
        ..Default::default()
    };
    assert!(payments::list(&t.db, &operator(), &stripe)
        .await
        .unwrap()
        .items
        .is_empty());
    let one = payments::show(&t.db, &operator(), &backend::ids::short(found.items[0].id))
        .await
        .unwrap();
    assert_eq!(one.invoice_number, other.number);
    // A tenant user of another tenant sees none of it.
    let elsewhere = backend::tenants::create(&t.db, &operator(), new_tenant("Outra", "outra.com.br"))
        .await
        .unwrap()
        .id;
    let stranger = Actor::tenant_user("outra-admin", Role::TenantAdmin, elsewhere);
    assert!(payments::list(
        &t.db,
        &stranger,
        &PaymentQuery {
            limit: 50,
            ..Default::default()
        }
    )
    .await
    .unwrap()
    .items
    .is_empty());
    assert!(payments::show(&t.db, &stranger, &one.id.to_string()).await.is_err());

    let late = invoice(&t.db, tenant, who, 2_500, 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let page = |line: &str| {
        let mut q = InvoiceQuery {
            limit: 50,
            ..Default::default()
        };
        q.parse_filter(line).unwrap();
        let db = t.db.clone();
        async move { invoices::page(&db, &operator(), &q).await.unwrap().items }
    };
    assert_eq!(page("paid").await.iter().map(|i| i.id).collect::<Vec<_>>(), [inv.id]);
    assert_eq!(
        page("overdue").await.iter().map(|i| i.id).collect::<Vec<_>>(),
        [late.id]
    );
    assert_eq!(
        page("pending").await.iter().map(|i| i.id).collect::<Vec<_>>(),
        [other.id]
    );
    assert_eq!(page(&format!("paga-host {}", late.number)).await.len(), 1);
    assert!(page("cancelled").await.is_empty());
    let totals = invoices::totals(&t.db, &operator(), Status::Overdue, None)
        .await
        .unwrap();
    assert_eq!((totals[0].count, totals[0].sum_minor), (1, 2_500));

    // The dashboard's money: paid in the last 24 hours, overdue (count and sum), MRR.
    let stats = backend::dashboard::stats(&t.db, &operator()).await.unwrap();
    let card = |label: &str| stats.iter().find(|s| s.label == label).cloned().unwrap();
    let paid_today = card("Paid (24 h)");
    assert_eq!(paid_today.value, 3);
    assert_eq!(paid_today.text.as_deref(), Some("3 · 105.00 BRL · 100.00 USD"));
    assert_eq!(paid_today.route, "billing/payments?24h");
    let overdue = card("Overdue invoices");
    assert_eq!(overdue.text.as_deref(), Some("1 · 25.00 BRL"));
    assert_eq!(overdue.route, "billing/invoices?overdue");
    assert_eq!(card("MRR").text.as_deref(), Some("0"));
    // Another tenant's admin sees none of this tenant's money.
    let stranger_stats = backend::dashboard::stats(&t.db, &stranger).await.unwrap();
    let s = stranger_stats.iter().find(|s| s.label == "Paid (24 h)").unwrap();
    assert_eq!(s.value, 0);
}

#[tokio::test]
async fn seed_history_comes_into_the_ledger_as_opening_balances() {
    let t = fresh().await;
    backend::seed::demo(&t.db).await.unwrap();
    let balances: Vec<(Uuid, i64, i64)> = t
        .owner
        .fetch_all(
            "SELECT u.id, u.credits_balance, a.balance FROM users u \
             JOIN credit_accounts a ON a.user_id = u.id AND a.kind = 'reseller' ORDER BY u.id",
            args![],
        )
        .await
        .unwrap();
    let with_history: i64 = t
        .owner
        .scalar("SELECT COUNT(DISTINCT user_id) FROM credit_transactions", args![])
        .await
        .unwrap();
    assert!(with_history > 0);
    assert_eq!(balances.len() as i64, with_history);
    for (user, seeded, ledger) in &balances {
        assert_eq!(seeded, ledger, "user {user}: credits_balance {seeded}, ledger {ledger}");
    }
    // Double entry: each tenant's accounts sum to zero, and the opening account holds the
    // counterpart of what came in.
    let sums: Vec<(Uuid, i64)> = t
        .owner
        .fetch_all(
            "SELECT tenant_id, CAST(SUM(balance) AS BIGINT) FROM credit_accounts GROUP BY tenant_id",
            args![],
        )
        .await
        .unwrap();
    assert!(sums.iter().all(|(_, s)| *s == 0), "{sums:?}");
    let entries: i64 = t
        .owner
        .scalar("SELECT COUNT(*) FROM credit_entries", args![])
        .await
        .unwrap();
    let rows: i64 = t
        .owner
        .scalar("SELECT COUNT(*) FROM credit_transactions", args![])
        .await
        .unwrap();
    // A transfer pair is one movement of two entries; any other row is two entries (with opening).
    let pairs: i64 = t
        .owner
        .scalar(
            "SELECT COUNT(DISTINCT correlation_id) FROM credit_transactions WHERE correlation_id IS NOT NULL",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(entries, 2 * (rows - pairs));
    // What the Credits screen reads: balances and a reseller's ledger, with the history's dates.
    let shown = backend::billing::credits::balances(&t.db, &operator(), None)
        .await
        .unwrap();
    assert!(shown.iter().any(|b| b.balance > 0));
    let busy = shown.iter().max_by_key(|b| b.balance).unwrap();
    let ledger = backend::billing::credits::ledger(&t.db, &operator(), &busy.user_id.to_string(), 100)
        .await
        .unwrap();
    assert!(!ledger.is_empty());
    assert!(
        ledger.iter().all(|e| e.description.starts_with("opening")),
        "{ledger:?}"
    );
    assert!(ledger
        .iter()
        .any(|e| e.created_at < backend::db::now() - TimeDelta::days(1)));
    // Bringing the history in again writes nothing twice.
    let mut tx = t.db.begin().await.unwrap();
    let again = backend::billing::credits::import_history(&mut tx, &Actor::system("test"), busy.tenant_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again, 0);
}
