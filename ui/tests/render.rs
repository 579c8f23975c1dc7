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
    use painel_ui::screens::common::browse::BrowseState;
    let mut state = BrowseState::new("no_such_view", "Somewhere".into(), None);
    let theme = widgets::Theme::dark();
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(60, 8)).unwrap();
    t.draw(|f| state.draw(f, f.area(), &theme)).unwrap();
    assert_snapshot!(t.backend());
}

#[allow(clippy::unwrap_used)]
mod queue_state {
    use backend::jobs::admin::QueueStat;
    use backend::jobs::feed::{Overview, WatchItem};
    use backend::jobs::{EventKind, Job, JobEvent};
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use serde_json::json;
    use uuid::Uuid;

    pub fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 14, 5, 0).unwrap()
    }

    pub fn id(n: u128) -> Uuid {
        // UUIDv7-like: the time in front, a "random" tail.
        Uuid::from_u128(0x0195_5f3a_0000_7000_8000_0000_0000_0000 + ((n * 0x9e37_79b1) & 0xffff_ffff))
    }

    pub fn job(n: u128, queue: &str, kind: &str, status: &str, attempts: i64, ago: i64, error: Option<&str>) -> Job {
        let t = at() - Duration::seconds(ago);
        let history = match error {
            Some(e) => json!([
                { "attempt": 1, "at": (t - Duration::minutes(6)).to_rfc3339(), "kind": "transient", "error": e },
                { "attempt": attempts, "at": t.to_rfc3339(), "kind": "permanent", "error": e }
            ]),
            None => json!([]),
        };
        Job {
            id: id(n),
            queue: queue.into(),
            kind: kind.into(),
            payload: json!({ "service_id": "0195-acme-42" }),
            status: status.into(),
            attempts,
            max_attempts: 5,
            run_at: t,
            lease_until: None,
            locked_by: (status == "running").then(|| format!("worker-gru-{}:41{n:02}", n % 2 + 1)),
            last_error: error.map(str::to_owned),
            error_history: history,
            unique_key: None,
            tenant_id: None,
            enqueued_by: "billing".into(),
            created_at: t - Duration::minutes(10),
            updated_at: t,
            finished_at: None,
            started_at: Some(t),
        }
    }

    pub fn overview() -> Overview {
        let stat = |q: &str, s: &str, n| QueueStat {
            queue: q.into(),
            status: s.into(),
            count: n,
        };
        Overview {
            at: at(),
            depths: vec![
                stat("billing", "queued", 3),
                stat("billing", "succeeded", 610),
                stat("dns", "running", 1),
                stat("dns", "succeeded", 320),
                stat("dns", "failed", 4),
                stat("mail", "queued", 48),
                stat("mail", "running", 2),
                stat("mail", "succeeded", 5120),
                stat("mail", "dead", 3),
                stat("mail", "cancelled", 1),
                stat("provisioning", "queued", 12),
                stat("provisioning", "running", 3),
                stat("provisioning", "succeeded", 1840),
                stat("provisioning", "failed", 2),
                stat("provisioning", "dead", 1),
            ],
            throughput: vec![
                4, 6, 5, 9, 12, 10, 8, 7, 14, 18, 22, 19, 15, 11, 9, 8, 12, 16, 25, 31, 28, 20, 17, 13, 10, 9, 14, 19,
                23, 12,
            ],
            running: vec![
                job(1, "migrations", "migration.monitor", "running", 1, 7510, None),
                job(2, "provisioning", "provision.createacct", "running", 2, 2830, None),
                job(3, "mail", "mail.send", "running", 1, 184, None),
                job(4, "dns", "dns.sync_zone", "running", 1, 12, None),
            ],
            failures: vec![
                job(
                    5,
                    "provisioning",
                    "provision.createacct",
                    "queued",
                    2,
                    40,
                    Some("WHM API timeout after 60s calling createacct"),
                ),
                job(
                    6,
                    "dns",
                    "dns.sync_zone",
                    "failed",
                    2,
                    95,
                    Some("Cloudflare API 81053: An A, AAAA, or CNAME record with that host already exists."),
                ),
                job(
                    7,
                    "mail",
                    "mail.send",
                    "dead",
                    5,
                    610,
                    Some("SMTP 550 5.1.1 mailbox unavailable"),
                ),
                job(
                    8,
                    "billing",
                    "invoice.remind",
                    "failed",
                    1,
                    1800,
                    Some("WhatsApp template not approved"),
                ),
            ],
        }
    }

    /// A failure that arrived live after the overview, from Redis.
    pub fn live() -> Vec<WatchItem> {
        vec![
            WatchItem::Source("redis"),
            WatchItem::Event(JobEvent {
                at: at() + Duration::seconds(2),
                event: EventKind::Dead,
                job_id: id(9),
                queue: "provisioning".into(),
                kind: "provision.ssl".into(),
                attempt: 5,
                tenant_id: None,
                error: Some("Let's Encrypt rate limit: too many certificates".into()),
            }),
        ]
    }
}

