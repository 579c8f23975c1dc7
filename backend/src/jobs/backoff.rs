//! Retry delays: exponential backoff with jitter.

use std::time::Duration;

/// Default first retry delay.
pub const BASE: Duration = Duration::from_secs(5);
/// Longest nominal delay, before jitter.
pub const CAP: Duration = Duration::from_secs(3600);
/// Jitter spreads retries of jobs that failed together over ±20 % of the delay.
pub const JITTER: f64 = 0.2;

/// How failed attempts are spaced: the worker's default, or per kind
/// ([`super::Handlers::retry_policy`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: BASE, cap: CAP }
    }
}

/// The nominal delay after failed attempt number `attempt` (1-based): `base`, then doubling,
/// never above [`CAP`]. Pure; [`RetryPolicy::delay`] adds the jitter.
pub fn backoff(attempt: i64, base: Duration) -> Duration {
    capped(attempt, base, CAP)
}

fn capped(attempt: i64, base: Duration, cap: Duration) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 62)).unwrap_or(62);
    let factor = 1u64.checked_shl(exp).unwrap_or(u64::MAX);
    let factor = u32::try_from(factor).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// Scales `nominal` by `1 + JITTER * unit`, where `unit` is in [-1, 1]. Pure.
pub fn jittered(nominal: Duration, unit: f64) -> Duration {
    let unit = if unit.is_finite() { unit.clamp(-1.0, 1.0) } else { 0.0 };
    nominal.mul_f64(1.0 + JITTER * unit)
}

impl RetryPolicy {
    /// The delay before the retry that follows failed attempt `attempt`, jitter included.
    pub fn delay(&self, attempt: i64) -> Duration {
        jittered(capped(attempt, self.base, self.cap), random_unit())
    }
}

/// A uniform value in [-1, 1]; v4 uuids carry 122 random bits from the OS.
fn random_unit() -> f64 {
    let bits = (uuid::Uuid::new_v4().as_u128() >> 75) as u64; // top 53 bits, mostly random
    let u = (bits & ((1u64 << 53) - 1)) as f64 / (1u64 << 53) as f64;
    u * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn schedule_doubles_from_five_seconds() {
        let s: Vec<u64> = (1..=5).map(|a| backoff(a, BASE).as_secs()).collect();
        assert_eq!(s, vec![5, 10, 20, 40, 80]);
        assert_eq!(backoff(0, BASE), BASE);
        assert_eq!(backoff(30, BASE), CAP);
    }

    proptest! {
        #[test]
        fn never_shrinks_and_never_passes_the_cap(a in -5i64..200, base_ms in 1u64..120_000) {
            let base = Duration::from_millis(base_ms);
            let d = backoff(a, base);
            prop_assert!(d <= CAP);
            prop_assert!(backoff(a + 1, base) >= d);
            if (1..20).contains(&a) {
                let exact = base.checked_mul(1 << (a - 1)).unwrap();
                prop_assert_eq!(d, exact.min(CAP));
            }
        }

        #[test]
        fn jitter_stays_within_twenty_percent(a in 1i64..40, base_ms in 1u64..60_000, unit in -1.0f64..=1.0) {
            let nominal = backoff(a, Duration::from_millis(base_ms));
            let d = jittered(nominal, unit);
            prop_assert!(d >= nominal.mul_f64(0.8) && d <= nominal.mul_f64(1.2));
        }

        #[test]
        fn random_delays_stay_within_twenty_percent(a in 1i64..20) {
            let p = RetryPolicy::default();
            let nominal = backoff(a, BASE);
            let d = p.delay(a);
            prop_assert!(d >= nominal.mul_f64(0.8) && d <= nominal.mul_f64(1.2));
        }
    }
}
