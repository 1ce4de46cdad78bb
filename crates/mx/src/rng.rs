//! A tiny deterministic random number generator seeded by the caller.
//!
//! The lookup machine never reads a global random source: query ids and the order of
//! mail exchangers with equal preference come from this generator, so that a caller who
//! passes the same seed and the same DNS answers gets the same route (useful for tests and
//! for reproducing a delivery decision), and a caller who wants unpredictability seeds it
//! from a real entropy source.

/// SplitMix64: a 64-bit generator with a single word of state.
///
/// It is fast, has no bad seeds, and its output is well distributed, which is all that
/// shuffling equal MX preferences and picking DNS query ids need. It is **not** a
/// cryptographic generator: query ids only need to be hard to guess if the seed is.
///
/// ```
/// use postwerk_mx::Rng;
/// let mut a = Rng::new(7);
/// let mut b = Rng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let mut v = [1, 2, 3, 4, 5];
/// a.shuffle(&mut v);
/// v.sort();
/// assert_eq!(v, [1, 2, 3, 4, 5]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

/// The SplitMix64 increment (the odd integer closest to 2^64 / φ).
pub(crate) const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function, applied to a state value.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole future output is determined by `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// The next 16 random bits (used for DNS query ids).
    pub fn next_u16(&mut self) -> u16 {
        // The top bits of SplitMix64 output are as good as any; truncation is intended.
        (self.next_u64() >> 48) as u16
    }

    /// A number in `0..n` (0 when `n` is 0), by Lemire's multiply-shift reduction.
    pub fn below(&mut self, n: usize) -> usize {
        let wide = u128::from(self.next_u64()) * n as u128;
        // The high half of a 64x64 product is below n, which fits in usize.
        (wide >> 64) as usize
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        let mut i = items.len();
        while i > 1 {
            let j = self.below(i);
            i -= 1;
            items.swap(i, j);
        }
    }
}

impl Default for Rng {
    /// A generator seeded with 0: deterministic, for tests. Seed real lookups yourself.
    fn default() -> Self {
        Self::new(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(1);
        for n in 1..100 {
            assert!(rng.below(n) < n);
        }
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn shuffle_reaches_every_order_of_three() {
        let mut rng = Rng::new(99);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let mut v = [0u8, 1, 2];
            rng.shuffle(&mut v);
            seen.insert(v);
        }
        assert_eq!(seen.len(), 6);
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let mut c = Rng::new(43);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }
}
