//! One `ManualClock` drives a circuit breaker, a retry schedule, a faulty
//! stream and an operation history together: time spent in one of them is
//! time the others see, and nothing sleeps.
#![cfg(all(feature = "resilience", feature = "chaos", feature = "clock"))]

use std::io::{Cursor, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballast::chaos::history::{History, Op, Outcome};
use ballast::chaos::{FaultConfig, Toxic, ToxicKind};
use ballast::clock::{Clock, ManualClock, SharedClock};
use ballast::resilience::{
    Backoff, BreakerConfig, BreakerState, CallError, CircuitBreaker, Error, ManualSleeper, Retry,
    RetryConfig,
};

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// A breaker that opens after two failures in a row, for five seconds, and
/// closes after one successful probe.
fn breaker(clock: &ManualClock) -> CircuitBreaker {
    let config = BreakerConfig {
        name: "peer".into(),
        consecutive_failures: Some(2),
        open_backoff: Backoff::fixed(SEC * 5),
        half_open_probes: 1,
        ..BreakerConfig::default()
    };
    let shared: SharedClock = Arc::new(clock.clone());
    CircuitBreaker::with_clock(config, shared).expect("valid breaker config")
}

/// A stream whose peer answers `pong` after a 200 ms latency toxic.
fn slow_peer(clock: &ManualClock) -> impl Read + use<> {
    FaultConfig::new(42)
        .toxic(Toxic::new(ToxicKind::Latency {
            latency_ms: 200,
            jitter_ms: 0,
        }))
        .wrap_with_clock(Cursor::new(b"pong".to_vec()), clock.clone())
}

/// A peer that sends its bytes one per read (and swallows writes).
#[derive(Debug)]
struct Trickle(Vec<u8>);

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.0.remove(0);
        Ok(1)
    }
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one attempt of the client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    PeerFailed,
    BreakerOpen,
    Answer(String),
}

#[test]
fn one_manual_clock_drives_breaker_retry_faulty_stream_and_history() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    let sleeper = ManualSleeper::new(clock.clone());
    let retry = Retry::builder(RetryConfig {
        max_attempts: 5,
        max_elapsed: Some(SEC * 60),
        backoff: Backoff::exponential(SEC, SEC * 8),
        ..RetryConfig::default()
    })
    .clock(Arc::new(clock.clone()))
    .sleeper(Arc::new(sleeper.clone()))
    .build()
    .expect("valid retry config");
    let history = History::<u32, String>::with_clock(16, clock.clone());
    let mut peer = slow_peer(&clock);
    let attempts = Mutex::new(Vec::new());

    let pending = history.invoke(1, Op::Read { key: 7 });
    let answer = retry.call(|attempt| {
        let result = breaker.call(|| {
            // The peer is down for the first two attempts.
            if attempt <= 2 {
                return Err("connection reset");
            }
            let mut buf = [0u8; 4];
            peer.read_exact(&mut buf).map_err(|_| "read failed")?;
            Ok(String::from_utf8_lossy(&buf).into_owned())
        });
        let seen = match &result {
            Ok(answer) => Seen::Answer(answer.clone()),
            Err(CallError::Rejected(Error::CircuitOpen { .. })) => Seen::BreakerOpen,
            Err(_) => Seen::PeerFailed,
        };
        attempts
            .lock()
            .expect("no attempt panicked")
            .push((clock.now(), seen, breaker.state()));
        result
    });
    let answer = answer.expect("the fourth attempt is answered");
    pending.ok(Some(answer.clone()));

    // Retry: backoff 1 s, 2 s, 4 s, slept on the shared clock.
    assert_eq!(sleeper.slept(), vec![SEC, SEC * 2, SEC * 4]);
    // Breaker: opened by the second failure at 1 s until 6 s, so the
    // attempt at 3 s is rejected and the one at 7 s is its probe, which
    // closes it. The faulty stream's 200 ms latency is spent on the same
    // clock, inside the probe.
    let attempts = attempts.into_inner().expect("no attempt panicked");
    assert_eq!(
        attempts,
        vec![
            (Duration::ZERO, Seen::PeerFailed, BreakerState::Closed),
            (SEC, Seen::PeerFailed, BreakerState::Open),
            (SEC * 3, Seen::BreakerOpen, BreakerState::Open),
            (
                SEC * 7 + MS * 200,
                Seen::Answer("pong".into()),
                BreakerState::Closed
            ),
        ]
    );
    assert_eq!(answer, "pong");
    assert_eq!(clock.now(), SEC * 7 + MS * 200);
    // History: the operation's times are the shared clock's.
    let entries = history.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].invoked, Duration::ZERO);
    assert_eq!(
        entries[0].completed,
        Some((SEC * 7 + MS * 200, Outcome::Ok(Some("pong".into()))))
    );
    let stats = breaker.stats();
    assert_eq!(stats.failures_total, 2);
    assert_eq!(stats.opens_total, 1);
}

#[test]
fn latency_spent_in_a_faulty_stream_lets_an_open_breaker_half_open() {
    let clock = ManualClock::new();
    let breaker = breaker(&clock);
    for _ in 0..2 {
        let _ = breaker.call(|| Err::<(), _>("connection reset"));
    }
    assert_eq!(breaker.state(), BreakerState::Open);
    let rejected = breaker
        .try_acquire()
        .expect_err("open right after tripping");
    assert_eq!(rejected.retry_after, Some(SEC * 5));

    // Each byte the peer sends is held 2.4 s by a latency toxic, on the
    // breaker's clock: two bytes take 4.8 s, short of the 5 s wait.
    let mut peer = FaultConfig::new(7)
        .toxic(Toxic::new(ToxicKind::Latency {
            latency_ms: 2400,
            jitter_ms: 0,
        }))
        .wrap_with_clock(Trickle(b"xyz".to_vec()), clock.clone());
    let mut byte = [0u8; 1];
    for expected in *b"xy" {
        peer.read_exact(&mut byte)
            .expect("the peer sends three bytes");
        assert_eq!(byte[0], expected);
    }
    assert_eq!(clock.now(), MS * 4800);
    assert!(breaker.try_acquire().is_err(), "half-open 200 ms early");
    clock.advance(MS * 200 - Duration::from_nanos(1));
    assert!(breaker.try_acquire().is_err(), "half-open 1 ns early");

    // The third byte carries the clock past the deadline.
    peer.read_exact(&mut byte)
        .expect("the peer sends three bytes");
    assert_eq!(clock.now(), MS * 7400 - Duration::from_nanos(1));
    let probe = breaker.try_acquire().expect("half-open after the wait");
    assert!(probe.is_probe());
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    probe.success();
    assert_eq!(breaker.state(), BreakerState::Closed);
}
