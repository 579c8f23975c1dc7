//! The WHM API 1 wire format: the envelope every function answers with, and each function's
//! `data` (docs: /work/shared/providers/whm.md). Parsing is lenient where servers are known
//! to vary (numbers as strings, `result` as `"1"`, limits as `"unlimited"`) and strict where
//! a wrong shape means we are not talking to WHM API 1 at all.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{MalformedKind, WhmError};

/// `metadata` of every API 1 answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    #[serde(deserialize_with = "de_flag")]
    pub result: bool,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub output: Option<Output>,
}

/// `metadata.output`: the transcript of what the server ran, and its warnings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Output {
    #[serde(default, deserialize_with = "de_opt_text")]
    pub raw: Option<String>,
    #[serde(default, deserialize_with = "de_texts")]
    pub warnings: Vec<String>,
    #[serde(default, deserialize_with = "de_texts")]
    pub messages: Vec<String>,
}

/// A successful answer: its `data` and what the server said about it.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub data: T,
    pub reason: String,
    pub output: Output,
}

/// Reads `body` (the whole answer of `command`) as an API 1 envelope. `metadata.result = 0`
/// becomes [`WhmError::Api`]; a successful envelope's `data` is then read as `T` (functions
/// without data read it from `null`).
pub fn parse<T: serde::de::DeserializeOwned>(command: &str, body: &[u8]) -> Result<Answer<T>, WhmError> {
    let malformed = |kind, detail: String| WhmError::Malformed {
        command: command.to_owned(),
        kind,
        detail,
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let kind = if e.is_eof() {
            MalformedKind::Truncated
        } else {
            MalformedKind::NotJson
        };
        malformed(kind, e.to_string())
    })?;
    let Value::Object(mut top) = value else {
        return Err(malformed(
            MalformedKind::NotEnvelope,
            "top level is not an object".into(),
        ));
    };
    if let Some(legacy) = top.get("cpanelresult") {
        // cpsrvd answers refused tokens in the legacy shape (normally with HTTP 403).
        let reason = legacy
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("Access denied")
            .to_owned();
        return Err(WhmError::Auth {
            command: command.to_owned(),
            status: 200,
            reason,
        });
    }
    let Some(meta) = top.remove("metadata") else {
        return Err(malformed(MalformedKind::NotEnvelope, "no metadata".into()));
    };
    let meta: Metadata =
        serde_json::from_value(meta).map_err(|e| malformed(MalformedKind::NotEnvelope, format!("metadata: {e}")))?;
    let reason = meta.reason.unwrap_or_default();
    if !meta.result {
        return Err(WhmError::Api {
            command: command.to_owned(),
            reason,
        });
    }
    let data = top.remove("data").unwrap_or(Value::Null);
    let data = T::deserialize(data).map_err(|e| malformed(MalformedKind::Shape, format!("data: {e}")))?;
    Ok(Answer {
        data,
        reason,
        output: meta.output.unwrap_or_default(),
    })
}

/// `data` of functions that return none (suspendacct, unsuspendacct, removeacct, changepackage):
/// anything is accepted and ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NoData;

impl<'de> Deserialize<'de> for NoData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::IgnoredAny::deserialize(d)?;
        Ok(NoData)
    }
}

/// `version`.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionData {
    pub version: String,
}

/// `createacct`'s data.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct CreatedAccount {
    #[serde(default, deserialize_with = "de_opt_text")]
    pub ip: Option<String>,
    #[serde(default, deserialize_with = "de_opt_text")]
    pub package: Option<String>,
    #[serde(default, deserialize_with = "de_opt_text")]
    pub nameserver: Option<String>,
    #[serde(default, deserialize_with = "de_opt_text")]
    pub nameserver2: Option<String>,
    #[serde(default, deserialize_with = "de_opt_text")]
    pub nameserver3: Option<String>,
    #[serde(default, deserialize_with = "de_opt_text")]
    pub nameserver4: Option<String>,
}

impl CreatedAccount {
    /// The name servers the account was given, empty ones left out.
    pub fn nameservers(&self) -> Vec<&str> {
        [
            &self.nameserver,
            &self.nameserver2,
            &self.nameserver3,
            &self.nameserver4,
        ]
        .into_iter()
        .filter_map(|n| n.as_deref())
        .filter(|n| !n.is_empty())
        .collect()
    }
}

/// A limit or amount as WHM writes it: a number, a numeric string (`"1024"`, `"14M"` for the
/// disk fields, in MiB), `"unlimited"`, or something else kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Limit {
    Unlimited,
    Value(u64),
    Other(String),
}

