//! `painel bench …`: the performance targets of the README, measured on this machine.
//! Figures vary with machine load; run on a quiet machine and read p50, not the max.

use std::time::{Duration, Instant};

use anyhow::Result;
use backend::page::{PageAt, SortDir};
use backend::tenants::{self, TenantQuery, TenantSort};
use backend::{Actor, Db};

use crate::cli::BenchCmd;
use crate::config::Config;

pub async fn run(cfg: &Config, cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::List { rows, iterations } => list(cfg, rows, iterations).await,
        BenchCmd::Render { iterations } => render(cfg, iterations).await,
        BenchCmd::Find { customers, iterations } => crate::bench_find::run(cfg, customers, iterations).await,
        BenchCmd::Jobs {
            jobs,
            concurrency,
            prefetch,
            latency_samples,
            workers,
        } => {
            let b = crate::bench_jobs::JobsBench {
                jobs,
                concurrency,
                prefetch,
                latency_samples,
                workers,
            };
            crate::bench_jobs::run(cfg, b).await
        }
        BenchCmd::Provision {
            services,
            concurrency,
            latency_ms,
        } => {
            let b = crate::bench_provision::ProvisionBench {
                services,
                concurrency,
                latency_ms,
            };
            crate::bench_provision::run(cfg, b).await
        }
        BenchCmd::Migrations {
            migrations,
            accounts,
            pace_ms,
            poll_ms,
            concurrency,
        } => {
            let b = crate::bench_migrations::MigrationsBench {
                migrations,
                accounts,
                pace_ms,
                poll_ms,
                concurrency,
            };
            crate::bench_migrations::run(cfg, b).await
        }
        BenchCmd::Webhooks {
            requests,
            concurrency,
            writers,
        } => crate::bench_webhooks::run(cfg, requests, concurrency, writers).await,
        BenchCmd::PaidToActive {
            services,
            interval_ms,
            concurrency,
        } => crate::bench_paid::run(cfg, services, interval_ms, concurrency).await,
        BenchCmd::NsVerify { domains, cycles } => crate::bench_ns::run(cfg, domains, cycles).await,
        BenchCmd::JobsWorker { concurrency, prefetch } => {
            crate::bench_jobs::worker_process(cfg, concurrency, prefetch).await
        }
    }
}

pub(crate) struct Stats {
    pub(crate) p50: Duration,
    pub(crate) p95: Duration,
    pub(crate) max: Duration,
}

pub(crate) fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Stats {
        p50: at(0.5),
        p95: at(0.95),
        max: samples.last().copied().unwrap_or_default(),
    }
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The bench database's URL: `--database-url` if given (it must be disposable: rows are
/// added), else a fresh SQLite file in a temporary directory (returned to keep it alive).
pub fn bench_url(cfg: &Config) -> Result<(String, Option<tempfile::TempDir>)> {
    let explicit = cfg
        .settings
        .iter()
        .any(|s| s.key == "database_url" && s.source != "default");
    if explicit {
        return Ok((cfg.database_url.clone(), None));
    }
    let dir = tempfile::tempdir()?;
    Ok((
        format!("sqlite://{}", dir.path().join("bench.sqlite").display()),
        Some(dir),
    ))
}

/// Opens the bench database (see [`bench_url`]) with at least `rows` tenants.
pub(crate) async fn bench_db(cfg: &Config, rows: usize) -> Result<(Db, Option<tempfile::TempDir>)> {
    let (url, dir) = bench_url(cfg)?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let have: i64 = db.scalar("SELECT COUNT(*) FROM tenants", backend::args![]).await?;
    let want = i64::try_from(rows).unwrap_or(i64::MAX);
    if have < want {
        let started = Instant::now();
        backend::seed::bulk_tenants(&db, usize::try_from(want - have).unwrap_or(0)).await?;
        eprintln!(
            "seeded {} tenants in {:.1} s",
            want - have,
            started.elapsed().as_secs_f64()
        );
    }
    // Fresh statistics (and on PostgreSQL a visibility map, so index-only scans skip the
    // heap, and the trigram index's pending list merged), as autovacuum leaves a production
    // table.
    let analyze = if db.backend() == backend::Backend::Postgres {
        "VACUUM ANALYZE tenants, tenant_search"
    } else {
        "ANALYZE"
    };
    db.execute(analyze, backend::args![]).await?;
    Ok((db, dir))
}

