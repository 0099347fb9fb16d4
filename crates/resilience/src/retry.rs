//! Retry with backoff, limits, Retry-After, a shared budget and stats.
//!
//! The first attempt costs a counter increment (and a budget deposit when a
//! budget is set); the clock is read up front only when `max_elapsed` is set.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::backoff::{Backoff, SeededRng};
use crate::budget::RetryBudget;
use crate::clock::{SharedClock, system_clock};
use crate::error::ConfigError;
use crate::sleep::{AsyncSleeper, Sleeper, ThreadSleeper};

/// Largest `max_attempts`, so a misconfiguration cannot retry forever.
pub const MAX_ATTEMPTS_LIMIT: u32 = 1000;

/// Retry settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts including the first, 1..=[`MAX_ATTEMPTS_LIMIT`].
    pub max_attempts: u32,
    /// Stop when the next sleep would end after this much time since the
    /// first attempt started; `None` for no time limit.
    #[serde(
        with = "crate::serde_config::option_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_elapsed: Option<Duration>,
    /// Delays between attempts.
    pub backoff: Backoff,
    /// Seed for jitter; runs are numbered, so a sequence of runs replays.
    pub seed: u64,
    /// Longest Retry-After honoured; a longer one stops the retries.
    #[serde(with = "crate::serde_config::duration")]
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            max_elapsed: None,
            backoff: Backoff::default(),
            seed: 0x5EED,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 || self.max_attempts > MAX_ATTEMPTS_LIMIT {
            return Err(ConfigError::new(
                "max_attempts",
                "must be between 1 and 1000 (MAX_ATTEMPTS_LIMIT)",
            ));
        }
        if self.max_elapsed.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::new("max_elapsed", "must be non-zero when set"));
        }
        self.backoff.validate()
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Return this result.
    Done,
    /// Retry after the backoff delay.
    Retry,
    /// Retry after this long (a Retry-After the peer sent).
    RetryAfter(Duration),
}

/// Why a run stopped retrying while the last attempt still wanted a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// `max_attempts` reached.
    MaxAttempts,
    /// The next sleep would pass `max_elapsed`.
    MaxElapsed,
    /// The shared retry budget refused.
    Budget,
    /// The peer's Retry-After exceeded `max_retry_after`.
    RetryAfterTooLong,
}

impl StopReason {
    /// A stable lower-case name for metrics labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MaxAttempts => "max_attempts",
            Self::MaxElapsed => "max_elapsed",
            Self::Budget => "budget",
            Self::RetryAfterTooLong => "retry_after_too_long",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Passed to the on-retry callback before each sleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryEvent {
    /// The attempt that just failed (1 = the first attempt).
    pub attempt: u32,
    /// How long the retry will wait.
    pub delay: Duration,
    /// True when the delay came from a Retry-After.
    pub from_retry_after: bool,
}

/// The result of a run plus how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryReport<R> {
    /// The last attempt's result.
    pub result: R,
    /// Attempts made, including the first.
    pub attempts: u32,
    /// Set when retries were wanted but a limit stopped them.
    pub stopped: Option<StopReason>,
}

/// Retry counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetryStats {
    /// Name used in metrics.
    pub name: String,
    /// Runs started.
    pub calls: u64,
    /// Retries made (attempts after the first).
    pub retries: u64,
    /// Runs that ended `Done` on the first attempt.
    pub done_first_attempt: u64,
    /// Runs that ended `Done` after at least one retry.
    pub done_after_retry: u64,
    /// Runs stopped by `max_attempts`.
    pub stopped_max_attempts: u64,
    /// Runs stopped by `max_elapsed`.
    pub stopped_max_elapsed: u64,
    /// Runs stopped by the budget.
    pub stopped_budget: u64,
    /// Runs stopped by an over-long Retry-After.
    pub stopped_retry_after: u64,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    retries: AtomicU64,
    done_after_retry: AtomicU64,
    stopped: [AtomicU64; 4],
    runs_with_retry: AtomicU64,
    stopped_first_attempt: AtomicU64,
}

type OnRetry = Arc<dyn Fn(&RetryEvent) + Send + Sync>;

impl Inner {
    fn clock(&self) -> &SharedClock {
        // Invariant: `RetryBuilder::build` is the only way to a `Retry`.
        self.clock
            .as_ref()
            .expect("RetryBuilder::build sets the clock")
    }
}

