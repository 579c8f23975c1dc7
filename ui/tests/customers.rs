//! The customers list and one customer's whole story (issue 10): snapshots at 80×24 and
//! 120×40 on the demo data, and what the keys do.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use backend::customers::{self, CustomerQuery};
use backend::Db;
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::router::CustomerTab;
use painel_ui::screens::customers::detail::CustomerScreen;
use painel_ui::screens::customers::list::CustomersList;
use painel_ui::App;

/// The demo's first customer (by name) with services, invoices and tickets: a story to tell.
async fn storied(db: &Db) -> backend::customers::Customer {
    let email: String = db
        .scalar(
            "SELECT c.email FROM customers c \
             WHERE EXISTS (SELECT 1 FROM services s WHERE s.customer_id = c.id) \
               AND EXISTS (SELECT 1 FROM invoices i WHERE i.customer_id = c.id) \
               AND EXISTS (SELECT 1 FROM tickets k WHERE k.customer_id = c.id) \
             ORDER BY c.name LIMIT 1",
            vec![],
        )
        .await
        .expect("a customer with a story");
    let page = customers::list(
        db,
        &actor(),
        &CustomerQuery {
            filter: Some(email.clone()),
            limit: 5,
            ..CustomerQuery::default()
        },
    )
    .await
    .expect("list");
    page.items
        .into_iter()
        .find(|c| c.email == email)
        .expect("found by e-mail")
}

async fn demo() -> (Db, tempfile::TempDir) {
    let (db, dir) = db_with(0).await;
    backend::seed::demo(&db).await.expect("demo data");
    (db, dir)
}

fn detail(app: &App) -> &CustomerScreen {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on a customer: {}", app.route().path()))
}

#[tokio::test]
async fn customers_list_at_80x24_and_120x40() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "customers").await;
    let list: &CustomersList = app.screen_as().expect("customers list");
    assert!(list.rows().len() > 20, "{} customers", list.rows().len());
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(header_has(&small, &["NAME", "E-MAIL", "STATUS"]), "{small}");
    assert_snapshot!("customers_list_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    assert!(
        header_has(&big, &["NAME", "E-MAIL", "TENANT", "STATUS", "PHONE"]),
        "{big}"
    );
    assert_snapshot!("customers_list_120x40", stable(&big));
}

#[tokio::test]
async fn palette_cust_opens_the_list_and_enter_opens_the_customer() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "dashboard").await;
    palette(&mut app, "cust");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "customers");
    let first = app.screen_as::<CustomersList>().expect("list").rows()[1].clone();
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(detail(&app).customer.as_ref().map(|c| c.id), Some(first.id));
    assert_eq!(app.route().path(), format!("customers/{}/profile", first.id));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains(&first.email), "{text}");
    // q climbs back to the list.
    ch(&mut app, 'q');
    app.settle().await;
    assert_eq!(app.route().path(), "customers");
}

#[tokio::test]
async fn the_customer_story_tab_by_tab_at_80x24_and_120x40() {
    let (db, _dir) = demo().await;
    let c = storied(&db).await;
    let mut app = app_on(&db, actor(), &format!("customers/{}", c.id)).await;
    for tab in CustomerTab::ALL {
        assert_eq!(detail(&app).tab, tab);
        if let Some(b) = detail(&app).table() {
            assert!(b.list.page.is_some(), "{tab:?} never loaded");
            assert!(b.list.error.is_none(), "{tab:?}: {:?}", b.list.error);
        }
        let small = screen_text(&render(&mut app, 80, 24));
        assert_snapshot!(format!("customer_{}_80x24", tab.key()), stable(&small));
        let big = screen_text(&render(&mut app, 120, 40));
        assert_snapshot!(format!("customer_{}_120x40", tab.key()), stable(&big));
        press(&mut app, KeyCode::Tab);
        app.settle().await;
    }
    assert_eq!(detail(&app).tab, CustomerTab::Profile, "tabs wrap");
}