async fn list(cfg: &Config, rows: usize, iterations: usize) -> Result<()> {
    let (db, _dir) = bench_db(cfg, rows).await?;
    let actor = Actor::system("bench");
    let cases: Vec<(&str, TenantQuery)> = vec![
        (
            "sorted by name",
            TenantQuery {
                sort: TenantSort::Name,
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "filter 'nuvem', by name",
            TenantQuery {
                filter: Some("nuvem".into()),
                sort: TenantSort::Name,
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "status active, newest first",
            TenantQuery {
                status: Some("active".into()),
                sort: TenantSort::Created,
                dir: SortDir::Desc,
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "filter 'rede' + active, by domain",
            TenantQuery {
                filter: Some("rede".into()),
                status: Some("active".into()),
                sort: TenantSort::Domain,
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "filter 'hosting' (broad, 1 in 12), by name",
            TenantQuery {
                filter: Some("hosting".into()),
                sort: TenantSort::Name,
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "filter '.com' (nearly all rows), newest",
            TenantQuery {
                filter: Some(".com".into()),
                sort: TenantSort::Created,
                dir: SortDir::Desc,
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "filter 'sky recife' (rare), by name",
            TenantQuery {
                filter: Some("sky recife".into()),
                sort: TenantSort::Name,
                limit: 50,
                ..Default::default()
            },
        ),
        (
            "filter matching nothing (worst case)",
            TenantQuery {
                filter: Some("zzqx".into()),
                sort: TenantSort::Name,
                limit: 50,
                ..Default::default()
            },
        ),
    ];
    println!(
        "tenants list, first page of 50 from {rows} rows on {} ({iterations} runs each)",
        db.backend().as_str()
    );
    println!("{:<40} {:>12} {:>12} {:>12} {:>6}", "case", "p50", "p95", "max", "rows");
    for (name, q) in cases {
        // Warm-up: the first run pays for statement preparation and a cold cache.
        let page = tenants::list(&db, &actor, &q).await?;
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            let p = tenants::list(&db, &actor, &q).await?;
            samples.push(start.elapsed());
            std::hint::black_box(p);
        }
        let s = stats(samples);
        println!(
            "{:<40} {:>12} {:>12} {:>12} {:>6}",
            name,
            ms(s.p50),
            ms(s.p95),
            ms(s.max),
            page.items.len()
        );
    }
    // Deep paging costs what the first page does: walk 20 pages and time the last.
    let mut q = TenantQuery {
        sort: TenantSort::Name,
        limit: 50,
        ..Default::default()
    };
    for _ in 0..20 {
        let p = tenants::list(&db, &actor, &q).await?;
        if let Some(last) = p.last {
            q.at = PageAt::After(last);
        }
    }
    let start = Instant::now();
    tenants::list(&db, &actor, &q).await?;
    println!("{:<40} {:>12}", "page 21 by name (keyset)", ms(start.elapsed()));
    db.close().await;
    Ok(())
}

async fn render(cfg: &Config, iterations: usize) -> Result<()> {
    let (db, _dir) = bench_db(cfg, 100_000).await?;
    let theme = widgets::Theme::dark();
    let mut app = ui::App::new(
        db.clone(),
        Actor::system("bench"),
        ui::UiOptions {
            theme,
            backend_label: db.backend().as_str().to_owned(),
            start_route: Some("tenants".into()),
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        },
    );
    app.settle().await;
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 50))?;
    terminal.draw(|f| app.draw(f))?;
    // Measure the real list, not a loading screen: the frame must show a page of tenants.
    let shown = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect::<String>();
    let rows = ["active", "suspended", "cancelled"]
        .iter()
        .map(|w| shown.matches(w).count())
        .sum::<usize>();
    anyhow::ensure!(
        rows >= 40,
        "the tenants list did not load before measuring ({rows} rows on screen)"
    );
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        terminal.draw(|f| app.draw(f))?;
        samples.push(start.elapsed());
    }
    let s = stats(samples);
    println!(
        "render tenants list 200x50 ({rows} rows on screen) into TestBackend ({iterations} frames): p50 {} p95 {} max {}",
        ms(s.p50),
        ms(s.p95),
        ms(s.max)
    );
    db.close().await;
    Ok(())
}
