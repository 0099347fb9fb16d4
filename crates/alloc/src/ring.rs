//! [`RingBuffer`]: a fixed-capacity byte ring with zero-copy views.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};

use crate::Error;

/// The largest capacity a [`RingBuffer`] accepts (the largest allocation
/// Rust permits).
pub const MAX_RING_CAPACITY: usize = isize::MAX as usize;

/// Copies are made in pieces of at most this many bytes.
///
/// glibc's `memcpy` switches to `rep movsb` at 4 KiB on AVX2 machines, and
/// `rep movsb` falls to about 2 GiB/s when the destination sits 1–31 bytes
/// past the source modulo 4096 (4K aliasing), a placement a ring hits all
/// the time. Pieces below the switch keep the vector loop, which holds
/// 18–42 GiB/s for every placement; `benches/alloc.rs` sweeps placements.
pub const COPY_PIECE: usize = 2048;

/// A fixed-capacity byte ring buffer with wraparound and zero-copy views.
///
/// Bytes are appended at the back and read from the front. Readable bytes are
/// exposed as at most two slices by [`peek`](Self::peek), free space as at most
/// two mutable slices by [`writable`](Self::writable), so a socket can read
/// straight into the ring and a parser can scan it in place.
///
/// The capacity is fixed at construction and the buffer never reallocates.
///
/// ```
/// use ballast_alloc::RingBuffer;
///
/// let mut ring = RingBuffer::with_capacity(8)?;
/// assert_eq!(ring.push_slice(b"hello"), 5);
/// let (front, back) = ring.peek();
/// assert_eq!([front, back].concat(), b"hello");
/// ring.consume(2)?;
/// assert_eq!(ring.push_slice(b" world"), 5); // only 5 bytes were free
/// let mut out = [0u8; 8];
/// assert_eq!(ring.pop_slice(&mut out), 8);
/// assert_eq!(&out, b"llo worl");
/// # Ok::<(), ballast_alloc::Error>(())
/// ```
///
/// # Errors and panics
///
/// Operations whose arguments depend on outside input return typed errors:
/// [`consume`](Self::consume) past the readable length gives
/// [`Error::ConsumePastLen`], [`commit`](Self::commit) past the free space
/// gives [`Error::CommitPastFree`], and neither changes the ring. No method
/// panics.
pub struct RingBuffer {
    buf: Box<[u8]>,
    /// Index of the first readable byte, always `< capacity`.
    head: usize,
    /// Number of readable bytes, always `<= capacity`.
    len: usize,
}

