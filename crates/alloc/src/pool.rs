//! [`FixedPool`]: a single-threaded pool of pre-allocated slots.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

use crate::{Error, PoolExhausted};

/// The largest number of slots a pool accepts (indices are 32-bit).
pub const MAX_POOL_CAPACITY: usize = (u32::MAX - 1) as usize;

const NIL: u32 = u32::MAX;

/// Counters a pool keeps; a plain snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Slots in the pool.
    pub capacity: usize,
    /// Slots holding a value now.
    pub in_use: usize,
    /// The most slots ever in use at once.
    pub peak_in_use: usize,
    /// Successful allocations.
    pub allocations: u64,
    /// Allocations served by a slot that had been used and freed before.
    pub reuses: u64,
    /// Allocations refused because every slot was in use.
    pub exhaustions: u64,
}

/// A key to a value stored with [`FixedPool::insert`].
///
/// Keys are generation-checked: once the value is removed, the key (and any
/// copy of it) no longer finds anything, even when the slot is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolKey {
    index: u32,
    generation: u32,
}

struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    /// Odd while the slot holds a value, even while it is free; bumped on
    /// every allocation and every free, so stale keys never match.
    generation: Cell<u32>,
    next_free: Cell<u32>,
}

/// A pool of `capacity` slots allocated once, with O(1) allocation and free
/// through an intrusive free list.
///
/// Two ways in:
///
/// - [`alloc`](Self::alloc) returns a [`Pooled`] handle that derefs to the
///   value and returns the slot when dropped. The handle borrows the pool,
///   so it cannot outlive it: no use after free, no double free.
/// - [`insert`](Self::insert) returns a generation-checked [`PoolKey`], as
///   `slab` does, for values referred to from elsewhere.
///
/// `FixedPool` is for one thread (it is `Send`, not `Sync`); share
/// [`SyncPool`](crate::SyncPool) across threads.
///
/// ```
/// use ballast_alloc::FixedPool;
///
/// let pool = FixedPool::<[u8; 64]>::new(2)?;
/// let a = pool.alloc([1; 64]).expect("a slot is free");
/// let b = pool.alloc([2; 64]).expect("a slot is free");
/// assert!(pool.alloc([3; 64]).is_err()); // exhausted, the value comes back
/// drop(a);
/// let c = pool.alloc([3; 64]).expect("a's slot was returned");
/// assert_eq!(c[0] + b[0], 5);
/// assert_eq!(pool.stats().exhaustions, 1);
/// # Ok::<(), ballast_alloc::Error>(())
/// ```
///
/// A handle cannot outlive its pool, so a freed pool is never touched:
///
/// ```compile_fail,E0597
/// use ballast_alloc::FixedPool;
///
/// let handle = {
///     let pool = FixedPool::new(1).unwrap();
///     pool.alloc(5u32).unwrap()
/// }; // error: `pool` does not live long enough
/// ```
pub struct FixedPool<T> {
    slots: Box<[Slot<T>]>,
    free_head: Cell<u32>,
    /// Slots below this index have been used at least once.
    touched: Cell<u32>,
    in_use: Cell<usize>,
    peak_in_use: Cell<usize>,
    /// Allocations from the free list; the others are `touched`.
    reuses: Cell<u64>,
    exhaustions: Cell<u64>,
}

