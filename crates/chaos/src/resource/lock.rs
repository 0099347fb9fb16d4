//! Lock contention: threads that keep a shared structure of the target
//! locked a share of the time, so the target's own threads wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::workers::Workers;
use super::{ResourceError, Result};
use crate::suite::LockHook;

/// The most contending threads one [`LockContention`] starts.
pub const MAX_LOCK_THREADS: u32 = 64;

/// The longest one hold may last.
pub const MAX_LOCK_HOLD: Duration = Duration::from_secs(10);

/// Pauses are slept in slices this long, so a heal is seen promptly.
const PAUSE_SLICE: Duration = Duration::from_millis(10);

/// `threads` threads that each call [`LockHook::hold`] for `hold`, then
/// pause so that each holds the lock `duty_percent` % of its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockContention {
    /// Contending threads (1 ..= [`MAX_LOCK_THREADS`]).
    pub threads: u32,
    /// Share of each thread's time spent holding the lock, in percent (1 ..= 100).
    pub duty_percent: u32,
    /// How long one hold lasts (> 0, ≤ [`MAX_LOCK_HOLD`]).
    pub hold: Duration,
}

impl LockContention {
    /// Contention by `threads` threads holding `hold` at a time,
    /// `duty_percent` % of the time.
    #[must_use]
    pub fn new(threads: u32, duty_percent: u32, hold: Duration) -> Self {
        Self {
            threads,
            duty_percent,
            hold,
        }
    }

    fn validate(&self) -> Result<()> {
        if !(1..=MAX_LOCK_THREADS).contains(&self.threads) {
            return Err(ResourceError::InvalidLimit {
                name: "threads",
                value: u64::from(self.threads),
                reason: "must be 1 ..= 64",
            });
        }
        if !(1..=100).contains(&self.duty_percent) {
            return Err(ResourceError::InvalidLimit {
                name: "duty_percent",
                value: u64::from(self.duty_percent),
                reason: "must be 1 ..= 100",
            });
        }
        if self.hold.is_zero() || self.hold > MAX_LOCK_HOLD {
            return Err(ResourceError::InvalidLimit {
                name: "hold_ms",
                value: u64::try_from(self.hold.as_millis()).unwrap_or(u64::MAX),
                reason: "must be 1 ..= 10000",
            });
        }
        Ok(())
    }

    /// The pause after each hold that gives the duty cycle.
    fn pause(&self) -> Duration {
        self.hold * (100 - self.duty_percent) / self.duty_percent
    }

    /// Starts the contending threads on `lock`; they run until the guard
    /// is healed or dropped.
    ///
    /// # Errors
    ///
    /// [`ResourceError::InvalidLimit`] for a limit out of range,
    /// [`ResourceError::Spawn`] if a thread cannot start (those already
    /// started are stopped and joined first).
    pub fn inject(&self, lock: Arc<dyn LockHook>) -> Result<LockContentionGuard> {
        self.validate()?;
        let mut guard = LockContentionGuard {
            workers: Workers::default(),
            holds: Arc::new(AtomicU64::new(0)),
        };
        let (hold, pause) = (self.hold, self.pause());
        for i in 0..self.threads {
            let (holds, lock) = (Arc::clone(&guard.holds), Arc::clone(&lock));
            guard
                .workers
                .spawn(format!("ballast-lock-{i}"), move |stop| {
                    contend(&*lock, stop, &holds, hold, pause);
                })?;
        }
        Ok(guard)
    }
}

fn contend(
    lock: &dyn LockHook,
    stop: &AtomicBool,
    holds: &AtomicU64,
    hold: Duration,
    pause: Duration,
) {
    while !stop.load(Ordering::Relaxed) {
        lock.hold(hold);
        holds.fetch_add(1, Ordering::Relaxed);
        let slices = pause.as_nanos().div_ceil(PAUSE_SLICE.as_nanos());
        let mut left = pause;
        for _ in 0..slices {
            if stop.load(Ordering::Relaxed) || left.is_zero() {
                break;
            }
            let nap = left.min(PAUSE_SLICE);
            std::thread::sleep(nap);
            left -= nap;
        }
    }
}

/// A running [`LockContention`]; stops and joins its threads when dropped.
#[derive(Debug)]
pub struct LockContentionGuard {
    workers: Workers,
    holds: Arc<AtomicU64>,
}

impl LockContentionGuard {
    /// Contending threads running.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Holds completed so far, over all threads.
    #[must_use]
    pub fn holds(&self) -> u64 {
        self.holds.load(Ordering::Relaxed)
    }

    /// Stops now and waits for the threads (each finishes its current hold).
    pub fn heal(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.workers.stop();
    }
}

impl Drop for LockContentionGuard {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use super::*;

    #[derive(Default)]
    struct Table(Mutex<u64>);

    impl LockHook for Table {
        fn hold(&self, hold: Duration) {
            let mut n = self.0.lock().unwrap();
            std::thread::sleep(hold);
            *n += 1;
        }
    }

    fn threads_named(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(std::result::Result::ok)
            .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    /// Mean wait, over `n` acquisitions a few ms apart, to take the lock.
    fn mean_wait(table: &Table, n: u32) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            let t = Instant::now();
            drop(table.0.lock().unwrap());
            total += t.elapsed();
            std::thread::sleep(Duration::from_millis(3));
        }
        total / n
    }

    #[test]
    fn contention_delays_the_targets_own_lock_and_heals_completely() {
        let table = Arc::new(Table::default());
        let quiet = mean_wait(&table, 20);
        let hook: Arc<dyn LockHook> = table.clone();
        let guard = LockContention::new(2, 80, Duration::from_millis(20))
            .inject(hook)
            .unwrap();
        assert_eq!(guard.threads(), 2);
        let contended = mean_wait(&table, 40);
        assert!(guard.holds() > 0);
        drop(guard);
        eprintln!("mean lock wait: quiet {quiet:?}, contended {contended:?}");
        // Held ~80 % of the time by each of two threads: the average wait is
        // several ms; quiet it is microseconds. The bound is generous.
        assert!(
            contended > quiet + Duration::from_millis(2),
            "quiet {quiet:?}, contended {contended:?}"
        );
        assert_eq!(threads_named("ballast-lock"), 0, "every thread joined");
        assert_eq!(Arc::strong_count(&table), 1, "no thread holds the hook");
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        let hook: Arc<dyn LockHook> = Arc::new(Table::default());
        for bad in [
            LockContention::new(0, 50, Duration::from_millis(1)),
            LockContention::new(65, 50, Duration::from_millis(1)),
            LockContention::new(1, 0, Duration::from_millis(1)),
            LockContention::new(1, 101, Duration::from_millis(1)),
            LockContention::new(1, 50, Duration::ZERO),
            LockContention::new(1, 50, Duration::from_secs(11)),
        ] {
            assert!(matches!(
                bad.inject(Arc::clone(&hook)),
                Err(ResourceError::InvalidLimit { .. })
            ));
        }
    }
}
