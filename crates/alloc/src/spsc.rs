//! [`SpscRing`]: a bounded lock-free single-producer/single-consumer queue.

use std::fmt;
use std::mem::MaybeUninit;

use crate::Error;
use crate::loom::{Arc, AtomicUsize, CachePadded, Ordering, UnsafeCell};

/// The largest capacity an [`SpscRing`] accepts.
pub const MAX_SPSC_CAPACITY: usize = 1 << 40;

/// A bounded lock-free queue for exactly one producer thread and one
/// consumer thread, split into a [`Producer`] and a [`Consumer`] handle.
///
/// Positions are monotonically increasing counters; each side keeps a cached
/// copy of the other side's position and reloads it (one acquire load) only
/// when the cache says the queue is full or empty, so a push or pop in the
/// steady state touches no shared cache line except the slot itself. Batch
/// operations publish once per batch.
///
/// ```
/// use ballast_alloc::SpscRing;
///
/// # if ballast_alloc::LOOM_BUILD { return Ok(()); }
/// let (mut tx, mut rx) = SpscRing::new(1024)?;
/// let producer = std::thread::spawn(move || {
///     for i in 0..10_000u64 {
///         while tx.push(i).is_err() {
///             std::hint::spin_loop();
///         }
///     }
/// });
/// let mut expected = 0u64;
/// while expected < 10_000 {
///     if let Some(v) = rx.pop() {
///         assert_eq!(v, expected);
///         expected += 1;
///     }
/// }
/// producer.join().unwrap();
/// # Ok::<(), ballast_alloc::Error>(())
/// ```
pub struct SpscRing<T> {
    _items: std::marker::PhantomData<fn() -> T>,
}

impl<T> SpscRing<T> {
    /// Creates a queue holding up to `capacity` items and returns its two
    /// ends. All slots are allocated now; the queue never reallocates.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroCapacity`] for 0, [`Error::CapacityOverflow`] above
    /// [`MAX_SPSC_CAPACITY`].
    #[allow(clippy::new_ret_no_self)]
    pub fn new(capacity: usize) -> Result<(Producer<T>, Consumer<T>), Error> {
        crate::error::check_capacity(capacity, MAX_SPSC_CAPACITY)?;
        let slots = capacity.next_power_of_two();
        let buf: Box<[UnsafeCell<MaybeUninit<T>>]> = (0..slots)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        let shared = Arc::new(Shared {
            head: CachePadded(AtomicUsize::new(0)),
            tail: CachePadded(AtomicUsize::new(0)),
            buf,
            mask: slots - 1,
            capacity,
        });
        let producer = Producer {
            shared: shared.clone(),
            tail: 0,
            cached_head: 0,
        };
        let consumer = Consumer {
            shared,
            head: 0,
            cached_tail: 0,
        };
        Ok((producer, consumer))
    }
}

struct Shared<T> {
    /// Consumer position: items before it have been taken.
    head: CachePadded<AtomicUsize>,
    /// Producer position: items before it have been published.
    tail: CachePadded<AtomicUsize>,
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
    capacity: usize,
}

// SAFETY: items move from the producer thread to the consumer thread, so
// `T: Send` is required and sufficient; each slot is accessed by one side
// at a time, as ordered by the head/tail acquire/release pairs.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; the handles, not `Shared`, hand out access to slots.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    #[inline(always)]
    fn slot(&self, pos: usize) -> &UnsafeCell<MaybeUninit<T>> {
        // `mask` is `buf.len() - 1` and `buf.len()` is a power of two.
        &self.buf[pos & self.mask]
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both handles are gone: drop the items still queued.
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        for pos in head..tail {
            // SAFETY: slots in head..tail were written and never taken.
            self.slot(pos)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

/// The sending end of an [`SpscRing`].
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    tail: usize,
    cached_head: usize,
}

/// The receiving end of an [`SpscRing`].
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    head: usize,
    cached_tail: usize,
}

impl<T> Producer<T> {
    /// Free slots, reloading the consumer position only when needed.
    #[inline(always)]
    fn free_slots(&mut self, wanted: usize) -> usize {
        let cap = self.shared.capacity;
        let mut free = cap - (self.tail - self.cached_head);
        if free < wanted {
            self.cached_head = self.shared.head.load(Ordering::Acquire);
            free = cap - (self.tail - self.cached_head);
        }
        free
    }

    /// Appends `value`, or hands it back when the queue is full.
    ///
    /// # Errors
    ///
    /// `Err(value)` when all `capacity` slots are occupied.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.free_slots(1) == 0 {
            return Err(value);
        }
        // SAFETY: the slot at `tail` is free (the consumer has moved past it,
        // as the acquire load of `head` showed) and only the producer writes.
        self.shared
            .slot(self.tail)
            .with_mut(|p| unsafe { (*p).write(value) });
        self.tail += 1;
        self.shared.tail.store(self.tail, Ordering::Release);
        Ok(())
    }

    /// Pushes items from `items` while there is room, publishing them all at
    /// once; items that did not fit stay in the iterator. Returns the count.
    pub fn push_iter<I: Iterator<Item = T>>(&mut self, items: &mut I) -> usize {
        let free = self.free_slots(usize::MAX);
        let mut n = 0;
        while n < free {
            let Some(value) = items.next() else { break };
            // SAFETY: as in `push`; positions tail..tail+free are free.
            self.shared
                .slot(self.tail + n)
                .with_mut(|p| unsafe { (*p).write(value) });
            n += 1;
        }
        if n > 0 {
            self.tail += n;
            self.shared.tail.store(self.tail, Ordering::Release);
        }
        n
    }

    /// Copies as many items of `items` as fit and returns how many.
    pub fn push_slice(&mut self, items: &[T]) -> usize
    where
        T: Copy,
    {
        self.push_iter(&mut items.iter().copied())
    }

    /// The number of items that can be pushed before the queue is full
    /// (a lower bound: the consumer may be freeing more).
    pub fn slots(&mut self) -> usize {
        self.free_slots(usize::MAX)
    }

    /// The capacity given to [`SpscRing::new`].
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Whether the consumer has been dropped (nothing pushed will be read).
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) == 1
    }
}

