//! Behaviour: keys in, state out, against a real (temporary) database.

mod common;

use backend::tenants;
use common::*;
use crossterm::event::KeyCode;
use painel_ui::keymap::{pretty_key, Context, Keymap};

#[tokio::test]
async fn palette_jumps_to_tenants() {
    let (mut app, _dir) = app_at("dashboard", 3).await;
    palette(&mut app, "tenants");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "tenants");
    assert_eq!(tenant_names(&app).len(), 3);
}

#[tokio::test]
async fn palette_fuzzy_jumps_to_sections_and_pages() {
    let (mut app, _dir) = app_at("dashboard", 0).await;
    for (typed, expected) in [
        ("srv", "servers"),
        ("bil", "billing/invoices"),
        ("invoices", "billing/invoices"),
    ] {
        palette(&mut app, typed);
        press(&mut app, KeyCode::Enter);
        app.settle().await;
        assert_eq!(app.route().path(), expected, ":{typed}");
    }
}

#[tokio::test]
async fn filter_narrows_rows() {
    let (mut app, _dir) = app_at("tenants", 30).await;
    assert_eq!(tenant_names(&app).len(), 30);
    ch(&mut app, '/');
    typ(&mut app, "stream");
    app.settle().await;
    let names = tenant_names(&app);
    assert_eq!(
        names,
        [
            "Aurora Stream",
            "Echo Stream",
            "Ipê Stream",
            "Lume Stream",
            "Rio Stream"
        ]
    );
    press(&mut app, KeyCode::Enter);
    // Esc clears the filter and shows everything again.
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert_eq!(tenant_names(&app).len(), 30);
    assert_eq!(app.route().path(), "tenants");
}

#[tokio::test]
async fn pages_forward_and_back() {
    let (mut app, _dir) = app_at("tenants", 30).await;
    app.set_page_size(10);
    app.settle().await;
    let first = tenant_names(&app);
    assert_eq!(first.len(), 10);
    press(&mut app, KeyCode::PageDown);
    app.settle().await;
    let second = tenant_names(&app);
    assert_eq!(second[0], "Falcon Cloud");
    let footer = tenants_list(&app).footer();
    assert!(footer.starts_with("rows 11–20 of 30"), "{footer}");
    ch(&mut app, ']');
    app.settle().await;
    assert_eq!(tenant_names(&app)[0], "Kappa Web");
    press(&mut app, KeyCode::PageUp);
    app.settle().await;
    ch(&mut app, '[');
    app.settle().await;
    assert_eq!(tenant_names(&app), first);
    let footer = tenants_list(&app).footer();
    assert!(footer.starts_with("rows 1–10 of 30"), "{footer}");
}

#[tokio::test]
async fn sort_cycling_changes_the_order() {
    let (mut app, _dir) = app_at("tenants", 8).await;
    let by_name = tenant_names(&app);
    assert_eq!(by_name[0], "Acme Hosting");
    ch(&mut app, 'S'); // name, descending
    app.settle().await;
    assert_eq!(tenant_names(&app)[0], "Duna Media");
    ch(&mut app, 's'); // domain
    ch(&mut app, 's'); // status
    ch(&mut app, 's'); // tier, ascending: basic first
    app.settle().await;
    let by_tier = tenant_names(&app);
    assert_eq!(by_tier[0], "Aurora Stream");
    assert_ne!(by_tier, by_name);
}

#[tokio::test]
async fn invalid_domain_shows_the_error_and_creates_nothing() {
    let (mut app, db, _dir) = app_and_db("tenants", 2).await;
    ch(&mut app, 'c');
    assert_eq!(app.route().path(), "tenants/create");
    submit_tenant(&mut app, "Broken Brand", "not a domain");
    app.settle().await;
    let Some(form) = app.screen_as::<painel_ui::screens::tenants::create::TenantForm>() else {
        panic!("left the form")
    };
    assert!(form.form.error_of("domain").is_some());
    assert_eq!(form.form.error_of("name"), None);
    let n = tenants::count(&db, &actor(), None, None).await.unwrap();
    assert_eq!(n, 2, "nothing was created");
    // q is typed into the form; Esc cancels back to the list.
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert_eq!(app.route().path(), "tenants");
    assert_eq!(tenant_names(&app).len(), 2);
}

