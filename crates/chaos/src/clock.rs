//! Time as the fault engine sees it.
//!
//! The engine only deals in [`Duration`]s since a clock's epoch, so the same
//! code runs on wall time ([`SystemClock`]), on a virtual clock that jumps
//! forward instead of sleeping ([`ManualClock`]), or on tokio's clock
//! ([`TokioClock`], which follows `tokio::time::pause`).
//!
//! [`Clock`], [`SystemClock`] and [`ManualClock`] are ballast-clock's,
//! re-exported here: the `ManualClock` that drives a `FaultyStream` or a
//! `History` is the one ballast-resilience's breaker and retry take.

use std::time::Duration;

pub use ballast_clock::{Clock, ManualClock, SharedClock, SystemClock};

/// tokio's clock (`tokio::time::Instant`): virtual under
/// `#[tokio::test(start_paused = true)]`. Used by the async stream and the
/// proxy, which wait on tokio timers at [`TokioClock::instant_at`]; a
/// blocking [`Clock::sleep_until`] sleeps the thread.
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

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::new();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(clock.now(), Duration::from_secs(5));
        assert_eq!(
            clock.instant_at(Duration::from_secs(5)),
            tokio::time::Instant::now()
        );
    }
}
