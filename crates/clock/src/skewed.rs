//! [`SkewedClock`]: a clock that can be made wrong on purpose — jumped
//! forward or back, or run fast or slow — to inject clock faults.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::clock::{Clock, SharedClock, duration_nanos};

/// Slowest rate [`SkewedClock::set_rate`] accepts; slower ones are raised to it.
pub const MIN_SKEW_RATE: f64 = 0.001;

/// Fastest rate [`SkewedClock::set_rate`] accepts; faster ones are lowered to it.
pub const MAX_SKEW_RATE: f64 = 1_000.0;

/// Longest one [`SkewedClock::sleep_until`] blocks, on the inner clock: a
/// deadline taken before a backward jump may lie far ahead, and a sleeper
/// must not hang on it (callers that need the deadline loop, as every
/// ballast waiter does).
pub const MAX_SKEWED_SLEEP: Duration = Duration::from_secs(1);

/// How time is bent: `now = anchor_virtual + (inner - anchor_inner) × rate + offset`.
#[derive(Debug, Clone, Copy)]
struct Skew {
    /// Inner time (ns) when the rate last changed.
    anchor_inner: u64,
    /// Unshifted skewed time (ns) at that moment.
    anchor_virtual: u64,
    rate: f64,
    offset: i64,
}

impl Skew {
    const NONE: Self = Self {
        anchor_inner: 0,
        anchor_virtual: 0,
        rate: 1.0,
        offset: 0,
    };

    /// Skewed time before the offset, at inner time `inner`.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn unshifted(&self, inner: u64) -> u64 {
        let since = inner.saturating_sub(self.anchor_inner);
        if self.rate == 1.0 {
            return self.anchor_virtual.saturating_add(since);
        }
        // A float-to-int cast saturates; since ≤ 584 years, rate ≤ 1000.
        let scaled = (since as f64 * self.rate) as u64;
        self.anchor_virtual.saturating_add(scaled)
    }

    fn at(&self, inner: u64) -> u64 {
        let unshifted = i128::from(self.unshifted(inner));
        let shifted = unshifted + i128::from(self.offset);
        u64::try_from(shifted.max(0)).unwrap_or(u64::MAX)
    }
}

/// A clock over another [`SharedClock`] that a fault can make wrong:
/// [`jump`](Self::jump) it by a signed offset (a backward jump makes
/// [`now`](Clock::now) go back — that is the fault; it stops at zero),
/// [`set_rate`](Self::set_rate) it to run fast or slow, and
/// [`reset`](Self::reset) it to the inner clock's time.
///
/// Hand it (as a `SharedClock` or `Arc<SkewedClock>`) to the code under
/// test and its clients; keep an `Arc` to drive it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ballast_clock::{Clock, ManualClock, SkewedClock};
///
/// let real = ManualClock::new();
/// let skewed = SkewedClock::new(Arc::new(real.clone()));
/// real.advance(Duration::from_secs(10));
/// skewed.jump(-4_000_000_000); // 4 s back
/// assert_eq!(skewed.now(), Duration::from_secs(6));
/// skewed.set_rate(2.0);
/// real.advance(Duration::from_secs(1));
/// assert_eq!(skewed.now(), Duration::from_secs(8));
/// skewed.reset();
/// assert_eq!(skewed.now(), real.now());
/// ```
#[derive(Debug)]
pub struct SkewedClock {
    inner: SharedClock,
    skew: Mutex<Skew>,
}

impl SkewedClock {
    /// A clock showing `inner`'s time until it is skewed.
    pub fn new(inner: SharedClock) -> Self {
        Self {
            inner,
            skew: Mutex::new(Skew::NONE),
        }
    }

    fn skew(&self) -> std::sync::MutexGuard<'_, Skew> {
        // The state is plain numbers, valid even if a holder panicked.
        self.skew.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock by `by_nanos` (negative: back), on top of earlier
    /// jumps; the shown time stops at zero rather than going negative.
    pub fn jump(&self, by_nanos: i64) {
        let mut skew = self.skew();
        skew.offset = skew.offset.saturating_add(by_nanos);
    }

    /// From now on the clock runs at `rate` × the inner clock's speed,
    /// continuing from the time it shows now. `rate` is clamped to
    /// [`MIN_SKEW_RATE`] ..= [`MAX_SKEW_RATE`]; a rate that is not a
    /// number leaves the clock at real speed.
    pub fn set_rate(&self, rate: f64) {
        let rate = if rate.is_nan() {
            1.0
        } else {
            rate.clamp(MIN_SKEW_RATE, MAX_SKEW_RATE)
        };
        let inner = self.inner.now_nanos();
        let mut skew = self.skew();
        skew.anchor_virtual = skew.unshifted(inner);
        skew.anchor_inner = inner;
        skew.rate = rate;
    }

    /// The rate set by [`set_rate`](Self::set_rate) (1 when not skewed).
    pub fn rate(&self) -> f64 {
        self.skew().rate
    }

    /// Undoes every jump and rate: the clock shows the inner clock's time
    /// again. This steps it: forward after a backward jump or a slow rate,
    /// back after a forward jump or a fast rate.
    pub fn reset(&self) {
        *self.skew() = Skew::NONE;
    }

    /// The sum of the jumps since the last [`reset`](Self::reset), in ns.
    pub fn offset_nanos(&self) -> i64 {
        self.skew().offset
    }