#[tokio::test]
async fn a_failed_save_focuses_the_bad_field_and_editing_it_clears_the_error() {
    let (mut app, _db, _dir) = app_and_db("tenants/create", 0).await;
    typ(&mut app, "Broken Brand");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "not a domain");
    // Saved from a later field: focus must come back to the domain.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let form = |app: &painel_ui::App| {
        app.screen_as::<painel_ui::screens::tenants::create::TenantForm>()
            .expect("still on the form")
            .form
            .clone()
    };
    let f = form(&app);
    let message = f.error_of("domain").expect("the domain is wrong").to_owned();
    assert_eq!(f.fields[f.focus].key, "domain", "focus is on the bad field");
    let before = screen_text(&render(&mut app, 120, 40));
    assert!(
        before.lines().any(|l| l.contains('│') && l.contains(&message)),
        "the error is on the form:\n{before}"
    );
    // Correcting the field takes its error away at once, before any save.
    for _ in 0.."not a domain".len() {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "broken.example.com");
    assert_eq!(form(&app).error_of("domain"), None);
    let after = screen_text(&render(&mut app, 120, 40));
    // The form, not the status line's flash (which fades on its own), is what must not lie.
    let form_rows: Vec<&str> = after.lines().filter(|l| l.contains('│')).collect();
    assert!(
        !form_rows.iter().any(|l| l.contains(&message)),
        "the old error is gone from the form:\n{after}"
    );
}

#[tokio::test]
async fn creating_a_tenant_opens_it() {
    let (mut app, _dir) = app_at("tenants/create", 0).await;
    submit_tenant(&mut app, "Nova Marca", "nova.example.com");
    app.settle().await;
    assert_eq!(app.route().path(), "tenants/nova-marca/overview");
    assert!(app.flash().is_some_and(|f| f.text.contains("created")));
}

#[tokio::test]
async fn q_goes_back_then_quits() {
    let (mut app, _dir) = app_at("tenants", 3).await;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "tenants/acme-hosting/overview");
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.route().path(), "tenants/acme-hosting/branding");
    ch(&mut app, 'q');
    app.settle().await;
    assert_eq!(app.route().path(), "tenants");
    assert!(!app.should_quit());
    ch(&mut app, 'q');
    assert!(app.should_quit());
}

#[tokio::test]
async fn q_on_a_deep_start_climbs_to_the_parent() {
    let (mut app, _dir) = app_at("tenants/acme-hosting/limits", 1).await;
    ch(&mut app, 'q');
    app.settle().await;
    assert_eq!(app.route().path(), "tenants");
    ch(&mut app, 'q');
    assert!(app.should_quit());
}

#[tokio::test]
async fn limits_and_branding_save_through_the_backend() {
    let (mut app, _dir) = app_at("tenants/acme-hosting/limits", 1).await;
    ch(&mut app, 'e');
    // Clear "unlimited" in customers and type a number.
    for _ in 0..12 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "250");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let d = tenant_detail(&app);
    assert!(!d.editing);
    assert_eq!(d.tenant.as_ref().and_then(|t| t.max_customers), Some(250));

    press(&mut app, KeyCode::BackTab); // billing
    press(&mut app, KeyCode::BackTab); // branding
    ch(&mut app, 'e');
    press(&mut app, KeyCode::Tab); // primary colour
    for _ in 0..7 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "purple");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let d = tenant_detail(&app);
    assert!(d.editing, "a bad colour keeps the form open");
    assert!(d.branding.error_of("primary_color").is_some());
}

/// Clears the focused limit field ("unlimited" or a number) and types `value`.
fn retype(app: &mut painel_ui::App, value: &str) {
    for _ in 0..12 {
        press(app, KeyCode::Backspace);
    }
    typ(app, value);
}