impl Limit {
    pub fn value(&self) -> Option<u64> {
        match self {
            Limit::Value(v) => Some(*v),
            _ => None,
        }
    }

    /// The text WHM expects in a request (`unlimited` or the number).
    pub fn to_param(&self) -> String {
        match self {
            Limit::Unlimited => "unlimited".to_owned(),
            Limit::Value(v) => v.to_string(),
            Limit::Other(s) => s.clone(),
        }
    }

    fn from_text(s: &str) -> Limit {
        let t = s.trim();
        if t.eq_ignore_ascii_case("unlimited") {
            return Limit::Unlimited;
        }
        let digits = t.strip_suffix(['M', 'm']).unwrap_or(t);
        match digits.parse::<u64>() {
            Ok(v) => Limit::Value(v),
            Err(_) => Limit::Other(s.to_owned()),
        }
    }
}

impl Default for Limit {
    fn default() -> Self {
        Limit::Other(String::new())
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Limit::Other(String::new()),
            Value::Number(n) => match n.as_u64() {
                Some(v) => Limit::Value(v),
                None => Limit::Other(n.to_string()),
            },
            Value::String(s) => Limit::from_text(&s),
            other => Limit::Other(other.to_string()),
        })
    }
}

/// One account as `listaccts` and `accountsummary` describe it (fields this product uses;
/// the rest is ignored).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Account {
    pub user: String,
    #[serde(default, deserialize_with = "de_text")]
    pub domain: String,
    #[serde(default, deserialize_with = "de_text")]
    pub email: String,
    #[serde(default, deserialize_with = "de_text")]
    pub plan: String,
    #[serde(default, deserialize_with = "de_text")]
    pub owner: String,
    #[serde(default, deserialize_with = "de_text")]
    pub ip: String,
    #[serde(default, deserialize_with = "de_text")]
    pub partition: String,
    /// MiB used.
    #[serde(default)]
    pub diskused: Limit,
    /// MiB allowed.
    #[serde(default)]
    pub disklimit: Limit,
    #[serde(default, deserialize_with = "de_flag_default")]
    pub suspended: bool,
    #[serde(default, deserialize_with = "de_opt_text")]
    pub suspendreason: Option<String>,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub suspendtime: Option<u64>,
    #[serde(default, deserialize_with = "de_flag_default")]
    pub is_locked: bool,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub unix_startdate: Option<u64>,
    #[serde(default, deserialize_with = "de_text")]
    pub theme: String,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub uid: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AcctList {
    #[serde(default)]
    pub acct: Vec<Account>,
}

/// One package of `listpkgs` (upper-case keys on the wire; `name` lower-case).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Package {
    pub name: String,
    /// Disk quota in MiB.
    #[serde(default, rename = "QUOTA")]
    pub quota: Limit,
    /// Monthly bandwidth in MiB.
    #[serde(default, rename = "BWLIMIT")]
    pub bwlimit: Limit,
    #[serde(default, rename = "MAXADDON")]
    pub maxaddon: Limit,
    #[serde(default, rename = "MAXPARK")]
    pub maxpark: Limit,
    #[serde(default, rename = "MAXSUB")]
    pub maxsub: Limit,
    #[serde(default, rename = "MAXPOP")]
    pub maxpop: Limit,
    #[serde(default, rename = "MAXSQL")]
    pub maxsql: Limit,
    #[serde(default, rename = "MAXFTP")]
    pub maxftp: Limit,
    #[serde(default, rename = "MAXLST")]
    pub maxlst: Limit,
    #[serde(default, rename = "MAX_EMAIL_PER_HOUR")]
    pub max_email_per_hour: Limit,
    #[serde(default, rename = "CGI", deserialize_with = "de_flag_default")]
    pub cgi: bool,
    #[serde(default, rename = "HASSHELL", deserialize_with = "de_flag_default")]
    pub hasshell: bool,
    #[serde(default, rename = "FEATURELIST", deserialize_with = "de_text")]
    pub featurelist: String,
    #[serde(default, rename = "CPMOD", deserialize_with = "de_text")]
    pub cpmod: String,
    #[serde(default, rename = "LANG", deserialize_with = "de_text")]
    pub lang: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PkgList {
    #[serde(default)]
    pub pkg: Vec<Package>,
}

/// `systemloadavg`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
pub struct LoadAverage {
    #[serde(deserialize_with = "de_f64")]
    pub one: f64,
    #[serde(deserialize_with = "de_f64")]
    pub five: f64,
    #[serde(deserialize_with = "de_f64")]
    pub fifteen: f64,
}

