//! The one seeded pseudo-random generator of ballast (SplitMix64).
//!
//! Retry jitter, breaker and pool jitter, every fault the chaos engine
//! injects and every benchmark input come from a [`SeededRng`], so the same
//! seed gives the same decisions on every platform and release.

/// The SplitMix64 increment (the golden ratio in 64 bits); also handy to
/// spread a small ordinal before xoring it into a seed.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: spreads every input bit over the output (a
/// bijection on `u64`, so distinct inputs give distinct outputs).
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small seeded pseudo-random generator (SplitMix64): 8 bytes of state,
/// a few instructions per draw, and the same stream for the same seed on
/// every platform, so jitter and faults replay in tests.
///
/// ```
/// use ballast_clock::SeededRng;
///
/// let mut a = SeededRng::new(42);
/// let mut b = SeededRng::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below_inclusive(6) <= 6);
/// assert!((0.0..1.0).contains(&a.next_f64()));
/// ```
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// Creates a generator from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Returns the next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix64(self.0)
    }

    /// Returns a uniformly distributed value in `0..=max`.
    #[inline]
    pub fn below_inclusive(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        // Multiply-shift reduction; the bias is below 2^-64 per draw.
        ((u128::from(self.next_u64()) * u128::from(max + 1)) >> 64) as u64
    }

    /// Returns a uniformly distributed `f64` in `[0, 1)` (53 random bits).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }

    /// True with probability `p` (false for `p <= 0`, true for `p >= 1`).
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Fills `buf` with random bytes, eight per draw (little-endian).
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_splitmix64_and_fixed_by_the_seed() {
        // The reference SplitMix64 outputs for seed 0 (Vigna's splitmix64.c).
        let mut rng = SeededRng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let a: Vec<_> = (0..8).map(|_| SeededRng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(SeededRng::new(7).next_u64(), SeededRng::new(8).next_u64());
    }

    #[test]
    fn below_inclusive_stays_in_range_and_reaches_both_ends() {
        let mut rng = SeededRng::new(3);
        let draws: Vec<_> = (0..1000).map(|_| rng.below_inclusive(3)).collect();
        assert!(draws.iter().all(|&d| d <= 3));
        assert!(draws.contains(&0) && draws.contains(&3));
        assert_eq!(SeededRng::new(1).below_inclusive(0), 0);
    }

    #[test]
    fn unit_floats_are_in_range_and_roughly_uniform() {
        let mut rng = SeededRng::new(11);
        let mut below_half = 0;
        for _ in 0..4000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x), "{x} outside [0, 1)");
            below_half += u32::from(x < 0.5);
        }
        assert!((1800..2200).contains(&below_half), "{below_half} of 4000");
        assert!(!rng.chance(0.0));
        assert!(rng.chance(1.0));
    }

    #[test]
    fn fill_writes_the_draws_in_little_endian_order() {
        let mut bytes = [0u8; 12];
        SeededRng::new(5).fill(&mut bytes);
        let mut rng = SeededRng::new(5);
        let first = rng.next_u64().to_le_bytes();
        let second = rng.next_u64().to_le_bytes();
        assert_eq!(bytes[..8], first);
        assert_eq!(bytes[8..], second[..4]);
    }
}
