//! ballast-resilience against its peers, each pair in one criterion group on
//! the same work: failsafe (breaker), backon (retry), deadpool (pool),
//! governor (rate limiter), tokio's semaphore (bulkhead).

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballast_resilience::{
    Backoff, BreakerConfig, Bulkhead, BulkheadConfig, BulkheadStats, CircuitBreaker, Jitter,
    Manager, MetricsSnapshot, Pool, PoolConfig, PoolStats, RateLimiter, RateLimiterConfig,
    RateLimiterStats, Retry, RetryConfig, RetryStats, WindowKind, render_prometheus,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn ballast_breaker() -> CircuitBreaker {
    CircuitBreaker::new(BreakerConfig::default()).expect("default config is valid")
}

fn failsafe_breaker() -> impl failsafe::CircuitBreaker + Clone + Send + Sync + 'static {
    failsafe::Config::new().build()
}

fn failsafe_open_breaker() -> impl failsafe::CircuitBreaker {
    let policy = failsafe::failure_policy::consecutive_failures(
        1,
        failsafe::backoff::constant(Duration::from_secs(3600)),
    );
    let cb = failsafe::Config::new().failure_policy(policy).build();
    let _ = failsafe::CircuitBreaker::call(&cb, || Err::<(), ()>(()));
    cb
}

