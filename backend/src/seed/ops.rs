//! cPanel → cPanel migrations with their stage logs; domains, DNS zones/records and
//! certificates.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::data::SOURCE_HOSTS;
use super::{Ctx, World};
use crate::error::ServiceError;

const STAGES: [&str; 8] = [
    "credentials",
    "session",
    "email",
    "databases",
    "files",
    "dns",
    "ssl",
    "finish",
];

/// (brand slug, status, current stage, progress, minutes since created, error).
type MigrationSpec = (
    &'static str,
    &'static str,
    Option<&'static str>,
    i64,
    i64,
    Option<&'static str>,
);

const MIGRATIONS: [MigrationSpec; 11] = [
    ("conexao-hospedagem", "queued", None, 0, 6, None),
    ("pixel-web-studio", "queued", None, 0, 14, None),
    ("turbohost", "validating", Some("credentials"), 4, 3, None),
    ("nuvembr-hosting", "running", Some("files"), 58, 47, None),
    ("conexao-hospedagem", "running", Some("databases"), 34, 22, None),
    ("conexao-hospedagem", "success", Some("finish"), 100, 60 * 24 * 3, None),
    ("nuvembr-hosting", "success", Some("finish"), 100, 60 * 24 * 11, None),
    (
        "lumen-cloud-services",
        "success",
        Some("finish"),
        100,
        60 * 24 * 6,
        None,
    ),
    (
        "turbohost",
        "failed",
        Some("session"),
        12,
        60 * 5,
        Some(
            "WHM create_remote_root_transfer_session: Access denied (the remote server rejected the root credentials)",
        ),
    ),
    (
        "pixel-web-studio",
        "failed",
        Some("ssl"),
        92,
        60 * 30,
        Some("AutoSSL: DCV falhou para 3 domínios (www aponta para o servidor antigo)"),
    ),
    (
        "nuvembr-hosting",
        "aborted",
        Some("files"),
        47,
        60 * 26,
        Some("Abortado: disco do destino acima de 95% durante a cópia de arquivos; alerta enviado ao plantão"),
    ),
];

fn stage_message(stage: &str) -> &'static str {
    match stage {
        "credentials" => "Credenciais do servidor de origem validadas (WHM API 1, versão 118)",
        "session" => "Sessão de transferência criada no WHM (Transfer Tool)",
        "email" => "Contas de e-mail, filtros e encaminhamentos copiados",
        "databases" => "Bancos MySQL e usuários restaurados",
        "files" => "Arquivos de public_html e home copiados (rsync)",
        "dns" => "Zona DNS recriada no destino e TTL reduzido para 300",
        "ssl" => "AutoSSL solicitado para os domínios da conta",
        _ => "Migração concluída; conta ativa no servidor de destino",
    }
}

pub(super) async fn migrations(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    for (n, (slug, status, stage, progress, minutes, error)) in MIGRATIONS.into_iter().enumerate() {
        let Some((bi, b)) = world.brands.iter().enumerate().find(|(_, b)| b.tenant.slug == slug) else {
            continue;
        };
        let tid = b.tenant.id;
        // The customer's active service, and the first healthy server the brand uses.
        let service = world
            .services
            .iter()
            .filter(|s| s.brand == bi && s.status == "active")
            .nth(n % 3)
            .or_else(|| world.services.iter().find(|s| s.brand == bi));
        let target = b
            .spec
            .servers
            .iter()
            .filter_map(|name| world.servers.iter().find(|s| s.name == *name))
            .find(|s| matches!(s.status, "online" | "degraded" | "maintenance"))
            .or_else(|| world.servers.first());
        let Some(target) = target else { continue };
        let source_host = SOURCE_HOSTS
            .get(n % SOURCE_HOSTS.len())
            .copied()
            .unwrap_or("cpanel.origem.com.br");
        let source_user = service
            .and_then(|s| s.username.clone())
            .unwrap_or_else(|| format!("cliente{n}"));
        let created = ctx.mins(-minutes);
        let started = (status != "queued").then(|| created + TimeDelta::minutes(1));
        let finished =
            matches!(status, "success" | "failed" | "aborted").then(|| created + TimeDelta::minutes(38 + n as i64 * 7));
        let id = Uuid::now_v7();
        ctx.add(
            "migrations",
            "migration",
            Some(tid),
            cols![
                "id" => id, "tenant_id" => tid, "customer_id" => service.and_then(|s| b.customers.get(s.customer)).map(|c| c.id),
                "service_id" => service.map(|s| s.id), "source_host" => source_host, "source_user" => source_user.as_str(),
                "target_server_id" => target.id, "status" => status, "stage" => stage, "progress" => progress,
                "error" => error, "started_at" => started, "finished_at" => finished,
                "created_at" => created, "updated_at" => finished.unwrap_or(ctx.mins(-ctx.rng.range(0, 2)).max(created)),
            ],
        )
        .await?;
        // Stage logs up to (and including) the current stage.
        let reached = stage.and_then(|s| STAGES.iter().position(|x| *x == s));
        let Some(last) = reached else { continue };
        let span = finished.unwrap_or(ctx.t0) - started.unwrap_or(created);
        let step = span / (last as i32 + 2);
        let mut logs = 0;
        for (k, st) in STAGES.iter().enumerate().take(last + 1) {
            let at = started.unwrap_or(created) + step * (k as i32 + 1);
            let current = k == last;
            let mut lines: Vec<(&str, String)> = Vec::new();
            if current && matches!(status, "failed" | "aborted") {
                lines.push(("error", error.unwrap_or("falha").to_owned()));
            } else if current && matches!(status, "running" | "validating") {
                lines.push(("info", format!("Em andamento: {progress}% concluído")));
            } else {
                lines.push(("info", stage_message(st).to_owned()));
            }
            if *st == "email" && n % 2 == 0 {
                lines.push((
                    "warn",
                    "2 caixas de e-mail acima da cota do plano de destino".to_owned(),
                ));
            }
            if *st == "databases" && !current {
                lines.push(("info", format!("{} bancos, {} MB", 2 + n % 4, 120 + n * 37)));
            }
            for (level, message) in lines {
                let fields = cols![
                    "id" => Uuid::now_v7(), "tenant_id" => tid, "migration_id" => id, "stage" => *st,
                    "level" => level, "message" => message, "at" => at,
                ];
                ctx.insert("migration_logs", &fields, &[]).await?;
                logs += 1;
            }
        }
        ctx.note(
            "migration.log_appended",
            "migration",
            Some(id.to_string()),
            Some(tid),
            json!({ "lines": logs, "stage": stage, "status": status }),
        )
        .await?;
    }
    Ok(())
}

