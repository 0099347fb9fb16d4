use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::time::Duration;

use super::*;
use crate::backoff::Backoff;
use crate::clock::{Clock, ManualClock};

const SEC: Duration = Duration::from_secs(1);

fn breaker(config: BreakerConfig) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(config, Arc::new(clock.clone())).expect("valid config");
    (b, clock)
}

fn small() -> BreakerConfig {
    BreakerConfig {
        window: WindowKind::Count { size: 10 },
        minimum_calls: 4,
        failure_rate_threshold: 50.0,
        open_backoff: Backoff::fixed(SEC * 10),
        half_open_probes: 2,
        probe_timeout: SEC * 5,
        ..BreakerConfig::default()
    }
}

fn fail(b: &CircuitBreaker) -> Result<(), CallError<&'static str>> {
    b.call(|| Err::<(), _>("boom"))
}

fn ok(b: &CircuitBreaker) -> Result<(), CallError<&'static str>> {
    b.call(|| Ok::<(), &str>(()))
}

#[test]
fn trips_once_failure_rate_reaches_threshold_after_minimum_calls() {
    let (b, _) = breaker(small());
    ok(&b).unwrap();
    fail(&b).unwrap_err();
    fail(&b).unwrap_err();
    assert_eq!(b.state(), BreakerState::Closed, "below minimum_calls");
    ok(&b).unwrap();
    assert_eq!(b.state(), BreakerState::Closed, "a success never trips");
    fail(&b).unwrap_err();
    assert_eq!(b.state(), BreakerState::Open, "3 of 5 failed");
    let err = ok(&b).unwrap_err();
    assert!(matches!(
        err,
        CallError::Rejected(Error::CircuitOpen {
            state: BreakerState::Open,
            ..
        })
    ));
    assert_eq!(b.stats().rejected_total, 1);
}

#[test]
fn count_window_smaller_than_minimum_calls_trips_once_full() {
    let config = BreakerConfig {
        window: WindowKind::Count { size: 10 },
        minimum_calls: 20,
        ..small()
    };
    let (b, _) = breaker(config);
    for _ in 0..9 {
        fail(&b).unwrap_err();
    }
    assert_eq!(b.state(), BreakerState::Closed, "window not full yet");
    fail(&b).unwrap_err();
    assert_eq!(b.state(), BreakerState::Open, "10 of 10 failed");
}

#[test]
fn open_breaker_reports_retry_after_and_half_opens_after_open_duration() {
    let (b, clock) = breaker(small());
    b.force(BreakerState::Closed);
    for _ in 0..4 {
        let _ = fail(&b);
    }
    clock.advance(SEC * 4);
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!(rejected.retry_after, Some(SEC * 6));
    clock.advance(SEC * 6);
    let probe = b.try_acquire().expect("probe after open duration");
    assert!(probe.is_probe());
    assert_eq!(b.state(), BreakerState::HalfOpen);
    drop(probe);
}

#[test]
fn manual_clock_breaker_half_opens_exactly_at_the_deadline() {
    let (b, clock) = breaker(small());
    for _ in 0..4 {
        let _ = fail(&b);
    }
    clock.advance(SEC * 10 - Duration::from_nanos(1));
    for _ in 0..3 * OPEN_RECHECK_REJECTIONS {
        assert!(b.try_acquire().is_err(), "admitted before the deadline");
    }
    clock.advance(Duration::from_nanos(1));
    assert!(b.try_acquire().expect("probe at the deadline").is_probe());
}

/// A manual clock that claims to follow real time, so the breaker may reuse
/// a reading for a coarse tick; time jumps within one tick stand in for a
/// ticker that stalled.
#[derive(Debug, Clone, Default)]
struct RealTimeManual(ManualClock);

impl Clock for RealTimeManual {
    fn now(&self) -> Duration {
        self.0.now()
    }

    fn follows_real_time(&self) -> bool {
        true
    }