#[tokio::test]
async fn limits_below_usage_ask_for_confirmation_and_tenant_admins_cannot_set_them() {
    let (mut app, db, _dir) = app_and_db("tenants/acme-hosting/limits", 1).await;
    for i in 0..3 {
        backend::customers::create(
            &db,
            &actor(),
            backend::customers::NewCustomer {
                tenant: "acme-hosting".into(),
                name: format!("Cliente {i}"),
                email: format!("c{i}@example.com"),
                ..Default::default()
            },
        )
        .await
        .expect("customer");
    }
    ch(&mut app, 'e');
    retype(&mut app, "1");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let d = tenant_detail(&app);
    assert!(d.editing, "not saved: the form stays open");
    assert_eq!(d.tenant.as_ref().and_then(|t| t.max_customers), None);
    let field = d.limits.error_of("max_customers").unwrap_or_default();
    assert!(field.contains("3 in use"), "{field}");
    assert_eq!(
        d.limits.error.as_deref(),
        Some(painel_ui::screens::tenants::detail::BELOW_USAGE)
    );
    // Enter again with the same values confirms.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let d = tenant_detail(&app);
    assert!(!d.editing);
    assert_eq!(d.tenant.as_ref().and_then(|t| t.max_customers), Some(1));

    // The tenant's own admin cannot raise its limits back.
    let tenant_id = d.tenant.as_ref().map(|t| t.id).expect("tenant");
    let mut admin = painel_ui::App::new(
        db.clone(),
        backend::Actor::tenant_user("thiago.barbosa", backend::Role::TenantAdmin, tenant_id),
        painel_ui::UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: "sqlite".into(),
            start_route: Some("tenants/acme-hosting/limits".into()),
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        },
    );
    admin.settle().await;
    // Limits are platform-only: `e` is not offered, and pressing it opens no form.
    assert!(!admin.offers(&painel_ui::action::Action::Edit));
    ch(&mut admin, 'e');
    let flash = admin.flash().map(|f| f.text.clone()).unwrap_or_default();
    assert!(flash.contains("tenants:limits"), "{flash}");
    retype(&mut admin, "unlimited");
    press(&mut admin, KeyCode::Enter);
    admin.settle().await;
    let d = tenant_detail(&admin);
    assert!(!d.editing, "no form opened");
    let t = tenants::get(&db, &actor(), "acme-hosting").await.expect("tenant");
    assert_eq!(t.max_customers, Some(1));
}

#[tokio::test]
async fn suspend_needs_the_typed_slug_and_a_reason() {
    let (mut app, _dir) = app_at("tenants", 2).await;
    ch(&mut app, 'x');
    typ(&mut app, "wrong");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "unpaid");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let l = tenants_list(&app);
    let modal = l.modal.as_ref().expect("modal stays open");
    assert!(modal.form.error_of("confirm").is_some());
    // The error focused the confirm field.
    for _ in 0..5 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "acme-hosting");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let l = tenants_list(&app);
    assert!(l.modal.is_none());
    assert_eq!(l.rows()[0].status, "suspended");
    ch(&mut app, 'r');
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let l = tenants_list(&app);
    assert_eq!(l.rows()[0].status, "active");
}

#[tokio::test]
async fn dashboard_card_opens_its_route() {
    let (mut app, _dir) = app_at("dashboard", 2).await;
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "tenants");
}

#[tokio::test]
async fn tenant_billing_tab_is_scoped() {
    let (app, _dir) = app_at("tenants/acme-hosting/billing", 2).await;
    let d = tenant_detail(&app);
    let b = d.billing.as_ref().expect("billing loaded");
    assert_eq!(b.name, "Acme Hosting");
    assert_eq!(b.invoices.source.tenant, d.tenant.as_ref().map(|t| t.id));
    assert!(b.invoices.page.as_ref().is_some_and(|p| p.items.is_empty()));
    assert!(b.payments.page.as_ref().is_some_and(|p| p.items.is_empty()));
    assert!(b.money.is_some());
}

#[test]
fn every_keymap_action_has_a_handler_and_every_key_is_in_help() {
    let km = Keymap::parse(painel_ui::keymap::DEFAULT_KEYMAP).expect("keymap parses: every run is an action");
    let help: String = painel_ui::help::entries(&km, &Context::ALL, |_| true)
        .iter()
        .map(|(section, keys, desc)| format!("{section}\n  {keys}  {desc}\n"))
        .collect();
    for ctx in Context::ALL {
        for b in km.bindings(ctx) {
            assert!(
                help.contains(&b.keys()),
                "[{}] {:?} missing from help",
                ctx.name(),
                b.on
            );
            assert!(help.contains(&b.desc), "{}", b.desc);
            for k in &b.on {
                assert!(help.contains(&pretty_key(k)), "{k}");
            }
        }
    }
}

