//! The hot paths allocate nothing: a counting global allocator proves it.
// Uses the primitives outside loom::model (or tokio), so not under --cfg loom.
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ballast_resilience::{
    BreakerConfig, Bulkhead, BulkheadConfig, CircuitBreaker, RateLimiter, RateLimiterConfig, Retry,
    RetryConfig,
};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // Only the measuring thread counts: the test harness's own threads may
    // allocate while a slow run is in progress.
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count_one() {
    if COUNTING.with(std::cell::Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards every call unchanged to the system allocator and only
// counts calls, so it upholds GlobalAlloc's contract exactly as System does.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn hot_paths_allocate_nothing_per_call() {
    let breaker = CircuitBreaker::new(BreakerConfig::default()).unwrap();
    let retry = Retry::new(RetryConfig::default()).unwrap();
    let config = RateLimiterConfig {
        permits: 1_000_000,
        per: Duration::from_secs(1),
        burst: 1_000_000,
    };
    let limiter = RateLimiter::new("l", config).unwrap();
    let bulkhead = Bulkhead::new("b", BulkheadConfig::default(), None).unwrap();
    // Warm up: first use may set up thread-locals.
    for _ in 0..200 {
        let _ = breaker.call(|| Ok::<_, ()>(1));
    }
    let n = allocations_during(|| {
        for i in 0..10_000 {
            let _ = breaker.call(|| if i % 10 == 0 { Err(()) } else { Ok(i) });
            let _ = retry.call(|_| Ok::<_, ()>(i));
            let _ = limiter.try_acquire();
            drop(bulkhead.try_acquire());
        }
    });
    assert_eq!(
        n, 0,
        "closed breaker, first-try retry, limiter and bulkhead allocate nothing"
    );
    breaker.force_open();
    let n = allocations_during(|| {
        for _ in 0..10_000 {
            assert!(breaker.call(|| Ok::<_, ()>(1)).is_err());
        }
    });
    assert_eq!(n, 0, "open-state rejection allocates nothing");

    let tripped = CircuitBreaker::new(BreakerConfig {
        consecutive_failures: Some(1),
        open_backoff: ballast_resilience::Backoff::fixed(Duration::from_secs(3600)),
        ..BreakerConfig::default()
    })
    .unwrap();
    let _ = tripped.call(|| Err::<(), ()>(()));
    // Warm up: the first rejection starts the coarse-tick thread.
    for _ in 0..200 {
        let _ = tripped.call(|| Ok::<_, ()>(1));
    }
    let n = allocations_during(|| {
        for _ in 0..10_000 {
            assert!(tripped.call(|| Ok::<_, ()>(1)).is_err());
        }
    });
    assert_eq!(n, 0, "rejection by a tripped breaker allocates nothing");
}
