//! Test databases: a fresh SQLite file or a fresh PostgreSQL database per test.

use backend::Db;

pub enum Engine {
    Sqlite,
    Postgres,
}

pub fn engine() -> Engine {
    match std::env::var("PAINEL_TEST_BACKEND").as_deref() {
        Ok("postgres") => Engine::Postgres,
        Ok("sqlite") | Err(_) => Engine::Sqlite,
        Ok(other) => panic!("PAINEL_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// The admin URL of a PostgreSQL server tests may create databases on. In CI a missing
/// server is a failure; on a developer machine the test is skipped with a reason.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("PAINEL_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") => {
            panic!("CI is set but PAINEL_TEST_POSTGRES_URL is not: PostgreSQL tests cannot be skipped in CI (run scripts/test)")
        }
        _ => {
            eprintln!("skipping PostgreSQL part: PAINEL_TEST_POSTGRES_URL is not set (scripts/test sets it)");
            None
        }
    }
}

/// A database that lives as long as the value.
///
/// On PostgreSQL `db` and `url` are the application role's — NOSUPERUSER NOBYPASSRLS with DML
/// grants only, as in production (README "PostgreSQL roles") — so every test runs through
/// row-level security and `Db::scoped`. `owner` is the migration owner's connection, for the
/// few tests that act as someone with the owner's rights (disabling triggers, catalogue
/// checks). On SQLite both are the same file.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    pub owner: Db,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    TestDb {
        owner: db.clone(),
        db,
        url,
        _dir: Some(dir),
    }
}

/// The application role the PostgreSQL suite connects as: `PAINEL_TEST_POSTGRES_APP_URL`'s
/// user (scripts/lib/services.sh creates it).
pub fn postgres_app_role() -> String {
    let url = std::env::var("PAINEL_TEST_POSTGRES_APP_URL").unwrap_or_default();
    let role = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(user, _)| user.split(':').next().unwrap_or(user).to_owned());
    match role {
        Some(r) if !r.is_empty() => r,
        _ => panic!(
            "PAINEL_TEST_POSTGRES_APP_URL must name the application role (postgres://painel_app@host:port/db): \
             the PostgreSQL suite runs as a NOSUPERUSER NOBYPASSRLS role (run scripts/test)"
        ),
    }
}

/// `url` with its user replaced by `role` and its database by `name`.
fn pg_url_as(url: &str, role: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("postgres://… URL");
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    let host = host.rsplit_once('/').map_or(host, |(h, _)| h);
    format!("{scheme}://{role}@{host}/{name}")
}

/// Creates a new database on the test server, migrates it as the owner and grants the
/// application role what the README grants; the server is thrown away after the run.
pub async fn postgres(admin_url: &str) -> TestDb {
    let name = format!("painel_t_{}", uuid::Uuid::new_v4().simple());
    let admin = Db::connect(admin_url).await.unwrap();
    admin
        .execute(&format!("CREATE DATABASE {name}"), backend::args![])
        .await
        .unwrap();
    admin.close().await;
    let owner_url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("bad PAINEL_TEST_POSTGRES_URL {admin_url}"),
    };
    let owner = Db::connect(&owner_url).await.unwrap();
    owner.migrate().await.unwrap();
    let role = postgres_app_role();
    for grant in [
        "GRANT USAGE ON SCHEMA public TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}",
    ] {
        owner
            .execute(&grant.replace("{role}", &role), backend::args![])
            .await
            .unwrap();
    }
    let url = pg_url_as(admin_url, &role, &name);
    let db = Db::connect(&url).await.unwrap();
    TestDb {
        db,
        url,
        owner,
        _dir: None,
    }
}

/// A migrated, empty database on the engine under test.
pub async fn fresh() -> TestDb {
    match engine() {
        Engine::Sqlite => sqlite().await,
        Engine::Postgres => {
            let url = std::env::var("PAINEL_TEST_POSTGRES_URL")
                .expect("PAINEL_TEST_BACKEND=postgres needs PAINEL_TEST_POSTGRES_URL (run scripts/test)");
            postgres(&url).await
        }
    }
}

pub fn operator() -> backend::Actor {
    backend::Actor::system("test-operator")
}

pub fn new_tenant(name: &str, domain: &str) -> backend::tenants::NewTenant {
    backend::tenants::NewTenant {
        name: name.into(),
        domain: domain.into(),
        ..Default::default()
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// The test Redis server's URL. In CI a missing server is a failure; on a developer machine
/// the test is skipped with a reason.
pub fn redis_url() -> Option<String> {
    match std::env::var("PAINEL_TEST_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if in_ci() => {
            panic!("CI is set but PAINEL_TEST_REDIS_URL is not: Redis tests cannot be skipped in CI (run scripts/test)")
        }
        _ => {
            eprintln!("skipping Redis test: PAINEL_TEST_REDIS_URL is not set (scripts/test sets it)");
            None
        }
    }
}

/// A Redis server of the test's own, which it may stop and start again on the same port.
pub struct OwnRedis {
    pub port: u16,
    child: Option<std::process::Child>,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    /// Starts `redis-server` on a free loopback port; `None` (with a reason) when the binary
    /// is missing on a developer machine, a failure in CI.
    pub fn start() -> Option<OwnRedis> {
        let found = std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                !in_ci(),
                "CI is set but redis-server is not installed (scripts/test installs it)"
            );
            eprintln!("skipping: redis-server is not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut r = OwnRedis {
            port,
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        r.up();
        Some(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server (again) and waits until it answers.
    pub fn up(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// How many clients subscribe to `channel` (`PUBSUB NUMSUB`), through `redis-cli`.
    pub fn subscribers(&self, channel: &str) -> i64 {
        let out = std::process::Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "PUBSUB",
                "NUMSUB",
                channel,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Waits until at least `n` clients subscribe to `channel`: the readiness signal of a
    /// worker's wake-up subscription (this server is the test's own, so nobody else counts).
    pub async fn wait_subscribed(&self, channel: &str, n: i64, limit: std::time::Duration) {
        let start = std::time::Instant::now();
        while self.subscribers(channel) < n {
            assert!(
                start.elapsed() < limit,
                "{n} subscriber(s) of {channel} not there after {limit:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Kills the server (SIGKILL: connections drop as in a crash).
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.down();
    }
}
