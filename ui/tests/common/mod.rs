//! Shared test setup: a temporary SQLite database with deterministic tenants, an `App` on it
//! and helpers to press keys and render into a `TestBackend`.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use backend::tenants::{self, NewTenant};
use backend::{Actor, Db};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use painel_ui::screens::tenants::detail::TenantDetail;
use painel_ui::screens::tenants::list::TenantsList;
use painel_ui::{App, UiOptions};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tempfile::TempDir;

pub const NAMES: [&str; 30] = [
    "Acme Hosting",
    "Aurora Stream",
    "Bahia Cloud",
    "Beta Servers",
    "Cactus Web",
    "Ceará Net",
    "Delta Hosting",
    "Duna Media",
    "Eagle Host",
    "Echo Stream",
    "Falcon Cloud",
    "Floresta Web",
    "Gaia Hosting",
    "Guará TV",
    "Horizonte Net",
    "Hub Prime",
    "Iguaçu Cloud",
    "Ipê Stream",
    "Jaguar Host",
    "Jade Media",
    "Kappa Web",
    "Lagoa Hosting",
    "Lume Stream",
    "Mar Azul Cloud",
    "Mercurio Host",
    "Nimbus Web",
    "Oasis Media",
    "Pampa Hosting",
    "Quasar Cloud",
    "Rio Stream",
];

const TIERS: [&str; 4] = ["free", "basic", "pro", "enterprise"];

pub fn actor() -> Actor {
    Actor::system("test")
}

/// A migrated temp database holding the first `n` of [`NAMES`].
pub async fn db_with(n: usize) -> (Db, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ui.db");
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    for (i, name) in NAMES.iter().take(n).enumerate() {
        let slug = backend::validate::slugify(name);
        tenants::create(
            &db,
            &actor(),
            NewTenant {
                name: (*name).to_owned(),
                domain: format!("{slug}.example.com"),
                tier: TIERS[i % TIERS.len()].to_owned(),
                ..NewTenant::default()
            },
        )
        .await
        .expect("create tenant");
    }
    (db, dir)
}

pub async fn app_at(route: &str, n: usize) -> (App, TempDir) {
    let (app, _db, dir) = app_and_db(route, n).await;
    (app, dir)
}

pub async fn app_and_db(route: &str, n: usize) -> (App, Db, TempDir) {
    let (db, dir) = db_with(n).await;
    let mut app = App::new(
        db.clone(),
        actor(),
        UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: "sqlite".into(),
            start_route: Some(route.into()),
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        },
    );
    app.settle().await;
    (app, db, dir)
}

pub fn render(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| app.draw(f)).expect("draw");
    t
}

pub fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

pub fn ch(app: &mut App, c: char) {
    let m = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    app.handle_key(KeyEvent::new(KeyCode::Char(c), m));
}

pub fn ctrl(app: &mut App, c: char) {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

pub fn typ(app: &mut App, s: &str) {
    for c in s.chars() {
        ch(app, c);
    }
}

/// `:` and `query` typed into the palette (Enter not pressed).
pub fn palette(app: &mut App, query: &str) {
    ch(app, ':');
    typ(app, query);
}

/// On the create form: types `name`, skips the slug, types `domain` and presses Enter.
pub fn submit_tenant(app: &mut App, name: &str, domain: &str) {
    typ(app, name);
    press(app, KeyCode::Tab);
    press(app, KeyCode::Tab);
    typ(app, domain);
    press(app, KeyCode::Enter);
}

/// The tenant list on screen.
pub fn tenants_list(app: &App) -> &TenantsList {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on the tenant list: {}", app.route().path()))
}

/// The tenant detail on screen.
pub fn tenant_detail(app: &App) -> &TenantDetail {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on a tenant: {}", app.route().path()))
}

/// The names on the tenant list's current page.
pub fn tenant_names(app: &App) -> Vec<String> {
    tenants_list(app).rows().iter().map(|t| t.name.clone()).collect()
}

pub const PASSWORD: &str = "correct horse battery";

/// Someone who saw the login screen's callback: the token it was handed.
pub type Kept = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// An app behind the login screen, on a database with one super admin `ana` (and `n`
/// tenants); the master keys live in the temp dir.
pub async fn login_app(n: usize) -> (App, Db, TempDir, Kept) {
    let (db, dir) = db_with(n).await;
    // Set up like a deployment (`painel keys init`): a registered key in the data dir, and the
    // handle keys its audit rows with it (docs/adr/0013).
    let (loaded, _) = backend::secrets::create_key_file(&key_config(&dir)).expect("key file");
    backend::secrets::init(&db, &actor(), &loaded.keys)
        .await
        .expect("keys init");
    let db = db.with_audit_keys(Some(backend::audit::AuditKeys::from_keys(&loaded.keys)));
    backend::identity::accounts::create_user(
        &db,
        &actor(),
        backend::identity::accounts::NewUser {
            username: "ana".into(),
            email: "ana@example.com".into(),
            password: Some(PASSWORD.into()),
            role: Some(backend::Role::SuperAdmin),
            ..Default::default()
        },
        &backend::sensitive::Proof::confirm("ana"),
    )
    .await
    .expect("create user");
    let kept: Kept = Default::default();
    let keep = kept.clone();
    let app = App::new(
        db.clone(),
        actor(),
        UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: "sqlite".into(),
            start_route: Some("dashboard".into()),
            keys: Some(key_config(&dir)),
            login: Some(painel_ui::LoginOptions {
                notice: None,
                token: None,
                end_on_sign_out: false,
                on_login: Some(std::sync::Arc::new(move |s: &backend::identity::NewSession| {
                    *keep.lock().unwrap() = Some(s.token.clone());
                })),
            }),
            read_only: false,
            keymap: None,
        },
    );
    (app, db, dir, kept)
}

