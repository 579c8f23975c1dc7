//! Support tickets, message templates and notifications.

use chrono::TimeDelta;
use serde_json::json;
use uuid::Uuid;

use super::{Ctx, World};
use crate::error::ServiceError;

/// (brand slug, subject, status, priority, source, hours ago, customer message, reply).
type TicketSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    Option<&'static str>,
);

const TICKETS: [TicketSpec; 14] = [
    (
        "conexao-hospedagem",
        "Site fora do ar após a migração",
        "in_progress",
        "high",
        "panel",
        3,
        "Depois da migração o site mostra erro 500. Podem verificar?",
        Some("Encontramos a versão do PHP diferente da origem; ajustando para 8.1."),
    ),
    (
        "conexao-hospedagem",
        "Não consigo acessar o webmail",
        "waiting_customer",
        "medium",
        "email",
        20,
        "A senha do e-mail não funciona no webmail desde ontem.",
        Some("Redefinimos a senha. Pode testar e nos confirmar?"),
    ),
    (
        "nuvembr-hosting",
        "Certificado SSL expirando em 5 dias",
        "open",
        "medium",
        "panel",
        6,
        "Recebi aviso de SSL expirando. A renovação é automática?",
        None,
    ),
    (
        "nuvembr-hosting",
        "Lentidão no painel do WordPress",
        "open",
        "high",
        "whatsapp",
        1,
        "O wp-admin está levando 20 segundos para abrir.",
        None,
    ),
    (
        "nuvembr-hosting",
        "Como apontar meu domínio do Registro.br?",
        "resolved",
        "low",
        "panel",
        200,
        "Comprei o domínio no Registro.br, quais DNS uso?",
        Some("Use os nameservers indicados no painel; a propagação leva até 24h."),
    ),
    (
        "streammax-revenda",
        "Lista de canais não carrega no app",
        "open",
        "high",
        "whatsapp",
        2,
        "Meus clientes estão sem a lista de canais no app desde as 19h.",
        None,
    ),
    (
        "streammax-revenda",
        "Créditos não caíram após o pagamento",
        "in_progress",
        "urgent",
        "panel",
        5,
        "Paguei o PIX de 500 créditos e o saldo não mudou.",
        Some("Webhook recebido com atraso; créditos conferidos e liberados."),
    ),
    (
        "streammax-revenda",
        "Linha bloqueada por excesso de conexões",
        "waiting_customer",
        "medium",
        "whatsapp",
        30,
        "A linha do cliente foi bloqueada, ele usa só em casa.",
        Some("Detectamos 5 IPs diferentes; pode orientar o cliente?"),
    ),
    (
        "pixel-web-studio",
        "Erro ao criar conta de e-mail",
        "resolved",
        "low",
        "email",
        120,
        "Aparece 'cota excedida' ao criar novo e-mail.",
        Some("O plano Start permite 5 caixas; fizemos upgrade para o Plus."),
    ),
    (
        "turbohost",
        "Cobrança em duplicidade no PIX",
        "in_progress",
        "high",
        "email",
        28,
        "Paguei a fatura duas vezes pelo PIX, quero o estorno.",
        Some("Confirmamos o pagamento duplicado; estorno solicitado."),
    ),
    (
        "turbohost",
        "Solicito reembolso (garantia 7 dias)",
        "closed",
        "medium",
        "panel",
        400,
        "Não vou mais usar a hospedagem, quero o reembolso.",
        Some("Reembolso integral processado, conforme a garantia."),
    ),
    (
        "alpha-iptv-distribuidora",
        "Teste grátis não chegou no WhatsApp",
        "open",
        "medium",
        "whatsapp",
        4,
        "Pedi o teste pelo WhatsApp e não recebi nada.",
        None,
    ),
    (
        "sertao-digital-hospedagem",
        "Conta suspensa sem aviso",
        "open",
        "urgent",
        "email",
        9,
        "Nossa revenda foi suspensa, o que aconteceu?",
        None,
    ),
    (
        "lumen-cloud-services",
        "DNS record not propagating",
        "resolved",
        "low",
        "panel",
        90,
        "The CNAME for shop is not resolving.",
        Some("There was an A record with the same host; removed it and the CNAME is live."),
    ),
];

