//! E-mail: a `notifications` row written with its `notify.email` job in the caller's
//! transaction ([`queue_email`], idempotent by the row's `dedupe_key`), and the job that sends
//! it over SMTP with lettre ([`handle`]). A transient failure (connection, 4xx) goes back to
//! the queue with its backoff; a permanent one (5xx) or the last attempt marks the row
//! `failed`, audits it and opens (once) an incident: never silent.

use std::collections::BTreeMap;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{EMAIL, QUEUE};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::db::{now, Db, Tx};
use crate::error::ServiceError;
use crate::jobs::{self, Job, JobError, NewJob};

/// `settings.key` (platform row) of the outgoing mail server.
pub const SMTP_KEY: &str = "smtp";
/// The incident opened when e-mail delivery fails for good.
pub const INCIDENT_TITLE: &str = "E-mail delivery failing";
/// Attempts of one e-mail.
pub const ATTEMPTS: i64 = 5;

/// Where e-mail goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `none` (loopback only), `starttls` or `tls`.
    #[serde(default = "starttls")]
    pub security: String,
    /// The sender when the tenant names none.
    pub from: String,
}

fn starttls() -> String {
    "starttls".into()
}

impl SmtpSettings {
    pub fn check(&self) -> Result<(), ServiceError> {
        if self.host.trim().is_empty() || self.port == 0 {
            return Err(ServiceError::invalid("host", "host and port are required"));
        }
        if !matches!(self.security.as_str(), "none" | "starttls" | "tls") {
            return Err(ServiceError::invalid("security", "must be none, starttls or tls"));
        }
        if self.security == "none" && !matches!(self.host.as_str(), "127.0.0.1" | "::1" | "localhost") {
            return Err(ServiceError::invalid("security", "plain SMTP only to loopback"));
        }
        crate::validate::email(&self.from).map_err(|m| ServiceError::invalid("from", m))?;
        Ok(())
    }
}

/// Stores the platform's SMTP settings (platform staff), audited.
pub async fn set_smtp(db: &Db, actor: &Actor, s: &SmtpSettings) -> Result<(), ServiceError> {
    crate::authz::require(actor, crate::authz::Permission::JobsManage)?;
    if actor.tenant_id.is_some() {
        return Err(ServiceError::PermissionDenied(
            "the mail server is platform-wide".into(),
        ));
    }
    s.check()?;
    let value = serde_json::to_value(s).map_err(|e| ServiceError::invalid("smtp", e.to_string()))?;
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            "UPDATE settings SET value = $1, updated_at = $2 WHERE key = $3 AND tenant_id IS NULL",
            args![value.clone(), now(), SMTP_KEY],
        )
        .await?;
    if n == 0 {
        tx.execute(
            "INSERT INTO settings (id, tenant_id, key, value, updated_at) VALUES ($1, NULL, $2, $3, $4)",
            args![Uuid::now_v7(), SMTP_KEY, value.clone(), now()],
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "settings.smtp",
            entity: "settings",
            entity_id: Some(SMTP_KEY.into()),
            tenant_id: None,
            before: None,
            after: Some(value),
        },
    )
    .await?;
    tx.commit().await
}

async fn smtp(db: &Db) -> Result<Option<SmtpSettings>, ServiceError> {
    let row: Option<(Value,)> = db
        .scoped(None)
        .fetch_optional(
            "SELECT value FROM settings WHERE key = $1 AND tenant_id IS NULL",
            args![SMTP_KEY],
        )
        .await?;
    Ok(row.and_then(|r| serde_json::from_value(r.0).ok()))
}

/// Built-in texts for when neither the tenant nor the platform has a template row.
fn builtin(key: &str) -> (&'static str, &'static str) {
    match key {
        "invoice.created" => (
            "Fatura {{number}} disponível",
            "Olá {{name}}, sua fatura {{number}} de {{total}} vence em {{due_date}}.",
        ),
        "invoice.reminder" => (
            "Lembrete: fatura {{number}} vence em {{days}} dia(s)",
            "Olá {{name}}, a fatura {{number}} ({{total}}) vence em {{due_date}}.",
        ),
        "invoice.overdue" => (
            "Fatura {{number}} em atraso",
            "Olá {{name}}, a fatura {{number}} venceu em {{due_date}}. Evite a suspensão.",
        ),
        "service.suspended" => (
            "Serviço {{domain}} suspenso",
            "Olá {{name}}, o serviço {{domain}} foi suspenso por falta de pagamento. Após o pagamento a reativação é automática.",
        ),
        "service.terminated" => (
            "Serviço {{domain}} encerrado",
            "Olá {{name}}, o serviço {{domain}} foi encerrado por falta de pagamento da fatura {{number}}.",
        ),
        _ => ("{{subject}}", "{{body}}"),
    }
}

