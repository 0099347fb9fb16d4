//! The [`Clock`] trait and the clocks every ballast crate shares.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic time source measured from an arbitrary origin (the clock's
/// epoch), which can also wait until a time on its own scale.
///
/// Every time-based primitive in ballast reads time through a `Clock`: the
/// breaker, retry, pool and limiter of ballast-resilience, the fault engine,
/// `FaultyStream` and `History` of ballast-chaos. So one [`ManualClock`]
/// drives all of them in a test, and nothing sleeps.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Returns the time elapsed since this clock's epoch.
    fn now(&self) -> Duration;

    /// Returns [`Clock::now`] in whole nanoseconds (saturating at `u64::MAX`).
    fn now_nanos(&self) -> u64 {
        duration_nanos(self.now())
    }

    /// True when this clock moves with real time, so a primitive may reuse
    /// a comparison made within the last [`COARSE_TICK`](crate::COARSE_TICK)
    /// of real time instead of reading the clock again (an open breaker
    /// does). The default is false: every decision takes a fresh reading,
    /// which is what a test clock such as [`ManualClock`] needs.
    fn follows_real_time(&self) -> bool {
        false
    }

    /// Blocks the calling thread until [`Clock::now`] reaches `deadline`
    /// (returns at once if it has). A real-time clock sleeps the thread; a
    /// virtual clock such as [`ManualClock`] jumps forward instead.
    fn sleep_until(&self, deadline: Duration);
}

/// A shared, type-erased clock as the primitives hold it.
pub type SharedClock = Arc<dyn Clock>;

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }

    fn follows_real_time(&self) -> bool {
        (**self).follows_real_time()
    }

    fn sleep_until(&self, deadline: Duration) {
        (**self).sleep_until(deadline);
    }
}

/// Returns the default shared clock: a `FastClock` with the `quanta`
/// feature (the default), a [`SystemClock`] without it.
pub fn system_clock() -> SharedClock {
    #[cfg(feature = "quanta")]
    {
        Arc::new(crate::FastClock::new())
    }
    #[cfg(not(feature = "quanta"))]
    {
        Arc::new(SystemClock::new())
    }
}

/// `d` in whole nanoseconds, saturating at `u64::MAX` (about 584 years).
#[inline]
pub fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Sleeps the thread until `clock` (a real-time clock) reaches `deadline`.
pub(crate) fn sleep_thread_until(clock: &impl Clock, deadline: Duration) {
    let now = clock.now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

/// The real monotonic clock (`std::time::Instant`), measured from its
/// creation; sleeping blocks the thread.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    epoch: Instant,
}

impl SystemClock {
    /// Creates a system clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }

    /// The instant this clock's times count from.
    pub fn epoch(&self) -> Instant {
        self.epoch
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

    fn follows_real_time(&self) -> bool {
        true
    }

    fn sleep_until(&self, deadline: Duration) {
        sleep_thread_until(self, deadline);
    }
}

/// Virtual time: starts at zero and moves only when told to
/// ([`advance`](Self::advance), [`set`](Self::set)) or when someone sleeps
/// on it, which jumps to the deadline at once, so seeded tests run
/// thousands of timed iterations per second. Clones share the same time:
/// hand one clone to every primitive and drive them all from the test.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// Creates a manual clock standing at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward by `by`, stopping at the largest time the clock
    /// holds (about 584 years) instead of wrapping back to zero.
    pub fn advance(&self, by: Duration) {
        let by = duration_nanos(by);
        // The closure always returns `Some`, so the update cannot fail.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Sets the absolute time.
    ///
    /// # Panics
    ///
    /// If `to` is earlier than the current time: a monotonic clock never
    /// moves backwards, and a test that asks it to has a bug.
    pub fn set(&self, to: Duration) {
        let to = duration_nanos(to);
        // Refuse before writing, so no clone ever sees time go back.
        let moved = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                (t <= to).then_some(to)
            });
        assert!(
            moved.is_ok(),
            "ManualClock::set must not move time backwards"
        );
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }

    /// Jumps to `deadline` unless time is already past it; never waits.
    fn sleep_until(&self, deadline: Duration) {
        self.nanos
            .fetch_max(duration_nanos(deadline), Ordering::SeqCst);
    }
}

