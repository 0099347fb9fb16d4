//! Lock-free sliding windows of call outcomes.
//!
//! Count window: a ring of outcome slots written by `swap`, so the failure and
//! slow counters always equal the number of marked slots once writers are
//! quiet (every change to a slot applies exactly its own delta). A success
//! over a success only loads the slot, so the common path writes one word.
//!
//! Time window: each bucket counter packs the window round it counts for
//! with its count in one word, so the rollover to a new round and the first
//! outcome of that round are one compare-and-swap: no outcome is lost at a
//! rollover and no reader sees a previous round's counts. A reader whose
//! clock reading predates a rollover never sees more failures than calls.

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

/// Number of per-thread counters a hot counter is spread over (the clean
/// successes of a full count window, the breaker's rejections).
pub(super) const STRIPES: usize = 8;

/// An atomic on its own cache line (two lines, for adjacent-line prefetch).
#[derive(Debug)]
#[repr(align(128))]
pub(super) struct Padded<T>(pub(super) T);

std::thread_local! {
    /// This thread's stripe; `STRIPES` (out of range) until assigned.
    static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(STRIPES) };
}

/// The stripe the current thread counts on; threads are spread round-robin.
#[inline(always)]
pub(super) fn stripe() -> usize {
    let s = STRIPE.get();
    if s < STRIPES { s } else { assign_stripe() }
}

#[cold]
fn assign_stripe() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let s = NEXT.fetch_add(1, StdOrdering::Relaxed) % STRIPES;
    STRIPE.set(s);
    s
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
        // Marks first, head last: a writer moves the head before it marks
        // its slot, so every failure or slow call seen here has its call
        // in the head read after it (the acquire loads synchronize with
        // the counters' release updates). The other order let a window
        // that is not yet full show more failures than calls.
        let failures = self.failures.0.load(Ordering::Acquire);
        let slow = self.slow.load(Ordering::Acquire);
        let calls = self.head.0.load(Ordering::Acquire).min(len);
        let c = WindowCounts {
            calls,
            failures: within_window(failures, calls),
            slow: within_window(slow, calls),
        };
        debug_assert!(
            c.failures <= c.calls && c.slow <= c.calls && c.calls <= len,
            "count window view beyond the window: {c:?} of {len}"
        );
        c
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

/// A count-window counter as a view may show it: at most `calls`, and 0
/// when it has wrapped below zero.
///
/// A counter follows its slots one step behind: a writer swaps its slot,
/// then updates the counter. While one writer is between the two, another
/// that overwrote the same slot may already have applied its own update, so
/// the counter can briefly run ahead of the slots (a failure counted twice:
/// more failures than calls) or below zero (a decrement before the
/// increment it undoes). Real counts never reach 2^31 (the window holds at
/// most `MAX_WINDOW_SIZE` slots), so a set sign bit can only mean the
/// latter. The counter itself is exact again once both writers are done.
fn within_window(counter: u32, calls: u64) -> u64 {
    const _: () = assert!(super::MAX_WINDOW_SIZE <= i32::MAX as u32);
    if counter > i32::MAX as u32 {
        0
    } else {
        u64::from(counter).min(calls)
    }
}

/// One counter of one time-window bucket in one word: the window round it
/// counts for (high 32 bits, truncated) and the count (low 32 bits). A
/// bucket serves epochs `i, i + n, i + 2n, …`; the round `epoch / n` says
/// which. Moving a counter to a new round and counting the first outcome
/// of that round is one compare-and-swap, so no outcome of the new round is
/// lost and no reader sees the old round's count under the new round.
#[derive(Debug)]
struct Counter(AtomicU64);

const COUNT_MASK: u64 = u32::MAX as u64;

impl Counter {
    fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    const fn pack(round: u32, count: u32) -> u64 {
        ((round as u64) << 32) | count as u64
    }

