//! The resilience soak: every primitive of `ballast-resilience` churning
//! through its states on one manual clock.

use std::sync::Arc;
use std::time::Duration;

use ballast_resilience::{
    Backoff, BreakerConfig, Bulkhead, BulkheadConfig, CircuitBreaker, ManualClock, RateLimiter,
    RateLimiterConfig, Retry, RetryConfig,
};

use super::workloads::budget;
use super::{Budget, Soak};

/// A breaker tripping and recovering, retries that succeed on the third
/// attempt, a limiter running dry and refilling, and a bulkhead contended
/// by four threads, per iteration.
pub(super) struct ResilienceChurn {
    time: ManualClock,
    breaker: CircuitBreaker,
    retry: Retry,
    limiter: RateLimiter,
    bulkhead: Bulkhead,
}

impl ResilienceChurn {
    pub(super) fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let time = ManualClock::new();
        let clock = Arc::new(time.clone());
        let breaker = CircuitBreaker::with_clock(
            BreakerConfig {
                consecutive_failures: Some(3),
                open_backoff: Backoff::fixed(Duration::from_secs(1)),
                ..BreakerConfig::default()
            },
            clock.clone(),
        )
        .map_err(|e| e.to_string())?;
        let retry = Retry::builder(RetryConfig {
            max_attempts: 3,
            backoff: Backoff::fixed(Duration::from_micros(1)),
            ..RetryConfig::default()
        })
        .build()
        .map_err(|e| e.to_string())?;
        let limiter = RateLimiter::with_clock(
            "soak",
            RateLimiterConfig {
                permits: 100,
                per: Duration::from_secs(1),
                burst: 10,
            },
            clock,
        )
        .map_err(|e| e.to_string())?;
        let bulkhead = Bulkhead::new(
            "soak",
            BulkheadConfig {
                max_concurrent: 2,
                max_wait: Duration::ZERO,
            },
            None,
        )
        .map_err(|e| e.to_string())?;
        let soak = Self {
            time,
            breaker,
            retry,
            limiter,
            bulkhead,
        };
        Ok((Box::new(soak), budget(quick, 1_000, 5_000, 100_000_000)))
    }

    fn trip_and_recover(&self) -> Result<u64, String> {
        for _ in 0..3 {
            let _ = self.breaker.call(|| Err::<(), ()>(()));
        }
        if self.breaker.call(|| Ok::<_, ()>(())).is_ok() {
            return Err("the breaker did not open after three failures".into());
        }
        self.time.advance(Duration::from_secs(2));
        self.breaker
            .call(|| Ok::<_, ()>(()))
            .map_err(|e| format!("the breaker did not recover: {e:?}"))?;
        Ok(5)
    }

    fn contend(&self) -> u64 {
        std::thread::scope(|s| {
            let hands: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..64)
                            .filter(|_| self.bulkhead.try_acquire().is_some())
                            .count()
                    })
                })
                .collect();
            hands
                .into_iter()
                .map(|h| h.join().unwrap_or(0) as u64)
                .sum::<u64>()
                .max(1)
        })
    }
}

impl Soak for ResilienceChurn {
    fn name(&self) -> &'static str {
        "resilience-churn"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let mut ops = self.trip_and_recover()?;
        let mut attempts = 0;
        self.retry
            .call(|_| {
                attempts += 1;
                if attempts < 3 { Err(()) } else { Ok(()) }
            })
            .map_err(|()| "the retry gave up before its third attempt".to_string())?;
        ops += 3;
        let granted = (0..20)
            .filter(|_| self.limiter.try_acquire().is_ok())
            .count();
        if granted > 10 {
            return Err(format!("the limiter granted {granted} of a burst of 10"));
        }
        self.time.advance(Duration::from_millis(100));
        ops += 20 + self.contend();
        Ok(ops)
    }
}