/// A fast monotonic clock: the CPU's time-stamp counter calibrated to
/// nanoseconds (through `quanta`), falling back to the OS monotonic clock
/// where the counter is not reliable. Reading it costs a few nanoseconds
/// instead of the tens a `clock_gettime` call costs, which matters on hot
/// paths (rate limiter, open-state rejection). It is the default clock of
/// ballast-resilience.
#[cfg(feature = "quanta")]
#[cfg_attr(docsrs, doc(cfg(feature = "quanta")))]
#[derive(Debug, Clone)]
pub struct FastClock {
    clock: quanta::Clock,
    origin: u64,
}

#[cfg(feature = "quanta")]
#[cfg_attr(docsrs, doc(cfg(feature = "quanta")))]
impl FastClock {
    /// Creates a fast clock whose epoch is now (the first one calibrates
    /// the counter, which takes a few milliseconds once per process).
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        Self { clock, origin }
    }
}

#[cfg(feature = "quanta")]
#[cfg_attr(docsrs, doc(cfg(feature = "quanta")))]
impl Default for FastClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "quanta")]
#[cfg_attr(docsrs, doc(cfg(feature = "quanta")))]
impl Clock for FastClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }

    fn follows_real_time(&self) -> bool {
        true
    }

    fn sleep_until(&self, deadline: Duration) {
        sleep_thread_until(self, deadline);
    }
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
        other.set(Duration::from_millis(9));
        assert_eq!(clock.now(), Duration::from_millis(9));
    }

    #[test]
    #[should_panic(expected = "must not move time backwards")]
    fn manual_clock_refuses_to_go_back() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(2));
        clock.set(Duration::from_secs(1));
    }

    #[test]
    fn manual_clock_refused_set_leaves_time_where_it_was() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(2));
        let other = clock.clone();
        let refused = std::panic::catch_unwind(|| other.set(Duration::from_secs(1)));
        assert!(refused.is_err(), "a backwards set panics");
        assert_eq!(clock.now(), Duration::from_secs(2), "and changes nothing");
    }

    #[test]
    fn manual_clock_advance_saturates_instead_of_wrapping() {
        let clock = ManualClock::new();
        clock.sleep_until(Duration::MAX);
        let top = clock.now();
        clock.advance(Duration::from_nanos(1));
        assert_eq!(clock.now(), top, "time never wraps back to zero");
    }

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

    #[test]
    fn a_shared_clock_is_the_clock_it_wraps() {
        let clock = ManualClock::new();
        let shared: SharedClock = Arc::new(clock.clone());
        shared.sleep_until(Duration::from_millis(7));
        assert_eq!(clock.now(), Duration::from_millis(7));
        assert_eq!(Clock::now_nanos(&shared), 7_000_000);
        assert!(!shared.follows_real_time());
    }

    #[cfg(feature = "quanta")]
    #[test]
    fn fast_clock_advances_with_real_time() {
        let clock = FastClock::new();
        let a = clock.now_nanos();
        clock.sleep_until(Duration::from_nanos(a) + Duration::from_millis(2));
        let b = clock.now_nanos();
        assert!(b > a, "fast clock did not advance across a 2 ms sleep");
    }

    #[test]
    fn only_real_time_clocks_allow_reusing_a_reading() {
        #[cfg(feature = "quanta")]
        assert!(FastClock::new().follows_real_time());
        assert!(SystemClock::new().follows_real_time());
        assert!(!ManualClock::new().follows_real_time());
        assert!(system_clock().follows_real_time());
    }

    #[test]
    fn system_clock_sleeps_until_its_deadline() {
        let clock = SystemClock::new();
        let deadline = clock.now() + Duration::from_millis(1);
        clock.sleep_until(deadline);
        assert!(clock.now() >= deadline);
    }

    #[test]
    fn duration_nanos_saturates() {
        assert_eq!(duration_nanos(Duration::from_micros(3)), 3_000);
        assert_eq!(duration_nanos(Duration::MAX), u64::MAX);
    }
}
