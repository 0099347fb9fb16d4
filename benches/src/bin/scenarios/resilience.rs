//! ballast-resilience scenarios and their peers: failsafe (breaker), backon
//! (retry), governor (rate limiter), tokio's semaphore (bulkhead).
//!
//! No clock here calibrates. The default `FastClock` (like governor's
//! default) calibrates the TSC against the OS clock when first built, for a
//! number of instructions that depends on timing; under callgrind, over the
//! 20 000 operations `cargo xtask regress` counts, that noise came to tens
//! to hundreds of instructions per operation. The breakers and the retry run
//! on `SystemClock`, which follows real time as the default does, so they
//! take their production paths (and read it rarely or never per call). The
//! rate limiters read their clock on every call, and under valgrind an OS
//! clock read is a system call through glibc's fallback (about 100
//! instructions), so both limiters run on a manual clock advanced 1 ns per
//! call: an atomic load per read, as close as callgrind gets to a TSC read.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use ballast_resilience::{
    Backoff, BreakerConfig, Bulkhead, BulkheadConfig, CircuitBreaker, Manager, ManualClock, Pool,
    PoolConfig, RateLimiter, RateLimiterConfig, Retry, RetryConfig, SharedClock, SystemClock,
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
    ("resilience/pool_checkout_return/ballast", pool_checkout),
    (
        "resilience/bulkhead_acquire_release/ballast",
        bulkhead_ballast,
    ),
    (
        "resilience/bulkhead_acquire_release/tokio_semaphore",
        bulkhead_tokio,
    ),
];

/// A real-time clock that needs no calibration (see the module docs).
fn clock() -> SharedClock {
    Arc::new(SystemClock::new())
}

#[inline(never)]
fn breaker_closed_ballast(n: u64) {
    let cb = CircuitBreaker::with_clock(BreakerConfig::default(), clock())
        .expect("default config is valid");
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
    let config = BreakerConfig {
        consecutive_failures: Some(1),
        open_backoff: Backoff::fixed(Duration::from_secs(3600)),
        ..BreakerConfig::default()
    };
    let cb = CircuitBreaker::with_clock(config, clock()).expect("valid config");
    let _ = cb.call(|| Err::<(), ()>(()));
    // The first rejection starts the coarse-tick thread; yielding lets it
    // publish a tick (under valgrind too, whose threads take turns), so
    // every run measures the steady state.
    for _ in 0..1_000 {
        let _ = cb.call(|| Ok::<_, ()>(0));
        std::thread::yield_now();
    }
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
    let retry = Retry::builder(RetryConfig::default())
        .clock(clock())
        .build()
        .expect("default config is valid");
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
    let time = ManualClock::new();
    let limiter = RateLimiter::with_clock("scenario", config, Arc::new(time.clone()))
        .expect("valid limiter config");
    for _ in 0..n {
        time.advance(Duration::from_nanos(1));
        black_box(limiter.try_acquire().is_ok());
    }
}

#[inline(never)]
fn limiter_governor(n: u64) {
    let quota = governor::Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"))
        .allow_burst(NonZeroU32::new(1_000_000).expect("non-zero"));
    let time = governor::clock::FakeRelativeClock::default();
    let limiter = governor::RateLimiter::direct_with_clock(quota, time.clone());
    for _ in 0..n {
        time.advance(Duration::from_nanos(1));
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

/// Lends plain buffers; creating one never fails.
struct Buffers;

impl Manager for Buffers {
    type Object = Vec<u8>;
    type Error = ();

    fn create(&self) -> Result<Vec<u8>, ()> {
        Ok(Vec::with_capacity(4096))
    }
}

/// One checkout of an idle object and its return, on a warm pool.
#[inline(never)]
fn pool_checkout(n: u64) {
    // A manual clock, as for the limiters: an OS clock read under valgrind
    // is a system call whose cost moves from run to run.
    let pool = Pool::with_clock(
        Buffers,
        PoolConfig::default(),
        Arc::new(ManualClock::new()),
        None,
    )
    .expect("default config is valid");
    drop(pool.acquire());
    for _ in 0..n {
        drop(black_box(pool.acquire()));
    }
}
