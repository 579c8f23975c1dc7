//! Incidents, provider integrations, settings and the job queue.

use chrono::TimeDelta;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Ctx, World};
use crate::args;
use crate::error::ServiceError;

async fn id_of(ctx: &mut Ctx, sql: &str, arg: &str) -> Result<Option<Uuid>, ServiceError> {
    let row: Option<(Uuid,)> = ctx.tx.fetch_optional(sql, args![arg]).await?;
    Ok(row.map(|r| r.0))
}

/// (server, streaming panel, brand slug, title, description, severity, status, source, minutes ago,
/// root cause, resolution).
type IncidentSpec = (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<&'static str>,
    Option<&'static str>,
);

const INCIDENTS: [IncidentSpec; 6] = [
    (
        Some("whm-fra-01"),
        None,
        None,
        "whm-fra-01 sem resposta (HTTP 2087 e ICMP)",
        "Health check falhou 3 vezes seguidas; 77 contas afetadas (TurboHost, Lumen).",
        "critical",
        "investigating",
        "health_check",
        38,
        None,
        None,
    ),
    (
        Some("whm-gru-03"),
        None,
        None,
        "Disco em 91% no whm-gru-03",
        "Uso de disco acima do limite de alerta; migrações para este servidor pausadas.",
        "high",
        "identified",
        "health_check",
        60 * 5,
        None,
        None,
    ),
    (
        None,
        Some("XUI Nordeste"),
        Some("streammax-revenda"),
        "XUI Nordeste com timeouts na sincronização",
        "Sincronizações completas falhando de forma intermitente (timeout de 15s).",
        "medium",
        "monitoring",
        "job",
        60 * 9,
        None,
        None,
    ),
    (
        Some("cpanel-iad-01"),
        None,
        None,
        "Manutenção programada: cpanel-iad-01 (upgrade cPanel 118 → 124)",
        "Janela de manutenção de 2h; contas seguem acessíveis em modo leitura.",
        "low",
        "monitoring",
        "manual",
        60 * 2,
        None,
        None,
    ),
    (
        None,
        None,
        None,
        "Webhooks do Mercado Pago atrasados",
        "Pagamentos aprovados chegando com até 40 min de atraso.",
        "high",
        "resolved",
        "webhook",
        60 * 24 * 6,
        Some("Fila de notificações do provedor congestionada (incidente do lado do Mercado Pago)"),
        Some("Reconciliação pela API de pagamentos a cada 5 min ligada até normalizar."),
    ),
    (
        None,
        None,
        None,
        "Falha em massa ao criar registros DNS (Cloudflare API 5xx)",
        "Jobs dns.sync_zone falhando com HTTP 502 por 25 minutos.",
        "critical",
        "resolved",
        "job",
        60 * 24 * 20,
        Some("Instabilidade da API da Cloudflare"),
        Some("Jobs reprocessados automaticamente com backoff; nenhum registro perdido."),
    ),
];

