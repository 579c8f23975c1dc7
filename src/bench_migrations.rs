//! `painel bench migrations`: N migrations at once through the service layer, run by one
//! in-process worker against the sandbox's Transfer Tool (a source server holding the
//! accounts, target servers restoring them), while the TUI's migration queue is open and
//! drawn into a TestBackend. Reports the queue screen's frame time (draw only, and the
//! screen's reload query), and the database load while they run: jobs run, migration rows
//! written, log lines stored, and on PostgreSQL the committed transactions.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use backend::hosting::servers::{self, NewServer};
use backend::jobs::{Handlers, Worker, WorkerConfig};
use backend::providers::whm::Secret;
use backend::secrets::{Keys, MasterKey};
use backend::transfers::{self, Credentials, ListFilter, NewMigration, TransfersEnv};
use backend::{args, tenants, Actor, Db};
use sandbox::{AccountInit, Package, Sandbox, WhmInit};
use tokio::sync::watch;

use crate::bench::{bench_url, ms, stats};
use crate::config::Config;

pub struct MigrationsBench {
    pub migrations: usize,
    pub accounts: usize,
    pub pace_ms: u64,
    pub poll_ms: u64,
    pub concurrency: usize,
}

const SRC: &str = "whm-legacy-bench";
const TARGETS: [&str; 3] = ["whm-bench-a", "whm-bench-b", "whm-bench-c"];
const TOKEN: &str = "BENCHMIGRATIONSTOKEN";

async fn counts(db: &Db) -> Result<(i64, i64, i64)> {
    let jobs: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'migration.step' AND status = 'succeeded'",
            args![],
        )
        .await?;
    let logs: i64 = db.scalar("SELECT COUNT(*) FROM migration_logs", args![]).await?;
    let commits: i64 = if db.backend().as_str() == "postgres" {
        db.scalar(
            "SELECT xact_commit::bigint FROM pg_stat_database WHERE datname = current_database()",
            args![],
        )
        .await?
    } else {
        0
    };
    Ok((jobs, logs, commits))
}

