//! [`SyncPool`]: a fixed pool shared across threads, lock-free and ABA-safe.

use std::fmt;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

use crate::loom::{AtomicBool, AtomicU32, AtomicU64, Ordering, UnsafeCell};
use crate::pool::{MAX_POOL_CAPACITY, PoolStats};
use crate::{Error, PoolExhausted};

const NIL: u32 = u32::MAX;

/// Packs a free-list head: the tag in the high half, the index in the low.
#[inline(always)]
fn pack(tag: u32, index: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(index)
}

#[inline(always)]
fn unpack(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    next_free: AtomicU32,
    /// Allocations served by this slot; written only by its current owner.
    allocations: AtomicU64,
    occupied: AtomicBool,
}

/// A pool of `capacity` pre-allocated slots shared across threads.
///
/// The free list is a Treiber stack whose head packs a 32-bit tag beside the
/// 32-bit slot index in one `AtomicU64`; every successful pop or push bumps
/// the tag, so a thread that read a stale head fails its compare-and-swap
/// instead of corrupting the list (the ABA problem). Slots are never freed
/// while the pool lives, so reading a stale slot's link is always safe.
///
/// An allocation costs one compare-and-swap and a free one more; counters
/// live in the slots (written only by the slot's owner) so statistics add
/// no shared write to the hot path. Fresh slots are handed out only when the
/// free list is empty, which makes `peak_in_use` the number of slots ever
/// touched (exact single-threaded; under contention it may exceed the true
/// peak by the number of racing threads).
///
/// ```
/// use ballast_alloc::SyncPool;
/// use std::sync::Arc;
///
/// # if ballast_alloc::LOOM_BUILD { return Ok(()); }
/// let pool = Arc::new(SyncPool::new(8)?);
/// std::thread::scope(|s| {
///     for t in 0..4u64 {
///         let pool = &pool;
///         s.spawn(move || {
///             for i in 0..1000 {
///                 if let Ok(mut v) = pool.alloc(t * 1000 + i) {
///                     *v += 1;
///                 }
///             }
///         });
///     }
/// });
/// assert_eq!(pool.stats().in_use, 0);
/// # Ok::<(), ballast_alloc::Error>(())
/// ```
pub struct SyncPool<T> {
    slots: Box<[Slot<T>]>,
    free_head: AtomicU64,
    /// Slots below this index have been used at least once.
    touched: AtomicU32,
    exhaustions: AtomicU64,
}

// SAFETY: values move between threads through the pool (T: Send); a slot's
// value is reached only by the one thread that popped the slot off the free
// list, until it pushes it back.
unsafe impl<T: Send> Send for SyncPool<T> {}
// SAFETY: as above; shared access only hands out exclusive slots.
unsafe impl<T: Send> Sync for SyncPool<T> {}