/// A retry policy with its stats; cheap to clone (clones share stats).
#[derive(Clone)]
pub struct Retry {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    config: RetryConfig,
    /// `None` until built: the default clock is only made (and the TSC only
    /// calibrated) if the caller did not bring one.
    clock: Option<SharedClock>,
    sleeper: Arc<dyn Sleeper>,
    async_sleeper: Option<Arc<dyn AsyncSleeper>>,
    budget: Option<RetryBudget>,
    on_retry: Option<OnRetry>,
    counters: Counters,
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("name", &self.inner.name)
            .field("config", &self.inner.config)
            .field("budget", &self.inner.budget)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Retry`].
#[must_use]
pub struct RetryBuilder {
    inner: Inner,
}

impl fmt::Debug for RetryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBuilder")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl RetryBuilder {
    /// Sets the name used in metrics.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = name.into();
        self
    }

    /// Reads time from `clock` (for `max_elapsed`).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.inner.clock = Some(clock);
        self
    }

    /// Blocks with `sleeper` between sync attempts.
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.inner.sleeper = sleeper;
        self
    }

    /// Awaits `sleeper` between async attempts.
    pub fn async_sleeper(mut self, sleeper: Arc<dyn AsyncSleeper>) -> Self {
        self.inner.async_sleeper = Some(sleeper);
        self
    }

    /// Charges every retry to a shared budget.
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.inner.budget = Some(budget);
        self
    }

    /// Calls `f` before each retry sleep.
    pub fn on_retry(mut self, f: impl Fn(&RetryEvent) + Send + Sync + 'static) -> Self {
        self.inner.on_retry = Some(Arc::new(f));
        self
    }

    /// Validates the config and builds.
    pub fn build(mut self) -> Result<Retry, ConfigError> {
        self.inner.config.validate()?;
        self.inner.clock.get_or_insert_with(system_clock);
        Ok(Retry {
            inner: Arc::new(self.inner),
        })
    }
}

/// Per-run state between attempts.
struct Run {
    attempt: u32,
    started: Option<u64>,
    previous: Duration,
    rng: Option<SeededRng>,
}

impl Retry {
    /// Starts a builder with `config`, the system clock and thread sleeping.
    pub fn builder(config: RetryConfig) -> RetryBuilder {
        #[cfg(feature = "tokio")]
        let async_sleeper: Option<Arc<dyn AsyncSleeper>> =
            Some(Arc::new(crate::sleep::TokioSleeper));
        #[cfg(not(feature = "tokio"))]
        let async_sleeper: Option<Arc<dyn AsyncSleeper>> = None;
        RetryBuilder {
            inner: Inner {
                name: "default".to_owned(),
                config,
                clock: None,
                sleeper: Arc::new(ThreadSleeper),
                async_sleeper,
                budget: None,
                on_retry: None,
                counters: Counters::default(),
            },
        }
    }

    /// A retry with `config` and defaults for everything else.
    pub fn new(config: RetryConfig) -> Result<Self, ConfigError> {
        Self::builder(config).build()
    }

    /// Runs `op` (given the 1-based attempt number), retrying every `Err`.
    pub fn call<T, E>(&self, op: impl FnMut(u32) -> Result<T, E>) -> Result<T, E> {
        self.run(op, |r| {
            if r.is_ok() {
                RetryDecision::Done
            } else {
                RetryDecision::Retry
            }
        })
        .result
    }

    /// Runs `op`, retrying only errors that may pass by themselves
    /// ([`ErrorClass::Transient`](ballast_error::ErrorClass::Transient),
    /// e.g. a timeout or a reset); a permanent error or a caller's mistake
    /// returns at once, without spending attempts or budget on it.
    pub fn call_retryable<T, E: ballast_error::Coded>(
        &self,
        op: impl FnMut(u32) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run(op, |r| match r {
            Err(e) if e.is_retryable() => RetryDecision::Retry,
            _ => RetryDecision::Done,
        })
        .result
    }

    /// Runs `op`, asking `decide` after each attempt whether to retry
    /// (retry-on-error, retry-on-result, Retry-After).
    #[inline]
    pub fn run<R>(
        &self,
        mut op: impl FnMut(u32) -> R,
        decide: impl Fn(&R) -> RetryDecision,
    ) -> RetryReport<R> {
        let mut run = self.begin();
        loop {
            let result = op(run.attempt);
            let decision = decide(&result);
            match self.next_delay(&mut run, decision) {
                Ok(None) => {
                    return RetryReport {
                        result,
                        attempts: run.attempt,
                        stopped: None,
                    };
                }
                Err(stop) => {
                    return RetryReport {
                        result,
                        attempts: run.attempt,
                        stopped: Some(stop),
                    };
                }
                Ok(Some(delay)) => {
                    drop(result);
                    self.inner.sleeper.sleep(delay);
                    run.attempt += 1;
                }
            }
        }
    }

    /// Async [`Retry::call`]: awaits `op(attempt)`, retrying every `Err`.
    pub async fn retry_async<T, E, F, Fut>(&self, op: F) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let decide = |r: &Result<T, E>| {
            if r.is_ok() {
                RetryDecision::Done
            } else {
                RetryDecision::Retry
            }
        };
        self.run_async(op, decide).await.result
    }

    /// Async [`Retry::run`]. Sleeps through the configured async sleeper;
    /// without one (no `tokio` feature and none set) it retries without
    /// waiting rather than blocking the executor.
    pub async fn run_async<R, F, Fut>(
        &self,
        mut op: F,
        decide: impl Fn(&R) -> RetryDecision,
    ) -> RetryReport<R>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = R>,
    {
        let mut run = self.begin();
        loop {
            let result = op(run.attempt).await;
            let decision = decide(&result);
            match self.next_delay(&mut run, decision) {
                Ok(None) => {
                    return RetryReport {
                        result,
                        attempts: run.attempt,
                        stopped: None,
                    };
                }
                Err(stop) => {
                    return RetryReport {
                        result,
                        attempts: run.attempt,
                        stopped: Some(stop),
                    };
                }
                Ok(Some(delay)) => {
                    drop(result);
                    if let Some(sleeper) = &self.inner.async_sleeper {
                        sleeper.sleep(delay).await;
                    }
                    run.attempt += 1;
                }
            }
        }
    }

    #[inline]
    fn begin(&self) -> Run {
        self.inner.counters.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(budget) = &self.inner.budget {
            budget.deposit();
        }
        let started = self
            .inner
            .config
            .max_elapsed
            .map(|_| self.inner.clock().now_nanos());
        Run {
            attempt: 1,
            started,
            previous: Duration::ZERO,
            rng: None,
        }
    }

    /// `Ok(None)`: done; `Ok(Some(d))`: sleep `d` then retry; `Err`: stopped.
    #[inline]
    fn next_delay(
        &self,
        run: &mut Run,
        decision: RetryDecision,
    ) -> Result<Option<Duration>, StopReason> {
        if let Some(budget) = &self.inner.budget {
            budget.record_attempt(decision == RetryDecision::Done);
        }
        if decision == RetryDecision::Done {
            if run.attempt > 1 {
                self.inner
                    .counters
                    .done_after_retry
                    .fetch_add(1, Ordering::Relaxed);
            }
            return Ok(None);
        }
        self.plan_retry(run, decision)
            .map(Some)
            .inspect_err(|stop| self.count_stop(run, *stop))
    }

    #[cold]
    fn plan_retry(&self, run: &mut Run, decision: RetryDecision) -> Result<Duration, StopReason> {
        let config = &self.inner.config;
        if run.attempt >= config.max_attempts {
            return Err(StopReason::MaxAttempts);
        }
        let (delay, from_retry_after) = match decision {
            RetryDecision::RetryAfter(d) if d > config.max_retry_after => {
                return Err(StopReason::RetryAfterTooLong);
            }
            RetryDecision::RetryAfter(d) => (d, true),
            _ => {
                let rng = run.rng.get_or_insert_with(|| self.run_rng());
                (config.backoff.delay(run.attempt, run.previous, rng), false)
            }
        };
        if let (Some(limit), Some(started)) = (config.max_elapsed, run.started) {
            let elapsed =
                Duration::from_nanos(self.inner.clock().now_nanos().saturating_sub(started));
            if elapsed.saturating_add(delay) > limit {
                return Err(StopReason::MaxElapsed);
            }
        }
        if let Some(budget) = &self.inner.budget
            && !budget.try_withdraw()
        {
            return Err(StopReason::Budget);
        }
        run.previous = delay;
        if run.attempt == 1 {
            self.inner
                .counters
                .runs_with_retry
                .fetch_add(1, Ordering::Relaxed);
        }
        self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
        if let Some(on_retry) = &self.inner.on_retry {
            on_retry(&RetryEvent {
                attempt: run.attempt,
                delay,
                from_retry_after,
            });
        }
        Ok(delay)
    }

    fn run_rng(&self) -> SeededRng {
        // Runs that need jitter are numbered, so a sequential test replays.
        let n = self.inner.counters.runs_with_retry.load(Ordering::Relaxed);
        SeededRng::new(self.inner.config.seed ^ n.wrapping_mul(ballast_clock::GOLDEN_GAMMA))
    }

    fn count_stop(&self, run: &Run, stop: StopReason) {
        let index = match stop {
            StopReason::MaxAttempts => 0,
            StopReason::MaxElapsed => 1,
            StopReason::Budget => 2,
            StopReason::RetryAfterTooLong => 3,
        };
        self.inner.counters.stopped[index].fetch_add(1, Ordering::Relaxed);
        if run.attempt == 1 {
            self.inner
                .counters
                .stopped_first_attempt
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RetryStats {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let calls = load(&c.calls);
        let stopped: Vec<u64> = c.stopped.iter().map(load).collect();
        let done_after_retry = load(&c.done_after_retry);
        RetryStats {
            name: self.inner.name.clone(),
            calls,
            retries: load(&c.retries),
            // Runs still in flight are counted as done; the snapshot is not atomic.
            done_first_attempt: calls
                .saturating_sub(load(&c.runs_with_retry))
                .saturating_sub(load(&c.stopped_first_attempt)),
            done_after_retry,
            stopped_max_attempts: stopped[0],
            stopped_max_elapsed: stopped[1],
            stopped_budget: stopped[2],
            stopped_retry_after: stopped[3],
        }
    }

    /// The budget this retry charges, if any.
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.inner.budget.as_ref()
    }
}
