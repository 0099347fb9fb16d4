//! Time as the fault engine sees it.
//!
//! The engine only deals in [`Duration`]s since a clock's epoch, so the same
//! code runs on wall time ([`SystemClock`]), on a virtual clock that jumps
//! forward instead of sleeping ([`ManualClock`]), or on tokio's clock
//! ([`TokioClock`], which follows `tokio::time::pause`).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonic clock that can block until a deadline.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time elapsed since this clock's epoch.
    fn now(&self) -> Duration;
    /// Blocks the calling thread until [`Clock::now`] reaches `deadline`.
    fn sleep_until(&self, deadline: Duration);
}

/// Wall-clock time (`std::time::Instant`); sleeping blocks the thread.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    epoch: std::time::Instant,
}

impl SystemClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            epoch: std::time::Instant::now(),
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
        self.epoch.elapsed()
    }
    fn sleep_until(&self, deadline: Duration) {
        let now = self.now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
    }
}

/// Virtual time: starts at zero and only moves when someone sleeps or calls
/// [`ManualClock::advance`]. Sleeping returns at once, so seeded fault tests
/// run thousands of iterations per second. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A virtual clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }
    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(duration_nanos(by), Ordering::SeqCst);
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
    fn sleep_until(&self, deadline: Duration) {
        self.nanos
            .fetch_max(duration_nanos(deadline), Ordering::SeqCst);
    }
}

/// tokio's clock (`tokio::time::Instant`): virtual under
/// `#[tokio::test(start_paused = true)]`. Used by the async stream and the proxy.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    epoch: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose epoch is tokio's now.
    pub fn new() -> Self {
        Self {
            epoch: tokio::time::Instant::now(),
        }
    }
    /// The tokio instant matching an engine time.
    pub fn instant_at(&self, at: Duration) -> tokio::time::Instant {
        self.epoch + at
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
    fn sleep_until(&self, deadline: Duration) {
        let now = self.now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_jumps_to_deadline_without_waiting() {
        let clock = ManualClock::new();
        clock.sleep_until(Duration::from_secs(3600));
        assert_eq!(clock.now(), Duration::from_secs(3600));
        clock.sleep_until(Duration::from_secs(1));
        assert_eq!(
            clock.now(),
            Duration::from_secs(3600),
            "time never goes back"
        );
        clock.advance(Duration::from_millis(5));
        assert_eq!(clock.now(), Duration::from_millis(3_600_005));
    }
}
