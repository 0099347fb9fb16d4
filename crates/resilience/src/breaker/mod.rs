//! Circuit breaker: closed / open / half-open plus disabled, forced-open and
//! metrics-only, with count or time sliding windows, slow-call detection and
//! consecutive-failure tripping.
//!
//! The closed path is lock-free: a success into a full window that holds no
//! failure loads four shared words and bumps a per-thread counter, so
//! threads share no written cache line; otherwise one `fetch_add` on the
//! window head and one slot `swap` (a load when nothing changes). It reads the clock only when a time window or
//! slow-call detection is configured. State transitions are rare and take a
//! mutex so that the window, probe slots and open deadline are reset before
//! the new state is published.

mod config;
mod stats;
mod window;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub use config::{
    BreakerConfig, MAX_HALF_OPEN_PROBES, MAX_WINDOW_BUCKETS, MAX_WINDOW_SIZE,
    MIN_TIME_WINDOW_LENGTH, WindowKind,
};
pub use stats::BreakerStats;

use crate::backoff::SeededRng;
use crate::clock::{SharedClock, coarse, nanos, system_clock};
use crate::error::{CallError, ConfigError, Error};
use crate::loom::{AtomicU32, AtomicU64, Mutex, Ordering, lock};
use window::{CountWindow, FAILED, Padded, SLOW, STRIPES, TimeWindow, WindowCounts, stripe};

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls pass and outcomes are recorded.
    Closed,
    /// Calls are rejected until the open duration has passed.
    Open,
    /// A limited number of probe calls test the peer.
    HalfOpen,
    /// Calls pass and nothing is recorded.
    Disabled,
    /// Every call is rejected until the state is changed by hand.
    ForcedOpen,
    /// Calls pass and outcomes are recorded, but the breaker never trips.
    MetricsOnly,
}

impl BreakerState {
    const ALL: [Self; 6] = [
        Self::Closed,
        Self::Open,
        Self::HalfOpen,
        Self::Disabled,
        Self::ForcedOpen,
        Self::MetricsOnly,
    ];

    /// A stable lower-case name (`"closed"`, `"half_open"`, …) for metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
            Self::Disabled => "disabled",
            Self::ForcedOpen => "forced_open",
            Self::MetricsOnly => "metrics_only",
        }
    }

    /// Every state, in a stable order (for metrics exposition).
    pub const fn all() -> [Self; 6] {
        Self::ALL
    }

    const fn code(self) -> u64 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
            Self::Disabled => 3,
            Self::ForcedOpen => 4,
            Self::MetricsOnly => 5,
        }
    }

    fn from_word(word: u64) -> Self {
        debug_assert!(
            ((word & STATE_MASK) as usize) < Self::ALL.len(),
            "breaker state word {word:#x} holds no state code"
        );
        Self::ALL[(word & STATE_MASK) as usize]
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// State word: generation in the high bits, state code in the low byte.
const STATE_MASK: u64 = 0xFF;
const fn pack(state: BreakerState, generation: u64) -> u64 {
    debug_assert!(
        generation < 1 << 56,
        "breaker generation overflows the state word"
    );
    (generation << 8) | state.code()
}

// Probe slot word: reuse tag in the high 24 bits, deadline in ms + 1 in the
// low 40 bits (0 = free). The tag makes a stale permit's release fail.
const PROBE_LOW: u64 = (1 << 40) - 1;
const fn probe_word(tag: u64, deadline_ms: u64) -> u64 {
    ((tag & 0xFF_FFFF) << 40) | (deadline_ms.saturating_add(1) & PROBE_LOW)
}
const fn probe_freed(word: u64) -> u64 {
    (((word >> 40) + 1) & 0xFF_FFFF) << 40
}
const NANOS_PER_MS: u64 = 1_000_000;

/// An open breaker reads its clock on at least every this-many-th rejection
/// counted on a stripe (threads are spread over 8 rejection counters), even
/// while it may reuse a recent reading (see [`CircuitBreaker::try_acquire`]).
pub const OPEN_RECHECK_REJECTIONS: u32 = 64;

/// How a completed call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Counts as a success.
    Success,
    /// Counts as a failure.
    Failure,
    /// Not counted at all (e.g. a client error that says nothing about the peer).
    Ignored,
}

