//! Hot-path memory for ballast: structures that allocate once, up front, and
//! then move bytes and objects without touching the system allocator.
//!
//! - [`RingBuffer`]: a fixed-capacity byte ring with zero-copy views
//!   ([`peek`](RingBuffer::peek), [`writable`](RingBuffer::writable)) and
//!   vectored [`read_from`](RingBuffer::read_from) /
//!   [`write_to`](RingBuffer::write_to) for sockets.
//! - [`SpscRing`]: a bounded lock-free single-producer/single-consumer queue
//!   with batch push and pop.
//! - [`FixedPool`]: a single-threaded pool of pre-allocated slots with RAII
//!   handles and generation-checked keys; [`SyncPool`]: the same across
//!   threads, lock-free and ABA-safe.
//! - [`Scratch`]: a per-frame arena on bumpalo that frees a whole frame at
//!   once and cannot be used past its reset.
//! - [`CountingAlloc`]: a global allocator wrapper whose
//!   [`measure`](CountingAlloc::measure) proves a code path allocates nothing.
//!
//! ```
//! use ballast_alloc::{FixedPool, RingBuffer};
//!
//! // Read a socket straight into the ring, parse in place, consume.
//! let mut ring = RingBuffer::with_capacity(64 * 1024)?;
//! let mut socket: &[u8] = b"PING\r\nPONG\r\n";
//! while ring.read_from(&mut socket)? > 0 {}
//! let (front, _) = ring.peek();
//! let line_end = front.windows(2).position(|w| w == b"\r\n").expect("a whole line");
//! assert_eq!(&front[..line_end], b"PING");
//! ring.consume(line_end + 2)?;
//!
//! // Per-connection state from a fixed pool: no allocation per connection.
//! let pool = FixedPool::<[u8; 256]>::new(1024)?;
//! let conn = pool.alloc([0; 256]).map_err(ballast_alloc::Error::from)?;
//! assert_eq!(pool.in_use(), 1);
//! drop(conn);
//! # Ok::<(), ballast_alloc::Error>(())
//! ```
//!
//! # Errors and panics
//!
//! Constructors refuse a zero capacity ([`Error::ZeroCapacity`]) and
//! capacities past each structure's maximum ([`Error::CapacityOverflow`]).
//! Operations whose argument may come from outside (consume, commit, push
//! into a full structure) return typed errors and change nothing. No public
//! method panics on any argument.
//!
//! # Concurrency proofs
//!
//! [`SpscRing`] and [`SyncPool`] are model-checked with loom
//! (`RUSTFLAGS="--cfg loom" cargo test -p ballast-alloc --release --test loom`)
//! and stress-tested with checksums in `tests/stress.rs`.
//!
//! # Feature flags
//!
//! None: the crate depends on `bumpalo` and `thiserror` only.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod counting;
mod error;
mod loom;
mod metrics;
mod pool;
mod ring;
mod scratch;
mod spsc;
mod sync_pool;

/// Stable error codes, retry classes and recovery guidance (`ballast-error`):
/// every error of this crate implements [`Coded`].
pub use ballast_error::{CatalogEntry, Coded, ErrorClass};
pub use counting::{
    AllocDelta, AllocStats, CountingAlloc, MAX_TRACKED_THREADS, PEAK_GRANULARITY_BYTES,
};
pub use error::{Error, PoolExhausted};
pub use pool::{FixedPool, MAX_POOL_CAPACITY, PoolKey, PoolStats, Pooled};
pub use ring::{COPY_PIECE, MAX_RING_CAPACITY, RingBuffer};
pub use scratch::{Frame, Scratch, ScratchStats};
pub use spsc::{Consumer, MAX_SPSC_CAPACITY, Producer, SpscRing};
pub use sync_pool::{OwnedPooled, SyncPool, SyncPooled};

/// Whether this build runs the lock-free types on loom's model-checking
/// atomics (`--cfg loom`); doc examples use it to step aside, since loom's
/// types only work inside `loom::model`.
#[doc(hidden)]
pub const LOOM_BUILD: bool = cfg!(loom);

/// Every error catalog of this crate, by error type: each variant's stable
/// code, class and recovery guidance (`docs/errors.md` is generated from
/// these).
pub fn error_catalogs() -> &'static [(&'static str, &'static [CatalogEntry])] {
    &[("ballast_alloc::Error", error::CATALOG)]
}

#[cfg(test)]
mod send_sync {
    use super::*;

    const fn assert_send<T: Send>() {}
    const fn assert_sync<T: Sync>() {}

    // What may cross threads does; what must not, cannot (FixedPool is
    // single-threaded by design: its counters are plain cells).
    const _: () = {
        assert_send::<RingBuffer>();
        assert_sync::<RingBuffer>();
        assert_send::<Producer<String>>();
        assert_send::<Consumer<String>>();
        assert_send::<FixedPool<String>>();
        assert_send::<SyncPool<String>>();
        assert_sync::<SyncPool<String>>();
        assert_send::<OwnedPooled<String>>();
        assert_send::<Scratch>();
        assert_send::<CountingAlloc>();
        assert_sync::<CountingAlloc>();
        assert_send::<Error>();
        assert_sync::<Error>();
    };
}

/// The user guide `docs/allocators.md`, compiled as doctests so its examples
/// stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/allocators.md")]
pub struct AllocatorsGuide;
