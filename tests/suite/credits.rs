//! Issue 12's reseller credits ledger and gap-free invoice numbers (docs/adr/0024), on the
//! engine under test: double entry, append-only, never below the limit under concurrent
//! spending, commissions up the tree, transfers within a branch, alerts, and invoice numbers
//! without gaps or duplicates under concurrent creation and rollbacks.

use backend::billing::credits::{self, Spend, Transfer};
use backend::billing::invoices::{self, InvoiceFilter, NewInvoice, NewItem, Status};
use backend::identity::accounts::{self, NewUser};
use backend::{args, Actor, Db, Role};
use proptest::prelude::*;
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator, TestDb};

struct Tree {
    tenant: Uuid,
    partner: Uuid,
    ultra: Uuid,
    master: Uuid,
    reseller: Uuid,
    /// A sibling branch under the partner.
    other: Uuid,
}

async fn user(db: &Db, name: &str, role: Role, tenant: Uuid, parent: Option<Uuid>) -> Uuid {
    accounts::create_user(
        db,
        &operator(),
        NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            role: Some(role),
            tenant_id: Some(tenant),
            parent_id: parent,
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm(name),
    )
    .await
    .unwrap()
    .id
}

async fn tree(db: &Db, slug: &str) -> Tree {
    let tenant = backend::tenants::create(db, &operator(), new_tenant(slug, &format!("{slug}.com.br")))
        .await
        .unwrap()
        .id;
    let partner = user(db, &format!("{slug}-partner"), Role::Partner, tenant, None).await;
    let ultra = user(db, &format!("{slug}-ultra"), Role::Ultra, tenant, Some(partner)).await;
    let master = user(db, &format!("{slug}-master"), Role::Master, tenant, Some(ultra)).await;
    let reseller = user(db, &format!("{slug}-reseller"), Role::Reseller, tenant, Some(master)).await;
    let other = user(db, &format!("{slug}-other"), Role::Ultra, tenant, Some(partner)).await;
    Tree {
        tenant,
        partner,
        ultra,
        master,
        reseller,
        other,
    }
}

fn as_user(id: Uuid, role: Role, tenant: Uuid) -> Actor {
    let mut a = Actor::tenant_user("reseller-under-test", role, tenant);
    a.user_id = Some(id);
    a
}