pub(super) async fn incidents(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    let on_call = world.staff.iter().find(|u| u.role == "on_call").map(|u| u.id);
    for (server, panel, slug, title, description, severity, status, source, minutes, cause, resolution) in INCIDENTS {
        let server = server
            .and_then(|n| world.servers.iter().find(|s| s.name == n))
            .map(|s| s.id);
        let panel = match panel {
            Some(name) => id_of(ctx, "SELECT id FROM streaming_servers WHERE name = $1", name).await?,
            None => None,
        };
        let tenant = slug
            .and_then(|s| world.brands.iter().find(|b| b.tenant.slug == s))
            .map(|b| b.tenant.id);
        let started = ctx.mins(-minutes);
        let acked = (status != "investigating").then(|| started + TimeDelta::minutes(ctx.rng.range(3, 15)));
        let resolved = (status == "resolved").then(|| started + TimeDelta::minutes(25 + ctx.rng.range(0, 90)));
        ctx.add(
            "incidents",
            "incident",
            tenant,
            cols![
                "id" => Uuid::now_v7(), "tenant_id" => tenant, "server_id" => server, "streaming_server_id" => panel,
                "title" => title, "description" => description, "severity" => severity, "status" => status,
                "source" => source, "started_at" => started, "acknowledged_at" => acked,
                "acknowledged_by" => acked.and(on_call), "resolved_at" => resolved, "root_cause" => cause,
                "resolution_notes" => resolution, "created_at" => started,
                "updated_at" => resolved.or(acked).unwrap_or(started),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn integrations_and_settings(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    let created = ctx.days(-90);
    // Platform accounts (tenant NULL). Secrets stay NULL until encryption at rest exists.
    let platform: [(&str, &str, &str, Value, Option<&str>); 3] = [
        (
            "cloudflare",
            "Cloudflare (conta da plataforma)",
            "active",
            json!({ "account_id": ctx.rng.hex(32) }),
            None,
        ),
        (
            "smtp",
            "SMTP transacional",
            "active",
            json!({ "host": "smtp.painelcloud.net.br", "port": 587, "starttls": true }),
            None,
        ),
        (
            "namecheap",
            "Namecheap (venda direta)",
            "active",
            json!({ "api_user": "painelcloud", "sandbox": false }),
            None,
        ),
    ];
    for (provider, name, status, config, error) in platform {
        add_integration(ctx, None, provider, name, status, config, error, created).await?;
    }
    for b in &world.brands {
        let tid = Some(b.tenant.id);
        let at = ctx.days(-b.spec.age_days) + TimeDelta::hours(2);
        if b.tenant.currency == "USD" {
            let cfg = json!({ "account_id": format!("acct_1{}", ctx.rng.alnum(15)), "livemode": true });
            add_integration(ctx, tid, "stripe", "Stripe", "active", cfg, None, at).await?;
        } else {
            let cfg = json!({ "user_id": ctx.rng.digits(10), "sandbox": false, "pix": true });
            add_integration(ctx, tid, "mercadopago", "Mercado Pago", "active", cfg, None, at).await?;
        }
        if b.spec.streaming {
            let instance = format!("{}-vendas", b.tenant.slug.split('-').next().unwrap_or("revenda"));
            let alpha = b.tenant.slug.starts_with("alpha");
            let cfg = json!({ "base_url": format!("https://wa.{}", b.spec.domain), "instance": instance });
            let (status, error) = if alpha {
                ("error", Some("instance disconnected (QR code expirado em 02:14)"))
            } else {
                ("active", None)
            };
            add_integration(
                ctx,
                tid,
                "evolution",
                "WhatsApp (Evolution API)",
                status,
                cfg,
                error,
                at,
            )
            .await?;
        }
    }
    // Settings: platform defaults and a few brand overrides.
    let global: [(&str, Value); 6] = [
        ("billing.grace_days", json!(5)),
        ("billing.reminder_days", json!([7, 3, 1])),
        ("billing.suspend_after_days", json!(7)),
        (
            "trials.limits",
            json!({ "per_ip_days": 30, "per_email_days": 30, "blocked_hours": ["00:00", "06:00"] }),
        ),
        (
            "support.sla_hours",
            json!({ "free": null, "basic": 24, "pro": 4, "enterprise": 1 }),
        ),
        (
            "provisioning.retry",
            json!({ "max_attempts": 5, "backoff_base_s": 30, "backoff_max_s": 3600 }),
        ),
    ];
    for (key, value) in global {
        add_setting(ctx, None, key, value).await?;
    }
    for b in &world.brands {
        let tid = Some(b.tenant.id);
        match b.tenant.slug.as_str() {
            "conexao-hospedagem" => add_setting(ctx, tid, "billing.grace_days", json!(3)).await?,
            "streammax-revenda" => {
                add_setting(ctx, tid, "trials.duration_hours", json!(4)).await?;
                add_setting(ctx, tid, "whatsapp.enabled", json!(true)).await?;
            }
            "alpha-iptv-distribuidora" => {
                add_setting(
                    ctx,
                    tid,
                    "trials.limits",
                    json!({ "per_ip_days": 15, "blocked_hours": ["23:00", "07:00"] }),
                )
                .await?
            }
            "lumen-cloud-services" => add_setting(ctx, tid, "billing.locale", json!("en-US")).await?,
            _ => {}
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn add_integration(
    ctx: &mut Ctx,
    tenant: Option<Uuid>,
    provider: &str,
    name: &str,
    status: &str,
    config: Value,
    error: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    let checked = ctx.mins(-ctx.rng.range(5, 600));
    ctx.add(
        "integrations",
        "integration",
        tenant,
        cols![
            "id" => Uuid::now_v7(), "tenant_id" => tenant, "provider" => provider, "name" => name, "status" => status,
            "config" => config, "last_checked_at" => checked, "last_error" => error, "created_at" => at, "updated_at" => at,
        ],
    )
    .await
}

async fn add_setting(ctx: &mut Ctx, tenant: Option<Uuid>, key: &str, value: Value) -> Result<(), ServiceError> {
    let at = ctx.days(-ctx.rng.range(1, 60));
    ctx.add(
        "settings",
        "setting",
        tenant,
        cols!["id" => Uuid::now_v7(), "tenant_id" => tenant, "key" => key, "value" => value, "updated_at" => at],
    )
    .await
}

/// (queue, kind, payload, status, attempts, max attempts, run_at offset in minutes, locked by,
/// last error, error history, unique key, tenant).
type JobSpec<'a> = (
    &'a str,
    &'a str,
    Value,
    &'a str,
    i64,
    i64,
    i64,
    Option<&'a str>,
    Option<String>,
    Value,
    Option<String>,
    Option<Uuid>,
);

pub(super) async fn jobs(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    let pending = world.services.iter().find(|s| s.status == "pending");
    let failed = world.services.iter().find(|s| s.status == "error");
    let provisioning = world.services.iter().find(|s| s.status == "provisioning");
    let migration = id_of(
        ctx,
        "SELECT id FROM migrations WHERE status = $1 ORDER BY created_at LIMIT 1",
        "running",
    )
    .await?;
    let zone: Option<(Uuid, Uuid)> = ctx
        .tx
        .fetch_optional(
            "SELECT zone_id, tenant_id FROM dns_records WHERE sync_status = $1 ORDER BY created_at LIMIT 1",
            args!["error"],
        )
        .await?;
    let tenant_of = |s: Option<&super::ServiceRef>| s.and_then(|s| world.brands.get(s.brand)).map(|b| b.tenant.id);
    let err = |attempt: i64, msg: &str, mins: i64| json!({ "attempt": attempt, "error": msg, "at": (ctx.t0 - TimeDelta::minutes(mins)).to_rfc3339() });
    let timeout = "WHM API timeout after 60s calling createacct";
    // (queue, kind, payload, status, attempts, max, run_at offset min, lock, last error, history, unique key, tenant).
    let specs: Vec<JobSpec> = vec![
        (
            "provisioning",
            "provision.createacct",
            json!({ "service_id": pending.map(|s| s.id) }),
            "queued",
            0,
            5,
            2,
            None,
            None,
            json!([]),
            pending.map(|s| format!("provision:{}", s.id)),
            tenant_of(pending),
        ),
        (
            "provisioning",
            "provision.createacct",
            json!({ "service_id": provisioning.map(|s| s.id) }),
            "running",
            1,
            5,
            -1,
            Some("worker-gru-1:4182"),
            None,
            json!([]),
            provisioning.map(|s| format!("provision:{}", s.id)),
            tenant_of(provisioning),
        ),
        (
            "migrations",
            "migration.monitor",
            json!({ "migration_id": migration }),
            "running",
            1,
            50,
            -2,
            Some("worker-gru-2:5120"),
            None,
            json!([]),
            migration.map(|m| format!("migration:{m}")),
            None,
        ),
        (
            "dns",
            "dns.sync_zone",
            json!({ "zone_id": zone.map(|z| z.0) }),
            "failed",
            2,
            5,
            8,
            None,
            Some("Cloudflare API 81053: An A, AAAA, or CNAME record with that host already exists.".into()),
            json!([err(1, "Cloudflare API 81053", 40), err(2, "Cloudflare API 81053", 12)]),
            zone.map(|z| format!("dns:{}", z.0)),
            zone.map(|z| z.1),
        ),
        (
            "provisioning",
            "provision.createacct",
            json!({ "service_id": failed.map(|s| s.id) }),
            "dead",
            5,
            5,
            -300,
            None,
            Some(timeout.into()),
            json!((1..=5).map(|a| err(a, timeout, 300 - a * 50)).collect::<Vec<_>>()),
            None,
            tenant_of(failed),
        ),
        (
            "billing",
            "billing.renewal_invoices",
            json!({ "days_ahead": 7 }),
            "queued",
            0,
            3,
            55,
            None,
            None,
            json!([]),
            Some("billing:renewals:daily".into()),
            None,
        ),
        (
            "notifications",
            "notify.whatsapp",
            json!({ "template": "line.expiring", "batch": 18 }),
            "queued",
            0,
            5,
            15,
            None,
            None,
            json!([]),
            None,
            None,
        ),
        (
            "ssl",
            "ssl.autossl_check",
            json!({ "server": "whm-gru-01" }),
            "succeeded",
            1,
            3,
            -90,
            None,
            None,
            json!([]),
            None,
            None,
        ),
        (
            "streaming",
            "streaming.full_sync",
            json!({ "panel": "XUI Principal" }),
            "succeeded",
            1,
            3,
            -10,
            None,
            None,
            json!([]),
            None,
            None,
        ),
        (
            "billing",
            "billing.suspend_overdue",
            json!({ "grace_days": 5 }),
            "succeeded",
            1,
            3,
            -60 * 6,
            None,
            None,
            json!([]),
            None,
            None,
        ),
        (
            "streaming",
            "streaming.full_sync",
            json!({ "panel": "XtreamUI Legado" }),
            "cancelled",
            3,
            5,
            -60 * 24,
            None,
            Some("connect: connection refused".into()),
            json!([err(3, "connect: connection refused", 1440)]),
            None,
            None,
        ),
    ];
    for (queue, kind, payload, status, attempts, max, run_in, lock, last_error, history, unique, tenant) in specs {
        let run_at = ctx.mins(run_in);
        let created = run_at.min(ctx.t0) - TimeDelta::minutes(ctx.rng.range(1, 30));
        let finished = matches!(status, "succeeded" | "dead" | "cancelled").then(|| run_at + TimeDelta::minutes(1));
        ctx.add(
            "jobs",
            "job",
            tenant,
            cols![
                "id" => ctx.id_at(created), "queue" => queue, "kind" => kind, "payload" => payload, "status" => status,
                "attempts" => attempts, "max_attempts" => max, "run_at" => run_at,
                "lease_until" => lock.map(|_| ctx.t0 + TimeDelta::minutes(2)), "locked_by" => lock,
                "last_error" => last_error, "error_history" => history, "unique_key" => unique, "tenant_id" => tenant,
                "enqueued_by" => "system", "created_at" => created, "updated_at" => finished.unwrap_or(created.max(ctx.mins(-1))),
                "finished_at" => finished,
                // Claimed jobs started when they became due (the queue screen shows their age).
                "started_at" => (attempts > 0).then_some(run_at),
            ],
        )
        .await?;
    }
    Ok(())
}
