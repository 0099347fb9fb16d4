//! Test seeds: one `u64` drives a run, and a failing run says which.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::rng::{SeededRng, mix64};

/// Environment variable read by [`SeedGuard::from_env`]: set it to replay a
/// run with the seed a failure printed.
pub const SEED_ENV: &str = "BALLAST_SEED";

/// Holds a test's seed and prints it if the test panics, so the failing run
/// can be replayed with `BALLAST_SEED=<seed>`.
///
/// ```
/// use ballast_clock::SeedGuard;
///
/// let guard = SeedGuard::new(42);
/// let mut rng = guard.rng();
/// assert_eq!(rng.next_u64(), SeedGuard::new(42).rng().next_u64());
/// ```
#[derive(Debug)]
pub struct SeedGuard {
    seed: u64,
}

impl SeedGuard {
    /// Uses [`SEED_ENV`] (`BALLAST_SEED`) when set to a valid `u64`, else a
    /// seed from the system time.
    pub fn from_env() -> Self {
        let seed = std::env::var(SEED_ENV)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(time_seed);
        Self { seed }
    }

    /// A guard for a fixed seed.
    pub const fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The seed.
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    /// A generator seeded with the seed.
    pub const fn rng(&self) -> SeededRng {
        SeededRng::new(self.seed)
    }
}

/// A seed from the wall clock's nanoseconds, mixed so close times differ
/// in every bit.
fn time_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Truncation keeps the fast-moving low bits, which is all a seed needs.
    mix64(nanos as u64)
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "ballast seed: {} (replay with {SEED_ENV}={})",
                self.seed, self.seed
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_guard_keeps_its_seed_and_seeds_its_rng() {
        let guard = SeedGuard::new(9);
        assert_eq!(guard.seed(), 9);
        assert_eq!(guard.rng().next_u64(), SeededRng::new(9).next_u64());
    }

    #[test]
    fn time_seeds_differ_between_calls() {
        let seeds: Vec<_> = (0..4)
            .map(|_| {
                std::thread::sleep(std::time::Duration::from_micros(10));
                time_seed()
            })
            .collect();
        assert!(seeds.windows(2).all(|w| w[0] != w[1]), "{seeds:?}");
    }
}
