//! Screens follow the actor's permissions (issue 10): a tenant admin sees no Create tab, no
//! keys it cannot use, no sidebar entries it cannot open, and a page it may not open says so.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use backend::tenants::{self, TenantQuery};
use backend::{Actor, Db, Role};
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::action::Action;
use painel_ui::screens::tenants::detail::TenantDetail;
use painel_ui::screens::Forbidden;

async fn demo_tenant_admin() -> (Db, tempfile::TempDir, Actor, String) {
    let (db, dir) = db_with(0).await;
    backend::seed::demo(&db).await.expect("demo data");
    let t = tenants::list(
        &db,
        &actor(),
        &TenantQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .find(|t| t.status == "active")
    .unwrap();
    let admin = Actor::tenant_user("toptv.wesley", Role::TenantAdmin, t.id);
    (db, dir, admin, t.slug)
}

#[tokio::test]
async fn a_tenant_admin_is_offered_only_what_it_may_do() {
    let (db, _dir, admin, slug) = demo_tenant_admin().await;
    let mut app = app_on(&db, admin, "tenants").await;
    for a in [Action::Create, Action::Suspend, Action::Reactivate] {
        assert!(!app.offers(&a), "{a:?} offered to a tenant admin");
    }
    assert!(app.offers(&Action::Open));
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(!text.contains("Create"), "no Create tab:\n{text}");
    assert!(!text.contains("c new") && !text.contains("x suspend"), "{text}");
    for hidden in ["Servers", "Incidents"] {
        assert!(!text.contains(hidden), "{hidden} in the sidebar:\n{text}");
    }
    for shown in ["Dashboard", "Tenants", "Customers", "Billing"] {
        assert!(text.contains(shown), "{shown} missing:\n{text}");
    }
    assert_snapshot!("tenant_admin_tenants_120x40", stable(&text));
    // `c` is refused before any call, with the reason.
    ch(&mut app, 'c');
    app.settle().await;
    assert_eq!(app.route().path(), "tenants");
    let flash = app.flash().map(|f| f.text.clone()).unwrap_or_default();
    assert!(flash.contains("tenants:create"), "{flash}");

    // The tenant's limits are platform-only: no `e` there; branding is its own to edit.
    let mut app = app_on(&db, app_actor(&app), &format!("tenants/{slug}/limits")).await;
    assert!(app.screen_as::<TenantDetail>().is_some());
    assert!(!app.offers(&Action::Edit), "e offered on Limits");
    assert!(!app.offers(&Action::Suspend));
    press(&mut app, KeyCode::BackTab);
    assert!(app.offers(&Action::Edit) || app.route().path().ends_with("billing"));
}

fn app_actor(app: &painel_ui::App) -> Actor {
    app.actor().clone()
}

#[tokio::test]
async fn a_platform_admin_keeps_every_key_and_entry() {
    let (db, _dir) = db_with(3).await;
    let mut app = app_on(&db, actor(), "tenants").await;
    for a in [Action::Create, Action::Suspend, Action::Open] {
        assert!(app.offers(&a), "{a:?}");
    }
    let text = screen_text(&render(&mut app, 120, 40));
    for shown in ["Create", "Servers", "Incidents"] {
        assert!(text.contains(shown), "{shown} missing:\n{text}");
    }
}

#[tokio::test]
async fn a_page_the_role_may_not_open_says_so_instead_of_loading() {
    let (db, _dir, admin, _) = demo_tenant_admin().await;
    let mut app = app_on(&db, admin, "servers").await;
    assert!(app.screen_as::<Forbidden>().is_some());
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(small.contains("servers:read") && !small.contains("oading"), "{small}");
    assert_snapshot!("forbidden_servers_80x24", stable(&small));
    // Tab on the tenants section skips the Create page.
    let mut app = app_on(&db, app_actor(&app), "tenants").await;
    press(&mut app, KeyCode::Tab);
    app.settle().await;
    assert_eq!(app.route().path(), "tenants");
}

#[tokio::test]
async fn a_suspended_tenant_offers_reactivate_not_suspend() {
    let (db, _dir) = db_with(2).await;
    db.execute(
        "UPDATE tenants SET status = 'suspended', suspended_reason = 'unpaid' WHERE slug = 'acme-hosting'",
        vec![],
    )
    .await
    .unwrap();
    let mut app = app_on(&db, actor(), "tenants/acme-hosting").await;
    assert!(app.offers(&Action::Reactivate) && !app.offers(&Action::Suspend));
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("r reactivate"), "{text}");
    // On the list too, by the selected tenant's status.
    let mut app = app_on(&db, actor(), "tenants").await;
    assert!(app.offers(&Action::Reactivate) && !app.offers(&Action::Suspend));
    press(&mut app, KeyCode::Down);
    assert!(app.offers(&Action::Suspend) && !app.offers(&Action::Reactivate));
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("x suspend"), "{text}");
}
