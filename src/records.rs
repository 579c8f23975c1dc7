//! How service records print in batch mode.

use backend::audit::{AuditEntry, AuditRecord, VerifyReport};
use backend::customers::{Activity, Customer};
use backend::jobs::admin::QueueStat;
use backend::jobs::schedule::Schedule;
use backend::jobs::{Job, JobEvent};
use backend::tenants::Tenant;
use chrono::SecondsFormat;

use crate::config::Setting;
use crate::output::Record;

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn limit(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "unlimited".into())
}

impl Record for Tenant {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "slug",
            "name",
            "domain",
            "status",
            "tier",
            "currency",
            "logo_text",
            "primary_color",
            "accent_color",
            "sender_name",
            "sender_email",
            "support_email",
            "max_customers",
            "max_services",
            "max_storage_gb",
            "max_domains",
            "max_tickets_month",
            "suspended_reason",
            "created_at",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.slug.clone(),
            self.name.clone(),
            self.domain.clone(),
            self.status.clone(),
            self.tier.clone(),
            self.currency.clone(),
            self.logo_text.clone(),
            self.primary_color.clone(),
            self.accent_color.clone(),
            opt(&self.sender_name),
            opt(&self.sender_email),
            opt(&self.support_email),
            limit(self.max_customers),
            limit(self.max_services),
            limit(self.max_storage_gb),
            limit(self.max_domains),
            limit(self.max_tickets_month),
            opt(&self.suspended_reason),
            self.created_at.to_rfc3339(),
        ]
    }

    // JSON writes an unlimited limit as null; CSV as the empty cell, its null.
    fn csv_cells(&self) -> Vec<String> {
        let mut cells = self.cells();
        for (cell, v) in cells[13..18].iter_mut().zip([
            self.max_customers,
            self.max_services,
            self.max_storage_gb,
            self.max_domains,
            self.max_tickets_month,
        ]) {
            if v.is_none() {
                cell.clear();
            }
        }
        cells
    }
}

/// The short form for lists on a terminal: the columns an operator scans.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct TenantRow<'a>(pub &'a Tenant);

impl Record for TenantRow<'_> {
    fn columns() -> &'static [&'static str] {
        &["slug", "name", "domain", "status", "tier", "created_at"]
    }

    fn cells(&self) -> Vec<String> {
        let t = self.0;
        vec![
            t.slug.clone(),
            t.name.clone(),
            t.domain.clone(),
            t.status.clone(),
            t.tier.clone(),
            t.created_at.format("%Y-%m-%d %H:%M").to_string(),
        ]
    }
}

impl Record for Customer {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "tenant",
            "name",
            "email",
            "phone",
            "document",
            "status",
            "created_at",
            "reseller",
            "status_reason",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.tenant_slug.clone(),
            self.name.clone(),
            self.email.clone(),
            opt(&self.phone),
            opt(&self.document),
            self.status.clone(),
            self.created_at.to_rfc3339(),
            opt(&self.reseller),
            opt(&self.status_reason),
        ]
    }
}

impl Record for Activity {
    fn columns() -> &'static [&'static str] {
        &["at", "source", "actor", "action", "detail"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.at.to_rfc3339(),
            self.source.clone(),
            self.actor.clone(),
            self.action.clone(),
            self.detail.clone(),
        ]
    }
}

impl Record for Setting {
    fn columns() -> &'static [&'static str] {
        &["key", "value", "source"]
    }

    fn cells(&self) -> Vec<String> {
        vec![self.key.to_owned(), self.value.clone(), self.source.to_owned()]
    }
}

impl Record for Job {
    fn columns() -> &'static [&'static str] {
        &[
            "id",
            "queue",
            "kind",
            "status",
            "attempts",
            "max_attempts",
            "run_at",
            "tenant_id",
            "unique_key",
            "locked_by",
            "lease_until",
            "last_error",
            "errors",
            "payload",
            "enqueued_by",
            "created_at",
            "finished_at",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.queue.clone(),
            self.kind.clone(),
            self.status.clone(),
            self.attempts.to_string(),
            self.max_attempts.to_string(),
            self.run_at.to_rfc3339(),
            opt(&self.tenant_id),
            opt(&self.unique_key),
            opt(&self.locked_by),
            self.lease_until.map(|t| t.to_rfc3339()).unwrap_or_default(),
            opt(&self.last_error),
            self.error_history.as_array().map_or(0, Vec::len).to_string(),
            self.payload.to_string(),
            self.enqueued_by.clone(),
            self.created_at.to_rfc3339(),
            self.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ]
    }
}

