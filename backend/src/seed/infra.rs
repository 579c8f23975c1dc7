//! Platform servers with their recent metrics, and each brand's catalogue (plans, add-ons).

use serde_json::{json, Value};
use uuid::Uuid;

use super::data::SERVERS;
use super::{price_90, AddonRef, Ctx, PlanRef, ServerRef, World};
use crate::error::ServiceError;

pub(super) async fn servers(ctx: &mut Ctx, world: &mut World) -> Result<(), ServiceError> {
    for (name, kind, region, status, max, accounts, disk_total, disk_used, dedicated, octet) in SERVERS {
        let id = Uuid::now_v7();
        let tenant =
            dedicated.and_then(|slug| world.brands.iter().find(|b| b.tenant.slug == slug).map(|b| b.tenant.id));
        let hostname = format!("{name}.painelcloud.net.br");
        let net = if matches!(region, "us-east-1" | "eu-central-1") {
            "198.51.100"
        } else {
            "203.0.113"
        };
        let ip = format!("{net}.{octet}");
        let hosting = matches!(kind, "whm" | "cpanel");
        let created = ctx.days(-120 + i64::from(octet));
        let updated = ctx.mins(-ctx.rng.range(1, 30));
        ctx.add(
            "servers",
            "server",
            tenant,
            cols![
                "id" => id,
                "tenant_id" => tenant,
                "name" => name,
                "hostname" => hostname.as_str(),
                "ip" => ip.as_str(),
                "region" => region,
                "kind" => kind,
                "whm_url" => hosting.then(|| format!("https://{hostname}:2087")),
                "api_user" => hosting.then_some("root"),
                "status" => status,
                "max_accounts" => max,
                "accounts_count" => accounts,
                "disk_total_gb" => disk_total,
                "disk_used_gb" => disk_used,
                "created_at" => created,
                "updated_at" => updated,
            ],
        )
        .await?;
        metrics(ctx, id, name, region, status, (disk_total, disk_used, accounts)).await?;
        world.servers.push(ServerRef { id, name, status, ip });
    }
    Ok(())
}

/// Twelve samples, one every two hours, as the health/capacity job records them.
async fn metrics(
    ctx: &mut Ctx,
    server: Uuid,
    name: &str,
    region: &str,
    status: &'static str,
    (disk_total, disk_used, accounts): (i64, i64, i64),
) -> Result<(), ServiceError> {
    let base_latency = match region {
        "sa-east-1" => 9,
        "fortaleza" => 38,
        "us-east-1" => 128,
        _ => 196,
    };
    let base_load = match status {
        "degraded" => 7.5,
        "maintenance" => 0.4,
        _ => 1.2,
    };
    for k in 0..12_i64 {
        let at = ctx.mins(-(11 - k) * 120 - ctx.rng.range(0, 3));
        // The offline host answered until six hours ago; the one in maintenance was drained.
        let sample_status = match status {
            "offline" if k < 9 => "online",
            "maintenance" if k < 6 => "online",
            s => s,
        };
        let id = Uuid::now_v7();
        let fields = cols![
            "id" => id,
            "server_id" => server,
            "at" => at,
            "status" => sample_status,
            "latency_ms" => (sample_status != "offline").then(|| base_latency + ctx.rng.range(0, 12)),
            "disk_total_gb" => disk_total,
            "disk_used_gb" => disk_used - (11 - k) * ctx.rng.range(1, 4),
            "accounts_count" => accounts,
            "error" => (sample_status == "offline").then_some("connect to 2087/tcp timed out after 10s"),
        ];
        let raw: Vec<(&str, String)> = if sample_status == "offline" {
            Vec::new()
        } else {
            let wobble = ctx.rng.range(0, 90) as f64 / 100.0;
            let l1 = base_load + wobble;
            vec![
                ("load_1", format!("{l1:.2}")),
                ("load_5", format!("{:.2}", l1 * 0.9)),
                ("load_15", format!("{:.2}", l1 * 0.8)),
            ]
        };
        ctx.insert("server_metrics", &fields, &raw).await?;
    }
    ctx.note(
        "server.metrics_sampled",
        "server",
        Some(server.to_string()),
        None,
        json!({ "server": name, "samples": 12, "status": status }),
    )
    .await
}

/// (code, name, kind, cycle, BRL price, USD price, setup fee BRL, resources, status).
type HostingPlan = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
    &'static str,
    &'static str,
);

