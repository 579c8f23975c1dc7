//! The keyed audit chain and its signed checkpoints (docs/adr/0013): tampering as the
//! database owner — triggers disabled (PostgreSQL) or dropped (SQLite), as an attacker with
//! the credential would — is reported: a cut tail, a wiped table, a chain recomputed without
//! the key or with another one, a forged checkpoint. Also: ciphertexts bound to their row,
//! and only registered master keys seal.

use std::path::{Path, PathBuf};

use backend::audit::{self, AuditKeys, CHECKPOINT_FILE};
use backend::jobs::{self, Job, JobError};
use backend::secrets::{self, Keys, MasterKey, SecretError};
use backend::{args, tenants, Db, ServiceError};
use serde_json::json;
use uuid::Uuid;

use crate::cli::{stderr, stdout};
use crate::common::{engine, fresh, new_tenant, operator, Engine, TestDb};
use crate::secrets::{add_server, token_of};

/// A database with `legacy` plain rows from before the key (an upgraded deployment), then
/// `keys init`, then `keyed` more changes; checkpoints go to a file in `dir`.
struct Keyed {
    t: TestDb,
    /// The same database without the master key (a process not run as the deployment).
    bare: Db,
    keys: Keys,
    dir: tempfile::TempDir,
}

impl Keyed {
    fn file(&self) -> PathBuf {
        self.dir.path().join(CHECKPOINT_FILE)
    }

    /// The keyed handle without a checkpoint file (verify from the database alone).
    fn no_file(&self) -> Db {
        self.bare
            .clone()
            .with_audit_keys(Some(AuditKeys::from_keys(&self.keys)))
    }
}

async fn tenants_n(db: &Db, from: usize, n: usize) {
    for i in from..from + n {
        tenants::create(
            db,
            &operator(),
            new_tenant(&format!("Keyed {i}"), &format!("keyed{i}.com.br")),
        )
        .await
        .unwrap();
    }
}

async fn keyed(legacy: usize, changes: usize) -> Keyed {
    let mut t = fresh().await;
    tenants_n(&t.db, 0, legacy).await;
    let keys = Keys::new(MasterKey::from_bytes([3; 32]), vec![]);
    let init = secrets::init(&t.db, &operator(), &keys).await.unwrap();
    assert!(init.registered);
    let dir = tempfile::tempdir().unwrap();
    let bare = t.db.clone();
    t.db = bare.clone().with_audit_keys(Some(
        AuditKeys::from_keys(&keys).with_checkpoint_file(&dir.path().join(CHECKPOINT_FILE)),
    ));
    tenants_n(&t.db, legacy, changes).await;
    Keyed { t, bare, keys, dir }
}