    /// Counts one outcome of `round`.
    fn add(&self, round: u32) {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let (tag, count) = ((cur >> 32) as u32, cur & COUNT_MASK);
            let next = if tag == round {
                // Saturate rather than carry into the round.
                Self::pack(round, u32::try_from(count + 1).unwrap_or(u32::MAX))
            } else if count != 0 && is_after(tag, round) {
                // The bucket already counts a later round: this outcome is a
                // whole window old and has slid out.
                return;
            } else {
                Self::pack(round, 1)
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// The count if the counter is at `round`, else 0.
    fn get(&self, round: u32) -> u64 {
        let word = self.0.load(Ordering::Acquire);
        if (word >> 32) as u32 == round {
            word & COUNT_MASK
        } else {
            0
        }
    }
}

/// True if round tag `a` is later than `b`, on the 32-bit circle.
fn is_after(a: u32, b: u32) -> bool {
    let ahead = a.wrapping_sub(b);
    ahead != 0 && ahead < 1 << 31
}

#[derive(Debug)]
struct Bucket {
    calls: Counter,
    failures: Counter,
    slow: Counter,
}

/// A sliding window of `n` time buckets.
///
/// A bucket counter left untouched for 2^31 window lengths or more may
/// wrongly look current or later (68 years for a one-second window); no
/// other approximation remains: concurrent records and rollovers keep
/// every outcome of the current round, and a reader never sees an old
/// round's counts (the loom models in `loom_tests.rs` check both). An
/// outcome recorded a whole window late (its thread stalled between
/// reading the clock and recording) is dropped, as it has slid out.
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
                calls: Counter::new(),
                failures: Counter::new(),
                slow: Counter::new(),
            })
            .collect();
        Self {
            bucket_nanos,
            buckets,
            recorded: AtomicU64::new(0),
        }
    }

    fn len(&self) -> u64 {
        self.buckets.len() as u64
    }

    /// The epoch (1-based bucket-length step) of `now_nanos`.
    fn epoch(&self, now_nanos: u64) -> u64 {
        now_nanos / self.bucket_nanos + 1
    }

    pub(crate) fn record(&self, bits: u8, now_nanos: u64) -> Option<WindowCounts> {
        let epoch = self.epoch(now_nanos);
        let bucket = &self.buckets[(epoch % self.len()) as usize];
        let round = (epoch / self.len()) as u32;
        self.recorded.fetch_add(1, Ordering::Relaxed);
        // Calls first: a reader loads failures and slow before calls, so it
        // never sees more failures than calls.
        bucket.calls.add(round);
        if bits & FAILED != 0 {
            bucket.failures.add(round);
        }
        if bits & SLOW != 0 {
            bucket.slow.add(round);
        }
        (bits != 0).then(|| self.counts(now_nanos))
    }

    pub(crate) fn counts(&self, now_nanos: u64) -> WindowCounts {
        let current = self.epoch(now_nanos);
        let n = self.len();
        let mut c = WindowCounts::default();
        for (i, b) in self.buckets.iter().enumerate() {
            // The one epoch in (current - n, current] this bucket serves.
            let back = (current % n + n - i as u64) % n;
            let Some(epoch) = current.checked_sub(back).filter(|e| *e != 0) else {
                continue;
            };
            let round = (epoch / n) as u32;
            // Calls are counted first and read last, so within one round
            // failures and slow never exceed calls. A reader whose reading
            // predates a rollover of this bucket (or that races a reset)
            // finds calls already gone while failures or slow linger;
            // clamping drops those too, so a view never shows a rate
            // above 100 %.
            let failures = b.failures.get(round);
            let slow = b.slow.get(round);
            let calls = b.calls.get(round);
            c.failures += failures.min(calls);
            c.slow += slow.min(calls);
            c.calls += calls;
        }
        debug_assert!(
            c.failures <= c.calls && c.slow <= c.calls,
            "time window view with more marks than calls: {c:?}"
        );
        c
    }

    pub(crate) fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Acquire)
    }

    pub(crate) fn reset(&self) -> u64 {
        for b in self.buckets.iter() {
            for counter in [&b.calls, &b.failures, &b.slow] {
                counter.0.store(0, Ordering::Release);
            }
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
    fn time_window_bucket_reused_by_a_later_round_starts_from_zero() {
        let w = TimeWindow::new(2, 2);
        for _ in 0..5 {
            w.record(FAILED, 0);
        }
        w.record(0, 2);
        assert_eq!(
            w.counts(2),
            WindowCounts {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
    }

    #[test]
    fn time_window_drops_an_outcome_recorded_a_whole_window_late() {
        let w = TimeWindow::new(2, 2);
        w.record(0, 2);
        w.record(FAILED, 0);
        assert_eq!(w.counts(2).failures, 0);
        assert_eq!(w.counts(2).calls, 1);
        assert_eq!(
            w.recorded(),
            2,
            "the late outcome still counts in the totals"
        );
    }

    #[test]
    fn time_window_reader_behind_a_rollover_never_sees_more_failures_than_calls() {
        // Two 1 ns buckets. Epoch 1 (t = 0) holds three failures; a success
        // at t = 1 fills epoch 2.
        let w = TimeWindow::new(2, 2);
        for _ in 0..3 {
            w.record(FAILED, 0);
        }
        w.record(0, 1);
        // Another thread records a success at t = 2: epoch 3 reuses epoch
        // 1's bucket and moves only its calls counter to the new round.
        w.record(0, 2);
        // A recorder that read the clock at t = 1, just before that
        // rollover, computes its counts now (record() does so for every
        // failure). Epoch 1's calls are gone; its failures must go too, or
        // the failure rate exceeds 100 % and trips a breaker that is far
        // below its threshold.
        let c = w.counts(1);
        assert!(
            c.failures <= c.calls,
            "more failures than calls in one view: {c:?}"
        );
    }

    #[test]
    fn round_tags_compare_across_the_32_bit_wrap() {
        assert!(is_after(1, 0));
        assert!(is_after(0, u32::MAX));
        assert!(!is_after(0, 1));
        assert!(!is_after(7, 7));
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
