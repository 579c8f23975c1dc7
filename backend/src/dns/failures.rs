//! The DNS failure feed (docs/adr/0031): what needs a person — records Cloudflare refused,
//! zones in error, verifications stalled past the threshold. The `dns-ssl/failures` screen
//! lists these together with the certificate failures `crate::ssl::failures()` returns (the
//! ssl branch); both use [`Failure`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actor::Actor;
use crate::args;
use crate::authz::{require, Permission};
use crate::db::Db;
use crate::error::ServiceError;

/// One row of the failures screen.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Failure {
    /// `dns` or `ssl`.
    pub source: String,
    /// `record`, `zone`, `verification` (dns); the ssl side names its own.
    pub kind: String,
    /// The zone, domain or certificate name.
    pub subject: String,
    /// What is wrong (raw provider text: sanitise before printing).
    pub detail: String,
    pub tenant_slug: String,
    pub since: DateTime<Utc>,
}

/// DNS failures the actor may see, newest first, at most `limit`.
pub async fn dns(db: &Db, actor: &Actor, limit: i64) -> Result<Vec<Failure>, ServiceError> {
    require(actor, Permission::DnsRead)?;
    db.fetch_all(
        "SELECT * FROM ( \
           SELECT 'dns' AS source, 'record' AS kind, r.record_type || ' ' || r.name || ' ' || r.content AS subject, \
                  COALESCE(r.last_error, 'push failed') AS detail, t.slug AS tenant_slug, r.updated_at AS since \
             FROM dns_records r JOIN tenants t ON t.id = r.tenant_id \
            WHERE r.sync_status = 'error' AND ($1 IS NULL OR r.tenant_id = $1) \
           UNION ALL \
           SELECT 'dns', 'zone', z.name, COALESCE(z.last_error, 'zone in error'), t.slug, z.updated_at \
             FROM dns_zones z JOIN tenants t ON t.id = z.tenant_id \
            WHERE z.status = 'error' AND ($1 IS NULL OR z.tenant_id = $1) \
           UNION ALL \
           SELECT 'dns', 'verification', d.name, COALESCE(d.last_error, 'nameservers not changed'), t.slug, d.ns_stalled_at \
             FROM domains d JOIN tenants t ON t.id = d.tenant_id \
            WHERE d.status = 'pending' AND d.ns_stalled_at IS NOT NULL AND ($1 IS NULL OR d.tenant_id = $1) \
         ) f ORDER BY since DESC, subject LIMIT $2",
        args![actor.tenant_id, limit.clamp(1, 10_000)],
    )
    .await
}

/// Everything the failures screen lists: the DNS feed and the certificate failures
/// (`crate::ssl::failures`), as one list.
pub async fn all(db: &Db, actor: &Actor, limit: i64) -> Result<Vec<Failure>, ServiceError> {
    let mut rows = dns(db, actor, limit).await?;
    rows.extend(crate::ssl::failures(db, actor).await?.into_iter().map(|f| {
        let detail = ssl_detail(f.error, f.days_left);
        Failure {
            source: "ssl".into(),
            kind: f.state,
            subject: f.domain,
            detail,
            tenant_slug: f.tenant_slug,
            since: f.last_checked_at.unwrap_or_else(Utc::now),
        }
    }));
    rows.sort_by(|a, b| b.since.cmp(&a.since).then_with(|| a.subject.cmp(&b.subject)));
    rows.truncate(usize::try_from(limit.max(1)).unwrap_or(usize::MAX));
    Ok(rows)
}

/// A certificate's error with its days left after it — unless the text already says them
/// (the sentence `ssl::failures` makes when there is no error does: "expires in 3 day(s)").
fn ssl_detail(error: String, days_left: Option<i64>) -> String {
    let Some(d) = days_left else { return error };
    let said = format!("{} day", d.abs());
    let says_days = error
        .match_indices(&said)
        .any(|(at, _)| !error[..at].ends_with(|c: char| c.is_ascii_digit()));
    if says_days {
        return error;
    }
    if d < 0 {
        format!("{error} (expired {} day(s) ago)", -d)
    } else {
        format!("{error} ({d} day(s) left)")
    }
}

#[cfg(test)]
mod tests {
    use super::ssl_detail;

    #[test]
    fn days_left_are_said_once() {
        assert_eq!(ssl_detail("expires in 3 day(s)".into(), Some(3)), "expires in 3 day(s)");
        assert_eq!(
            ssl_detail("expired 2 day(s) ago".into(), Some(-2)),
            "expired 2 day(s) ago"
        );
        assert_eq!(
            ssl_detail("AutoSSL: WHM refused".into(), Some(3)),
            "AutoSSL: WHM refused (3 day(s) left)"
        );
        assert_eq!(
            ssl_detail("certificate names whm-gru-01".into(), Some(-4)),
            "certificate names whm-gru-01 (expired 4 day(s) ago)"
        );
        // A number that is not the days left is not taken for them.
        assert_eq!(
            ssl_detail("expires in 30 day(s)".into(), Some(3)),
            "expires in 30 day(s) (3 day(s) left)"
        );
        assert_eq!(
            ssl_detail("expires in 13 day(s)".into(), Some(3)),
            "expires in 13 day(s) (3 day(s) left)"
        );
        assert_eq!(
            ssl_detail("no certificate served".into(), None),
            "no certificate served"
        );
    }
}