impl RingBuffer {
    /// Creates a ring holding up to `capacity` bytes, allocated once, now.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroCapacity`] for 0, [`Error::CapacityOverflow`] above
    /// [`MAX_RING_CAPACITY`].
    pub fn with_capacity(capacity: usize) -> Result<Self, Error> {
        crate::error::check_capacity(capacity, MAX_RING_CAPACITY)?;
        Ok(Self {
            buf: vec![0u8; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
        })
    }

    /// The number of readable bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is readable.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether no byte can be written.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// The fixed capacity in bytes.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The number of bytes that can be written before the ring is full.
    #[inline]
    pub fn free(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Drops every readable byte.
    #[inline]
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Checks the ring's invariants in debug builds: the head is inside the
    /// storage, the length fits, and an empty ring starts at 0.
    #[inline(always)]
    fn debug_check(&self) {
        debug_assert!(
            self.head < self.buf.len(),
            "ring head {} outside capacity {}",
            self.head,
            self.buf.len()
        );
        debug_assert!(
            self.len <= self.buf.len(),
            "ring length {} over capacity {}",
            self.len,
            self.buf.len()
        );
        debug_assert!(
            self.len != 0 || self.head == 0,
            "an empty ring must restart at 0, head is {}",
            self.head
        );
    }

    /// Index of the first free byte.
    #[inline(always)]
    fn tail(&self) -> usize {
        let t = self.head + self.len;
        if t >= self.buf.len() {
            t - self.buf.len()
        } else {
            t
        }
    }

    /// The readable bytes, oldest first, as at most two slices; the second is
    /// empty unless the bytes wrap around the end of the storage.
    #[inline]
    pub fn peek(&self) -> (&[u8], &[u8]) {
        let cap = self.buf.len();
        let first_len = self.len.min(cap - self.head);
        let (front, back) = self.buf.split_at(self.head);
        (&back[..first_len], &front[..self.len - first_len])
    }

    /// Marks the first `n` readable bytes as read.
    ///
    /// # Errors
    ///
    /// [`Error::ConsumePastLen`] when `n > len()`; the ring is unchanged.
    #[inline]
    pub fn consume(&mut self, n: usize) -> Result<(), Error> {
        if n > self.len {
            return Err(Error::ConsumePastLen {
                requested: n,
                len: self.len,
            });
        }
        self.len -= n;
        if self.len == 0 {
            // Start over at the beginning: the next write is contiguous.
            self.head = 0;
        } else {
            let h = self.head + n;
            self.head = if h >= self.buf.len() {
                h - self.buf.len()
            } else {
                h
            };
        }
        self.debug_check();
        Ok(())
    }

    /// The free space, in write order, as at most two mutable slices to fill
    /// directly (for example from a socket); follow with
    /// [`commit`](Self::commit) for the bytes actually written.
    #[inline]
    pub fn writable(&mut self) -> (&mut [u8], &mut [u8]) {
        let cap = self.buf.len();
        let tail = self.tail();
        let free = cap - self.len;
        let first_len = free.min(cap - tail);
        let (front, back) = self.buf.split_at_mut(tail);
        (&mut back[..first_len], &mut front[..free - first_len])
    }

    /// Makes the first `n` bytes of [`writable`](Self::writable) readable.
    ///
    /// # Errors
    ///
    /// [`Error::CommitPastFree`] when `n > free()`; the ring is unchanged.
    #[inline]
    pub fn commit(&mut self, n: usize) -> Result<(), Error> {
        let free = self.free();
        if n > free {
            return Err(Error::CommitPastFree { requested: n, free });
        }
        self.len += n;
        self.debug_check();
        Ok(())
    }

    /// Appends one byte.
    ///
    /// # Errors
    ///
    /// [`Error::Full`] when no byte is free.
    #[inline]
    pub fn push(&mut self, byte: u8) -> Result<(), Error> {
        if self.len == self.buf.len() {
            return Err(Error::Full {
                capacity: self.buf.len(),
            });
        }
        let tail = self.tail();
        self.buf[tail] = byte;
        self.len += 1;
        self.debug_check();
        Ok(())
    }

    /// Removes and returns the oldest byte, if any.
    #[inline]
    pub fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let byte = self.buf[self.head];
        self.len -= 1;
        let next = self.head + 1;
        // Restart at 0 when emptied (keeps later writes contiguous) or at
        // the end of the storage; branch-free.
        self.head = if next == self.buf.len() || self.len == 0 {
            0
        } else {
            next
        };
        self.debug_check();
        Some(byte)
    }

    /// Appends as many bytes of `data` as fit and returns how many that was.
    #[inline]
    pub fn push_slice(&mut self, data: &[u8]) -> usize {
        let (a, b) = self.writable();
        let n = data.len().min(a.len() + b.len());
        let in_a = n.min(a.len());
        copy_in_pieces(&mut a[..in_a], &data[..in_a]);
        copy_in_pieces(&mut b[..n - in_a], &data[in_a..n]);
        self.len += n;
        n
    }

    /// Moves as many readable bytes as fit into `out` and returns how many.
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [u8]) -> usize {
        let (a, b) = self.peek();
        let n = out.len().min(a.len() + b.len());
        let in_a = n.min(a.len());
        copy_in_pieces(&mut out[..in_a], &a[..in_a]);
        copy_in_pieces(&mut out[in_a..n], &b[..n - in_a]);
        // `n <= len` by construction, so this cannot fail.
        let consumed = self.consume(n);
        debug_assert!(consumed.is_ok(), "pop_slice consumed past len");
        n
    }

