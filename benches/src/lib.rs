//! Shared inputs for the ballast benchmarks.
//!
//! Every benchmark input is generated here from a fixed seed, so a figure
//! measured today and one measured next month ran on the same bytes. The
//! benchmarks themselves live in `benches/benches/*.rs`, one file per area,
//! each comparing ballast with its peer crates in the same criterion group.
#![deny(missing_docs)]

/// A small, fast, seeded pseudo-random generator (SplitMix64) for building
/// benchmark inputs; deterministic across platforms and releases.
#[derive(Debug, Clone)]
pub struct InputRng(u64);

impl InputRng {
    /// Creates a generator from a seed; the same seed gives the same stream.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a value in `0..bound` (`bound` must be non-zero).
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "InputRng::below needs a non-zero bound");
        self.next_u64() % bound
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}
pub mod codec_corpus;
