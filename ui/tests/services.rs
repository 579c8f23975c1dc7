//! The hosting services list and one service's live screen (issue 11): snapshots at 80×24 on
//! the demo data, Enter from the list, and the action dialogs (terminate asks for the domain).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use backend::Db;
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::services::list::ServicesList;
use painel_ui::screens::services::service::{Op, ServiceScreen};

async fn demo() -> (Db, tempfile::TempDir) {
    let (db, dir) = db_with(0).await;
    backend::seed::demo(&db).await.expect("demo data");
    (db, dir)
}

#[tokio::test]
async fn services_list_at_80x24_and_enter_opens_the_live_service() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "services/list").await;
    let list: &ServicesList = app.screen_as().expect("services list");
    assert!(list.rows().len() > 10, "{} services", list.rows().len());
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(header_has(&small, &["DOMAIN", "STATUS"]), "{small}");
    assert_snapshot!("services_list_80x24", stable(&small));

    let first = app.screen_as::<ServicesList>().unwrap().rows()[0].clone();
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), format!("services/{}", first.id));
    let s: &ServiceScreen = app.screen_as().expect("service screen");
    assert_eq!(s.service.as_ref().map(|s| s.id), Some(first.id));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains(&first.status), "{text}");
    assert!(text.contains("Jobs") && text.contains("Audit"), "{text}");
    ch(&mut app, 'q');
    app.settle().await;
    assert_eq!(app.route().path(), "services/list");
}

#[tokio::test]
async fn an_active_service_offers_suspend_and_terminate_asks_for_the_domain() {
    let (db, _dir) = demo().await;
    let id: uuid::Uuid = db
        .scalar(
            "SELECT id FROM services WHERE status = 'active' AND domain IS NOT NULL ORDER BY id LIMIT 1",
            vec![],
        )
        .await
        .expect("an active service");
    let mut app = app_on(&db, actor(), &format!("services/{id}")).await;
    let small = screen_text(&render(&mut app, 80, 24));
    assert_snapshot!("service_active_80x24", stable(&small));
    assert!(small.contains("suspend") && small.contains("terminate"), "{small}");
    ch(&mut app, 'T');
    app.settle().await;
    let s: &ServiceScreen = app.screen_as().unwrap();
    assert_eq!(s.modal.as_ref().map(|m| m.op), Some(Op::Terminate));
    let dialog = screen_text(&render(&mut app, 80, 24));
    assert!(dialog.contains("Type the domain"), "{dialog}");
    // A wrong domain: refused by the gate, nothing queued, the dialog says why.
    typ(&mut app, "wrong.example");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let s: &ServiceScreen = app.screen_as().unwrap();
    let m = s.modal.as_ref().expect("still open");
    assert!(!m.busy);
    let queued: i64 = db
        .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.terminate'", vec![])
        .await
        .unwrap();
    assert_eq!(queued, 0);
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert!(app.screen_as::<ServiceScreen>().unwrap().modal.is_none());
}
