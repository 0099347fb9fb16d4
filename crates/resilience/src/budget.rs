//! A retry budget shared by many callers, so a fleet cannot multiply load on
//! a struggling peer.
//!
//! Two modes:
//! - [`BudgetConfig::Ratio`] (Finagle / Envoy): retries may be at most
//!   `ratio` of the calls in the last `window`, plus a reserve of
//!   `min_retries_per_sec` per second of window.
//! - [`BudgetConfig::Tokens`] (gRPC retry throttling): a bucket of
//!   `max_tokens`; each failed attempt takes one token, each success returns
//!   `token_ratio`; retries are allowed while more than half remain.
//!
//! The no-retry path costs one relaxed `fetch_add` (ratio) or one load
//! (tokens at the cap); the clock is read only when a retry asks.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::{SharedClock, nanos, system_clock};
use crate::error::ConfigError;

/// Largest token bucket, so the fixed-point arithmetic cannot overflow.
pub const MAX_BUDGET_TOKENS: u32 = 1_000_000;
const MILLI: u64 = 1000;

/// How the budget decides.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BudgetConfig {
    /// Retries ≤ `ratio` × calls + `min_retries_per_sec` × window seconds.
    Ratio {
        /// Fraction of calls that may be retried, in `[0, 1]`.
        ratio: f64,
        /// Retries always allowed per second, so low traffic can still retry.
        min_retries_per_sec: u32,
        /// How far back calls and retries are counted.
        window: Duration,
    },
    /// gRPC-style throttling.
    Tokens {
        /// Bucket size (gRPC's `maxTokens`), 1..=[`MAX_BUDGET_TOKENS`].
        max_tokens: u32,
        /// Tokens returned per success (gRPC's `tokenRatio`), in `(0, 1]`.
        token_ratio: f64,
    },
}

impl Default for BudgetConfig {
    /// 20 % of calls plus 10 retries/s over 10 s, as Finagle.
    fn default() -> Self {
        Self::Ratio {
            ratio: 0.2,
            min_retries_per_sec: 10,
            window: Duration::from_secs(10),
        }
    }
}

