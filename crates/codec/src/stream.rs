//! Streaming decoding: feed bytes, take complete frames.
//!
//! A [`Decode`] implementation looks at the front of a byte slice and returns
//! the first complete frame as a view borrowing that slice, plus how many
//! bytes it used. [`StreamBuffer`] owns the bytes read from a socket, feeds
//! them to a decoder and hands out frames that borrow its buffer; it never
//! holds more than its configured capacity, so a peer cannot make it grow
//! without bound.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, Result};

/// A decoder for one wire format.
///
/// The method is `decode_frame`, not `decode`, so it never clashes with
/// `tokio_util::codec::Decoder::decode` on the same type.
pub trait Decode {
    /// The frame type, usually borrowing the input.
    type Frame<'a>;

    /// Decodes the first frame in `input`.
    ///
    /// Returns the frame and the number of bytes it used, or
    /// [`Error::Incomplete`] when `input` holds only part of a frame. A
    /// decoder must reject a frame whose declared length is over its limit
    /// before waiting for (or reserving) the rest of it.
    fn decode_frame<'a>(&mut self, input: &'a [u8]) -> Result<(Self::Frame<'a>, usize)>;
}

/// Default limit on bytes buffered by a [`StreamBuffer`]: 4 MiB.
pub const DEFAULT_MAX_BUFFERED: usize = 4 << 20;

/// Bytes from a stream plus a decoder that cuts them into frames.
///
/// ```
/// use ballast_codec::frame::{FrameConfig, FrameDecoder};
/// use ballast_codec::stream::StreamBuffer;
///
/// let mut stream = StreamBuffer::new(FrameDecoder::new(FrameConfig::default()));
/// stream.feed(&[0, 0, 0, 5, b'h', b'e']).unwrap();
/// assert!(stream.next_frame().unwrap().is_none(), "frame not complete yet");
/// stream.feed(b"llo").unwrap();
/// assert_eq!(stream.next_frame().unwrap(), Some(&b"hello"[..]));
/// ```
#[derive(Debug)]
pub struct StreamBuffer<D> {
    decoder: D,
    buf: BytesMut,
    consumed: usize,
    max_buffered: usize,
}

impl<D: Decode> StreamBuffer<D> {
    /// A buffer holding at most [`DEFAULT_MAX_BUFFERED`] bytes.
    pub fn new(decoder: D) -> Self {
        Self::with_max_buffered(decoder, DEFAULT_MAX_BUFFERED)
    }

    /// A buffer holding at most `max_buffered` bytes.
    pub fn with_max_buffered(decoder: D, max_buffered: usize) -> Self {
        Self {
            decoder,
            buf: BytesMut::new(),
            consumed: 0,
            max_buffered,
        }
    }

    /// Appends bytes read from the peer.
    ///
    /// Fails with [`Error::BufferFull`] when the unconsumed bytes would
    /// exceed the buffer limit; nothing is appended in that case.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<()> {
        self.compact();
        let total = self.buf.len().saturating_add(bytes.len());
        if total > self.max_buffered {
            return Err(Error::BufferFull {
                len: total,
                limit: self.max_buffered,
            });
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// The next complete frame, `None` when more bytes are needed.
    ///
    /// The frame borrows the buffer; its bytes are released on the next call
    /// to `next_frame` or `feed`.
    pub fn next_frame(&mut self) -> Result<Option<D::Frame<'_>>> {
        self.compact();
        match self.decoder.decode_frame(&self.buf) {
            Ok((frame, used)) => {
                self.consumed = used;
                Ok(Some(frame))
            }
            Err(e) if e.is_incomplete() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The next complete frame's raw bytes (header included) as a shared
    /// [`Bytes`] split off the buffer without copying.
    pub fn next_frame_bytes(&mut self) -> Result<Option<Bytes>> {
        self.compact();
        match self.decoder.decode_frame(&self.buf).map(|(_, used)| used) {
            Ok(used) => Ok(Some(self.buf.split_to(used).freeze())),
            Err(e) if e.is_incomplete() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Bytes buffered and not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.consumed
    }

    /// The decoder.
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    fn compact(&mut self) {
        if self.consumed > 0 {
            self.buf.advance(self.consumed);
            self.consumed = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{FrameConfig, FrameDecoder};

    #[test]
    fn feed_refuses_bytes_past_the_buffer_limit_and_keeps_what_it_had() {
        let mut s = StreamBuffer::with_max_buffered(FrameDecoder::new(FrameConfig::default()), 8);
        s.feed(&[0, 0, 0, 20, 1, 2]).unwrap();
        assert_eq!(
            s.feed(&[3, 4, 5]),
            Err(Error::BufferFull { len: 9, limit: 8 })
        );
        assert_eq!(s.buffered(), 6);
    }

    #[test]
    fn consumed_frames_free_room_for_more() {
        let mut s = StreamBuffer::with_max_buffered(FrameDecoder::new(FrameConfig::default()), 8);
        s.feed(&[0, 0, 0, 2, 7, 8]).unwrap();
        assert_eq!(s.next_frame().unwrap(), Some(&[7, 8][..]));
        s.feed(&[0, 0, 0, 3, 1, 2, 3]).unwrap();
        assert_eq!(
            s.next_frame_bytes().unwrap().as_deref(),
            Some(&[0, 0, 0, 3, 1, 2, 3][..])
        );
        assert_eq!(s.buffered(), 0);
    }
}
