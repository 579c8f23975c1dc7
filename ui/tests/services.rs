//! The hosting services list and one service's live screen (issue 11): snapshots at 80×24 on
//! the demo data, Enter from the list, and the action dialogs (terminate asks for the domain).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use backend::Db;
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::action::Action;
use painel_ui::screens::services::create::OrderForm;
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

#[tokio::test]
async fn the_order_form_at_80x24_empty_and_with_errors() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "services/new").await;
    assert!(app.screen_as::<OrderForm>().is_some(), "{}", app.route().path());
    let empty = screen_text(&render(&mut app, 80, 24));
    assert!(empty.contains("New service") && empty.contains("e.g."), "{empty}");
    assert_snapshot!("service_order_empty_80x24", stable(&empty));
    // A customer that does not exist and a domain that is not one: the service's errors
    // land on the fields and nothing is stored.
    let before: i64 = db.scalar("SELECT COUNT(*) FROM services", vec![]).await.unwrap();
    {
        let f = &mut app.screen_as_mut::<OrderForm>().unwrap().form;
        f.set("customer", "00000000-0000-0000-0000-000000000000");
        f.set("plan", "basic");
        f.set("domain", "not a domain");
        f.focus = 2;
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let form = &app.screen_as::<OrderForm>().expect("the form stays").form;
    assert!(
        form.error.as_deref().is_some_and(|e| e.contains("customer not found")),
        "{:?}",
        form.error
    );
    let text = screen_text(&render(&mut app, 80, 24));
    assert_snapshot!("service_order_errors_80x24", stable(&text));
    let (customer, _, plan) = orderable(&db).await;
    {
        let f = &mut app.screen_as_mut::<OrderForm>().unwrap().form;
        f.set("customer", &customer.to_string());
        f.set("plan", &plan);
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let form = &app.screen_as::<OrderForm>().expect("the form stays").form;
    assert!(form.error_of("domain").is_some(), "{:?}", form.error);
    let text = screen_text(&render(&mut app, 80, 24));
    assert_snapshot!("service_order_domain_error_80x24", stable(&text));
    let after: i64 = db.scalar("SELECT COUNT(*) FROM services", vec![]).await.unwrap();
    assert_eq!(before, after);
}

/// An active customer (id and e-mail) and a hosting plan of its tenant that can be placed.
async fn orderable(db: &Db) -> (uuid::Uuid, String, String) {
    let rows: Vec<(uuid::Uuid, String, String)> = db
        .fetch_all(
            "SELECT c.id, c.email, p.code FROM customers c JOIN plans p ON p.tenant_id = c.tenant_id \
             WHERE c.status = 'active' AND p.kind = 'hosting' AND p.status <> 'retired' \
             AND p.external_package IS NOT NULL \
             ORDER BY c.email, p.code LIMIT 1",
            vec![],
        )
        .await
        .expect("rows");
    rows.into_iter()
        .next()
        .expect("an orderable customer and plan in the demo")
}

#[tokio::test]
async fn ordering_through_the_keys_stores_a_pending_service_and_queues_its_job() {
    let (db, _dir) = demo().await;
    let (_, email, plan) = orderable(&db).await;
    let mut app = app_on(&db, actor(), "services/list").await;
    ch(&mut app, 'c');
    app.settle().await;
    assert_eq!(app.route().path(), "services/new");
    // The customer field is a picker: the e-mail finds the customer; Enter writes its id.
    typ(&mut app, &email);
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Customer") && text.contains(&email), "{text}");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let f = app.screen_as::<OrderForm>().unwrap();
    let customer_id = f.form.value("customer");
    assert!(customer_id.parse::<uuid::Uuid>().is_ok(), "{customer_id}");
    assert_eq!(f.form.focus, 1);
    // The plan picker offers the plans of that customer's tenant.
    typ(&mut app, &plan);
    app.settle().await;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let f = app.screen_as::<OrderForm>().unwrap();
    assert_eq!((f.form.value("plan"), f.form.focus), (plan.clone(), 2));
    typ(&mut app, "loja-nova.example.com.br");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let rows: Vec<(uuid::Uuid, String, uuid::Uuid)> = db
        .fetch_all(
            "SELECT id, status, customer_id FROM services WHERE domain = 'loja-nova.example.com.br'",
            vec![],
        )
        .await
        .expect("rows");
    let (id, status, customer) = rows.into_iter().next().expect("the service ordered");
    assert_eq!(status, "pending");
    assert_eq!(customer.to_string(), customer_id);
    let jobs: i64 = db
        .scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'hosting.create'", vec![])
        .await
        .unwrap();
    assert!(jobs >= 1, "{jobs}");
    assert_eq!(app.route().path(), format!("services/{id}"));
    let s: &ServiceScreen = app.screen_as().expect("the service screen");
    assert_eq!(s.service.as_ref().map(|s| s.id), Some(id));
}

#[tokio::test]
async fn only_who_may_order_is_offered_the_order_form() {
    let (db, _dir) = demo().await;
    let tenant: uuid::Uuid = db
        .scalar("SELECT tenant_id FROM customers ORDER BY id LIMIT 1", vec![])
        .await
        .unwrap();
    let agent = backend::Actor::tenant_user("agent", backend::Role::SupportAgent, tenant);
    let mut app = app_on(&db, agent, "services/list").await;
    assert!(!app.offers(&Action::Create));
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(!text.contains("c new"), "{text}");
    ch(&mut app, 'c');
    app.settle().await;
    assert_eq!(app.route().path(), "services/list");
    let admin = backend::Actor::tenant_user("admin", backend::Role::TenantAdmin, tenant);
    let mut app = app_on(&db, admin, "services/list").await;
    assert!(app.offers(&Action::Create));
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("c new"), "{text}");
}
