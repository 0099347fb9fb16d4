//! Seeds: one `u64` drives every random decision.
//!
//! Each toxic on each connection gets its own RNG derived from
//! (seed, proxy name, stream, connection ordinal, toxic name), so adding,
//! removing or reordering toxics never changes another toxic's decisions,
//! and a run replays exactly from its seed.
//!
//! The generator ([`SeededRng`], SplitMix64) and [`SeedGuard`] (seed from
//! `BALLAST_SEED`, printed when a test fails) are ballast-clock's,
//! re-exported here.

pub use ballast_clock::{SEED_ENV, SeedGuard, SeededRng, mix64};

use crate::toxic::Stream;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    // Separator so ("ab","c") and ("a","bc") differ.
    hash ^= 0xff;
    hash.wrapping_mul(FNV_PRIME)
}

/// The seed of one toxic's RNG on one connection. Stable across releases.
pub fn derive_seed(seed: u64, proxy: &str, stream: Stream, ordinal: u64, toxic: &str) -> u64 {
    let mut h = fnv(FNV_OFFSET, &seed.to_le_bytes());
    h = fnv(h, proxy.as_bytes());
    h = fnv(h, stream.as_str().as_bytes());
    h = fnv(h, &ordinal.to_le_bytes());
    h = fnv(h, toxic.as_bytes());
    mix64(h)
}

/// The RNG of one toxic on one connection: ballast-clock's [`SeededRng`]
/// seeded with [`derive_seed`].
pub fn toxic_rng(seed: u64, proxy: &str, stream: Stream, ordinal: u64, toxic: &str) -> SeededRng {
    SeededRng::new(derive_seed(seed, proxy, stream, ordinal, toxic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ_per_component_and_are_stable() {
        let base = derive_seed(7, "db", Stream::Downstream, 0, "latency_downstream");
        assert_eq!(
            base,
            derive_seed(7, "db", Stream::Downstream, 0, "latency_downstream")
        );
        assert_ne!(
            base,
            derive_seed(8, "db", Stream::Downstream, 0, "latency_downstream")
        );
        assert_ne!(
            base,
            derive_seed(7, "db2", Stream::Downstream, 0, "latency_downstream")
        );
        assert_ne!(
            base,
            derive_seed(7, "db", Stream::Upstream, 0, "latency_downstream")
        );
        assert_ne!(
            base,
            derive_seed(7, "db", Stream::Downstream, 1, "latency_downstream")
        );
        assert_ne!(
            base,
            derive_seed(7, "db", Stream::Downstream, 0, "latency_upstream")
        );
    }
}