    /// Reads once from `reader` straight into the free space (vectored when
    /// the free space wraps) and returns the number of bytes read; `Ok(0)`
    /// means the reader reached end of file.
    ///
    /// # Errors
    ///
    /// [`Error::Full`] when there is no free space (the reader is not
    /// called, so a full ring is never mistaken for end of file), and
    /// [`Error::Io`] when the reader fails (after retrying on
    /// `Interrupted`).
    pub fn read_from<R: Read + ?Sized>(&mut self, reader: &mut R) -> Result<usize, Error> {
        if self.is_full() {
            return Err(Error::Full {
                capacity: self.capacity(),
            });
        }
        let n = loop {
            let (a, b) = self.writable();
            let result = if b.is_empty() {
                reader.read(a)
            } else {
                reader.read_vectored(&mut [IoSliceMut::new(a), IoSliceMut::new(b)])
            };
            match result {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Io(e)),
            }
        };
        // A reader claiming more than it was given is broken; refuse it.
        self.commit(n)?;
        Ok(n)
    }

    /// Writes once from the readable bytes to `writer` (vectored when they
    /// wrap), consumes what was written, and returns how much that was.
    /// Returns `Ok(0)` without calling the writer when the ring is empty.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the writer fails (after retrying on
    /// `Interrupted`); nothing is consumed then.
    pub fn write_to<W: Write + ?Sized>(&mut self, writer: &mut W) -> Result<usize, Error> {
        if self.is_empty() {
            return Ok(0);
        }
        let n = loop {
            let (a, b) = self.peek();
            let result = if b.is_empty() {
                writer.write(a)
            } else {
                writer.write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
            };
            match result {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Io(e)),
            }
        };
        self.consume(n)?;
        Ok(n)
    }
}

impl std::fmt::Debug for RingBuffer {
    // The contents are not printed: they may be protocol data with secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuffer")
            .field("len", &self.len)
            .field("capacity", &self.buf.len())
            .field("head", &self.head)
            .finish()
    }
}