impl<T> SyncPool<T> {
    /// Creates a pool of `capacity` slots, allocating them all now.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroCapacity`] for 0, [`Error::CapacityOverflow`] above
    /// [`MAX_POOL_CAPACITY`].
    pub fn new(capacity: usize) -> Result<Self, Error> {
        crate::error::check_capacity(capacity, MAX_POOL_CAPACITY)?;
        let slots = (0..capacity)
            .map(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                next_free: AtomicU32::new(NIL),
                allocations: AtomicU64::new(0),
                occupied: AtomicBool::new(false),
            })
            .collect();
        Ok(Self {
            slots,
            free_head: AtomicU64::new(pack(0, NIL)),
            touched: AtomicU32::new(0),
            exhaustions: AtomicU64::new(0),
        })
    }

    /// Pops a slot off the free list, or takes a never-used one.
    #[inline(always)]
    fn take_slot(&self) -> Option<u32> {
        let mut head = self.free_head.load(Ordering::Acquire);
        loop {
            let (tag, index) = unpack(head);
            if index == NIL {
                return self.take_fresh_slot();
            }
            // The slot may be popped and pushed by others meanwhile; then
            // `next` is stale, but the tag has moved and the CAS fails.
            let next = self.slots[index as usize].next_free.load(Ordering::Relaxed);
            match self.free_head.compare_exchange_weak(
                head,
                pack(tag.wrapping_add(1), next),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(index),
                Err(current) => head = current,
            }
        }
    }

    #[cold]
    fn take_fresh_slot(&self) -> Option<u32> {
        let capacity = self.slots.len() as u32;
        let taken = self
            .touched
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t < capacity).then_some(t + 1)
            });
        match taken {
            Ok(index) => Some(index),
            Err(_) => {
                // The free list was empty a moment ago and every slot is
                // touched; one more look at the list before giving up.
                let (_, index) = unpack(self.free_head.load(Ordering::Acquire));
                if index != NIL {
                    return self.take_slot();
                }
                self.exhaustions.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Pushes slot `index` back on the free list.
    #[inline(always)]
    fn put_slot(&self, index: u32) {
        let slot = &self.slots[index as usize];
        debug_assert!(
            index < self.touched.load(Ordering::Relaxed),
            "returning untouched slot {index} to the free list"
        );
        debug_assert!(
            !slot.occupied.load(Ordering::Relaxed),
            "returning slot {index} while it still holds a value"
        );
        let mut head = self.free_head.load(Ordering::Relaxed);
        loop {
            let (tag, top) = unpack(head);
            slot.next_free.store(top, Ordering::Relaxed);
            match self.free_head.compare_exchange_weak(
                head,
                pack(tag.wrapping_add(1), index),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    #[inline(always)]
    fn store(&self, value: T) -> Result<u32, PoolExhausted<T>> {
        let Some(index) = self.take_slot() else {
            return Err(PoolExhausted {
                value,
                capacity: self.slots.len(),
            });
        };
        let slot = &self.slots[index as usize];
        debug_assert!(
            !slot.occupied.load(Ordering::Relaxed),
            "slot {index} handed out twice"
        );
        // SAFETY: the slot was popped by this thread alone (successful CAS),
        // and its previous owner's writes happen-before (release push,
        // acquire pop), so the access is exclusive.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // Owner-only counters: a plain load and store, no locked instruction.
        let n = slot.allocations.load(Ordering::Relaxed);
        slot.allocations.store(n + 1, Ordering::Relaxed);
        slot.occupied.store(true, Ordering::Relaxed);
        Ok(index)
    }

    /// Stores `value` in a free slot and returns a handle to it.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] carrying `value` back when every slot is in use.
    #[inline]
    pub fn alloc(&self, value: T) -> Result<SyncPooled<'_, T>, PoolExhausted<T>> {
        let index = self.store(value)?;
        Ok(SyncPooled { pool: self, index })
    }

    /// Like [`alloc`](Self::alloc) but the handle keeps the pool alive
    /// through an `Arc`, so it can be sent anywhere (`'static`).
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] carrying `value` back when every slot is in use.
    pub fn alloc_owned(
        self: &std::sync::Arc<Self>,
        value: T,
    ) -> Result<OwnedPooled<T>, PoolExhausted<T>> {
        let index = self.store(value)?;
        Ok(OwnedPooled {
            pool: std::sync::Arc::clone(self),
            index,
        })
    }

    /// Moves the value out of slot `index` and frees the slot.
    ///
    /// # Safety
    ///
    /// The caller must own the slot (hold the handle that took it).
    #[inline(always)]
    unsafe fn release(&self, index: u32) -> T {
        let slot = &self.slots[index as usize];
        // SAFETY: guaranteed by the caller.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.occupied.store(false, Ordering::Relaxed);
        self.put_slot(index);
        value
    }

    #[inline(always)]
    fn value_ptr(&self, index: u32) -> *mut T {
        self.slots[index as usize].value.with_mut(|p| p.cast::<T>())
    }

    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// A snapshot of the pool's counters; reads every slot, so it costs
    /// O(capacity) and is only approximate while other threads are working.
    pub fn stats(&self) -> PoolStats {
        let mut stats = PoolStats {
            capacity: self.slots.len(),
            peak_in_use: self.touched.load(Ordering::Relaxed) as usize,
            exhaustions: self.exhaustions.load(Ordering::Relaxed),
            ..PoolStats::default()
        };
        for slot in self.slots.iter() {
            let n = slot.allocations.load(Ordering::Relaxed);
            stats.allocations += n;
            stats.reuses += n.saturating_sub(1);
            stats.in_use += usize::from(slot.occupied.load(Ordering::Relaxed));
        }
        stats
    }
}

impl<T> Drop for SyncPool<T> {
    fn drop(&mut self) {
        // Handles borrow the pool or hold an Arc to it, so none is alive.
        for slot in self.slots.iter() {
            if slot.occupied.load(Ordering::Relaxed) {
                // SAFETY: unreachable in practice (handles free on drop and
                // keep the pool alive); kept so a leaked handle's value is
                // still dropped exactly once by the pool.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

impl<T> fmt::Debug for SyncPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncPool")
            .field("capacity", &self.slots.len())
            .finish_non_exhaustive()
    }
}

macro_rules! pooled_handle {
    ($name:ident $(<$lt:lifetime>)?, $pool:ty, $doc:literal) => {
        #[doc = $doc]
        pub struct $name<$($lt,)? T> {
            pool: $pool,
            index: u32,
        }

        impl<$($lt,)? T> $name<$($lt,)? T> {
            /// Takes the value out and frees the slot.
            pub fn into_inner(self) -> T {
                let this = std::mem::ManuallyDrop::new(self);
                // SAFETY: the handle owns the slot; consumed here, so its
                // destructor will not release the slot again.
                let value = unsafe { this.pool.release(this.index) };
                // SAFETY: `pool` is read out once and then forgotten with `this`,
                // so an owned Arc is dropped exactly once (at the end of scope).
                let _pool = unsafe { std::ptr::read(&this.pool) };
                value
            }
        }

        impl<$($lt,)? T> Deref for $name<$($lt,)? T> {
            type Target = T;
            #[inline]
            fn deref(&self) -> &T {
                // SAFETY: the handle owns the slot, which holds a value.
                unsafe { &*self.pool.value_ptr(self.index) }
            }
        }

        impl<$($lt,)? T> DerefMut for $name<$($lt,)? T> {
            #[inline]
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: the handle owns the slot exclusively.
                unsafe { &mut *self.pool.value_ptr(self.index) }
            }
        }

        impl<$($lt,)? T> Drop for $name<$($lt,)? T> {
            #[inline]
            fn drop(&mut self) {
                // SAFETY: the handle owns the slot's value and is going away.
                drop(unsafe { self.pool.release(self.index) });
            }
        }

        impl<$($lt,)? T: fmt::Debug> fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&**self).finish()
            }
        }
    };
}

