//! Lock-free sliding windows of call outcomes.
//!
//! Count window: a ring of outcome slots written by `swap`, so the failure and
//! slow counters always equal the number of marked slots once writers are
//! quiet (every change to a slot applies exactly its own delta). A success
//! over a success only loads the slot, so the common path writes one word.
//!
//! Time window: buckets tagged with their epoch; a bucket is recycled by the
//! first writer of a new epoch. Increments racing a rollover may be dropped,
//! so time-window rates are approximate at bucket boundaries.

use crate::loom::{AtomicU32, AtomicU64, Ordering};

pub(crate) const FAILED: u8 = 0b01;
pub(crate) const SLOW: u8 = 0b10;

/// Calls, failures and slow calls currently inside the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct WindowCounts {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

/// Number of success counters a full, clean count window spreads over.
const STRIPES: usize = 8;

/// An atomic on its own cache line (two lines, for adjacent-line prefetch).
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

/// The stripe the current thread counts on; threads are spread round-robin.
fn stripe() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    STRIPE.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, StdOrdering::Relaxed) % STRIPES);
        }
        s.get()
    })
}

#[derive(Debug)]
pub(crate) struct CountWindow {
    head: Padded<AtomicU64>,
    slots: Box<[AtomicU32]>,
    failures: Padded<AtomicU32>,
    slow: AtomicU32,
    /// Successes recorded into a full window holding only successes: such a
    /// success leaves every slot as it is, so it is only counted, on a
    /// per-thread stripe, and threads on the closed path share no written
    /// cache line.
    clean_successes: Box<[Padded<AtomicU64>]>,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        assert!(size > 0, "count window size is validated to be non-zero");
        Self {
            head: Padded(AtomicU64::new(0)),
            slots: (0..size).map(|_| AtomicU32::new(0)).collect(),
            failures: Padded(AtomicU32::new(0)),
            slow: AtomicU32::new(0),
            clean_successes: (0..STRIPES).map(|_| Padded(AtomicU64::new(0))).collect(),
        }
    }

    /// Records one outcome (`FAILED`/`SLOW` bits) and returns the new counts
    /// when the outcome could move a threshold (it is a failure or slow).
    #[inline]
    pub(crate) fn record(&self, bits: u8) -> Option<WindowCounts> {
        let len = self.slots.len() as u64;
        if bits == 0
            && self.failures.0.load(Ordering::Relaxed) == 0
            && self.slow.load(Ordering::Relaxed) == 0
            && self.head.0.load(Ordering::Relaxed) >= len
        {
            // Linearizes before any concurrent failure: the window is all
            // successes either way.
            self.clean_successes[stripe()]
                .0
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let index = self.head.0.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[(index % len) as usize];
        let new = u32::from(bits);
        if bits == 0 && slot.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let old = slot.swap(new, Ordering::AcqRel);
        self.apply_delta(old, new);
        (bits != 0).then(|| self.counts())
    }

    fn apply_delta(&self, old: u32, new: u32) {
        let changed = old ^ new;
        for (bit, counter) in [(FAILED, &self.failures.0), (SLOW, &self.slow)] {
            let bit = u32::from(bit);
            if changed & bit != 0 {
                if new & bit != 0 {
                    counter.fetch_add(1, Ordering::AcqRel);
                } else {
                    counter.fetch_sub(1, Ordering::AcqRel);
                }
            }
        }
    }

    pub(crate) fn counts(&self) -> WindowCounts {
        let len = self.slots.len() as u64;
        WindowCounts {
            calls: self.head.0.load(Ordering::Acquire).min(len),
            failures: u64::from(self.failures.0.load(Ordering::Acquire)),
            slow: u64::from(self.slow.load(Ordering::Acquire)),
        }
    }

    /// Total outcomes recorded since the last reset.
    pub(crate) fn recorded(&self) -> u64 {
        let clean: u64 = self
            .clean_successes
            .iter()
            .map(|c| c.0.load(Ordering::Acquire))
            .sum();
        self.head.0.load(Ordering::Acquire) + clean
    }

    /// Empties the window; returns how many outcomes it had recorded.
    pub(crate) fn reset(&self) -> u64 {
        for slot in self.slots.iter() {
            let old = slot.swap(0, Ordering::AcqRel);
            self.apply_delta(old, 0);
        }
        let clean: u64 = self
            .clean_successes
            .iter()
            .map(|c| c.0.swap(0, Ordering::AcqRel))
            .sum();
        self.head.0.swap(0, Ordering::AcqRel) + clean
    }

    #[cfg(test)]
    pub(crate) fn marked_slots(&self) -> (u32, u32) {
        let mut failed = 0;
        let mut slow = 0;
        for slot in self.slots.iter() {
            let v = slot.load(Ordering::Acquire);
            failed += v & u32::from(FAILED);
            slow += (v & u32::from(SLOW)) >> 1;
        }
        (failed, slow)
    }
}