pub async fn run(cfg: &Config, b: MigrationsBench) -> Result<()> {
    let (url, _dir) = bench_url(cfg)?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let total = b.migrations * b.accounts;
    let mut src = WhmInit::new("root", TOKEN)
        .limits(u32::try_from(total + 10)?, 1_000_000_000)
        .package(Package::new("bench_pkg", Some(1024), None));
    for i in 0..total {
        src = src.account(AccountInit {
            user: format!("a{i:05}x"),
            domain: format!("site{i:05}.bench.example"),
            plan: "bench_pkg".into(),
            email: None,
            suspended: None,
        });
    }
    let mut builder = Sandbox::builder()
        .seed(9)
        .transfer_pace(Duration::from_millis(b.pace_ms))
        .whm(SRC, src);
    for t in TARGETS {
        builder = builder.whm(
            t,
            WhmInit::new("root", TOKEN).limits(u32::try_from(total + 10)?, 1_000_000_000),
        );
    }
    let sb = builder.start().await?;
    let keys = Keys::new(MasterKey::generate()?, vec![]);
    let op = Actor::system("bench");
    let run = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    for t in TARGETS {
        servers::create(
            &db,
            &op,
            Some(&keys),
            NewServer {
                name: format!("{t}-{run}"),
                hostname: format!("{t}.bench.example"),
                ip: "203.0.113.10".into(),
                region: "gru".into(),
                kind: "whm".into(),
                whm_url: sb.whm_url(t).unwrap_or_default(),
                api_user: "root".into(),
                api_token: TOKEN.into(),
                tls: format!("pin:{}", sb.cert_sha256_hex()),
                max_accounts: None,
                disk_total_gb: 100_000,
            },
        )
        .await?;
    }
    let tenant = tenants::create(
        &db,
        &op,
        tenants::NewTenant {
            name: format!("Bench {run}"),
            domain: format!("bench{run}.example"),
            ..tenants::NewTenant::default()
        },
    )
    .await?;
    println!(
        "migrations bench: {} migrations × {} accounts, stage pace {} ms, poll {} ms, {} worker slots, {} database",
        b.migrations,
        b.accounts,
        b.pace_ms,
        b.poll_ms,
        b.concurrency,
        db.backend().as_str()
    );
    let password = sb.source_password(SRC, "root");
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..b.migrations {
        let accounts = (0..b.accounts)
            .map(|k| format!("a{:05}x", i * b.accounts + k))
            .collect();
        let (m, _) = transfers::create(
            &db,
            &op,
            Some(&keys),
            NewMigration {
                tenant: Some(tenant.slug.clone()),
                customer: None,
                source_host: sb.whm_url(SRC).unwrap_or_default(),
                ssh_port: None,
                credentials: Credentials {
                    kind: "root".into(),
                    user: "root".into(),
                    password: Secret::new(password.clone()),
                },
                accounts,
                target: format!("{}-{run}", TARGETS[i % TARGETS.len()]),
            },
        )
        .await?;
        ids.push(m.id);
    }
    let create_time = started.elapsed();
    let (jobs0, logs0, commits0) = counts(&db).await?;

    let mut h = Handlers::builtin();
    transfers::register_handlers(
        &mut h,
        TransfersEnv::new(Some(keys.clone())).with_poll(Duration::from_millis(b.poll_ms)),
    );
    let mut wc = WorkerConfig::new("bench-migrations", vec![transfers::QUEUE.to_owned()]);
    wc.concurrency = b.concurrency;
    let (stop, stopped) = watch::channel(false);
    let w = Worker::new(db.clone(), wc, h);
    let worker = tokio::spawn(async move { w.run(stopped).await });

    // The queue screen, open the whole time, reloading on its own tick like on a terminal.
    let mut app = ui::App::new(
        db.clone(),
        op.clone(),
        ui::UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: db.backend().as_str().to_owned(),
            start_route: Some("migrations".into()),
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        },
    );
    app.settle().await;
    let mut small = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24))?;
    let mut big = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 60))?;
    let (mut frames_small, mut frames_big, mut reloads) = (Vec::new(), Vec::new(), Vec::new());
    let run_started = Instant::now();
    let mut last_tick = Instant::now();
    let limit = Duration::from_secs(600);
    loop {
        if last_tick.elapsed() >= Duration::from_millis(250) {
            last_tick = Instant::now();
            app.tick();
        }
        while let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(5), app.next_result()).await {
            app.apply(r);
            app.drain_ready();
        }
        let t = Instant::now();
        small.draw(|f| app.draw(f))?;
        frames_small.push(t.elapsed());
        let t = Instant::now();
        big.draw(|f| app.draw(f))?;
        frames_big.push(t.elapsed());
        // What the screen asks of the database each reload, measured beside it.
        if frames_small.len() % 20 == 0 {
            let t = Instant::now();
            let rows = transfers::list(
                &db,
                &op,
                &ListFilter {
                    limit: Some(300),
                    ..ListFilter::default()
                },
            )
            .await?;
            reloads.push(t.elapsed());
            let active = rows.iter().filter(|m| ids.contains(&m.id) && !m.is_finished()).count();
            if active == 0 {
                break;
            }
        }
        if run_started.elapsed() > limit {
            bail!("the migrations did not finish within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let elapsed = run_started.elapsed();
    let _ = stop.send(true);
    let _ = worker.await;
    let (jobs1, logs1, commits1) = counts(&db).await?;
    let done = transfers::list(
        &db,
        &op,
        &ListFilter {
            limit: Some(1000),
            ..ListFilter::default()
        },
    )
    .await?;
    let ok = done
        .iter()
        .filter(|m| ids.contains(&m.id) && m.status == "success")
        .count();
    let restored: usize = TARGETS.iter().filter_map(|t| sb.whm_accounts(t)).map(|a| a.len()).sum();
    let secs = elapsed.as_secs_f64().max(0.001);
    println!(
        "created {} migrations in {}; all ended in {:.1} s: {ok} success, {} accounts restored on the targets",
        b.migrations,
        ms(create_time),
        secs,
        restored
    );
    let s = stats(frames_small);
    println!(
        "queue frame 80x24:  p50 {} p95 {} max {}",
        ms(s.p50),
        ms(s.p95),
        ms(s.max)
    );
    let s = stats(frames_big);
    println!(
        "queue frame 200x60: p50 {} p95 {} max {}",
        ms(s.p50),
        ms(s.p95),
        ms(s.max)
    );
    let s = stats(reloads);
    println!(
        "queue reload query (300 rows) under load: p50 {} p95 {} max {}",
        ms(s.p50),
        ms(s.p95),
        ms(s.max)
    );
    let jobs = jobs1 - jobs0;
    let logs = logs1 - logs0;
    print!(
        "database load: {jobs} step jobs ({:.1}/s), {logs} log lines ({:.1}/s)",
        jobs as f64 / secs,
        logs as f64 / secs
    );
    if commits1 > 0 {
        print!(
            ", {} commits ({:.1}/s)",
            commits1 - commits0,
            (commits1 - commits0) as f64 / secs
        );
    }
    println!();
    if ok != b.migrations {
        bail!("{} of {} migrations did not succeed", b.migrations - ok, b.migrations);
    }
    db.close().await;
    Ok(())
}
