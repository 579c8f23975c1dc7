//! WHM API 1 functions over a server's state: parameters in, the envelope's parts out
//! (per /work/shared/providers/whm.md).

use serde_json::{json, Map, Value};

use super::state::{Account, NewAccount, Package, WhmState, NO_ACCOUNT};

/// The query (and form body) parameters of a call, in order.
pub(crate) struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut v: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        v.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
        Self(v)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("1")
    }
}

/// What a function answered: `metadata.result`/`reason`, `data`, `metadata.output.raw`.
pub(crate) struct Outcome {
    pub ok: bool,
    pub reason: String,
    pub data: Option<Value>,
    pub raw: Option<String>,
}

impl Outcome {
    pub(crate) fn ok(data: Option<Value>) -> Self {
        Self {
            ok: true,
            reason: "OK".into(),
            data,
            raw: None,
        }
    }

    pub fn fail(reason: impl Into<String>) -> Self {
        Self {
            ok: false,
            reason: reason.into(),
            data: None,
            raw: None,
        }
    }

    fn reason(mut self, r: &str) -> Self {
        self.reason = r.into();
        self
    }

    fn raw(mut self, r: String) -> Self {
        self.raw = Some(r);
        self
    }
}

fn from<T>(r: Result<T, String>, then: impl FnOnce(T) -> Outcome) -> Outcome {
    match r {
        Ok(v) => then(v),
        Err(reason) => Outcome::fail(reason),
    }
}

/// Runs `function`; None when the server does not know it.
pub(crate) fn dispatch(s: &mut WhmState, function: &str, p: &Params, now: i64) -> Option<Outcome> {
    let out = match function {
        "version" => Outcome::ok(Some(json!({ "version": s.version }))),
        "createacct" => createacct(s, p, now),
        "suspendacct" => {
            let user = p.get("user").unwrap_or_default();
            let reason = p.get("reason").filter(|r| !r.is_empty()).unwrap_or("Unknown");
            from(s.suspend(user, reason, p.flag("disallowun"), now), |()| {
                Outcome::ok(None).raw(format!(
                    "Changing Shell to /bin/false...Done\n{user}'s account has been suspended\n"
                ))
            })
        }
        "unsuspendacct" => from(s.unsuspend(p.get("user").unwrap_or_default()), |()| Outcome::ok(None)),
        "removeacct" => {
            let user = p.get("username").or_else(|| p.get("user")).unwrap_or_default();
            from(s.remove(user), |a| {
                Outcome::ok(None).raw(format!("Removing User & Group...\n{} account removed\n", a.user))
            })
        }
        "changepackage" => {
            let (user, pkg) = (p.get("user").unwrap_or_default(), p.get("pkg").unwrap_or_default());
            from(s.change_package(user, pkg), |old| {
                Outcome::ok(None)
                    .reason(&format!("Account Upgraded/Downgraded: {user} from {old} to {pkg}"))
                    .raw(format!("Changing plan of {user} from {old} to {pkg}\n"))
            })
        }
        "listaccts" => listaccts(s, p),
        "accountsummary" => accountsummary(s, p),
        "listpkgs" => {
            let pkgs: Vec<Value> = s.packages.values().map(|k| package_json(k, true)).collect();
            Outcome::ok(Some(json!({ "pkg": pkgs })))
        }
        "getpkginfo" => {
            let name = p.get("pkg").unwrap_or_default();
            match s.packages.get(name) {
                Some(k) => Outcome::ok(Some(json!({ "pkg": package_json(k, false) }))),
                None => Outcome::fail(format!("The package “{name}” does not exist.")),
            }
        }
        "addpkg" | "editpkg" => save_package(s, p, function == "addpkg"),
        "systemloadavg" => {
            let (one, five, fifteen) = s.load_average();
            Outcome::ok(Some(json!({
                "one": format!("{one:.2}"), "five": format!("{five:.2}"), "fifteen": format!("{fifteen:.2}"),
            })))
        }
        "get_disk_usage" => get_disk_usage(s, p),
        "getdiskusage" => {
            let total = s.limits.disk_total_mb * 1024;
            let used = s.disk_used_mb().min(s.limits.disk_total_mb) * 1024;
            Outcome::ok(Some(json!({ "partition": [{
                "disk": "/dev/vda1", "filesystem": "ext4", "mount": "/",
                "total": total, "used": used, "available": total - used,
                "percentage": used * 100 / total.max(1),
            }]})))
            .reason("Successfully retrieved disk usage")
        }
        "showbw" => showbw(s, p, now),
        _ => return None,
    };
    Some(out)
}