/// Runs `per_thread(iters)` on `threads` threads at once; returns wall time,
/// so the figure is the time per call as each thread sees it.
fn on_threads(threads: usize, iters: u64, per_thread: impl Fn(u64) + Sync) -> Duration {
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    per_thread(iters);
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

fn breaker(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_closed_call_1_thread");
    let ours = ballast_breaker();
    g.bench_function("ballast", |b| {
        b.iter(|| ours.call(|| Ok::<_, ()>(black_box(1))))
    });
    let peer = failsafe_breaker();
    g.bench_function("failsafe", |b| {
        b.iter(|| failsafe::CircuitBreaker::call(&peer, || Ok::<_, ()>(black_box(1))))
    });
    g.finish();

    let mut g = c.benchmark_group("breaker_closed_call_2_threads");
    g.bench_function("ballast", |b| {
        b.iter_custom(|iters| {
            on_threads(2, iters, |n| {
                for _ in 0..n {
                    let _ = black_box(ours.call(|| Ok::<_, ()>(black_box(1))));
                }
            })
        })
    });
    g.bench_function("failsafe", |b| {
        b.iter_custom(|iters| {
            on_threads(2, iters, |n| {
                for _ in 0..n {
                    let _ = black_box(failsafe::CircuitBreaker::call(&peer, || {
                        Ok::<_, ()>(black_box(1))
                    }));
                }
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("breaker_open_rejection");
    let open = ballast_breaker();
    open.force_open();
    g.bench_function("ballast", |b| {
        b.iter(|| black_box(open.call(|| Ok::<_, ()>(1)).is_err()))
    });
    let tripped = CircuitBreaker::new(BreakerConfig {
        minimum_calls: 1,
        ..BreakerConfig::default()
    })
    .expect("valid");
    let _ = tripped.call(|| Err::<(), ()>(()));
    g.bench_function("ballast_tripped", |b| {
        b.iter(|| black_box(tripped.call(|| Ok::<_, ()>(1)).is_err()))
    });
    let peer_open = failsafe_open_breaker();
    g.bench_function("failsafe", |b| {
        b.iter(|| black_box(failsafe::CircuitBreaker::call(&peer_open, || Ok::<_, ()>(1)).is_err()))
    });
    g.finish();
    breaker_open_rejection_2_threads(c, &tripped);
}

/// A tripped breaker rejecting calls from two threads at once, vs failsafe's.
fn breaker_open_rejection_2_threads(c: &mut Criterion, tripped: &CircuitBreaker) {
    let mut g = c.benchmark_group("breaker_open_rejection_2_threads");
    g.bench_function("ballast_tripped", |b| {
        b.iter_custom(|iters| {
            on_threads(2, iters, |n| {
                for _ in 0..n {
                    black_box(tripped.call(|| Ok::<_, ()>(1)).is_err());
                }
            })
        })
    });
    let peer_open = failsafe_open_breaker();
    g.bench_function("failsafe", |b| {
        b.iter_custom(|iters| {
            on_threads(2, iters, |n| {
                for _ in 0..n {
                    black_box(
                        failsafe::CircuitBreaker::call(&peer_open, || Ok::<_, ()>(1)).is_err(),
                    );
                }
            })
        })
    });
    g.finish();
}

/// A closed call into a 10 s time window of 10 buckets (reads the clock on
/// every call), against failsafe's success rate over a 10 s window.
fn breaker_time_window(c: &mut Criterion) {
    let mut g = c.benchmark_group("breaker_closed_call_time_window");
    let ours = CircuitBreaker::new(BreakerConfig {
        window: WindowKind::Time {
            length: Duration::from_secs(10),
            buckets: 10,
        },
        ..BreakerConfig::default()
    })
    .expect("valid config");
    g.bench_function("ballast", |b| {
        b.iter(|| ours.call(|| Ok::<_, ()>(black_box(1))))
    });
    let policy = failsafe::failure_policy::success_rate_over_time_window(
        0.5,
        20,
        Duration::from_secs(10),
        failsafe::backoff::constant(Duration::from_secs(30)),
    );
    let peer = failsafe::Config::new().failure_policy(policy).build();
    g.bench_function("failsafe", |b| {
        b.iter(|| failsafe::CircuitBreaker::call(&peer, || Ok::<_, ()>(black_box(1))))
    });
    g.finish();
}

fn retry(c: &mut Criterion) {
    use backon::{BackoffBuilder, BlockingRetryable, ExponentialBuilder};
    let mut g = c.benchmark_group("retry_no_retry_needed");
    let ours = Retry::new(RetryConfig::default()).expect("default config is valid");
    g.bench_function("ballast", |b| {
        b.iter(|| ours.call(|_| Ok::<_, ()>(black_box(1))))
    });
    g.bench_function("backon", |b| {
        b.iter(|| {
            (|| Ok::<_, ()>(black_box(1)))
                .retry(ExponentialBuilder::default().with_jitter())
                .call()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("retry_one_backoff_step");
    let backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60))
        .with_jitter(Jitter::Full);
    g.bench_function("ballast", |b| {
        b.iter(|| black_box(backoff).delays(black_box(7)).next())
    });
    g.bench_function("backon", |b| {
        b.iter(|| {
            black_box(ExponentialBuilder::default().with_jitter())
                .build()
                .next()
        })
    });
    // Both figures above are a schedule's first delay; a later one also
    // pays for `powi` (backon multiplies its running delay instead).
    let mut rng = ballast_resilience::SeededRng::new(7);
    g.bench_function("ballast_fifth_delay", |b| {
        b.iter(|| black_box(backoff).delay(black_box(5), Duration::ZERO, &mut rng))
    });
    g.finish();
}

#[derive(Debug)]
struct Counter;

impl Manager for Counter {
    type Object = u64;
    type Error = ();
    fn create(&self) -> Result<u64, ()> {
        Ok(0)
    }
}

struct DeadCounter;

impl deadpool::managed::Manager for DeadCounter {
    type Type = u64;
    type Error = ();
    async fn create(&self) -> Result<u64, ()> {
        Ok(0)
    }
    async fn recycle(
        &self,
        _: &mut u64,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<()> {
        Ok(())
    }
}

fn ballast_pool(max_size: usize) -> Pool<Counter> {
    Pool::new(
        Counter,
        PoolConfig {
            max_size,
            ..PoolConfig::default()
        },
    )
    .expect("valid pool config")
}

fn deadpool_pool(max_size: usize) -> deadpool::managed::Pool<DeadCounter> {
    deadpool::managed::Pool::builder(DeadCounter)
        .max_size(max_size)
        .build()
        .expect("valid deadpool config")
}

/// 16 tasks on a 2-worker runtime share the pool; returns wall time for
/// `iters` checkouts in total.
fn sixteen_tasks<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, checkout: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let per_task = iters.div_ceil(16);
    rt.block_on(async move {
        let start = Instant::now();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let checkout = checkout.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        checkout().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("bench task");
        }
        start.elapsed()
    })
}

fn pool(c: &mut Criterion) {
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("pool_checkout_return_uncontended");
    let ours = ballast_pool(4);
    g.bench_function("ballast_blocking", |b| {
        b.iter(|| black_box(*ours.acquire().expect("object")))
    });
    g.bench_function("ballast_async", |b| {
        b.iter(|| {
            current.block_on(async { black_box(*ours.acquire_async().await.expect("object")) })
        })
    });
    let peer = deadpool_pool(4);
    g.bench_function("deadpool", |b| {
        b.iter(|| current.block_on(async { black_box(*peer.get().await.expect("object")) }))
    });
    g.finish();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("pool_16_tasks_4_objects");
    let ours = ballast_pool(4);
    g.bench_function("ballast", |b| {
        b.iter_custom(|iters| {
            let pool = ours.clone();
            sixteen_tasks(&rt, iters, move || {
                let pool = pool.clone();
                async move {
                    let obj = pool.acquire_async().await.expect("object");
                    black_box(*obj);
                }
            })
        })
    });
    let peer = deadpool_pool(4);
    g.bench_function("deadpool", |b| {
        b.iter_custom(|iters| {
            let pool = peer.clone();
            sixteen_tasks(&rt, iters, move || {
                let pool = pool.clone();
                async move {
                    let obj = pool.get().await.expect("object");
                    black_box(*obj);
                }
            })
        })
    });
    g.finish();
}

fn limiter_and_bulkhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("rate_limiter_acquire");
    let config = RateLimiterConfig {
        permits: 1_000_000_000,
        per: Duration::from_secs(1),
        burst: 1_000_000,
    };
    let ours = RateLimiter::new("bench", config).expect("valid limiter config");
    g.bench_function("ballast", |b| {
        b.iter(|| black_box(ours.try_acquire().is_ok()))
    });
    let quota = governor::Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"))
        .allow_burst(NonZeroU32::new(1_000_000).expect("non-zero"));
    let peer = governor::RateLimiter::direct(quota);
    g.bench_function("governor", |b| b.iter(|| black_box(peer.check().is_ok())));
    g.finish();

    let mut g = c.benchmark_group("bulkhead_acquire_release");
    let ours = Bulkhead::new(
        "bench",
        BulkheadConfig {
            max_concurrent: 64,
            max_wait: Duration::ZERO,
        },
        None,
    )
    .expect("valid bulkhead config");
    g.bench_function("ballast", |b| {
        b.iter(|| black_box(ours.try_acquire().is_some()))
    });
    let peer = Arc::new(tokio::sync::Semaphore::new(64));
    g.bench_function("tokio_semaphore", |b| {
        b.iter(|| black_box(peer.try_acquire().is_ok()))
    });
    g.finish();
}

/// 1000 series: 40 breakers × 13, 20 retries × 7, 10 pools × 21,
/// 25 limiters × 2, 16 bulkheads × 5.
fn thousand_series() -> MetricsSnapshot {
    let breakers = (0..40)
        .map(|i| {
            let b = CircuitBreaker::new(BreakerConfig {
                name: format!("backend-{i}"),
                ..BreakerConfig::default()
            })
            .expect("valid");
            for n in 0..50 {
                let _ = b.call(|| if n % 7 == 0 { Err(()) } else { Ok(()) });
            }
            b.stats()
        })
        .collect();
    let retries = (0..20)
        .map(|i| RetryStats {
            name: format!("retry-{i}"),
            calls: 1000,
            ..Default::default()
        })
        .collect();
    let pools = (0..10)
        .map(|i| PoolStats {
            name: format!("pool-{i}"),
            checkouts: 99,
            ..Default::default()
        })
        .collect();
    let limiters = (0..25)
        .map(|i| RateLimiterStats {
            name: format!("limit-{i}"),
            allowed: 5,
            limited: 1,
        })
        .collect();
    let bulkheads = (0..16)
        .map(|i| BulkheadStats {
            name: format!("bulk-{i}"),
            ..Default::default()
        })
        .collect();
    MetricsSnapshot {
        breakers,
        retries,
        pools,
        limiters,
        bulkheads,
    }
}

fn prometheus(c: &mut Criterion) {
    let snapshot = thousand_series();
    let mut probe = String::new();
    render_prometheus(&snapshot, &mut probe);
    let series = probe.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(series, 1000, "the benchmark renders exactly 1000 series");
    let mut g = c.benchmark_group("prometheus_render_1000_series");
    let mut out = String::with_capacity(probe.len());
    g.bench_function("ballast", |b| {
        b.iter(|| {
            out.clear();
            render_prometheus(black_box(&snapshot), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    breaker,
    breaker_time_window,
    retry,
    pool,
    limiter_and_bulkhead,
    prometheus
);
criterion_main!(benches);