    /// Whether it shows the inner clock's time (no jump, real speed).
    pub fn is_true(&self) -> bool {
        let skew = self.skew();
        skew.offset == 0 && skew.rate == 1.0 && skew.anchor_inner == skew.anchor_virtual
    }

    /// The clock it bends.
    pub fn inner(&self) -> &SharedClock {
        &self.inner
    }
}

impl Clock for SkewedClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    fn now_nanos(&self) -> u64 {
        let inner = self.inner.now_nanos();
        self.skew().at(inner)
    }

    /// False: a skewed clock may jump, so every reading must be fresh.
    fn follows_real_time(&self) -> bool {
        false
    }

    /// Sleeps on the inner clock for the time the deadline is away at the
    /// current rate, at most [`MAX_SKEWED_SLEEP`]: it may return before
    /// `deadline` if the clock was jumped back meanwhile, never hangs.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    fn sleep_until(&self, deadline: Duration) {
        let now = self.now_nanos();
        let deadline = duration_nanos(deadline);
        if deadline <= now {
            return;
        }
        let rate = self.rate();
        let away = ((deadline - now) as f64 / rate).ceil() as u64;
        let away = away.min(duration_nanos(MAX_SKEWED_SLEEP));
        let inner_deadline = self.inner.now().saturating_add(Duration::from_nanos(away));
        self.inner.sleep_until(inner_deadline);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ManualClock;

    const SEC: i64 = 1_000_000_000;

    fn skewed() -> (ManualClock, SkewedClock) {
        let real = ManualClock::new();
        let clock = SkewedClock::new(Arc::new(real.clone()));
        real.advance(Duration::from_secs(100));
        (real, clock)
    }

    #[test]
    fn an_unskewed_clock_shows_the_inner_time() {
        let (real, clock) = skewed();
        assert_eq!(clock.now(), real.now());
        assert!(clock.is_true());
    }

    #[test]
    fn a_jump_moves_the_clock_both_ways_and_adds_up() {
        let (real, clock) = skewed();
        clock.jump(30 * SEC);
        assert_eq!(clock.now(), Duration::from_secs(130));
        clock.jump(-50 * SEC);
        assert_eq!(clock.now(), Duration::from_secs(80), "went back");
        assert_eq!(clock.offset_nanos(), -20 * SEC);
        real.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), Duration::from_secs(81), "runs on from there");
    }

    #[test]
    fn a_backward_jump_past_the_epoch_stops_at_zero() {
        let (_real, clock) = skewed();
        clock.jump(-1_000 * SEC);
        assert_eq!(clock.now(), Duration::ZERO);
        clock.jump(i64::MIN);
        clock.jump(i64::MIN);
        assert_eq!(clock.offset_nanos(), i64::MIN, "saturates, never wraps");
        assert_eq!(clock.now(), Duration::ZERO);
    }

    #[test]
    fn a_rate_runs_the_clock_fast_or_slow_from_where_it_stands() {
        let (real, clock) = skewed();
        clock.set_rate(3.0);
        assert_eq!(
            clock.now(),
            Duration::from_secs(100),
            "continuous at the switch"
        );
        real.advance(Duration::from_secs(2));
        assert_eq!(clock.now(), Duration::from_secs(106));
        clock.set_rate(0.5);
        assert_eq!(clock.now(), Duration::from_secs(106));
        real.advance(Duration::from_secs(4));
        assert_eq!(clock.now(), Duration::from_secs(108));
    }

    #[test]
    fn rates_out_of_range_are_clamped() {
        let (_real, clock) = skewed();
        clock.set_rate(0.0);
        assert!((clock.rate() - MIN_SKEW_RATE).abs() < f64::EPSILON);
        clock.set_rate(f64::INFINITY);
        assert!((clock.rate() - MAX_SKEW_RATE).abs() < f64::EPSILON);
        clock.set_rate(f64::NAN);
        assert!((clock.rate() - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn reset_returns_to_the_inner_time_even_forward() {
        let (real, clock) = skewed();
        clock.jump(-40 * SEC);
        clock.set_rate(0.25);
        real.advance(Duration::from_secs(8));
        assert_eq!(clock.now(), Duration::from_secs(62));
        clock.reset();
        assert_eq!(clock.now(), real.now(), "forward again, to the real time");
        assert_eq!(clock.offset_nanos(), 0);
        assert!(clock.is_true());
    }

    #[test]
    fn sleeping_is_bounded_even_after_a_backward_jump() {
        let (real, clock) = skewed();
        let deadline = clock.now() + Duration::from_secs(5);
        clock.jump(-3_600 * SEC);
        clock.sleep_until(deadline);
        assert_eq!(real.now(), Duration::from_secs(100) + MAX_SKEWED_SLEEP);
    }

    #[test]
    fn sleeping_at_a_fast_rate_takes_less_inner_time() {
        let (real, clock) = skewed();
        clock.set_rate(4.0);
        clock.sleep_until(clock.now() + Duration::from_millis(800));
        assert_eq!(real.now(), Duration::from_millis(100_200));
        assert_eq!(clock.now(), Duration::from_millis(100_800));
    }

    #[test]
    fn sleeping_on_a_real_clock_returns() {
        let clock = SkewedClock::new(Arc::new(crate::SystemClock::new()));
        clock.set_rate(10.0);
        let deadline = clock.now() + Duration::from_millis(50);
        clock.sleep_until(deadline);
        assert!(clock.now() >= deadline);
    }
}
