//! [`CountingAlloc`]: a global allocator wrapper that counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt;
// Plain std atomics, also under loom: a global allocator must be const.
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

/// Threads counted without locked instructions at once; more threads share
/// one slot updated with atomic read-modify-writes (correct, slower).
pub const MAX_TRACKED_THREADS: usize = 256;

/// How far one thread's live bytes may move before it publishes them to the
/// process-wide peak; `peak_bytes` may read low by up to this much per
/// thread that was active at the peak.
pub const PEAK_GRANULARITY_BYTES: i64 = 64 * 1024;

const UNCLAIMED: usize = usize::MAX;
const OVERFLOW: usize = MAX_TRACKED_THREADS;

/// Which thread slot is whose. One table for the process: a thread keeps its
/// ordinal for every `CountingAlloc` instance and gives it back at exit.
static ORDINAL_TAKEN: [AtomicBool; MAX_TRACKED_THREADS] =
    [const { AtomicBool::new(false) }; MAX_TRACKED_THREADS];
static ORDINAL_HINT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// The thread's ordinal. No destructor, so reading it is one
    /// thread-pointer-relative load, valid even while the thread exits.
    static ORDINAL: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Gives the ordinal back when the thread exits.
    static ORDINAL_GUARD: OrdinalGuard = const { OrdinalGuard };
}

struct OrdinalGuard;

impl Drop for OrdinalGuard {
    fn drop(&mut self) {
        let ordinal = ORDINAL.with(|o| o.replace(OVERFLOW));
        if ordinal < MAX_TRACKED_THREADS {
            // Counts stay in the slot; the next owner adds to them, so
            // totals stay exact. Release: our writes happen-before its.
            ORDINAL_TAKEN[ordinal].store(false, std::sync::atomic::Ordering::Release);
        }
    }
}

#[cold]
#[inline(never)]
fn claim_ordinal(cell: &Cell<usize>) -> usize {
    // Anything this allocates (registering the exit guard may, on some
    // platforms) is counted in the shared slot instead of recursing here.
    cell.set(OVERFLOW);
    if ORDINAL_GUARD.try_with(|_| ()).is_err() {
        return OVERFLOW; // the thread is already exiting
    }
    let start = ORDINAL_HINT.fetch_add(1, Relaxed);
    for i in 0..MAX_TRACKED_THREADS {
        let ordinal = (start + i) % MAX_TRACKED_THREADS;
        if ORDINAL_TAKEN[ordinal]
            .compare_exchange(
                false,
                true,
                std::sync::atomic::Ordering::Acquire,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_ok()
        {
            cell.set(ordinal);
            return ordinal;
        }
    }
    OVERFLOW
}

/// The calling thread's slot index, claiming one on first use.
#[inline(always)]
fn current_ordinal() -> usize {
    ORDINAL.with(|o| {
        let ordinal = o.get();
        if ordinal != UNCLAIMED {
            ordinal
        } else {
            claim_ordinal(o)
        }
    })
}

/// One thread's counters, on their own cache line.
#[repr(align(64))]
struct ThreadCounters {
    allocations: AtomicU64,
    deallocations: AtomicU64,
    reallocations: AtomicU64,
    bytes_freed: AtomicU64,
    /// Bytes allocated minus bytes freed through this slot; bytes allocated
    /// is derived as `live + bytes_freed`, saving a store per allocation.
    live: AtomicI64,
    /// The highest `live` seen; for `measure`.
    peak_live: AtomicI64,
    /// `live` when last published to the process-wide figure.
    published_live: AtomicI64,
}

impl ThreadCounters {
    const fn new() -> Self {
        Self {
            allocations: AtomicU64::new(0),
            deallocations: AtomicU64::new(0),
            reallocations: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            live: AtomicI64::new(0),
            peak_live: AtomicI64::new(0),
            published_live: AtomicI64::new(0),
        }
    }

    fn live(&self) -> i64 {
        self.live.load(Relaxed)
    }
}

/// Adds `n` to a counter only this thread writes: a plain load and store,
/// no locked instruction.
#[inline(always)]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Allocation counters of the whole process; a plain snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Allocations (`alloc` and `alloc_zeroed`).
    pub allocations: u64,
    /// Frees.
    pub deallocations: u64,
    /// Reallocations (counted apart; they neither add nor remove a block).
    pub reallocations: u64,
    /// Bytes ever allocated (reallocations count their new size).
    pub bytes_allocated: u64,
    /// Bytes ever freed (reallocations count their old size).
    pub bytes_freed: u64,
    /// Bytes allocated and not yet freed.
    pub live_bytes: u64,
    /// Blocks allocated and not yet freed.
    pub live_allocations: u64,
    /// The most live bytes seen (see [`PEAK_GRANULARITY_BYTES`]).
    pub peak_bytes: u64,
}

