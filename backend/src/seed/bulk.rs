//! Benchmark load: many tenants, inserted fast.

use chrono::TimeDelta;

use super::text::compact;
use super::Rng;
use crate::db::{now, Arg, Backend, Db};
use crate::error::ServiceError;
use crate::tenants::Limits;
use crate::{args, validate};

const PREFIXES: [&str; 20] = [
    "Nuvem", "Host", "Rede", "Pixel", "Turbo", "Stream", "Conecta", "Data", "Web", "Cloud", "Mega", "Giga", "Link",
    "Sky", "Alpha", "Nexus", "Prime", "Vox", "Byte", "Fibra",
];
const MIDDLES: [&str; 12] = [
    "Hosting",
    "Hospedagem",
    "Digital",
    "Telecom",
    "Play",
    "TV",
    "Net",
    "Sistemas",
    "Soluções",
    "Servidores",
    "Revenda",
    "Web",
];
const CITIES: [&str; 20] = [
    "São Paulo",
    "Fortaleza",
    "Recife",
    "Curitiba",
    "Porto Alegre",
    "Salvador",
    "Belo Horizonte",
    "Manaus",
    "Goiânia",
    "Campinas",
    "Natal",
    "Belém",
    "Florianópolis",
    "Vitória",
    "Maceió",
    "Londrina",
    "Joinville",
    "Uberlândia",
    "Sorocaba",
    "Caruaru",
];
const TLDS: [&str; 5] = ["com.br", "net.br", "com", "tv.br", "com.br"];
const COLORS: [&str; 10] = [
    "#0b5fff", "#6d28d9", "#e11d48", "#111827", "#f97316", "#0f766e", "#a16207", "#0f172a", "#16a34a", "#db2777",
];
const SUSPEND_REASONS: [&str; 4] = [
    "Fatura em atraso",
    "Chargeback em análise",
    "Abuso: envio de spam",
    "Solicitação do cliente",
];

const COLUMNS: &str = "id, slug, name, domain, status, tier, currency, logo_text, primary_color, accent_color, \
    sender_name, sender_email, support_email, max_customers, max_services, max_storage_gb, max_domains, \
    max_tickets_month, suspended_reason, suspended_at, search_text, created_at, updated_at";

/// Bound parameters per row; the rest of a row are literals from the fixed lists above.
const PARAMS_PER_ROW: usize = 10;

/// Rows per INSERT. Both engines would take far more (even 500 rows × 10 parameters is well
/// below SQLite's 32 766 and PostgreSQL's 65 535), but on SQLite every `$n` is resolved by name
/// (a linear scan in `sqlite3_bind_parameter_name`, and again when the statement is parsed), so
/// the cost per statement grows with the square of its parameters. Measured on 100 000 rows:
/// 25 rows 9.2 s, 50 rows 8.0 s, 200 rows 12.4 s, 500 rows (all columns bound) 36 s.
const ROWS_PER_STATEMENT: usize = 50;
/// Statements per transaction (20 000 rows): amortises commits and WAL page rewrites, and
/// keeps a PostgreSQL transaction from growing without bound.
const STATEMENTS_PER_TX: usize = 400;

/// SQLite page cache while loading (negative = KiB): the five random-order indexes of
/// `tenants` outgrow the 2 MB default, and then every insert waits on I/O.
const SQLITE_CACHE_KIB: i64 = -65_536;

/// Exactly what `tenants::create`/`update` store, so filters behave as on real rows.
pub(super) fn search_text(name: &str, slug: &str, domain: &str) -> String {
    format!("{} {} {}", name.to_lowercase(), slug, domain)
}

