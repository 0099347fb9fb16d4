//! The CPU hog: threads that burn a duty cycle of CPU.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::workers::Workers;
use super::{Fidelity, ResourceError, Result};

/// The most hog threads one [`CpuHog`] starts.
pub const MAX_HOG_THREADS: u32 = 256;

/// The default length of one busy + sleep slice.
pub const DEFAULT_SLICE: Duration = Duration::from_millis(10);

/// N threads that each keep a CPU busy `duty_percent` of the time, in slices
/// of busy-spinning followed by sleeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuHog {
    /// Number of hog threads (1 ..= [`MAX_HOG_THREADS`]).
    pub threads: u32,
    /// Share of each slice spent spinning, in percent (1 ..= 100).
    pub duty_percent: u32,
    /// Length of one busy + sleep slice.
    pub slice: Duration,
}

impl CpuHog {
    /// `threads` threads at `duty_percent` % duty, in [`DEFAULT_SLICE`] slices.
    #[must_use]
    pub fn new(threads: u32, duty_percent: u32) -> Self {
        Self {
            threads,
            duty_percent,
            slice: DEFAULT_SLICE,
        }
    }

    /// The same hog with another slice length.
    #[must_use]
    pub fn slice(mut self, slice: Duration) -> Self {
        self.slice = slice;
        self
    }

    fn validate(&self) -> Result<()> {
        if !(1..=MAX_HOG_THREADS).contains(&self.threads) {
            return Err(ResourceError::InvalidLimit {
                name: "threads",
                value: u64::from(self.threads),
                reason: "must be 1 ..= 256",
            });
        }
        if !(1..=100).contains(&self.duty_percent) {
            return Err(ResourceError::InvalidLimit {
                name: "duty_percent",
                value: u64::from(self.duty_percent),
                reason: "must be 1 ..= 100",
            });
        }
        if self.slice.is_zero() || self.slice > Duration::from_secs(1) {
            return Err(ResourceError::InvalidLimit {
                name: "slice_ms",
                value: u64::try_from(self.slice.as_millis()).unwrap_or(u64::MAX),
                reason: "must be > 0 and <= 1000 ms",
            });
        }
        Ok(())
    }

    /// Starts the hog threads; they run until the guard is healed or dropped.
    ///
    /// # Errors
    ///
    /// [`ResourceError::InvalidLimit`] for a limit out of range,
    /// [`ResourceError::Spawn`] if a thread cannot start (the threads already
    /// started are stopped and joined first).
    pub fn inject(&self) -> Result<CpuHogGuard> {
        self.validate()?;
        let mut guard = CpuHogGuard {
            workers: Workers::default(),
            busy_nanos: Arc::new(AtomicU64::new(0)),
        };
        let busy = self.slice * self.duty_percent / 100;
        let idle = self.slice.saturating_sub(busy);
        for i in 0..self.threads {
            let spent = Arc::clone(&guard.busy_nanos);
            guard
                .workers
                .spawn(format!("ballast-cpu-hog-{i}"), move |stop| {
                    hog_loop(stop, &spent, busy, idle);
                })?;
        }
        Ok(guard)
    }
}

/// Spins for `busy`, sleeps for `idle`, until `stop` is set.
fn hog_loop(stop: &AtomicBool, spent: &AtomicU64, busy: Duration, idle: Duration) {
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        while start.elapsed() < busy {
            std::hint::spin_loop();
        }
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        spent.fetch_add(nanos, Ordering::Relaxed);
        if !idle.is_zero() {
            std::thread::sleep(idle);
        }
    }
}

/// A running [`CpuHog`]; stops and joins its threads when dropped.
#[derive(Debug)]
pub struct CpuHogGuard {
    workers: Workers,
    busy_nanos: Arc<AtomicU64>,
}

impl CpuHogGuard {
    /// Number of hog threads running.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Wall time the hog threads have spent spinning, summed over threads.
    #[must_use]
    pub fn busy_time(&self) -> Duration {
        Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed))
    }

    /// The hog runs in-process threads, exactly as asked.
    #[must_use]
    pub fn fidelity(&self) -> Fidelity {
        Fidelity::Exact
    }

    /// Stops the hog now and waits for its threads to end.
    pub fn heal(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.workers.stop();
    }
}

impl Drop for CpuHogGuard {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