/// One account of `get_disk_usage` (1 block = 1024 bytes; a limit of 0 or null = unlimited).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct DiskUsage {
    pub user: String,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub blocks_used: Option<u64>,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub blocks_limit: Option<u64>,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub inodes_used: Option<u64>,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub inodes_limit: Option<u64>,
}

impl DiskUsage {
    pub fn bytes_used(&self) -> u64 {
        self.blocks_used.unwrap_or(0).saturating_mul(1024)
    }

    /// `None` = unlimited.
    pub fn bytes_limit(&self) -> Option<u64> {
        self.blocks_limit.filter(|b| *b > 0).map(|b| b.saturating_mul(1024))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct DiskList {
    #[serde(default)]
    pub accounts: Vec<DiskUsage>,
}

/// One account of `showbw` (this month's bandwidth).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct AccountBandwidth {
    pub user: String,
    #[serde(default, deserialize_with = "de_text")]
    pub maindomain: String,
    #[serde(default, deserialize_with = "de_text")]
    pub owner: String,
    /// Bytes transferred this month.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub totalbytes: Option<u64>,
    /// Bytes allowed; 0 = unlimited.
    #[serde(default)]
    pub limit: Limit,
    #[serde(default, deserialize_with = "de_flag_default")]
    pub deleted: bool,
}

/// `showbw`: the month, the total and the per-account figures.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Bandwidth {
    #[serde(default)]
    pub acct: Vec<AccountBandwidth>,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub month: Option<u64>,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub year: Option<u64>,
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub totalused: Option<u64>,
}

/// `addpkg`/`editpkg`: the package's name as WHM stored it (reseller packages get a prefix).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PkgName {
    #[serde(default, deserialize_with = "de_opt_text")]
    pub pkg: Option<String>,
}

// --- lenient scalars ---------------------------------------------------------------------

/// 1/0, "1"/"0", true/false, "y"/"n" (packages write flags that way).
fn flag_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "y" | "yes" | "true" | "on" => Some(true),
            "0" | "n" | "no" | "false" | "off" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

fn de_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        // `result` must be said: a null or absent result is not a success.
        Value::Null => Err(de::Error::custom("result is null")),
        v => flag_of(&v).ok_or_else(|| de::Error::custom(format!("not a 0/1 flag: {v}"))),
    }
}

fn de_flag_default<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(flag_of(&Value::deserialize(d)?).unwrap_or(false))
}

fn de_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(de_opt_text(d)?.unwrap_or_default())
}

pub(super) fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

fn de_texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Value::String(s) => vec![s],
        other => vec![other.to_string()],
    })
}

fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    })
}

fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64().ok_or_else(|| de::Error::custom("not a number")),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| de::Error::custom(format!("not a number: {s:?}"))),
        other => Err(de::Error::custom(format!("not a number: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_is_read_leniently() {
        let a: Answer<VersionData> = parse(
            "version",
            br#"{"data":{"version":"11.118.0.15"},"metadata":{"result":"1","reason":"OK"}}"#,
        )
        .unwrap();
        assert_eq!(a.data.version, "11.118.0.15");
        let e = parse::<NoData>("suspendacct", br#"{"metadata":{"result":"0","reason":"No such user"}}"#).unwrap_err();
        assert!(matches!(e, WhmError::Api { ref reason, .. } if reason == "No such user"));
        let e = parse::<NoData>("suspendacct", br#"{"metadata":{"reason":"OK"}}"#).unwrap_err();
        assert!(matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::NotEnvelope,
                ..
            }
        ));
    }

    #[test]
    fn limits() {
        let l: Vec<Limit> = serde_json::from_str(r#"["unlimited", "14M", 1024, "0", null, "1.5G"]"#).unwrap();
        assert_eq!(
            l,
            vec![
                Limit::Unlimited,
                Limit::Value(14),
                Limit::Value(1024),
                Limit::Value(0),
                Limit::Other(String::new()),
                Limit::Other("1.5G".into())
            ]
        );
    }

    #[test]
    fn api0_and_truncation_are_malformed() {
        let e = parse::<NoData>("version", br#"{"result":[{"status":1,"statusmsg":"ok"}]}"#).unwrap_err();
        assert!(matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::NotEnvelope,
                ..
            }
        ));
        let e = parse::<NoData>("version", br#"{"metadata":{"result":1,"rea"#).unwrap_err();
        assert!(matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::Truncated,
                ..
            }
        ));
        let e = parse::<NoData>("version", b"<html>502 Bad Gateway</html>").unwrap_err();
        assert!(matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::NotJson,
                ..
            }
        ));
    }
}