fn sla_hours(tier: &str) -> Option<i64> {
    match tier {
        "basic" => Some(24),
        "pro" => Some(4),
        "enterprise" => Some(1),
        _ => None,
    }
}

/// (brand index, subject, status, priority, source, hours ago, first message, reply, service).
type TicketRow = (
    usize,
    String,
    &'static str,
    &'static str,
    &'static str,
    i64,
    String,
    Option<String>,
    Option<Uuid>,
);

/// (author user, author customer, body, internal, at).
type MessageRow = (Option<Uuid>, Option<Uuid>, String, bool, chrono::DateTime<chrono::Utc>);

pub(super) async fn tickets(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    let agents: Vec<Uuid> = world
        .staff
        .iter()
        .filter(|u| u.role == "support_agent")
        .map(|u| u.id)
        .collect();
    let mut specs: Vec<TicketRow> = Vec::new();
    for (n, (slug, subject, status, priority, source, hours, body, reply)) in TICKETS.into_iter().enumerate() {
        let Some(bi) = world.brands.iter().position(|b| b.tenant.slug == slug) else {
            continue;
        };
        specs.push((
            bi,
            subject.to_owned(),
            status,
            priority,
            source,
            hours + n as i64 % 3,
            body.to_owned(),
            reply.map(str::to_owned),
            None,
        ));
    }
    // Provisioning that failed for good opens a ticket by itself.
    for s in world.services.iter().filter(|s| s.status == "error") {
        let domain = s.domain.clone().unwrap_or_default();
        specs.push((
            s.brand,
            format!("Falha no provisionamento de {domain}"),
            "open",
            "urgent",
            "system",
            (ctx.t0 - s.created).num_hours().max(1) - 1,
            format!("O job provision.createacct falhou 5 vezes para {domain}. Verificar o servidor e reprocessar."),
            None,
            Some(s.id),
        ));
    }
    for (n, (bi, subject, status, priority, source, hours, body, reply, service)) in specs.into_iter().enumerate() {
        let Some(b) = world.brands.get(bi) else { continue };
        let tid = b.tenant.id;
        let customer = (source != "system")
            .then(|| b.customers.get((n * 5) % b.customers.len().max(1)).map(|c| c.id))
            .flatten();
        let requester = (subject.starts_with("Créditos"))
            .then(|| b.resellers.iter().find(|u| u.role == "reseller").map(|u| u.id))
            .flatten();
        let assigned = if n % 3 == 0 {
            b.admin.as_ref().map(|a| a.id)
        } else {
            agents.get(n % agents.len().max(1)).copied()
        };
        let created = ctx.hours(-hours) - TimeDelta::minutes(ctx.rng.range(0, 50));
        let responded = reply
            .as_ref()
            .map(|_| created + TimeDelta::minutes(ctx.rng.range(12, 200)));
        let done = matches!(status, "resolved" | "closed").then(|| created + TimeDelta::hours(6));
        let id = Uuid::now_v7();
        ctx.add(
            "tickets",
            "ticket",
            Some(tid),
            cols![
                "id" => id, "tenant_id" => tid, "customer_id" => customer.filter(|_| requester.is_none()),
                "requester_user_id" => requester, "service_id" => service, "assigned_to" => assigned,
                "subject" => subject.as_str(), "status" => status, "priority" => priority, "tier" => b.tenant.tier.as_str(),
                "source" => source, "sla_due_at" => sla_hours(&b.tenant.tier).map(|h| created + TimeDelta::hours(h)),
                "first_response_at" => responded, "resolved_at" => done,
                "closed_at" => (status == "closed").then(|| created + TimeDelta::days(2)),
                "created_at" => created, "updated_at" => done.or(responded).unwrap_or(created),
            ],
        )
        .await?;
        let author_customer = customer.filter(|_| requester.is_none() && source != "system");
        let mut messages: Vec<MessageRow> = vec![(requester, author_customer, body, false, created)];
        if let (Some(r), Some(at)) = (reply, responded) {
            messages.push((assigned, None, r, false, at));
            if n % 2 == 0 {
                messages.push((
                    assigned,
                    None,
                    "Nota interna: conferido no servidor, sem impacto em outros clientes.".into(),
                    true,
                    at + TimeDelta::minutes(3),
                ));
            }
        }
        if status == "waiting_customer" {
            if let Some(at) = responded {
                messages.push((
                    None,
                    author_customer,
                    "Ok, vou verificar e retorno.".into(),
                    false,
                    at + TimeDelta::minutes(40),
                ));
            }
        }
        for (user, cust, text, internal, at) in messages {
            ctx.add(
                "ticket_messages",
                "ticket_message",
                Some(tid),
                cols![
                    "id" => Uuid::now_v7(), "tenant_id" => tid, "ticket_id" => id, "author_user_id" => user,
                    "author_customer_id" => cust, "body" => text, "internal" => internal,
                    "attachments" => if n % 4 == 1 && !internal { json!([{ "name": "print-erro.png", "size": 182_344 }]) } else { json!([]) },
                    "created_at" => at,
                ],
            )
            .await?;
        }
    }
    Ok(())
}