/// What one closure allocated on the calling thread, from
/// [`CountingAlloc::measure`]; exact, and unaffected by other threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocDelta {
    /// Allocations made.
    pub allocations: u64,
    /// Frees made.
    pub deallocations: u64,
    /// Reallocations made.
    pub reallocations: u64,
    /// Bytes allocated.
    pub bytes_allocated: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// The most bytes live at once during the closure, above the start.
    pub peak_bytes: u64,
}

impl AllocDelta {
    /// Whether the closure touched the allocator at all.
    pub fn is_zero(&self) -> bool {
        self.allocations == 0 && self.deallocations == 0 && self.reallocations == 0
    }
}

/// A [`GlobalAlloc`] wrapper that counts allocations, frees, live and peak
/// bytes, cheaply enough to leave on in long stability runs.
///
/// Each thread counts into its own cache line with plain loads and stores
/// (no locked instruction on the hot path); a snapshot adds the lines up.
/// Threads publish their live bytes to a process-wide peak only every
/// [`PEAK_GRANULARITY_BYTES`].
///
/// ```
/// use ballast_alloc::CountingAlloc;
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc = CountingAlloc::system();
///
/// let (v, delta) = ALLOC.measure(|| vec![0u8; 1000]);
/// assert_eq!(delta.allocations, 1);
/// assert_eq!(delta.bytes_allocated, 1000);
/// let (_, none) = ALLOC.measure(|| v.iter().map(|&b| u64::from(b)).sum::<u64>());
/// assert!(none.is_zero());
/// ```
pub struct CountingAlloc<A = System> {
    inner: A,
    threads: [ThreadCounters; MAX_TRACKED_THREADS],
    /// For threads without a slot of their own; updated with fetch_add.
    shared: ThreadCounters,
    /// Sum of what threads have published of their live bytes.
    published_live: AtomicI64,
    peak_bytes: AtomicI64,
}

impl CountingAlloc<System> {
    /// Counts over the system allocator.
    pub const fn system() -> Self {
        Self::new(System)
    }
}

impl<A> CountingAlloc<A> {
    /// Counts over `inner`.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            threads: [const { ThreadCounters::new() }; MAX_TRACKED_THREADS],
            shared: ThreadCounters::new(),
            published_live: AtomicI64::new(0),
            peak_bytes: AtomicI64::new(0),
        }
    }

    #[inline(always)]
    fn counters(&self) -> &ThreadCounters {
        self.threads.get(current_ordinal()).unwrap_or(&self.shared)
    }

    /// Records an allocation of `size` bytes.
    #[inline(always)]
    fn on_alloc(&self, size: u64) {
        let Some(c) = self.threads.get(current_ordinal()) else {
            return self.on_shared(&self.shared.allocations, size, 0);
        };
        bump(&c.allocations, 1);
        self.move_live(c, size as i64);
    }

    /// Records a free of `size` bytes.
    #[inline(always)]
    fn on_free(&self, size: u64) {
        let Some(c) = self.threads.get(current_ordinal()) else {
            return self.on_shared(&self.shared.deallocations, 0, size);
        };
        bump(&c.deallocations, 1);
        bump(&c.bytes_freed, size);
        self.move_live(c, -(size as i64));
    }

    /// Records a reallocation from `old` to `new` bytes.
    #[inline(always)]
    fn on_realloc(&self, old: u64, new: u64) {
        let Some(c) = self.threads.get(current_ordinal()) else {
            return self.on_shared(&self.shared.reallocations, new, old);
        };
        bump(&c.reallocations, 1);
        bump(&c.bytes_freed, old);
        self.move_live(c, new as i64 - old as i64);
    }

    /// Moves a thread's live bytes; publishes when they drift far enough.
    #[inline(always)]
    fn move_live(&self, c: &ThreadCounters, delta: i64) {
        let live = c.live.load(Relaxed) + delta;
        c.live.store(live, Relaxed);
        if live > c.peak_live.load(Relaxed) {
            c.peak_live.store(live, Relaxed);
        }
        let unpublished = live - c.published_live.load(Relaxed);
        if !(-PEAK_GRANULARITY_BYTES..PEAK_GRANULARITY_BYTES).contains(&unpublished) {
            c.published_live.store(live, Relaxed);
            self.publish(unpublished);
        }
    }

    /// The slow path for threads without a slot: atomic read-modify-writes.
    #[cold]
    fn on_shared(&self, count: &AtomicU64, allocated: u64, freed: u64) {
        let c = &self.shared;
        count.fetch_add(1, Relaxed);
        c.bytes_freed.fetch_add(freed, Relaxed);
        c.live.fetch_add(allocated as i64 - freed as i64, Relaxed);
        self.publish(allocated as i64 - freed as i64);
    }

    #[cold]
    fn publish(&self, delta: i64) {
        let live = self.published_live.fetch_add(delta, Relaxed) + delta;
        self.peak_bytes.fetch_max(live, Relaxed);
    }

    /// A snapshot of the process-wide counters; O([`MAX_TRACKED_THREADS`]).
    pub fn snapshot(&self) -> AllocStats {
        let mut s = AllocStats::default();
        for c in self.threads.iter().chain(std::iter::once(&self.shared)) {
            s.allocations += c.allocations.load(Relaxed);
            s.deallocations += c.deallocations.load(Relaxed);
            s.reallocations += c.reallocations.load(Relaxed);
            s.bytes_allocated += Self::allocated_bytes(c);
            s.bytes_freed += c.bytes_freed.load(Relaxed);
        }
        s.live_bytes = s.bytes_allocated.saturating_sub(s.bytes_freed);
        s.live_allocations = s.allocations.saturating_sub(s.deallocations);
        let peak = self.peak_bytes.load(Relaxed).max(0) as u64;
        s.peak_bytes = peak.max(s.live_bytes);
        s
    }

    /// Starts a new peak from the bytes live now.
    pub fn reset_peak(&self) {
        let live = self.snapshot().live_bytes;
        self.peak_bytes
            .store(i64::try_from(live).unwrap_or(i64::MAX), Relaxed);
    }

    /// Runs `f` and returns what it allocated on this thread. Other threads'
    /// allocations are not counted, so tests running in parallel do not
    /// disturb each other. (Threads beyond [`MAX_TRACKED_THREADS`] share one
    /// slot, and see each other's counts in it.) Nested calls restart the
    /// outer call's peak.
    pub fn measure<R>(&self, f: impl FnOnce() -> R) -> (R, AllocDelta) {
        let c = self.counters();
        let before = Self::read(c);
        let live_before = c.live();
        c.peak_live.store(live_before, Relaxed);
        let result = f();
        let c = self.counters();
        let after = Self::read(c);
        let delta = AllocDelta {
            allocations: after.0 - before.0,
            deallocations: after.1 - before.1,
            reallocations: after.2 - before.2,
            bytes_allocated: after.3 - before.3,
            bytes_freed: after.4 - before.4,
            peak_bytes: (c.peak_live.load(Relaxed) - live_before).max(0) as u64,
        };
        (result, delta)
    }

    /// Bytes ever allocated through `c`: what is live plus what was freed.
    fn allocated_bytes(c: &ThreadCounters) -> u64 {
        (c.live.load(Relaxed) + c.bytes_freed.load(Relaxed) as i64) as u64
    }

    fn read(c: &ThreadCounters) -> (u64, u64, u64, u64, u64) {
        (
            c.allocations.load(Relaxed),
            c.deallocations.load(Relaxed),
            c.reallocations.load(Relaxed),
            Self::allocated_bytes(c),
            c.bytes_freed.load(Relaxed),
        )
    }
}

