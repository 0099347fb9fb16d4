//! Resilience primitives for services that call flaky peers.
//!
//! `ballast-resilience` wraps calls with a [`CircuitBreaker`], retries them
//! with a [`Backoff`] under a shared [`RetryBudget`], and reads time through
//! a [`Clock`] so every time-based behaviour is testable without sleeping.
//! It depends on no other ballast crate; the core is runtime-agnostic.
//!
//! ```
//! use ballast_resilience::{BreakerConfig, CircuitBreaker};
//!
//! let breaker = CircuitBreaker::new(BreakerConfig {
//!     name: "inventory".into(),
//!     minimum_calls: 5,
//!     ..BreakerConfig::default()
//! })?;
//! let stock: Result<u32, std::io::Error> = Ok(7);
//! let answer = breaker.call(|| stock);
//! assert_eq!(answer.ok(), Some(7));
//! assert_eq!(breaker.stats().calls_total, 1);
//! # Ok::<(), ballast_resilience::ConfigError>(())
//! ```
//!
//! # Feature flags
//!
//! - `tokio`: `TokioSleeper`, a tokio-timer sleeper for async retries.
//! - `http`: `http::serve` / `http::router`, an axum endpoint for
//!   `/health/live`, `/health/ready`, `/health` and `/metrics`.
//! - `metrics`: `metrics::emit_metrics`, emission through the `metrics` facade.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod clock;
mod error;
pub mod health;
#[cfg(feature = "http")]
pub mod http;
mod loom;
pub mod metrics;
pub mod pool;
pub mod rate_limit;
pub mod retry;
pub mod shutdown;
pub mod sleep;
pub mod timeout;

pub use backoff::{Backoff, BackoffKind, Jitter, SeededRng};
pub use breaker::{
    BreakerConfig, BreakerEvent, BreakerState, BreakerStats, CircuitBreaker, Outcome, Permit,
    Rejected, WindowKind,
};
pub use budget::{BudgetConfig, BudgetStats, RetryBudget};
pub use bulkhead::{AcquireSlot, Bulkhead, BulkheadConfig, BulkheadPermit, BulkheadStats};
pub use clock::{Clock, FastClock, ManualClock, SharedClock, SystemClock};
pub use error::{CallError, ConfigError, Error};
pub use health::{Health, HealthRegistry, HealthReport, HealthStatus, Probe};
pub use metrics::{MetricsRegistry, MetricsSnapshot, render_prometheus};
pub use pool::{DrainReport, Manager, Pool, PoolConfig, PoolStats, Pooled};
pub use rate_limit::{KeyedRateLimiter, RateLimiter, RateLimiterConfig, RateLimiterStats};
pub use retry::{
    Retry, RetryBuilder, RetryConfig, RetryDecision, RetryEvent, RetryReport, RetryStats,
    StopReason,
};
pub use shutdown::{InFlightGuard, Phase, Shutdown, ShutdownConfig, ShutdownReport, TaskOutcome};
#[cfg(feature = "tokio")]
pub use sleep::TokioSleeper;
pub use sleep::{AsyncSleeper, ManualSleeper, Sleeper, ThreadSleeper};
pub use timeout::{Timeout, run_with_timeout, timeout};
