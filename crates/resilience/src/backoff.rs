//! Backoff schedules (fixed, linear, exponential, fibonacci, decorrelated
//! jitter) with full/equal jitter modifiers, capped after jitter.

use std::time::Duration;

use crate::error::ConfigError;

/// The seeded generator behind every jitter (SplitMix64), ballast-clock's
/// one RNG: the same seed gives the same jitter on every platform, so retry
/// schedules replay in tests.
pub use ballast_clock::SeededRng;

/// The shape of a backoff schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BackoffKind {
    /// The same delay every time.
    Fixed,
    /// `initial + step * (attempt - 1)`.
    Linear {
        /// Added per attempt.
        step: Duration,
    },
    /// `initial * factor^(attempt - 1)`.
    Exponential {
        /// Growth factor, at least 1.0.
        factor: f64,
    },
    /// `initial * fib(attempt)`: 1, 1, 2, 3, 5, 8, …
    Fibonacci,
    /// AWS "decorrelated jitter": `random(initial, previous * 3)`; random by
    /// itself, so the jitter modifier is not applied on top.
    DecorrelatedJitter,
}

/// A jitter modifier applied to the computed delay, before the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// No jitter.
    #[default]
    None,
    /// Uniform in `0..=delay`.
    Full,
    /// `delay / 2 + uniform(0..=delay / 2)`.
    Equal,
}

/// A backoff schedule: kind, initial delay, jitter and a cap applied last.
/// In a configuration file, one flat table: `{ kind = "exponential",
/// factor = 2.0, initial = "100ms", max_delay = "10s", jitter = "full" }`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(
    try_from = "crate::serde_config::BackoffTable",
    into = "crate::serde_config::BackoffTable"
)]
pub struct Backoff {
    /// The schedule's shape.
    pub kind: BackoffKind,
    /// The first delay (and the base for every kind).
    pub initial: Duration,
    /// The largest delay ever returned, applied after jitter.
    pub max_delay: Duration,
    /// The jitter modifier.
    pub jitter: Jitter,
}

impl Default for Backoff {
    /// Exponential from 100 ms doubling, capped at 10 s, with full jitter.
    fn default() -> Self {
        Self::exponential(Duration::from_millis(100), Duration::from_secs(10))
            .with_jitter(Jitter::Full)
    }
}

impl Backoff {
    /// A fixed delay.
    pub const fn fixed(delay: Duration) -> Self {
        Self {
            kind: BackoffKind::Fixed,
            initial: delay,
            max_delay: delay,
            jitter: Jitter::None,
        }
    }

    /// A linear schedule `initial, initial + step, …` capped at `max_delay`.
    pub const fn linear(initial: Duration, step: Duration, max_delay: Duration) -> Self {
        Self {
            kind: BackoffKind::Linear { step },
            initial,
            max_delay,
            jitter: Jitter::None,
        }
    }

    /// A doubling schedule from `initial`, capped at `max_delay`.
    pub const fn exponential(initial: Duration, max_delay: Duration) -> Self {
        Self {
            kind: BackoffKind::Exponential { factor: 2.0 },
            initial,
            max_delay,
            jitter: Jitter::None,
        }
    }

    /// A fibonacci schedule from `initial`, capped at `max_delay`.
    pub const fn fibonacci(initial: Duration, max_delay: Duration) -> Self {
        Self {
            kind: BackoffKind::Fibonacci,
            initial,
            max_delay,
            jitter: Jitter::None,
        }
    }

    /// AWS decorrelated jitter from `initial`, capped at `max_delay`.
    pub const fn decorrelated_jitter(initial: Duration, max_delay: Duration) -> Self {
        Self {
            kind: BackoffKind::DecorrelatedJitter,
            initial,
            max_delay,
            jitter: Jitter::None,
        }
    }

    /// Sets the exponential growth factor (only meaningful for exponential).
    pub const fn with_factor(mut self, factor: f64) -> Self {
        if let BackoffKind::Exponential { .. } = self.kind {
            self.kind = BackoffKind::Exponential { factor };
        }
        self
    }

    /// Sets the jitter modifier.
    pub const fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Checks the schedule, naming the offending field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_delay < self.initial {
            return Err(ConfigError::new("max_delay", "must be at least `initial`"));
        }
        if let BackoffKind::Exponential { factor } = self.kind
            && (!factor.is_finite() || factor < 1.0)
        {
            return Err(ConfigError::new(
                "factor",
                "must be finite and at least 1.0",
            ));
        }
        Ok(())
    }

    /// The delay before retry number `attempt` (1 for the first retry), given
    /// the previous delay (used by decorrelated jitter) and a random source.
    pub fn delay(&self, attempt: u32, previous: Duration, rng: &mut SeededRng) -> Duration {
        let attempt = attempt.max(1);
        let base = match self.kind {
            BackoffKind::Fixed => self.initial,
            BackoffKind::Linear { step } => self
                .initial
                .saturating_add(step.saturating_mul(attempt - 1)),
            BackoffKind::Exponential { .. } if attempt == 1 => self.initial,
            BackoffKind::Exponential { factor } => {
                // In nanoseconds: the float-to-integer cast saturates (and
                // is far cheaper than a checked `Duration` from seconds).
                let scaled =
                    crate::clock::nanos(self.initial) as f64 * factor.powi(attempt_exp(attempt));
                Duration::from_nanos(scaled as u64)
            }
            BackoffKind::Fibonacci => self.initial.saturating_mul(fibonacci(attempt)),
            BackoffKind::DecorrelatedJitter => {
                let low = crate::clock::nanos(self.initial);
                let high = crate::clock::nanos(previous.max(self.initial)).saturating_mul(3);
                let picked = low + rng.below_inclusive(high.saturating_sub(low));
                return Duration::from_nanos(picked).min(self.max_delay);
            }
        };
        apply_jitter(base.min(self.max_delay), self.jitter, rng).min(self.max_delay)
    }

    /// An endless iterator of delays for retries 1, 2, 3, … under `seed`.
    pub fn delays(&self, seed: u64) -> Delays {
        Delays {
            backoff: *self,
            attempt: 0,
            previous: Duration::ZERO,
            rng: SeededRng::new(seed),
        }
    }
}

