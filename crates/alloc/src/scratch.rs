//! [`Scratch`]: a per-frame arena on bumpalo.

use std::alloc::Layout;
use std::fmt;

use bumpalo::Bump;

use crate::Error;

/// Byte figures of a [`Scratch`] arena; a plain snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScratchStats {
    /// Bytes handed out in the current frame (with alignment padding).
    pub current_bytes: usize,
    /// The most bytes any frame has used.
    pub peak_bytes: usize,
    /// Bytes of chunk memory the arena holds from the system.
    pub reserved_bytes: usize,
    /// Chunks the arena holds.
    pub chunks: usize,
    /// Frames completed (resets).
    pub frames: u64,
    /// Allocations refused because they would pass the limit.
    pub limit_hits: u64,
}

/// A per-frame scratch arena: allocate freely while handling one frame
/// (a request, a record, a screen), then free everything at once.
///
/// Allocation is a pointer bump. After a reset the arena keeps its largest
/// chunk, so a steady workload stops allocating from the system after its
/// first frames. An optional byte limit bounds what one frame can take.
///
/// The API makes "allocate during a frame, reset after" hard to misuse:
/// allocations borrow a [`Frame`], and a frame borrows the arena mutably,
/// so nothing allocated can outlive the reset that frees it.
///
/// ```
/// use ballast_alloc::Scratch;
///
/// let mut scratch = Scratch::with_limit(64 * 1024);
/// let total = scratch.frame(|frame| {
///     let fields = frame.alloc_slice_copy(&[3u32, 4, 5])?;
///     let label = frame.alloc_str("total")?;
///     Ok::<_, ballast_alloc::Error>((label.len() as u32) + fields.iter().sum::<u32>())
/// })?;
/// assert_eq!(total, 17);
/// assert_eq!(scratch.stats().current_bytes, 0); // the frame was reset
/// # Ok::<(), ballast_alloc::Error>(())
/// ```
///
/// Nothing allocated in a frame can be used after the frame's reset:
///
/// ```compile_fail
/// use ballast_alloc::Scratch;
///
/// let mut scratch = Scratch::new();
/// let escaped = scratch.frame(|f| f.alloc(1u64).unwrap()); // error: borrowed data escapes
/// ```
pub struct Scratch {
    bump: Bump,
    limit: Option<usize>,
    peak_bytes: usize,
    frames: u64,
    limit_hits: std::cell::Cell<u64>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    /// An empty arena without a limit; it takes its first chunk on first use.
    pub fn new() -> Self {
        Self::from_bump(Bump::new(), None)
    }

    /// An arena with `bytes` reserved now, so the first frames need no
    /// system allocation either.
    pub fn with_capacity(bytes: usize) -> Self {
        Self::from_bump(Bump::with_capacity(bytes), None)
    }

    /// An arena whose chunks may total at most `limit_bytes`; allocations
    /// past it fail with [`Error::ScratchLimit`].
    pub fn with_limit(limit_bytes: usize) -> Self {
        let bump = Bump::new();
        bump.set_allocation_limit(Some(limit_bytes));
        Self::from_bump(bump, Some(limit_bytes))
    }

    fn from_bump(bump: Bump, limit: Option<usize>) -> Self {
        Self {
            bump,
            limit,
            peak_bytes: 0,
            frames: 0,
            limit_hits: std::cell::Cell::new(0),
        }
    }

    /// Runs `f` with a fresh frame and resets the arena afterwards, also when
    /// `f` panics. The closure's result cannot borrow from the frame.
    pub fn frame<R>(&mut self, f: impl FnOnce(&Frame<'_>) -> R) -> R {
        let frame = self.begin();
        f(&frame)
    }

    /// Starts a frame by hand; the arena is reset when the returned guard
    /// drops, and allocations borrow the guard so they cannot outlive it.
    pub fn begin(&mut self) -> Frame<'_> {
        Frame { scratch: self }
    }

    fn used_bytes(&self) -> usize {
        // SAFETY: only the lengths are read; no chunk memory is touched.
        unsafe { self.bump.iter_allocated_chunks_raw() }
            .map(|(_, len)| len)
            .sum()
    }

    fn reset(&mut self) {
        self.peak_bytes = self.peak_bytes.max(self.used_bytes());
        self.frames += 1;
        self.bump.reset();
    }

    /// The arena's byte figures now.
    pub fn stats(&self) -> ScratchStats {
        let current_bytes = self.used_bytes();
        // SAFETY: as in `used_bytes`.
        let chunks = unsafe { self.bump.iter_allocated_chunks_raw() }.count();
        ScratchStats {
            current_bytes,
            peak_bytes: self.peak_bytes.max(current_bytes),
            reserved_bytes: self.bump.allocated_bytes(),
            chunks,
            frames: self.frames,
            limit_hits: self.limit_hits.get(),
        }
    }

    /// The byte limit, if one was set.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scratch")
            .field("limit", &self.limit)
            .field("stats", &self.stats())
            .finish()
    }
}

/// One frame of a [`Scratch`] arena; everything allocated through it is
/// freed when it drops.
pub struct Frame<'s> {
    scratch: &'s mut Scratch,
}

