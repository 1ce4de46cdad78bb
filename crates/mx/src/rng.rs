//! A tiny deterministic random number generator seeded by the caller.
//!
//! The lookup machine never reads a global random source: its internal query ids and the
//! order of mail exchangers with equal preference come from this generator, so that a
//! caller who passes the same seed and the same DNS answers gets the same route (useful
//! for tests and for reproducing a delivery decision). A caller who wants
//! unpredictability seeds it with [`Rng::from_os_entropy`] (which is also what
//! [`Rng::default`] does); no default uses a fixed seed.
//!
//! Query ids that go on the wire must be unpredictable whatever the seed (RFC 5452
//! section 9.2): the tokio driver replaces them with ids from the operating system's
//! CSPRNG, one per transmission, and a sans-IO caller that sends queries itself should
//! do the same (or seed this generator from the OS for every lookup).

/// SplitMix64: a 64-bit generator with a single word of state.
///
/// It is fast, has no bad seeds, and its output is well distributed, which is all that
/// shuffling equal MX preferences needs. It is **not** a cryptographic generator: whoever
/// sees a few outputs can predict the rest, so ids sent on the wire must not come from it
/// alone (see the module docs).
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

impl Rng {
    /// A generator seeded from the operating system's CSPRNG (`getrandom(2)` and its
    /// equivalents), or `None` if the operating system gave no random bytes.
    ///
    /// ```
    /// use postwerk_mx::Rng;
    /// let a = Rng::from_os_entropy().expect("an OS random source");
    /// let b = Rng::from_os_entropy().expect("an OS random source");
    /// assert_ne!(a, b);
    /// ```
    pub fn from_os_entropy() -> Option<Self> {
        getrandom::u64().ok().map(Self::new)
    }
}

impl Default for Rng {
    /// A generator seeded from the operating system ([`Rng::from_os_entropy`]); if that
    /// fails, from the standard library's per-process random hash keys. Never a fixed
    /// seed: use [`Rng::new`] for a reproducible stream.
    fn default() -> Self {
        Self::from_os_entropy().unwrap_or_else(|| {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(GAMMA);
            Self::new(h.finish())
        })
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
    fn default_is_not_a_fixed_seed() {
        let streams: std::collections::HashSet<u64> =
            (0..8).map(|_| Rng::default().next_u64()).collect();
        assert_eq!(streams.len(), 8, "eight defaults, eight different streams");
        assert_ne!(Rng::default(), Rng::new(0));
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
