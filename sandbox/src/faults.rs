//! Faults a simulator injects, per server and per operation, decided by a seeded stream so a
//! run replays exactly (docs/adr/0018).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix;
use crate::SandboxError;

/// The operation name that matches every operation without a fault of its own.
pub const ANY_OPERATION: &str = "*";

/// What goes wrong. Only `Lost` and `Truncated` let the operation change the server's state
/// (the work was done, the answer did not arrive whole); every other kind leaves it untouched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 200 with `metadata.result = 0` and this reason.
    Envelope { reason: String },
    /// An HTTP 5xx from the server (cpsrvd or a proxy in front of it), HTML body.
    Http5xx { status: u16 },
    /// HTTP 429 with `Retry-After` in seconds.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 200 whose body is not JSON.
    Malformed,
    /// The operation runs; the body announced by `Content-Length` is cut in half.
    Truncated,
    /// The answer comes `ms` milliseconds late (otherwise normal).
    Latency { ms: u64 },
    /// No answer at all: the connection is held open until the client gives up.
    Timeout,
    /// The connection is closed without an answer; the operation does not run.
    Drop,
    /// The operation runs, then the connection is closed without an answer.
    Lost,
}

impl FaultKind {
    /// The kind from its name as the CLI and the control API take it, with the optional
    /// parameters (`ms` for latency; `status`, `reason`, `retry_after` where they apply).
    pub fn from_name(
        name: &str,
        ms: Option<u64>,
        status: Option<u16>,
        reason: Option<&str>,
        retry_after_secs: Option<u64>,
    ) -> Result<Self, SandboxError> {
        let kind = match name.to_ascii_lowercase().as_str() {
            "envelope" | "error" => FaultKind::Envelope {
                reason: reason
                    .unwrap_or("The system is temporarily unable to complete the request (sandbox fault).")
                    .to_owned(),
            },
            "5xx" | "http5xx" | "http_5xx" | "500" | "502" | "503" | "504" => {
                let status = status.or_else(|| name.parse().ok()).unwrap_or(503);
                if !(500..=599).contains(&status) {
                    return Err(SandboxError::InvalidFault(format!("status {status} is not a 5xx")));
                }
                FaultKind::Http5xx { status }
            }
            "429" | "rate_limited" | "ratelimit" | "rate-limited" => FaultKind::RateLimited {
                retry_after_secs: retry_after_secs.unwrap_or(1),
            },
            "malformed" => FaultKind::Malformed,
            "truncated" => FaultKind::Truncated,
            "latency" | "slow" => FaultKind::Latency {
                ms: ms.ok_or_else(|| SandboxError::InvalidFault("latency needs ms".into()))?,
            },
            "timeout" | "hang" => FaultKind::Timeout,
            "drop" | "dropped" | "reset" => FaultKind::Drop,
            "lost" | "lost_response" | "succeeded_lost" => FaultKind::Lost,
            other => {
                return Err(SandboxError::InvalidFault(format!(
                "unknown fault kind {other:?} (envelope, 5xx, 429, malformed, truncated, latency, timeout, drop, lost)"
            )))
            }
        };
        Ok(kind)
    }
}

/// A fault and how often it fires: `rate` in 0..=1 per call (drawn from the seeded stream of
/// the server and operation), at most `times` times when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    #[serde(flatten)]
    pub kind: FaultKind,
    pub rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl FaultSpec {
    /// Every call.
    pub fn always(kind: FaultKind) -> Self {
        Self {
            kind,
            rate: 1.0,
            times: None,
        }
    }

    pub fn with_rate(kind: FaultKind, rate: f64) -> Self {
        Self {
            kind,
            rate,
            times: None,
        }
    }

    /// The next `n` calls only.
    pub fn times(kind: FaultKind, n: u32) -> Self {
        Self {
            kind,
            rate: 1.0,
            times: Some(n),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), SandboxError> {
        if !(0.0..=1.0).contains(&self.rate) || self.rate.is_nan() {
            return Err(SandboxError::InvalidFault(format!(
                "rate {} is not within 0..1",
                self.rate
            )));
        }
        Ok(())
    }
}

/// A fault as listed: where it applies and how many times it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEntry {
    pub server: String,
    pub operation: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub fired: u32,
}

struct Rule {
    spec: FaultSpec,
    /// One stream per operation (the wildcard too), created when first drawn from.
    streams: HashMap<String, SplitMix>,
    fired: u32,
}