#[tokio::test]
async fn every_story_tab_holds_only_this_customers_rows() {
    let (db, _dir) = demo().await;
    let c = storied(&db).await;
    let app = app_on(&db, actor(), &format!("customers/{}", c.id)).await;
    let s = detail(&app);
    let rows = |tab: CustomerTab| {
        s.tables
            .iter()
            .find(|(t, _)| *t == tab)
            .and_then(|(_, b)| b.list.page.as_ref())
            .map_or(0, |p| p.rows.len())
    };
    let count = |sql: &'static str| {
        let db = db.clone();
        let id = c.id;
        async move { db.scalar::<i64>(sql, backend::args![id]).await.expect("count") }
    };
    let services = count("SELECT count(*) FROM services WHERE customer_id = $1").await;
    let invoices = count("SELECT count(*) FROM invoices WHERE customer_id = $1").await;
    let tickets = count("SELECT count(*) FROM tickets WHERE customer_id = $1").await;
    assert!(services > 0 && invoices > 0 && tickets > 0);
    assert_eq!(rows(CustomerTab::Services) as i64, services.min(100));
    assert_eq!(rows(CustomerTab::Invoices) as i64, invoices.min(100));
    assert_eq!(rows(CustomerTab::Tickets) as i64, tickets.min(100));
    // The audit trail names the customer's own rows at least (its creation).
    assert!(rows(CustomerTab::Audit) > 0, "no audit trail");
}

#[tokio::test]
async fn a_customer_out_of_scope_is_not_found_not_loading() {
    let (db, _dir) = demo().await;
    let c = storied(&db).await;
    let other = backend::tenants::list(
        &db,
        &actor(),
        &backend::tenants::TenantQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .expect("tenants")
    .items
    .into_iter()
    .find(|t| t.id != c.tenant_id)
    .expect("another tenant");
    let admin = backend::Actor::tenant_user("other.admin", backend::Role::TenantAdmin, other.id);
    let mut app = app_on(&db, admin, &format!("customers/{}", c.id)).await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(detail(&app).customer.is_none());
    assert!(text.contains("not found"), "{text}");
    assert!(!text.contains("Loading"), "{text}");
}

#[tokio::test]
async fn go_to_by_e_mail_from_the_palette_at_80x24_and_120x40() {
    let (db, _dir) = demo().await;
    let c = storied(&db).await;
    let mut app = app_on(&db, actor(), "dashboard").await;
    palette(&mut app, &c.email);
    app.settle().await;
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(small.contains("customer ·"), "{small}");
    assert_snapshot!("goto_email_80x24", stable(&small));
    let big = screen_text(&render(&mut app, 120, 40));
    let start: String = c.name.chars().take(20).collect();
    assert!(big.contains(&start) && big.contains(&c.tenant_slug), "{big}");
    assert_snapshot!("goto_email_120x40", stable(&big));
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(detail(&app).customer.as_ref().map(|x| x.id), Some(c.id));
}

#[tokio::test]
async fn enter_before_the_answer_still_goes_to_the_first_hit() {
    let (db, _dir) = demo().await;
    let c = storied(&db).await;
    let mut app = app_on(&db, actor(), "dashboard").await;
    palette(&mut app, &c.email);
    // No settle: the debounced lookup has not answered; Enter looks the term up at once.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(detail(&app).customer.as_ref().map(|x| x.id), Some(c.id));
}

#[tokio::test]
async fn go_to_a_tenant_by_slug_and_nothing_found_says_so() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "dashboard").await;
    palette(&mut app, "streammax");
    app.settle().await;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(
        app.route().path().starts_with("tenants/streammax"),
        "{}",
        app.route().path()
    );
    palette(&mut app, "zzqxw-nothing");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let flash = app.flash().map(|f| f.text.clone()).unwrap_or_default();
    assert!(flash.contains("nothing found"), "{flash}");
}

