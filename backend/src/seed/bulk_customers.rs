//! Benchmark load: many customers spread over a few tenants, inserted fast (for `painel bench
//! find`). Like [`super::bulk_tenants`], no audit rows: synthetic load, not anyone's change.

use super::Rng;
use crate::args;
use crate::db::{now, Arg, Db};
use crate::error::ServiceError;

const FIRST: [&str; 20] = [
    "Ana", "Bruno", "Carla", "Diego", "Elaine", "Fábio", "Gisele", "Hugo", "Isabela", "João", "Karina", "Lucas",
    "Mariana", "Nelson", "Olívia", "Paulo", "Queila", "Rafael", "Sabrina", "Tiago",
];
const LAST: [&str; 20] = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Lima",
    "Pereira",
    "Ferreira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Nascimento",
    "Carvalho",
    "Araújo",
    "Ribeiro",
    "Gomes",
    "Martins",
    "Rocha",
    "Barbosa",
    "Teixeira",
    "Mendes",
];
const MAIL: [&str; 6] = [
    "gmail.com",
    "hotmail.com",
    "uol.com.br",
    "terra.com.br",
    "bol.com.br",
    "yahoo.com.br",
];

const ROWS_PER_STATEMENT: usize = 50;
const STATEMENTS_PER_TX: usize = 400;

/// The 11-digit document (a CPF-shaped number) of bench customer `i`.
pub fn bench_document(i: usize) -> String {
    format!("{:011}", 10_000_000_000u64 + i as u64)
}

/// The e-mail of bench customer `i` (unique: it carries the running number).
pub fn bench_email(i: usize) -> String {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    format!(
        "{}.{}{i}@{}",
        crate::validate::slugify(first),
        crate::validate::slugify(last),
        MAIL[i % MAIL.len()]
    )
}

/// Inserts `n` synthetic customers over the tenants in `tenants` (round robin), numbered
/// after the customers already present.
pub async fn bulk_customers(db: &Db, tenants: &[uuid::Uuid], n: usize) -> Result<(), ServiceError> {
    if n == 0 || tenants.is_empty() {
        return Ok(());
    }
    let existing: i64 = db.scalar("SELECT COUNT(*) FROM customers", args![]).await?;
    let offset = usize::try_from(existing).unwrap_or(0);
    let rng = Rng::new(0xC057_5EED ^ offset as u64);
    let at = now();
    let mut done = 0usize;
    while done < n {
        let mut tx = db.begin().await?;
        for _ in 0..STATEMENTS_PER_TX {
            if done >= n {
                break;
            }
            let rows = ROWS_PER_STATEMENT.min(n - done);
            // $1 is the creation time every row shares.
            let mut args: Vec<Arg> = Vec::with_capacity(rows * 6 + 1);
            args.push(at.into());
            let mut values: Vec<String> = Vec::with_capacity(rows);
            for r in 0..rows {
                let i = offset + done + r;
                let first = FIRST[i % FIRST.len()];
                let last = LAST[(i / FIRST.len()) % LAST.len()];
                let middle = rng.pick(&LAST);
                let name = format!("{first} {middle} {last}");
                let email = bench_email(i);
                let search = format!("{} {}", name.to_lowercase(), email);
                let p = args.len();
                args.extend(args![
                    uuid::Uuid::now_v7(),
                    tenants[i % tenants.len()],
                    name,
                    email,
                    bench_document(i),
                    search,
                ]);
                values.push(format!(
                    "(${}, ${}, ${}, ${}, NULL, ${}, 'active', '', ${}, $1, $1)",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                ));
            }
            let sql = format!(
                "INSERT INTO customers (id, tenant_id, name, email, phone, document, status, notes, search_text, \
                 created_at, updated_at) VALUES {}",
                values.join(", ")
            );
            tx.execute(&sql, args).await?;
            done += rows;
        }
        tx.commit().await?;
    }
    Ok(())
}