#[derive(Debug)]
struct Bucket {
    epoch: AtomicU64,
    calls: AtomicU32,
    failures: AtomicU32,
    slow: AtomicU32,
}

#[derive(Debug)]
pub(crate) struct TimeWindow {
    bucket_nanos: u64,
    buckets: Box<[Bucket]>,
    recorded: AtomicU64,
}

impl TimeWindow {
    pub(crate) fn new(length_nanos: u64, buckets: u32) -> Self {
        assert!(buckets > 0, "bucket count is validated to be non-zero");
        let bucket_nanos = (length_nanos / u64::from(buckets)).max(1);
        let buckets = (0..buckets)
            .map(|_| Bucket {
                epoch: AtomicU64::new(0),
                calls: AtomicU32::new(0),
                failures: AtomicU32::new(0),
                slow: AtomicU32::new(0),
            })
            .collect();
        Self {
            bucket_nanos,
            buckets,
            recorded: AtomicU64::new(0),
        }
    }

    fn bucket_for(&self, now_nanos: u64) -> (&Bucket, u64) {
        // Epoch 0 marks an unused bucket, so epochs start at 1.
        let epoch = now_nanos / self.bucket_nanos + 1;
        let bucket = &self.buckets[(epoch % self.buckets.len() as u64) as usize];
        let seen = bucket.epoch.load(Ordering::Acquire);
        if seen != epoch
            && seen < epoch
            && bucket
                .epoch
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            bucket.calls.store(0, Ordering::Release);
            bucket.failures.store(0, Ordering::Release);
            bucket.slow.store(0, Ordering::Release);
        }
        (bucket, epoch)
    }

    pub(crate) fn record(&self, bits: u8, now_nanos: u64) -> Option<WindowCounts> {
        let (bucket, _) = self.bucket_for(now_nanos);
        self.recorded.fetch_add(1, Ordering::Relaxed);
        bucket.calls.fetch_add(1, Ordering::AcqRel);
        if bits & FAILED != 0 {
            bucket.failures.fetch_add(1, Ordering::AcqRel);
        }
        if bits & SLOW != 0 {
            bucket.slow.fetch_add(1, Ordering::AcqRel);
        }
        (bits != 0).then(|| self.counts(now_nanos))
    }

    pub(crate) fn counts(&self, now_nanos: u64) -> WindowCounts {
        let current = now_nanos / self.bucket_nanos + 1;
        let oldest = current.saturating_sub(self.buckets.len() as u64 - 1);
        let mut c = WindowCounts::default();
        for b in self.buckets.iter() {
            let epoch = b.epoch.load(Ordering::Acquire);
            if epoch >= oldest && epoch <= current && epoch != 0 {
                c.calls += u64::from(b.calls.load(Ordering::Acquire));
                c.failures += u64::from(b.failures.load(Ordering::Acquire));
                c.slow += u64::from(b.slow.load(Ordering::Acquire));
            }
        }
        c
    }

    pub(crate) fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Acquire)
    }

    pub(crate) fn reset(&self) -> u64 {
        for b in self.buckets.iter() {
            b.epoch.store(0, Ordering::Release);
            b.calls.store(0, Ordering::Release);
            b.failures.store(0, Ordering::Release);
            b.slow.store(0, Ordering::Release);
        }
        self.recorded.swap(0, Ordering::AcqRel)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn count_window_forgets_outcomes_older_than_its_size() {
        let w = CountWindow::new(4);
        for _ in 0..4 {
            w.record(FAILED);
        }
        assert_eq!(
            w.counts(),
            WindowCounts {
                calls: 4,
                failures: 4,
                slow: 0
            }
        );
        for _ in 0..3 {
            w.record(0);
        }
        assert_eq!(w.counts().failures, 1);
        w.record(SLOW);
        assert_eq!(
            w.counts(),
            WindowCounts {
                calls: 4,
                failures: 0,
                slow: 1
            }
        );
    }

    #[test]
    fn time_window_drops_buckets_that_slid_out() {
        let sec = 1_000_000_000;
        let w = TimeWindow::new(10 * sec, 10);
        w.record(FAILED, 0);
        w.record(0, sec);
        assert_eq!(w.counts(sec).calls, 2);
        assert_eq!(w.counts(9 * sec).failures, 1);
        assert_eq!(w.counts(10 * sec).failures, 0, "the bucket at t=0 slid out");
        assert_eq!(w.counts(10 * sec).calls, 1);
        w.record(0, 20 * sec);
        assert_eq!(w.counts(20 * sec).calls, 1);
    }

    #[test]
    fn reset_empties_both_windows() {
        let c = CountWindow::new(3);
        c.record(FAILED | SLOW);
        assert_eq!(c.reset(), 1);
        assert_eq!(c.counts(), WindowCounts::default());
        assert_eq!(c.marked_slots(), (0, 0));
        let t = TimeWindow::new(1000, 2);
        t.record(FAILED, 5);
        t.reset();
        assert_eq!(t.counts(5), WindowCounts::default());
    }
}
