//! Streaming panels, lines, sync history, trials and the reseller credit ledger.

use std::collections::{HashMap, HashSet};

use chrono::TimeDelta;
use serde_json::json;
use uuid::Uuid;

use super::credits::{self, Credit};
use super::data::FIRST_NAMES;
use super::text::compact;
use super::{Ctx, World};
use crate::args;
use crate::error::ServiceError;

/// (tenant slug, name, kind, api mode, base URL, status, priority, sync enabled, username, last error).
type PanelSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    bool,
    Option<&'static str>,
    Option<&'static str>,
);

const PANELS: [PanelSpec; 5] = [
    (
        "streammax-revenda",
        "XUI Principal",
        "xui",
        "admin",
        "https://painel.streammax.tv.br",
        "online",
        0,
        true,
        None,
        None,
    ),
    (
        "streammax-revenda",
        "XUI Nordeste",
        "xui",
        "admin",
        "https://ne.streammax.tv.br",
        "degraded",
        1,
        true,
        None,
        Some("timeout after 15s on player_api get_lines (page 4 of 9)"),
    ),
    (
        "streammax-revenda",
        "XtreamUI Legado",
        "xtream_ui",
        "admin",
        "http://legado.streammax.tv.br:25461",
        "offline",
        5,
        false,
        Some("painel_sync"),
        Some("connect: connection refused"),
    ),
    (
        "alpha-iptv-distribuidora",
        "XC_VM Alpha 01",
        "xc_vm",
        "admin",
        "https://xc.alphaiptv.com.br",
        "online",
        0,
        true,
        None,
        None,
    ),
    (
        "alpha-iptv-distribuidora",
        "XUI Alpha Revenda",
        "xui",
        "reseller",
        "https://revenda.alphaiptv.com.br",
        "disabled",
        9,
        false,
        None,
        None,
    ),
];