impl<T> FixedPool<T> {
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
                generation: Cell::new(0),
                next_free: Cell::new(NIL),
            })
            .collect();
        Ok(Self {
            slots,
            free_head: Cell::new(NIL),
            touched: Cell::new(0),
            in_use: Cell::new(0),
            peak_in_use: Cell::new(0),
            reuses: Cell::new(0),
            exhaustions: Cell::new(0),
        })
    }

    /// Takes a free slot index, preferring recently freed (cache-warm) slots.
    #[inline(always)]
    fn take_slot(&self) -> Option<u32> {
        let head = self.free_head.get();
        let index = if head != NIL {
            let slot = self.slot(head);
            self.free_head.set(slot.next_free.get());
            self.reuses.set(self.reuses.get() + 1);
            head
        } else {
            let fresh = self.touched.get();
            if fresh as usize == self.slots.len() {
                self.exhaustions.set(self.exhaustions.get() + 1);
                return None;
            }
            self.touched.set(fresh + 1);
            fresh
        };
        let in_use = self.in_use.get() + 1;
        debug_assert!(
            in_use <= self.touched.get() as usize,
            "{in_use} slots in use but only {} ever touched",
            self.touched.get()
        );
        self.in_use.set(in_use);
        if in_use > self.peak_in_use.get() {
            self.peak_in_use.set(in_use);
        }
        Some(index)
    }

    /// The slot at `index`, which came from the free list or `touched`.
    #[inline(always)]
    fn slot(&self, index: u32) -> &Slot<T> {
        debug_assert!(
            (index as usize) < self.slots.len(),
            "slot index out of range"
        );
        // SAFETY: indices are only ever taken from the free list or below
        // `touched`, both of which hold indices below `slots.len()`, and
        // handles carry such an index; keys are checked with `get` instead.
        unsafe { self.slots.get_unchecked(index as usize) }
    }

    #[inline(always)]
    fn store(&self, value: T) -> Result<u32, PoolExhausted<T>> {
        let Some(index) = self.take_slot() else {
            return Err(PoolExhausted {
                value,
                capacity: self.slots.len(),
            });
        };
        let slot = self.slot(index);
        // SAFETY: the slot came off the free list (or was never used), so no
        // handle or key refers to its value; `FixedPool` is not `Sync`.
        unsafe { (*slot.value.get()).write(value) };
        slot.generation.set(slot.generation.get().wrapping_add(1));
        Ok(index)
    }

    /// Stores `value` in a free slot and returns a handle to it.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] carrying `value` back when every slot is in use.
    #[inline]
    pub fn alloc(&self, value: T) -> Result<Pooled<'_, T>, PoolExhausted<T>> {
        let index = self.store(value)?;
        Ok(Pooled { pool: self, index })
    }

    /// Stores `value` and returns a key to it (the value stays until
    /// [`remove`](Self::remove)).
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] carrying `value` back when every slot is in use.
    #[inline]
    pub fn insert(&self, value: T) -> Result<PoolKey, PoolExhausted<T>> {
        let index = self.store(value)?;
        let generation = self.slots[index as usize].generation.get();
        Ok(PoolKey { index, generation })
    }

    #[inline(always)]
    fn slot_for(&self, key: PoolKey) -> Option<&Slot<T>> {
        let slot = self.slots.get(key.index as usize)?;
        (slot.generation.get() == key.generation && key.generation & 1 == 1).then_some(slot)
    }

    /// The value behind `key`, or `None` once it has been removed.
    #[inline]
    pub fn get(&self, key: PoolKey) -> Option<&T> {
        let slot = self.slot_for(key)?;
        // SAFETY: the generation matches and is odd, so the slot holds the
        // value stored with this key; `&self` keeps `remove` away.
        Some(unsafe { (*slot.value.get()).assume_init_ref() })
    }

    /// The value behind `key`, mutably, or `None` once it has been removed.
    #[inline]
    pub fn get_mut(&mut self, key: PoolKey) -> Option<&mut T> {
        let slot = self.slot_for(key)?;
        // SAFETY: as in `get`; `&mut self` makes the access exclusive.
        Some(unsafe { (*slot.value.get()).assume_init_mut() })
    }

    /// Removes and returns the value behind `key`; `None` if it was already
    /// removed (a stale key never removes another value).
    #[inline]
    pub fn remove(&mut self, key: PoolKey) -> Option<T> {
        self.slot_for(key)?;
        // SAFETY: the key is live, and `&mut self` means no handle exists.
        Some(unsafe { self.release(key.index) })
    }

    /// Moves the value out of slot `index` and puts the slot on the free list.
    ///
    /// # Safety
    ///
    /// The slot must hold a value that nothing else refers to.
    #[inline(always)]
    unsafe fn release(&self, index: u32) -> T {
        // SAFETY: guaranteed by the caller.
        let value = unsafe { (*self.slot(index).value.get()).assume_init_read() };
        self.free_slot(index);
        value
    }

    /// Puts slot `index` on the free list (its value must be gone).
    #[inline(always)]
    fn free_slot(&self, index: u32) {
        let slot = self.slot(index);
        debug_assert!(
            slot.generation.get() & 1 == 1,
            "freeing slot {index}, which holds no value"
        );
        debug_assert!(self.in_use.get() > 0, "freeing a slot of an empty pool");
        debug_assert!(index < self.touched.get(), "freeing untouched slot {index}");
        slot.generation.set(slot.generation.get().wrapping_add(1));
        slot.next_free.set(self.free_head.get());
        self.free_head.set(index);
        self.in_use.set(self.in_use.get() - 1);
    }

    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Slots holding a value now.
    pub fn in_use(&self) -> usize {
        self.in_use.get()
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            capacity: self.slots.len(),
            in_use: self.in_use.get(),
            peak_in_use: self.peak_in_use.get(),
            allocations: self.reuses.get() + u64::from(self.touched.get()),
            reuses: self.reuses.get(),
            exhaustions: self.exhaustions.get(),
        }
    }
}

