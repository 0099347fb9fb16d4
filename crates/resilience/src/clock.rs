//! Time source abstraction, so time-based behaviour is testable without sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic time source measured from an arbitrary origin.
///
/// Every time-based primitive in this crate reads time through a `Clock`, so
/// tests can drive time with a [`ManualClock`] instead of sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Returns the time elapsed since this clock's origin.
    fn now(&self) -> Duration;

    /// Returns [`Clock::now`] in whole nanoseconds (saturating at `u64::MAX`).
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.now().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The real monotonic clock (`std::time::Instant`), measured from its creation.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// Creates a system clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A fast monotonic clock: the CPU's time-stamp counter calibrated to
/// nanoseconds (through `quanta`), falling back to the OS monotonic clock
/// where the counter is not reliable. Reading it costs a few nanoseconds
/// instead of the tens a `clock_gettime` call costs, which matters on hot
/// paths (rate limiter, open-state rejection). It is the default clock.
#[derive(Debug, Clone)]
pub struct FastClock {
    clock: quanta::Clock,
    origin: u64,
}

impl FastClock {
    /// Creates a fast clock whose origin is now (the first one calibrates
    /// the counter, which takes a few milliseconds once per process).
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Self { clock, origin }
    }
}

impl Default for FastClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FastClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// Creates a manual clock standing at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the absolute time; it must not go backwards.
    pub fn set(&self, to: Duration) {
        let to = u64::try_from(to.as_nanos()).unwrap_or(u64::MAX);
        let prev = self.nanos.swap(to, Ordering::SeqCst);
        assert!(prev <= to, "ManualClock::set must not move time backwards");
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// A shared, type-erased clock as held by the primitives.
pub type SharedClock = Arc<dyn Clock>;

/// Returns the default shared clock, a [`FastClock`].
pub fn system_clock() -> SharedClock {
    Arc::new(FastClock::new())
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_time() {
        let clock = ManualClock::new();
        let other = clock.clone();
        assert_eq!(clock.now(), Duration::ZERO);
        other.advance(Duration::from_millis(5));
        assert_eq!(clock.now(), Duration::from_millis(5));
        assert_eq!(clock.now_nanos(), 5_000_000);
    }

    #[test]
    fn fast_clock_advances_with_real_time() {
        let clock = FastClock::new();
        let a = clock.now_nanos();
        std::thread::sleep(Duration::from_millis(2));
        let b = clock.now_nanos();
        assert!(b > a, "fast clock did not advance across a 2 ms sleep");
    }

    #[test]
    fn system_clock_is_monotonic() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
    }
}