/// The queue screen with a realistic state (built from values: ages and times are fixed).
async fn queue_app() -> (painel_ui::App, tempfile::TempDir) {
    let (mut app, dir) = app_at("services/provisioning", 0).await;
    let q = queues_mut(&mut app);
    q.show(queue_state::overview());
    q.on_watch(queue_state::live());
    q.clock = queue_state::at() + chrono::Duration::seconds(3);
    (app, dir)
}

#[tokio::test]
async fn queues_80x24() {
    let (mut app, _dir) = queue_app().await;
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn queues_120x40() {
    let (mut app, _dir) = queue_app().await;
    ch(&mut app, 'j');
    assert_snapshot!(render(&mut app, 120, 40).backend());
}

#[tokio::test]
async fn queues_retry_modal() {
    let (mut app, _dir) = queue_app().await;
    ch(&mut app, 'j');
    ch(&mut app, 'j');
    ch(&mut app, 'r');
    assert!(queues(&app).modal.is_some());
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn queues_job_detail() {
    use painel_ui::screens::services::job_detail::JobDetail;
    let (mut app, _dir) = queue_app().await;
    let job = queue_state::overview().failures.remove(1);
    queues_mut(&mut app).detail = Some(JobDetail {
        id: job.id,
        job: Some(job),
        error: None,
    });
    assert_snapshot!(render(&mut app, 100, 30).backend());
}

#[tokio::test]
async fn job_list_80x24() {
    use backend::page::Page;
    let (mut app, _dir) = app_at("services/jobs", 0).await;
    let ov = queue_state::overview();
    let items: Vec<_> = ov.failures.into_iter().chain(ov.running).collect();
    match app.screen_as_mut::<painel_ui::screens::services::jobs::JobsList>() {
        Some(l) => {
            l.list.page = Some(Page {
                items,
                has_next: true,
                has_prev: false,
                first: None,
                last: None,
                next_cursor: None,
            })
        }
        _ => panic!("not on the job list"),
    }
    assert_snapshot!(render(&mut app, 80, 24).backend());
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

#[allow(clippy::unwrap_used)]
mod api_keys_state {
    use backend::apikeys::ApiKey;
    use backend::page::Page;
    use chrono::{DateTime, TimeDelta, Utc};
    use uuid::Uuid;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn key(n: u128, tenant: &str, name: &str, prefix: &str, scopes: &[&str], status: &str) -> ApiKey {
        ApiKey {
            id: Uuid::from_u128(n),
            tenant_id: Uuid::from_u128(100 + n),
            tenant_slug: tenant.into(),
            user_id: None,
            name: name.into(),
            prefix: prefix.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            rate_limit_per_minute: None,
            burst: None,
            expires_at: (n == 2).then(|| at() + TimeDelta::days(30)),
            last_used_at: (n != 3).then(|| at() - TimeDelta::minutes(5)),
            last_used_source: None,
            revoked_at: (status == "revoked").then(at),
            created_at: at() - TimeDelta::days(10),
            updated_at: at(),
            status: status.into(),
        }
    }

    pub fn page() -> Page<ApiKey> {
        Page {
            items: vec![
                key(
                    1,
                    "acme-hosting",
                    "Billing bot",
                    "bfbztpgd",
                    &["customers:read", "services:read"],
                    "active",
                ),
                key(
                    2,
                    "acme-hosting",
                    "Provisioner",
                    "k7m2xq9r",
                    &["services:read"],
                    "active",
                ),
                key(
                    3,
                    "aurora-stream",
                    "Old importer",
                    "zz4h8wnc",
                    &["customers:create"],
                    "revoked",
                ),
            ],
            has_next: false,
            has_prev: false,
            first: None,
            last: None,
            next_cursor: None,
        }
    }
}

async fn api_keys_app() -> (painel_ui::App, tempfile::TempDir) {
    let (mut app, dir) = app_at("settings/api-keys", 0).await;
    match app.screen_as_mut::<painel_ui::screens::settings::api_keys::ApiKeysScreen>() {
        Some(s) => s.list.page = Some(api_keys_state::page()),
        _ => panic!("not on the API keys page"),
    }
    (app, dir)
}

#[tokio::test]
async fn api_keys_80x24() {
    let (mut app, _dir) = api_keys_app().await;
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn api_keys_120x40() {
    let (mut app, _dir) = api_keys_app().await;
    assert_snapshot!(render(&mut app, 120, 40).backend());
}

#[tokio::test]
async fn api_key_secret_modal_80x24() {
    let (mut app, _dir) = api_keys_app().await;
    match app.screen_as_mut::<painel_ui::screens::settings::api_keys::ApiKeysScreen>() {
        Some(s) => {
            s.shown = Some(painel_ui::screens::settings::api_keys::Shown {
                name: "Billing bot".into(),
                prefix: "bfbztpgd".into(),
                secret: "pk_bfbztpgd_bok0ywvZrPYBpbIOTVrIJvf6c_fXMb2qhOweDM6wFes".into(),
            })
        }
        _ => panic!("not on the API keys page"),
    }
    assert_snapshot!(render(&mut app, 80, 24).backend());
}

#[tokio::test]
async fn api_key_create_form_and_revoke_modal_80x24() {
    let (mut app, _dir) = api_keys_app().await;
    ch(&mut app, 'c');
    assert_snapshot!("api_key_create_form_empty", render(&mut app, 80, 24).backend());
    // The tenant field is a picker: typing opens it (no tenant in this database matches).
    typ(&mut app, "acme-hosting");
    app.settle().await;
    assert_snapshot!("api_key_create_form", render(&mut app, 80, 24).backend());
    // Esc closes the picker, then the form.
    press(&mut app, crossterm::event::KeyCode::Esc);
    press(&mut app, crossterm::event::KeyCode::Esc);
    ch(&mut app, 'x');
    assert_snapshot!("api_key_revoke_modal", render(&mut app, 80, 24).backend());
}

/// `painel --readonly` (docs/adr/0016): the tenant list offers no change in its hints or
/// help, a change key starts nothing, and the actor the backend sees refuses it anyway.
#[tokio::test]
async fn read_only_console_offers_and_starts_no_change() {
    let (db, _dir) = db_with(3).await;
    let mut app = painel_ui::App::new(
        db.clone(),
        actor(),
        painel_ui::UiOptions {
            read_only: true,
            start_route: Some("tenants".into()),
            ..painel_ui::UiOptions::new(widgets::Theme::dark(), "sqlite")
        },
    );
    app.settle().await;
    let t = render(&mut app, 120, 40);
    let text = screen_text(&t);
    for change in ["new", "suspend", "reactivate"] {
        assert!(!text.contains(&format!(" {change} ")), "{change} offered:\n{text}");
    }
    assert!(text.contains("filter"), "{text}");
    assert_snapshot!(t.backend());

    ch(&mut app, 'x');
    ch(&mut app, 'c');
    app.settle().await;
    assert!(tenants_list(&app).modal.is_none(), "no confirmation opened");
    assert_eq!(app.route().path(), "tenants", "the create form did not open");
    assert!(app.flash().is_some_and(|f| f.text.contains("read-only")));

    ch(&mut app, '?');
    let help = screen_text(&render(&mut app, 120, 40));
    assert!(
        !help.contains("Suspend the tenant") && !help.contains("Create (tenants"),
        "{help}"
    );
    assert!(help.contains("Filter") || help.contains("filter"), "{help}");

    let slug = tenants_list(&app).rows()[0].slug.clone();
    let refused = backend::tenants::reactivate(&db, app.actor(), &slug).await;
    assert!(
        matches!(&refused, Err(backend::ServiceError::PermissionDenied(m)) if m.contains("read-only")),
        "{refused:?}"
    );
}
