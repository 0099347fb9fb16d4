//! Retrying against endpoints that are all down: `run` is bounded by the
//! shared retry budget and spaced by backoff with jitter; the upkeep's
//! `min_idle` refill backs off. Driven by a manual clock and sleeper, over
//! a connector that refuses every connection and notes when it was asked.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballast_clock::{Clock, ManualClock, SharedClock};
use ballast_resilience::{Backoff, BudgetConfig, Jitter, ManualSleeper};
use ballast_session::manager::{
    Connector, EndpointConfig, ManagerConfig, ManagerError, SessionManager, Target,
};

use super::demo_login;

/// Refuses every connection; records the clock time of each attempt.
struct Refusing {
    clock: Arc<ManualClock>,
    attempts: Arc<Mutex<Vec<(String, Duration)>>>,
}

impl Connector for Refusing {
    type Stream = std::net::TcpStream;

    fn connect(
        &self,
        endpoint: &EndpointConfig,
        _deadline: Instant,
    ) -> ballast_session::Result<std::net::TcpStream> {
        self.attempts
            .lock()
            .expect("attempts")
            .push((endpoint.name.clone(), self.clock.now()));
        Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into())
    }
}

/// Two endpoints that never answer, breakers that never open (every
/// attempt reaches the connector), and `backoff`.
fn down_config(backoff: Backoff) -> ManagerConfig {
    let endpoints = ["a", "b"]
        .iter()
        .map(|n| {
            let mut e = EndpointConfig::new(*n, "127.0.0.1:9");
            e.breaker.consecutive_failures = Some(1000);
            e
        })
        .collect();
    let mut cfg = ManagerConfig {
        endpoints,
        login: demo_login(),
        ..ManagerConfig::default()
    };
    cfg.retry.max_attempts = 50;
    cfg.retry.backoff = backoff;
    cfg
}

type Attempts = Arc<Mutex<Vec<(String, Duration)>>>;

fn manager(
    cfg: ManagerConfig,
    clock: &Arc<ManualClock>,
) -> (SessionManager<Refusing>, ManualSleeper, Attempts) {
    let attempts = Attempts::default();
    let connector = Refusing {
        clock: Arc::clone(clock),
        attempts: Arc::clone(&attempts),
    };
    let sleeper = ManualSleeper::new((**clock).clone());
    let shared: SharedClock = clock.clone();
    let m = SessionManager::with_clock_and_sleeper(
        cfg,
        connector,
        shared,
        Arc::new(sleeper.clone()),
        None,
    )
    .expect("valid config");
    (m, sleeper, attempts)
}

#[test]
fn run_against_dead_endpoints_stops_at_the_retry_budget_with_backoff_between_attempts() {
    let clock = Arc::new(ManualClock::new());
    let mut cfg = down_config(
        Backoff::exponential(Duration::from_millis(100), Duration::from_secs(10))
            .with_jitter(Jitter::Equal),
    );
    // No share of calls, a reserve of 1 retry/s over 3 s: 3 retries.
    cfg.retry_budget = BudgetConfig::Ratio {
        ratio: 0.0,
        min_retries_per_sec: 1,
        window: Duration::from_secs(3),
    };
    let (m, sleeper, attempts) = manager(cfg, &clock);
    let err = m
        .run(Target::Any, |_| Ok(()))
        .expect_err("every endpoint refuses");
    assert!(matches!(err, ManagerError::Connect { .. }), "{err:?}");

    let attempts = attempts.lock().expect("attempts").clone();
    assert_eq!(
        attempts.len(),
        8,
        "4 runs of one open per endpoint, not 50 and not 2n+2 per acquire: {attempts:?}"
    );
    let slept = sleeper.slept();
    assert_eq!(slept.len(), 3, "one backoff sleep per granted retry");
    for (i, d) in slept.iter().enumerate() {
        let full = Duration::from_millis(100 << i);
        assert!(
            *d >= full / 2 && *d <= full,
            "retry {} slept {d:?}: equal jitter of {full:?}",
            i + 1
        );
    }
    // Each attempt tries both endpoints at once, then waits its backoff.
    for (k, pair) in attempts.chunks(2).enumerate() {
        assert_eq!(pair[0].1, pair[1].1, "one attempt's opens: {pair:?}");
        if k > 0 {
            let gap = pair[0].1 - attempts[2 * k - 2].1;
            assert_eq!(gap, slept[k - 1], "attempt {k} waited its backoff");
        }
    }
    let budget = m.retry_stats();
    assert_eq!(budget.stopped_budget, 1, "{budget:?}");
}

#[test]
fn upkeep_refill_of_a_dead_endpoint_backs_off() {
    let clock = Arc::new(ManualClock::new());
    let mut cfg = down_config(Backoff::exponential(
        Duration::from_secs(1),
        Duration::from_secs(60),
    ));
    cfg.endpoints.truncate(1);
    cfg.endpoints[0].min_idle = 1;
    let (m, _sleeper, attempts) = manager(cfg, &clock);
    let count = || attempts.lock().expect("attempts").len();

    let r = m.maintain();
    assert_eq!((r.refill_failed, count()), (1, 1), "{r:?}");
    let r = m.maintain();
    assert_eq!(
        (r.refill_deferred, count()),
        (1, 1),
        "no new open within the 1 s backoff: {r:?}"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(m.maintain().refill_failed, 1);
    assert_eq!(count(), 2, "tried again after 1 s");
    clock.advance(Duration::from_secs(1));
    m.maintain();
    assert_eq!(count(), 2, "the second backoff is 2 s");
    clock.advance(Duration::from_secs(1));
    m.maintain();
    assert_eq!(count(), 3);
}

#[test]
fn an_invalid_retry_budget_is_refused_naming_the_field() {
    let mut cfg = down_config(Backoff::fixed(Duration::from_millis(1)));
    cfg.retry_budget = BudgetConfig::Ratio {
        ratio: 2.0,
        min_retries_per_sec: 1,
        window: Duration::from_secs(1),
    };
    let err = cfg.validate().expect_err("ratio above 1");
    assert!(
        matches!(&err, ManagerError::Config { field, .. } if field == "retry_budget"),
        "{err}"
    );
}