/// The short form of a job for lists on a terminal.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct JobRow<'a>(pub &'a Job);

impl Record for JobRow<'_> {
    fn columns() -> &'static [&'static str] {
        &["id", "queue", "kind", "status", "attempts", "run_at", "last_error"]
    }

    fn cells(&self) -> Vec<String> {
        let j = self.0;
        vec![
            j.id.to_string(),
            j.queue.clone(),
            j.kind.clone(),
            j.status.clone(),
            format!("{}/{}", j.attempts, j.max_attempts),
            j.run_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            opt(&j.last_error),
        ]
    }
}

impl Record for QueueStat {
    fn columns() -> &'static [&'static str] {
        &["queue", "status", "count"]
    }

    fn cells(&self) -> Vec<String> {
        vec![self.queue.clone(), self.status.clone(), self.count.to_string()]
    }
}

impl Record for JobEvent {
    fn columns() -> &'static [&'static str] {
        &["at", "event", "queue", "kind", "job_id", "attempt", "error"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.at.format("%H:%M:%S%.3f").to_string(),
            self.event.as_str().to_owned(),
            self.queue.clone(),
            self.kind.clone(),
            self.job_id.to_string(),
            self.attempt.to_string(),
            opt(&self.error),
        ]
    }
}

impl Record for Schedule {
    fn columns() -> &'static [&'static str] {
        &[
            "name",
            "cron",
            "queue",
            "kind",
            "enabled",
            "next_run_at",
            "last_run_at",
            "last_job_id",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.cron.clone(),
            self.queue.clone(),
            self.kind.clone(),
            self.enabled.to_string(),
            self.next_run_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            self.last_run_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            self.last_job_id.map(|i| i.to_string()).unwrap_or_default(),
        ]
    }
}

fn json_text(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map(backend::audit::canonical_json).unwrap_or_default()
}

impl Record for AuditEntry {
    fn columns() -> &'static [&'static str] {
        &[
            "seq",
            "at",
            "actor",
            "role",
            "tenant",
            "action",
            "entity",
            "entity_id",
            "source",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.seq.to_string(),
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.actor_name.clone(),
            self.actor_role.clone(),
            self.tenant_slug
                .clone()
                .or_else(|| self.tenant_id.map(|t| t.to_string()))
                .unwrap_or_default(),
            self.action.clone(),
            self.entity.clone(),
            opt(&self.entity_id),
            self.source.clone(),
        ]
    }
}

impl Record for AuditRecord {
    fn columns() -> &'static [&'static str] {
        &[
            "seq",
            "id",
            "at",
            "actor",
            "actor_user_id",
            "role",
            "tenant_id",
            "action",
            "entity",
            "entity_id",
            "source",
            "before",
            "after",
            "prev_hash",
            "hash",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.seq.to_string(),
            self.id.to_string(),
            self.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.actor_name.clone(),
            opt(&self.actor_user_id),
            self.actor_role.clone(),
            opt(&self.tenant_id),
            self.action.clone(),
            self.entity.clone(),
            opt(&self.entity_id),
            self.source.clone(),
            json_text(&self.before),
            json_text(&self.after),
            opt(&self.prev_hash),
            opt(&self.hash),
        ]
    }
}

impl Record for VerifyReport {
    fn columns() -> &'static [&'static str] {
        &["ok", "rows", "first_bad_seq", "reason", "last_seq", "head_hash"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            if self.ok { "yes" } else { "no" }.to_owned(),
            self.rows.to_string(),
            opt(&self.first_bad.as_ref().map(|b| b.seq)),
            self.first_bad.as_ref().map(|b| b.reason.clone()).unwrap_or_default(),
            opt(&self.last_seq),
            opt(&self.head_hash),
        ]
    }
}

impl Record for backend::find::Hit {
    fn columns() -> &'static [&'static str] {
        &["kind", "id", "label", "detail", "tenant", "matched", "route"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.to_owned(),
            self.id.to_string(),
            self.label.clone(),
            self.detail.clone(),
            opt(&self.tenant),
            self.matched.to_owned(),
            self.route.clone(),
        ]
    }
}