/// Runs `statements` with the append-only triggers out of the way, as the database owner.
async fn as_owner(t: &TestDb, statements: &[String]) {
    match engine() {
        Engine::Sqlite => {
            let mut tx = t.db.begin().await.unwrap();
            for s in ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"] {
                tx.execute(s, args![]).await.unwrap();
            }
            for s in statements {
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
            let mut tx = t.owner.begin().await.unwrap();
            tx.execute("ALTER TABLE audit_log DISABLE TRIGGER USER", args![])
                .await
                .unwrap();
            for s in statements {
                tx.execute(s, args![]).await.unwrap();
            }
            tx.execute("ALTER TABLE audit_log ENABLE TRIGGER USER", args![])
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    }
}

/// Rewrites every row's hash as `hash_of(prev_hash, row)` with `key_id`, from genesis on — what
/// someone with write access does to make edits verify.
async fn recompute<F>(t: &TestDb, key_id: Option<&str>, hash_of: F)
where
    F: Fn(&str, &audit::AuditRecord) -> String,
{
    let last: i64 = t.db.scalar("SELECT MAX(seq) FROM audit_log", args![]).await.unwrap();
    let mut prev = audit::GENESIS.to_owned();
    let mut statements = Vec::new();
    for seq in 1..=last {
        let r = audit::get(&t.db, &operator(), &seq.to_string()).await.unwrap();
        let hash = hash_of(&prev, &r);
        let key = key_id.map_or("NULL".to_owned(), |k| format!("'{k}'"));
        statements.push(format!(
            "UPDATE audit_log SET prev_hash = '{prev}', hash = '{hash}', key_id = {key} WHERE seq = {seq}"
        ));
        prev = hash;
    }
    as_owner(t, &statements).await;
}

async fn reason(db: &Db) -> String {
    let r = audit::verify(db, &operator()).await.unwrap();
    assert!(!r.ok, "verify must fail: {r:?}");
    r.first_bad.unwrap().reason
}

#[tokio::test]
async fn a_keyed_chain_follows_its_legacy_prefix_and_keyless_writers_are_refused() {
    let k = keyed(2, 3).await;
    let report = audit::verify(&k.t.db, &operator()).await.unwrap();
    assert!(report.ok, "{report:?}");
    // 2 legacy rows, then keys.init and 3 keyed changes.
    assert_eq!((report.rows, report.keyed_rows), (6, 4));
    let ids: Vec<(i64, Option<String>)> =
        k.t.db
            .fetch_all("SELECT seq, key_id FROM audit_log ORDER BY seq", args![])
            .await
            .unwrap();
    let id = k.keys.current_id().to_string();
    assert_eq!(ids[1], (2, None));
    assert_eq!(ids[2], (3, Some(id.clone())));
    let init: (String,) =
        k.t.db
            .fetch_optional("SELECT action FROM audit_log WHERE seq = 3", args![])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(init.0, "keys.init");
    // A process without the key writes nothing rather than an unkeyed row.
    let refused = tenants::create(&k.bare, &operator(), new_tenant("Sem Chave", "semchave.com")).await;
    assert!(
        matches!(&refused, Err(ServiceError::Unavailable(m)) if m.contains("keyed")),
        "{refused:?}"
    );
    let rows: i64 = k.t.db.scalar("SELECT COUNT(*) FROM audit_log", args![]).await.unwrap();
    assert_eq!(rows, 6, "nothing written");
    // Nor can it vouch for the chain.
    assert!(matches!(
        audit::verify(&k.bare, &operator()).await,
        Err(ServiceError::Unavailable(_))
    ));
    // An edit of a keyed row whose plain hash is recomputed is no longer hidden.
    let r = audit::get(&k.t.db, &operator(), "5").await.unwrap();
    let mut edited = r.clone();
    edited.actor_name = "someone-else".into();
    let plain = audit::row_hash(r.prev_hash.as_deref().unwrap(), &edited);
    as_owner(
        &k.t,
        &[format!(
            "UPDATE audit_log SET actor_name = 'someone-else', hash = '{plain}' WHERE seq = 5"
        )],
    )
    .await;
    let bad = audit::verify(&k.t.db, &operator()).await.unwrap().first_bad.unwrap();
    assert_eq!(bad.seq, 5);
    assert!(bad.reason.contains("hash mismatch"), "{}", bad.reason);
}

#[tokio::test]
async fn checkpoints_catch_a_cut_tail_and_a_wiped_table() {
    let k = keyed(1, 4).await;
    let cp = audit::checkpoint(&k.t.db, &operator()).await.unwrap();
    assert_eq!(
        (cp.seq, cp.rows, cp.key_id.as_str()),
        (6, 6, k.keys.current_id().to_string().as_str())
    );
    let text = std::fs::read_to_string(k.file()).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert_eq!(serde_json::from_str::<audit::Checkpoint>(text.trim()).unwrap(), cp);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(k.file()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let ok = audit::verify(&k.t.db, &operator()).await.unwrap();
    assert!(ok.ok && ok.checkpoints == 1, "{ok:?}");

    // The last two rows go: the chain that is left is intact, only the checkpoint knows.
    as_owner(&k.t, &["DELETE FROM audit_log WHERE seq > 4".to_owned()]).await;
    assert!(
        audit::verify(&k.no_file(), &operator()).await.unwrap().ok,
        "without the checkpoint a cut tail cannot be seen"
    );
    let why = reason(&k.t.db).await;
    assert!(
        why.contains("rows after seq 4 are missing") && why.contains("cut off"),
        "{why}"
    );
    // A broken chain is not vouched for.
    let refused = audit::checkpoint(&k.t.db, &operator()).await;
    assert!(matches!(refused, Err(ServiceError::Conflict(_))), "{refused:?}");
    assert_eq!(std::fs::read_to_string(k.file()).unwrap().lines().count(), 1);

    as_owner(&k.t, &["DELETE FROM audit_log".to_owned()]).await;
    let why = reason(&k.t.db).await;
    assert!(why.contains("empty") && why.contains("wiped"), "{why}");
}

#[tokio::test]
async fn a_chain_recomputed_without_the_key_is_caught() {
    let k = keyed(1, 3).await;
    audit::checkpoint(&k.t.db, &operator()).await.unwrap();
    recompute(&k.t, None, audit::row_hash).await;
    // The registered key's date alone already says later rows must be keyed...
    let why = reason(&k.no_file()).await;
    assert!(why.contains("recomputed without the key"), "{why}");
    // ...and with that record wiped too, the checkpoint still does.
    k.t.db.execute("DELETE FROM master_keys", args![]).await.unwrap();
    let bad = audit::verify(&k.t.db, &operator()).await.unwrap().first_bad.unwrap();
    assert_eq!(bad.seq, 5, "the checkpoint's row");
    assert!(
        bad.reason.contains("differs from the signed checkpoint"),
        "{}",
        bad.reason
    );
}

#[tokio::test]
async fn a_chain_recomputed_with_another_key_is_caught() {
    let k = keyed(0, 3).await;
    audit::checkpoint(&k.t.db, &operator()).await.unwrap();
    let attacker = AuditKeys::from_keys(&Keys::new(MasterKey::from_bytes([66; 32]), vec![]));
    let theirs = attacker.current_id().to_owned();
    // Claiming the deployment's key id: the HMAC does not match.
    let ours = k.keys.current_id().to_string();
    recompute(&k.t, Some(&ours), |prev, r| {
        audit::keyed_row_hash(&attacker, &theirs, prev, r).unwrap()
    })
    .await;
    let bad = audit::verify(&k.no_file(), &operator())
        .await
        .unwrap()
        .first_bad
        .unwrap();
    assert_eq!(bad.seq, 1);
    assert!(bad.reason.contains("without the right key"), "{}", bad.reason);
    // Naming their own key: nobody here holds it.
    recompute(&k.t, Some(&theirs), |prev, r| {
        audit::keyed_row_hash(&attacker, &theirs, prev, r).unwrap()
    })
    .await;
    let why = reason(&k.t.db).await;
    assert!(why.contains(&format!("master key {theirs}")), "{why}");
}

#[tokio::test]
async fn a_forged_or_edited_checkpoint_is_reported() {
    let k = keyed(0, 2).await;
    let cp = audit::checkpoint(&k.t.db, &operator()).await.unwrap();
    // Someone lowers the checkpoint to hide a cut tail.
    let mut edited = cp.clone();
    edited.seq = 1;
    edited.rows = 1;
    let elsewhere = k.dir.path().join("shipped.jsonl");
    std::fs::write(&elsewhere, format!("{}\n", serde_json::to_string(&edited).unwrap())).unwrap();
    let r = audit::verify_with(&k.no_file(), &operator(), std::slice::from_ref(&elsewhere))
        .await
        .unwrap();
    assert!(!r.ok);
    let why = r.first_bad.unwrap().reason;
    assert!(why.contains("line 1") && why.contains("forged or edited"), "{why}");
    // A line that is not a checkpoint at all.
    std::fs::write(
        k.file(),
        format!("{}\n{{\"seq\": 9}}\n", serde_json::to_string(&cp).unwrap()),
    )
    .unwrap();
    let why = reason(&k.t.db).await;
    assert!(why.contains("line 2") && why.contains("not a checkpoint"), "{why}");
    // A file asked for that is not there is an error, not a pass.
    let missing = audit::verify_with(&k.t.db, &operator(), &[k.dir.path().join("nope.jsonl")]).await;
    assert!(matches!(missing, Err(ServiceError::Unavailable(_))), "{missing:?}");
}

fn job(kind: &str) -> Job {
    Job {
        id: Uuid::now_v7(),
        queue: "maintenance".into(),
        kind: kind.into(),
        payload: json!({}),
        status: "running".into(),
        attempts: 1,
        max_attempts: 5,
        run_at: chrono::Utc::now(),
        lease_until: None,
        locked_by: None,
        last_error: None,
        error_history: json!([]),
        unique_key: None,
        tenant_id: None,
        enqueued_by: "scheduler".into(),
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        finished_at: None,
        started_at: None,
    }
}

#[tokio::test]
async fn the_scheduled_job_appends_checkpoints_and_needs_the_key() {
    let k = keyed(0, 1).await;
    assert!(jobs::schedule::defaults().iter().any(|d| d.kind == "audit.checkpoint"));
    jobs::checkpoint::audit_checkpoint(job("audit.checkpoint"), k.t.db.clone())
        .await
        .unwrap();
    tenants_n(&k.t.db, 10, 1).await;
    jobs::checkpoint::audit_checkpoint(job("audit.checkpoint"), k.t.db.clone())
        .await
        .unwrap();
    let lines: Vec<audit::Checkpoint> = std::fs::read_to_string(k.file())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().map(|c| c.seq).collect::<Vec<_>>(), [2, 3]);
    let keyless = jobs::checkpoint::audit_checkpoint(job("audit.checkpoint"), k.bare.clone()).await;
    assert!(matches!(keyless, Err(JobError::Permanent(m)) if m.contains("master key")));
    // A deployment never set up has nothing to vouch for: no failure piling up, no file.
    let unset = fresh().await;
    jobs::checkpoint::audit_checkpoint(job("audit.checkpoint"), unset.db.clone())
        .await
        .unwrap();
}

#[tokio::test]
async fn ciphertexts_swapped_between_rows_do_not_open() {
    let mut t = fresh().await;
    let keys = Keys::new(MasterKey::from_bytes([4; 32]), vec![]);
    t.db = crate::secrets::registered(&t.db, &keys).await;
    let a = add_server(&t.db, &keys, "whm-a", "TOKEN-A").await;
    let b = add_server(&t.db, &keys, "whm-b", "TOKEN-B").await;
    let (va, vb) = (token_of(&t.db, a).await, token_of(&t.db, b).await);
    assert_eq!(keys.decrypt("servers.api_token_enc", a, &va).unwrap(), b"TOKEN-A");
    // Swap them in SQL, as someone with the database credential could.
    for (id, v) in [(a, vb), (b, va)] {
        t.db.execute("UPDATE servers SET api_token_enc = $2 WHERE id = $1", args![id, v])
            .await
            .unwrap();
    }
    for id in [a, b] {
        assert!(matches!(
            keys.decrypt("servers.api_token_enc", id, &token_of(&t.db, id).await),
            Err(SecretError::Inauthentic)
        ));
    }
}

/// The attack the row binding stops: copying one's own enrolled TOTP secret into the admin's
/// row, then passing the admin's second factor with one's own authenticator.
#[tokio::test]
async fn a_totp_secret_copied_into_another_users_row_is_refused() {
    use crate::identity::{enable_2fa, session, try_login, user, PASSWORD};
    let t = fresh().await;
    let at = backend::db::now();
    user(&t.db, "boss", backend::Role::SuperAdmin).await;
    user(&t.db, "mallory", backend::Role::SupportAgent).await;
    let boss = session(try_login(&t.db, "boss", PASSWORD, None, at).await);
    enable_2fa(&t.db, &boss, at).await;
    let mallory = session(try_login(&t.db, "mallory", PASSWORD, None, at).await);
    let (mallory_secret, _) = enable_2fa(&t.db, &mallory, at).await;
    t.db.execute(
        "UPDATE users SET totp_secret_enc = (SELECT totp_secret_enc FROM users WHERE username = 'mallory') \
         WHERE username = 'boss'",
        args![],
    )
    .await
    .unwrap();
    let later = at + chrono::TimeDelta::seconds(90);
    let code = backend::identity::totp::code_at(&mallory_secret, later).unwrap();
    let r = try_login(&t.db, "boss", PASSWORD, Some(code), later).await;
    assert!(
        matches!(&r, Err(ServiceError::Unavailable(m)) if m.contains("another column or row")),
        "{r:?}"
    );
}

#[tokio::test]
async fn only_the_registered_key_is_used() {
    let t = fresh().await;
    let mine = Keys::new(MasterKey::from_bytes([6; 32]), vec![]);
    let stranger = Keys::new(MasterKey::from_bytes([7; 32]), vec![]);
    // Before any setup nothing is registered: no key is good for sealing.
    let pre = secrets::registered(&t.db, &mine).await.unwrap();
    assert!(!pre.can_seal());
    let refused = pre.encrypt("servers.api_token_enc", Uuid::now_v7(), b"x");
    assert!(
        matches!(&refused, Err(e @ SecretError::Unregistered(_)) if e.to_string().contains("painel keys init")),
        "{refused:?}"
    );
    secrets::init(&t.db, &operator(), &mine).await.unwrap();
    assert_eq!(
        secrets::registered(&t.db, &mine).await.unwrap().current_id(),
        mine.current_id()
    );
    // Another OS user's own key is refused, for use and for registration.
    assert!(matches!(
        secrets::registered(&t.db, &stranger).await,
        Err(ServiceError::Unavailable(m)) if m.contains("not registered")
    ));
    let r = secrets::init(&t.db, &operator(), &stranger).await;
    assert!(
        matches!(&r, Err(ServiceError::Conflict(m)) if m.contains("is not one of them")),
        "{r:?}"
    );
    // What is stored is an id and a check value, never the key.
    let (id, check): (String, String) =
        t.db.fetch_optional("SELECT key_id, check_value FROM master_keys", args![])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(id, mine.current_id().to_string());
    assert_eq!(check, secrets::check_value(mine.current()));
    let key_b64 = mine.current().encode();
    assert!(!check.contains(&key_b64) && check.len() == 32);
}

#[tokio::test]
async fn the_postgres_audit_head_function_is_pinned_to_pg_catalog() {
    let Engine::Postgres = engine() else {
        return;
    };
    let t = fresh().await;
    let (config, definer): (String, bool) =
        t.db.fetch_optional(
            "SELECT array_to_string(proconfig, ','), prosecdef FROM pg_proc WHERE proname = 'painel_audit_head'",
            args![],
        )
        .await
        .unwrap()
        .unwrap();
    assert!(definer);
    assert_eq!(config, "search_path=pg_catalog");
    // A look-alike table earlier in a caller's path changes nothing: the name is qualified.
    // The owner can create look-alikes the application role could not.
    t.owner.execute("CREATE SCHEMA evil", args![]).await.unwrap();
    t.owner
        .execute(
            "CREATE TABLE evil.audit_log AS SELECT 999::bigint AS seq, 'x'::text AS hash, 'y'::text AS key_id",
            args![],
        )
        .await
        .unwrap();
    tenants_n(&t.db, 0, 1).await;
    let mut tx = t.owner.begin().await.unwrap();
    tx.execute("SET LOCAL search_path = evil, public", args![])
        .await
        .unwrap();
    let head: (i64,) = tx
        .fetch_one("SELECT seq FROM public.painel_audit_head()", args![])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(head.0, 1);
}

fn painel_in(t: &TestDb, home: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_painel"))
        .args(["--database-url", &t.url, "--data-dir"])
        .arg(home.join("data"))
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home)
        .env("PAINEL_OPERATOR", "cli-tester")
        .env_remove("PAINEL_DATABASE_URL")
        .env_remove("PAINEL_MASTER_KEY")
        .env_remove("PAINEL_MASTER_KEY_PREVIOUS")
        .output()
        .unwrap()
}