pub(super) async fn streaming(ctx: &mut Ctx, world: &mut World) -> Result<(), ServiceError> {
    for bi in 0..world.brands.len() {
        let Some(b) = world.brands.get(bi) else { continue };
        if !b.spec.streaming {
            continue;
        }
        let tid = b.tenant.id;
        let slug = b.tenant.slug.clone();
        // Panels.
        let mut panels: Vec<(Uuid, &'static str, &'static str, bool, &'static str)> = Vec::new();
        for (s, name, kind, mode, url, status, priority, sync, username, error) in PANELS {
            if s != slug {
                continue;
            }
            let id = Uuid::now_v7();
            let created = ctx.days(-b.spec.age_days) + TimeDelta::hours(6);
            let last_sync = sync.then(|| ctx.mins(-ctx.rng.range(2, 14)));
            ctx.add(
                "streaming_servers",
                "streaming_server",
                Some(tid),
                cols![
                    "id" => id, "tenant_id" => tid, "name" => name, "kind" => kind, "api_mode" => mode,
                    "base_url" => url, "username" => username, "status" => status, "priority" => priority,
                    "sync_enabled" => sync, "last_sync_at" => last_sync, "last_error" => error,
                    "created_at" => created, "updated_at" => last_sync.unwrap_or(created),
                ],
            )
            .await?;
            panels.push((id, name, status, sync, url));
        }
        let active_panels: Vec<_> = panels.iter().filter(|p| p.3).cloned().collect();
        let plans: Vec<_> = b.plans.iter().filter(|p| p.status == "active").cloned().collect();
        let trial_plan = b.plans.iter().find(|p| p.code == "teste-4h").map(|p| p.id);
        let mut credits: Vec<Credit> = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        let mut remote = 30_000 + 1000 * bi as i64;
        let mut per_panel: HashMap<Uuid, i64> = HashMap::new();
        // Lines, one per customer (every fifth customer has two screens' worth: a second line).
        for (j, c) in b.customers.iter().enumerate() {
            let Some(owner) = b.owner.get(j).copied().flatten().and_then(|o| b.resellers.get(o)) else {
                continue;
            };
            let Some(plan) = plans.get((j * 3 + 1) % plans.len().max(1)).cloned() else {
                continue;
            };
            let Some(&(panel, _, panel_status, _, panel_url)) = active_panels.get(j % active_panels.len().max(1))
            else {
                continue;
            };
            let cust_created = ctx.days(-b.customer_age.get(j).copied().unwrap_or(5));
            let created =
                cust_created.max(owner.created + TimeDelta::days(2)) + TimeDelta::minutes(ctx.rng.range(5, 300));
            let days = plan.days.unwrap_or(30);
            let cost = plan.credits.unwrap_or(1);
            let renewals = if j % 3 != 2 {
                (ctx.t0 - created).num_days() / days
            } else {
                0
            };
            let expires = created + TimeDelta::days(days * (renewals + 1));
            let mut status = if expires < ctx.t0 { "expired" } else { "active" };
            let mut notes = "";
            if j % 11 == 5 {
                status = "disabled";
                notes = "Bloqueada: mensalidade do revendedor em aberto";
            } else if j % 13 == 7 {
                status = "banned";
                notes = "Compartilhamento de login detectado (5 IPs em 10 min)";
            }
            let first = c.name.split_whitespace().next().unwrap_or("cliente");
            let mut username = format!("{}{}", compact(first), ctx.rng.digits(4));
            while !names.insert(username.clone()) {
                username = format!("{}{}", compact(first), ctx.rng.digits(5));
            }
            let (sync, err): (&str, Option<String>) = if panel_status == "degraded" && j % 3 == 0 {
                ("error", Some(format!("HTTP 504 Gateway Timeout from {panel_url}")))
            } else {
                match j % 10 {
                    1 => ("pending", None),
                    3 => ("dirty", None),
                    6 => (
                        "conflict",
                        Some(format!(
                            "exp_date no painel ({}) difere do local",
                            (expires - TimeDelta::days(30)).format("%Y-%m-%d")
                        )),
                    ),
                    _ => ("synced", None),
                }
            };
            let remote_id = (sync != "pending").then(|| {
                remote += ctx.rng.range(1, 40);
                remote.to_string()
            });
            let screens = if plan.code.ends_with("-2") { 2 } else { 1 };
            let line = Uuid::now_v7();
            let updated = ctx.mins(-ctx.rng.range(10, 4000)).max(created);
            ctx.add_raw(
                "lines",
                "line",
                Some(tid),
                cols![
                    "id" => line, "tenant_id" => tid, "customer_id" => c.id, "reseller_id" => owner.id,
                    "plan_id" => plan.id, "streaming_server_id" => panel, "remote_id" => remote_id,
                    "username" => username.as_str(), "status" => status, "is_trial" => false,
                    "max_connections" => screens as i64, "expires_at" => expires,
                    "bouquets" => json!([1, 2, 3, 5, 8]), "allowed_outputs" => json!(["m3u8", "ts"]),
                    "auto_renew" => j % 3 == 0, "notes" => notes, "sync_status" => sync,
                    "synced_at" => (sync == "synced").then(|| ctx.mins(-ctx.rng.range(2, 300))),
                    "sync_error" => err.clone(), "created_at" => created, "updated_at" => updated,
                ],
                // Encryption at rest is not built yet: an empty placeholder, never a password.
                &[("password_enc", "''".to_owned())],
            )
            .await?;
            *per_panel.entry(panel).or_default() += 1;
            let mut spend = Credit::new(
                created,
                owner.id,
                "spend",
                -cost,
                format!("Ativação {} — {username}", plan.name),
            );
            spend.line = Some(line);
            spend.key = Some(format!("line:{line}:create"));
            credits.push(spend);
            for r in 1..=renewals.min(3) {
                let mut renew = Credit::new(
                    created + TimeDelta::days(days * r) - TimeDelta::hours(6),
                    owner.id,
                    "spend",
                    -cost,
                    format!("Renovação {} — {username}", plan.name),
                );
                renew.line = Some(line);
                renew.key = Some(format!("line:{line}:renew:{r}"));
                credits.push(renew);
            }
            // The per-line push that created it on the panel.
            let sync_status = match sync {
                "error" => "error",
                "conflict" => "conflict",
                _ => "success",
            };
            let fields = cols![
                "id" => Uuid::now_v7(), "tenant_id" => tid, "streaming_server_id" => panel, "line_id" => line,
                "direction" => if sync == "conflict" { "pull" } else { "push" },
                "operation" => if sync == "conflict" { "compare" } else { "create" }, "status" => sync_status,
                "items" => 1_i64, "duration_ms" => ctx.rng.range(120, 1900),
                "message" => err.clone().unwrap_or_else(|| format!("linha {username} criada no painel")),
                "at" => created + TimeDelta::seconds(ctx.rng.range(2, 50)),
            ];
            if sync != "pending" {
                ctx.insert("sync_log", &fields, &[]).await?;
            }
        }
        // Trials: requested, active, expired, converted and rejected.
        trials(ctx, world, bi, trial_plan, &active_panels, &mut names, &mut per_panel).await?;
        // Full syncs, every six hours over the last two days.
        for &(panel, name, status, sync, _) in &panels {
            let count = per_panel.get(&panel).copied().unwrap_or(0);
            let runs = if sync { 8 } else { 3 };
            for k in 0..runs {
                let at = if sync {
                    ctx.hours(-6 * (runs - k))
                } else {
                    ctx.days(-(12 - k))
                };
                let failed = status == "offline" || (status == "degraded" && k % 3 == 1);
                let fields = cols![
                    "id" => Uuid::now_v7(), "tenant_id" => tid, "streaming_server_id" => panel,
                    "direction" => "pull", "operation" => "full_sync",
                    "status" => if failed { "error" } else { "success" }, "items" => if failed { 0 } else { count },
                    "duration_ms" => ctx.rng.range(800, 9000),
                    "message" => if failed { "falha na sincronização: painel não respondeu".to_owned() } else { format!("{count} linhas conferidas, 0 divergências") },
                    "details" => json!({ "pages": 1 + count / 50, "timeout_s": 15 }),
                    "at" => at,
                ];
                ctx.insert("sync_log", &fields, &[]).await?;
            }
            ctx.tx
                .execute(
                    "UPDATE streaming_servers SET lines_count = $2 WHERE id = $1",
                    args![panel, count],
                )
                .await?;
            ctx.note(
                "streaming_server.sync_history",
                "streaming_server",
                Some(panel.to_string()),
                Some(tid),
                json!({ "server": name, "full_syncs": runs, "lines_count": count }),
            )
            .await?;
        }
        credits::ledger(ctx, world, bi, credits).await?;
    }
    Ok(())
}

#[allow(clippy::type_complexity)]
async fn trials(
    ctx: &mut Ctx,
    world: &World,
    bi: usize,
    plan: Option<Uuid>,
    panels: &[(Uuid, &'static str, &'static str, bool, &'static str)],
    names: &mut HashSet<String>,
    per_panel: &mut HashMap<Uuid, i64>,
) -> Result<(), ServiceError> {
    let Some(b) = world.brands.get(bi) else { return Ok(()) };
    let tid = b.tenant.id;
    let sellers: Vec<_> = b.resellers.iter().filter(|u| u.role == "reseller").collect();
    const KINDS: [(&str, &str, i64, Option<&str>); 7] = [
        ("active", "whatsapp", 1, None),
        ("active", "panel", 2, None),
        ("expired", "whatsapp", 30, None),
        ("converted", "panel", 72, None),
        ("rejected", "api", 5, Some("Limite de 1 teste por IP a cada 30 dias")),
        ("rejected", "whatsapp", 9, Some("Testes bloqueados entre 00h e 06h")),
        ("requested", "email", 0, None),
    ];
    for (k, (status, channel, hours_ago, reject)) in KINDS.into_iter().enumerate() {
        let created = ctx.mins(-hours_ago * 60 - ctx.rng.range(3, 50));
        let seller = sellers.get((k + bi) % sellers.len().max(1)).copied();
        let first = FIRST_NAMES
            .get((k * 7 + bi * 3) % FIRST_NAMES.len())
            .copied()
            .unwrap_or("teste");
        let email = format!("{}{}@gmail.com", compact(first), ctx.rng.digits(3));
        let phone = format!("+55 {} 9{}-{}", b.spec.ddd, ctx.rng.digits(4), ctx.rng.digits(4));
        let ip = format!(
            "177.{}.{}.{}",
            ctx.rng.range(20, 220),
            ctx.rng.range(0, 255),
            ctx.rng.range(1, 254)
        );
        let has_line = matches!(status, "active" | "expired" | "converted");
        let customer = (status == "converted")
            .then(|| b.customers.get(k).map(|c| c.id))
            .flatten();
        let mut line = None;
        if let (true, Some(&(panel, ..))) = (has_line, panels.get(k % panels.len().max(1))) {
            let id = Uuid::now_v7();
            let mut username = format!("teste{}", ctx.rng.digits(5));
            while !names.insert(username.clone()) {
                username = format!("teste{}", ctx.rng.digits(6));
            }
            let expires = created + TimeDelta::hours(4);
            ctx.add_raw(
                "lines",
                "line",
                Some(tid),
                cols![
                    "id" => id, "tenant_id" => tid, "customer_id" => customer, "reseller_id" => seller.map(|s| s.id),
                    "plan_id" => plan, "streaming_server_id" => panel, "remote_id" => ctx.rng.range(90_000, 99_999).to_string(),
                    "username" => username.as_str(), "status" => if status == "active" { "active" } else { "expired" },
                    "is_trial" => true, "max_connections" => 1_i64, "expires_at" => expires,
                    "bouquets" => json!([1, 2]), "allowed_outputs" => json!(["m3u8"]), "auto_renew" => false,
                    "notes" => format!("Teste via {channel}"), "sync_status" => "synced", "synced_at" => created + TimeDelta::seconds(20),
                    "created_at" => created, "updated_at" => created,
                ],
                &[("password_enc", "''".to_owned())],
            )
            .await?;
            *per_panel.entry(panel).or_default() += 1;
            line = Some((id, expires));
        }
        ctx.add(
            "trials",
            "trial",
            Some(tid),
            cols![
                "id" => Uuid::now_v7(), "tenant_id" => tid, "reseller_id" => seller.map(|s| s.id), "plan_id" => plan,
                "line_id" => line.map(|l| l.0), "customer_id" => customer, "channel" => channel,
                "email" => email.as_str(), "phone" => phone.as_str(), "ip" => ip.as_str(), "status" => status,
                "reject_reason" => reject, "starts_at" => line.map(|_| created), "expires_at" => line.map(|l| l.1),
                "converted_at" => (status == "converted").then(|| created + TimeDelta::hours(3)),
                "created_at" => created, "updated_at" => created,
            ],
        )
        .await?;
    }
    Ok(())
}