/// Credits for `who`: a credits invoice, paid (as the verified webhook would, here by SQL:
/// marking paid is not the ledger's business), then bought.
async fn fund(t: &TestDb, tenant: Uuid, who: Uuid, amount: i64) -> credits::Movement {
    let inv = invoices::create(
        &t.db,
        &operator(),
        NewInvoice {
            tenant: Some(tenant),
            user: Some(who),
            reason: Some("credits".into()),
            issue: true,
            items: vec![NewItem {
                description: Some("Créditos".into()),
                unit_price_minor: Some(amount),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    t.db.execute(
        "UPDATE invoices SET status = 'paid', paid_at = $1 WHERE id = $2",
        args![backend::db::now(), inv.id],
    )
    .await
    .unwrap();
    credits::buy(&t.db, &operator(), inv.id).await.unwrap()
}

/// The ledger's invariants, read straight from the tables: entries sum to zero per currency
/// and per movement, every balance is the sum of its entries, no reseller below its limit.
async fn assert_invariants(db: &Db) {
    let sums: Vec<(String, i64)> = db
        .fetch_all(
            "SELECT currency, CAST(SUM(amount) AS BIGINT) FROM credit_entries GROUP BY currency",
            args![],
        )
        .await
        .unwrap();
    for (cur, s) in sums {
        assert_eq!(s, 0, "entries in {cur} do not sum to zero");
    }
    let unbalanced: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM (SELECT movement_id FROM credit_entries GROUP BY movement_id \
             HAVING SUM(amount) <> 0 OR COUNT(*) < 2) x",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(unbalanced, 0, "a movement does not balance");
    let drift: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM credit_accounts a WHERE a.balance <> \
             COALESCE((SELECT SUM(e.amount) FROM credit_entries e WHERE e.account_id = a.id), 0)",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(drift, 0, "a balance differs from the sum of its entries");
    let below: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM credit_accounts WHERE kind = 'reseller' AND balance < -credit_limit",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(below, 0, "a reseller is below its credit limit");
}

async fn balance(db: &Db, user: Uuid) -> i64 {
    db.scalar("SELECT balance FROM credit_accounts WHERE user_id = $1", args![user])
        .await
        .unwrap()
}

#[tokio::test]
async fn buy_spend_commissions_transfer_and_append_only() {
    let t = fresh().await;
    let tr = tree(&t.db, "ledger-a").await;
    credits::set_commission_rates(&t.db, &operator(), tr.tenant, &[1000, 500, 200])
        .await
        .unwrap();
    let bought = fund(&t, tr.tenant, tr.reseller, 10_000).await;
    assert_eq!(bought.entries.len(), 2);
    // The same invoice never buys twice.
    let inv: Uuid =
        t.db.scalar(
            "SELECT invoice_id FROM credit_movements WHERE id = $1",
            args![bought.id],
        )
        .await
        .unwrap();
    assert!(credits::buy(&t.db, &operator(), inv).await.is_err());

    let me = as_user(tr.reseller, Role::Reseller, tr.tenant);
    let sale = credits::spend(
        &t.db,
        &me,
        Spend {
            amount: 2_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Seller −2000, sales +2000, commissions −(200+100+40), master +200, ultra +100, partner +40.
    assert_eq!(sale.entries.len(), 6);
    assert_eq!(balance(&t.db, tr.reseller).await, 8_000);
    assert_eq!(balance(&t.db, tr.master).await, 200);
    assert_eq!(balance(&t.db, tr.ultra).await, 100);
    assert_eq!(balance(&t.db, tr.partner).await, 40);

    // Transfers go along one branch only; a reseller reaches only its subtree.
    let master = as_user(tr.master, Role::Master, tr.tenant);
    credits::transfer(
        &t.db,
        &master,
        Transfer {
            to: tr.reseller.to_string(),
            amount: 150,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(balance(&t.db, tr.reseller).await, 8_150);
    let sideways = credits::transfer(
        &t.db,
        &operator(),
        Transfer {
            from: Some(tr.reseller.to_string()),
            to: tr.other.to_string(),
            amount: 1,
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(sideways, Err(backend::ServiceError::Validation(_))),
        "{sideways:?}"
    );
    let out_of_reach = credits::transfer(
        &t.db,
        &me,
        Transfer {
            to: tr.master.to_string(),
            amount: 1,
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(out_of_reach, Err(backend::ServiceError::NotFound { .. })),
        "{out_of_reach:?}"
    );
    let seen = credits::balances(&t.db, &me, None).await.unwrap();
    assert_eq!(seen.iter().map(|b| b.user_id).collect::<Vec<_>>(), vec![tr.reseller]);

    // Every movement is audited in its transaction.
    let audited: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'credit_movement'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 3);
    let ledger = credits::ledger(&t.db, &operator(), &tr.reseller.to_string(), 10)
        .await
        .unwrap();
    assert_eq!(
        ledger.iter().map(|e| e.amount).collect::<Vec<_>>(),
        vec![150, -2_000, 10_000]
    );

    // Append-only: the application role cannot rewrite or remove history.
    for sql in [
        "UPDATE credit_entries SET amount = amount + 1",
        "DELETE FROM credit_entries",
        "UPDATE credit_movements SET description = 'x'",
        "DELETE FROM credit_movements",
    ] {
        let r = t.db.execute(sql, args![]).await;
        assert!(r.is_err(), "{sql} was allowed");
    }
    assert_invariants(&t.db).await;
}

#[tokio::test]
async fn limits_and_low_balance_alerts() {
    let t = fresh().await;
    let tr = tree(&t.db, "ledger-b").await;
    fund(&t, tr.tenant, tr.reseller, 1_000).await;
    let me = as_user(tr.reseller, Role::Reseller, tr.tenant);
    // Limits and thresholds are the tenant's to set, not the reseller's.
    assert!(credits::set_limit(&t.db, &me, &tr.reseller.to_string(), 500)
        .await
        .is_err());
    let over = credits::spend(
        &t.db,
        &me,
        Spend {
            amount: 1_001,
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(over, Err(backend::ServiceError::Conflict(_))), "{over:?}");
    credits::set_limit(&t.db, &operator(), &tr.reseller.to_string(), 500)
        .await
        .unwrap();
    credits::set_alert(&t.db, &operator(), &tr.reseller.to_string(), Some(300))
        .await
        .unwrap();
    credits::spend(
        &t.db,
        &me,
        Spend {
            amount: 600,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(credits::alerts(&t.db, &me, 10).await.unwrap().is_empty());
    credits::spend(
        &t.db,
        &me,
        Spend {
            amount: 200,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Crossing below 300 alerts once; staying below does not alert again.
    credits::spend(
        &t.db,
        &me,
        Spend {
            amount: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let alerts = credits::alerts(&t.db, &me, 10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].balance, alerts[0].threshold), (200, 300));
    let audited: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'credits.low_balance'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(audited, 1);
    // Down to −limit and no further.
    credits::spend(
        &t.db,
        &me,
        Spend {
            amount: 600,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(balance(&t.db, tr.reseller).await, -500);
    assert!(credits::spend(
        &t.db,
        &me,
        Spend {
            amount: 1,
            ..Default::default()
        }
    )
    .await
    .is_err());
    // A limit below what is already owed is refused.
    assert!(credits::set_limit(&t.db, &operator(), &tr.reseller.to_string(), 100)
        .await
        .is_err());
    assert_invariants(&t.db).await;
}

/// 50 tasks spend at once from a balance that covers only some of them: exactly those
/// succeed, the rest are refused, and the balance never goes below zero.
#[tokio::test]
async fn concurrent_spending_never_overdraws() {
    let t = fresh().await;
    let tr = tree(&t.db, "ledger-c").await;
    credits::set_commission_rates(&t.db, &operator(), tr.tenant, &[1000])
        .await
        .unwrap();
    fund(&t, tr.tenant, tr.reseller, 1_000).await;
    let me = as_user(tr.reseller, Role::Reseller, tr.tenant);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (db, me) = (t.db.clone(), me.clone());
        tasks.push(tokio::spawn(async move {
            credits::spend(
                &db,
                &me,
                Spend {
                    amount: 30,
                    description: format!("sale {i}"),
                    ..Default::default()
                },
            )
            .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(backend::ServiceError::Conflict(_)) => {}
            Err(e) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!(ok, 33, "1000 covers 33 spends of 30");
    assert_eq!(balance(&t.db, tr.reseller).await, 10);
    assert_eq!(balance(&t.db, tr.master).await, 33 * 3);
    assert_invariants(&t.db).await;
}

/// Invoices created at once, with transactions that took a number and rolled back in
/// between: the numbers are 1..=N, no gap, no duplicate.
#[tokio::test]
async fn invoice_numbers_have_no_gaps_under_concurrency() {
    let t = fresh().await;
    let tr = tree(&t.db, "ledger-d").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (db, tenant, who) = (t.db.clone(), tr.tenant, tr.reseller);
        tasks.push(tokio::spawn(async move {
            if i % 4 == 3 {
                let mut tx = db.begin().await?;
                invoices::next_number(&mut tx, tenant).await?;
                tx.rollback().await?;
                return Ok(None);
            }
            invoices::create(
                &db,
                &operator(),
                NewInvoice {
                    tenant: Some(tenant),
                    user: Some(who),
                    reason: Some("credits".into()),
                    issue: i % 2 == 0,
                    items: vec![NewItem {
                        description: Some(format!("item {i}")),
                        unit_price_minor: Some(100 + i),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            )
            .await
            .map(Some)
        }));
    }
    let mut made = 0;
    for task in tasks {
        if let Some(_inv) = task.await.unwrap().unwrap() {
            made += 1;
        }
    }
    assert_eq!(made, 30);
    let mut seqs: Vec<i64> =
        t.db.fetch_all::<(i64,)>("SELECT seq FROM invoices WHERE tenant_id = $1", args![tr.tenant])
            .await
            .unwrap()
            .into_iter()
            .map(|(s,)| s)
            .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    // Drafts and pending invoices list by status; overdue is pending past due.
    let all = invoices::list(
        &t.db,
        &operator(),
        InvoiceFilter {
            tenant: Some(tr.tenant),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 30);
    let drafts = invoices::list(
        &t.db,
        &operator(),
        InvoiceFilter {
            tenant: Some(tr.tenant),
            status: Some(Status::Draft),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(drafts.len(), 10);
    t.db.execute(
        "UPDATE invoices SET due_at = $1 WHERE id = $2",
        args![
            backend::db::now() - chrono::Duration::days(1),
            all.iter().find(|i| i.status == "pending").unwrap().id
        ],
    )
    .await
    .unwrap();
    let overdue = invoices::list(
        &t.db,
        &operator(),
        InvoiceFilter {
            tenant: Some(tr.tenant),
            status: Some(Status::Overdue),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].status, "overdue");
    let (shown, items) = invoices::show(&t.db, &operator(), &overdue[0].id.to_string())
        .await
        .unwrap();
    assert_eq!(shown.number, invoices::format_number(shown.seq.unwrap()));
    assert_eq!(items.len(), 1);
    let issued = invoices::issue(&t.db, &operator(), &drafts[0].id.to_string())
        .await
        .unwrap();
    assert_eq!(issued.status, "pending");
}

#[derive(Debug, Clone)]
enum Op {
    Fund(usize, i64),
    Spend(usize, i64),
    Transfer(usize, usize, i64),
    Limit(usize, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..5usize, 1..5_000i64).prop_map(|(u, a)| Op::Fund(u, a)),
        (0..5usize, 1..3_000i64).prop_map(|(u, a)| Op::Spend(u, a)),
        (0..5usize, 0..5usize, 1..3_000i64).prop_map(|(a, b, x)| Op::Transfer(a, b, x)),
        (0..5usize, 0..2_000i64).prop_map(|(u, l)| Op::Limit(u, l)),
    ]
}

/// Random sequences of operations keep the invariants, whichever succeed or are refused.
#[test]
fn random_operations_keep_the_ledger_balanced() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = rt.block_on(fresh());
    let tr = rt.block_on(tree(&t.db, "ledger-p"));
    rt.block_on(credits::set_commission_rates(
        &t.db,
        &operator(),
        tr.tenant,
        &[700, 300],
    ))
    .unwrap();
    let users = [tr.partner, tr.ultra, tr.master, tr.reseller, tr.other];
    let cases = if matches!(crate::common::engine(), crate::common::Engine::Postgres) {
        8
    } else {
        16
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..25), |ops| {
            rt.block_on(async {
                for o in ops {
                    let r = match o {
                        Op::Fund(u, a) => {
                            fund(&t, tr.tenant, users[u], a).await;
                            Ok(())
                        }
                        Op::Spend(u, a) => credits::spend(
                            &t.db,
                            &operator(),
                            Spend {
                                reseller: Some(users[u].to_string()),
                                amount: a,
                                ..Default::default()
                            },
                        )
                        .await
                        .map(|_| ()),
                        Op::Transfer(a, b, x) => credits::transfer(
                            &t.db,
                            &operator(),
                            Transfer {
                                from: Some(users[a].to_string()),
                                to: users[b].to_string(),
                                amount: x,
                                ..Default::default()
                            },
                        )
                        .await
                        .map(|_| ()),
                        Op::Limit(u, l) => credits::set_limit(&t.db, &operator(), &users[u].to_string(), l).await,
                    };
                    if let Err(e) = r {
                        assert!(
                            matches!(
                                e,
                                backend::ServiceError::Conflict(_) | backend::ServiceError::Validation(_)
                            ),
                            "unexpected {e}"
                        );
                    }
                }
                assert_invariants(&t.db).await;
            });
            Ok(())
        })
        .unwrap();
}

/// The batch verbs through the real binary (the local operator, no accounts yet): balances
/// and the ledger in JSON and CSV, a transfer, limits, and invoices created, listed by
/// status and shown by short id.
#[tokio::test]
async fn credits_and_invoices_verbs() {
    use crate::cli::{stderr, stdout};
    let t = fresh().await;
    let tr = tree(&t.db, "ledger-v").await;
    accounts::create_user(
        &t.db,
        &operator(),
        NewUser {
            username: "ledger-admin".into(),
            email: "ledger-admin@example.com".into(),
            password: Some(crate::identity::PASSWORD.into()),
            role: Some(Role::SuperAdmin),
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm("ledger-admin"),
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let painel = |_: &TestDb, args: &[&str]| run_as(&t, home.path(), args, None);
    let o = run_as(
        &t,
        home.path(),
        &["login", "--username", "ledger-admin", "--password-stdin"],
        Some(&format!("{}\n", crate::identity::PASSWORD)),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    fund(&t, tr.tenant, tr.master, 5_000).await;
    let o = painel(
        &t,
        &[
            "credits",
            "transfer",
            "ledger-v-reseller",
            "1200",
            "--from",
            "ledger-v-master",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = painel(&t, &["-o", "json", "credits", "balance", "--tenant", "ledger-v"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let by_name: Vec<(String, i64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["username"].as_str().unwrap().to_owned(),
                b["balance"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_name,
        vec![("ledger-v-master".into(), 3_800), ("ledger-v-reseller".into(), 1_200)]
    );
    let o = painel(&t, &["-o", "csv", "credits", "ledger", "ledger-v-reseller"]);
    assert!(
        stdout(&o).lines().nth(1).unwrap().contains("12.00 BRL"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        painel(&t, &["credits", "limit", "ledger-v-reseller", "300"])
            .status
            .code(),
        Some(0)
    );
    let o = painel(
        &t,
        &[
            "credits",
            "transfer",
            "ledger-v-master",
            "1501",
            "--from",
            "ledger-v-reseller",
        ],
    );
    assert_ne!(o.status.code(), Some(0), "beyond the limit must fail");
    let o = painel(&t, &["credits", "alert", "ledger-v-reseller", "100"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let o = painel(
        &t,
        &[
            "-o",
            "json",
            "invoices",
            "create",
            "--tenant",
            "ledger-v",
            "--user",
            &tr.reseller.to_string(),
            "--reason",
            "credits",
            "--line",
            "Créditos=4990",
            "--issue",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let inv: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The funding invoice took 000001; this one is next.
    assert_eq!(inv["number"], "000002");
    assert_eq!(inv["status"], "pending");
    let o = painel(&t, &["-o", "json", "invoices", "list", "--status", "pending", "--all"]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let short = backend::ids::short(Uuid::parse_str(inv["id"].as_str().unwrap()).unwrap());
    let o = painel(&t, &["-o", "table", "invoices", "show", &short]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("49.90 BRL"), "{}", stdout(&o));
    assert_invariants(&t.db).await;
}

/// The binary with its own home (its own session store), as one logged-in operator.
fn run_as(t: &TestDb, home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url, "--data-dir"])
        .arg(home.join("data"))
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("PAINEL_SESSION_STORE", "file")
        .env_remove("PAINEL_DATABASE_URL")
        .env_remove("PAINEL_MASTER_KEY")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}