pub fn key_config(dir: &TempDir) -> backend::secrets::KeyConfig {
    backend::secrets::KeyConfig {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    }
}

/// The queue screen on screen.
pub fn queues(app: &App) -> &painel_ui::screens::services::queues::QueuesScreen {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on the queue screen: {}", app.route().path()))
}

pub fn queues_mut(app: &mut App) -> &mut painel_ui::screens::services::queues::QueuesScreen {
    let path = app.route().path();
    app.screen_as_mut()
        .unwrap_or_else(|| panic!("not on the queue screen: {path}"))
}

/// Runs the app loop as `painel_ui::run` does (backend results, live events and the 250 ms
/// tick), with no key pressed, until `done` holds; panics after `timeout`.
pub async fn pump_until(app: &mut App, timeout: std::time::Duration, done: impl Fn(&App) -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    while !done(app) {
        if tokio::time::Instant::now() > deadline {
            panic!("condition not met within {timeout:?} on {}", app.route().path());
        }
        tokio::select! {
            Some(r) = app.next_result() => {
                app.apply(r);
                app.drain_ready();
            }
            _ = tick.tick() => app.tick(),
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// An app on `route` over `db`, acting as `actor`.
pub async fn app_on(db: &Db, actor: Actor, route: &str) -> App {
    let mut app = App::new(
        db.clone(),
        actor,
        UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: "sqlite".into(),
            start_route: Some(route.into()),
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        },
    );
    app.settle().await;
    app
}

/// The whole screen as text, one line per row.
pub fn screen_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The screen as text with a wide character's second cell left out, so rows read as they
/// look (`screen_text` shows that cell as a space).
pub fn cells_text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut rows = Vec::new();
    for y in 0..buf.area.height {
        let mut row = String::new();
        let mut x = 0;
        while x < buf.area.width {
            let sym = buf[(x, y)].symbol();
            row.push_str(sym);
            x += u16::try_from(widgets::text::width(sym).max(1)).unwrap();
        }
        rows.push(row);
    }
    rows.join("\n")
}

/// The job list on screen.
pub fn jobs_list(app: &App) -> &painel_ui::screens::services::jobs::JobsList {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on the job list: {}", app.route().path()))
}

/// The screen with what changes from run to run masked: ids (hex runs of 6 or more) and
/// times (`2026-12-13`, `18:53`); the demo data is relative to now and its ids are random.
pub fn stable(text: &str) -> String {
    let mask = |w: &str| -> String {
        let core = w.trim_end_matches('…');
        let hex = core.len() >= 6 && core.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        let time = core.len() == 5 && core.as_bytes().get(2) == Some(&b':');
        if hex || time {
            w.chars()
                .map(|c| if c.is_ascii_alphanumeric() { '#' } else { c })
                .collect()
        } else {
            w.to_owned()
        }
    };
    text.lines()
        .map(|l| {
            let mut out = String::new();
            let mut word = String::new();
            for c in l.chars() {
                if c.is_whitespace() || c == '│' || c == '┃' {
                    out.push_str(&mask(&word));
                    word.clear();
                    out.push(c);
                } else {
                    word.push(c);
                }
            }
            out.push_str(&mask(&word));
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The table's header row: the first line naming every one of `titles`.
pub fn header_has(text: &str, titles: &[&str]) -> bool {
    text.lines().any(|l| {
        let words: Vec<&str> = l.split(|c: char| c == '│' || c.is_whitespace()).collect();
        titles.iter().all(|t| words.contains(t))
    })
}
