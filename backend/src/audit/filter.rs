//! The audit screen's filter line and the `--since`/`--until` flags: `actor:ana
//! action:tenant.* entity:tenant id:… tenant:acme since:7d until:2026-12-01`. Times are
//! RFC 3339, a date (midnight UTC) or an age (`90s`, `30m`, `12h`, `7d` ago).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::read::AuditQuery;
use crate::error::ServiceError;

/// A point in time: RFC 3339, `YYYY-MM-DD` (00:00 UTC) or an age before `now`.
pub fn parse_time(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    let bad = || format!("{raw:?} is not a time: use RFC 3339, YYYY-MM-DD or an age like 30m, 12h, 7d");
    let split = raw.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = raw.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let age = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    now.checked_sub_signed(age).ok_or_else(bad)
}

/// Parses a filter line into a query (paging left at its defaults). A bare word is an
/// action (`tenant.*` matches a prefix). Errors name the field, for inline display.
pub fn parse_filter(text: &str, now: DateTime<Utc>) -> Result<AuditQuery, ServiceError> {
    let mut q = AuditQuery::default();
    for token in text.split_whitespace() {
        let (key, value) = token.split_once(':').unwrap_or(("action", token));
        let value = value.trim();
        if value.is_empty() {
            return Err(ServiceError::invalid(key, "needs a value after the colon"));
        }
        let v = Some(value.to_owned());
        match key {
            "actor" => q.actor_name = v,
            "action" => q.action = v,
            "entity" => q.entity = v,
            "id" => q.entity_id = v,
            "tenant" => q.tenant = v,
            "since" => q.since = Some(parse_time(value, now).map_err(|m| ServiceError::invalid("since", m))?),
            "until" => q.until = Some(parse_time(value, now).map_err(|m| ServiceError::invalid("until", m))?),
            other => {
                return Err(ServiceError::invalid(
                    "filter",
                    format!("unknown key {other:?}: use actor, action, entity, id, tenant, since, until"),
                ))
            }
        }
    }
    if let (Some(s), Some(u)) = (q.since, q.until) {
        if s >= u {
            return Err(ServiceError::invalid("until", "must be after since"));
        }
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0).unwrap()
    }

    #[test]
    fn times_in_every_form() {
        let n = now();
        assert_eq!(parse_time("7d", n).unwrap(), n - Duration::days(7));
        assert_eq!(parse_time("90s", n).unwrap(), n - Duration::seconds(90));
        assert_eq!(
            parse_time("2026-11-30", n).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time("2026-11-30T10:00:00-03:00", n).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 30, 13, 0, 0).unwrap()
        );
        for bad in ["", "d", "7y", "yesterday", "99999999999999999999d", "2026-13-01"] {
            assert!(parse_time(bad, n).is_err(), "{bad}");
        }
    }

    #[test]
    fn filter_lines() {
        let q = parse_filter(
            "actor:ana tenant.* entity:tenant tenant:acme since:1h until:2026-12-02",
            now(),
        )
        .unwrap();
        assert_eq!(q.actor_name.as_deref(), Some("ana"));
        assert_eq!(q.action.as_deref(), Some("tenant.*"));
        assert_eq!(q.entity.as_deref(), Some("tenant"));
        assert_eq!(q.tenant.as_deref(), Some("acme"));
        assert_eq!(q.since, Some(now() - Duration::hours(1)));
        assert!(parse_filter("", now()).unwrap().action.is_none());
        let field = |t: &str| match parse_filter(t, now()) {
            Err(ServiceError::Validation(f)) => f[0].field.clone(),
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(field("since:soon"), "since");
        assert_eq!(field("colour:red"), "filter");
        assert_eq!(field("actor:"), "actor");
        assert_eq!(field("since:1h until:2h"), "until");
    }

    proptest! {
        #[test]
        fn ages_are_before_now(n in 0i64..100_000, unit in prop::sample::select(vec!["s", "m", "h", "d", "w"])) {
            let t = parse_time(&format!("{n}{unit}"), now()).unwrap();
            prop_assert!(t <= now());
        }

        #[test]
        fn any_line_parses_or_names_a_field(line in "[a-z:0-9. *-]{0,40}") {
            match parse_filter(&line, now()) {
                Ok(_) => {}
                Err(ServiceError::Validation(f)) => prop_assert!(!f.is_empty()),
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }
}
