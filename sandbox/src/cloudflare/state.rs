//! The simulated account: zones and their DNS records, with Cloudflare's rules (one zone
//! name per account, duplicate records refused with 81057, pages of `per_page`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::dns::DnsTable;
use crate::rng::mix;

/// Cloudflare's nameserver names are pairs of first names; the simulator draws from these.
const NS_NAMES: [&str; 12] = [
    "ada", "bob", "cruz", "dana", "elle", "fred", "gina", "hugo", "iris", "jack", "kara", "leo",
];

#[derive(Debug, Clone, PartialEq)]
pub struct SimZone {
    pub id: String,
    pub name: String,
    pub status: String,
    pub name_servers: Vec<String>,
    pub created_on: String,
    pub activated_on: Option<String>,
    pub records: Vec<SimRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimRecord {
    pub id: String,
    pub name: String,
    pub record_type: String,
    pub content: String,
    pub ttl: u64,
    pub proxied: bool,
    pub priority: Option<u64>,
    pub comment: Option<String>,
    pub created_on: String,
    pub modified_on: String,
}

/// An API error: HTTP status, code, message.
pub type ApiErr = (u16, i64, String);

pub(crate) struct CfState {
    pub seed: u64,
    pub account_id: String,
    pub account_name: String,
    pub zones: BTreeMap<String, SimZone>,
    pub seq: u64,
    pub calls: BTreeMap<String, u64>,
}

fn now_text() -> String {
    // RFC 3339 with microseconds, as Cloudflare prints it.
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, dd) = civil(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's algorithm).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn fqdn(name: &str, zone: &str) -> String {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    if n.is_empty() || n == "@" {
        zone.to_owned()
    } else if n == zone || n.ends_with(&format!(".{zone}")) {
        n
    } else {
        format!("{n}.{zone}")
    }
}

impl CfState {
    pub fn new(seed: u64, account_id: &str) -> Self {
        Self {
            seed,
            account_id: account_id.to_owned(),
            account_name: "Sandbox".into(),
            zones: BTreeMap::new(),
            seq: 0,
            calls: BTreeMap::new(),
        }
    }

    fn next_id(&mut self, what: &str) -> String {
        self.seq += 1;
        format!(
            "{:016x}{:016x}",
            mix(self.seed, &[what, &self.seq.to_string()]),
            mix(self.seed, &[what, &self.seq.to_string(), "2"])
        )
    }

    /// The two nameservers Cloudflare assigns `zone` (stable per seed and name).
    pub fn nameservers_for(seed: u64, zone: &str) -> Vec<String> {
        let h = mix(seed, &[zone, "ns"]);
        let a = (h % 12) as usize;
        let b = (a + 1 + (h >> 8) as usize % 11) % 12;
        vec![
            format!("{}.ns.cloudflare.com", NS_NAMES[a]),
            format!("{}.ns.cloudflare.com", NS_NAMES[b]),
        ]
    }