impl BudgetConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            Self::Ratio { ratio, window, .. } => {
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(ConfigError::new("ratio", "must be in [0, 1]"));
                }
                if window < Duration::from_millis(10) {
                    return Err(ConfigError::new("window", "must be at least 10 ms"));
                }
            }
            Self::Tokens {
                max_tokens,
                token_ratio,
            } => {
                if max_tokens == 0 || max_tokens > MAX_BUDGET_TOKENS {
                    return Err(ConfigError::new(
                        "max_tokens",
                        "must be in 1..=MAX_BUDGET_TOKENS",
                    ));
                }
                if !(token_ratio > 0.0 && token_ratio <= 1.0) {
                    return Err(ConfigError::new("token_ratio", "must be in (0, 1]"));
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
struct RatioLedger {
    // (time, deposits total, withdrawals total) checkpoints, oldest first.
    checkpoints: std::collections::VecDeque<(u64, u64, u64)>,
    withdrawals: u64,
}

struct Inner {
    config: BudgetConfig,
    clock: SharedClock,
    deposits: AtomicU64,
    tokens_milli: AtomicU64,
    ledger: parking_lot::Mutex<RatioLedger>,
    granted: AtomicU64,
    denied: AtomicU64,
}

/// A shared retry budget; clones share the same budget.
#[derive(Clone)]
pub struct RetryBudget {
    inner: Arc<Inner>,
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Budget counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BudgetStats {
    /// Calls deposited (ratio mode).
    pub deposits: u64,
    /// Retries the budget allowed.
    pub granted: u64,
    /// Retries the budget refused.
    pub denied: u64,
    /// Tokens left × 1000 (token mode).
    pub tokens_milli: u64,
}

/// Checkpoints kept per window, i.e. the window's resolution.
const CHECKPOINTS_PER_WINDOW: u64 = 10;

impl RetryBudget {
    /// Creates a budget on the system clock.
    pub fn new(config: BudgetConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, system_clock())
    }

    /// Creates a budget reading time from `clock`.
    pub fn with_clock(config: BudgetConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        config.validate()?;
        let tokens = match config {
            BudgetConfig::Tokens { max_tokens, .. } => u64::from(max_tokens) * MILLI,
            BudgetConfig::Ratio { .. } => 0,
        };
        let start = clock.now_nanos();
        let mut checkpoints = std::collections::VecDeque::new();
        checkpoints.push_back((start, 0, 0));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                clock,
                deposits: AtomicU64::new(0),
                tokens_milli: AtomicU64::new(tokens),
                ledger: parking_lot::Mutex::new(RatioLedger {
                    checkpoints,
                    withdrawals: 0,
                }),
                granted: AtomicU64::new(0),
                denied: AtomicU64::new(0),
            }),
        })
    }

    /// Counts one call (its first attempt).
    #[inline]
    pub fn deposit(&self) {
        if let BudgetConfig::Ratio { .. } = self.inner.config {
            self.inner.deposits.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reports an attempt's outcome (token mode moves tokens).
    #[inline]
    pub fn record_attempt(&self, success: bool) {
        let BudgetConfig::Tokens {
            max_tokens,
            token_ratio,
        } = self.inner.config
        else {
            return;
        };
        let max = u64::from(max_tokens) * MILLI;
        let tokens = &self.inner.tokens_milli;
        if success {
            if tokens.load(Ordering::Relaxed) >= max {
                return;
            }
            let add = (token_ratio * MILLI as f64) as u64;
            let _ = tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some((t + add).min(max))
            });
        } else {
            let _ = tokens.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_sub(MILLI))
            });
        }
    }

    /// Asks for one retry; true if the budget allows it (and charges it).
    pub fn try_withdraw(&self) -> bool {
        let allowed = match self.inner.config {
            BudgetConfig::Tokens { max_tokens, .. } => {
                self.inner.tokens_milli.load(Ordering::Acquire) * 2 > u64::from(max_tokens) * MILLI
            }
            BudgetConfig::Ratio {
                ratio,
                min_retries_per_sec,
                window,
            } => self.withdraw_ratio(ratio, min_retries_per_sec, window),
        };
        let counter = if allowed {
            &self.inner.granted
        } else {
            &self.inner.denied
        };
        counter.fetch_add(1, Ordering::Relaxed);
        allowed
    }

    fn withdraw_ratio(&self, ratio: f64, min_per_sec: u32, window: Duration) -> bool {
        let now = self.inner.clock.now_nanos();
        let window_nanos = nanos(window);
        let step = window_nanos / CHECKPOINTS_PER_WINDOW;
        let deposits = self.inner.deposits.load(Ordering::Acquire);
        let mut ledger = self.inner.ledger.lock();
        let withdrawals = ledger.withdrawals;
        let start = now.saturating_sub(window_nanos);
        let last_time = ledger.checkpoints.back().map_or(0, |c| c.0);
        if last_time < start {
            // Nothing known inside the window: count from now, so calls made
            // long ago never fund retries today.
            ledger.checkpoints.clear();
            ledger.checkpoints.push_back((now, deposits, withdrawals));
        } else if now.saturating_sub(last_time) >= step {
            ledger.checkpoints.push_back((now, deposits, withdrawals));
        }
        // Keep the newest checkpoint at or before the window start as base.
        while ledger.checkpoints.len() > 1 && ledger.checkpoints[1].0 <= start {
            ledger.checkpoints.pop_front();
        }
        let (_, base_deposits, base_withdrawals) = ledger.checkpoints[0];
        let reserve = f64::from(min_per_sec) * window.as_secs_f64();
        let limit = ratio * (deposits - base_deposits) as f64 + reserve;
        let allowed = ((withdrawals - base_withdrawals + 1) as f64) <= limit;
        if allowed {
            ledger.withdrawals += 1;
        }
        allowed
    }

    /// Counters so far.
    pub fn stats(&self) -> BudgetStats {
        BudgetStats {
            deposits: self.inner.deposits.load(Ordering::Relaxed),
            granted: self.inner.granted.load(Ordering::Relaxed),
            denied: self.inner.denied.load(Ordering::Relaxed),
            tokens_milli: self.inner.tokens_milli.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn ratio_budget_allows_ratio_of_calls_plus_reserve() {
        let clock = ManualClock::new();
        let config = BudgetConfig::Ratio {
            ratio: 0.2,
            min_retries_per_sec: 1,
            window: Duration::from_secs(10),
        };
        let budget = RetryBudget::with_clock(config, Arc::new(clock.clone())).unwrap();
        for _ in 0..100 {
            budget.deposit();
        }
        let granted = (0..1000).filter(|_| budget.try_withdraw()).count();
        assert_eq!(granted, 30, "20 % of 100 calls + 1/s × 10 s reserve");
        clock.advance(Duration::from_secs(11));
        let granted = (0..1000).filter(|_| budget.try_withdraw()).count();
        assert_eq!(
            granted, 10,
            "old calls and retries slid out; only the reserve is left"
        );
    }

    #[test]
    fn token_budget_stops_retries_below_half_and_refills_on_success() {
        let config = BudgetConfig::Tokens {
            max_tokens: 10,
            token_ratio: 0.5,
        };
        let budget = RetryBudget::new(config).unwrap();
        let mut retries = 0;
        for _ in 0..100 {
            budget.record_attempt(false);
            if budget.try_withdraw() {
                retries += 1;
            }
        }
        assert_eq!(retries, 4, "tokens 9,8,7,6 are above half of 10");
        for _ in 0..10 {
            budget.record_attempt(true);
        }
        assert!(!budget.try_withdraw(), "exactly half is not enough");
        budget.record_attempt(true);
        assert!(budget.try_withdraw(), "5.5 of 10 tokens is above half");
    }

    #[test]
    fn validate_names_the_bad_field() {
        let bad = BudgetConfig::Ratio {
            ratio: 1.5,
            min_retries_per_sec: 0,
            window: Duration::from_secs(1),
        };
        assert_eq!(bad.validate().unwrap_err().field, "ratio");
        let bad = BudgetConfig::Tokens {
            max_tokens: 0,
            token_ratio: 0.1,
        };
        assert_eq!(bad.validate().unwrap_err().field, "max_tokens");
    }
}