    fn sleep_until(&self, deadline: Duration) {
        self.0.sleep_until(deadline);
    }
}

#[test]
fn real_time_breaker_never_half_opens_early_and_at_most_recheck_rejections_late() {
    let clock = RealTimeManual::default();
    let b = CircuitBreaker::with_clock(small(), Arc::new(clock.clone())).expect("valid config");
    for _ in 0..4 {
        let _ = fail(&b);
    }
    clock.0.advance(SEC * 10 - Duration::from_nanos(1));
    for _ in 0..3 * OPEN_RECHECK_REJECTIONS {
        assert!(b.try_acquire().is_err(), "admitted before the deadline");
    }
    clock.0.advance(Duration::from_nanos(1));
    let late = (0..=OPEN_RECHECK_REJECTIONS)
        .position(|_| b.try_acquire().is_ok_and(|p| p.is_probe()))
        .expect("no probe within OPEN_RECHECK_REJECTIONS calls after the deadline");
    assert!(
        late <= OPEN_RECHECK_REJECTIONS as usize,
        "{late} rejections late"
    );
    let stats = b.stats();
    assert_eq!(
        stats.rejected_total,
        3 * u64::from(OPEN_RECHECK_REJECTIONS) + late as u64,
        "the call that found the deadline passed is not counted as rejected"
    );
}

#[test]
fn default_breaker_rejects_while_open_and_reports_time_left() {
    let b = CircuitBreaker::new(BreakerConfig {
        consecutive_failures: Some(1),
        open_backoff: Backoff::fixed(SEC * 3600),
        ..BreakerConfig::default()
    })
    .expect("valid config");
    let _ = fail(&b);
    for _ in 0..1000 {
        let rejected = b.try_acquire().expect_err("open for an hour");
        let left = rejected
            .retry_after
            .expect("open rejections say when to retry");
        assert!(
            left <= SEC * 3600 && left > SEC * 3000,
            "retry_after {left:?}"
        );
    }
    assert_eq!(b.stats().rejected_total, 1000);
}

fn open_then_half_open(b: &CircuitBreaker, clock: &ManualClock) {
    for _ in 0..4 {
        let _ = fail(b);
    }
    assert_eq!(b.state(), BreakerState::Open);
    clock.advance(SEC * 10);
}

#[test]
fn half_open_admits_at_most_n_probes_and_closes_after_n_successes() {
    let (b, clock) = breaker(small());
    open_then_half_open(&b, &clock);
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    assert_eq!(b.try_acquire().unwrap_err().state, BreakerState::HalfOpen);
    p1.success();
    assert_eq!(b.state(), BreakerState::HalfOpen);
    p2.success();
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.stats().window_calls, 0, "closing starts a fresh window");
}

#[test]
fn failed_probe_reopens_with_growing_open_duration() {
    let mut config = small();
    config.open_backoff = Backoff::exponential(SEC * 10, SEC * 100);
    let (b, clock) = breaker(config);
    open_then_half_open(&b, &clock);
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), BreakerState::Open);
    let r = b.try_acquire().unwrap_err();
    assert_eq!(
        r.retry_after,
        Some(SEC * 20),
        "second open lasts twice as long"
    );
    assert_eq!(b.stats().opens_total, 2);
}

#[test]
fn dropped_probe_returns_its_slot() {
    let (b, clock) = breaker(small());
    open_then_half_open(&b, &clock);
    let p1 = b.try_acquire().unwrap();
    let p2 = b.try_acquire().unwrap();
    drop(p1);
    let p3 = b.try_acquire().expect("slot returned by drop");
    drop((p2, p3));
}

