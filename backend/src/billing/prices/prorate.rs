//! Proration of a price difference over what is left of a billing period (docs/adr/0026).
//!
//! The rule: the share of `amount` that belongs to the first `t` seconds of a `period` is
//! `amount · t / period` rounded towards zero (in i128), and the share of a stretch `[a, b)`
//! is `cum(b) − cum(a)`. The shares of any split of a period telescope to
//! `cum(period) − cum(0) = amount`: no cent is created or lost however often a service
//! changes plan. Rounding towards zero makes `cum(−x) = −cum(x)`, so a charge and a credit
//! of the same stretch are exact opposites.

use chrono::{DateTime, Months, Utc};

/// The share of `amount` in the first `elapsed` seconds of `period` (both clamped to it).
pub fn cumulative(amount: i64, elapsed: i64, period: i64) -> i64 {
    if period <= 0 {
        return amount;
    }
    let t = i128::from(elapsed.clamp(0, period));
    let v = i128::from(amount) * t / i128::from(period);
    // |v| ≤ |amount|, so it fits.
    i64::try_from(v).unwrap_or(amount)
}

/// The share of `amount` in the stretch `[from, to)` of `period` seconds.
pub fn share(amount: i64, from: i64, to: i64, period: i64) -> i64 {
    cumulative(amount, to, period) - cumulative(amount, from, period)
}

/// What is left of `amount` after `elapsed` seconds of `period`: the stretch to its end.
pub fn remaining(amount: i64, elapsed: i64, period: i64) -> i64 {
    share(amount, elapsed, period, period)
}

/// Months in a billing cycle; `None` for one-time charges (nothing to prorate).
pub fn cycle_months(cycle: &str) -> Option<u32> {
    match cycle {
        "monthly" => Some(1),
        "quarterly" => Some(3),
        "semiannual" => Some(6),
        "annual" => Some(12),
        "biennial" => Some(24),
        "triennial" => Some(36),
        _ => None,
    }
}

/// The current period of a service billed on `cycle` and next due at `due`, and how far
/// `at` is into it, in seconds: `(elapsed, period)`. `None` when there is no running period
/// (one-time, not yet billed, or already past due).
pub fn position(cycle: &str, due: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<(i64, i64)> {
    let due = due?;
    let start = due.checked_sub_months(Months::new(cycle_months(cycle)?))?;
    if at >= due {
        return None;
    }
    let period = (due - start).num_seconds();
    let elapsed = (at - start).num_seconds().clamp(0, period);
    Some((elapsed, period))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn halves_and_rounding() {
        // 30 days, 10 left: a 3000 difference leaves 1000.
        let p = 30 * 86_400;
        assert_eq!(remaining(3000, 20 * 86_400, p), 1000);
        // 1 cent over 3 thirds: 0, 0, 1 — floor of the cumulative share.
        assert_eq!(share(1, 0, 1, 3), 0);
        assert_eq!(share(1, 1, 2, 3), 0);
        assert_eq!(share(1, 2, 3, 3), 1);
        // A credit is the exact opposite of the charge of the same stretch.
        assert_eq!(share(-7, 1, 2, 3), -share(7, 1, 2, 3));
        assert_eq!(share(-1, 2, 3, 3), -1);
        assert_eq!(remaining(-1000, 0, p), -1000);
        assert_eq!(remaining(500, p, p), 0);
    }

    #[test]
    fn positions() {
        let due: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap_or_default();
        let at: DateTime<Utc> = "2026-02-15T00:00:00Z".parse().unwrap_or_default();
        // February 2026 has 28 days; 14 elapsed.
        assert_eq!(position("monthly", Some(due), at), Some((14 * 86_400, 28 * 86_400)));
        assert_eq!(position("one_time", Some(due), at), None);
        assert_eq!(position("monthly", None, at), None);
        assert_eq!(position("monthly", Some(at), due), None);
    }

    proptest! {
        /// Any split of a period into stretches: the shares sum to the difference exactly.
        #[test]
        fn shares_of_any_split_sum_to_the_difference(
            diff in -10_000_000_000i64..10_000_000_000,
            period in 1i64..100_000_000,
            cuts in prop::collection::vec(0.0f64..1.0, 0..12),
        ) {
            let mut points: Vec<i64> = cuts.iter().map(|c| (c * period as f64) as i64).collect();
            points.push(0);
            points.push(period);
            points.sort_unstable();
            let sum: i64 = points.windows(2).map(|w| share(diff, w[0], w[1], period)).sum();
            prop_assert_eq!(sum, diff);
        }

        /// Upgrading at `t` then downgrading at `u`: the charge and the credit of each
        /// stretch, plus what is left, add up to exactly the differences charged.
        #[test]
        fn charge_then_credit_never_creates_a_cent(
            old in 0i64..1_000_000, new in 0i64..1_000_000,
            period in 1i64..10_000_000, a in 0.0f64..1.0, b in 0.0f64..1.0,
        ) {
            let (t, u) = {
                let (x, y) = ((a * period as f64) as i64, (b * period as f64) as i64);
                (x.min(y), x.max(y))
            };
            let up = remaining(new - old, t, period);
            let down = remaining(old - new, u, period);
            // Net: the difference for [t, u) only, and a credit mirrors a charge.
            prop_assert_eq!(up + down, share(new - old, t, u, period));
            prop_assert_eq!(down, -remaining(new - old, u, period));
            // Each never exceeds the whole difference.
            prop_assert!(up.abs() <= (new - old).abs());
        }
    }
}
