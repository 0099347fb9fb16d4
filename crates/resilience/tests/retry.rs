//! Retry behaviour a caller relies on, driven by a manual clock.
// Uses the primitives outside loom::model (or tokio), so not under --cfg loom.
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ballast_resilience::{
    Backoff, BudgetConfig, ManualClock, ManualSleeper, Retry, RetryBudget, RetryConfig,
    RetryDecision, StopReason,
};

const MS: Duration = Duration::from_millis(1);

fn retry(config: RetryConfig) -> (Retry, ManualSleeper) {
    let clock = ManualClock::new();
    let sleeper = ManualSleeper::new(clock.clone());
    let r = Retry::builder(config)
        .clock(Arc::new(clock))
        .sleeper(Arc::new(sleeper.clone()))
        .async_sleeper(Arc::new(sleeper.clone()))
        .build()
        .unwrap();
    (r, sleeper)
}

fn exp_config(max_attempts: u32) -> RetryConfig {
    RetryConfig {
        max_attempts,
        backoff: Backoff::exponential(MS * 10, MS * 1000),
        ..RetryConfig::default()
    }
}

#[test]
fn succeeds_after_transient_failures_sleeping_the_backoff() {
    let (r, sleeper) = retry(exp_config(5));
    let out = r.call(|attempt| {
        if attempt < 3 {
            Err("flaky")
        } else {
            Ok(attempt)
        }
    });
    assert_eq!(out, Ok(3));
    assert_eq!(sleeper.slept(), vec![MS * 10, MS * 20]);
    let stats = r.stats();
    assert_eq!(
        (stats.calls, stats.retries, stats.done_after_retry),
        (1, 2, 1)
    );
}

#[test]
fn stops_at_max_attempts_and_returns_the_last_error() {
    let (r, sleeper) = retry(exp_config(3));
    let report = r.run(Err::<(), _>, |_| RetryDecision::Retry);
    assert_eq!(report.result, Err(3));
    assert_eq!(report.attempts, 3);
    assert_eq!(report.stopped, Some(StopReason::MaxAttempts));
    assert_eq!(sleeper.slept().len(), 2);
    assert_eq!(r.stats().stopped_max_attempts, 1);
}

#[test]
fn no_retry_when_the_predicate_says_done() {
    let (r, sleeper) = retry(exp_config(5));
    let report = r.run(
        |_| Err::<(), _>(404),
        |e| {
            if e == &Err(404) {
                RetryDecision::Done
            } else {
                RetryDecision::Retry
            }
        },
    );
    assert_eq!(report.attempts, 1);
    assert!(sleeper.slept().is_empty());
    assert_eq!(r.stats().done_first_attempt, 1);
}

#[test]
fn retries_on_result_predicate() {
    let (r, _) = retry(exp_config(5));
    let report = r.run(
        |attempt| attempt * 10,
        |v| {
            if *v < 30 {
                RetryDecision::Retry
            } else {
                RetryDecision::Done
            }
        },
    );
    assert_eq!(report.result, 30);
}

#[test]
fn honours_retry_after_and_refuses_one_too_long() {
    let config = RetryConfig {
        max_retry_after: Duration::from_secs(5),
        ..exp_config(5)
    };
    let (r, sleeper) = retry(config);
    let report = r.run(
        |attempt| attempt,
        |attempt| match attempt {
            1 => RetryDecision::RetryAfter(Duration::from_secs(2)),
            _ => RetryDecision::RetryAfter(Duration::from_secs(9)),
        },
    );
    assert_eq!(sleeper.slept(), vec![Duration::from_secs(2)]);
    assert_eq!(report.stopped, Some(StopReason::RetryAfterTooLong));
}

#[test]
fn max_elapsed_stops_before_a_sleep_that_would_pass_it() {
    let config = RetryConfig {
        max_elapsed: Some(MS * 35),
        ..exp_config(10)
    };
    let (r, sleeper) = retry(config);
    let report = r.run(|_| Err::<(), _>(()), |_| RetryDecision::Retry);
    assert_eq!(
        sleeper.slept(),
        vec![MS * 10, MS * 20],
        "10 + 20 + 40 would pass 35"
    );
    assert_eq!(report.stopped, Some(StopReason::MaxElapsed));
}

