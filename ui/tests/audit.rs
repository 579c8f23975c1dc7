//! The audit log screen on a real SQLite file: filters, a refused filter line, the detail's
//! diff, tenant scoping, and verifying the chain (intact, then tampered with).

mod common;

use backend::audit::{AuditEntry, AuditRecord};
use backend::page::Page;
use backend::tenants::TenantPatch;
use backend::{args, Actor, Role};
use chrono::TimeZone;
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::audit::detail::{diff_lines, AuditDetail, Change, VerifyResult};
use painel_ui::screens::audit::log::AuditLog;
use painel_ui::App;
use uuid::Uuid;

fn audit(app: &App) -> &AuditLog {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on the audit log: {}", app.route().path()))
}

fn audit_mut(app: &mut App) -> &mut AuditLog {
    app.screen_as_mut().unwrap_or_else(|| panic!("not on the audit log"))
}

async fn filter(app: &mut App, line: &str) {
    ch(app, '/');
    typ(app, line);
    press(app, KeyCode::Enter);
    app.settle().await;
}

#[tokio::test]
async fn filters_narrow_and_a_bad_line_changes_nothing() {
    let (db, _dir) = db_with(3).await;
    // Rows the filter must drop: another action on a tenant, and a tenant.create-like action
    // on another entity. Without them every row matches and an ignored filter passes too.
    backend::tenants::update(
        &db,
        &actor(),
        "acme-hosting",
        TenantPatch {
            name: Some("Acme Renamed".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut app = app_on(&db, actor(), "audit-logs").await;
    let all = audit(&app).rows().len();
    assert!(all >= 4, "seeded tenants and the update are audited: {all}");
    filter(&mut app, "action:tenant.create entity:tenant").await;
    let rows = audit(&app).rows();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.action == "tenant.create"), "{rows:?}");
    let before: Vec<i64> = rows.iter().map(|r| r.seq).collect();

    // Clear the line, type a bad one: refused with the field named, rows unchanged.
    ch(&mut app, '/');
    for _ in 0.."action:tenant.create entity:tenant".len() {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "since:soon");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let a = audit(&app);
    assert!(
        a.list.filter_error.as_deref().is_some_and(|e| e.contains("since")),
        "{:?}",
        a.list.filter_error
    );
    assert_eq!(a.rows().iter().map(|r| r.seq).collect::<Vec<_>>(), before);
    assert!(a.title().contains("since"));
}

#[tokio::test]
async fn the_detail_shows_what_an_update_changed() {
    let (mut app, db, _dir) = app_and_db("audit-logs", 1).await;
    let t = backend::tenants::list(&db, &actor(), &Default::default())
        .await
        .unwrap()
        .items
        .remove(0);
    backend::tenants::update(
        &db,
        &actor(),
        &t.slug,
        TenantPatch {
            name: Some("Renamed Brand".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    filter(&mut app, "action:tenant.update").await;
    assert_eq!(audit(&app).rows().len(), 1);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let d = audit(&app).detail.as_ref().expect("detail open");
    let r = d.record.as_ref().expect("record loaded");
    let lines = diff_lines(r);
    assert!(
        lines
            .iter()
            .any(|(c, p, text)| *c == Change::Changed && p == "name" && text.contains("Renamed Brand")),
        "{lines:?}"
    );
    let screen = screen_text(&render(&mut app, 120, 40));
    assert!(
        screen.contains("~ name:") && screen.contains("Renamed Brand"),
        "{screen}"
    );
    press(&mut app, KeyCode::Esc);
    assert!(audit(&app).detail.is_none());
}

#[tokio::test]
async fn a_tenant_user_sees_only_its_tenant_and_cannot_verify() {
    let (db, _dir) = db_with(3).await;
    let t = backend::tenants::list(&db, &actor(), &Default::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let mut app = app_on(&db, Actor::tenant_user("ta", Role::TenantAdmin, t.id), "audit-logs").await;
    let rows = audit(&app).rows();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.tenant_id == Some(t.id)), "{rows:?}");
    ch(&mut app, 'v');
    app.settle().await;
    match &audit(&app).verify {
        Some(VerifyResult::Done(Err(e))) => assert!(e.contains("permission denied"), "{e}"),
        _ => panic!("verify should be refused"),
    }
}

#[tokio::test]
async fn verify_reports_an_intact_chain_then_the_tampered_row() {
    let (mut app, db, _dir) = app_and_db("audit-logs", 2).await;
    app.settle().await;
    ch(&mut app, 'v');
    app.settle().await;
    let (text, good) = audit(&app).verify.as_ref().expect("verify ran").text();
    assert!(good && text.starts_with("Chain intact"), "{text}");
    press(&mut app, KeyCode::Esc);
    assert!(audit(&app).verify.is_none());

    let mut tx = db.begin().await.unwrap();
    for s in [
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2",
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ] {
        tx.execute(s, args![]).await.unwrap();
    }
    tx.commit().await.unwrap();
    ch(&mut app, 'v');
    app.settle().await;
    let (text, good) = audit(&app).verify.as_ref().expect("verify ran").text();
    assert!(!good && text.contains("row 2"), "{text}");
}

fn fixed_entry(seq: i64, action: &str, entity: &str, tenant: Option<Uuid>) -> AuditEntry {
    AuditEntry {
        tenant_slug: None,
        seq,
        id: Uuid::from_u128(seq as u128),
        at: chrono::Utc
            .with_ymd_and_hms(2026, 12, 1, 12, seq as u32 % 60, 0)
            .unwrap(),
        actor_name: "ana".into(),
        actor_role: "super_admin".into(),
        tenant_id: tenant,
        action: action.into(),
        entity: entity.into(),
        entity_id: Some(format!("nuvem-{seq}")),
        source: "ssh:203.0.113.7".into(),
    }
}

/// The screen with fixed rows (times and ids do not depend on the clock).
async fn fixed_app() -> (App, tempfile::TempDir) {
    let (mut app, dir) = app_at("audit-logs", 0).await;
    app.settle().await;
    let tenant = Some(Uuid::from_u128(0xabcdef12));
    let a = audit_mut(&mut app);
    a.list.applied = Some("entity:tenant since:7d".into());
    a.list.page = Some(Page {
        items: vec![
            fixed_entry(42, "tenant.update", "tenant", tenant),
            fixed_entry(41, "tenant.suspend", "tenant", tenant),
            fixed_entry(40, "tenant.create", "tenant", None),
        ],
        has_next: false,
        has_prev: false,
        first: None,
        last: None,
        next_cursor: None,
    });
    (app, dir)
}

fn fixed_record() -> AuditRecord {
    let e = fixed_entry(42, "tenant.update", "tenant", Some(Uuid::from_u128(0xabcdef12)));
    AuditRecord {
        seq: e.seq,
        id: e.id,
        at: e.at,
        actor_user_id: None,
        actor_name: e.actor_name,
        actor_role: e.actor_role,
        tenant_id: e.tenant_id,
        action: e.action,
        entity: e.entity,
        entity_id: e.entity_id,
        before: Some(serde_json::json!({"name": "Nuvem", "primary_color": "#112233", "notes": "old"})),
        after: Some(serde_json::json!({"name": "Nuvem BR", "primary_color": "#112233", "logo_url": "https://x"})),
        source: e.source,
        prev_hash: Some("9f2c".repeat(16)),
        hash: Some("51ab".repeat(16)),
    }
}

#[tokio::test]
async fn audit_list_80x24() {
    let (mut app, _dir) = fixed_app().await;
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn audit_list_120x40() {
    let (mut app, _dir) = fixed_app().await;
    assert_snapshot!(render(&mut app, 120, 40).backend());
}

#[tokio::test]
async fn audit_detail_with_diff_120x40() {
    let (mut app, _dir) = fixed_app().await;
    let mut d = AuditDetail::loading(42);
    d.arrived(Ok(Box::new(fixed_record())));
    audit_mut(&mut app).detail = Some(d);
    assert_snapshot!(render(&mut app, 120, 40).backend());
}

/// Stored text is hostile: a username and source from a failed login, with a screen clear, a
/// window-title escape and a bidi override, must reach the terminal as harmless text.
#[tokio::test]
async fn hostile_audit_text_renders_harmless() {
    const HOSTILE: &str = "\x1b[2J\x1b]0;pwned\x07\u{202e}nimda";
    let (db, _dir) = db_with(1).await;
    let mut who = Actor::system(HOSTILE);
    who.source = format!("ssh {HOSTILE}");
    let mut tx = db.begin().await.unwrap();
    backend::audit::record(
        &mut tx,
        &who,
        backend::audit::Change {
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
    let mut app = app_on(&db, actor(), "audit-logs").await;
    let unsafe_cells = |t: &ratatui::Terminal<ratatui::backend::TestBackend>| {
        t.backend()
            .buffer()
            .content
            .iter()
            .filter(|c| c.symbol().chars().any(widgets::text::is_unsafe_char))
            .count()
    };
    let list = render(&mut app, 120, 40);
    assert_eq!(unsafe_cells(&list), 0, "{}", screen_text(&list));
    assert!(
        screen_text(&list).contains("\u{241b}[2J\u{241b}]0;pwn"),
        "{}",
        screen_text(&list)
    );
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let detail = render(&mut app, 120, 40);
    assert_eq!(unsafe_cells(&detail), 0, "{}", screen_text(&detail));
    assert!(screen_text(&detail).contains("nimda"), "{}", screen_text(&detail));
}

/// `?` on the audit log lists the keys this screen handles: verify and filter, not the
/// tenant list's create, edit, suspend or sort.
#[tokio::test]
async fn help_shows_only_the_audit_logs_keys() {
    let (mut app, _db, _dir) = app_and_db("audit-logs", 1).await;
    ch(&mut app, '?');
    let help: Vec<String> = painel_ui::help::entries(
        &painel_ui::keymap::Keymap::parse(painel_ui::keymap::DEFAULT_KEYMAP).unwrap(),
        &app.screen_contexts(),
        |a| app.screen().is_none_or(|s| s.offers(a)),
    )
    .into_iter()
    .map(|(_, keys, desc)| format!("{keys} {desc}"))
    .collect();
    let all = help.join("\n");
    assert!(
        all.contains("Verify the audit hash chain") && all.contains("Filter rows"),
        "{all}"
    );
    for absent in [
        "Suspend the tenant",
        "Create (",
        "Edit the form",
        "Sort by",
        "Retry the selected job",
    ] {
        assert!(!all.contains(absent), "{absent} offered on the audit log:\n{all}");
    }
    let screen = screen_text(&render(&mut app, 120, 60));
    assert!(
        screen.contains("Verify the audit hash chain") && !screen.contains("Suspend the tenant"),
        "{screen}"
    );
}