fn attempt_exp(attempt: u32) -> i32 {
    i32::try_from(attempt - 1).unwrap_or(i32::MAX).min(1024)
}

fn fibonacci(n: u32) -> u32 {
    let (mut a, mut b) = (1u32, 1u32);
    for _ in 1..n {
        let next = a.saturating_add(b);
        a = b;
        b = next;
    }
    a
}

fn apply_jitter(delay: Duration, jitter: Jitter, rng: &mut SeededRng) -> Duration {
    let nanos = crate::clock::nanos(delay);
    match jitter {
        Jitter::None => delay,
        Jitter::Full => Duration::from_nanos(rng.below_inclusive(nanos)),
        Jitter::Equal => Duration::from_nanos(nanos / 2 + rng.below_inclusive(nanos - nanos / 2)),
    }
}

/// Iterator over a backoff schedule's delays, see [`Backoff::delays`].
#[derive(Debug, Clone)]
pub struct Delays {
    backoff: Backoff,
    attempt: u32,
    previous: Duration,
    rng: SeededRng,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.attempt = self.attempt.saturating_add(1);
        let d = self
            .backoff
            .delay(self.attempt, self.previous, &mut self.rng);
        self.previous = d;
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn schedules_follow_their_shape_and_cap() {
        let take = |b: Backoff| b.delays(1).take(6).collect::<Vec<_>>();
        assert_eq!(take(Backoff::fixed(MS * 5)), vec![MS * 5; 6]);
        assert_eq!(
            take(Backoff::linear(MS, MS * 2, MS * 8)),
            [1, 3, 5, 7, 8, 8].map(|n| MS * n)
        );
        assert_eq!(
            take(Backoff::exponential(MS, MS * 10)),
            [1, 2, 4, 8, 10, 10].map(|n| MS * n)
        );
        assert_eq!(
            take(Backoff::fibonacci(MS, MS * 6)),
            [1, 1, 2, 3, 5, 6].map(|n| MS * n)
        );
    }

    #[test]
    fn same_seed_gives_same_jittered_schedule() {
        let b = Backoff::default();
        let a: Vec<_> = b.delays(42).take(20).collect();
        let c: Vec<_> = b.delays(42).take(20).collect();
        let d: Vec<_> = b.delays(43).take(20).collect();
        assert_eq!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn full_jitter_is_roughly_uniform_over_the_delay() {
        let b = Backoff::fixed(MS * 100).with_jitter(Jitter::Full);
        let mut rng = SeededRng::new(7);
        let mut buckets = [0u32; 4];
        for _ in 0..4000 {
            let d = b.delay(1, Duration::ZERO, &mut rng);
            assert!(d <= MS * 100);
            buckets[((d.as_nanos() * 4 / (MS * 100).as_nanos()).min(3)) as usize] += 1;
        }
        for count in buckets {
            assert!(
                (800..1200).contains(&count),
                "bucket count {count} far from 1000"
            );
        }
    }

    #[test]
    fn validate_names_the_bad_field() {
        let bad = Backoff::exponential(MS * 10, MS);
        assert_eq!(bad.validate().unwrap_err().field, "max_delay");
        let bad = Backoff::exponential(MS, MS * 10).with_factor(0.5);
        assert_eq!(bad.validate().unwrap_err().field, "factor");
    }

    fn any_backoff() -> impl Strategy<Value = Backoff> {
        (0u64..1000, 0u64..5000, 0u8..5, 0u8..3).prop_map(|(init, extra, kind, jitter)| {
            let initial = Duration::from_millis(init);
            let max = initial + Duration::from_millis(extra);
            let b = match kind {
                0 => Backoff::fixed(initial),
                1 => Backoff::linear(initial, MS * 7, max),
                2 => Backoff::exponential(initial, max),
                3 => Backoff::fibonacci(initial, max),
                _ => Backoff::decorrelated_jitter(initial, max),
            };
            b.with_jitter([Jitter::None, Jitter::Full, Jitter::Equal][jitter as usize])
        })
    }

    proptest! {
        #[test]
        fn every_delay_stays_within_the_cap(b in any_backoff(), seed in any::<u64>()) {
            for d in b.delays(seed).take(64) {
                prop_assert!(d <= b.max_delay);
            }
        }

        #[test]
        fn unjittered_delays_never_shrink(b in any_backoff(), seed in any::<u64>()) {
            let b = b.with_jitter(Jitter::None);
            prop_assume!(b.kind != BackoffKind::DecorrelatedJitter);
            let delays: Vec<_> = b.delays(seed).take(64).collect();
            prop_assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