// SAFETY: every call is forwarded to `inner` unchanged; counting only reads
// the layout and the result, and allocates nothing itself.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            self.on_alloc(layout.size() as u64);
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.on_alloc(layout.size() as u64);
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.inner.dealloc(ptr, layout) };
        self.on_free(layout.size() as u64);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.on_realloc(layout.size() as u64, new_size as u64);
        }
        new
    }
}

impl<A> fmt::Debug for CountingAlloc<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingAlloc")
            .field("stats", &self.snapshot())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(n: usize) -> Layout {
        Layout::from_size_align(n, 8).expect("valid layout")
    }

    #[test]
    fn measure_counts_this_threads_allocations_and_peak() {
        let counting = CountingAlloc::system();
        // SAFETY: each block is freed once, with the layout it was allocated with.
        let ((), delta) = counting.measure(|| unsafe {
            let a = counting.alloc(layout(100));
            let b = counting.alloc(layout(300));
            counting.dealloc(a, layout(100));
            let b = counting.realloc(b, layout(300), 500);
            counting.dealloc(b, layout(500));
        });
        assert_eq!(
            delta,
            AllocDelta {
                allocations: 2,
                deallocations: 2,
                reallocations: 1,
                bytes_allocated: 900,
                bytes_freed: 900,
                peak_bytes: 500,
            }
        );
        assert_eq!(counting.snapshot().live_bytes, 0);
    }

    #[test]
    fn snapshot_adds_up_every_thread() {
        let counting = std::sync::Arc::new(CountingAlloc::system());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counting = counting.clone();
                // SAFETY: blocks are freed with their own layouts; the last
                // one is freed by the main thread below.
                std::thread::spawn(move || unsafe {
                    for _ in 0..1000 {
                        let p = counting.alloc(layout(64));
                        counting.dealloc(p, layout(64));
                    }
                    // leave one block live per thread, freed below
                    counting.alloc(layout(1 << 20)) as usize
                })
            })
            .collect();
        let live: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let s = counting.snapshot();
        assert_eq!(s.allocations, 4 * 1001);
        assert_eq!(s.deallocations, 4000);
        assert_eq!(s.live_bytes, 4 << 20);
        assert!(s.peak_bytes >= 4 << 20, "peak {} below live", s.peak_bytes);
        for p in live {
            // SAFETY: allocated by a worker above with this layout, freed once.
            unsafe { counting.dealloc(p as *mut u8, layout(1 << 20)) };
        }
        assert_eq!(counting.snapshot().live_bytes, 0);
    }
}
