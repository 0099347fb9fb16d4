//! Pool counters and the wait-time histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (inclusive) of the wait-time histogram buckets; a last
/// implicit bucket holds longer waits (`+Inf`).
pub const WAIT_BUCKETS: [Duration; 8] = [
    Duration::from_micros(100),
    Duration::from_millis(1),
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(1),
];

/// A snapshot of pool counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Name used in metrics.
    pub name: String,
    /// Objects lent out now.
    pub in_use: usize,
    /// Objects idle in the pool now.
    pub idle: usize,
    /// Objects alive now (lent + idle + being created).
    pub size: usize,
    /// The limit.
    pub max_size: usize,
    /// Successful checkouts.
    pub checkouts: u64,
    /// Checkouts that had to wait.
    pub waits: u64,
    /// Wait-time histogram: counts per [`WAIT_BUCKETS`] bound, then `+Inf`
    /// (not cumulative).
    pub wait_histogram: [u64; WAIT_BUCKETS.len() + 1],
    /// Total wait time, for the histogram's `_sum`.
    pub wait_total: Duration,
    /// Checkouts that timed out.
    pub timeouts: u64,
    /// Objects created.
    pub created: u64,
    /// Objects destroyed (expired, broken, drained).
    pub destroyed: u64,
    /// Objects evicted because a check failed or they were marked broken.
    pub broken: u64,
    /// Creation errors.
    pub create_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) checkouts: AtomicU64,
    pub(crate) waits: AtomicU64,
    pub(crate) histogram: [AtomicU64; WAIT_BUCKETS.len() + 1],
    pub(crate) wait_total_nanos: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) created: AtomicU64,
    pub(crate) destroyed: AtomicU64,
    pub(crate) broken: AtomicU64,
    pub(crate) create_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn record_wait(&self, waited: Duration) {
        let bucket = WAIT_BUCKETS
            .iter()
            .position(|b| waited <= *b)
            .unwrap_or(WAIT_BUCKETS.len());
        self.histogram[bucket].fetch_add(1, Ordering::Relaxed);
        self.wait_total_nanos
            .fetch_add(crate::clock::nanos(waited), Ordering::Relaxed);
    }

    pub(crate) fn snapshot_into(&self, s: &mut PoolStats) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        s.checkouts = load(&self.checkouts);
        s.waits = load(&self.waits);
        for (out, c) in s.wait_histogram.iter_mut().zip(&self.histogram) {
            *out = load(c);
        }
        s.wait_total = Duration::from_nanos(load(&self.wait_total_nanos));
        s.timeouts = load(&self.timeouts);
        s.created = load(&self.created);
        s.destroyed = load(&self.destroyed);
        s.broken = load(&self.broken);
        s.create_errors = load(&self.create_errors);
    }
}
