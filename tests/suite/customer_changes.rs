//! Issue 11's customer verbs through the real binary, each user in its own home (its own
//! session): edit with CPF/CNPJ check digits, block/unblock with a reason, transfer within
//! the reseller tree (both sides read the audit row), the support agent read-only.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use backend::customers::{self, NewCustomer};
use backend::identity::accounts::{self, NewUser};
use backend::identity::User;
use backend::{Db, Role};
use serde_json::Value;
use uuid::Uuid;

use crate::cli::{stderr, stdout};
use crate::common::{fresh, new_tenant, operator, TestDb};
use crate::identity::PASSWORD;

async fn account(db: &Db, name: &str, role: Role, tenant: Option<Uuid>, parent: Option<Uuid>) -> User {
    accounts::create_user(
        db,
        &operator(),
        NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            password: Some(PASSWORD.into()),
            role: Some(role),
            tenant_id: tenant,
            parent_id: parent,
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm(name),
    )
    .await
    .unwrap()
}

/// One user's machine, logged in through the binary.
struct As<'a> {
    t: &'a TestDb,
    home: tempfile::TempDir,
}

impl<'a> As<'a> {
    fn login(t: &'a TestDb, username: &str) -> As<'a> {
        let me = As {
            t,
            home: tempfile::tempdir().unwrap(),
        };
        let o = me.run_stdin(
            &["login", "--username", username, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        );
        assert_eq!(o.status.code(), Some(0), "login {username}: {}", stderr(&o));
        me
    }

    fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let h: &Path = self.home.path();
        let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
            .args(["--database-url", &self.t.url, "--data-dir"])
            .arg(h.join("data"))
            .args(args)
            .env("XDG_CONFIG_HOME", h)
            .env("XDG_DATA_HOME", h)
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

    fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    /// Runs `args` expecting exit `code`; returns stdout, or stderr when it failed.
    fn expect(&self, code: i32, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}{}", stdout(&o), stderr(&o));
        if code == 0 {
            stdout(&o)
        } else {
            stderr(&o)
        }
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let out = self.expect(0, &all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }
}

/// A tenant with two reseller trees: master > (rev1, rev2) and other > rev3; a tenant admin
/// and a support agent. One customer of rev1.
struct Tree {
    customer: Uuid,
}

async fn tree(t: &TestDb) -> Tree {
    let db = &t.db;
    let tenant = backend::tenants::create(db, &operator(), new_tenant("Arvore", "arvore.com.br"))
        .await
        .unwrap();
    let tid = Some(tenant.id);
    let master = account(db, "master", Role::Master, tid, None).await;
    account(db, "rev1", Role::Reseller, tid, Some(master.id)).await;
    account(db, "rev2", Role::Reseller, tid, Some(master.id)).await;
    let other = account(db, "other", Role::Master, tid, None).await;
    account(db, "rev3", Role::Reseller, tid, Some(other.id)).await;
    account(db, "helpdesk", Role::SupportAgent, tid, None).await;
    let c = customers::create(
        db,
        &operator(),
        NewCustomer {
            tenant: "arvore".into(),
            name: "Maria Souza".into(),
            email: "maria@example.com".into(),
            reseller: "rev1".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Tree { customer: c.id }
}

fn short(id: Uuid) -> String {
    let s = id.simple().to_string();
    s[s.len() - 8..].to_owned()
}

#[tokio::test]
async fn edit_block_unblock_through_the_binary_with_short_ids_and_check_digits() {
    let t = fresh().await;
    let tr = tree(&t).await;
    let id = short(tr.customer);
    let rev1 = As::login(&t, "rev1");
    // A wrong check digit is refused with the field named; nothing changes.
    let err = rev1.expect(2, &["customers", "edit", &id, "--document", "123.456.789-08"]);
    assert!(err.contains("document") && err.contains("check digits"), "{err}");
    let err = rev1.expect(2, &["customers", "edit", &id, "--document", "12.345.678/0001-94"]);
    assert!(err.contains("CNPJ"), "{err}");
    // A formatted CPF is stored as digits; other fields stay.
    let c = rev1.json(&[
        "customers",
        "edit",
        &id,
        "--document",
        "123.456.789-09",
        "--phone",
        "+55 11 91234-5678",
    ]);
    assert_eq!(
        (c["document"].as_str(), c["name"].as_str(), c["phone"].as_str()),
        (Some("12345678909"), Some("Maria Souza"), Some("+55 11 91234-5678"))
    );
    let c = rev1.json(&[
        "customers",
        "edit",
        &id,
        "--name",
        "Maria S. Lima",
        "--email",
        "maria.lima@example.com",
        "--phone",
        "",
    ]);
    assert_eq!(
        (c["name"].as_str(), c["email"].as_str(), c["phone"].as_str()),
        (Some("Maria S. Lima"), Some("maria.lima@example.com"), None)
    );
    let err = rev1.expect(2, &["customers", "edit", &id]);
    assert!(err.contains("nothing to change"), "{err}");
    // Block needs a reason; blocked twice is a conflict; unblock clears the reason.
    rev1.expect(2, &["customers", "block", &id, "--reason", " "]);
    let csv = rev1.expect(
        0,
        &["-o", "csv", "customers", "block", &id, "--reason", "unpaid invoices"],
    );
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(
        (col("status"), col("status_reason"), col("reseller")),
        ("suspended", "unpaid invoices", "rev1")
    );
    let err = rev1.expect(5, &["customers", "block", &id, "--reason", "again"]);
    assert!(err.contains("not active"), "{err}");
    let table = rev1.expect(0, &["-o", "table", "customers", "unblock", &id]);
    assert!(table.contains("active") && table.contains("Maria S. Lima"), "{table}");
    rev1.expect(5, &["customers", "unblock", &id]);
    // Every change is in the customer's history, readable without audit:read.
    let h = rev1.json(&["customers", "history", &id]);
    let actions: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "customer.unblock",
            "customer.block",
            "customer.update",
            "customer.update",
            "customer.create"
        ]
    );
    // The support agent reads but changes nothing.
    let desk = As::login(&t, "helpdesk");
    assert_eq!(desk.json(&["customers", "show", &id])["status"], "active");
    assert!(desk.json(&["customers", "history", &id]).as_array().unwrap().len() >= 5);
    for args in [
        vec!["customers", "edit", &id, "--name", "Nope"],
        vec!["customers", "block", &id, "--reason", "x"],
        vec!["customers", "transfer", &id, "--to", "rev2"],
    ] {
        let err = desk.expect(4, &args);
        assert!(err.contains("lacks customers:"), "{err}");
    }
}

#[tokio::test]
async fn transfers_stay_within_the_tree_and_both_sides_see_them() {
    let t = fresh().await;
    let tr = tree(&t).await;
    let id = short(tr.customer);
    let full = tr.customer.to_string();
    // A reseller's tree is itself: a sibling and another tree are both outside it.
    let rev1 = As::login(&t, "rev1");
    let err = rev1.expect(4, &["customers", "transfer", &id, "--to", "rev3"]);
    assert!(err.contains("outside"), "{err}");
    rev1.expect(4, &["customers", "transfer", &id, "--to", "rev2"]);
    // Not a reseller of this tenant at all.
    let err = rev1.expect(2, &["customers", "transfer", &id, "--to", "helpdesk"]);
    assert!(err.contains("reseller account"), "{err}");
    // The master moves it between its resellers.
    let master = As::login(&t, "master");
    let err = master.expect(4, &["customers", "transfer", &id, "--to", "rev3"]);
    assert!(err.contains("outside"), "{err}");
    let c = master.json(&["customers", "transfer", &id, "--to", "rev2"]);
    assert_eq!(c["reseller"], "rev2");
    master.expect(5, &["customers", "transfer", &id, "--to", "rev2"]);
    // The new side reaches the customer and its whole story, the transfer included.
    let rev2 = As::login(&t, "rev2");
    let h = rev2.json(&["customers", "history", &id]);
    let first = &h.as_array().unwrap()[0];
    assert_eq!(
        (first["action"].as_str(), first["actor"].as_str()),
        (Some("customer.transfer"), Some("master"))
    );
    // The old side no longer reaches it, yet reads the history up to the transfer out.
    rev1.expect(3, &["customers", "show", &full]);
    let h = rev1.json(&["customers", "history", &full]);
    let actions: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions, ["customer.transfer", "customer.create"]);
    // Changes after the transfer are the new side's only.
    rev2.json(&["customers", "block", &id, "--reason", "chargeback"]);
    let h = rev1.json(&["customers", "history", &full]);
    assert_eq!(h.as_array().unwrap().len(), 2);
    // A reseller of the other tree never saw it.
    let rev3 = As::login(&t, "rev3");
    rev3.expect(3, &["customers", "history", &full]);
}
