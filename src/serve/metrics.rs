//! `/metrics` in Prometheus' text exposition format (version 0.0.4): counters kept in this
//! process (each instance behind a load balancer reports its own; Prometheus sums them) and
//! job queue gauges read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use backend::{args, Db, ServiceError};
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    webhooks: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_owned(), status)).or_default() += 1;
        }
    }

    pub fn webhook(&self, provider: &'static str, result: &'static str) {
        if let Ok(mut m) = self.webhooks.lock() {
            *m.entry((provider, result)).or_default() += 1;
        }
    }

    /// How many webhooks of `provider` ended with `result` (tests, the bench).
    pub fn webhook_count(&self, provider: &str, result: &str) -> u64 {
        self.webhooks
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|((p, r), _)| *p == provider && *r == result)
                    .map(|(_, n)| *n)
                    .sum()
            })
            .unwrap_or(0)
    }

    pub async fn render(&self, db: &Db) -> Result<String, ServiceError> {
        let mut out = String::new();
        out.push_str("# HELP painel_http_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE painel_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "painel_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP painel_webhooks_total Webhook deliveries by provider and result.\n");
        out.push_str("# TYPE painel_webhooks_total counter\n");
        if let Ok(m) = self.webhooks.lock() {
            for ((provider, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "painel_webhooks_total{{provider=\"{provider}\",result=\"{result}\"}} {n}"
                );
            }
        }
        let at = backend::db::now();
        let depth: Vec<(String, i64)> = db
            .fetch_all(
                "SELECT queue, COUNT(*) FROM jobs WHERE status = 'queued' GROUP BY queue ORDER BY queue",
                args![],
            )
            .await?;
        let oldest: Vec<(String, DateTime<Utc>)> = db
            .fetch_all(
                "SELECT queue, MIN(run_at) FROM jobs WHERE status = 'queued' AND run_at <= $1 GROUP BY queue ORDER BY queue",
                args![at],
            )
            .await?;
        out.push_str("# HELP painel_job_queue_depth Queued jobs (due or not), by queue.\n");
        out.push_str("# TYPE painel_job_queue_depth gauge\n");
        for (queue, n) in &depth {
            let _ = writeln!(out, "painel_job_queue_depth{{queue=\"{}\"}} {n}", escape(queue));
        }
        out.push_str("# HELP painel_job_queue_oldest_age_seconds How long the oldest due job has waited, by queue.\n");
        out.push_str("# TYPE painel_job_queue_oldest_age_seconds gauge\n");
        for (queue, t) in &oldest {
            let age = (at - *t).num_milliseconds().max(0) as f64 / 1000.0;
            let _ = writeln!(
                out,
                "painel_job_queue_oldest_age_seconds{{queue=\"{}\"}} {age:.3}",
                escape(queue)
            );
        }
        Ok(out)
    }
}

/// A label value as the format requires: backslash, double quote and line feed escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn counters_add_up() {
        let m = Metrics::default();
        m.webhook("stripe", "recorded");
        m.webhook("stripe", "recorded");
        m.webhook("stripe", "bad_signature");
        assert_eq!(m.webhook_count("stripe", "recorded"), 2);
        assert_eq!(m.webhook_count("stripe", "stale"), 0);
    }
}
