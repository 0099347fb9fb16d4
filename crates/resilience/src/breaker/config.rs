//! Circuit breaker configuration.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::ConfigError;

/// How the breaker remembers recent outcomes. In a configuration file:
/// `{ kind = "count", size = 100 }` or `{ kind = "time", length = "60s",
/// buckets = 60 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(
    try_from = "crate::serde_config::WindowTable",
    into = "crate::serde_config::WindowTable"
)]
#[non_exhaustive]
pub enum WindowKind {
    /// The last `size` calls (no clock reads on the closed path).
    Count {
        /// Number of calls remembered.
        size: u32,
    },
    /// The calls of the last `length`, kept in `buckets` buckets.
    Time {
        /// How far back the window reaches.
        length: Duration,
        /// Resolution: the window slides one `length / buckets` step at a time.
        buckets: u32,
    },
}

/// Largest count window, so the ring stays a bounded allocation.
pub const MAX_WINDOW_SIZE: u32 = 1 << 20;
/// Shortest time window: one second, as resilience4j counts time windows
/// in seconds. Bucket rounds are 32-bit tags, so a bucket left untouched
/// for 2^31 window lengths could look current; at one second that is 68
/// years, at a nanosecond it would be two seconds.
pub const MIN_TIME_WINDOW_LENGTH: Duration = Duration::from_secs(1);
/// Largest number of time-window buckets.
pub const MAX_WINDOW_BUCKETS: u32 = 3600;
/// Largest number of concurrent half-open probes.
pub const MAX_HALF_OPEN_PROBES: u32 = 1024;

/// Circuit breaker settings. `Default` matches resilience4j's defaults
/// (count window of 100, 50 % failure rate, 100 minimum calls, 60 s open)
/// except that `minimum_calls` is 20 and open duration is 30 s.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Name used in events, errors and metrics labels.
    pub name: String,
    /// The sliding window.
    pub window: WindowKind,
    /// Trip when this percentage (0–100] of windowed calls failed.
    pub failure_rate_threshold: f64,
    /// Rates are only evaluated once the window holds this many calls. A
    /// count window smaller than this uses its size instead (as
    /// resilience4j does), so it can still trip once full; see
    /// [`BreakerConfig::effective_minimum_calls`].
    pub minimum_calls: u32,
    /// Calls at least this long count as slow; `None` disables slow-call
    /// detection (and the clock reads it needs).
    #[serde(
        with = "crate::serde_config::option_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub slow_call_duration: Option<Duration>,
    /// Trip when this percentage (0–100] of windowed calls was slow.
    pub slow_call_rate_threshold: f64,
    /// Trip after this many failures in a row, regardless of the window.
    pub consecutive_failures: Option<u32>,
    /// Open duration for the n-th consecutive open (n = 1, 2, …).
    pub open_backoff: Backoff,
    /// Seed for jitter in `open_backoff`.
    pub seed: u64,
    /// Concurrent probes admitted in half-open; this many successes close.
    pub half_open_probes: u32,
    /// A probe permit not completed within this time is reclaimed.
    #[serde(with = "crate::serde_config::duration")]
    pub probe_timeout: Duration,
    /// Measure every recorded call's duration into a latency histogram
    /// (two clock reads per call; off by default).
    pub record_latency: bool,
    /// If true, reading `state()` moves an expired open breaker to
    /// half-open; otherwise the move happens on the next acquire.
    pub automatic_half_open: bool,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            name: "default".to_owned(),
            window: WindowKind::Count { size: 100 },
            failure_rate_threshold: 50.0,
            minimum_calls: 20,
            slow_call_duration: None,
            slow_call_rate_threshold: 100.0,
            consecutive_failures: None,
            open_backoff: Backoff::fixed(Duration::from_secs(30)),
            seed: 0x5EED,
            half_open_probes: 3,
            probe_timeout: Duration::from_secs(30),
            record_latency: false,
            automatic_half_open: false,
        }
    }
}

impl BreakerConfig {
    /// Calls the window must hold before rates count: `minimum_calls`,
    /// capped at the size of a count window (which never holds more).
    pub fn effective_minimum_calls(&self) -> u32 {
        match self.window {
            WindowKind::Count { size } => self.minimum_calls.min(size),
            WindowKind::Time { .. } => self.minimum_calls,
        }
    }

    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.window {
            WindowKind::Count { size } if size == 0 || size > MAX_WINDOW_SIZE => {
                return Err(ConfigError::new(
                    "window.size",
                    "must be in 1..=MAX_WINDOW_SIZE",
                ));
            }
            WindowKind::Time { length, .. } if length < MIN_TIME_WINDOW_LENGTH => {
                return Err(ConfigError::new(
                    "window.length",
                    "must be at least MIN_TIME_WINDOW_LENGTH (1 s)",
                ));
            }
            WindowKind::Time { buckets, .. } if buckets == 0 || buckets > MAX_WINDOW_BUCKETS => {
                return Err(ConfigError::new(
                    "window.buckets",
                    "must be in 1..=MAX_WINDOW_BUCKETS",
                ));
            }
            _ => {}
        }
        if !(self.failure_rate_threshold > 0.0 && self.failure_rate_threshold <= 100.0) {
            return Err(ConfigError::new(
                "failure_rate_threshold",
                "must be in (0, 100]",
            ));
        }
        if !(self.slow_call_rate_threshold > 0.0 && self.slow_call_rate_threshold <= 100.0) {
            return Err(ConfigError::new(
                "slow_call_rate_threshold",
                "must be in (0, 100]",
            ));
        }
        if self.minimum_calls == 0 {
            return Err(ConfigError::new("minimum_calls", "must be at least 1"));
        }
        if self.consecutive_failures == Some(0) {
            return Err(ConfigError::new(
                "consecutive_failures",
                "must be at least 1 when set",
            ));
        }
        if self.half_open_probes == 0 || self.half_open_probes > MAX_HALF_OPEN_PROBES {
            return Err(ConfigError::new(
                "half_open_probes",
                "must be in 1..=MAX_HALF_OPEN_PROBES",
            ));
        }
        if self.probe_timeout.is_zero() {
            return Err(ConfigError::new("probe_timeout", "must be non-zero"));
        }
        self.open_backoff.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_window_caps_minimum_calls_at_its_size() {
        let config = BreakerConfig {
            window: WindowKind::Count { size: 10 },
            minimum_calls: 20,
            ..Default::default()
        };
        assert_eq!(config.effective_minimum_calls(), 10);
        assert_eq!(BreakerConfig::default().effective_minimum_calls(), 20);
    }

    #[test]
    fn default_config_is_valid() {
        assert_eq!(BreakerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn validate_names_the_bad_field() {
        let cases: [(BreakerConfig, &str); 5] = [
            (
                BreakerConfig {
                    window: WindowKind::Time {
                        length: Duration::from_millis(999),
                        buckets: 10,
                    },
                    ..Default::default()
                },
                "window.length",
            ),
            (
                BreakerConfig {
                    window: WindowKind::Count { size: 0 },
                    ..Default::default()
                },
                "window.size",
            ),
            (
                BreakerConfig {
                    failure_rate_threshold: 0.0,
                    ..Default::default()
                },
                "failure_rate_threshold",
            ),
            (
                BreakerConfig {
                    half_open_probes: 0,
                    ..Default::default()
                },
                "half_open_probes",
            ),
            (
                BreakerConfig {
                    consecutive_failures: Some(0),
                    ..Default::default()
                },
                "consecutive_failures",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(config.validate().unwrap_err().field, field);
        }
    }
}
