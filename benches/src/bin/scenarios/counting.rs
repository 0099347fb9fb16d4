//! The scenarios binary's global allocator: ballast's `CountingAlloc`,
//! switched on only for native runs.
//!
//! `scenarios run` counts allocations, bytes and peak live bytes per
//! scenario; under callgrind (`scenarios bare`) the switch stays off so the
//! instruction counts are those of the system allocator alone, plus one
//! relaxed load and a branch per call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use ballast_alloc::{AllocDelta, AllocStats, CountingAlloc};

/// `System`, counted by a `CountingAlloc` while [`enable`] is on.
pub(crate) struct Switched {
    counting: CountingAlloc,
    on: AtomicBool,
}

#[global_allocator]
static ALLOC: Switched = Switched {
    counting: CountingAlloc::system(),
    on: AtomicBool::new(false),
};

/// Counts every allocation from now on (never switched off again, so no
/// block counted in is freed uncounted).
pub(crate) fn enable() {
    ALLOC.on.store(true, Relaxed);
}

/// The process-wide counters.
pub(crate) fn snapshot() -> AllocStats {
    ALLOC.counting.snapshot()
}

/// Runs `f`, returning what it allocated on this thread (peak exact).
pub(crate) fn measure(f: impl FnOnce()) -> AllocDelta {
    ALLOC.counting.measure(f).1
}

// SAFETY: every call goes to `System` unchanged, through the counting
// wrapper when switched on; the switch never goes back off, so a block is
// freed by the allocator family that allocated it (both end in `System`).
unsafe impl GlobalAlloc for Switched {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.on.load(Relaxed) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { self.counting.alloc(layout) }
        } else {
            // SAFETY: as above.
            unsafe { System.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if self.on.load(Relaxed) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { self.counting.alloc_zeroed(layout) }
        } else {
            // SAFETY: as above.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.on.load(Relaxed) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { self.counting.dealloc(ptr, layout) }
        } else {
            // SAFETY: as above.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.on.load(Relaxed) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { self.counting.realloc(ptr, layout, new_size) }
        } else {
            // SAFETY: as above.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}
