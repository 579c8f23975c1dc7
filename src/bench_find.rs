//! `painel bench find`: the "go to" answer time (first page) on 100k customers, for every
//! kind of term (docs/adr/0017).

use std::time::Instant;

use anyhow::Result;
use backend::{args, find, Actor, Backend};

use crate::bench::{bench_db, ms, stats};
use crate::config::Config;

/// Tenants the bench customers are spread over.
const TENANTS: i64 = 20;

pub async fn run(cfg: &Config, customers: usize, iterations: usize) -> Result<()> {
    let (db, _dir) = bench_db(cfg, 1_000).await?;
    let have: i64 = db.scalar("SELECT COUNT(*) FROM customers", args![]).await?;
    let want = i64::try_from(customers).unwrap_or(i64::MAX);
    if have < want {
        let tenants: Vec<(uuid::Uuid,)> = db
            .fetch_all(&format!("SELECT id FROM tenants ORDER BY id LIMIT {TENANTS}"), args![])
            .await?;
        let tenants: Vec<uuid::Uuid> = tenants.into_iter().map(|t| t.0).collect();
        let started = Instant::now();
        backend::seed::bulk_customers(&db, &tenants, usize::try_from(want - have).unwrap_or(0)).await?;
        eprintln!(
            "seeded {} customers in {:.1} s",
            want - have,
            started.elapsed().as_secs_f64()
        );
    }
    let analyze = if db.backend() == Backend::Postgres {
        "VACUUM ANALYZE customers"
    } else {
        "ANALYZE"
    };
    db.execute(analyze, args![]).await?;

    let sample: Option<(uuid::Uuid, String)> = db
        .fetch_optional(
            "SELECT c.id, t.slug FROM customers c JOIN tenants t ON t.id = c.tenant_id ORDER BY c.email LIMIT 1 OFFSET 777",
            args![],
        )
        .await?;
    let (id, slug) = sample.ok_or_else(|| anyhow::anyhow!("no customers to search"))?;
    let hex = id.simple().to_string();
    let n = customers / 2;
    let cases: Vec<(String, String)> = vec![
        ("customer name, common".into(), "silva".into()),
        ("customer name, two words".into(), "tiago".into()),
        ("e-mail domain, common".into(), "@uol.com.br".into()),
        ("e-mail, one customer".into(), backend::seed::bench_email(n)),
        ("document (CPF digits)".into(), backend::seed::bench_document(n)),
        ("id prefix (12 hex)".into(), hex[..12].to_owned()),
        ("whole id".into(), id.to_string()),
        ("tenant slug".into(), slug),
        ("absent term (worst case)".into(), "zzqx".into()),
        ("two characters".into(), "an".into()),
    ];
    let actor = Actor::system("bench");
    println!(
        "find, first page (10 per kind) over {customers} customers on {} ({iterations} runs each)",
        db.backend().as_str()
    );
    println!(
        "{:<34} {:>22} {:>10} {:>10} {:>10} {:>5}",
        "case", "term", "p50", "p95", "max", "hits"
    );
    for (name, term) in cases {
        let hits = find::find(&db, &actor, &term, 10).await?;
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            let h = find::find(&db, &actor, &term, 10).await?;
            samples.push(start.elapsed());
            std::hint::black_box(h);
        }
        let s = stats(samples);
        let shown: String = term.chars().take(22).collect();
        println!(
            "{:<34} {:>22} {:>10} {:>10} {:>10} {:>5}",
            name,
            shown,
            ms(s.p50),
            ms(s.p95),
            ms(s.max),
            hits.len()
        );
    }
    db.close().await;
    Ok(())
}
