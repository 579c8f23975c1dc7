//! Snapshot tests: what the operator sees, rendered into a `TestBackend`.

mod common;

use common::*;
use insta::assert_snapshot;

#[tokio::test]
async fn tenants_list_80x24() {
    let (mut app, _dir) = app_at("tenants", 30).await;
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn tenants_list_120x40() {
    let (mut app, _dir) = app_at("tenants", 30).await;
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    assert_snapshot!(render(&mut app, 120, 40).backend());
}

#[tokio::test]
async fn help_popup() {
    let (mut app, _dir) = app_at("tenants", 3).await;
    ch(&mut app, '?');
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn palette_srv() {
    let (mut app, _dir) = app_at("dashboard", 0).await;
    palette(&mut app, "srv");
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn create_form_with_validation_error() {
    let (mut app, _dir) = app_at("tenants", 2).await;
    ch(&mut app, 'c');
    submit_tenant(&mut app, "Broken Brand", "not a domain");
    app.settle().await;
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn empty_browse_section() {
    let (mut app, _dir) = app_at("incidents", 0).await;
    assert_snapshot!(render(&mut app, 100, 20).backend());
}

#[tokio::test]
async fn dashboard() {
    let (mut app, _dir) = app_at("dashboard", 5).await;
    assert_snapshot!(render(&mut app, 110, 24).backend());
}

#[tokio::test]
async fn tenant_branding_tab() {
    let (mut app, _dir) = app_at("tenants/acme-hosting/branding", 1).await;
    ch(&mut app, 'e');
    assert_snapshot!(render(&mut app, 100, 24).backend());
}

#[tokio::test]
async fn suspend_modal() {
    let (mut app, _dir) = app_at("tenants", 3).await;
    ch(&mut app, 'j');
    ch(&mut app, 'x');
    typ(&mut app, "aurora");
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn view_missing_from_this_build() {
    use painel_ui::screens::browse::BrowseState;
    let mut state = BrowseState::new("no_such_view", "Somewhere".into(), None);
    let theme = widgets::Theme::dark();
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(60, 8)).unwrap();
    t.draw(|f| state.draw(f, f.area(), &theme)).unwrap();
    assert_snapshot!(t.backend());
}

#[tokio::test]
async fn login_screen_80x24() {
    let (mut app, _db, _dir, _) = login_app(0).await;
    typ(&mut app, "ana");
    press(&mut app, crossterm::event::KeyCode::Enter);
    typ(&mut app, "secret");
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn login_screen_after_a_failure_80x24() {
    let (mut app, _db, _dir, _) = login_app(0).await;
    typ(&mut app, "ana");
    press(&mut app, crossterm::event::KeyCode::Tab);
    typ(&mut app, "wrong password");
    press(&mut app, crossterm::event::KeyCode::Enter);
    app.settle().await;
    assert_snapshot!(render(&mut app, 80, 24).backend());
}
