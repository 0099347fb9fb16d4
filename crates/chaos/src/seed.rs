//! Seeds: one `u64` drives every random decision.
//!
//! Each toxic on each connection gets its own RNG derived from
//! (seed, proxy name, stream, connection ordinal, toxic name), so adding,
//! removing or reordering toxics never changes another toxic's decisions,
//! and a run replays exactly from its seed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::toxic::Stream;

/// Environment variable read by [`SeedGuard::from_env`].
pub const SEED_ENV: &str = "BALLAST_CHAOS_SEED";

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

/// SplitMix64 finaliser: spreads every input bit over the output.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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

/// The RNG of one toxic on one connection.
pub fn toxic_rng(seed: u64, proxy: &str, stream: Stream, ordinal: u64, toxic: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive_seed(seed, proxy, stream, ordinal, toxic))
}

/// Holds a test's seed and prints it if the test panics, so the failing run
/// can be replayed with `BALLAST_CHAOS_SEED=<seed>`.
#[derive(Debug)]
pub struct SeedGuard {
    seed: u64,
}

impl SeedGuard {
    /// Uses `BALLAST_CHAOS_SEED` when set and valid, else a seed from the
    /// system time.
    pub fn from_env() -> Self {
        let seed = std::env::var(SEED_ENV)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                mix64(nanos as u64)
            });
        Self { seed }
    }
    /// A guard for a fixed seed.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "ballast-chaos seed: {} (replay with {SEED_ENV}={})",
                self.seed, self.seed
            );
        }
    }
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
