//! A small deterministic pseudo-random generator (SplitMix64), so that the demo data is the same on
//! every run and every platform without depending on the `rand` crate.

/// SplitMix64 (Steele, Lea and Flood 2014): a 64-bit state advanced by a Weyl sequence and
/// scrambled by a fixed mixing function. Fast, statistically adequate for demo data, and fully
/// reproducible from its seed.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

/// The Weyl increment of SplitMix64 (the golden ratio in 64-bit fixed point).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent generator for one `key` of one `stream` (e.g. stream "consents", key = the
    /// student number), so each record's random choices do not depend on the order records are
    /// generated in.
    pub fn keyed(seed: u64, stream: u64, key: u64) -> Self {
        Self::new(mix(seed
            ^ mix(
                stream.wrapping_mul(GOLDEN_GAMMA) ^ mix(key.wrapping_add(GOLDEN_GAMMA))
            )))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// A uniform integer in `0..n` (0 when `n` is 0), by Lemire's multiply-shift reduction.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform index into a collection of `len` items (0 when `len` is 0).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A uniform integer in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < u64::from(percent)
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// An element chosen with probability proportional to its weight. The slice must be non-empty;
    /// if all weights are zero the first element is returned.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for (item, weight) in items {
            let weight = u64::from(*weight);
            if roll < weight {
                return *item;
            }
            roll -= weight;
        }
        items[0].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let first: Vec<u64> = (0..1000).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..1000).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        assert_ne!(Rng::new(43).next_u64(), first[0]);
    }

    #[test]
    fn splitmix64_matches_the_reference_output() {
        // Reference values of SplitMix64 seeded with 0 (as in Vigna's splitmix64.c).
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn keyed_generators_are_stable_and_distinct() {
        let a: Vec<u64> = (0..10).map(|k| Rng::keyed(7, 1, k).next_u64()).collect();
        let b: Vec<u64> = (0..10).map(|k| Rng::keyed(7, 1, k).next_u64()).collect();
        assert_eq!(a, b);
        let mut unique = a.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), a.len());
        assert_ne!(Rng::keyed(7, 2, 0).next_u64(), a[0]);
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            assert!(rng.below(7) < 7);
            let r = rng.range(-3, 3);
            assert!((-3..=3).contains(&r));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.range(5, 5), 5);
        let picks: Vec<&str> = (0..1000)
            .map(|_| rng.weighted(&[("a", 0), ("b", 1)]))
            .collect();
        assert!(picks.iter().all(|p| *p == "b"));
    }
}