#[tokio::test]
async fn dashboard_cards_lead_where_they_say() {
    let (db, _dir) = demo().await;
    let mut app = app_on(&db, actor(), "dashboard").await;
    let stats = app
        .screen_as::<painel_ui::screens::dashboard::Dashboard>()
        .and_then(|d| d.stats.clone())
        .expect("stats");
    let at = |label: &str| stats.iter().position(|s| s.label == label).expect(label);
    // "Customers N" opens the customers list.
    for _ in 0..at("Customers") {
        press(&mut app, KeyCode::Right);
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "customers");
    // "Services in error N" opens those services: N rows, each in error.
    let n = stats[at("Services in error")].value;
    ch(&mut app, 'q');
    app.settle().await;
    for _ in at("Customers")..at("Services in error") {
        press(&mut app, KeyCode::Right);
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "services/list");
    let b = app
        .screen_as::<painel_ui::screens::common::browse::BrowseScreen>()
        .expect("services list");
    let page = b.state.list.page.as_ref().expect("rows");
    let status = page.columns.iter().position(|c| c.title == "Status").expect("status");
    assert_eq!(page.rows.len() as i64, n);
    assert!(page.rows.iter().all(|r| r[status].to_string() == "error"));
}

/// A demo customer that belongs to a reseller, and another reseller of its tenant.
async fn resold(db: &Db) -> (backend::customers::Customer, String) {
    let found: Option<(uuid::Uuid, String)> = db
        .fetch_optional(
            "SELECT c.id, u.username FROM customers c JOIN users u \
               ON u.tenant_id = c.tenant_id AND u.role = 'reseller' AND u.id <> c.reseller_id \
             WHERE c.reseller_id IS NOT NULL AND c.status = 'active' ORDER BY c.name, u.username LIMIT 1",
            vec![],
        )
        .await
        .expect("query");
    let (id, other) = found.expect("a resold customer");
    (customers::get(db, &actor(), &id.to_string()).await.expect("get"), other)
}

/// The hint bar (the line above the status bar).
fn last_line(app: &mut App) -> String {
    let text = screen_text(&render(app, 120, 40));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len() - 2].to_owned()
}

#[tokio::test]
async fn edit_block_and_transfer_from_the_customer_screen() {
    let (db, _dir) = demo().await;
    let (c, other) = resold(&db).await;
    let mut app = app_on(&db, actor(), &format!("customers/{}", c.id)).await;
    let hints = last_line(&mut app);
    assert!(
        hints.contains("edit") && hints.contains("block") && hints.contains("transfer"),
        "{hints}"
    );
    // e: the form holds the current values; a wrong check digit stays on its field.
    ch(&mut app, 'e');
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("Edit customer") && text.contains(&c.email), "{text}");
    assert!(last_line(&mut app).contains("save"));
    for _ in 0..3 {
        press(&mut app, KeyCode::Tab);
    }
    for _ in 0..20 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "123.456.789-08");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("check digits"), "{text}");
    press(&mut app, KeyCode::Backspace);
    typ(&mut app, "9");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let saved = detail(&app).customer.clone().expect("loaded");
    assert!(detail(&app).modal.is_none());
    assert_eq!(saved.document.as_deref(), Some("12345678909"));
    // b: a reason, Enter blocks; the hint then offers unblock.
    ch(&mut app, 'b');
    assert!(last_line(&mut app).contains("block"));
    typ(&mut app, "chargeback");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let now = detail(&app).customer.clone().expect("loaded");
    assert_eq!(
        (now.status.as_str(), now.status_reason.as_deref()),
        ("suspended", Some("chargeback"))
    );
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("blocked: chargeback"), "{text}");
    assert!(last_line(&mut app).contains("unblock"));
    ch(&mut app, 'b');
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(
        detail(&app).customer.as_ref().map(|c| c.status.as_str()),
        Some("active")
    );
    // t: a picker of the tenant's other resellers; typing narrows, Enter transfers.
    ch(&mut app, 't');
    app.settle().await;
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains("Transfer") && text.contains(&other), "{text}");
    assert!(last_line(&mut app).contains("transfer"));
    typ(&mut app, &other);
    app.settle().await;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(detail(&app).modal.is_none());
    assert_eq!(
        detail(&app).customer.as_ref().and_then(|c| c.reseller.clone()),
        Some(other.clone())
    );
    let trail: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM audit_log WHERE entity_id = $1 AND action IN \
             ('customer.update', 'customer.block', 'customer.unblock', 'customer.transfer')",
            vec![c.id.to_string().into()],
        )
        .await
        .expect("count");
    assert_eq!(trail, 4);
}

