//! The crate's error types.

use std::fmt;

/// What went wrong in a ballast-alloc operation.
///
/// Every variant carries the figures needed to act on it: the limit that was
/// hit and the value that hit it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A structure was asked for a capacity of zero, which could hold nothing.
    #[error("capacity must be at least 1")]
    ZeroCapacity,
    /// The requested capacity is larger than the structure supports.
    #[error("capacity {requested} exceeds the maximum of {max}")]
    CapacityOverflow {
        /// The capacity asked for.
        requested: usize,
        /// The largest capacity this structure supports.
        max: usize,
    },
    /// `consume(n)` asked to drop more bytes than the ring holds.
    #[error("cannot consume {requested} bytes: only {len} are readable")]
    ConsumePastLen {
        /// Bytes asked to consume.
        requested: usize,
        /// Bytes readable at the time.
        len: usize,
    },
    /// `commit(n)` claimed more written bytes than there was free space.
    #[error("cannot commit {requested} bytes: only {free} are free")]
    CommitPastFree {
        /// Bytes claimed as written.
        requested: usize,
        /// Free bytes at the time.
        free: usize,
    },
    /// The ring has no free space for the operation.
    #[error("ring buffer is full ({capacity} bytes)")]
    Full {
        /// The ring's capacity in bytes.
        capacity: usize,
    },
    /// A pool had no free slot.
    #[error("pool exhausted: all {capacity} slots are in use")]
    PoolExhausted {
        /// The pool's capacity.
        capacity: usize,
    },
    /// A scratch frame hit its byte limit.
    #[error("scratch arena limit of {limit} bytes reached (asked for {requested} more)")]
    ScratchLimit {
        /// The configured limit in bytes.
        limit: usize,
        /// The size of the refused allocation in bytes.
        requested: usize,
    },
    /// The reader or writer passed to `read_from` / `write_to` failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks a requested capacity against `1..=max`.
pub(crate) fn check_capacity(requested: usize, max: usize) -> Result<(), Error> {
    if requested == 0 {
        return Err(Error::ZeroCapacity);
    }
    if requested > max {
        return Err(Error::CapacityOverflow { requested, max });
    }
    Ok(())
}

/// A pool had no free slot; the value that was to be stored is handed back
/// so nothing is lost.
pub struct PoolExhausted<T> {
    pub(crate) value: T,
    pub(crate) capacity: usize,
}

impl<T> PoolExhausted<T> {
    /// Returns the value that could not be stored.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The pool's capacity (all of it was in use).
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

// Debug and Display do not print the value: it may hold secrets, and `T`
// need not be `Debug`.
impl<T> fmt::Debug for PoolExhausted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolExhausted")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for PoolExhausted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pool exhausted: all {} slots are in use", self.capacity)
    }
}

impl<T> std::error::Error for PoolExhausted<T> {}

impl<T> From<PoolExhausted<T>> for Error {
    fn from(e: PoolExhausted<T>) -> Self {
        Error::PoolExhausted {
            capacity: e.capacity,
        }
    }
}

ballast_error::catalog! {
    Error => pub(crate) CATALOG {
        ZeroCapacity => "BLST-ALLOC-001", Caller,
            "a buffer, ring or pool was asked for zero capacity",
            "Pass a capacity of at least 1.";
        CapacityOverflow { .. } => "BLST-ALLOC-002", Caller,
            "the requested capacity is over the type's maximum",
            "Ask for less (the message gives the maximum), or split the data over several buffers.";
        ConsumePastLen { .. } => "BLST-ALLOC-003", Caller,
            "more bytes were consumed than the ring holds",
            "Consume at most `len()` bytes; a reader that miscounts is a bug in the caller.";
        CommitPastFree { .. } => "BLST-ALLOC-004", Caller,
            "more bytes were committed than the ring had free",
            "Commit at most what `write_slices()` offered.";
        Full { .. } => "BLST-ALLOC-005", Transient,
            "the ring buffer is full",
            "Drain it (the consumer is behind) and push again, or size the ring for the peak.";
        PoolExhausted { .. } => "BLST-ALLOC-006", Transient,
            "every slot of the pool is in use",
            "Release blocks and retry, or size the pool for the peak number of live blocks.";
        ScratchLimit { .. } => "BLST-ALLOC-007", Caller,
            "the scratch arena reached its byte limit within one frame",
            "Reset the arena per frame, or raise its limit to the largest frame's needs.";
        Io(_) => "BLST-ALLOC-008", Transient,
            "reading into or writing from the ring failed",
            "The I/O error in the message says why; retry on a transient kind (interrupted, would block), reconnect otherwise.";
    }
}
