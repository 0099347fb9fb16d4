//! ballast-resilience scenarios and their peers: failsafe (breaker), backon
//! (retry), governor (rate limiter), tokio's semaphore (bulkhead).

use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::Duration;

use ballast_resilience::{
    Backoff, BreakerConfig, Bulkhead, BulkheadConfig, CircuitBreaker, RateLimiter,
    RateLimiterConfig, Retry, RetryConfig,
};

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[
    (
        "resilience/breaker_closed_call/ballast",
        breaker_closed_ballast,
    ),
    (
        "resilience/breaker_closed_call/failsafe",
        breaker_closed_failsafe,
    ),
    (
        "resilience/breaker_open_rejection/ballast",
        breaker_open_ballast,
    ),
    (
        "resilience/breaker_open_rejection/failsafe",
        breaker_open_failsafe,
    ),
    ("resilience/retry_no_retry_needed/ballast", retry_ballast),
    ("resilience/retry_no_retry_needed/backon", retry_backon),
    ("resilience/rate_limiter_acquire/ballast", limiter_ballast),
    ("resilience/rate_limiter_acquire/governor", limiter_governor),
    (
        "resilience/bulkhead_acquire_release/ballast",
        bulkhead_ballast,
    ),
    (
        "resilience/bulkhead_acquire_release/tokio_semaphore",
        bulkhead_tokio,
    ),
];

#[inline(never)]
fn breaker_closed_ballast(n: u64) {
    let cb = CircuitBreaker::new(BreakerConfig::default()).expect("default config is valid");
    for i in 0..n {
        black_box(cb.call(|| Ok::<_, ()>(black_box(i))).is_ok());
    }
}

#[inline(never)]
fn breaker_closed_failsafe(n: u64) {
    let cb = failsafe::Config::new().build();
    for i in 0..n {
        black_box(failsafe::CircuitBreaker::call(&cb, || Ok::<_, ()>(black_box(i))).is_ok());
    }
}

#[inline(never)]
fn breaker_open_ballast(n: u64) {
    let cb = CircuitBreaker::new(BreakerConfig {
        consecutive_failures: Some(1),
        open_backoff: Backoff::fixed(Duration::from_secs(3600)),
        ..BreakerConfig::default()
    })
    .expect("valid config");
    let _ = cb.call(|| Err::<(), ()>(()));
    for i in 0..n {
        black_box(cb.call(|| Ok::<_, ()>(black_box(i))).is_err());
    }
}

#[inline(never)]
fn breaker_open_failsafe(n: u64) {
    let policy = failsafe::failure_policy::consecutive_failures(
        1,
        failsafe::backoff::constant(Duration::from_secs(3600)),
    );
    let cb = failsafe::Config::new().failure_policy(policy).build();
    let _ = failsafe::CircuitBreaker::call(&cb, || Err::<(), ()>(()));
    for i in 0..n {
        black_box(failsafe::CircuitBreaker::call(&cb, || Ok::<_, ()>(black_box(i))).is_err());
    }
}

#[inline(never)]
fn retry_ballast(n: u64) {
    let retry = Retry::new(RetryConfig::default()).expect("default config is valid");
    for i in 0..n {
        black_box(retry.call(|_| Ok::<_, ()>(black_box(i))).is_ok());
    }
}

#[inline(never)]
fn retry_backon(n: u64) {
    use backon::{BlockingRetryable, ExponentialBuilder};
    for i in 0..n {
        let r = (|| Ok::<_, ()>(black_box(i)))
            .retry(ExponentialBuilder::default().with_jitter())
            .call();
        black_box(r.is_ok());
    }
}

#[inline(never)]
fn limiter_ballast(n: u64) {
    let config = RateLimiterConfig {
        permits: 1_000_000_000,
        per: Duration::from_secs(1),
        burst: 1_000_000,
    };
    let limiter = RateLimiter::new("scenario", config).expect("valid limiter config");
    for _ in 0..n {
        black_box(limiter.try_acquire().is_ok());
    }
}

#[inline(never)]
fn limiter_governor(n: u64) {
    let quota = governor::Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"))
        .allow_burst(NonZeroU32::new(1_000_000).expect("non-zero"));
    let limiter = governor::RateLimiter::direct(quota);
    for _ in 0..n {
        black_box(limiter.check().is_ok());
    }
}

#[inline(never)]
fn bulkhead_ballast(n: u64) {
    let bulkhead = Bulkhead::new(
        "scenario",
        BulkheadConfig {
            max_concurrent: 64,
            max_wait: Duration::ZERO,
        },
        None,
    )
    .expect("valid bulkhead config");
    for _ in 0..n {
        drop(black_box(bulkhead.try_acquire()));
    }
}

#[inline(never)]
fn bulkhead_tokio(n: u64) {
    let semaphore = tokio::sync::Semaphore::new(64);
    for _ in 0..n {
        drop(black_box(semaphore.try_acquire()));
    }
}