pooled_handle!(
    SyncPooled<'a>,
    &'a SyncPool<T>,
    "A value in a [`SyncPool`] slot, borrowed from the pool; the slot is returned on drop."
);
pooled_handle!(
    OwnedPooled,
    std::sync::Arc<SyncPool<T>>,
    "A value in a [`SyncPool`] slot that keeps the pool alive; the slot is returned on drop."
);

// SAFETY: a handle gives exclusive access to one `T` and frees through the
// lock-free list, so it may move to another thread when `T: Send`.
unsafe impl<T: Send> Send for SyncPooled<'_, T> {}
// SAFETY: `&handle` only gives `&T`.
unsafe impl<T: Send + Sync> Sync for SyncPooled<'_, T> {}
// SAFETY: as for `SyncPooled`.
unsafe impl<T: Send> Send for OwnedPooled<T> {}
// SAFETY: as for `SyncPooled`.
unsafe impl<T: Send + Sync> Sync for OwnedPooled<T> {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_hands_the_value_back_and_is_counted() {
        let pool = SyncPool::new(1).unwrap();
        let _a = pool.alloc(1u8).unwrap();
        assert_eq!(pool.alloc(2u8).unwrap_err().into_inner(), 2);
        assert_eq!(pool.stats().exhaustions, 1);
    }

    #[test]
    fn freed_slots_are_reused_first() {
        let pool = SyncPool::new(4).unwrap();
        let a = pool.alloc(1).unwrap();
        drop(a);
        let b = pool.alloc(2).unwrap();
        drop(b);
        let stats = pool.stats();
        assert_eq!(
            (stats.allocations, stats.reuses, stats.peak_in_use),
            (2, 1, 1)
        );
    }

    #[test]
    fn owned_handles_keep_the_pool_alive_and_drop_values_once() {
        let marker = std::sync::Arc::new(());
        let pool = std::sync::Arc::new(SyncPool::new(2).unwrap());
        let h = pool.alloc_owned(marker.clone()).unwrap();
        drop(pool);
        let moved = std::thread::spawn(move || h.into_inner()).join().unwrap();
        assert_eq!(std::sync::Arc::strong_count(&marker), 2);
        drop(moved);
        assert_eq!(std::sync::Arc::strong_count(&marker), 1);
    }
}