#[test]
fn on_retry_callback_sees_each_retry() {
    let seen = Arc::new(AtomicU32::new(0));
    let s = Arc::clone(&seen);
    let clock = ManualClock::new();
    let r = Retry::builder(exp_config(4))
        .sleeper(Arc::new(ManualSleeper::new(clock)))
        .on_retry(move |e| {
            assert_eq!(e.attempt, s.fetch_add(1, Ordering::SeqCst) + 1);
        })
        .build()
        .unwrap();
    let _ = r.call(|_| Err::<(), _>(()));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[test]
fn same_seed_replays_the_same_jittered_sleeps() {
    let config = RetryConfig {
        backoff: Backoff::default(),
        max_attempts: 6,
        seed: 99,
        ..RetryConfig::default()
    };
    let run = || {
        let (r, sleeper) = retry(config.clone());
        for _ in 0..3 {
            let _ = r.call(|_| Err::<(), _>(()));
        }
        sleeper.slept()
    };
    let first = run();
    assert_eq!(first.len(), 15);
    assert_eq!(first, run());
}

#[test]
fn under_total_failure_ratio_budget_bounds_retries() {
    let clock = ManualClock::new();
    let budget_config = BudgetConfig::Ratio {
        ratio: 0.2,
        min_retries_per_sec: 1,
        window: Duration::from_secs(10),
    };
    let budget = RetryBudget::with_clock(budget_config, Arc::new(clock.clone())).unwrap();
    let config = RetryConfig {
        max_attempts: 5,
        backoff: Backoff::fixed(Duration::ZERO),
        ..RetryConfig::default()
    };
    // Many clients share one budget, as a fleet's instances would.
    let clients: Vec<Retry> = (0..4)
        .map(|_| {
            Retry::builder(config.clone())
                .clock(Arc::new(clock.clone()))
                .sleeper(Arc::new(ManualSleeper::new(clock.clone())))
                .budget(budget.clone())
                .build()
                .unwrap()
        })
        .collect();
    let mut attempts = 0u64;
    for i in 0..1000 {
        let report = clients[i % 4].run(|_| Err::<(), _>(()), |_| RetryDecision::Retry);
        attempts += u64::from(report.attempts);
    }
    let retries = attempts - 1000;
    assert!(
        retries <= 200 + 10,
        "retries {retries} exceed 20 % of 1000 calls plus the 10-retry reserve"
    );
    assert!(
        retries >= 150,
        "the budget should still allow retries ({retries})"
    );
    assert_eq!(budget.stats().granted, retries);
}

#[test]
fn under_total_failure_token_budget_bounds_retries() {
    let budget = RetryBudget::new(BudgetConfig::Tokens {
        max_tokens: 100,
        token_ratio: 0.1,
    })
    .unwrap();
    let config = RetryConfig {
        max_attempts: 3,
        backoff: Backoff::fixed(Duration::ZERO),
        ..RetryConfig::default()
    };
    let (_, sleeper) = retry(config.clone());
    let r = Retry::builder(config)
        .sleeper(Arc::new(sleeper))
        .budget(budget.clone())
        .build()
        .unwrap();
    let mut retries = 0;
    for _ in 0..1000 {
        retries += r
            .run(|_| Err::<(), _>(()), |_| RetryDecision::Retry)
            .attempts
            - 1;
    }
    assert!(retries <= 50, "token throttling allowed {retries} retries");
    assert!(r.stats().stopped_budget > 900);
}

#[tokio::test]
async fn retry_async_retries_futures() {
    let (r, sleeper) = retry(exp_config(4));
    let out = r
        .retry_async(|attempt| async move { if attempt < 4 { Err("no") } else { Ok(attempt) } })
        .await;
    assert_eq!(out, Ok(4));
    assert_eq!(sleeper.slept(), vec![MS * 10, MS * 20, MS * 40]);
}

#[test]
fn invalid_config_is_rejected_naming_the_field() {
    let err = Retry::new(RetryConfig {
        max_attempts: 0,
        ..RetryConfig::default()
    })
    .unwrap_err();
    assert_eq!(err.field, "max_attempts");
}

#[test]
fn call_retryable_retries_transient_errors_and_returns_the_others_at_once() {
    use ballast_resilience::{Coded, Error, ErrorClass};
    let timeout = Error::Timeout { limit: MS * 5 };
    assert_eq!(timeout.class(), ErrorClass::Transient);
    let (r, sleeper) = retry(exp_config(5));
    let out = r.call_retryable(|attempt| {
        if attempt < 3 {
            Err(timeout.clone())
        } else {
            Ok(attempt)
        }
    });
    assert_eq!(out, Ok(3), "a timeout is retried");
    assert_eq!(sleeper.slept().len(), 2);

    let (r, sleeper) = retry(exp_config(5));
    let calls = AtomicU32::new(0);
    let out: Result<(), Error> = r.call_retryable(|_| {
        calls.fetch_add(1, Ordering::Relaxed);
        Err(Error::PoolClosed)
    });
    assert_eq!(out, Err(Error::PoolClosed));
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "a permanent error is not retried"
    );
    assert!(sleeper.slept().is_empty());
    assert_eq!(Error::PoolClosed.code(), "BLST-RESIL-005");
    assert!(!Error::PoolClosed.recovery().is_empty());
}
