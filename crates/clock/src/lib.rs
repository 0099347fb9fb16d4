//! One clock for ballast: time and seeded randomness for every crate.
//!
//! `ballast-clock` sits at the bottom of the workspace and depends on no
//! other ballast crate. It holds the one [`Clock`] trait that
//! ballast-resilience (breaker, retry, pool, limiter, budget) and
//! ballast-chaos (fault engine, `FaultyStream`, `History`) read time
//! through, the clocks that implement it, the process-wide [`coarse`] tick,
//! the one seeded generator ([`SeededRng`], SplitMix64) and [`SeedGuard`].
//!
//! | item | what it is |
//! |---|---|
//! | [`Clock`] | monotonic time since an epoch, in nanoseconds, and a way to wait until a time on that scale |
//! | [`SystemClock`] | `std::time::Instant`; sleeping blocks the thread |
//! | `FastClock` | the CPU's time-stamp counter through `quanta` (feature `quanta`) |
//! | [`ManualClock`] | virtual time: moves when told to or when slept on; clones share one time |
//! | [`SkewedClock`] | another clock made wrong on purpose: jumped back or forth, run fast or slow (clock faults) |
//! | [`coarse::tick`] | a process-wide number that changes every [`COARSE_TICK`] while asked for |
//! | [`SeededRng`] | SplitMix64: the same seed gives the same stream everywhere |
//! | [`SeedGuard`] | a test's seed from `BALLAST_SEED`, printed if the test fails |
//!
//! Because every primitive takes its time from a `Clock`, one
//! [`ManualClock`] drives a circuit breaker, a retry schedule, a faulty
//! stream and an operation history together, and a test never sleeps:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ballast_clock::{Clock, ManualClock, SharedClock};
//!
//! let clock = ManualClock::new();
//! // Primitives hold a `SharedClock` (an `Arc<dyn Clock>`) or a clone.
//! let shared: SharedClock = Arc::new(clock.clone());
//! clock.advance(Duration::from_secs(30));
//! assert_eq!(shared.now(), Duration::from_secs(30));
//! // Sleeping on virtual time jumps to the deadline at once.
//! shared.sleep_until(Duration::from_secs(90));
//! assert_eq!(clock.now(), Duration::from_secs(90));
//! ```
//!
//! # Feature flags
//!
//! - `quanta` (default): `FastClock`, a time-stamp-counter clock that
//!   costs a few nanoseconds per reading; [`system_clock`] returns one.
//!   Without it [`system_clock`] returns a [`SystemClock`].
//!
//! The crate is loom-agnostic: its atomics are std's, which loom models
//! may read (as they read a `ManualClock`) but do not explore.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod clock;
pub mod coarse;
mod rng;
mod seed;
mod skewed;

#[cfg(feature = "quanta")]
#[cfg_attr(docsrs, doc(cfg(feature = "quanta")))]
pub use clock::FastClock;
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, duration_nanos, system_clock};
pub use coarse::COARSE_TICK;
pub use rng::{GOLDEN_GAMMA, SeededRng, mix64};
pub use seed::{SEED_ENV, SeedGuard};
pub use skewed::{MAX_SKEW_RATE, MAX_SKEWED_SLEEP, MIN_SKEW_RATE, SkewedClock};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<crate::ManualClock>();
        assert_send_sync::<crate::SystemClock>();
        #[cfg(feature = "quanta")]
        assert_send_sync::<crate::FastClock>();
        assert_send_sync::<crate::SharedClock>();
        assert_send_sync::<crate::SeededRng>();
        assert_send_sync::<crate::SeedGuard>();
        assert_send_sync::<crate::SkewedClock>();
    }
}