/// Returned by [`CircuitBreaker::try_acquire`] when the breaker refuses a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    /// The state that refused the call.
    pub state: BreakerState,
    /// How long until the breaker admits probes, when known.
    pub retry_after: Option<Duration>,
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::CircuitOpen {
            state: r.state,
            retry_after: r.retry_after,
        }
    }
}

/// Something that happened in a breaker, delivered to listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerEvent {
    /// The state changed.
    StateTransition {
        /// State before.
        from: BreakerState,
        /// State after.
        to: BreakerState,
    },
    /// A call was refused.
    Rejected {
        /// The refusing state.
        state: BreakerState,
    },
}

type Listener = Arc<dyn Fn(&BreakerEvent) + Send + Sync>;

// One per breaker, inside its Arc; boxing the count window would add a
// pointer chase to the closed path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

#[derive(Debug)]
struct TransitionState {
    consecutive_opens: u32,
    previous_open: Duration,
    rng: SeededRng,
}

struct Inner {
    config: BreakerConfig,
    clock: SharedClock,
    state: AtomicU64,
    open_until: AtomicU64,
    /// The clock's reading when the breaker last opened: a reading below it
    /// means the clock was stepped back (see [`CircuitBreaker::open_deadline`]).
    opened_at: AtomicU64,
    open_checked: OpenCheck,
    follows_real_time: bool,
    window: Window,
    needs_clock: bool,
    timed: bool,
    consecutive: AtomicU32,
    probes: Box<[AtomicU64]>,
    half_open_successes: AtomicU32,
    counters: Counters,
    transition: Mutex<TransitionState>,
    has_listeners: AtomicBool,
    listeners: parking_lot::RwLock<Vec<Listener>>,
}

/// The coarse tick in which a clock reading last found the breaker open (0:
/// none), and that reading (for `retry_after` only).
#[derive(Debug)]
struct OpenCheck {
    tick: AtomicU64,
    nanos: AtomicU64,
}

#[derive(Debug)]
struct Counters {
    recorded_before_reset: AtomicU64,
    probe_calls: AtomicU64,
    failures: AtomicU64,
    slow: AtomicU64,
    ignored: AtomicU64,
    /// Rejections, on per-thread stripes so that threads rejected by an
    /// open breaker share no written cache line.
    rejected: [Padded<AtomicU64>; STRIPES],
    opens: AtomicU64,
    latency: LatencyHistogram,
}

/// Upper bounds (inclusive) of the call-latency histogram buckets; a last
/// implicit bucket holds slower calls (`+Inf`).
pub const LATENCY_BUCKETS: [Duration; 10] = [
    Duration::from_millis(1),
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(25),
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(5),
];

#[derive(Debug)]
struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn record(&self, nanos_taken: u64) {
        let d = Duration::from_nanos(nanos_taken);
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| d <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos_taken, Ordering::Relaxed);
    }
}

/// A circuit breaker; cheap to clone (clones share state).
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.inner.config.name)
            .field("state", &self.current_state())
            .field("listeners", &self.inner.listeners.read().len())
            .finish_non_exhaustive()
    }
}

mod permit;
pub use permit::Permit;
use permit::PermitKind;