impl<T> Drop for FixedPool<T> {
    fn drop(&mut self) {
        // Handles borrow the pool, so only keyed values can remain.
        for slot in self.slots.iter_mut() {
            if slot.generation.get() & 1 == 1 {
                // SAFETY: an odd generation means the slot holds a value.
                unsafe { slot.value.get_mut().assume_init_drop() };
            }
        }
    }
}

impl<T> fmt::Debug for FixedPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedPool")
            .field("stats", &self.stats())
            .finish()
    }
}

/// A value in a [`FixedPool`] slot; the slot is returned when this drops.
pub struct Pooled<'a, T> {
    pool: &'a FixedPool<T>,
    index: u32,
}

impl<T> Pooled<'_, T> {
    /// Takes the value out and frees the slot.
    pub fn into_inner(self) -> T {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the handle owns the slot's value; it is consumed here, so
        // its destructor will not release the slot a second time.
        unsafe { this.pool.release(this.index) }
    }
}

impl<T> Deref for Pooled<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        let slot = self.pool.slot(self.index);
        // SAFETY: the handle owns the slot, which holds a value until drop.
        unsafe { (*slot.value.get()).assume_init_ref() }
    }
}

impl<T> DerefMut for Pooled<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        let slot = self.pool.slot(self.index);
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive:
        // no other handle or key refers to this slot.
        unsafe { (*slot.value.get()).assume_init_mut() }
    }
}

impl<T> Drop for Pooled<'_, T> {
    #[inline]
    fn drop(&mut self) {
        let slot = self.pool.slot(self.index);
        // SAFETY: the handle owns the slot's value and is going away. The
        // value is dropped in place, then the slot is freed (even if the
        // value's destructor panics, the slot is not reused with it alive:
        // a panic here leaks the slot instead).
        unsafe { (*slot.value.get()).assume_init_drop() };
        self.pool.free_slot(self.index);
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&**self).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_capacity_is_rejected() {
        assert!(matches!(FixedPool::<u8>::new(0), Err(Error::ZeroCapacity)));
    }

    #[test]
    fn exhaustion_hands_the_value_back() {
        let pool = FixedPool::new(1).unwrap();
        let _a = pool.alloc(String::from("a")).unwrap();
        let err = pool.alloc(String::from("b")).unwrap_err();
        assert_eq!(err.capacity(), 1);
        assert_eq!(err.into_inner(), "b");
    }

    #[test]
    fn dropping_a_handle_returns_its_slot_and_drops_the_value() {
        let marker = std::rc::Rc::new(());
        let pool = FixedPool::new(1).unwrap();
        let h = pool.alloc(marker.clone()).unwrap();
        assert_eq!(std::rc::Rc::strong_count(&marker), 2);
        drop(h);
        assert_eq!(std::rc::Rc::strong_count(&marker), 1);
        assert_eq!(pool.in_use(), 0);
        assert!(pool.alloc(marker.clone()).is_ok());
    }

    #[test]
    fn stale_keys_find_nothing_after_the_slot_is_reused() {
        let mut pool = FixedPool::new(1).unwrap();
        let old = pool.insert(1u32).unwrap();
        assert_eq!(pool.remove(old), Some(1));
        let new = pool.insert(2u32).unwrap();
        assert_eq!(old.index, new.index, "the single slot is reused");
        assert_eq!(pool.get(old), None);
        assert_eq!(pool.remove(old), None);
        assert_eq!(pool.get(new), Some(&2));
    }

    #[test]
    fn stats_count_allocations_reuses_peak_and_exhaustions() {
        let pool = FixedPool::new(2).unwrap();
        let a = pool.alloc(1).unwrap();
        let b = pool.alloc(2).unwrap();
        assert!(pool.alloc(3).is_err());
        drop(a);
        let c = pool.alloc(4).unwrap();
        drop((b, c));
        let stats = pool.stats();
        assert_eq!(
            stats,
            PoolStats {
                capacity: 2,
                in_use: 0,
                peak_in_use: 2,
                allocations: 3,
                reuses: 1,
                exhaustions: 1
            }
        );
    }

    #[test]
    fn keyed_values_are_dropped_with_the_pool() {
        let marker = std::rc::Rc::new(());
        let pool = FixedPool::new(3).unwrap();
        pool.insert(marker.clone()).unwrap();
        pool.insert(marker.clone()).unwrap();
        drop(pool);
        assert_eq!(std::rc::Rc::strong_count(&marker), 1);
    }

    #[test]
    fn into_inner_frees_the_slot_once() {
        let pool = FixedPool::new(1).unwrap();
        let h = pool.alloc(String::from("x")).unwrap();
        assert_eq!(h.into_inner(), "x");
        assert_eq!(pool.in_use(), 0);
        let _again = pool.alloc(String::from("y")).unwrap();
        assert_eq!(pool.in_use(), 1);
    }
}