#[test]
fn hung_probe_expires_after_deadline_and_its_late_outcome_is_ignored() {
    let (b, clock) = breaker(small());
    open_then_half_open(&b, &clock);
    let hung1 = b.try_acquire().unwrap();
    let hung2 = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err());
    clock.advance(SEC * 5);
    let fresh1 = b.try_acquire().expect("expired probe slot reclaimed");
    let fresh2 = b.try_acquire().expect("expired probe slot reclaimed");
    hung1.failure();
    assert_eq!(
        b.state(),
        BreakerState::HalfOpen,
        "stale probe outcome ignored"
    );
    drop(hung2);
    fresh1.success();
    fresh2.success();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn consecutive_failures_trip_regardless_of_window() {
    let config = BreakerConfig {
        consecutive_failures: Some(3),
        minimum_calls: 1000,
        window: WindowKind::Count { size: 1000 },
        ..small()
    };
    let (b, _) = breaker(config);
    let _ = fail(&b);
    let _ = fail(&b);
    ok(&b).unwrap();
    let _ = fail(&b);
    let _ = fail(&b);
    assert_eq!(
        b.state(),
        BreakerState::Closed,
        "the run was broken by a success"
    );
    let _ = fail(&b);
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn slow_calls_trip_on_slow_call_rate() {
    let config = BreakerConfig {
        slow_call_duration: Some(SEC),
        slow_call_rate_threshold: 50.0,
        ..small()
    };
    let (b, clock) = breaker(config);
    for _ in 0..4 {
        b.call(|| {
            clock.advance(SEC * 2);
            Ok::<(), ()>(())
        })
        .unwrap();
    }
    assert_eq!(b.state(), BreakerState::Open);
    assert_eq!(b.stats().slow_calls_total, 4);
    assert_eq!(b.stats().failures_total, 0);
}

#[test]
fn time_window_forgets_old_failures() {
    let config = BreakerConfig {
        window: WindowKind::Time {
            length: SEC * 10,
            buckets: 10,
        },
        ..small()
    };
    let (b, clock) = breaker(config);
    for _ in 0..3 {
        let _ = fail(&b);
    }
    clock.advance(SEC * 11);
    ok(&b).unwrap();
    let _ = fail(&b);
    assert_eq!(
        b.state(),
        BreakerState::Closed,
        "old failures slid out, 2 calls < minimum"
    );
    let _ = fail(&b);
    let _ = fail(&b);
    assert_eq!(b.state(), BreakerState::Open);
}

#[test]
fn ignored_outcomes_do_not_count() {
    let (b, _) = breaker(small());
    for _ in 0..10 {
        let r = b.call_with(
            || Err::<(), _>(404),
            |r| match r {
                Err(404) => Outcome::Ignored,
                Err(_) => Outcome::Failure,
                Ok(_) => Outcome::Success,
            },
        );
        assert!(matches!(r, Err(CallError::Inner(404))));
    }
    assert_eq!(b.state(), BreakerState::Closed);
    assert_eq!(b.stats().ignored_total, 10);
    assert_eq!(b.stats().calls_total, 0);
}

#[test]
fn manual_states_behave_as_named() {
    let (b, _) = breaker(small());
    b.force_open();
    assert_eq!(b.try_acquire().unwrap_err().state, BreakerState::ForcedOpen);
    b.disable();
    for _ in 0..20 {
        let _ = fail(&b);
    }
    assert_eq!(b.state(), BreakerState::Disabled);
    assert_eq!(b.stats().calls_total, 0, "disabled records nothing");
    b.metrics_only();
    for _ in 0..20 {
        let _ = fail(&b);
    }
    assert_eq!(
        b.state(),
        BreakerState::MetricsOnly,
        "metrics-only never trips"
    );
    assert_eq!(b.stats().failures_total, 20);
    b.reset();
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn listeners_see_transitions_and_rejections() {
    let (b, clock) = breaker(small());
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    b.on_event(move |e| sink.lock().push(*e));
    open_then_half_open(&b, &clock);
    let _ = b.try_acquire().unwrap();
    let events = seen.lock().clone();
    assert_eq!(
        events[0],
        BreakerEvent::StateTransition {
            from: BreakerState::Closed,
            to: BreakerState::Open
        }
    );
    assert_eq!(
        events[1],
        BreakerEvent::StateTransition {
            from: BreakerState::Open,
            to: BreakerState::HalfOpen
        }
    );
}

#[test]
fn rejection_is_delivered_to_listeners() {
    let (b, _) = breaker(small());
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    b.on_event(move |e| {
        if matches!(e, BreakerEvent::Rejected { .. }) {
            c.fetch_add(1, StdOrdering::SeqCst);
        }
    });
    b.force_open();
    let _ = ok(&b);
    assert_eq!(count.load(StdOrdering::SeqCst), 1);
}

#[test]
fn automatic_half_open_moves_on_state_read() {
    let config = BreakerConfig {
        automatic_half_open: true,
        ..small()
    };
    let (b, clock) = breaker(config);
    open_then_half_open(&b, &clock);
    assert_eq!(b.state(), BreakerState::HalfOpen);
}

#[tokio::test]
async fn call_async_records_the_future_outcome() {
    let (b, _) = breaker(small());
    let v = b.call_async(async { Ok::<_, ()>(5) }).await.unwrap();
    assert_eq!(v, 5);
    for _ in 0..4 {
        let _ = b.call_async(async { Err::<(), _>("down") }).await;
    }
    assert_eq!(b.state(), BreakerState::Open);
    let r = b.call_async(async { Ok::<_, ()>(1) }).await;
    assert!(matches!(r, Err(CallError::Rejected(_))));
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CircuitBreaker>();
    assert_send_sync::<Permit<'static>>();
    assert_send_sync::<BreakerStats>();
    assert_send_sync::<Rejected>();
}

#[test]
fn record_latency_fills_the_histogram() {
    let config = BreakerConfig {
        record_latency: true,
        ..small()
    };
    let (b, clock) = breaker(config);
    for ms in [0u64, 3, 700, 20_000] {
        b.call(|| {
            clock.advance(Duration::from_millis(ms));
            Ok::<(), ()>(())
        })
        .unwrap();
    }
    let s = b.stats();
    assert!(s.latency_enabled);
    assert_eq!(s.latency_histogram[0], 1, "0 ms is in the 1 ms bucket");
    assert_eq!(s.latency_histogram[1], 1, "3 ms is in the 5 ms bucket");
    assert_eq!(s.latency_histogram[8], 1, "700 ms is in the 1 s bucket");
    assert_eq!(s.latency_histogram[10], 1, "20 s is in +Inf");
    assert_eq!(s.latency_total, Duration::from_millis(20_703));
}

#[test]
fn rejection_message_is_lower_case_and_names_the_state() {
    let (b, _) = breaker(small());
    b.force_open();
    let err = ok(&b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "circuit breaker rejected the call in state forced_open"
    );
}

/// A clock stepped back an hour while the breaker is open (an NTP step, a
/// `clock_jump` fault) costs one more open period, not an hour.
#[test]
fn a_clock_stepped_back_while_open_costs_one_open_period_not_the_step() {
    let manual = ManualClock::new();
    manual.advance(SEC * 7200);
    let skewed = Arc::new(ballast_clock::SkewedClock::new(Arc::new(manual.clone())));
    let b = CircuitBreaker::with_clock(small(), skewed.clone()).expect("valid config");
    for _ in 0..4 {
        let _ = fail(&b);
    }
    assert_eq!(b.state(), BreakerState::Open);
    manual.advance(SEC * 5);
    skewed.jump(-3_600_000_000_000);
    assert!(b.try_acquire().is_err(), "still open just after the step");
    // One full open period (10 s) from the step, not 1 h + 5 s.
    manual.advance(SEC * 9);
    assert_eq!(b.try_acquire().unwrap_err().state, BreakerState::Open);
    manual.advance(SEC * 2);
    assert!(
        b.try_acquire().is_ok(),
        "half-open one open period after the step"
    );
}