fn createacct(s: &mut WhmState, p: &Params, now: i64) -> Outcome {
    let new = NewAccount {
        user: p.get("username"),
        domain: p.get("domain"),
        plan: p.get("plan"),
        email: p.get("contactemail"),
        password: p.get("password"),
        owner: p.get("owner"),
    };
    let ip = s.ip.clone();
    from(s.create(&new, now), |a| {
        Outcome::ok(Some(json!({
            "ip": ip, "package": a.plan,
            "nameserver": "ns1.sandbox.invalid", "nameserver2": "ns2.sandbox.invalid",
            "nameserver3": "", "nameserver4": "",
            "nameservera": null, "nameservera2": null, "nameservera3": null, "nameservera4": null,
            "nameserverentry": null, "nameserverentry2": null, "nameserverentry3": null, "nameserverentry4": null,
        })))
        .reason("Account Creation Ok")
        .raw(format!(
            "Creating account {} for {}...\nAccount Creation Complete!!!\n",
            a.user, a.domain
        ))
    })
}

fn listaccts(s: &WhmState, p: &Params) -> Outcome {
    let (field, search) = (p.get("searchtype"), p.get("search"));
    let matcher = match (field, search) {
        (Some(field), Some(search)) if !search.is_empty() => {
            if !matches!(field, "user" | "domain" | "owner" | "ip" | "package") {
                return Outcome::fail(format!("Invalid “searchtype”: {field}"));
            }
            match p.get("searchmethod").unwrap_or("regex") {
                "exact" => Some((field, Matcher::Exact(search.to_owned()))),
                "regex" => match regex::Regex::new(search) {
                    Ok(r) => Some((field, Matcher::Regex(r))),
                    Err(_) => return Outcome::fail(format!("Invalid regular expression: {search}")),
                },
                other => return Outcome::fail(format!("Invalid “searchmethod”: {other}")),
            }
        }
        _ => None,
    };
    let want: Option<Vec<&str>> = p.get("want").map(|w| w.split(',').map(str::trim).collect());
    let accts: Vec<Value> = s
        .accounts
        .values()
        .filter(|a| {
            matcher.as_ref().is_none_or(|(field, m)| {
                let v = match *field {
                    "user" => &a.user,
                    "domain" => &a.domain,
                    "owner" => &a.owner,
                    "ip" => &a.ip,
                    _ => &a.plan,
                };
                m.matches(v)
            })
        })
        .map(|a| {
            let full = account_json(a, s.packages.get(&a.plan));
            match &want {
                Some(keys) => Value::Object(
                    full.as_object()
                        .map(|o| {
                            o.iter()
                                .filter(|(k, _)| keys.contains(&k.as_str()))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                None => full,
            }
        })
        .collect();
    Outcome::ok(Some(json!({ "acct": accts })))
}

enum Matcher {
    Exact(String),
    Regex(regex::Regex),
}

impl Matcher {
    fn matches(&self, v: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == v,
            Matcher::Regex(r) => r.is_match(v),
        }
    }
}

fn accountsummary(s: &WhmState, p: &Params) -> Outcome {
    let found = match (p.get("user"), p.get("domain")) {
        (Some(u), _) if !u.is_empty() => s.accounts.get(u),
        (_, Some(d)) if !d.is_empty() => s.accounts.values().find(|a| a.domain == d.to_ascii_lowercase()),
        _ => return Outcome::fail("You must specify either a “user” or a “domain”."),
    };
    match found {
        Some(a) => Outcome::ok(Some(json!({ "acct": [account_json(a, s.packages.get(&a.plan))] }))),
        None => Outcome::fail(NO_ACCOUNT),
    }
}

/// Request parameter → package setting, for addpkg/editpkg.
const PKG_PARAMS: [(&str, &str); 18] = [
    ("quota", "QUOTA"),
    ("bwlimit", "BWLIMIT"),
    ("maxaddon", "MAXADDON"),
    ("maxpark", "MAXPARK"),
    ("maxsub", "MAXSUB"),
    ("maxpop", "MAXPOP"),
    ("maxsql", "MAXSQL"),
    ("maxftp", "MAXFTP"),
    ("maxlst", "MAXLST"),
    ("max_email_per_hour", "MAX_EMAIL_PER_HOUR"),
    ("max_emailacct_quota", "MAX_EMAILACCT_QUOTA"),
    ("max_defer_fail_percentage", "MAX_DEFER_FAIL_PERCENTAGE"),
    ("cgi", "CGI"),
    ("hasshell", "HASSHELL"),
    ("ip", "IP"),
    ("cpmod", "CPMOD"),
    ("featurelist", "FEATURELIST"),
    ("language", "LANG"),
];

fn save_package(s: &mut WhmState, p: &Params, add: bool) -> Outcome {
    let name = p.get("name").unwrap_or_default();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' ' | '.'))
    {
        return Outcome::fail(format!("Invalid package name: “{name}”"));
    }
    let mut pkg = match (add, s.packages.get(name)) {
        (true, Some(_)) => return Outcome::fail(format!("The package “{name}” already exists.")),
        (true, None) => Package::new(name, None, None),
        (false, Some(k)) => k.clone(),
        (false, None) => return Outcome::fail(format!("The package “{name}” does not exist.")),
    };
    for (param, key) in PKG_PARAMS {
        let Some(v) = p.get(param) else { continue };
        let value = match key {
            "CGI" | "HASSHELL" | "IP" => match v {
                "1" | "y" => "y".to_owned(),
                "0" | "n" => "n".to_owned(),
                _ => return Outcome::fail(format!("Invalid value for “{param}”: {v}")),
            },
            "CPMOD" | "FEATURELIST" | "LANG" => v.to_owned(),
            _ if v.eq_ignore_ascii_case("unlimited") => "unlimited".to_owned(),
            _ => match v.parse::<u64>() {
                Ok(n) => n.to_string(),
                Err(_) => return Outcome::fail(format!("Invalid value for “{param}”: {v}")),
            },
        };
        pkg.settings.insert(key.to_owned(), value);
    }
    let verb = if add { "Created" } else { "Modified" };
    s.packages.insert(name.to_owned(), pkg);
    Outcome::ok(Some(json!({ "pkg": name }))).raw(format!("{verb} the package {name}\n"))
}