const HOSTING_PLANS: [HostingPlan; 7] = [
    (
        "start",
        "Start",
        "hosting",
        "monthly",
        1490,
        499,
        0,
        r#"{"disk_gb":10,"bandwidth_gb":100,"sites":1,"mailboxes":5,"databases":2,"ssl":"autossl"}"#,
        "active",
    ),
    (
        "plus",
        "Plus",
        "hosting",
        "monthly",
        2990,
        899,
        0,
        r#"{"disk_gb":50,"bandwidth_gb":500,"sites":5,"mailboxes":25,"databases":10,"ssl":"autossl","backup":"weekly"}"#,
        "active",
    ),
    (
        "pro",
        "Pro",
        "hosting",
        "monthly",
        5990,
        1599,
        0,
        r#"{"disk_gb":100,"bandwidth_gb":"unlimited","sites":20,"mailboxes":100,"databases":"unlimited","ssl":"autossl","backup":"daily"}"#,
        "active",
    ),
    (
        "plus-anual",
        "Plus Anual",
        "hosting",
        "annual",
        29900,
        8990,
        0,
        r#"{"disk_gb":50,"bandwidth_gb":500,"sites":5,"mailboxes":25,"databases":10,"free_domain":true}"#,
        "hidden",
    ),
    (
        "revenda-30",
        "Revenda 30",
        "reseller_hosting",
        "monthly",
        14990,
        3999,
        4990,
        r#"{"accounts":30,"disk_gb":150,"bandwidth_gb":1500,"whm":true,"white_label":true}"#,
        "active",
    ),
    (
        "email-pro",
        "E-mail Profissional",
        "email",
        "monthly",
        990,
        299,
        0,
        r#"{"mailboxes":1,"mailbox_gb":15,"antispam":true,"webmail":"roundcube"}"#,
        "active",
    ),
    (
        "start-2022",
        "Start (2022)",
        "hosting",
        "monthly",
        990,
        399,
        0,
        r#"{"disk_gb":5,"bandwidth_gb":50,"sites":1,"mailboxes":3,"databases":1}"#,
        "retired",
    ),
];

/// (code, name, cycle, price, credits, days, screens, trial hours, status).
type StreamingPlan = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
    i64,
    i64,
    &'static str,
);

const STREAMING_PLANS: [StreamingPlan; 6] = [
    ("mensal-1", "Mensal 1 tela", "monthly", 3500, 1, 30, 1, 0, "active"),
    ("mensal-2", "Mensal 2 telas", "monthly", 5000, 2, 30, 2, 0, "active"),
    (
        "trimestral",
        "Trimestral 1 tela",
        "quarterly",
        9000,
        3,
        90,
        1,
        0,
        "active",
    ),
    (
        "semestral",
        "Semestral 1 tela",
        "semiannual",
        17000,
        5,
        180,
        1,
        0,
        "active",
    ),
    ("anual-2", "Anual 2 telas", "annual", 36000, 10, 365, 2, 0, "active"),
    ("teste-4h", "Teste grátis 4 horas", "one_time", 0, 0, 1, 1, 4, "hidden"),
];

/// (code, name, kind, cycle, BRL price, USD price, config).
type AddonSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    &'static str,
);

const HOSTING_ADDONS: [AddonSpec; 5] = [
    (
        "ssl-premium",
        "SSL Premium (OV)",
        "ssl",
        "annual",
        18990,
        4990,
        r#"{"issuer":"Sectigo","validation":"OV"}"#,
    ),
    (
        "backup-diario",
        "Backup diário (30 dias)",
        "backup",
        "monthly",
        990,
        299,
        r#"{"retention_days":30,"offsite":"s3"}"#,
    ),
    (
        "ip-dedicado",
        "IP dedicado",
        "dedicated_ip",
        "monthly",
        2490,
        500,
        r#"{"ipv4":true}"#,
    ),
    (
        "imunify360",
        "Imunify360 (antimalware)",
        "security",
        "monthly",
        1490,
        399,
        r#"{"product":"imunify360"}"#,
    ),
    (
        "email-extra",
        "Caixa de e-mail extra (10 GB)",
        "email",
        "monthly",
        490,
        150,
        r#"{"mailbox_gb":10}"#,
    ),
];

const STREAMING_ADDONS: [AddonSpec; 2] = [
    (
        "tela-extra",
        "Tela adicional",
        "other",
        "monthly",
        1000,
        0,
        r#"{"max_connections":1}"#,
    ),
    (
        "pacote-esportes",
        "Pacote Esportes HD",
        "other",
        "monthly",
        1500,
        0,
        r#"{"bouquets":[12,13]}"#,
    ),
];

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| json!({}))
}

