//! Migrations (issue 13): the queue's progress bars per migration and stage, moving without
//! a key press; one migration's log followed like `tail -f`, with the stage filter. 80×24.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, clippy::too_many_arguments)]

mod common;

use std::time::Duration;

use backend::hosting::servers::{self, NewServer};
use backend::{args, tenants, Db};
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::migrations::detail::MigrationScreen;
use painel_ui::screens::migrations::queue::QueueScreen;
use uuid::Uuid;

struct Seeded {
    db: Db,
    _dir: tempfile::TempDir,
    running: Uuid,
}

async fn insert(
    db: &Db,
    tenant: Uuid,
    server: Uuid,
    n: u128,
    status: &str,
    progress: i64,
    stages: &str,
    error: Option<&str>,
) -> Uuid {
    let id = nth(n);
    db.execute(
        "INSERT INTO migrations (id, tenant_id, source_host, source_user, target_server_id, status, stage, progress, \
         error, auth_kind, accounts, step, stage_progress, created_at, updated_at) \
         VALUES ($1, $2, $3, 'root', $4, $5, 'files', $6, $7, 'root', $8, 'monitor', $9, $10, $10)",
        args![
            id,
            tenant,
            format!("old{n}.example.com.br"),
            server,
            status,
            progress,
            error,
            r#"["joao01","maria02"]"#,
            stages,
            format!("2026-12-0{n}T10:00:00Z")
        ],
    )
    .await
    .unwrap();
    id
}

async fn log(db: &Db, tenant: Uuid, m: Uuid, stage: &str, level: &str, msg: &str, second: u32) {
    db.execute(
        "INSERT INTO migration_logs (id, tenant_id, migration_id, stage, level, message, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![Uuid::now_v7(), tenant, m, stage, level, msg, format!("2026-12-06T10:00:{second:02}Z")],
    )
    .await
    .unwrap();
}

async fn seeded() -> Seeded {
    let (db, dir) = db_with(1).await;
    let a = actor();
    let tenant = tenants::list(&db, &a, &Default::default()).await.unwrap().items[0].id;
    let server = servers::create(
        &db,
        &a,
        None,
        NewServer {
            name: "whm-gru-02".into(),
            hostname: "whm-gru-02.painel.example".into(),
            ip: "203.0.113.9".into(),
            region: "gru".into(),
            whm_url: "https://whm-gru-02.painel.example:2087".into(),
            ..NewServer::default()
        },
    )
    .await
    .unwrap()
    .id;
    let running = insert(
        &db,
        tenant,
        server,
        3,
        "running",
        44,
        r#"{"email":100,"databases":50,"files":0}"#,
        None,
    )
    .await;
    insert(
        &db,
        tenant,
        server,
        2,
        "success",
        100,
        r#"{"email":100,"databases":100,"files":100,"dns":100,"ssl":100}"#,
        None,
    )
    .await;
    insert(
        &db,
        tenant,
        server,
        1,
        "failed",
        27,
        r#"{"email":100}"#,
        Some("maria02: databases failed (critical): MySQL dump is corrupt"),
    )
    .await;
    let lines = [
        ("credentials", "info", "credentials accepted by old3.example.com.br"),
        ("session", "info", "enqueued account joao01 (AccountRemoteRoot)"),
        (
            "email",
            "info",
            "joao01: Copying e-mail accounts, forwarders and filters …",
        ),
        ("email", "info", "joao01: email done."),
        ("databases", "info", "joao01: Dumping and copying MySQL databases …"),
        ("databases", "warn", "joao01: \u{1b}[31mslow dump\u{1b}[0m retrying"),
    ];
    for (i, (stage, level, msg)) in lines.iter().enumerate() {
        log(&db, tenant, running, stage, level, msg, i as u32).await;
    }
    Seeded { db, _dir: dir, running }
}

fn clock_masked(text: &str) -> String {
    let re = regex_lite(text);
    stable(&re)
}

