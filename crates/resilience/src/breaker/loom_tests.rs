//! Loom models of the breaker's lock-free state: the count window's
//! counters stay equal to its slot contents, the time window keeps every
//! outcome recorded across a bucket rollover and never shows a reader the
//! previous round's counts, concurrent failures trip exactly once, and
//! concurrent probes never exceed the half-open limit, and no view of the
//! count window shows more marks than the window holds.

use std::sync::Arc;
use std::time::Duration;

use loom::thread;

use super::window::{CountWindow, FAILED, SLOW, TimeWindow};
use super::*;
use crate::backoff::Backoff;
use crate::clock::ManualClock;

/// Bounded preemptions keep the exploration to seconds while still covering
/// every interleaving with up to this many forced context switches.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

#[test]
fn loom_count_window_counters_match_slots() {
    model(|| {
        let w = Arc::new(CountWindow::new(2));
        let handles: Vec<_> = [FAILED, 0, FAILED | SLOW]
            .into_iter()
            .map(|bits| {
                let w = Arc::clone(&w);
                thread::spawn(move || {
                    w.record(bits);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let (failed, slow) = w.marked_slots();
        let counts = w.counts();
        assert_eq!(counts.failures, u64::from(failed));
        assert_eq!(counts.slow, u64::from(slow));
        assert_eq!(counts.calls, 2);
    });
}

#[test]
fn loom_clean_success_and_concurrent_failure_keep_counts_exact() {
    model(|| {
        let w = Arc::new(CountWindow::new(1));
        w.record(0);
        let a = {
            let w = Arc::clone(&w);
            thread::spawn(move || {
                w.record(0);
            })
        };
        let b = {
            let w = Arc::clone(&w);
            thread::spawn(move || {
                w.record(FAILED);
            })
        };
        a.join().unwrap();
        b.join().unwrap();
        let (failed, _) = w.marked_slots();
        assert_eq!(w.counts().failures, u64::from(failed));
        assert_eq!(w.recorded(), 3, "every outcome counted exactly once");
    });
}

fn tiny(clock: &ManualClock) -> CircuitBreaker {
    let config = BreakerConfig {
        window: WindowKind::Count { size: 2 },
        minimum_calls: 1,
        failure_rate_threshold: 50.0,
        half_open_probes: 1,
        open_backoff: Backoff::fixed(Duration::from_secs(1)),
        ..BreakerConfig::default()
    };
    CircuitBreaker::with_clock(config, Arc::new(clock.clone())).unwrap()
}

#[test]
fn loom_concurrent_failures_trip_exactly_once() {
    model(|| {
        let clock = ManualClock::new();
        let b = tiny(&clock);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || {
                    if let Ok(p) = b.try_acquire() {
                        p.failure();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(b.current_state(), BreakerState::Open);
        assert_eq!(b.stats().opens_total, 1);
    });
}

#[test]
fn loom_half_open_never_admits_more_than_the_probe_limit() {
    model(|| {
        let clock = ManualClock::new();
        let b = tiny(&clock);
        b.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(1));
        let held = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (b, held) = (b.clone(), Arc::clone(&held));
                thread::spawn(move || {
                    let permit = b.try_acquire();
                    let admitted = permit.is_ok();
                    if admitted {
                        let now_held = held.fetch_add(1, loom::sync::atomic::Ordering::SeqCst) + 1;
                        assert_eq!(now_held, 1, "two probes held at once with a limit of one");
                        held.fetch_sub(1, loom::sync::atomic::Ordering::SeqCst);
                    }
                    drop(permit);
                    admitted
                })
            })
            .collect();
        let admitted: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(admitted.iter().any(|a| *a), "one probe gets through");
        assert_eq!(b.current_state(), BreakerState::HalfOpen);
    });
}

#[test]
fn loom_probe_outcome_and_expiry_do_not_wedge() {
    model(|| {
        let clock = ManualClock::new();
        let b = tiny(&clock);
        b.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(1));
        let probe = b.try_acquire().unwrap();
        let b2 = b.clone();
        let t = thread::spawn(move || {
            if let Ok(p) = b2.try_acquire() {
                p.success();
            }
        });
        probe.success();
        t.join().unwrap();
        assert_eq!(b.current_state(), BreakerState::Closed);
    });
}

/// A time window of two 1 ns buckets whose bucket for epoch 3 still holds
/// two failures from epoch 1 (one full window ago). Few writes keep every
/// atomic within loom's store history.
fn time_window_with_stale_bucket() -> Arc<TimeWindow> {
    let w = Arc::new(TimeWindow::new(2, 2));
    for _ in 0..2 {
        w.record(FAILED, 0);
    }
    w
}

#[test]
fn loom_time_window_rollover_keeps_every_new_outcome() {
    model(|| {
        let w = time_window_with_stale_bucket();
        let handles: Vec<_> = [0, FAILED]
            .into_iter()
            .map(|bits| {
                let w = Arc::clone(&w);
                thread::spawn(move || {
                    w.record(bits, 2);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let c = w.counts(2);
        assert_eq!(
            (c.calls, c.failures),
            (2, 1),
            "an outcome was lost at rollover"
        );
    });
}

#[test]
fn loom_time_window_never_shows_stale_counts_during_rollover() {
    model(|| {
        let w = time_window_with_stale_bucket();
        let reader = {
            let w = Arc::clone(&w);
            thread::spawn(move || w.counts(2))
        };
        w.record(FAILED, 2);
        let c = reader.join().unwrap();
        assert!(
            c.failures <= 1 && c.failures <= c.calls,
            "a reader saw the previous window's counts: {c:?}"
        );
    });
}

#[test]
fn loom_rejected_total_never_goes_down() {
    model(|| {
        let clock = ManualClock::new();
        let b = tiny(&clock);
        b.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(1));
        let caller = {
            let b = b.clone();
            // Finds the open duration passed and takes the probe.
            thread::spawn(move || b.try_acquire().is_ok())
        };
        let first = b.stats().rejected_total;
        let second = b.stats().rejected_total;
        assert!(caller.join().unwrap(), "the call after the deadline probes");
        assert!(
            second >= first,
            "a counter went down between two snapshots: {first} then {second}"
        );
        assert_eq!(b.stats().rejected_total, 0);
    });
}

#[test]
fn loom_calls_total_never_goes_down_when_the_breaker_closes() {
    model(|| {
        let clock = ManualClock::new();
        let b = tiny(&clock);
        b.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(1));
        let closer = {
            let b = b.clone();
            thread::spawn(move || b.try_acquire().unwrap().success())
        };
        let first = b.stats().calls_total;
        let second = b.stats().calls_total;
        closer.join().unwrap();
        assert!(
            second >= first,
            "a counter went down between two snapshots: {first} then {second}"
        );
        assert_eq!(b.current_state(), BreakerState::Closed);
        assert_eq!(b.stats().calls_total, 2);
    });
}

#[test]
fn loom_count_window_view_never_has_more_failures_than_calls() {
    model(|| {
        // Not yet full, so calls come from the head, not the window size.
        let w = Arc::new(CountWindow::new(4));
        let other = {
            let w = Arc::clone(&w);
            thread::spawn(move || {
                w.record(FAILED);
            })
        };
        let c = w.record(FAILED).expect("a failure returns the counts");
        other.join().unwrap();
        assert!(
            c.failures <= c.calls,
            "more failures than calls in one view: {c:?}"
        );
    });
}

#[test]
fn loom_count_window_view_stays_within_the_window_while_a_slot_is_overwritten() {
    model(|| {
        // A full one-slot window holding a failure: a success overwriting
        // it races a new failure on the same slot, so one writer's counter
        // update can land between the other's swap and update.
        let w = Arc::new(CountWindow::new(1));
        w.record(FAILED);
        let success = {
            let w = Arc::clone(&w);
            thread::spawn(move || {
                w.record(0);
            })
        };
        let c = w.record(FAILED).expect("a failure returns the counts");
        success.join().unwrap();
        assert!(
            c.failures <= c.calls && c.calls <= 1,
            "a view beyond the window: {c:?}"
        );
        let (failed, _) = w.marked_slots();
        assert_eq!(w.counts().failures, u64::from(failed));
    });
}