impl Frame<'_> {
    #[cold]
    fn limit_error(&self, requested: usize) -> Error {
        let s = &self.scratch;
        s.limit_hits.set(s.limit_hits.get() + 1);
        Error::ScratchLimit {
            limit: s.limit.unwrap_or(usize::MAX),
            requested,
        }
    }

    /// Moves `value` into the frame and returns a reference to it.
    ///
    /// Values are not dropped at reset (as with bumpalo): give the frame
    /// plain data, or drop in place yourself.
    ///
    /// # Errors
    ///
    /// [`Error::ScratchLimit`] when the frame's limit would be passed.
    #[inline]
    pub fn alloc<T>(&self, value: T) -> Result<&mut T, Error> {
        self.scratch
            .bump
            .try_alloc(value)
            .map_err(|_| self.limit_error(std::mem::size_of::<T>()))
    }

    /// Copies `items` into the frame.
    ///
    /// # Errors
    ///
    /// [`Error::ScratchLimit`] when the frame's limit would be passed.
    #[inline]
    #[allow(
        clippy::mut_from_ref,
        reason = "each call returns fresh arena memory, as bumpalo does"
    )]
    pub fn alloc_slice_copy<T: Copy>(&self, items: &[T]) -> Result<&mut [T], Error> {
        let layout = Layout::for_value(items);
        let ptr = self
            .scratch
            .bump
            .try_alloc_layout(layout)
            .map_err(|_| self.limit_error(layout.size()))?;
        let dst = ptr.as_ptr().cast::<T>();
        // SAFETY: `dst` is fresh, aligned for T and sized for `items`, and
        // does not overlap `items`; T: Copy so a bitwise copy is a copy.
        unsafe {
            std::ptr::copy_nonoverlapping(items.as_ptr(), dst, items.len());
            Ok(std::slice::from_raw_parts_mut(dst, items.len()))
        }
    }

    /// Copies `text` into the frame.
    ///
    /// # Errors
    ///
    /// [`Error::ScratchLimit`] when the frame's limit would be passed.
    #[inline]
    #[allow(
        clippy::mut_from_ref,
        reason = "each call returns fresh arena memory, as bumpalo does"
    )]
    pub fn alloc_str(&self, text: &str) -> Result<&mut str, Error> {
        let bytes = self.alloc_slice_copy(text.as_bytes())?;
        // SAFETY: the bytes are a copy of a valid `str`.
        Ok(unsafe { std::str::from_utf8_unchecked_mut(bytes) })
    }

    /// Raw memory for `layout`, for building your own structures.
    ///
    /// # Errors
    ///
    /// [`Error::ScratchLimit`] when the frame's limit would be passed.
    #[inline]
    pub fn alloc_layout(&self, layout: Layout) -> Result<std::ptr::NonNull<u8>, Error> {
        self.scratch
            .bump
            .try_alloc_layout(layout)
            .map_err(|_| self.limit_error(layout.size()))
    }

    /// The underlying bumpalo arena, for bumpalo's collections; its
    /// allocations are freed with the frame like the others.
    pub fn bump(&self) -> &Bump {
        &self.scratch.bump
    }

    /// Bytes used in this frame so far.
    pub fn used_bytes(&self) -> usize {
        self.scratch.used_bytes()
    }
}

impl Drop for Frame<'_> {
    fn drop(&mut self) {
        self.scratch.reset();
    }
}

impl fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("used_bytes", &self.used_bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_reset_when_it_ends_and_the_peak_is_kept() {
        let mut scratch = Scratch::new();
        scratch.frame(|f| {
            f.alloc_slice_copy(&[0u8; 1000]).unwrap();
            assert!(f.used_bytes() >= 1000);
        });
        let stats = scratch.stats();
        assert_eq!(stats.current_bytes, 0);
        assert!(stats.peak_bytes >= 1000);
        assert_eq!(stats.frames, 1);
        assert!(stats.chunks >= 1, "the chunk is kept for the next frame");
    }

    #[test]
    fn allocations_past_the_limit_are_typed_errors() {
        let mut scratch = Scratch::with_limit(4096);
        let result = scratch.frame(|f| f.alloc_slice_copy(&[0u8; 8192]).map(|s| s.len()));
        assert!(matches!(
            result,
            Err(Error::ScratchLimit {
                limit: 4096,
                requested: 8192
            })
        ));
        assert_eq!(scratch.stats().limit_hits, 1);
        // The arena still works afterwards.
        let ok = scratch.frame(|f| f.alloc(7u64).map(|v| *v));
        assert_eq!(ok.unwrap(), 7);
    }

    #[test]
    fn the_arena_resets_even_when_the_frame_panics() {
        let mut scratch = Scratch::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scratch.frame(|f| {
                f.alloc_slice_copy(&[1u8; 100]).unwrap();
                panic!("handler failed");
            })
        }));
        assert!(result.is_err());
        assert_eq!(scratch.stats().current_bytes, 0);
    }

    #[test]
    fn a_manual_frame_resets_on_drop() {
        let mut scratch = Scratch::with_capacity(1024);
        {
            let frame = scratch.begin();
            let s = frame.alloc_str("hello").unwrap();
            s.make_ascii_uppercase();
            assert_eq!(s, "HELLO");
        }
        assert_eq!(scratch.stats().current_bytes, 0);
    }
}