#[tokio::test]
async fn checkpoint_and_verify_through_the_binary() {
    let t = fresh().await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let init = painel_in(&t, h, &["keys", "init"]);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    for (name, domain) in [("Um", "um.com"), ("Dois", "dois.com"), ("Tres", "tres.com")] {
        let o = painel_in(&t, h, &["tenants", "create", "--name", name, "--domain", domain]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let cp = painel_in(&t, h, &["audit", "checkpoint"]);
    assert_eq!(cp.status.code(), Some(0), "{}", stderr(&cp));
    let line: serde_json::Value = serde_json::from_str(stdout(&cp).trim()).unwrap();
    assert_eq!((line["seq"].as_i64(), line["rows"].as_i64()), (Some(4), Some(4)));
    let file = h.join("data").join(CHECKPOINT_FILE);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), stdout(&cp).trim());
    let ok = painel_in(&t, h, &["-o", "json", "audit", "verify"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let report: serde_json::Value = serde_json::from_str(&stdout(&ok)).unwrap();
    assert_eq!(
        (report["keyed_rows"].as_i64(), report["checkpoints"].as_i64()),
        (Some(4), Some(1))
    );

    // A copy shipped elsewhere, then edited: named, exit 1.
    let shipped = h.join("shipped.jsonl");
    std::fs::write(&shipped, stdout(&cp).replace("\"rows\":4", "\"rows\":3")).unwrap();
    let forged = painel_in(&t, h, &["audit", "verify", "--checkpoints", shipped.to_str().unwrap()]);
    assert_eq!(forged.status.code(), Some(1), "{}", stdout(&forged));
    assert!(stderr(&forged).contains("forged or edited"), "{}", stderr(&forged));

    as_owner(&t, &["DELETE FROM audit_log WHERE seq = 4".to_owned()]).await;
    let cut = painel_in(&t, h, &["audit", "verify"]);
    assert_eq!(cut.status.code(), Some(1), "{}", stdout(&cut));
    assert!(stderr(&cut).contains("cut off"), "{}", stderr(&cut));
    // Another OS user (no key of the deployment) can neither write nor verify.
    let other = tempfile::tempdir().unwrap();
    let w = painel_in(
        &t,
        other.path(),
        &["tenants", "create", "--name", "Quatro", "--domain", "quatro.com"],
    );
    assert_eq!(w.status.code(), Some(1), "{}", stderr(&w));
    assert!(stderr(&w).contains("keyed"), "{}", stderr(&w));
    assert!(!other.path().join("data").join("master.key").exists());
}