#[tokio::test]
async fn login_screen_signs_in_and_shows_one_message_for_every_failure() {
    let (mut app, db, _dir, kept) = login_app(2).await;
    assert!(
        app.login.is_some() && app.screen().is_none(),
        "nothing but the login screen"
    );
    let mut messages = Vec::new();
    for (user, pw) in [("ana", "wrong password"), ("nobody", PASSWORD)] {
        typ(&mut app, user);
        press(&mut app, KeyCode::Enter);
        typ(&mut app, pw);
        press(&mut app, KeyCode::Enter);
        app.settle().await;
        let l = app.login.as_ref().expect("still on the login screen");
        messages.push(l.form.error.clone().expect("an error is shown"));
        assert_eq!(l.form.value("password"), "", "the password is not kept");
        // Start the next try from an empty username.
        let n = l.form.value("username").chars().count();
        press(&mut app, KeyCode::BackTab);
        for _ in 0..n {
            press(&mut app, KeyCode::Backspace);
        }
    }
    assert_eq!(messages[0], backend::identity::LOGIN_FAILED);
    assert_eq!(messages[0], messages[1]);
    typ(&mut app, "ana");
    press(&mut app, KeyCode::Enter);
    typ(&mut app, PASSWORD);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(app.login.is_none(), "signed in");
    assert_eq!(
        (app.actor().name.as_str(), app.route().path().as_str()),
        ("ana", "dashboard")
    );
    assert!(app.actor().session_id.is_some());
    let token = kept.lock().unwrap().clone().expect("the token was handed over");
    let auth = backend::identity::authenticate(&db, &token, "test").await.unwrap();
    assert_eq!(auth.user.username, "ana");
}

#[tokio::test]
async fn login_screen_asks_for_the_2fa_code_when_the_account_has_one() {
    use backend::identity::{self, totp, LoginOutcome, LoginRequest};
    let (mut app, db, dir, _) = login_app(0).await;
    let keys = backend::secrets::load(&key_config(&dir)).unwrap().keys;
    let req = LoginRequest {
        username: "ana".into(),
        password: PASSWORD.into(),
        code: None,
        source: "test".into(),
    };
    let Ok(LoginOutcome::Session(s)) = identity::login(&db, None, &req).await else {
        panic!("login")
    };
    let e = totp::enroll(&db, &keys, &s.actor, PASSWORD).await.unwrap();
    let earlier = backend::db::now() - chrono::TimeDelta::seconds(60);
    let code = totp::code_at(&e.secret, earlier).unwrap();
    totp::enable_at(&db, &keys, &s.actor, &code, PASSWORD, earlier)
        .await
        .unwrap();
    typ(&mut app, "ana");
    press(&mut app, KeyCode::Enter);
    typ(&mut app, PASSWORD);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let l = app.login.as_ref().expect("asks for the code");
    assert!(l.wants_code && l.form.focus == 2 && l.form.error.is_none());
    typ(&mut app, &totp::code_at(&e.secret, backend::db::now()).unwrap());
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(app.login.is_none(), "signed in with the code");
    assert_eq!(app.actor().name, "ana");
}

#[tokio::test]
async fn suspending_asks_for_a_2fa_code_when_the_last_one_is_old() {
    use backend::identity::totp;
    let (mut app, db, dir, _) = login_app(1).await;
    typ(&mut app, "ana");
    press(&mut app, KeyCode::Enter);
    typ(&mut app, PASSWORD);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    // 2FA enabled on this very session, ten minutes ago: too long ago for a sensitive action.
    let keys = backend::secrets::load(&key_config(&dir)).unwrap().keys;
    let actor = app.actor().clone();
    let e = totp::enroll(&db, &keys, &actor, PASSWORD).await.unwrap();
    let then = backend::db::now() - chrono::TimeDelta::minutes(10);
    totp::enable_at(
        &db,
        &keys,
        &actor,
        &totp::code_at(&e.secret, then).unwrap(),
        PASSWORD,
        then,
    )
    .await
    .unwrap();
    palette(&mut app, "tenants");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    ch(&mut app, 'x');
    typ(&mut app, "acme-hosting");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "chargeback");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let t = tenants::get(&db, &actor, "acme-hosting").await.unwrap();
    assert_eq!(t.status, "active", "refused without a recent code");
    // The code field is added under the reason, which stays shown and editable.
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("2FA code") && text.contains("Reason"), "{text}");
    assert!(text.contains("chargeback"), "the reason is still shown:\n{text}");
    press(&mut app, KeyCode::BackTab);
    typ(&mut app, " (card)");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, &totp::code_at(&e.secret, backend::db::now()).unwrap());
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let t = tenants::get(&db, &actor, "acme-hosting").await.unwrap();
    assert_eq!(
        (t.status.as_str(), t.suspended_reason.as_deref()),
        ("suspended", Some("chargeback (card)")),
        "the reason typed first is kept, and could be corrected"
    );
}

