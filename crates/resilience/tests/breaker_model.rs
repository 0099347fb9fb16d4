//! The breaker against a simple single-threaded reference model (proptest),
//! and a multi-threaded stress test whose counters must add up.
// Uses the primitives outside loom::model (or tokio), so not under --cfg loom.
#![cfg(not(loom))]

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ballast_resilience::{
    Backoff, BreakerConfig, BreakerState, CircuitBreaker, ManualClock, WindowKind,
};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Op {
    Call { fails: bool },
    Advance { secs: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(|fails| Op::Call { fails }),
        1 => (0u64..8).prop_map(|secs| Op::Advance { secs }),
    ]
}

struct Model {
    size: usize,
    minimum: usize,
    threshold: f64,
    consecutive_limit: Option<u32>,
    probes: u32,
    open_secs: u64,
    state: BreakerState,
    window: VecDeque<bool>,
    consecutive: u32,
    open_until: u64,
    probe_successes: u32,
    now: u64,
}

impl Model {
    /// Returns whether the call was admitted.
    fn call(&mut self, fails: bool) -> bool {
        if self.state == BreakerState::Open {
            if self.now < self.open_until {
                return false;
            }
            self.state = BreakerState::HalfOpen;
            self.probe_successes = 0;
        }
        if self.state == BreakerState::HalfOpen {
            if fails {
                self.open();
            } else {
                self.probe_successes += 1;
                if self.probe_successes == self.probes {
                    self.state = BreakerState::Closed;
                    self.window.clear();
                    self.consecutive = 0;
                }
            }
            return true;
        }
        if self.window.len() == self.size {
            self.window.pop_front();
        }
        self.window.push_back(fails);
        self.consecutive = if fails { self.consecutive + 1 } else { 0 };
        let failures = self.window.iter().filter(|f| **f).count();
        let rate_trips = self.window.len() >= self.minimum
            && failures as f64 * 100.0 >= self.threshold * self.window.len() as f64;
        let run_trips = self
            .consecutive_limit
            .is_some_and(|l| self.consecutive >= l);
        if fails && (rate_trips || run_trips) {
            self.open();
        }
        true
    }

    fn open(&mut self) {
        self.state = BreakerState::Open;
        self.open_until = self.now + self.open_secs;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn breaker_matches_reference_model(
        size in 1usize..8,
        minimum in 1usize..8,
        threshold in prop::sample::select(vec![20.0, 50.0, 100.0]),
        consecutive_limit in prop::option::of(1u32..4),
        probes in 1u32..3,
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let clock = ManualClock::new();
        let config = BreakerConfig {
            window: WindowKind::Count { size: size as u32 },
            minimum_calls: minimum as u32,
            failure_rate_threshold: threshold,
            consecutive_failures: consecutive_limit,
            half_open_probes: probes,
            open_backoff: Backoff::fixed(Duration::from_secs(5)),
            probe_timeout: Duration::from_secs(3600),
            ..BreakerConfig::default()
        };
        let breaker = CircuitBreaker::with_clock(config, Arc::new(clock.clone())).unwrap();
        let mut model = Model {
            size, minimum: minimum.min(size), threshold, consecutive_limit, probes, open_secs: 5,
            state: BreakerState::Closed, window: VecDeque::new(), consecutive: 0,
            open_until: 0, probe_successes: 0, now: 0,
        };
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Advance { secs } => {
                    clock.advance(Duration::from_secs(secs));
                    model.now += secs;
                }
                Op::Call { fails } => {
                    let admitted = breaker.call(|| if fails { Err(()) } else { Ok(()) })
                        .map_or_else(|e| e.into_inner().is_some(), |_| true);
                    prop_assert_eq!(admitted, model.call(fails), "admission differs at op {}", i);
                }
            }
            prop_assert_eq!(breaker.state(), model.state, "state differs after op {}", i);
        }
    }
}

#[test]
fn stress_counters_add_up_across_threads() {
    let seed: u64 = std::env::var("BALLAST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xB417);
    println!("stress seed: {seed} (replay with BALLAST_SEED={seed})");
    let config = BreakerConfig {
        window: WindowKind::Count { size: 64 },
        minimum_calls: 16,
        failure_rate_threshold: 30.0,
        open_backoff: Backoff::fixed(Duration::from_micros(50)),
        half_open_probes: 2,
        ..BreakerConfig::default()
    };
    let breaker = CircuitBreaker::new(config).unwrap();
    let admitted = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (b, admitted, failed, rejected) = (
                breaker.clone(),
                Arc::clone(&admitted),
                Arc::clone(&failed),
                Arc::clone(&rejected),
            );
            std::thread::spawn(move || {
                let mut rng = ballast_resilience::SeededRng::new(seed ^ t);
                for _ in 0..20_000 {
                    let fails = rng.below_inclusive(99) < 25;
                    match b.try_acquire() {
                        Ok(p) if fails => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            admitted.fetch_add(1, Ordering::Relaxed);
                            p.failure();
                        }
                        Ok(p) => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                            p.success();
                        }
                        Err(_) => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("stress thread panicked");
    }
    let stats = breaker.stats();
    let (admitted, failed, rejected) = (
        admitted.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        rejected.load(Ordering::Relaxed),
    );
    assert_eq!(
        admitted + rejected,
        80_000,
        "every call admitted or rejected (seed {seed})"
    );
    assert_eq!(stats.rejected_total, rejected, "seed {seed}");
    assert_eq!(
        stats.calls_total, admitted,
        "every admitted call recorded exactly once (seed {seed})"
    );
    assert_eq!(stats.failures_total, failed, "seed {seed}");
    assert!(stats.window_failures <= stats.window_calls, "seed {seed}");
}