/// `HH:MM:SS` → `##:##:##` (the log's times are the machine's local time).
fn regex_lite(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        let is_time = i + 8 <= c.len()
            && (0..8).all(|k| {
                if k == 2 || k == 5 {
                    c[i + k] == ':'
                } else {
                    c[i + k].is_ascii_digit()
                }
            });
        if is_time {
            out.push_str("##:##:##");
            i += 8;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[tokio::test]
async fn the_queue_shows_bars_per_migration_and_stage_and_moves_by_itself() {
    let s = seeded().await;
    let mut app = app_on(&s.db, actor(), "migrations").await;
    let q: &QueueScreen = app.screen_as().expect("queue screen");
    assert_eq!(q.rows.as_ref().unwrap().len(), 3);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("1 running, 3 in all"), "{text}");
    assert!(text.contains("old3.example.com.br → whm-gru-02"), "{text}");
    assert!(text.contains("email ██████ databases ███░░░ files ░░░░░░"), "{text}");
    assert!(text.contains("MySQL dump is corrupt"), "{text}");
    let first = text.lines().position(|l| l.contains("running")).unwrap();
    let done = text.lines().position(|l| l.contains("success")).unwrap();
    assert!(first < done, "active migrations first:\n{text}");
    assert_snapshot!("migrations_queue_80x24", stable(&text));

    // The job moves the row; the screen follows on its own (no key pressed).
    s.db.execute(
        "UPDATE migrations SET progress = 81, stage_progress = $2 WHERE id = $1",
        args![s.running, r#"{"email":100,"databases":100,"files":100,"dns":50}"#],
    )
    .await
    .unwrap();
    pump_until(&mut app, Duration::from_secs(10), |app| {
        let q: &QueueScreen = app.screen_as().unwrap();
        q.rows.as_ref().unwrap().iter().any(|m| m.progress == 81)
    })
    .await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains(" 81%"), "{text}");

    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), format!("migrations/{}", s.running));
}

/// The id `insert` gives migration `n`.
fn nth(n: u128) -> Uuid {
    Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0000 + n)
}

#[tokio::test]
async fn the_queue_at_80_columns_cuts_long_names_with_an_ellipsis_and_keeps_the_target_whole() {
    let s = seeded().await;
    // A customer's host name is a long FQDN (or hostile text, wide characters included); the
    // target is one of our servers. An SSL failure's message is longer than the line.
    for (n, host) in [
        (3, "cpanel01.hospedagem-antiga.example.com.br"),
        (1, "服务器旧主机名字.例子.example.com.br"),
    ] {
        s.db.execute(
            "UPDATE migrations SET source_host = $2 WHERE id = $1",
            args![nth(n), host],
        )
        .await
        .unwrap();
    }
    s.db.execute(
        "UPDATE migrations SET error = $2 WHERE id = $1",
        args![
            nth(1),
            "The SSL certificate for loja.example.com.br could not be issued: the certificate \
             authority answered 429 (too many requests)"
        ],
    )
    .await
    .unwrap();
    let mut app = app_on(&s.db, actor(), "migrations").await;
    let t = render(&mut app, 80, 24);
    let text = cells_text(&t);
    let heads: Vec<&str> = text.lines().filter(|l| l.contains('%')).collect();
    assert_eq!(heads.len(), 3, "{text}");
    for head in &heads {
        assert!(head.contains("→ whm-gru-02 "), "the target whole:\n{text}");
    }
    assert!(
        heads[0].contains("cpanel01.hospedagem-antig… → whm-gru-02"),
        "the source cut with a mark:\n{text}"
    );
    assert!(heads[2].contains("… → whm-gru-02"), "{text}");
    assert!(
        text.contains("email ██████ databases ███░░░ files ░░░░░░ dns ░░░░░░ ssl ░░░░░░"),
        "whole stage names:\n{text}"
    );
    let error = text.lines().find(|l| l.contains("The SSL")).unwrap();
    assert!(
        error.contains("could not be issued: the") && error.ends_with("… │"),
        "the message cut with a mark:\n{text}"
    );
    // Wide characters: never half of one; the row still ends at the border.
    let buf = t.backend().buffer();
    let y = (0..buf.area.height)
        .find(|y| (0..buf.area.width).any(|x| buf[(x, *y)].symbol() == "服"))
        .unwrap();
    assert_eq!(buf[(79, y)].symbol(), "│");
    assert_snapshot!("migrations_queue_long_names_80x24", stable(&text));
}