/// (key, channel, subject, body).
const TEMPLATES: [(&str, &str, Option<&str>, &str); 9] = [
    ("invoice.created", "email", Some("Fatura {{number}} disponível"), "Olá {{name}}, sua fatura {{number}} de {{total}} vence em {{due_date}}. Pague por PIX ou cartão: {{link}}"),
    ("invoice.reminder", "email", Some("Lembrete: fatura {{number}} vence em {{days}} dia(s)"), "Olá {{name}}, a fatura {{number}} ({{total}}) vence em {{due_date}}. {{link}}"),
    ("invoice.reminder", "whatsapp", None, "Oi {{name}}! Sua fatura {{number}} de {{total}} vence em {{due_date}}. PIX copia e cola: {{pix_code}}"),
    ("invoice.overdue", "email", Some("Fatura {{number}} em atraso"), "Olá {{name}}, a fatura {{number}} venceu em {{due_date}}. Evite a suspensão: {{link}}"),
    ("service.suspended", "email", Some("Serviço {{domain}} suspenso"), "Olá {{name}}, o serviço {{domain}} foi suspenso por falta de pagamento. Após o pagamento a reativação é automática."),
    ("line.expiring", "whatsapp", None, "Oi {{name}}! Seu acesso {{username}} vence em {{days}} dia(s). Renove com seu revendedor."),
    ("trial.created", "whatsapp", None, "Seu teste de {{hours}}h está pronto! Usuário: {{username}} — Senha: {{password}} — Servidor: {{url}}"),
    ("password.reset", "email", Some("Redefinição de senha"), "Use o código {{code}} para redefinir sua senha. Ele expira em 15 minutos."),
    ("incident.opened", "in_app", Some("Incidente: {{title}}"), "Severidade {{severity}} — {{title}}. Acompanhe em incidents."),
];

