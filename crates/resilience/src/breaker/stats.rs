//! [`BreakerStats`]: a point-in-time view of a breaker.

use std::time::Duration;

use super::{BreakerState, LATENCY_BUCKETS};

/// A point-in-time view of a breaker for metrics and health checks.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerStats {
    /// The breaker's name.
    pub name: String,
    /// Current state.
    pub state: BreakerState,
    /// Calls, failures and slow calls in the window now.
    pub window_calls: u64,
    /// Failures in the window now.
    pub window_failures: u64,
    /// Slow calls in the window now.
    pub window_slow_calls: u64,
    /// Failure rate in percent, `None` below `minimum_calls`.
    pub failure_rate: Option<f64>,
    /// Slow-call rate in percent, `None` below `minimum_calls`.
    pub slow_call_rate: Option<f64>,
    /// Recorded calls since creation (successes + failures).
    pub calls_total: u64,
    /// Failed calls since creation.
    pub failures_total: u64,
    /// Slow calls since creation.
    pub slow_calls_total: u64,
    /// Ignored outcomes since creation.
    pub ignored_total: u64,
    /// Rejected calls since creation.
    pub rejected_total: u64,
    /// Times the breaker opened.
    pub opens_total: u64,
    /// Current run of consecutive failures.
    pub consecutive_failures: u32,
    /// True when `record_latency` is on and the histogram is filled.
    pub latency_enabled: bool,
    /// Call-latency counts per [`LATENCY_BUCKETS`] bound, then `+Inf`
    /// (not cumulative).
    pub latency_histogram: [u64; LATENCY_BUCKETS.len() + 1],
    /// Sum of recorded call latencies.
    pub latency_total: Duration,
}

impl BreakerStats {
    /// Successful calls since creation.
    pub fn successes_total(&self) -> u64 {
        self.calls_total.saturating_sub(self.failures_total)
    }
}