const CF_NS: [[&str; 2]; 3] = [
    ["dana.ns.cloudflare.com", "rob.ns.cloudflare.com"],
    ["kim.ns.cloudflare.com", "theo.ns.cloudflare.com"],
    ["lola.ns.cloudflare.com", "walt.ns.cloudflare.com"],
];

pub(super) async fn dns(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    let mut count = 0usize;
    for s in &world.services {
        if !matches!(s.status, "active" | "suspended" | "provisioning") || s.plan.kind == "email" {
            continue;
        }
        let Some(b) = world.brands.get(s.brand) else { continue };
        let Some(domain) = s.domain.clone() else { continue };
        let tid = b.tenant.id;
        let customer = b.customers.get(s.customer).map(|c| c.id);
        let server = s.server.and_then(|i| world.servers.get(i));
        let ip = server.map_or("203.0.113.10".to_owned(), |sv| sv.ip.clone());
        count += 1;
        let k = count;
        // Registration: Registro.br (no API, only NS checks) for .br, Namecheap otherwise.
        let br = domain.ends_with(".br");
        let (registrar, sale) = if br {
            ("registro_br", "external")
        } else if k.is_multiple_of(2) {
            ("namecheap", "direct")
        } else {
            ("namecheap", "indirect")
        };
        let ns_pending = k % 9 == 4;
        let expired = k % 17 == 8;
        let dstatus = if expired {
            "expired"
        } else if ns_pending {
            "pending"
        } else {
            "active"
        };
        let ns = CF_NS.get(k % CF_NS.len()).copied().unwrap_or(CF_NS[0]);
        let registered = s.created - TimeDelta::days(200 + 40 * (k as i64 % 9));
        let expires = if expired {
            ctx.days(-6)
        } else {
            registered + TimeDelta::days(365 * (1 + (ctx.t0 - registered).num_days() / 365))
        };
        let domain_id = Uuid::now_v7();
        ctx.add(
            "domains",
            "domain",
            Some(tid),
            cols![
                "id" => domain_id, "tenant_id" => tid, "customer_id" => customer, "service_id" => s.id,
                "name" => domain.as_str(), "registrar" => registrar, "sale_mode" => sale, "status" => dstatus,
                "registrar_ref" => (registrar == "namecheap").then(|| ctx.rng.digits(8)),
                "nameservers" => json!(if ns_pending { vec!["ns1.antigoprovedor.com.br", "ns2.antigoprovedor.com.br"] } else { ns.to_vec() }),
                "ns_verified_at" => (!ns_pending).then(|| s.created + TimeDelta::hours(5)),
                "ns_last_checked_at" => ctx.mins(-ctx.rng.range(5, 300)),
                "registered_at" => registered, "expires_at" => expires, "auto_renew" => !expired,
                "price_minor" => if sale == "direct" { 6990_i64 } else { 0 }, "currency" => b.tenant.currency.as_str(),
                "credits_cost" => (sale == "indirect").then_some(12_i64),
                "last_error" => ns_pending.then_some("NS ainda apontam para ns1.antigoprovedor.com.br (verificado via DNS)"),
                "created_at" => s.created, "updated_at" => s.created,
            ],
        )
        .await?;
        // DNS zone at Cloudflare (one stuck in error, one waiting for the NS change).
        let zone_status = if ns_pending {
            "pending"
        } else if k % 13 == 6 {
            "error"
        } else {
            "active"
        };
        let zone = Uuid::now_v7();
        ctx.add(
            "dns_zones",
            "dns_zone",
            Some(tid),
            cols![
                "id" => zone, "tenant_id" => tid, "domain_id" => domain_id, "customer_id" => customer, "service_id" => s.id,
                "name" => domain.as_str(), "provider" => "cloudflare", "external_id" => ctx.rng.hex(32), "status" => zone_status,
                "name_servers" => json!(ns.to_vec()), "activated_at" => (zone_status == "active").then(|| s.created + TimeDelta::hours(6)),
                "last_checked_at" => ctx.mins(-ctx.rng.range(3, 120)),
                "last_error" => (zone_status == "error").then_some("Cloudflare API 1049: domain is not a registered domain (consulta WHOIS falhou)"),
                "created_at" => s.created, "updated_at" => s.created,
            ],
        )
        .await?;
        let mail = format!("mail.{domain}");
        let records: Vec<(&str, String, String, Option<i64>, bool)> = vec![
            ("A", domain.clone(), ip.clone(), None, true),
            ("CNAME", format!("www.{domain}"), domain.clone(), None, true),
            ("A", mail.clone(), ip.clone(), None, false),
            ("MX", domain.clone(), mail.clone(), Some(10), false),
            (
                "TXT",
                domain.clone(),
                "v=spf1 +a +mx include:_spf.painelcloud.net.br ~all".into(),
                None,
                false,
            ),
            (
                "TXT",
                format!("_dmarc.{domain}"),
                format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}"),
                None,
                false,
            ),
        ];
        let mut n = 0;
        for (r, (rtype, name, content, prio, proxied)) in records.into_iter().enumerate() {
            let (sync, err): (&str, Option<&str>) = match (zone_status, k % 10, r) {
                ("active", 2, 1) => (
                    "error",
                    Some("Cloudflare API 81053: An A, AAAA, or CNAME record with that host already exists."),
                ),
                ("active", 7, 4) => (
                    "error",
                    Some("Cloudflare API 9007: Content for TXT record is invalid (SPF com mais de 10 lookups)"),
                ),
                ("active", _, _) => ("synced", None),
                _ => ("pending", None),
            };
            let fields = cols![
                "id" => Uuid::now_v7(), "tenant_id" => tid, "zone_id" => zone, "record_type" => rtype,
                "name" => name, "content" => content, "ttl" => if proxied { 1_i64 } else { 3600 },
                "priority" => prio, "proxied" => proxied, "external_id" => (sync == "synced").then(|| ctx.rng.hex(32)),
                "sync_status" => sync, "last_error" => err, "created_at" => s.created, "updated_at" => ctx.mins(-ctx.rng.range(30, 900)),
            ];
            ctx.insert("dns_records", &fields, &[]).await?;
            n += 1;
        }
        ctx.note(
            "dns_zone.records_created",
            "dns_zone",
            Some(zone.to_string()),
            Some(tid),
            json!({ "zone": domain, "records": n }),
        )
        .await?;
        certificate(ctx, tid, domain_id, zone, s.id, &domain, k, s.created).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn certificate(
    ctx: &mut Ctx,
    tid: Uuid,
    domain_id: Uuid,
    zone: Uuid,
    service: Uuid,
    domain: &str,
    k: usize,
    created: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (status, provider, issuer, not_after, error): (&str, &str, Option<&str>, Option<DateTime<Utc>>, Option<&str>) =
        match k % 8 {
            2 => (
                "expiring",
                "autossl",
                Some("Sectigo RSA Domain Validation Secure Server CA"),
                Some(ctx.days(5)),
                None,
            ),
            5 => (
                "failed",
                "autossl",
                None,
                None,
                Some("AutoSSL: DCV HTTP falhou — www resolve para outro servidor (104.21.x.x, proxy Cloudflare)"),
            ),
            6 => (
                "active",
                "letsencrypt",
                Some("Let's Encrypt R11"),
                Some(ctx.days(41 + k as i64 % 40)),
                None,
            ),
            7 => (
                "active",
                "cloudflare",
                Some("Google Trust Services WE1"),
                Some(ctx.days(70)),
                None,
            ),
            _ => (
                "active",
                "autossl",
                Some("Sectigo RSA Domain Validation Secure Server CA"),
                Some(ctx.days(20 + (k as i64 * 7) % 70)),
                None,
            ),
        };
    let not_before = not_after.map(|t| t - TimeDelta::days(90));
    ctx.add(
        "certificates",
        "certificate",
        Some(tid),
        cols![
            "id" => Uuid::now_v7(), "tenant_id" => tid, "domain_id" => domain_id, "zone_id" => zone, "service_id" => service,
            "common_name" => domain, "san" => json!([domain, format!("www.{domain}"), format!("mail.{domain}")]),
            "provider" => provider, "issuer" => issuer, "status" => status, "not_before" => not_before, "not_after" => not_after,
            "auto_renew" => true, "last_checked_at" => ctx.mins(-ctx.rng.range(10, 1400)), "last_error" => error,
            "created_at" => created + TimeDelta::hours(1), "updated_at" => created + TimeDelta::hours(1),
        ],
    )
    .await
}