/// `{{name}}` → its value; unknown names are left as they are.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) => {
                let name = after[..j].trim();
                match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[i..i + 2 + j + 2]),
                }
                rest = &after[j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// An e-mail to a customer, from template `key`.
pub struct Email<'a> {
    pub tenant: Uuid,
    pub customer: Uuid,
    pub key: &'a str,
    pub vars: BTreeMap<String, String>,
    /// Stops the same message being queued twice (`invoice:<id>:reminder:before-3`).
    pub dedupe_key: String,
}

/// Writes the notification (rendered now, so what is sent is what the row shows) and its job
/// in `tx`. `Ok(None)` when one with the same dedupe key exists, or the customer has no
/// e-mail address.
pub async fn queue_email(tx: &mut Tx, actor: &Actor, e: Email<'_>) -> Result<Option<Uuid>, ServiceError> {
    let to: Option<(String, String)> = tx
        .fetch_optional(
            "SELECT email, name FROM customers WHERE id = $1 AND tenant_id = $2",
            args![e.customer, e.tenant],
        )
        .await?;
    let Some((email, name)) = to.filter(|t| !t.0.trim().is_empty()) else {
        return Ok(None);
    };
    let tpl: Option<(Uuid, Option<String>, String)> = tx
        .fetch_optional(
            "SELECT id, subject, body FROM message_templates WHERE key = $1 AND channel = 'email' \
             AND enabled = $2 AND (tenant_id = $3 OR tenant_id IS NULL) \
             ORDER BY CASE WHEN tenant_id IS NULL THEN 1 ELSE 0 END, locale <> 'pt-BR' LIMIT 1",
            args![e.key, true, e.tenant],
        )
        .await?;
    let (b_subject, b_body) = builtin(e.key);
    let (template_id, subject, body) = match tpl {
        Some((id, s, b)) => (Some(id), s.unwrap_or_else(|| b_subject.to_owned()), b),
        None => (None, b_subject.to_owned(), b_body.to_owned()),
    };
    let mut vars = e.vars;
    vars.entry("name".into()).or_insert(name);
    let id = Uuid::now_v7();
    let at = now();
    let inserted: Option<(Uuid,)> = tx
        .fetch_optional(
            "INSERT INTO notifications (id, tenant_id, channel, template_id, customer_id, recipient, subject, body, \
             variables, status, dedupe_key, created_at, updated_at) \
             VALUES ($1, $2, 'email', $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $10) \
             ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING id",
            args![
                id,
                e.tenant,
                template_id,
                e.customer,
                email.trim(),
                render(&subject, &vars),
                render(&body, &vars),
                json!(vars),
                e.dedupe_key.as_str(),
                at
            ],
        )
        .await?;
    if inserted.is_none() {
        return Ok(None);
    }
    jobs::enqueue(
        tx,
        NewJob {
            queue: QUEUE.into(),
            kind: EMAIL.into(),
            payload: json!({ "notification_id": id, "key": e.key }),
            max_attempts: Some(ATTEMPTS),
            unique_key: Some(format!("notification:{id}")),
            tenant_id: Some(e.tenant),
            enqueued_by: actor.name.clone(),
            ..NewJob::default()
        },
    )
    .await?;
    Ok(Some(id))
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Option<Uuid>,
    recipient: String,
    subject: Option<String>,
    body: String,
    status: String,
    sender_name: Option<String>,
    sender_email: Option<String>,
}

fn transient(e: ServiceError) -> JobError {
    JobError::Transient(e.to_string())
}