pub(super) async fn catalogue(ctx: &mut Ctx, world: &mut World) -> Result<(), ServiceError> {
    // Two online WHM servers, where the last package sync checked each brand's first plans.
    let checked: Vec<Uuid> = world
        .servers
        .iter()
        .filter(|s| s.status == "online" && s.name.starts_with("whm"))
        .map(|s| s.id)
        .take(2)
        .collect();
    for (bi, b) in world.brands.iter_mut().enumerate() {
        let tid = b.tenant.id;
        let usd = b.tenant.currency == "USD";
        let currency = b.tenant.currency.clone();
        let created = ctx.days(-b.spec.age_days) + chrono::TimeDelta::hours(3);
        let bump = (bi as i64 % 4) * 100;
        let pkg_prefix: String = super::text::compact(b.spec.prefix);
        if b.spec.streaming {
            for (sort, (code, name, cycle, price, credits, days, screens, trial, status)) in
                STREAMING_PLANS.into_iter().enumerate()
            {
                let id = Uuid::now_v7();
                let price = if price == 0 { 0 } else { price + bump };
                ctx.add(
                    "plans",
                    "plan",
                    Some(tid),
                    cols![
                        "id" => id, "tenant_id" => tid, "code" => code, "name" => name,
                        "description" => format!("{name} — canais, filmes e séries; {screens} conexão(ões) simultânea(s)"),
                        "kind" => "streaming", "status" => status, "price_minor" => price,
                        "currency" => currency.as_str(), "billing_cycle" => cycle, "duration_days" => days,
                        "credits_cost" => credits, "trial_hours" => trial,
                        "external_package" => (sort + 1).to_string(),
                        "resources" => json!({ "max_connections": screens, "bouquets": [1, 2, 3, 5, 8], "outputs": ["m3u8", "ts"] }),
                        "sort_order" => sort as i64, "created_at" => created, "updated_at" => created,
                    ],
                )
                .await?;
                b.plans.push(PlanRef {
                    id,
                    code,
                    name,
                    kind: "streaming",
                    status,
                    price,
                    setup: 0,
                    cycle,
                    credits: Some(credits),
                    days: Some(days),
                });
            }
        } else {
            for (sort, (code, name, kind, cycle, brl, usd_price, setup, resources, status)) in
                HOSTING_PLANS.into_iter().enumerate()
            {
                let id = Uuid::now_v7();
                let price = if usd { usd_price } else { price_90(brl + bump) };
                let setup = if usd || setup == 0 { 0 } else { setup };
                ctx.add(
                    "plans",
                    "plan",
                    Some(tid),
                    cols![
                        "id" => id, "tenant_id" => tid, "code" => code, "name" => name,
                        "description" => format!("Plano {name} com cPanel, SSL grátis e suporte {}", b.spec.name),
                        "kind" => kind, "status" => status, "price_minor" => price, "setup_fee_minor" => setup,
                        "currency" => currency.as_str(), "billing_cycle" => cycle,
                        "external_package" => format!("{pkg_prefix}_{}", code.replace('-', "_")),
                        "resources" => json_of(resources),
                        "sort_order" => sort as i64, "created_at" => created, "updated_at" => created,
                    ],
                )
                .await?;
                // What `hosting.sync_packages` would have found: mostly in sync, one package
                // edited on a server, one missing (docs/adr/0021).
                let package = format!("{pkg_prefix}_{}", code.replace('-', "_"));
                let at = ctx.mins(-35);
                for (si, server) in checked.iter().enumerate().filter(|_| sort < 3) {
                    let (state, detail) = match (sort, si) {
                        (1, 0) => ("different", "QUOTA plan 20480 server 10240"),
                        (2, 1) => ("missing", ""),
                        _ => ("synced", ""),
                    };
                    ctx.add(
                        "plan_packages",
                        "plan_package",
                        Some(tid),
                        cols![
                            "id" => Uuid::now_v7(), "tenant_id" => tid, "plan_id" => id, "server_id" => *server,
                            "package" => package.as_str(), "state" => state, "detail" => detail, "checked_at" => at,
                        ],
                    )
                    .await?;
                }
                b.plans.push(PlanRef {
                    id,
                    code,
                    name,
                    kind,
                    status,
                    price,
                    setup,
                    cycle,
                    credits: None,
                    days: None,
                });
            }
        }
        let addons: &[AddonSpec] = if b.spec.streaming {
            &STREAMING_ADDONS
        } else {
            &HOSTING_ADDONS
        };
        for &(code, name, kind, cycle, brl, usd_price, config) in addons {
            let id = Uuid::now_v7();
            let price = if usd { usd_price } else { brl };
            ctx.add(
                "addons",
                "addon",
                Some(tid),
                cols![
                    "id" => id, "tenant_id" => tid, "code" => code, "name" => name,
                    "description" => format!("{name} para qualquer plano"),
                    "kind" => kind, "status" => "active", "price_minor" => price,
                    "currency" => currency.as_str(), "billing_cycle" => cycle, "config" => json_of(config),
                    "created_at" => created, "updated_at" => created,
                ],
            )
            .await?;
            b.addons.push(AddonRef { id, name, price });
        }
    }
    Ok(())
}