#[tokio::test]
async fn a_support_agent_is_offered_no_change_on_a_customer() {
    let (db, _dir) = demo().await;
    let (c, _) = resold(&db).await;
    let agent = backend::Actor::tenant_user("desk", backend::Role::SupportAgent, c.tenant_id);
    let mut app = app_on(&db, agent, &format!("customers/{}", c.id)).await;
    assert!(detail(&app).customer.is_some());
    let hints = last_line(&mut app);
    assert!(
        !hints.contains("edit") && !hints.contains("block") && !hints.contains("transfer"),
        "{hints}"
    );
    ch(&mut app, 'e');
    assert!(detail(&app).modal.is_none(), "e opened a form for a read-only role");
    assert!(
        app.flash().is_some_and(|f| f.text.contains("customers:update")),
        "{:?}",
        app.flash()
    );
    // The refusal is about that key: the next key does not leave it standing for seconds.
    ch(&mut app, 'j');
    assert!(app.flash().is_none(), "{:?}", app.flash());
    ch(&mut app, 'b');
    assert!(
        app.flash().is_some_and(|f| f.text.contains("customers:block")),
        "{:?}",
        app.flash()
    );
    // The activity tab is the customer's history, readable without audit:read.
    press(&mut app, KeyCode::BackTab);
    app.settle().await;
    assert_eq!(detail(&app).tab, CustomerTab::Audit);
    let b = detail(&app).table().expect("activity table");
    assert!(b.list.error.is_none(), "{:?}", b.list.error);
    assert!(b.list.page.as_ref().is_some_and(|p| !p.rows.is_empty()), "no activity");
}

#[tokio::test]
async fn the_palette_offers_only_pages_the_actor_may_open() {
    let (db, _dir) = demo().await;
    let (c, _) = resold(&db).await;
    let names = |a: &backend::Actor| -> Vec<String> {
        painel_ui::palette::entries_for(a).into_iter().map(|e| e.name).collect()
    };
    let staff = names(&actor());
    assert!(staff.iter().any(|n| n == "servers") && staff.iter().any(|n| n == "audit-logs"));
    let seller = backend::Actor::tenant_user("seller", backend::Role::Reseller, c.tenant_id);
    let offered = names(&seller);
    for hidden in ["servers", "incidents", "audit-logs", "services/jobs"] {
        assert!(
            !offered.iter().any(|n| n == hidden),
            "{hidden} offered to a reseller: {offered:?}"
        );
    }
    assert!(offered.iter().any(|n| n == "customers"));
    // On screen too: `:srv` finds no servers page for the reseller.
    let mut app = app_on(&db, seller, "customers").await;
    palette(&mut app, "servers");
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(!text.contains("Servers › "), "{text}");
}

#[tokio::test]
async fn go_to_a_service_and_a_user_opens_a_screen() {
    let (db, _dir) = demo().await;
    let domain: Option<(String,)> = db
        .fetch_optional(
            "SELECT s.domain FROM services s WHERE s.domain IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.search_text LIKE '%' || s.domain || '%') \
               AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.domain = s.domain) \
             ORDER BY s.domain LIMIT 1",
            vec![],
        )
        .await
        .expect("query");
    let (domain,) = domain.expect("a service with a domain");
    let mut app = app_on(&db, actor(), "dashboard").await;
    palette(&mut app, &domain);
    app.settle().await;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(app.route().path().starts_with("services"), "{}", app.route().path());
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(text.contains(&domain), "the services list narrowed to it:\n{text}");
    // A user: its own small screen.
    palette(&mut app, "thiago.barbosa");
    app.settle().await;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(app.route().path().starts_with("users/"), "{}", app.route().path());
    let text = screen_text(&render(&mut app, 120, 40));
    assert!(
        text.contains("thiago.barbosa") && text.contains("tenant_admin"),
        "{text}"
    );
}