#[tokio::test]
async fn a_revoked_session_brings_the_login_screen_back() {
    let (mut app, db, _dir, kept) = login_app(1).await;
    typ(&mut app, "ana");
    press(&mut app, KeyCode::Enter);
    typ(&mut app, PASSWORD);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(app.login.is_none());
    app.check_session();
    app.settle().await;
    assert!(app.login.is_none(), "still valid");
    let token = kept.lock().unwrap().clone().unwrap();
    backend::identity::logout(&db, &token, "elsewhere").await.unwrap();
    app.check_session();
    app.settle().await;
    let l = app.login.as_ref().expect("back on the login screen");
    assert_eq!(l.notice.as_deref(), Some(backend::identity::sessions::REVOKED));
    assert!(app.screen().is_none(), "the console is gone");
    assert_eq!(app.actor().name, "(not signed in)");
}

fn api_keys(app: &painel_ui::App) -> &painel_ui::screens::settings::api_keys::ApiKeysScreen {
    app.screen_as().unwrap_or_else(|| panic!("not on the API keys page"))
}

#[tokio::test]
async fn api_keys_create_shows_the_secret_once_and_revoke_confirms() {
    let (mut app, db, _dir) = app_and_db("settings", 1).await;
    // Tab walks from Settings to API keys.
    press(&mut app, KeyCode::Tab);
    app.settle().await;
    assert_eq!(app.route().path(), "settings/api-keys");
    assert!(screen_text(&render(&mut app, 100, 24)).contains("No API keys yet"));
    // A bad scope: the error lands on the field and nothing is stored.
    ch(&mut app, 'c');
    // The tenant field is a picker: the display name typed as people say it ("tenant not
    // found: StreamMax" before) finds the tenant; Enter writes its slug and moves on.
    typ(&mut app, "Acme Host");
    app.settle().await;
    let text = screen_text(&render(&mut app, 100, 24));
    assert!(
        text.contains("Tenant for the key") && text.contains("acme-hosting"),
        "{text}"
    );
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let form = &api_keys(&app).form.as_ref().expect("form open").0;
    assert_eq!((form.value("tenant").as_str(), form.focus), ("acme-hosting", 1));
    typ(&mut app, "Billing bot");
    press(&mut app, KeyCode::Tab);
    typ(&mut app, "customers:read, root:all");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let form = &api_keys(&app).form.as_ref().expect("form stays open").0;
    assert!(form.error_of("scopes").is_some_and(|e| e.contains("root:all")));
    let q = backend::apikeys::ApiKeyQuery {
        limit: 10,
        ..Default::default()
    };
    assert!(backend::apikeys::list(&db, &actor(), &q)
        .await
        .unwrap()
        .items
        .is_empty());
    for _ in 0..", root:all".len() {
        press(&mut app, KeyCode::Backspace);
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let stored = backend::apikeys::list(&db, &actor(), &q).await.unwrap().items;
    assert_eq!(stored.len(), 1);
    let shown = api_keys(&app).shown.as_ref().expect("the secret modal");
    let secret = shown.secret.clone();
    assert!(secret.starts_with(&format!("pk_{}_", stored[0].prefix)));
    let text = screen_text(&render(&mut app, 100, 24));
    assert!(text.contains(&secret) && text.contains("Copy it now"), "{text}");
    assert!(backend::apikeys::authenticate(&db, &secret, "test").await.is_ok());
    // Closed: the secret is gone from the screen and from its state; the list shows the prefix.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(api_keys(&app).shown.is_none());
    let text = screen_text(&render(&mut app, 100, 24));
    assert!(!text.contains(&secret) && !text.contains("pk_"), "{text}");
    assert!(
        text.contains(&stored[0].prefix) && text.contains("Billing bot"),
        "{text}"
    );
    // x asks first; Esc changes nothing, Enter revokes.
    ch(&mut app, 'x');
    assert!(screen_text(&render(&mut app, 100, 24)).contains("Revoke API key"));
    press(&mut app, KeyCode::Esc);
    app.settle().await;
    assert_eq!(
        backend::apikeys::list(&db, &actor(), &q).await.unwrap().items[0].status,
        "active"
    );
    ch(&mut app, 'x');
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(api_keys(&app).confirm.is_none());
    assert_eq!(
        backend::apikeys::list(&db, &actor(), &q).await.unwrap().items[0].status,
        "revoked"
    );
    assert!(app.flash().is_some_and(|f| f.text.contains("revoked")));
    assert_eq!(api_keys(&app).rows()[0].status, "revoked");
    assert!(backend::apikeys::authenticate(&db, &secret, "test").await.is_err());
    // Revoking again is refused before asking.
    ch(&mut app, 'x');
    assert!(api_keys(&app).confirm.is_none());
}

#[tokio::test]
async fn an_ssh_session_ends_the_app_when_its_key_is_removed() {
    use backend::sshkeys::{self, session::SshOpen};
    let (db, dir) = db_with(1).await;
    backend::identity::accounts::create_user(
        &db,
        &actor(),
        backend::identity::accounts::NewUser {
            username: "ana".into(),
            email: "ana@example.com".into(),
            role: Some(backend::Role::SuperAdmin),
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm("ana"),
    )
    .await
    .unwrap();
    let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIJ1ADrjo5vknsGcOgT5c1Rf6O8MCtbFuyC79/LU/syW ana";
    let proof = backend::sensitive::Proof::confirm("ana");
    let key = sshkeys::add(&db, &actor(), "ana", line, &proof).await.unwrap();
    let SshOpen::Session(s) = sshkeys::session::open(&db, None, key.id, "ssh:127.0.0.1", None)
        .await
        .unwrap()
    else {
        panic!("ana has no 2FA");
    };
    let mut app = painel_ui::App::new(
        db.clone(),
        s.actor.clone(),
        painel_ui::UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: "sqlite".into(),
            start_route: Some("dashboard".into()),
            keys: Some(key_config(&dir)),
            login: Some(painel_ui::LoginOptions {
                notice: None,
                token: Some(s.token.clone()),
                end_on_sign_out: true,
                on_login: None,
            }),
            read_only: false,
            keymap: None,
        },
    );
    app.check_session();
    app.settle().await;
    assert!(!app.should_quit(), "the key is still there");
    sshkeys::remove(&db, &actor(), "ana", &key.id.to_string(), &proof)
        .await
        .unwrap();
    app.check_session();
    app.settle().await;
    assert!(app.should_quit(), "the minute check ends the SSH session");
    assert!(app.login.is_none(), "no login screen to become someone else");
    assert_eq!(app.ended(), Some(backend::identity::sessions::REVOKED));
}

/// Grey text means one thing (docs/adr/0022): an example, written "e.g. …" in dim italic.
/// Defaults the service would apply (tier, currency, colours) are filled in as real values.
#[tokio::test]
async fn placeholders_are_examples_and_defaults_are_values() {
    let (mut app, _db, _dir) = app_and_db("tenants/create", 0).await;
    let form = &app
        .screen_as::<painel_ui::screens::tenants::create::TenantForm>()
        .expect("the create form")
        .form;
    assert_eq!(
        ["tier", "currency", "primary_color", "accent_color"].map(|k| form.value(k)),
        ["basic", "BRL", "#3b82f6", "#f59e0b"].map(str::to_owned)
    );
    assert!(form
        .widget_fields()
        .iter()
        .filter_map(|f| f.placeholder.as_deref())
        .all(|p| p.is_empty() || p.starts_with("e.g. ")));
    // Focus is on the name: the domain's example is drawn, italic.
    let t = render(&mut app, 100, 30);
    let text = screen_text(&t);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("e.g. acme.example.com"))
        .unwrap_or_else(|| panic!("no example for the domain:\n{text}"));
    let x: Vec<char> = line.chars().collect();
    let col = x
        .windows(4)
        .position(|w| w.iter().collect::<String>() == "e.g.")
        .expect("column");
    let cell = &t.backend().buffer()[(col as u16, y as u16)];
    assert!(cell.modifier.contains(ratatui::style::Modifier::ITALIC), "{:?}", cell);
}
