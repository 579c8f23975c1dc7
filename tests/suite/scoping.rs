//! Every entry point that acts for someone scopes the database to their tenant
//! (`Db::scoped`, docs/adr/0009): batch dispatch, the TUI's task runner and the worker (by the
//! job's tenant). On PostgreSQL a probe trigger on `audit_log`, installed by the owner, records
//! the `painel.tenant_id` setting each audited write ran under; the services filter by tenant
//! themselves, so only the database can tell whether the scope was set.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::jobs::{self, Handlers, Job, NewJob, Worker, WorkerConfig};
use backend::{args, Actor, Db, Role};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use tokio::sync::{mpsc, watch, Mutex};
use uuid::Uuid;

use crate::cli::stderr;
use crate::common::{engine, fresh, new_tenant, operator, postgres_app_role, Engine, TestDb};
use crate::identity::PASSWORD;

/// Records, for every audit row written, the scope its transaction had.
async fn install_probe(t: &TestDb) {
    let role = postgres_app_role();
    for sql in [
        "CREATE TABLE scope_probe (n BIGSERIAL PRIMARY KEY, action TEXT NOT NULL, scope TEXT)".to_owned(),
        "CREATE FUNCTION scope_probe_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         INSERT INTO scope_probe (action, scope) VALUES (NEW.action, NULLIF(current_setting('painel.tenant_id', true), '')); \
         RETURN NEW; END $$"
            .to_owned(),
        "CREATE TRIGGER scope_probe AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION scope_probe_note()".to_owned(),
        format!("GRANT SELECT, INSERT ON scope_probe TO {role}"),
        format!("GRANT USAGE ON SEQUENCE scope_probe_n_seq TO {role}"),
    ] {
        t.owner.execute(&sql, args![]).await.unwrap();
    }
}