impl CircuitBreaker {
    /// Creates a breaker on the system clock.
    pub fn new(config: BreakerConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, system_clock())
    }

    /// Creates a breaker reading time from `clock`.
    pub fn with_clock(config: BreakerConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        config.validate()?;
        let window = match config.window {
            WindowKind::Count { size } => Window::Count(CountWindow::new(size)),
            WindowKind::Time { length, buckets } => {
                Window::Time(TimeWindow::new(nanos(length), buckets))
            }
        };
        let timed = config.slow_call_duration.is_some() || config.record_latency;
        let needs_clock = timed || matches!(window, Window::Time(_));
        let zero = || AtomicU64::new(0);
        let inner = Inner {
            follows_real_time: clock.follows_real_time(),
            clock,
            state: AtomicU64::new(pack(BreakerState::Closed, 0)),
            open_until: zero(),
            opened_at: zero(),
            open_checked: OpenCheck {
                tick: zero(),
                nanos: zero(),
            },
            window,
            needs_clock,
            timed,
            consecutive: AtomicU32::new(0),
            probes: (0..config.half_open_probes).map(|_| zero()).collect(),
            half_open_successes: AtomicU32::new(0),
            counters: Counters {
                recorded_before_reset: zero(),
                probe_calls: zero(),
                failures: zero(),
                slow: zero(),
                ignored: zero(),
                rejected: std::array::from_fn(|_| Padded(zero())),
                opens: zero(),
                latency: LatencyHistogram::new(),
            },
            transition: Mutex::new(TransitionState {
                consecutive_opens: 0,
                previous_open: Duration::ZERO,
                rng: SeededRng::new(config.seed),
            }),
            has_listeners: AtomicBool::new(false),
            listeners: parking_lot::RwLock::new(Vec::new()),
            config,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &BreakerConfig {
        &self.inner.config
    }

    /// The current state. With `automatic_half_open`, an open breaker whose
    /// open duration has passed moves to half-open here.
    pub fn state(&self) -> BreakerState {
        let word = self.inner.state.load(Ordering::Acquire);
        let state = BreakerState::from_word(word);
        if state == BreakerState::Open && self.inner.config.automatic_half_open {
            let now = self.inner.clock.now_nanos();
            if now >= self.open_deadline(now) {
                self.transition(word, BreakerState::HalfOpen);
                return self.current_state();
            }
        }
        state
    }

    fn current_state(&self) -> BreakerState {
        BreakerState::from_word(self.inner.state.load(Ordering::Acquire))
    }

    /// Asks for permission to make one call.
    ///
    /// The permit must be completed with [`Permit::success`],
    /// [`Permit::failure`] or [`Permit::record`]; dropping it instead
    /// records nothing and hands a half-open probe slot back.
    ///
    /// An open breaker moves to half-open on the first acquire after its
    /// open duration has passed. With a clock that follows real time (the
    /// default [`FastClock`](crate::FastClock),
    /// [`SystemClock`](crate::SystemClock)) that acquire may come up to one
    /// [`COARSE_TICK`](crate::clock::COARSE_TICK) (1 ms, plus scheduling
    /// delay of the ticker thread) late, and never more than
    /// [`OPEN_RECHECK_REJECTIONS`] rejections of any one thread late; it is
    /// never early. With
    /// a [`ManualClock`](crate::ManualClock) it is exact.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let word = self.inner.state.load(Ordering::Acquire);
        match word & STATE_MASK {
            0 | 5 => Ok(Permit::new(self, PermitKind::Recorded, self.start_nanos())),
            3 => Ok(Permit::new(self, PermitKind::Passthrough, 0)),
            _ => self.acquire_slow(word),
        }
    }

    /// Every state but closed, metrics-only and disabled. The open states
    /// are tested first and kept small, so a rejection does not pay for the
    /// general state machine's prologue (nor the closed path for its arm).
    #[inline(never)]
    fn acquire_slow(&self, word: u64) -> Result<Permit<'_>, Rejected> {
        const OPEN: u64 = BreakerState::Open.code();
        const FORCED_OPEN: u64 = BreakerState::ForcedOpen.code();
        match word & STATE_MASK {
            OPEN => {}
            FORCED_OPEN => return Err(self.reject(BreakerState::ForcedOpen, None)),
            _ => return self.acquire_states(word),
        }
        if let Some(rejected) = self.reject_while_open(word) {
            return Err(rejected);
        }
        self.transition(word, BreakerState::HalfOpen);
        self.acquire_states(self.inner.state.load(Ordering::Acquire))
    }

    #[inline]
    fn start_nanos(&self) -> u64 {
        if self.inner.timed {
            self.inner.clock.now_nanos()
        } else {
            0
        }
    }

    #[cold]
    #[inline(never)]
    fn acquire_states(&self, mut word: u64) -> Result<Permit<'_>, Rejected> {
        loop {
            let state = BreakerState::from_word(word);
            match state {
                BreakerState::Closed | BreakerState::MetricsOnly => {
                    return Ok(Permit::new(self, PermitKind::Recorded, self.start_nanos()));
                }
                BreakerState::Disabled => return Ok(Permit::new(self, PermitKind::Passthrough, 0)),
                BreakerState::ForcedOpen => return Err(self.reject(state, None)),
                BreakerState::Open => {
                    if let Some(rejected) = self.reject_while_open(word) {
                        return Err(rejected);
                    }
                    self.transition(word, BreakerState::HalfOpen);
                }
                BreakerState::HalfOpen => {
                    let now = self.inner.clock.now_nanos();
                    if let Some((slot, probe)) = self.take_probe(now) {
                        return Ok(Permit::new(
                            self,
                            PermitKind::Probe { slot, word: probe },
                            now,
                        ));
                    }
                    if self.inner.state.load(Ordering::Acquire) == word {
                        return Err(self.reject(state, None));
                    }
                }
            }
            word = self.inner.state.load(Ordering::Acquire);
        }
    }

    /// Rejects the call if the open duration has not passed yet; `None`
    /// means it has and the breaker should move to half-open.
    ///
    /// With a real-time clock, a thread that read the clock and found the
    /// breaker still open records the coarse tick it did so in; until the
    /// tick moves (at most [`COARSE_TICK`](crate::clock::COARSE_TICK) later,
    /// plus scheduling delay) other rejections trust that finding instead of
    /// reading the clock.
    /// Every [`OPEN_RECHECK_REJECTIONS`]-th rejection counted on a stripe
    /// reads the clock anyway, so a stalled ticker costs a thread at most
    /// that many late rejections (threads sharing its stripe only bring the
    /// recheck sooner). That rejection is counted before the reading, and a
    /// count is never taken back (a snapshot must never see the total go
    /// down), so if the reading finds the deadline passed it still rejects
    /// its call and moves the breaker to half-open for the next one.
    /// Only a reading can end the open state, so it never ends early. The
    /// reading kept beside the tick only feeds `retry_after`, which races
    /// can make overstate the wait.
    #[inline(always)]
    fn reject_while_open(&self, word: u64) -> Option<Rejected> {
        let inner = &self.inner;
        let until = inner.open_until.load(Ordering::Acquire);
        let tick = if inner.follows_real_time {
            coarse::tick()
        } else {
            0
        };
        let rejected = &inner.counters.rejected[stripe()].0;
        if tick != 0 && inner.open_checked.tick.load(Ordering::Acquire) == tick {
            let n = rejected.fetch_add(1, Ordering::Relaxed);
            if !(n + 1).is_multiple_of(u64::from(OPEN_RECHECK_REJECTIONS)) {
                let seen = inner.open_checked.nanos.load(Ordering::Relaxed);
                let wait = Duration::from_nanos(until.saturating_sub(seen));
                return Some(self.announce_rejection(BreakerState::Open, Some(wait)));
            }
            let now = inner.clock.now_nanos();
            if now >= until {
                self.transition(word, BreakerState::HalfOpen);
            }
            return Some(self.still_open(tick, now, until));
        }
        let now = inner.clock.now_nanos();
        if now < until {
            let until = self.open_deadline(now);
            if now < until {
                rejected.fetch_add(1, Ordering::Relaxed);
                return Some(self.still_open(tick, now, until));
            }
        }
        None
    }

    /// The end of the open state for a clock reading `now`. A reading
    /// before the moment the breaker opened means the clock was stepped
    /// back (an NTP step, a virtual clock, a `clock_jump` fault): the open
    /// period is then counted again from `now` instead of waiting for the
    /// clock to climb back to the old deadline, which could take hours. So
    /// a step back costs at most one more open period.
    fn open_deadline(&self, now: u64) -> u64 {
        let inner = &self.inner;
        let until = inner.open_until.load(Ordering::Acquire);
        let opened = inner.opened_at.load(Ordering::Acquire);
        if now >= opened {
            return until;
        }
        let rebased = now.saturating_add(until.saturating_sub(opened));
        // Racing threads rebase to about the same deadline; the first wins.
        if inner
            .opened_at
            .compare_exchange(opened, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            inner.open_until.store(rebased, Ordering::Release);
            return rebased;
        }
        inner.open_until.load(Ordering::Acquire)
    }

    /// Announces an open-state rejection already counted, whose clock
    /// reading `now` the other threads may reuse for the rest of `tick`.
    #[inline(always)]
    fn still_open(&self, tick: u64, now: u64, until: u64) -> Rejected {
        let checked = &self.inner.open_checked;
        if tick != 0 && now < until {
            checked.nanos.store(now, Ordering::Relaxed);
            checked.tick.store(tick, Ordering::Release);
        }
        let wait = Duration::from_nanos(until.saturating_sub(now));
        self.announce_rejection(BreakerState::Open, Some(wait))
    }

    fn take_probe(&self, now_nanos: u64) -> Option<(usize, u64)> {
        let now_ms = now_nanos / NANOS_PER_MS;
        let deadline_ms =
            (now_nanos.saturating_add(nanos(self.inner.config.probe_timeout))) / NANOS_PER_MS;
        for (i, slot) in self.inner.probes.iter().enumerate() {
            let cur = slot.load(Ordering::Acquire);
            let low = cur & PROBE_LOW;
            let free = low == 0 || low - 1 <= now_ms;
            if !free {
                continue;
            }
            let next = probe_word((cur >> 40) + 1, deadline_ms);
            if slot
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Some((i, next));
            }
        }
        None
    }

    /// Releases a probe slot; false when the permit had expired and the slot
    /// was reclaimed (its outcome is then stale and must be ignored).
    fn release_probe(&self, slot: usize, word: u64) -> bool {
        let s = &self.inner.probes[slot];
        s.compare_exchange(word, probe_freed(word), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    #[cold]
    fn reject(&self, state: BreakerState, retry_after: Option<Duration>) -> Rejected {
        self.inner.counters.rejected[stripe()]
            .0
            .fetch_add(1, Ordering::Relaxed);
        self.announce_rejection(state, retry_after)
    }

    /// Tells listeners about a rejection already counted.
    #[inline]
    fn announce_rejection(&self, state: BreakerState, retry_after: Option<Duration>) -> Rejected {
        if self
            .inner
            .has_listeners
            .load(std::sync::atomic::Ordering::Acquire)
        {
            self.emit(&BreakerEvent::Rejected { state });
        }
        Rejected { state, retry_after }
    }

    /// Records an outcome for a closed / metrics-only permit.
    #[inline]
    fn record_closed(&self, outcome: Outcome, started: u64) {
        let now = if self.inner.needs_clock {
            self.inner.clock.now_nanos()
        } else {
            0
        };
        let mut bits = match outcome {
            Outcome::Success => 0,
            Outcome::Failure => FAILED,
            Outcome::Ignored => {
                self.inner.counters.ignored.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        if self.inner.timed && self.timed_is_slow(now.saturating_sub(started)) {
            bits |= SLOW;
        }
        let counts = match &self.inner.window {
            Window::Count(w) => w.record(bits),
            Window::Time(w) => w.record(bits, now),
        };
        self.track_consecutive(bits & FAILED != 0);
        if let Some(counts) = counts {
            self.on_bad_outcome(bits, counts);
        }
    }

    /// Records the latency (when enabled) and says whether the call was slow.
    #[cold]
    fn timed_is_slow(&self, elapsed_nanos: u64) -> bool {
        if self.inner.config.record_latency {
            self.inner.counters.latency.record(elapsed_nanos);
        }
        self.inner
            .config
            .slow_call_duration
            .is_some_and(|limit| elapsed_nanos >= nanos(limit))
    }

    #[inline]
    fn track_consecutive(&self, failed: bool) {
        if failed {
            let run = self.inner.consecutive.fetch_add(1, Ordering::AcqRel) + 1;
            if self
                .inner
                .config
                .consecutive_failures
                .is_some_and(|limit| run >= limit)
            {
                self.trip_if_closed();
            }
        } else if self.inner.consecutive.load(Ordering::Relaxed) != 0 {
            self.inner.consecutive.store(0, Ordering::Relaxed);
        }
    }

    #[cold]
    fn on_bad_outcome(&self, bits: u8, counts: WindowCounts) {
        if bits & FAILED != 0 {
            self.inner.counters.failures.fetch_add(1, Ordering::Relaxed);
        }
        if bits & SLOW != 0 {
            self.inner.counters.slow.fetch_add(1, Ordering::Relaxed);
        }
        if self.exceeds_thresholds(counts) {
            self.trip_if_closed();
        }
    }

    fn exceeds_thresholds(&self, c: WindowCounts) -> bool {
        let cfg = &self.inner.config;
        if c.calls < u64::from(cfg.effective_minimum_calls()) || c.calls == 0 {
            return false;
        }
        let calls = c.calls as f64;
        let failing = c.failures as f64 * 100.0 >= cfg.failure_rate_threshold * calls;
        let slow = cfg.slow_call_duration.is_some()
            && c.slow as f64 * 100.0 >= cfg.slow_call_rate_threshold * calls;
        failing || slow
    }

    fn trip_if_closed(&self) {
        let word = self.inner.state.load(Ordering::Acquire);
        if word & STATE_MASK == BreakerState::Closed.code() {
            self.transition(word, BreakerState::Open);
        }
    }

    /// Records a probe outcome (half-open).
    fn record_probe(&self, outcome: Outcome, slot: usize, probe: u64, started: u64) {
        // A probe whose slot expired or was reset still counts in the totals,
        // but its outcome is stale and must not move the state.
        let owned = self.release_probe(slot, probe);
        let slow = self.inner.timed
            && self.timed_is_slow(self.inner.clock.now_nanos().saturating_sub(started));
        let counters = &self.inner.counters;
        match outcome {
            Outcome::Ignored => {
                counters.ignored.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Outcome::Failure => {
                counters.failures.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Success => {}
        }
        counters.probe_calls.fetch_add(1, Ordering::Relaxed);
        if slow {
            counters.slow.fetch_add(1, Ordering::Relaxed);
        }
        let word = self.inner.state.load(Ordering::Acquire);
        if !owned || word & STATE_MASK != BreakerState::HalfOpen.code() {
            return;
        }
        if outcome == Outcome::Failure || slow {
            self.transition(word, BreakerState::Open);
        } else {
            let ok = self
                .inner
                .half_open_successes
                .fetch_add(1, Ordering::AcqRel)
                + 1;
            if ok >= self.inner.config.half_open_probes {
                self.transition(word, BreakerState::Closed);
            }
        }
    }

    /// Moves from the state word `expected` to `to`; false if another thread
    /// changed the state first.
    fn transition(&self, expected: u64, to: BreakerState) -> bool {
        let mut t = lock(&self.inner.transition);
        let current = self.inner.state.load(Ordering::Acquire);
        if current != expected {
            return false;
        }
        let from = BreakerState::from_word(current);
        self.prepare(&mut t, from, to);
        let generation = (current >> 8) + 1;
        self.inner
            .state
            .store(pack(to, generation), Ordering::Release);
        drop(t);
        if self
            .inner
            .has_listeners
            .load(std::sync::atomic::Ordering::Acquire)
        {
            self.emit(&BreakerEvent::StateTransition { from, to });
        }
        true
    }

    /// Resets what the new state starts from, before it is published.
    fn prepare(&self, t: &mut TransitionState, from: BreakerState, to: BreakerState) {
        let inner = &self.inner;
        match to {
            BreakerState::Open => {
                t.consecutive_opens = t.consecutive_opens.saturating_add(1);
                let open_for = inner.config.open_backoff.delay(
                    t.consecutive_opens,
                    t.previous_open,
                    &mut t.rng,
                );
                t.previous_open = open_for;
                let now = inner.clock.now_nanos();
                inner.opened_at.store(now, Ordering::Release);
                inner
                    .open_until
                    .store(now.saturating_add(nanos(open_for)), Ordering::Release);
                inner.counters.opens.fetch_add(1, Ordering::Relaxed);
                self.free_probes();
            }
            BreakerState::HalfOpen => {
                inner.half_open_successes.store(0, Ordering::Release);
                self.free_probes();
            }
            BreakerState::Closed => {
                t.consecutive_opens = 0;
                t.previous_open = Duration::ZERO;
                self.reset_window();
            }
            BreakerState::MetricsOnly if from != BreakerState::Closed => self.reset_window(),
            _ => {}
        }
    }

    fn free_probes(&self) {
        for slot in self.inner.probes.iter() {
            let mut cur = slot.load(Ordering::Acquire);
            while let Err(seen) =
                slot.compare_exchange(cur, probe_freed(cur), Ordering::AcqRel, Ordering::Acquire)
            {
                cur = seen;
            }
        }
    }

    fn reset_window(&self) {
        let recorded = match &self.inner.window {
            Window::Count(w) => w.reset(),
            Window::Time(w) => w.reset(),
        };
        self.inner
            .counters
            .recorded_before_reset
            .fetch_add(recorded, Ordering::Relaxed);
        self.inner.consecutive.store(0, Ordering::Release);
    }

    fn force(&self, to: BreakerState) {
        loop {
            let word = self.inner.state.load(Ordering::Acquire);
            if BreakerState::from_word(word) == to || self.transition(word, to) {
                return;
            }
        }
    }

    /// Moves to closed with an empty window (an operator reset).
    pub fn reset(&self) {
        self.force(BreakerState::Closed);
    }

    /// Rejects every call until another manual transition.
    pub fn force_open(&self) {
        self.force(BreakerState::ForcedOpen);
    }

    /// Lets every call through without recording it.
    pub fn disable(&self) {
        self.force(BreakerState::Disabled);
    }

    /// Records outcomes (for stats) but never trips.
    pub fn metrics_only(&self) {
        self.force(BreakerState::MetricsOnly);
    }

    /// Registers a listener for state transitions and rejections. Listeners
    /// run on the calling thread, outside the breaker's locks.
    pub fn on_event(&self, listener: impl Fn(&BreakerEvent) + Send + Sync + 'static) {
        self.inner.listeners.write().push(Arc::new(listener));
        self.inner
            .has_listeners
            .store(true, std::sync::atomic::Ordering::Release);
    }

    fn emit(&self, event: &BreakerEvent) {
        let listeners: Vec<Listener> = self.inner.listeners.read().clone();
        for listener in listeners {
            listener(event);
        }
    }

    /// Runs `f` if permitted; an `Err` counts as a failure.
    pub fn call<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, CallError<E>> {
        self.call_with(f, |r| {
            if r.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            }
        })
    }

    /// Runs `f` if permitted; `classify` decides how the result counts
    /// (failure predicate, ignored errors, failing `Ok` results).
    pub fn call_with<T, E>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self
            .try_acquire()
            .map_err(|r| CallError::Rejected(r.into()))?;
        let result = f();
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// Awaits `fut` if permitted; an `Err` counts as a failure. If the
    /// future is dropped before it completes, nothing is recorded.
    pub async fn call_async<T, E, F>(&self, fut: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.call_async_with(fut, |r| {
            if r.is_ok() {
                Outcome::Success
            } else {
                Outcome::Failure
            }
        })
        .await
    }

    /// Awaits `fut` if permitted; `classify` decides how the result counts.
    pub async fn call_async_with<T, E, F>(
        &self,
        fut: F,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self
            .try_acquire()
            .map_err(|r| CallError::Rejected(r.into()))?;
        let result = fut.await;
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// A snapshot of counters and window rates.
    pub fn stats(&self) -> BreakerStats {
        let inner = &self.inner;
        let (counts, recorded) = {
            // A reset (on closing) moves the window's recorded outcomes into
            // `recorded_before_reset` under this lock; reading both under it
            // keeps a snapshot from missing them, so calls_total never goes
            // down between snapshots.
            let _transition = lock(&inner.transition);
            let (counts, recorded) = match &inner.window {
                Window::Count(w) => (w.counts(), w.recorded()),
                Window::Time(w) => (w.counts(inner.clock.now_nanos()), w.recorded()),
            };
            let before = inner.counters.recorded_before_reset.load(Ordering::Relaxed);
            (counts, before + recorded)
        };
        let rate = |n: u64| {
            (counts.calls >= u64::from(inner.config.effective_minimum_calls()) && counts.calls > 0)
                .then(|| n as f64 * 100.0 / counts.calls as f64)
        };
        let c = &inner.counters;
        BreakerStats {
            name: inner.config.name.clone(),
            state: self.current_state(),
            window_calls: counts.calls,
            window_failures: counts.failures,
            window_slow_calls: counts.slow,
            failure_rate: rate(counts.failures),
            slow_call_rate: rate(counts.slow),
            calls_total: recorded + c.probe_calls.load(Ordering::Relaxed),
            failures_total: c.failures.load(Ordering::Relaxed),
            slow_calls_total: c.slow.load(Ordering::Relaxed),
            ignored_total: c.ignored.load(Ordering::Relaxed),
            rejected_total: c.rejected.iter().map(|r| r.0.load(Ordering::Relaxed)).sum(),
            opens_total: c.opens.load(Ordering::Relaxed),
            consecutive_failures: inner.consecutive.load(Ordering::Relaxed),
            latency_enabled: inner.config.record_latency,
            latency_histogram: std::array::from_fn(|i| {
                c.latency.buckets[i].load(Ordering::Relaxed)
            }),
            latency_total: Duration::from_nanos(c.latency.sum_nanos.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
