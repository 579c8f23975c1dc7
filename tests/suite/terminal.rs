//! What painel prints is safe for the operator's terminal, and what it stores on disk is the
//! operator's alone: hostile stored text through every batch output format, and the modes of
//! the data dir and the SQLite files.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use backend::audit::{self, Change};
use backend::Actor;

use crate::cli::{painel, stderr, stdout};
use crate::common::{engine, fresh, Engine};

/// A failed login's username as an attacker would type it: clear the screen, set the window
/// title, then reverse what follows.
const HOSTILE: &str = "\x1b[2J\x1b]0;pwned\x07\u{202e}nimda\u{9b}31m";

fn assert_harmless(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| {
            c.is_control() && !matches!(c, '\n' | '\r' | '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "{what} printed {bad:?}:\n{text}");
}

#[tokio::test]
async fn hostile_stored_text_prints_harmless_in_every_format() {
    let t = fresh().await;
    let mut who = Actor::system(HOSTILE);
    who.source = format!("ssh 10.0.0.1 {HOSTILE}");
    let mut tx = t.db.begin().await.unwrap();
    audit::record(
        &mut tx,
        &who,
        Change {
            action: "auth.login_failed",
            entity: "user",
            entity_id: Some(HOSTILE.into()),
            tenant_id: None,
            before: None,
            after: Some(serde_json::json!({ "username": HOSTILE })),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let table = painel(&t, &["-o", "table", "audit", "list"]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    assert_harmless("audit list -o table", &stdout(&table));
    // Visible, not hidden: the operator sees that someone typed escapes.
    assert!(
        stdout(&table).contains("\u{241b}[2J\u{241b}]0;pwned\u{2407}"),
        "{}",
        stdout(&table)
    );

    let csv = painel(&t, &["-o", "csv", "audit", "list"]);
    assert_eq!(csv.status.code(), Some(0), "{}", stderr(&csv));
    assert_harmless("audit list -o csv", &stdout(&csv));
    assert!(stdout(&csv).contains("pwned"), "{}", stdout(&csv));

    let show = painel(&t, &["-o", "table", "audit", "show", "1"]);
    assert_eq!(show.status.code(), Some(0), "{}", stderr(&show));
    assert_harmless("audit show -o table", &stdout(&show));

    // JSON escapes every control and still carries the exact value for scripts.
    for args in [
        &["-o", "json", "audit", "list"][..],
        &["-o", "json", "audit", "export", "--since", "2000-01-01T00:00:00Z"][..],
    ] {
        let json = painel(&t, args);
        assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
        assert_harmless("JSON", &stdout(&json));
        let rows: serde_json::Value =
            serde_json::from_str(&stdout(&json)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&json)));
        assert_eq!(rows[0]["actor_name"], HOSTILE, "{args:?}");
    }

    // Errors quote what was typed or stored; they are printed clean too.
    let missing = painel(&t, &["tenants", "show", HOSTILE]);
    assert_ne!(missing.status.code(), Some(0));
    assert_harmless("an error message", &stderr(&missing));
    let missing_json = painel(&t, &["-o", "json", "tenants", "show", HOSTILE]);
    assert_harmless("a JSON error", &stderr(&missing_json));
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_data_dir_and_sqlite_files_are_private() {
    if !matches!(engine(), Engine::Sqlite) {
        eprintln!("file modes are SQLite's: checked in the SQLite pass");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("nested/painel-data");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_painel"))
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("XDG_CONFIG_HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env("PAINEL_OPERATOR", "cli-tester")
            .env_remove("PAINEL_DATABASE_URL")
            .output()
            .unwrap()
    };
    let o = run(&["tenants", "create", "--name", "Um", "--domain", "um.com"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning: data dir"), "{}", stderr(&o));
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(mode(&data.join("logs")), 0o700, "log dir");
    assert_eq!(mode(&data.join("painel.sqlite")), 0o600, "database file");

    // An existing data dir open to others is reported, with the fix.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = run(&["tenants", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: data dir") && stderr(&o).contains("chmod 700"),
        "{}",
        stderr(&o)
    );

    // While the database is open its WAL and shared-memory files exist: 0600 as well, and an
    // existing database left world-readable is narrowed when opened.
    let db_path = data.join("painel.sqlite");
    std::fs::set_permissions(&db_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = backend::Db::connect(&format!("sqlite://{}", db_path.display()))
        .await
        .unwrap();
    let _: i64 = db
        .scalar("SELECT COUNT(*) FROM tenants", backend::args![])
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    tx.execute("UPDATE tenants SET name = name", backend::args![])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for file in ["painel.sqlite", "painel.sqlite-wal", "painel.sqlite-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    db.close().await;
}
