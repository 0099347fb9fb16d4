//! [`ChunkSlab`]: the one allocation that the chunks fed to the fault engine
//! are cut from.
//!
//! A chunk becomes a [`Bytes`] the engine delays, duplicates, reorders,
//! slices and truncates, so it outlives the read that produced it. Copying
//! each read into its own `Bytes` costs one allocation per chunk. Here reads
//! go into a refcounted `BytesMut` and each chunk is cut off with
//! `split().freeze()`: every chunk and every piece the toxics make of it
//! share the slab's allocation. When the slab runs low it is reclaimed in
//! place if every chunk cut from it was already written (the common case:
//! an echo, or a stream the toxics release in order), and otherwise left to
//! the chunks still queued (freed with the last of them) for a fresh slab.
//! So the steady state allocates nothing per chunk.
//!
//! Memory: pieces are released in read order unless a `reorder` toxic is
//! active (bytes never overtake earlier bytes otherwise), so the slabs held
//! alive are those holding queued bytes — the queued bytes plus at most two
//! slabs. Under `reorder`, a slab lives until its last piece is released:
//! at most the bytes read within the reorder window plus one slab.
//!
//! Not `ballast_alloc::RingBuffer`: a ring hands out borrowed views that
//! must be consumed front to back before the space is reused, while the
//! engine's pieces are owned, released out of order and cloned. Not a
//! plain `Vec`: its bytes would have to be copied out per chunk (the
//! passthrough path, whose bytes are written before the next read, is where
//! a plain reused `Vec` is right).

use bytes::buf::Limit;
use bytes::{BufMut, Bytes, BytesMut};

/// A refcounted read buffer that hands out chunks sharing its allocation.
#[derive(Debug)]
pub(crate) struct ChunkSlab {
    buf: BytesMut,
    capacity: usize,
}

impl ChunkSlab {
    /// A slab of `capacity` bytes, allocated on first use.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            capacity: capacity.max(1),
        }
    }

    /// Ensures `want` bytes of spare room: reclaims the slab in place when
    /// no chunk cut from it is alive, else starts a fresh one.
    fn make_room(&mut self, want: usize) {
        debug_assert!(self.buf.is_empty(), "bytes read but not cut");
        if self.buf.capacity() - self.buf.len() < want {
            self.buf.reserve(self.capacity.max(want));
        }
    }

    /// Spare room of at most `max` bytes for the next read (see
    /// [`ChunkSlab::cut`]). Call [`ChunkSlab::reserve`] first.
    pub(crate) fn room(&mut self, max: usize) -> Limit<&mut BytesMut> {
        (&mut self.buf).limit(max.max(1))
    }

    /// Makes room for a read of up to `max` bytes.
    pub(crate) fn reserve(&mut self, max: usize) {
        self.make_room(max.clamp(1, self.capacity));
    }

    /// The bytes read into [`ChunkSlab::room`] since the last cut.
    pub(crate) fn cut(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// `data` as a chunk: copied into the slab, or into its own allocation
    /// when it is larger than the slab (so one huge write does not leave a
    /// huge slab behind).
    pub(crate) fn copy(&mut self, data: &[u8]) -> Bytes {
        if data.len() > self.capacity {
            return Bytes::copy_from_slice(data);
        }
        self.make_room(data.len());
        self.buf.extend_from_slice(data);
        self.cut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_share_one_allocation_and_the_slab_is_reclaimed() {
        let mut slab = ChunkSlab::new(64);
        let a = slab.copy(b"hello");
        let b = slab.copy(b"world");
        assert_eq!((&a[..], &b[..]), (&b"hello"[..], &b"world"[..]));
        assert_eq!(
            a.as_ptr().wrapping_add(5),
            b.as_ptr(),
            "consecutive chunks are cut from one allocation"
        );
        let start = a.as_ptr();
        drop((a, b));
        let filler = vec![7u8; 60];
        drop(slab.copy(&filler));
        let c = slab.copy(b"again");
        assert_eq!(c.as_ptr(), start, "a slab nobody holds is reused in place");
    }

    #[test]
    fn a_held_chunk_keeps_its_bytes_when_the_slab_moves_on() {
        let mut slab = ChunkSlab::new(8);
        let held = slab.copy(b"12345678");
        let next = slab.copy(b"abc");
        assert_eq!(&held[..], b"12345678", "held chunk unchanged");
        assert_eq!(&next[..], b"abc");
        let big = slab.copy(&[1u8; 100]);
        assert_eq!(big.len(), 100, "oversized data gets its own chunk");
    }
}
