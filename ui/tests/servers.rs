//! Servers (issue 11): the list, one server's tabs, the capacity screen and the dashboard's
//! server grid, at 80×24 and 120×40 on a small fleet; `v` on the WHM tab queues the
//! connection test and the answer shows when the job is done.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use backend::hosting::jobs as hjobs;
use backend::hosting::metrics::{self, Sample};
use backend::hosting::servers::{self, NewServer};
use backend::Db;
use chrono::TimeDelta;
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::router::ServerTab;
use painel_ui::screens::servers::detail::{ServerScreen, Test};
use painel_ui::screens::servers::list::ServersList;
use painel_ui::App;

async fn fleet() -> (Db, tempfile::TempDir) {
    let (db, dir) = db_with(0).await;
    let a = actor();
    for (name, region, max, disk) in [
        ("whm-gru-01", "sa-east-1", Some(100), 500),
        ("whm-fra-01", "eu-central-1", Some(200), 1000),
        ("whm-poa-01", "sa-south-1", None, 400),
    ] {
        servers::create(
            &db,
            &a,
            None,
            NewServer {
                name: name.into(),
                hostname: format!("{name}.painel.example"),
                ip: "203.0.113.9".into(),
                region: region.into(),
                whm_url: format!("https://{name}.painel.example:2087"),
                tls: if name == "whm-poa-01" {
                    "trust".into()
                } else {
                    String::new()
                },
                max_accounts: max,
                disk_total_gb: disk,
                ..NewServer::default()
            },
        )
        .await
        .expect("server");
    }
    let gru = servers::get(&db, &a, "whm-gru-01").await.unwrap();
    let now = backend::db::now();
    for k in 0..40_i64 {
        let load = 1.0 + (k % 7) as f64 * 0.4;
        let sample = Sample {
            load_1: load,
            load_5: load * 0.9,
            load_15: load * 0.8,
            disk_used_gb: Some(300 + k * 3),
            accounts_count: Some(50 + k),
            bandwidth_mb: Some(1000 + k * 10),
            latency_ms: Some(10 + k % 5),
        };
        metrics::record_ok(&db, &a, gru.id, &sample, now - TimeDelta::minutes(40 - k))
            .await
            .unwrap();
    }
    let fra = servers::get(&db, &a, "whm-fra-01").await.unwrap();
    for k in 0..3 {
        metrics::record_failure(
            &db,
            &a,
            fra.id,
            "connect: connection refused",
            now - TimeDelta::minutes(3 - k),
        )
        .await
        .unwrap();
    }
    (db, dir)
}

/// Dates and times masked (they follow the clock).
fn timeless(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        // YYYY-MM-DD HH:MM:SS
        let is = |j: usize, pat: &str| {
            pat.chars().enumerate().all(|(k, p)| {
                chars
                    .get(j + k)
                    .is_some_and(|c| if p == 'd' { c.is_ascii_digit() } else { *c == p })
            })
        };
        if is(i, "dddd-dd-dd dd:dd:dd") {
            out.push_str("####-##-## ##:##:##");
            i += 19;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    stable(&out)
}

fn detail(app: &App) -> &ServerScreen {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on a server: {}", app.route().path()))
}

#[tokio::test]
async fn the_list_and_the_capacity_screen_at_80x24_and_120x40() {
    let (db, _dir) = fleet().await;
    let mut app = app_on(&db, actor(), "servers").await;
    let list: &ServersList = app.screen_as().expect("servers list");
    assert_eq!(list.rows().len(), 3);
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(header_has(&small, &["NAME", "STATUS", "ACCOUNTS"]), "{small}");
    assert!(small.contains("offline"), "{small}");
    assert_snapshot!("servers_list_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    assert!(
        header_has(&big, &["NAME", "REGION", "STATUS", "ACCOUNTS", "DISK", "GB"]),
        "{big}"
    );
    assert!(big.contains("connect: connection ref"), "{big}");
    assert_snapshot!("servers_list_120x40", stable(&big));

    press(&mut app, KeyCode::Tab);
    app.settle().await;
    assert_eq!(app.route().path(), "servers/capacity");
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(small.contains("whm-gru-01") && small.contains('%'), "{small}");
    assert_snapshot!("servers_capacity_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    assert_snapshot!("servers_capacity_120x40", stable(&big));
}

#[tokio::test]
async fn a_server_tab_by_tab_at_80x24_and_120x40() {
    let (db, _dir) = fleet().await;
    let mut app = app_on(&db, actor(), "servers").await;
    // Enter opens the selected server (the list is by name: fra, gru, poa).
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "servers/whm-gru-01/overview");
    for tab in ServerTab::ALL {
        assert_eq!(detail(&app).tab, tab);
        assert!(detail(&app).view.is_some(), "{tab:?} never loaded");
        let small = screen_text(&render(&mut app, 80, 24));
        let big = screen_text(&render(&mut app, 120, 40));
        match tab {
            ServerTab::Logs => {
                // Audit rows and jobs carry the clock's times: asserted, not snapshotted.
                assert!(big.contains("server.create") && big.contains("audit"), "{big}");
                assert!(big.contains("No failed polls."), "{big}");
            }
            _ => {
                assert_snapshot!(format!("server_{}_80x24", tab.key()), timeless(&small));
                assert_snapshot!(format!("server_{}_120x40", tab.key()), timeless(&big));
            }
        }
        press(&mut app, KeyCode::Tab);
        app.settle().await;
    }
    assert_eq!(detail(&app).tab, ServerTab::Overview, "tabs wrap");
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("Load") || text.contains("whm-gru-01"), "{text}");
}