impl<T> Consumer<T> {
    /// Readable items, reloading the producer position only when needed.
    #[inline(always)]
    fn ready(&mut self, wanted: usize) -> usize {
        let mut ready = self.cached_tail - self.head;
        if ready < wanted {
            self.cached_tail = self.shared.tail.load(Ordering::Acquire);
            ready = self.cached_tail - self.head;
        }
        ready
    }

    /// Takes the oldest item, if any.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.ready(1) == 0 {
            return None;
        }
        // SAFETY: the slot at `head` was published by the producer (release
        // store of `tail`, seen by our acquire load) and not yet taken.
        let value = self
            .shared
            .slot(self.head)
            .with(|p| unsafe { (*p).assume_init_read() });
        self.head += 1;
        self.shared.head.store(self.head, Ordering::Release);
        Some(value)
    }

    /// Takes up to `max` items in order, handing each to `sink`, and frees
    /// their slots at once. Returns the count.
    pub fn pop_batch(&mut self, max: usize, mut sink: impl FnMut(T)) -> usize {
        let n = self.ready(max).min(max);
        for i in 0..n {
            // SAFETY: as in `pop`; positions head..head+n are published.
            let value = self
                .shared
                .slot(self.head + i)
                .with(|p| unsafe { (*p).assume_init_read() });
            sink(value);
        }
        if n > 0 {
            self.head += n;
            self.shared.head.store(self.head, Ordering::Release);
        }
        n
    }

    /// Copies up to `out.len()` items into `out` and returns how many.
    pub fn pop_slice(&mut self, out: &mut [T]) -> usize
    where
        T: Copy,
    {
        let mut i = 0;
        self.pop_batch(out.len(), |v| {
            out[i] = v;
            i += 1;
        })
    }

    /// A reference to the oldest item without taking it.
    pub fn peek(&mut self) -> Option<&T> {
        if self.ready(1) == 0 {
            return None;
        }
        // SAFETY: published and not taken; only the consumer takes, and the
        // returned borrow of `self` stops it from doing so meanwhile.
        Some(
            self.shared
                .slot(self.head)
                .with(|p| unsafe { (*p).assume_init_ref() }),
        )
    }

    /// The number of items ready to pop (a lower bound: the producer may be
    /// pushing more).
    pub fn len(&mut self) -> usize {
        self.ready(usize::MAX)
    }

    /// Whether no item is ready to pop right now.
    pub fn is_empty(&mut self) -> bool {
        self.ready(1) == 0
    }

    /// The capacity given to [`SpscRing::new`].
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Whether the producer has been dropped (no more items will come once
    /// the queue is empty).
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) == 1
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.shared.capacity)
            .field("tail", &self.tail)
            .finish()
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.shared.capacity)
            .field("head", &self.head)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn zero_capacity_is_rejected() {
        assert!(matches!(SpscRing::<u8>::new(0), Err(Error::ZeroCapacity)));
    }

    #[test]
    fn capacity_is_exact_even_when_not_a_power_of_two() {
        let (mut tx, mut rx) = SpscRing::new(3).unwrap();
        assert_eq!(tx.push_slice(&[1, 2, 3, 4]), 3);
        assert_eq!(tx.push(5), Err(5));
        assert_eq!(rx.pop(), Some(1));
        tx.push(5).unwrap();
        let mut out = [0; 4];
        assert_eq!(rx.pop_slice(&mut out), 3);
        assert_eq!(out[..3], [2, 3, 5]);
    }

    #[test]
    fn queued_items_are_dropped_with_the_queue() {
        let item = std::sync::Arc::new(());
        let (mut tx, rx) = SpscRing::new(4).unwrap();
        tx.push(item.clone()).unwrap();
        tx.push(item.clone()).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&item), 3);
        drop(tx);
        drop(rx);
        assert_eq!(std::sync::Arc::strong_count(&item), 1);
    }

    #[test]
    fn push_iter_leaves_what_did_not_fit_in_the_iterator() {
        let (mut tx, _rx) = SpscRing::new(2).unwrap();
        let mut items = vec![String::from("a"), "b".into(), "c".into()].into_iter();
        assert_eq!(tx.push_iter(&mut items), 2);
        assert_eq!(items.next().as_deref(), Some("c"));
    }

    #[test]
    fn abandonment_is_visible_to_the_other_side() {
        let (tx, rx) = SpscRing::<u8>::new(2).unwrap();
        assert!(!rx.is_abandoned());
        drop(tx);
        assert!(rx.is_abandoned());
    }
}