/// One server's faults.
pub(crate) struct Faults {
    seed: u64,
    server: String,
    rules: Mutex<BTreeMap<String, Rule>>,
}

impl Faults {
    pub fn new(seed: u64, server: &str) -> Self {
        Self {
            seed,
            server: server.to_owned(),
            rules: Mutex::new(BTreeMap::new()),
        }
    }

    /// Sets (replaces) the fault of `operation`; its streams restart, so the same settings
    /// followed by the same calls give the same outcomes.
    pub fn set(&self, operation: &str, spec: FaultSpec) {
        let rule = Rule {
            spec,
            streams: HashMap::new(),
            fired: 0,
        };
        lock(&self.rules).insert(operation.to_owned(), rule);
    }

    pub fn clear(&self) {
        lock(&self.rules).clear();
    }

    pub fn list(&self) -> Vec<FaultEntry> {
        lock(&self.rules)
            .iter()
            .map(|(op, r)| FaultEntry {
                server: self.server.clone(),
                operation: op.clone(),
                spec: r.spec.clone(),
                fired: r.fired,
            })
            .collect()
    }

    /// Like [`Self::decide`], but only a rule set for exactly `operation` counts (a stage of
    /// a transfer is not a call: the wildcard of an unreachable server does not apply).
    pub fn decide_own(&self, operation: &str) -> Option<FaultKind> {
        if !lock(&self.rules).contains_key(operation) {
            return None;
        }
        self.decide(operation)
    }

    /// Whether a fault fires for this call of `operation`, and which.
    pub fn decide(&self, operation: &str) -> Option<FaultKind> {
        let mut rules = lock(&self.rules);
        let key = if rules.contains_key(operation) {
            operation
        } else {
            ANY_OPERATION
        };
        let rule = rules.get_mut(key)?;
        if rule.spec.times.is_some_and(|n| rule.fired >= n) {
            return None;
        }
        let (seed, server) = (self.seed, self.server.as_str());
        let stream = rule
            .streams
            .entry(operation.to_owned())
            .or_insert_with(|| SplitMix::derived(seed, &[server, key, operation]));
        let draw = stream.next_f64();
        if draw < rule.spec.rate {
            rule.fired += 1;
            Some(rule.spec.kind.clone())
        } else {
            None
        }
    }
}

/// A poisoned lock only means another request panicked mid-update; the maps stay usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(f: &Faults, op: &str, n: usize) -> Vec<bool> {
        (0..n).map(|_| f.decide(op).is_some()).collect()
    }

    #[test]
    fn rate_is_deterministic_per_seed_and_roughly_right() {
        let a = Faults::new(11, "whm-a");
        let b = Faults::new(11, "whm-a");
        let c = Faults::new(12, "whm-a");
        for f in [&a, &b, &c] {
            f.set("createacct", FaultSpec::with_rate(FaultKind::Timeout, 0.3));
        }
        let pa = pattern(&a, "createacct", 1000);
        assert_eq!(pa, pattern(&b, "createacct", 1000));
        assert_ne!(pa, pattern(&c, "createacct", 1000));
        let fired = pa.iter().filter(|x| **x).count();
        assert!((230..=370).contains(&fired), "{fired} of 1000 at rate 0.3");
    }

    #[test]
    fn wildcard_times_and_clear() {
        let f = Faults::new(1, "s");
        f.set(ANY_OPERATION, FaultSpec::times(FaultKind::Drop, 2));
        f.set("version", FaultSpec::with_rate(FaultKind::Malformed, 0.0));
        assert_eq!(f.decide("listaccts"), Some(FaultKind::Drop));
        assert_eq!(f.decide("createacct"), Some(FaultKind::Drop));
        assert_eq!(f.decide("listaccts"), None, "times exhausted");
        assert_eq!(f.decide("version"), None, "own rule wins over the wildcard");
        assert_eq!(f.list().len(), 2);
        f.clear();
        assert!(f.list().is_empty());
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            FaultKind::from_name("502", None, None, None, None).ok(),
            Some(FaultKind::Http5xx { status: 502 })
        );
        assert!(FaultKind::from_name("latency", None, None, None, None).is_err());
        assert!(FaultKind::from_name("nonsense", None, None, None, None).is_err());
        assert!(FaultSpec::with_rate(FaultKind::Drop, 1.5).validate().is_err());
    }
}