#[tokio::test]
async fn the_log_follows_like_tail_and_filters_by_stage() {
    let s = seeded().await;
    let mut app = app_on(&s.db, actor(), &format!("migrations/{}", s.running)).await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Log · all stages · following"), "{text}");
    assert!(text.contains("credentials accepted by old3.example.com.br"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "escape sequences from the source are not printed"
    );
    // Stage names whole, as on the queue screen (it used to say "datab").
    assert!(text.contains("email ██████ databases "), "{text}");
    assert_snapshot!("migration_log_80x24", clock_masked(&text));

    // A new line arrives: it shows without a key press, at the bottom.
    let tenant: Uuid =
        s.db.scalar("SELECT tenant_id FROM migrations WHERE id = $1", args![s.running])
            .await
            .unwrap();
    log(
        &s.db,
        tenant,
        s.running,
        "files",
        "info",
        "joao01: Copying the home directory …",
        40,
    )
    .await;
    pump_until(&mut app, Duration::from_secs(10), |app| {
        let d: &MigrationScreen = app.screen_as().unwrap();
        d.lines.iter().any(|l| l.message.contains("home directory"))
    })
    .await;
    let text = screen_text(&render(&mut app, 80, 24));
    let last = text.lines().rfind(|l| l.contains("joao01")).unwrap();
    assert!(last.contains("home directory"), "the newest line is last:\n{text}");

    // `f` steps through the stages: credentials, session, email…
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('f'));
    }
    pump_until(&mut app, Duration::from_secs(10), |app| {
        let d: &MigrationScreen = app.screen_as().unwrap();
        d.stage == Some("email") && !d.lines.is_empty()
    })
    .await;
    let d: &MigrationScreen = app.screen_as().unwrap();
    assert!(d.lines.iter().all(|l| l.stage == "email"), "{:?}", d.lines);
    assert_eq!(d.lines.len(), 2);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Log · email · following"), "{text}");
    assert!(!text.contains("MySQL"), "{text}");
}

#[tokio::test]
async fn the_form_takes_a_migration_and_shows_the_services_field_errors() {
    let s = seeded().await;
    let mut app = app_on(&s.db, actor(), "migrations").await;
    ch(&mut app, 'c');
    app.settle().await;
    assert_eq!(app.route().path(), "migrations/new");
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("New migration") && text.contains("Source host"), "{text}");
    assert_snapshot!("migration_form_80x24", stable(&text));
    // Nothing typed for the source: the service's validation names the field. (Enter on
    // the empty tenant field would open its picker: send from the source field.)
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    pump_until(&mut app, Duration::from_secs(10), |app| {
        let f: &painel_ui::screens::migrations::create::MigrationForm = app.screen_as().unwrap();
        !f.busy && f.form.error_of("source_host").is_some()
    })
    .await;
    let f: &painel_ui::screens::migrations::create::MigrationForm = app.screen_as().unwrap();
    assert_eq!(f.form.value("password"), "", "the password leaves the form once sent");
}

