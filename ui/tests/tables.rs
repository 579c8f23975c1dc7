//! Every table at 80×24 on the demo data, as a new operator first sees it (the migrations
//! queue is a live screen of its own: ui/tests/migrations.rs): the columns a
//! screen is opened for stay, long names shrink, and `w` shows every column.

mod common;

use common::*;
use insta::assert_snapshot;
use painel_ui::{App, UiOptions};

async fn at(db: &backend::Db, route: &str) -> App {
    let mut app = App::new(
        db.clone(),
        actor(),
        UiOptions {
            start_route: Some(route.into()),
            ..UiOptions::new(widgets::Theme::dark(), "sqlite")
        },
    );
    app.settle().await;
    app
}

#[tokio::test]
async fn every_table_at_80x24_keeps_the_columns_it_is_opened_for() {
    let (db, _dir) = db_with(0).await;
    backend::seed::demo(&db).await.expect("demo data");
    let tables: &[(&str, &[&str])] = &[
        ("tenants", &["NAME", "STATUS"]),
        ("servers", &["NAME", "REGION", "STATUS"]),
        ("customers", &["NAME", "E-MAIL", "STATUS"]),
        ("services/list", &["DOMAIN", "CUSTOMER", "STATUS"]),
        ("services/plans", &["Code", "Status", "Price"]),
        ("services/addons", &["Code", "Status", "Price"]),
        ("services/jobs", &["ID", "STATUS"]),
        ("billing/invoices", &["NUMBER", "STATUS", "TOTAL"]),
        ("billing/payments", &["INVOICE", "STATUS", "AMOUNT"]),
        ("billing/disputes", &["DUE", "STATUS", "AMOUNT"]),
        ("dns-ssl/zones", &["ZONE", "STATUS"]),
        ("dns-ssl/certificates", &["DAYS", "STATE"]),
        ("dns-ssl/failures", &["SUBJECT", "DETAIL"]),
        ("audit-logs", &["ACTOR", "ACTION"]),
        ("incidents", &["Title", "Severity", "Status"]),
        ("settings", &["Key"]),
        ("settings/api-keys", &["NAME", "STATUS"]),
    ];
    for (route, keep) in tables {
        let mut app = at(&db, route).await;
        let t = render(&mut app, 80, 24);
        let text = screen_text(&t);
        assert!(header_has(&text, keep), "{route} lost one of {keep:?}:\n{text}");
        let name = format!("table_80x24_{}", route.replace('/', "_"));
        assert_snapshot!(name, stable(&text));
    }
}

#[tokio::test]
async fn w_shows_every_column_and_again_the_usual_view() {
    let (db, _dir) = db_with(0).await;
    backend::seed::demo(&db).await.expect("demo data");
    let mut app = at(&db, "servers").await;
    let usual = screen_text(&render(&mut app, 80, 24));
    assert!(!header_has(&usual, &["KIND"]), "{usual}");
    ch(&mut app, 'w');
    let wide = render(&mut app, 80, 24);
    let text = screen_text(&wide);
    assert!(
        header_has(&text, &["KIND", "TLS", "REGION", "STATUS", "ACCOUNTS"]),
        "{text}"
    );
    assert_snapshot!(stable(&text));
    ch(&mut app, 'w');
    assert_eq!(screen_text(&render(&mut app, 80, 24)), usual);
}