/// Copies `src` into `dst` (equal lengths) in pieces of at most
/// [`COPY_PIECE`] bytes; see there for why.
#[inline(always)]
pub(crate) fn copy_in_pieces(dst: &mut [u8], src: &[u8]) {
    debug_assert_eq!(dst.len(), src.len(), "copy_in_pieces needs equal lengths");
    if src.len() <= COPY_PIECE {
        dst.copy_from_slice(src);
        return;
    }
    for (d, s) in dst.chunks_mut(COPY_PIECE).zip(src.chunks(COPY_PIECE)) {
        d.copy_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_capacity_is_rejected() {
        assert!(matches!(
            RingBuffer::with_capacity(0),
            Err(Error::ZeroCapacity)
        ));
    }

    #[test]
    fn capacity_beyond_isize_max_is_rejected() {
        let err = RingBuffer::with_capacity(usize::MAX).unwrap_err();
        assert!(matches!(
            err,
            Error::CapacityOverflow {
                requested: usize::MAX,
                ..
            }
        ));
    }

    #[test]
    fn peek_returns_two_slices_when_bytes_wrap() {
        let mut ring = RingBuffer::with_capacity(8).unwrap();
        assert_eq!(ring.push_slice(b"abcdef"), 6);
        ring.consume(4).unwrap();
        assert_eq!(ring.push_slice(b"ghij"), 4);
        let (a, b) = ring.peek();
        assert_eq!((a, b), (&b"efgh"[..], &b"ij"[..]));
    }

    #[test]
    fn consume_past_len_is_an_error_and_changes_nothing() {
        let mut ring = RingBuffer::with_capacity(8).unwrap();
        ring.push_slice(b"abc");
        let err = ring.consume(4).unwrap_err();
        assert!(matches!(
            err,
            Error::ConsumePastLen {
                requested: 4,
                len: 3
            }
        ));
        assert_eq!(ring.peek().0, b"abc");
    }

    #[test]
    fn commit_past_free_is_an_error_and_changes_nothing() {
        let mut ring = RingBuffer::with_capacity(4).unwrap();
        ring.push_slice(b"ab");
        let err = ring.commit(3).unwrap_err();
        assert!(matches!(
            err,
            Error::CommitPastFree {
                requested: 3,
                free: 2
            }
        ));
        assert_eq!(ring.len(), 2);
    }

    #[test]
    fn writable_then_commit_makes_bytes_readable_in_order() {
        let mut ring = RingBuffer::with_capacity(6).unwrap();
        ring.push_slice(b"xxxx");
        ring.consume(3).unwrap();
        let (a, b) = ring.writable();
        assert_eq!(a.len() + b.len(), 5);
        a[..2].copy_from_slice(b"12");
        ring.commit(2).unwrap();
        let mut out = [0u8; 3];
        assert_eq!(ring.pop_slice(&mut out), 3);
        assert_eq!(&out, b"x12");
    }

    #[test]
    fn push_on_full_ring_is_an_error() {
        let mut ring = RingBuffer::with_capacity(1).unwrap();
        ring.push(1).unwrap();
        assert!(matches!(ring.push(2), Err(Error::Full { capacity: 1 })));
        assert_eq!(ring.pop(), Some(1));
        assert_eq!(ring.pop(), None);
    }

    #[test]
    fn read_from_fills_both_slices_with_a_vectored_read() {
        let mut ring = RingBuffer::with_capacity(8).unwrap();
        ring.push_slice(b"123456");
        ring.consume(6).unwrap();
        ring.push_slice(b"ab"); // head is 0 again after emptying: contiguous
        ring.consume(1).unwrap();
        let mut src: &[u8] = b"CDEFGHIJKL";
        let n = ring.read_from(&mut src).unwrap();
        assert!(n >= 1);
        while !ring.is_full() {
            ring.read_from(&mut src).unwrap();
        }
        let mut out = Vec::new();
        while !ring.is_empty() {
            ring.write_to(&mut out).unwrap();
        }
        assert_eq!(out, b"bCDEFGHI");
    }

    #[test]
    fn read_from_on_full_ring_does_not_call_the_reader() {
        struct Panics;
        impl Read for Panics {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("reader must not be called on a full ring");
            }
        }
        let mut ring = RingBuffer::with_capacity(2).unwrap();
        ring.push_slice(b"ab");
        assert!(matches!(
            ring.read_from(&mut Panics),
            Err(Error::Full { capacity: 2 })
        ));
    }

    #[test]
    fn a_reader_claiming_more_than_it_was_given_is_refused() {
        struct Liar;
        impl Read for Liar {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                Ok(buf.len() + 1)
            }
        }
        let mut ring = RingBuffer::with_capacity(4).unwrap();
        assert!(matches!(
            ring.read_from(&mut Liar),
            Err(Error::CommitPastFree { .. })
        ));
        assert!(ring.is_empty());
    }

    #[test]
    fn write_errors_consume_nothing() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut ring = RingBuffer::with_capacity(4).unwrap();
        ring.push_slice(b"ab");
        assert!(matches!(ring.write_to(&mut Broken), Err(Error::Io(_))));
        assert_eq!(ring.len(), 2);
    }

    #[test]
    fn large_copies_survive_every_placement() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        for head in [0usize, 1, 31, 4095, 65_000] {
            let mut ring = RingBuffer::with_capacity(100_000).unwrap();
            // Move the head to `head` while keeping one byte readable, so the
            // ring does not restart at 0; at 65 000 the data wraps around.
            ring.push_slice(&vec![0u8; head]);
            ring.push(0xAA).unwrap();
            ring.consume(head).unwrap();
            assert_eq!(ring.push_slice(&data), data.len());
            assert_eq!(ring.pop(), Some(0xAA));
            let mut out = vec![0u8; data.len()];
            assert_eq!(ring.pop_slice(&mut out), data.len());
            assert_eq!(out, data, "head offset {head}");
        }
    }
}
