//! The audit log: hash chain, tamper detection, redaction, reads and scoping, batch verbs.

use backend::audit::{self, AuditQuery, Change, GENESIS, REDACTED};
use backend::page::PageAt;
use backend::sensitive::Proof;
use backend::{args, tenants, Actor, Role, ServiceError};
use serde_json::json;

use crate::cli::{painel, stderr, stdout};
use crate::common::{engine, fresh, new_tenant, operator, Engine, TestDb};

async fn make_tenants(t: &TestDb, n: usize) {
    for i in 0..n {
        tenants::create(
            &t.db,
            &operator(),
            new_tenant(&format!("Chain {i}"), &format!("chain{i}.com.br")),
        )
        .await
        .unwrap();
    }
}

/// Runs `sql` on audit_log with the append-only triggers out of the way, as someone with
/// the database owner's rights could.
async fn behind_triggers(t: &TestDb, sql: &str) {
    match engine() {
        Engine::Sqlite => {
            // One transaction on one connection, so no pooled connection sees half of it.
            let mut tx = t.db.begin().await.unwrap();
            for s in [
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
                sql,
            ] {
                tx.execute(s, args![]).await.unwrap();
            }
            for trigger in ["no_update BEFORE UPDATE", "no_delete BEFORE DELETE"] {
                tx.execute(
                    &format!(
                        "CREATE TRIGGER audit_log_{trigger} ON audit_log \
                         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
                    ),
                    args![],
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
        Engine::Postgres => {
            for s in [
                "ALTER TABLE audit_log DISABLE TRIGGER USER",
                sql,
                "ALTER TABLE audit_log ENABLE TRIGGER USER",
            ] {
                // Only the table's owner may switch triggers off; the application role cannot.
                t.owner.execute(s, args![]).await.unwrap();
            }
        }
    }
    assert!(
        t.db.execute("DELETE FROM audit_log", args![]).await.is_err(),
        "triggers are back"
    );
}

#[tokio::test]
async fn services_write_an_intact_chain() {
    let t = fresh().await;
    let empty = audit::verify(&t.db, &operator()).await.unwrap();
    assert!(empty.ok && empty.rows == 0 && empty.first_bad.is_none());
    make_tenants(&t, 3).await;
    tenants::suspend(&t.db, &operator(), "chain-1", "late", &Proof::confirm("chain-1"))
        .await
        .unwrap();
    let rows: Vec<(i64, Option<String>, Option<String>)> =
        t.db.fetch_all("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq", args![])
            .await
            .unwrap();
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(rows[0].1.as_deref(), Some(GENESIS));
    for pair in rows.windows(2) {
        assert_eq!(pair[1].1, pair[0].2, "each row links to the previous one");
    }
    let report = audit::verify(&t.db, &operator()).await.unwrap();
    assert_eq!((report.ok, report.rows, report.last_seq), (true, 4, Some(4)));
    assert_eq!(report.head_hash, rows[3].2);
}

#[tokio::test]
async fn verify_names_an_altered_row() {
    let t = fresh().await;
    make_tenants(&t, 5).await;
    behind_triggers(&t, "UPDATE audit_log SET action = 'tenant.forged' WHERE seq = 3").await;
    let report = audit::verify(&t.db, &operator()).await.unwrap();
    assert!(!report.ok);
    let bad = report.first_bad.unwrap();
    assert_eq!(bad.seq, 3, "{}", bad.reason);
    assert!(bad.reason.contains("altered"), "{}", bad.reason);
}

#[tokio::test]
async fn verify_names_a_rewritten_row_whose_hash_was_recomputed() {
    let t = fresh().await;
    make_tenants(&t, 4).await;
    // A careful forger rewrites the row and recomputes its hash: the next row's link breaks.
    let mut row = audit::get(&t.db, &operator(), "2").await.unwrap();
    row.after = Some(json!({"name": "forged"}));
    let hash = audit::row_hash(row.prev_hash.as_deref().unwrap(), &row);
    let after = serde_json::to_string(row.after.as_ref().unwrap()).unwrap();
    let sql = match engine() {
        Engine::Sqlite => format!("UPDATE audit_log SET after = '{after}', hash = '{hash}' WHERE seq = 2"),
        Engine::Postgres => format!("UPDATE audit_log SET after = '{after}'::jsonb, hash = '{hash}' WHERE seq = 2"),
    };
    behind_triggers(&t, &sql).await;
    let bad = audit::verify(&t.db, &operator()).await.unwrap().first_bad.unwrap();
    assert_eq!(bad.seq, 3, "{}", bad.reason);
    assert!(bad.reason.contains("prev_hash"), "{}", bad.reason);
}

#[tokio::test]
async fn verify_names_the_row_after_a_removed_one() {
    let t = fresh().await;
    make_tenants(&t, 5).await;
    behind_triggers(&t, "DELETE FROM audit_log WHERE seq = 3").await;
    let report = audit::verify(&t.db, &operator()).await.unwrap();
    let bad = report.first_bad.unwrap();
    assert_eq!((bad.seq, report.rows), (4, 3), "{}", bad.reason);
    assert!(bad.reason.contains("seq 3 is missing"), "{}", bad.reason);
    // Removing the first row is caught too.
    behind_triggers(&t, "DELETE FROM audit_log WHERE seq = 1").await;
    let bad = audit::verify(&t.db, &operator()).await.unwrap().first_bad.unwrap();
    assert_eq!(bad.seq, 2, "{}", bad.reason);
}

#[tokio::test]
async fn concurrent_writers_keep_one_chain() {
    let t = fresh().await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                tenants::create(
                    &db,
                    &operator(),
                    new_tenant(&format!("W{w} T{i}"), &format!("w{w}t{i}.com")),
                )
                .await
                .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = audit::verify(&t.db, &operator()).await.unwrap();
    assert_eq!(
        (report.ok, report.rows, report.last_seq),
        (true, 40, Some(40)),
        "{report:?}"
    );
}

#[tokio::test]
async fn secrets_are_redacted_before_storing_and_hashing() {
    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    audit::record(
        &mut tx,
        &operator(),
        Change {
            action: "server.update",
            entity: "server",
            entity_id: Some("srv-1".into()),
            tenant_id: None,
            before: Some(json!({"host": "a.example", "api_token_enc": "c2VjcmV0", "root_password": "hunter2"})),
            after: Some(json!({"host": "b.example", "creds": [{"client_secret": "s3", "key_hash": "abc"}]})),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let raw: (String, String) =
        t.db.fetch_one_text("SELECT CAST(before AS TEXT), CAST(after AS TEXT) FROM audit_log")
            .await;
    for secret in ["c2VjcmV0", "hunter2", "s3", "\"abc\""] {
        assert!(
            !raw.0.contains(secret) && !raw.1.contains(secret),
            "{secret} leaked: {raw:?}"
        );
    }
    let row = audit::get(&t.db, &operator(), "1").await.unwrap();
    let before = row.before.unwrap();
    assert_eq!(
        (
            before["host"].as_str(),
            before["api_token_enc"].as_str(),
            before["root_password"].as_str()
        ),
        (Some("a.example"), Some(REDACTED), Some(REDACTED))
    );
    assert_eq!(row.after.unwrap()["creds"][0]["client_secret"], REDACTED);
    assert!(audit::verify(&t.db, &operator()).await.unwrap().ok);
}

trait FetchText {
    async fn fetch_one_text(&self, sql: &str) -> (String, String);
}

impl FetchText for backend::Db {
    async fn fetch_one_text(&self, sql: &str) -> (String, String) {
        self.fetch_optional(sql, args![]).await.unwrap().unwrap()
    }
}

#[tokio::test]
async fn lists_filter_page_and_scope() {
    let t = fresh().await;
    let a = tenants::create(&t.db, &operator(), new_tenant("Alfa", "alfa.com"))
        .await
        .unwrap();
    let b = tenants::create(&t.db, &operator(), new_tenant("Beta", "beta.com"))
        .await
        .unwrap();
    tenants::suspend(&t.db, &operator(), "beta", "late", &Proof::confirm("beta"))
        .await
        .unwrap();
    let mut tx = t.db.begin().await.unwrap();
    let global = Change {
        action: "settings.update",
        entity: "setting",
        entity_id: Some("smtp".into()),
        tenant_id: None,
        before: None,
        after: Some(json!({"host": "mail"})),
    };
    audit::record(&mut tx, &Actor::system("cron"), global).await.unwrap();
    tx.commit().await.unwrap();

    let all = |q: AuditQuery| AuditQuery { limit: 50, ..q };
    let op = operator();
    let seqs = |p: backend::page::Page<audit::AuditEntry>| p.items.iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(audit::list(&t.db, &op, &all(AuditQuery::default())).await.unwrap()),
        [4, 3, 2, 1]
    );
    let q = all(AuditQuery {
        tenant: Some("beta".into()),
        ..Default::default()
    });
    assert_eq!(seqs(audit::list(&t.db, &op, &q).await.unwrap()), [3, 2]);
    let q = all(AuditQuery {
        action: Some("tenant.*".into()),
        ..Default::default()
    });
    assert_eq!(seqs(audit::list(&t.db, &op, &q).await.unwrap()), [3, 2, 1]);
    let q = all(AuditQuery {
        action: Some("tenant.suspend".into()),
        entity_id: Some(b.id.to_string()),
        ..Default::default()
    });
    assert_eq!(seqs(audit::list(&t.db, &op, &q).await.unwrap()), [3]);
    let q = all(AuditQuery {
        actor_name: Some("cron".into()),
        entity: Some("setting".into()),
        ..Default::default()
    });
    assert_eq!(seqs(audit::list(&t.db, &op, &q).await.unwrap()), [4]);
    let third = audit::get(&t.db, &op, "3").await.unwrap();
    let q = all(AuditQuery {
        since: Some(third.at),
        ..Default::default()
    });
    assert_eq!(seqs(audit::list(&t.db, &op, &q).await.unwrap()), [4, 3]);
    let q = all(AuditQuery {
        until: Some(third.at),
        oldest_first: true,
        ..Default::default()
    });
    assert_eq!(seqs(audit::list(&t.db, &op, &q).await.unwrap()), [1, 2]);

    // Keyset pages, newest first.
    let first = audit::list(
        &t.db,
        &op,
        &AuditQuery {
            limit: 3,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(first.has_next && first.next_cursor.is_some());
    let next = AuditQuery {
        limit: 3,
        at: PageAt::After(first.last.clone().unwrap()),
        ..Default::default()
    };
    let second = audit::list(&t.db, &op, &next).await.unwrap();
    assert_eq!(
        (seqs(first), seqs(second.clone()), second.has_next),
        (vec![4, 3, 2], vec![1], false)
    );

    // A tenant admin sees its tenant's rows only: not Beta's, not global ones.
    let ana = Actor::tenant_user("ana", Role::TenantAdmin, a.id);
    assert_eq!(
        seqs(audit::list(&t.db, &ana, &all(AuditQuery::default())).await.unwrap()),
        [1]
    );
    let other = all(AuditQuery {
        tenant: Some("beta".into()),
        ..Default::default()
    });
    assert!(matches!(
        audit::list(&t.db, &ana, &other).await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(audit::get(&t.db, &ana, "1").await.is_ok());
    for hidden in ["2", "4"] {
        assert!(matches!(
            audit::get(&t.db, &ana, hidden).await,
            Err(ServiceError::NotFound { .. })
        ));
    }
    assert!(matches!(
        audit::verify(&t.db, &ana).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    let reseller = Actor::tenant_user("rui", Role::Reseller, a.id);
    assert!(matches!(
        audit::list(&t.db, &reseller, &all(AuditQuery::default())).await,
        Err(ServiceError::PermissionDenied(_))
    ));

    // Detail: by id too, with a field diff.
    let suspended = audit::get(&t.db, &op, &third.id.to_string()).await.unwrap();
    assert_eq!(suspended.seq, 3);
    let diff = audit::diff(suspended.before.as_ref(), suspended.after.as_ref());
    let status = diff.iter().find(|d| d.0 == "status").unwrap();
    assert_eq!(
        (status.1.as_str(), status.2.as_str()),
        (Some("active"), Some("suspended"))
    );
    assert!(matches!(
        audit::get(&t.db, &op, "nope").await,
        Err(ServiceError::Validation(_))
    ));
}

#[tokio::test]
async fn batch_verbs_and_verify_exit_codes() {
    let t = fresh().await;
    for (name, domain) in [("Um", "um.com"), ("Dois", "dois.com"), ("Tres", "tres.com")] {
        let o = painel(&t, &["tenants", "create", "--name", name, "--domain", domain]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let ok = painel(&t, &["-o", "json", "audit", "verify"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let report: serde_json::Value = serde_json::from_str(&stdout(&ok)).unwrap();
    assert_eq!((report["ok"].as_bool(), report["rows"].as_i64()), (Some(true), Some(3)));

    let list = painel(&t, &["-o", "json", "audit", "list", "--limit", "2"]);
    let items: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(
        (items[0]["seq"].as_i64(), items[0]["actor_name"].as_str()),
        // The no-accounts operator is the real OS user, whatever PAINEL_OPERATOR says.
        (Some(3), Some(backend::actor::OsUser::current().label().as_str()))
    );
    assert!(stderr(&list).starts_with("more rows: --after "));
    let show = painel(&t, &["-o", "json", "audit", "show", "2"]);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(shown["after"]["slug"], "dois");
    assert!(shown["diff"].as_array().unwrap().iter().any(|d| d["path"] == "slug"));
    let table = painel(&t, &["-o", "table", "audit", "show", "2"]);
    assert!(stdout(&table).contains("PATH"), "{}", stdout(&table));

    let export = painel(
        &t,
        &["-o", "json", "audit", "export", "--since", "2000-01-01T00:00:00Z"],
    );
    assert_eq!(export.status.code(), Some(0), "{}", stderr(&export));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&export)).unwrap();
    let seqs: Vec<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(rows[0]["prev_hash"], GENESIS);
    let none = painel(
        &t,
        &["-o", "json", "audit", "export", "--since", "2999-01-01T00:00:00Z"],
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout(&none)).unwrap(),
        json!([])
    );
    let bad_time = painel(&t, &["audit", "export", "--since", "yesterday"]);
    assert_eq!(bad_time.status.code(), Some(2));

    behind_triggers(&t, "UPDATE audit_log SET actor_name = 'someone-else' WHERE seq = 2").await;
    let broken = painel(&t, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    let message = stderr(&broken);
    assert!(message.contains("audit chain broken at seq 2"), "{message}");
}