fn get_disk_usage(s: &WhmState, p: &Params) -> Outcome {
    // The generic filter, as far as clients use it here: one `user eq X`.
    let only = (p.get("api.filter.enable") == Some("1") && p.get("api.filter.a.field") == Some("user"))
        .then(|| p.get("api.filter.a.arg0"))
        .flatten();
    let accounts: Vec<Value> = s
        .accounts
        .values()
        .filter(|a| only.is_none_or(|u| a.user == u))
        .map(|a| {
            let limit = s
                .packages
                .get(&a.plan)
                .and_then(Package::quota_mb)
                .map_or(0, |q| q * 1024);
            json!({
                "user": a.user, "blocks_used": a.disk_used_mb * 1024, "blocks_limit": limit,
                "inodes_used": a.inodes_used, "inodes_limit": 0,
            })
        })
        .collect();
    Outcome::ok(Some(json!({ "accounts": accounts })))
}

fn showbw(s: &WhmState, p: &Params, now: i64) -> Outcome {
    let (year, month, _, _, _) = civil(now);
    let only = (p.get("searchtype") == Some("user")).then(|| p.get("search")).flatten();
    let mut total: u64 = 0;
    let accts: Vec<Value> = s
        .accounts
        .values()
        .filter(|a| only.is_none_or(|u| a.user == u))
        .map(|a| {
            let limit = s
                .packages
                .get(&a.plan)
                .and_then(Package::bwlimit_mb)
                .map_or(0, |m| m * 1024 * 1024);
            total += a.bandwidth_bytes;
            json!({
                "user": a.user, "maindomain": a.domain, "owner": a.owner, "reseller": a.owner,
                "totalbytes": a.bandwidth_bytes.to_string(), "limit": limit.to_string(),
                "bwlimited": u8::from(limit > 0 && a.bandwidth_bytes >= limit), "deleted": 0,
                "bwusage": [{ "domain": a.domain, "usage": a.bandwidth_bytes.to_string() }],
            })
        })
        .collect();
    Outcome::ok(Some(json!({
        "acct": accts, "month": month, "year": year, "reseller": s.api_user, "totalused": total,
    })))
}