    pub fn zone_json(&self, z: &SimZone) -> Value {
        json!({
            "id": z.id, "name": z.name, "status": z.status, "paused": false, "type": "full",
            "development_mode": 0, "name_servers": z.name_servers,
            "original_name_servers": ["a.dns.br", "b.dns.br"], "original_registrar": null,
            "original_dnshost": null, "created_on": z.created_on, "modified_on": z.created_on,
            "activated_on": z.activated_on,
            "account": { "id": self.account_id, "name": self.account_name },
            "owner": { "id": null, "type": "organization", "email": null },
            "permissions": ["#zone:edit", "#dns_records:edit"],
            "plan": { "id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0, "currency": "USD" },
            "meta": { "step": 2, "phishing_detected": false, "page_rule_quota": 3 },
            "vanity_name_servers": [],
        })
    }

    pub fn record_json(z: &SimZone, r: &SimRecord) -> Value {
        let mut v = json!({
            "id": r.id, "zone_id": z.id, "zone_name": z.name, "name": r.name, "type": r.record_type,
            "content": r.content, "proxiable": matches!(r.record_type.as_str(), "A" | "AAAA" | "CNAME"),
            "proxied": r.proxied, "ttl": r.ttl, "locked": false, "comment": r.comment, "tags": [],
            "created_on": r.created_on, "modified_on": r.modified_on, "data": {},
            "meta": { "auto_added": false, "source": "primary" },
            "settings": {}, "comment_modified_on": null, "tags_modified_on": null,
        });
        if let Some(p) = r.priority {
            v["priority"] = json!(p);
        }
        v
    }

    pub fn create_zone(&mut self, name: &str, account: Option<&str>) -> Result<Value, ApiErr> {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        if account.is_some_and(|a| a != self.account_id) {
            return Err((403, 1068, "Permission denied to create zone in account".into()));
        }
        let valid = name.contains('.')
            && name
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !valid {
            return Err((400, 1097, format!("{name} is not a registered domain")));
        }
        if self.zones.values().any(|z| z.name == name) {
            return Err((400, 1061, format!("{name} already exists")));
        }
        let id = self.next_id("zone");
        let z = SimZone {
            id: id.clone(),
            name: name.clone(),
            status: "pending".into(),
            name_servers: Self::nameservers_for(self.seed, &name),
            created_on: now_text(),
            activated_on: None,
            records: Vec::new(),
        };
        let v = self.zone_json(&z);
        self.zones.insert(id, z);
        Ok(v)
    }

    /// Activation: the zone turns `active` when the DNS table delegates it to its assigned
    /// nameservers (without a DNS table, at once).
    pub fn activation_check(&mut self, id: &str, dns: Option<&DnsTable>) -> Result<Value, ApiErr> {
        let z = self.zones.get_mut(id).ok_or_else(not_zone)?;
        if z.status == "active" {
            return Err((
                400,
                1224,
                "You may only request an activation check for zones that are pending.".into(),
            ));
        }
        let delegated = match dns {
            None => true,
            Some(t) => t.get(&z.name).is_some_and(|d| {
                let mut got = d.ns.clone();
                let mut want = z.name_servers.clone();
                got.sort();
                want.sort();
                got == want
            }),
        };
        if delegated {
            z.status = "active".into();
            z.activated_on = Some(now_text());
        }
        Ok(json!({ "id": z.id }))
    }

    pub fn delete_zone(&mut self, id: &str) -> Result<Value, ApiErr> {
        self.zones.remove(id).ok_or_else(not_zone)?;
        Ok(json!({ "id": id }))
    }

    pub fn create_record(&mut self, zone_id: &str, body: &Value) -> Result<Value, ApiErr> {
        let id = self.next_id("record");
        let z = self.zones.get_mut(zone_id).ok_or_else(not_zone)?;
        let r = record_from(z, body, id, None)?;
        if z.records
            .iter()
            .any(|o| o.record_type == r.record_type && o.name == r.name && o.content == r.content)
        {
            return Err((400, 81057, "Record already exists.".into()));
        }
        if r.record_type == "CNAME" && z.records.iter().any(|o| o.name == r.name)
            || z.records.iter().any(|o| o.name == r.name && o.record_type == "CNAME")
        {
            return Err((
                400,
                81053,
                "An A, AAAA, or CNAME record with that host already exists.".into(),
            ));
        }
        let v = Self::record_json(z, &r);
        z.records.push(r);
        Ok(v)
    }

    pub fn update_record(&mut self, zone_id: &str, id: &str, body: &Value, partial: bool) -> Result<Value, ApiErr> {
        let z = self.zones.get_mut(zone_id).ok_or_else(not_zone)?;
        let i = z.records.iter().position(|r| r.id == id).ok_or_else(not_record)?;
        let old = z.records[i].clone();
        let merged = if partial {
            let mut base = json!({
                "type": old.record_type, "name": old.name, "content": old.content, "ttl": old.ttl,
                "proxied": old.proxied, "priority": old.priority, "comment": old.comment,
            });
            if let (Some(b), Some(p)) = (base.as_object_mut(), body.as_object()) {
                for (k, v) in p {
                    b.insert(k.clone(), v.clone());
                }
            }
            base
        } else {
            body.clone()
        };
        let r = record_from(z, &merged, old.id.clone(), Some(old.created_on.clone()))?;
        z.records[i] = r;
        Ok(Self::record_json(z, &z.records[i]))
    }

    pub fn delete_record(&mut self, zone_id: &str, id: &str) -> Result<Value, ApiErr> {
        let z = self.zones.get_mut(zone_id).ok_or_else(not_zone)?;
        let i = z.records.iter().position(|r| r.id == id).ok_or_else(not_record)?;
        z.records.remove(i);
        Ok(json!({ "id": id }))
    }
}

fn not_zone() -> ApiErr {
    (
        404,
        7003,
        "Could not route to /zones/..., perhaps your object identifier is invalid?".into(),
    )
}

fn not_record() -> ApiErr {
    (404, 81044, "Record does not exist.".into())
}

const TYPES: [&str; 8] = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"];

fn record_from(z: &SimZone, b: &Value, id: String, created: Option<String>) -> Result<SimRecord, ApiErr> {
    let s = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_owned);
    let rtype = s("type").unwrap_or_default().to_ascii_uppercase();
    if !TYPES.contains(&rtype.as_str()) {
        return Err((400, 9004, "DNS record type is invalid.".into()));
    }
    let name = s("name").ok_or((400, 9007, "DNS record name is required.".to_owned()))?;
    let content =
        s("content")
            .filter(|c| !c.is_empty())
            .ok_or((400, 9005, "Content for record is invalid.".to_owned()))?;
    match rtype.as_str() {
        "A" if content.parse::<std::net::Ipv4Addr>().is_err() => {
            return Err((
                400,
                9005,
                "Content for A record is invalid. Must be a valid IPv4 address".into(),
            ))
        }
        "AAAA" if content.parse::<std::net::Ipv6Addr>().is_err() => {
            return Err((
                400,
                9005,
                "Content for AAAA record is invalid. Must be a valid IPv6 address".into(),
            ))
        }
        "MX" if b.get("priority").and_then(Value::as_u64).is_none() => {
            return Err((400, 9100, "MX records require a priority.".into()))
        }
        "TXT" if content.len() > 2048 => return Err((400, 9100, "TXT content too long.".into())),
        _ => {}
    }
    let ttl = b.get("ttl").and_then(Value::as_u64).unwrap_or(1);
    if ttl != 1 && !(60..=86_400).contains(&ttl) {
        return Err((
            400,
            9021,
            "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.".into(),
        ));
    }
    let proxied = b.get("proxied").and_then(Value::as_bool).unwrap_or(false);
    if proxied && !matches!(rtype.as_str(), "A" | "AAAA" | "CNAME") {
        return Err((400, 9004, "This record type cannot be proxied.".into()));
    }
    let now = now_text();
    Ok(SimRecord {
        id,
        name: fqdn(&name, &z.name),
        record_type: rtype,
        content,
        ttl,
        proxied,
        priority: b.get("priority").and_then(Value::as_u64),
        comment: s("comment"),
        created_on: created.unwrap_or_else(|| now.clone()),
        modified_on: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_names() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_000), (2024, 10, 4));
        assert_eq!(fqdn("@", "a.com.br"), "a.com.br");
        assert_eq!(fqdn("www", "a.com.br"), "www.a.com.br");
        assert_eq!(fqdn("WWW.a.com.br.", "a.com.br"), "www.a.com.br");
        let ns = CfState::nameservers_for(7, "a.com.br");
        assert_eq!(ns.len(), 2);
        assert_ne!(ns[0], ns[1]);
    }
}