#[tokio::test]
async fn v_on_the_whm_tab_queues_the_test_and_the_answer_shows_when_the_job_is_done() {
    let (db, _dir) = fleet().await;
    let mut app = app_on(&db, actor(), "servers/whm-gru-01/whm").await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("never run: press v"), "{text}");
    assert!(text.contains("test connection"), "the hint bar offers the test: {text}");
    ch(&mut app, 'v');
    app.settle().await;
    let Test::Waiting(job) = detail(&app).test.clone() else {
        panic!("not waiting: {:?}", detail(&app).test)
    };
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("waiting for a worker"), "{text}");
    // A worker takes it and answers (the handler's recording, as the job's actor).
    let claimed = backend::jobs::claim(&db, "ui-w", &[hjobs::QUEUE.to_owned()], 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [job]);
    let gru = servers::get(&db, &actor(), "whm-gru-01").await.unwrap();
    hjobs::record_test(
        &db,
        &claimed[0].actor(),
        gru.id,
        Ok("11.118.0.15".into()),
        backend::db::now(),
    )
    .await
    .unwrap();
    backend::jobs::complete(&db, "ui-w", job).await.unwrap();
    pump_until(&mut app, Duration::from_secs(10), |app| {
        detail(app).test == Test::Idle
            && detail(app)
                .server()
                .is_some_and(|s| s.whm_version.as_deref() == Some("11.118.0.15"))
    })
    .await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("11.118.0.15") && text.contains(" ok"), "{text}");
}

#[tokio::test]
async fn the_dashboard_shows_the_server_grid_with_failures_at_once() {
    let (db, _dir) = fleet().await;
    let mut app = app_on(&db, actor(), "dashboard").await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("Servers (3)"), "{text}");
    assert!(text.contains("whm-fra-01 offline"), "{text}");
    assert!(text.contains("connect: connection refus"), "{text}");
    assert_snapshot!("dashboard_server_grid_120x40", stable(&text));
}

#[tokio::test]
async fn c_opens_the_form_errors_land_on_their_fields_and_a_good_one_opens_the_server() {
    let (db, _dir) = fleet().await;
    let mut app = app_on(&db, actor(), "servers").await;
    ch(&mut app, 'c');
    app.settle().await;
    assert_eq!(app.route().path(), "servers/create");
    let form: &painel_ui::screens::servers::create::ServerForm = app.screen_as().expect("form");
    assert!(!form.busy);
    // A bad name and nothing else: the service's field errors show.
    typ(&mut app, "Bad Name");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("may contain only a-z"), "{text}");
    assert_snapshot!("server_create_errors_120x40", stable(&text));
    // Fixed: a non-WHM server needs no URL and no token.
    let path = app.route().path();
    let form: &mut painel_ui::screens::servers::create::ServerForm =
        app.screen_as_mut().unwrap_or_else(|| panic!("form, on {path}"));
    for (k, v) in [
        ("name", "xui-01"),
        ("hostname", "xui-01.painel.example"),
        ("ip", "203.0.113.50"),
        ("region", "fortaleza"),
        ("kind", "xui"),
    ] {
        form.form.set(k, v);
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "servers/xui-01/overview");
    let s = servers::get(&db, &actor(), "xui-01").await.unwrap();
    assert_eq!((s.kind.as_str(), s.token_set), ("xui", false));
}

#[tokio::test]
async fn e_edits_a_server_and_the_change_is_audited() {
    let (db, _dir) = fleet().await;
    let mut app = app_on(&db, actor(), "servers/whm-gru-01").await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("e edit"), "{text}");
    ch(&mut app, 'e');
    app.settle().await;
    let form = app
        .screen_as::<ServerScreen>()
        .unwrap()
        .edit
        .as_ref()
        .expect("the edit form");
    assert_eq!(form.form.value("region"), "sa-east-1");
    assert_eq!(form.form.value("max_accounts"), "100");
    assert_eq!(form.form.value("api_token"), "");
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("Edit server whm-gru-01") && text.contains("keep"),
        "{text}"
    );
    // Hostname, IP, then the region: replace it.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    for _ in 0.."sa-east-1".len() {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "sa-south-1");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(
        app.screen_as::<ServerScreen>().unwrap().edit.is_none(),
        "the form closes"
    );
    let s = servers::get(&db, &actor(), "whm-gru-01").await.unwrap();
    assert_eq!((s.region.as_str(), s.max_accounts), ("sa-south-1", Some(100)));
    let audited: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'server.update' AND entity_id = $1",
            vec![s.id.to_string().into()],
        )
        .await
        .unwrap();
    assert_eq!(audited, 1);
    // Nothing changed: the service says so on the form, which stays open.
    ch(&mut app, 'e');
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let form = app
        .screen_as::<ServerScreen>()
        .unwrap()
        .edit
        .as_ref()
        .expect("still open");
    assert!(
        form.form
            .error
            .as_deref()
            .is_some_and(|e| e.contains("nothing to change"))
            || form.form.error_of("server").is_some()
    );
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert!(app.screen_as::<ServerScreen>().unwrap().edit.is_none());
    assert_eq!(app.route().path(), "servers/whm-gru-01/overview");
}

#[tokio::test]
async fn on_call_staff_are_not_offered_the_edit_form() {
    let (db, _dir) = fleet().await;
    let on_call = backend::Actor {
        role: backend::Role::OnCall,
        ..actor()
    };
    let mut app = app_on(&db, on_call, "servers/whm-gru-01").await;
    assert!(!app.offers(&painel_ui::action::Action::Edit));
    ch(&mut app, 'e');
    app.settle().await;
    assert!(app.screen_as::<ServerScreen>().unwrap().edit.is_none());
}