/// Inserts `n` synthetic tenants for benchmarks, in multi-row INSERTs batched in
/// transactions. Slugs and domains carry a running number (continuing after the tenants
/// already present), so they stay unique.
///
/// No audit rows: this is synthetic benchmark load, not a change anyone made, and auditing
/// 100 000 fake creations would only distort the audit table the benchmarks do not measure.
pub async fn bulk_tenants(db: &Db, n: usize) -> Result<(), ServiceError> {
    if n == 0 {
        return Ok(());
    }
    let existing: i64 = db.scalar("SELECT COUNT(*) FROM tenants", args![]).await?;
    let offset = usize::try_from(existing).unwrap_or(0);
    let rng = Rng::new(0xB01C_5EED ^ offset as u64);
    let t0 = now();
    // Creation dates spread over the last three years, oldest first.
    let span_minutes: i64 = 3 * 365 * 24 * 60;
    let total = n as i64;
    let mut done = 0usize;
    while done < n {
        let mut tx = db.begin().await?;
        let old_cache: Option<i64> = if tx.backend() == Backend::Sqlite {
            let old: i64 = tx.scalar("PRAGMA cache_size", args![]).await?;
            tx.execute(&format!("PRAGMA cache_size = {SQLITE_CACHE_KIB}"), args![])
                .await?;
            Some(old)
        } else {
            None
        };
        for _ in 0..STATEMENTS_PER_TX {
            if done >= n {
                break;
            }
            let rows = ROWS_PER_STATEMENT.min(n - done);
            let mut args: Vec<Arg> = Vec::with_capacity(rows * PARAMS_PER_ROW);
            let mut values: Vec<String> = Vec::with_capacity(rows);
            for r in 0..rows {
                let k = (done + r) as i64;
                let created = t0
                    - TimeDelta::minutes(span_minutes - span_minutes * k / total)
                    - TimeDelta::seconds(rng.range(1, 59));
                values.push(row(&rng, offset + done + r, created, &mut args));
            }
            let sql = format!("INSERT INTO tenants ({COLUMNS}) VALUES {}", values.join(", "));
            tx.execute(&sql, args).await?;
            done += rows;
        }
        if let Some(old) = old_cache {
            tx.execute(&format!("PRAGMA cache_size = {old}"), args![]).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// A SQL string literal. Only ever given the constants of this file, quoted anyway.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn int_lit(v: Option<i64>) -> String {
    v.map_or_else(|| "NULL".to_owned(), |n| n.to_string())
}

/// Binds one row's values onto `args` and returns its `( … )` tuple.
fn row(rng: &Rng, i: usize, created: chrono::DateTime<chrono::Utc>, args: &mut Vec<Arg>) -> String {
    let prefix = rng.pick(&PREFIXES);
    let middle = rng.pick(&MIDDLES);
    let city = rng.pick(&CITIES);
    // At most 40 characters, so the name doubles as the logo text (tenants.rs caps it at 40).
    let name = format!("{prefix} {middle} {city}");
    let stem: String = validate::slugify(&name).chars().take(30).collect();
    let slug = format!("{}-{i}", stem.trim_end_matches('-'));
    let domain = format!("{}{}{i}.{}", compact(prefix), compact(middle), rng.pick(&TLDS));
    let status = match rng.below(100) {
        0..85 => "active",
        85..95 => "suspended",
        _ => "cancelled",
    };
    let tier = match rng.below(100) {
        0..20 => "free",
        20..60 => "basic",
        60..90 => "pro",
        _ => "enterprise",
    };
    let currency = if rng.chance(5) { "USD" } else { "BRL" };
    let limits = Limits::for_tier(tier);
    let suspended = status == "suspended";
    let suspended_at = suspended.then(|| created + TimeDelta::days(rng.range(10, 300)).min(now() - created));
    let reason = if suspended {
        lit(rng.pick(&SUSPEND_REASONS))
    } else {
        "NULL".to_owned()
    };
    let search = search_text(&name, &slug, &domain);
    let updated = suspended_at.unwrap_or(created);
    let p = args.len();
    let sender_email = format!("nao-responda@{domain}");
    let support_email = format!("suporte@{domain}");
    args.extend(args![
        uuid::Uuid::now_v7(),
        slug,
        name,
        domain,
        sender_email,
        support_email,
        suspended_at,
        search,
        created,
        updated,
    ]);
    let d = |k: usize| format!("${}", p + k);
    format!(
        "({id}, {slug}, {name}, {domain}, {status}, {tier}, {currency}, {name}, {primary}, {accent}, {name}, {sender}, {support}, \
         {mc}, {ms}, {msg}, {md}, {mt}, {reason}, {susp}, {search}, {created}, {updated})",
        id = d(1),
        slug = d(2),
        name = d(3),
        domain = d(4),
        status = lit(status),
        tier = lit(tier),
        currency = lit(currency),
        primary = lit(rng.pick(&COLORS)),
        accent = lit(rng.pick(&COLORS)),
        sender = d(5),
        support = d(6),
        mc = int_lit(limits.max_customers),
        ms = int_lit(limits.max_services),
        msg = int_lit(limits.max_storage_gb),
        md = int_lit(limits.max_domains),
        mt = int_lit(limits.max_tickets_month),
        susp = d(7),
        search = d(8),
        created = d(9),
        updated = d(10),
    )
}