fn mb_text(mb: u64) -> String {
    format!("{mb}M")
}

fn package_json(k: &Package, with_name: bool) -> Value {
    let mut o: Map<String, Value> = k
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if with_name {
        o.insert("name".into(), Value::String(k.name.clone()));
    }
    Value::Object(o)
}

pub(crate) fn account_json(a: &Account, pkg: Option<&Package>) -> Value {
    let setting = |key: &str| pkg.and_then(|k| k.setting(key)).unwrap_or("unlimited").to_owned();
    let (y, mo, d, h, mi) = civil(a.start_unix);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[((mo as usize).clamp(1, 12)) - 1];
    json!({
        "user": a.user, "domain": a.domain, "email": a.email, "plan": a.plan, "owner": a.owner,
        "ip": a.ip, "ipv6": [], "partition": "home",
        "diskused": mb_text(a.disk_used_mb),
        "disklimit": pkg.and_then(Package::quota_mb).map_or_else(|| "unlimited".to_owned(), mb_text),
        "inodesused": a.inodes_used, "inodeslimit": "unlimited",
        "startdate": format!("{:02} {month} {d:02} {h:02}:{mi:02}", y % 100),
        "unix_startdate": a.start_unix,
        "suspended": u8::from(a.suspended),
        "suspendreason": a.suspend_reason.clone().unwrap_or_else(|| "not suspended".to_owned()),
        "suspendtime": a.suspend_time,
        "is_locked": u8::from(a.locked),
        "theme": setting("CPMOD"), "shell": "/usr/local/cpanel/bin/noshell",
        "maxaddons": setting("MAXADDON"), "maxparked": setting("MAXPARK"), "maxsub": setting("MAXSUB"),
        "maxpop": setting("MAXPOP"), "maxsql": setting("MAXSQL"), "maxftp": setting("MAXFTP"),
        "maxlst": setting("MAXLST"), "max_email_per_hour": setting("MAX_EMAIL_PER_HOUR"),
        "max_defer_fail_percentage": setting("MAX_DEFER_FAIL_PERCENTAGE"),
        "outgoing_mail_hold": 0, "outgoing_mail_suspended": 0,
        "backup": 0, "legacy_backup": 0, "temporary": 0, "uid": a.uid,
    })
}

/// Unix seconds → (year, month, day, hour, minute) in UTC (Howard Hinnant's civil_from_days).
fn civil(t: i64) -> (i64, i64, i64, i64, i64) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0));
        assert_eq!(civil(1_711_285_920), (2024, 3, 24, 13, 12));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0));
    }
}
