//! A tiny deterministic generator: everything "random" in the sandbox derives from the seed and
//! a name, so one seed replays the same faults, disk sizes and loads (docs/adr/0018).

/// SplitMix64: one u64 of state, good enough statistics for fault rates and sizes.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A stream of its own for `(seed, parts…)`: the calls to one operation do not shift the
    /// draws of another, so concurrency between operations cannot change a run.
    pub fn derived(seed: u64, parts: &[&str]) -> Self {
        Self(mix(seed, parts))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi] (hi ≥ lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// FNV-1a over the parts (with a separator), folded into the seed.
pub fn mix(seed: u64, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ seed;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xFF)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01B3);
        }
    }
    let mut s = SplitMix(h);
    s.next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_names_separate_streams() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = SplitMix::derived(7, &["whm-gru-01", "createacct"]);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = SplitMix::derived(7, &["whm-gru-01", "createacct"]);
        let b: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        let mut other = SplitMix::derived(7, &["whm-gru-01", "listaccts"]);
        assert_ne!(a[0], other.next_u64());
        let mut seed8 = SplitMix::derived(8, &["whm-gru-01", "createacct"]);
        assert_ne!(a[0], seed8.next_u64());
        // "ab","c" and "a","bc" must not collide.
        assert_ne!(mix(1, &["ab", "c"]), mix(1, &["a", "bc"]));
    }

    #[test]
    fn f64_in_unit_interval_and_range_bounds() {
        let mut r = SplitMix::new(42);
        for _ in 0..1000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
            let n = r.range(5, 9);
            assert!((5..=9).contains(&n));
        }
        assert_eq!(r.range(3, 3), 3);
    }
}