/// The `notify.email` job.
pub async fn handle(job: Job, db: Db) -> Result<(), JobError> {
    let id = job
        .payload
        .get("notification_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| JobError::Permanent("payload.notification_id must be a uuid".into()))?;
    let row: Option<Row> = db
        .fetch_optional(
            "SELECT n.tenant_id, n.recipient, n.subject, n.body, n.status, t.sender_name, t.sender_email \
             FROM notifications n LEFT JOIN tenants t ON t.id = n.tenant_id WHERE n.id = $1",
            args![id],
        )
        .await
        .map_err(transient)?;
    let Some(row) = row else {
        return Err(JobError::Permanent(format!("no notification {id}")));
    };
    if row.status != "queued" && row.status != "sending" {
        return Ok(());
    }
    db.execute(
        "UPDATE notifications SET status = 'sending', attempts = attempts + 1, updated_at = $1 WHERE id = $2",
        args![now(), id],
    )
    .await
    .map_err(transient)?;
    let result = match smtp(&db).await.map_err(transient)? {
        None => Err(JobError::Transient(
            "no SMTP server configured (painel billing smtp)".into(),
        )),
        Some(cfg) => send(&cfg, &row, id).await,
    };
    match result {
        Ok(message_id) => {
            let mut tx = db.begin().await.map_err(transient)?;
            tx.execute(
                "UPDATE notifications SET status = 'sent', sent_at = $1, updated_at = $1, external_id = $2, \
                 last_error = NULL WHERE id = $3",
                args![now(), message_id, id],
            )
            .await
            .map_err(transient)?;
            audit::record(
                &mut tx,
                &job.actor(),
                Change {
                    action: "notification.sent",
                    entity: "notification",
                    entity_id: Some(id.to_string()),
                    tenant_id: row.tenant_id,
                    before: None,
                    after: Some(json!({ "recipient": row.recipient, "subject": row.subject, "attempt": job.attempts })),
                },
            )
            .await
            .map_err(transient)?;
            tx.commit().await.map_err(transient)
        }
        Err(e) => {
            let last = matches!(e, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
            give_up_or_retry(&db, &job, id, &row, &e, last)
                .await
                .map_err(transient)?;
            Err(e)
        }
    }
}

async fn give_up_or_retry(
    db: &Db,
    job: &Job,
    id: Uuid,
    row: &Row,
    e: &JobError,
    last: bool,
) -> Result<(), ServiceError> {
    let msg: String = e.message().chars().take(500).collect();
    let mut tx = db.begin().await?;
    tx.execute(
        "UPDATE notifications SET status = $1, last_error = $2, updated_at = $3 WHERE id = $4",
        args![if last { "failed" } else { "queued" }, msg.as_str(), now(), id],
    )
    .await?;
    if last {
        audit::record(
            &mut tx,
            &job.actor(),
            Change {
                action: "notification.failed",
                entity: "notification",
                entity_id: Some(id.to_string()),
                tenant_id: row.tenant_id,
                before: None,
                after: Some(json!({ "recipient": row.recipient, "error": msg, "attempts": job.attempts })),
            },
        )
        .await?;
        let open: i64 = tx
            .scalar(
                "SELECT COUNT(*) FROM incidents WHERE title = $1 AND status <> 'resolved' \
                 AND tenant_id IS NOT DISTINCT FROM $2",
                args![INCIDENT_TITLE, row.tenant_id],
            )
            .await?;
        if open == 0 {
            tx.execute(
                "INSERT INTO incidents (id, tenant_id, title, description, severity, status, source, started_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, 'high', 'investigating', 'job', $5, $5, $5)",
                args![
                    Uuid::now_v7(),
                    row.tenant_id,
                    INCIDENT_TITLE,
                    format!("notification {id} to {} failed: {msg}", row.recipient),
                    now()
                ],
            )
            .await?;
        }
    }
    tx.commit().await
}

/// Sends one message; `Ok(Message-ID)`.
async fn send(cfg: &SmtpSettings, row: &Row, id: Uuid) -> Result<String, JobError> {
    let perm = |m: String| JobError::Permanent(m);
    let from_addr = row
        .sender_email
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| cfg.from.clone());
    let from = Mailbox::new(
        row.sender_name.clone().filter(|s| !s.trim().is_empty()),
        from_addr
            .parse()
            .map_err(|e| perm(format!("sender {from_addr}: {e}")))?,
    );
    let to = Mailbox::new(
        None,
        row.recipient
            .parse()
            .map_err(|e| perm(format!("recipient {}: {e}", row.recipient)))?,
    );
    let message_id = format!("<{id}@painel>");
    let msg = Message::builder()
        .from(from)
        .to(to)
        .message_id(Some(message_id.clone()))
        .subject(row.subject.clone().unwrap_or_default())
        .header(ContentType::TEXT_PLAIN)
        .body(row.body.clone())
        .map_err(|e| perm(format!("building the message: {e}")))?;
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str()).port(cfg.port);
    let tls = |h: &str| TlsParameters::new(h.to_owned()).map_err(|e| perm(format!("TLS: {e}")));
    let builder = match cfg.security.as_str() {
        "tls" => builder.tls(Tls::Wrapper(tls(&cfg.host)?)),
        "starttls" => builder.tls(Tls::Required(tls(&cfg.host)?)),
        _ => builder.tls(Tls::None),
    };
    let transport = builder.timeout(Some(Duration::from_secs(15))).build();
    match transport.send(msg).await {
        Ok(_) => Ok(message_id),
        Err(e) if e.is_permanent() => Err(JobError::Permanent(format!("SMTP refused: {e}"))),
        Err(e) => Err(JobError::Transient(format!("SMTP: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_names_and_keeps_the_rest() {
        let mut v = BTreeMap::new();
        v.insert("name".to_owned(), "Ana".to_owned());
        assert_eq!(
            render("Olá {{name}}, {{ name }}! {{x}} {{", &v),
            "Olá Ana, Ana! {{x}} {{"
        );
    }
}