pub(super) async fn messaging(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    let created = ctx.days(-90);
    let mut ids: Vec<(&str, &str, Uuid)> = Vec::new();
    for (key, channel, subject, body) in TEMPLATES {
        let id = Uuid::now_v7();
        ctx.add(
            "message_templates",
            "message_template",
            None,
            cols![
                "id" => id, "key" => key, "channel" => channel, "locale" => "pt-BR", "subject" => subject,
                "body" => body, "enabled" => true, "created_at" => created, "updated_at" => created,
            ],
        )
        .await?;
        ids.push((key, channel, id));
    }
    // Brand overrides.
    for b in world.brands.iter().filter(|b| b.spec.streaming) {
        let tid = b.tenant.id;
        ctx.add(
            "message_templates",
            "message_template",
            Some(tid),
            cols![
                "id" => Uuid::now_v7(), "tenant_id" => tid, "key" => "trial.created", "channel" => "whatsapp", "locale" => "pt-BR",
                "body" => format!("🎬 {}: seu teste de {{{{hours}}}}h chegou! Usuário {{{{username}}}} / Senha {{{{password}}}}. Dúvidas? Chame a gente aqui.", b.spec.logo),
                "enabled" => true, "created_at" => created, "updated_at" => created,
            ],
        )
        .await?;
    }
    let template = |key: &str, channel: &str| ids.iter().find(|t| t.0 == key && t.1 == channel).map(|t| t.2);
    // Reminders for open invoices, by e-mail and WhatsApp.
    for (n, (bi, invoice, customer, number, due)) in world.open_invoices.iter().enumerate().take(24) {
        let Some(b) = world.brands.get(*bi) else { continue };
        let Some(c) = customer.and_then(|id| b.customers.iter().find(|c| c.id == id)) else {
            continue;
        };
        let whatsapp = n % 3 == 1;
        let (channel, recipient) = if whatsapp {
            ("whatsapp", c.phone.clone().unwrap_or_default())
        } else {
            ("email", c.email.clone())
        };
        if recipient.is_empty() {
            continue;
        }
        let overdue = *due < ctx.t0;
        let key = if overdue { "invoice.overdue" } else { "invoice.reminder" };
        let status = match n % 6 {
            0 => "delivered",
            1 => "read",
            2 => "sent",
            3 if whatsapp => "failed",
            4 => "queued",
            _ => "sent",
        };
        let at = ctx.hours(-ctx.rng.range(1, 40));
        let scheduled = (status == "queued").then(|| ctx.hours(ctx.rng.range(1, 12)));
        let sent = matches!(status, "sent" | "delivered" | "read").then_some(at);
        ctx.add(
            "notifications",
            "notification",
            Some(b.tenant.id),
            cols![
                "id" => Uuid::now_v7(), "tenant_id" => b.tenant.id, "channel" => channel,
                "template_id" => template(key, channel).or(template("invoice.reminder", channel)),
                "customer_id" => c.id, "recipient" => recipient,
                "subject" => (!whatsapp).then(|| format!("Fatura {number} {}", if overdue { "em atraso" } else { "vence em breve" })),
                "body" => format!("Olá {}, a fatura {number} vence em {}.", c.name, due.format("%d/%m/%Y")),
                "variables" => json!({ "number": number, "name": c.name, "due_date": due.format("%d/%m/%Y").to_string() }),
                "status" => status, "dedupe_key" => format!("invoice:{invoice}:{key}:{channel}:1"),
                "external_id" => sent.map(|_| if whatsapp { format!("3EB0{}", ctx.rng.hex(16).to_uppercase()) } else { format!("<{}@mail.painelcloud.net.br>", ctx.rng.alnum(20)) }),
                "attempts" => if status == "failed" { 3_i64 } else { i64::from(status != "queued") },
                "last_error" => (status == "failed").then_some("Evolution API: instance disconnected (QR code expirado)"),
                "scheduled_at" => scheduled, "sent_at" => sent, "read_at" => (status == "read").then(|| at + TimeDelta::minutes(12)),
                "created_at" => at, "updated_at" => at,
            ],
        )
        .await?;
    }
    // In-app notices for the staff on call.
    for (n, u) in world
        .staff
        .iter()
        .enumerate()
        .filter(|(_, u)| matches!(u.role, "on_call" | "super_admin"))
    {
        for (k, title) in ["whm-fra-01 sem resposta", "Disco em 91% no whm-gru-03"]
            .into_iter()
            .enumerate()
        {
            let at = ctx.mins(-(40 + 200 * k as i64));
            ctx.add(
                "notifications",
                "notification",
                None,
                cols![
                    "id" => Uuid::now_v7(), "channel" => "in_app", "template_id" => template("incident.opened", "in_app"),
                    "user_id" => u.id, "recipient" => u.id.to_string(), "subject" => format!("Incidente: {title}"),
                    "body" => format!("{} — {title}", if k == 0 { "critical" } else { "high" }),
                    "variables" => json!({ "title": title }), "status" => if (n + k) % 2 == 0 { "read" } else { "delivered" },
                    "attempts" => 1_i64, "sent_at" => at, "read_at" => ((n + k) % 2 == 0).then(|| at + TimeDelta::minutes(4)),
                    "created_at" => at, "updated_at" => at,
                ],
            )
            .await?;
        }
    }
    Ok(())
}