/// The tenant and the target server are picked (docs/adr/0022), not typed blind: the target
/// picker offers the WHM servers; a name it does not offer is still taken as typed, for the
/// service to judge.
#[tokio::test]
async fn the_form_picks_the_tenant_and_the_target_server() {
    use painel_ui::screens::migrations::create::MigrationForm;
    let s = seeded().await;
    let slug: String = s.db.scalar("SELECT slug FROM tenants", args![]).await.unwrap();
    let mut app = app_on(&s.db, actor(), "migrations/new").await;
    typ(&mut app, &slug[..4]);
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains(&format!("▸ {slug}")),
        "the tenant picker offers it:\n{text}"
    );
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let f: &MigrationForm = app.screen_as().unwrap();
    assert_eq!((f.form.value("tenant"), f.form.focus), (slug.clone(), 1));

    for _ in 0..5 {
        press(&mut app, KeyCode::Tab);
    }
    typ(&mut app, "gru");
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("▸ whm-gru-02"),
        "the target picker offers the server:\n{text}"
    );
    assert!(text.contains("enter choose"), "{text}");
    assert_snapshot!("migration_form_target_picker_80x24", stable(&text));
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let f: &MigrationForm = app.screen_as().unwrap();
    assert_eq!(f.form.value("target"), "whm-gru-02");
    assert!(f.target.open.is_none());

    // A name the picker does not know: Enter keeps it (the service says whether it exists).
    // (Choosing moved on: past the last field is the first.)
    press(&mut app, KeyCode::BackTab);
    for _ in 0.."whm-gru-02".len() {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "whm-novo-09");
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("enter keeps what you typed"), "{text}");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let f: &MigrationForm = app.screen_as().unwrap();
    assert_eq!(f.form.value("target"), "whm-novo-09");
}

/// Runs the app (results and the 250 ms tick) for `d`, whatever happens.
async fn pump_for(app: &mut painel_ui::App, d: Duration) {
    let deadline = tokio::time::Instant::now() + d;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            Some(r) = app.next_result() => {
                app.apply(r);
                app.drain_ready();
            }
            _ = tick.tick() => app.tick(),
            _ = tokio::time::sleep_until(deadline) => return,
        }
    }
}

fn progress_of(app: &painel_ui::App, id: Uuid) -> i64 {
    let q: &QueueScreen = app.screen_as().unwrap();
    q.rows.as_ref().unwrap().iter().find(|m| m.id == id).unwrap().progress
}

#[tokio::test]
async fn with_redis_the_queue_reloads_on_painel_migrations_messages_not_on_the_tick() {
    let Ok(url) = std::env::var("PAINEL_TEST_REDIS_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs with Redis (PAINEL_TEST_REDIS_URL)"
        );
        eprintln!("skipping: PAINEL_TEST_REDIS_URL is not set");
        return;
    };
    let s = seeded().await;
    let db = s.db.clone().with_bus(Some(backend::bus::Bus::connect(&url).unwrap()));
    let mut app = app_on(&db, actor(), "migrations").await;
    pump_until(&mut app, Duration::from_secs(20), |app| {
        app.screen_as::<QueueScreen>().is_some_and(|q| q.live)
    })
    .await;
    pump_for(&mut app, Duration::from_millis(300)).await;
    assert_eq!(progress_of(&app, s.running), 44);

    // A change nobody announces is not polled for while the bus is up...
    db.execute("UPDATE migrations SET progress = 61 WHERE id = $1", args![s.running])
        .await
        .unwrap();
    pump_for(&mut app, Duration::from_millis(2500)).await;
    assert_eq!(progress_of(&app, s.running), 44, "the tick does not reload while live");

    // ...and one announced on `painel:migrations` is read at once.
    let mut tx = db.begin().await.unwrap();
    tx.execute("UPDATE migrations SET progress = 62 WHERE id = $1", args![s.running])
        .await
        .unwrap();
    tx.after_commit(backend::transfers::CHANNEL, s.running.to_string());
    tx.commit().await.unwrap();
    let t0 = std::time::Instant::now();
    pump_until(&mut app, Duration::from_secs(5), |app| {
        progress_of(app, s.running) == 62
    })
    .await;
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}