/// The scopes the audited writes of `action` ran under, oldest first.
async fn scopes_of(t: &TestDb, action: &str) -> Vec<Option<String>> {
    let rows: Vec<(Option<String>,)> = t
        .owner
        .fetch_all(
            "SELECT scope FROM scope_probe WHERE action = $1 ORDER BY n",
            args![action],
        )
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

fn postgres_only() -> bool {
    if matches!(engine(), Engine::Postgres) {
        return true;
    }
    eprintln!("the scope setting is PostgreSQL's: checked in the PostgreSQL pass");
    false
}

/// One OS user's home for the binary (config, data dir, session file).
struct Home(tempfile::TempDir);

impl Home {
    fn run(&self, t: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_painel"))
            .args(["--database-url", &t.url, "--data-dir"])
            .arg(self.0.path().join("data"))
            .args(args)
            .env("XDG_CONFIG_HOME", self.0.path())
            .env("XDG_DATA_HOME", self.0.path())
            .env("PAINEL_SESSION_STORE", "file")
            .env_remove("PAINEL_DATABASE_URL")
            .env_remove("PAINEL_MASTER_KEY")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    fn ok(&self, t: &TestDb, args: &[&str], stdin: Option<&str>) {
        let o = self.run(t, args, stdin);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
}

#[tokio::test]
async fn batch_dispatch_runs_a_tenant_users_command_in_its_scope() {
    if !postgres_only() {
        return;
    }
    let t = fresh().await;
    install_probe(&t).await;
    let pw = format!("{PASSWORD}\n");
    let admin = Home(tempfile::tempdir().unwrap());
    admin.ok(
        &t,
        &[
            "init",
            "--bootstrap",
            "--username",
            "root",
            "--email",
            "root@example.com",
            "--password-stdin",
        ],
        Some(&pw),
    );
    admin.ok(&t, &["login", "--username", "root", "--password-stdin"], Some(&pw));
    admin.ok(
        &t,
        &["tenants", "create", "--name", "Acme", "--domain", "acme.example"],
        None,
    );
    admin.ok(
        &t,
        &[
            "users",
            "create",
            "--username",
            "tina",
            "--email",
            "tina@example.com",
            "--role",
            "tenant_admin",
            "--tenant",
            "acme",
            "--password-stdin",
        ],
        Some(&pw),
    );
    admin.ok(
        &t,
        &[
            "customers",
            "create",
            "--tenant",
            "acme",
            "--name",
            "By Root",
            "--email",
            "root-made@example.com",
        ],
        None,
    );
    let tina = Home(tempfile::tempdir().unwrap());
    tina.ok(&t, &["login", "--username", "tina", "--password-stdin"], Some(&pw));
    tina.ok(
        &t,
        &[
            "customers",
            "create",
            "--tenant",
            "acme",
            "--name",
            "By Tina",
            "--email",
            "tina-made@example.com",
        ],
        None,
    );
    let acme: Uuid =
        t.db.scalar("SELECT id FROM tenants WHERE slug = 'acme'", args![])
            .await
            .unwrap();
    // The platform's command ran unscoped, the tenant admin's in Acme's scope.
    assert_eq!(
        scopes_of(&t, "customer.create").await,
        vec![None, Some(acme.to_string())]
    );
}

#[tokio::test]
async fn the_tui_runs_a_tenant_users_requests_in_its_scope() {
    if !postgres_only() {
        return;
    }
    let t = fresh().await;
    install_probe(&t).await;
    let acme = backend::tenants::create(&t.db, &operator(), new_tenant("Acme", "acme.example"))
        .await
        .unwrap();
    let tina = Actor::tenant_user("tina", Role::TenantAdmin, acme.id);
    let mut app = ui::App::new(
        t.db.clone(),
        tina,
        ui::UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: "postgres".into(),
            start_route: Some("settings/api-keys".into()),
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        },
    );
    app.settle().await;
    let key = |app: &mut ui::App, code: KeyCode| app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    let typ = |app: &mut ui::App, s: &str| {
        for c in s.chars() {
            app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    };
    // A new API key through the form: tenant (picked: typing searches, Enter chooses), name,
    // scopes, Enter.
    key(&mut app, KeyCode::Char('c'));
    typ(&mut app, "acme");
    app.settle().await;
    key(&mut app, KeyCode::Enter);
    typ(&mut app, "Probe key");
    key(&mut app, KeyCode::Tab);
    typ(&mut app, "customers:read");
    key(&mut app, KeyCode::Enter);
    app.settle().await;
    let scopes = scopes_of(&t, "apikey.create").await;
    assert_eq!(
        scopes,
        vec![Some(acme.id.to_string())],
        "flash: {:?}",
        app.flash().map(|f| f.text.clone())
    );
}

#[tokio::test]
async fn the_worker_runs_a_tenants_job_in_that_tenants_scope() {
    let t = fresh().await;
    let op = operator();
    let a = backend::tenants::create(&t.db, &op, new_tenant("Acme", "acme.example"))
        .await
        .unwrap();
    let b = backend::tenants::create(&t.db, &op, new_tenant("Bravo", "bravo.example"))
        .await
        .unwrap();
    let mut tx = t.db.begin().await.unwrap();
    for tenant in [Some(a.id), Some(b.id), None] {
        jobs::enqueue(
            &mut tx,
            NewJob {
                queue: "scope".into(),
                kind: "probe.scope".into(),
                payload: json!({}),
                enqueued_by: "test".into(),
                tenant_id: tenant,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    // Each job reports the scope its handler's database carries and how many tenants that
    // database shows (row-level security on PostgreSQL: one in a tenant's scope).
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<(Option<Uuid>, Option<Uuid>, i64)>();
    let seen_tx = Arc::new(Mutex::new(seen_tx));
    let mut handlers = Handlers::new();
    handlers.register("probe.scope", move |job: Job, db: Db| {
        let out = seen_tx.clone();
        async move {
            let visible: i64 = db
                .scalar("SELECT COUNT(*) FROM tenants", args![])
                .await
                .map_err(|e| jobs::JobError::Permanent(e.to_string()))?;
            let _ = out.lock().await.send((job.tenant_id, db.scope(), visible));
            Ok(())
        }
    });
    let mut cfg = WorkerConfig::new("scope-worker", vec!["scope".to_owned()]);
    cfg.poll = Duration::from_millis(20);
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(Worker::new(t.db.clone(), cfg, handlers).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut reports = Vec::new();
    while reports.len() < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, seen.recv()).await {
            Ok(Some(r)) => reports.push(r),
            _ => panic!("timed out waiting for the probe jobs: {reports:?}"),
        }
    }
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();
    let rls = matches!(engine(), Engine::Postgres);
    for (job_tenant, scope, visible) in reports {
        assert_eq!(
            scope, job_tenant,
            "the handler's database is scoped to the job's tenant"
        );
        let expected = match (job_tenant, rls) {
            (Some(_), true) => 1,
            _ => 2,
        };
        assert_eq!(visible, expected, "tenants visible to a job of {job_tenant:?}");
    }
}
