//! Resilience primitives for services that call flaky peers.
//!
//! `ballast-resilience` keeps calls alive when the network and the peers
//! misbehave. It depends only on ballast-clock (time and seeded
//! randomness) among the ballast crates, and its core is
//! runtime-agnostic: every primitive has a blocking and an async API.
//!
//! | primitive | what it does |
//! |---|---|
//! | [`CircuitBreaker`] | stops calling a failing peer; count or time window, slow calls, consecutive failures, half-open probes that cannot wedge |
//! | [`Retry`], [`Backoff`], [`RetryBudget`] | retries with fixed/linear/exponential/fibonacci/decorrelated backoff and jitter, Retry-After, and a shared budget (Finagle ratio or gRPC tokens) |
//! | [`Pool`] | lends objects made by a [`Manager`]: min idle, max size, timeouts, lifetimes, health checks, drain |
//! | [`RateLimiter`], [`KeyedRateLimiter`] | GCRA on one atomic word; per-key variant evicting idle keys |
//! | [`Bulkhead`] | caps concurrency, with a bounded wait |
//! | [`timeout()`], [`run_with_timeout`] | deadlines for futures and blocking work |
//! | [`HealthRegistry`], [`MetricsRegistry`] | liveness / readiness, JSON report, Prometheus text |
//! | [`Shutdown`] | draining → closing → cleanup with deadlines, signals, a report |
//!
//! Time comes through a [`Clock`] (default: [`FastClock`]); tests pass a
//! [`ManualClock`] and never sleep. These and [`SeededRng`] are
//! ballast-clock's, re-exported under their old paths (`clock::ManualClock`
//! too): the `ManualClock` a breaker takes is the one ballast-chaos's
//! `FaultyStream` and `History` take, so one clock drives them all. Every config has a `Default` and a
//! `validate()` returning a [`ConfigError`] that names the field. The guide
//! is `docs/resilience.md`.
//!
//! ```
//! use std::time::Duration;
//! use ballast_resilience::{Backoff, BreakerConfig, CallError, CircuitBreaker, Retry, RetryConfig};
//! # if ballast_resilience::LOOM_BUILD { return Ok(()); }
//!
//! let breaker = CircuitBreaker::new(BreakerConfig {
//!     name: "inventory".into(),
//!     minimum_calls: 5,
//!     ..BreakerConfig::default()
//! })?;
//! let retry = Retry::new(RetryConfig {
//!     max_attempts: 3,
//!     backoff: Backoff::fixed(Duration::ZERO),
//!     ..RetryConfig::default()
//! })?;
//!
//! // A peer that fails once, then answers.
//! let mut calls = 0;
//! let stock = retry.call(|_attempt| {
//!     breaker.call(|| {
//!         calls += 1;
//!         if calls == 1 { Err("connection reset") } else { Ok(7) }
//!     })
//! });
//! assert_eq!(stock.ok(), Some(7));
//! assert_eq!(breaker.stats().failures_total, 1);
//! assert_eq!(retry.stats().retries, 1);
//! # let _: Option<CallError<&str>> = None;
//! # Ok::<(), ballast_resilience::ConfigError>(())
//! ```
//!
//! # Feature flags
//!
//! - `tokio`: `TokioSleeper`, a tokio-timer sleeper for async retries (and
//!   the default async sleeper of [`Retry`]).
//! - `http`: `http::serve` / `http::router`, an axum endpoint for
//!   `/health/live`, `/health/ready`, `/health` and `/metrics`.
//! - `metrics`: `metrics::emit_metrics`, emission through the `metrics` facade.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod clock;
mod error;
pub mod health;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod loom;
pub mod metrics;
pub mod pool;
pub mod process;
pub mod rate_limit;
pub mod retry;
pub mod serde_config;
pub mod shutdown;
pub mod sleep;
pub mod timeout;

/// Whether this build runs the lock-free state on loom's model-checking
/// atomics (`--cfg loom`); doc examples use it to step aside, since loom's
/// types only work inside `loom::model`.
#[doc(hidden)]
pub const LOOM_BUILD: bool = cfg!(loom);

pub use backoff::{Backoff, BackoffKind, Jitter, SeededRng};
/// Stable error codes, retry classes and recovery guidance (`ballast-error`):
/// every error of this crate implements [`Coded`].
pub use ballast_error::{CatalogEntry, Coded, ErrorClass};
pub use breaker::{
    BreakerConfig, BreakerEvent, BreakerState, BreakerStats, CircuitBreaker, LATENCY_BUCKETS,
    OPEN_RECHECK_REJECTIONS, Outcome, Permit, Rejected, WindowKind,
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
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use sleep::TokioSleeper;
pub use sleep::{AsyncSleeper, ManualSleeper, Sleeper, ThreadSleeper};
pub use timeout::{Timeout, run_with_timeout, timeout};

/// Every error catalog of this crate, by error type: each variant's stable
/// code, class and recovery guidance (`docs/errors.md` is generated from
/// these).
pub fn error_catalogs() -> &'static [(&'static str, &'static [CatalogEntry])] {
    &[
        ("ballast_resilience::Error", error::CATALOG),
        ("ballast_resilience::ConfigError", error::CONFIG_CATALOG),
    ]
}
