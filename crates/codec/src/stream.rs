//! Streaming decoding: feed bytes, take complete frames.
//!
//! A [`Decode`] implementation looks at the front of a byte slice and returns
//! the first complete frame as a view borrowing that slice, plus how many
//! bytes it used. [`StreamBuffer`] owns the bytes read from a socket, feeds
//! them to a decoder and hands out frames that borrow its buffer. Two ways
//! to drive it:
//!
//! - [`StreamBuffer::feed`] then [`StreamBuffer::next_frame`] until `None`:
//!   `feed` refuses bytes that would take the buffer over its limit;
//! - [`StreamBuffer::receive`], for a connection's state machine (a TN3270
//!   terminal or host over [`crate::telnet::RecordDecoder`]): each call
//!   decodes what arrived (straight from the caller's bytes when nothing is
//!   pending), hands every complete frame to a handler as a borrowed view,
//!   and keeps only the unfinished rest, which may not exceed the limit.
//!
//! Either way a peer cannot make the buffer grow without bound.

use std::ops::ControlFlow;

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
#[derive(Debug, Clone)]
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

    /// Decodes the buffered bytes followed by `bytes` and calls `handle`
    /// on each complete frame, in order, until the input runs out or
    /// `handle` returns [`ControlFlow::Break`] or an error.
    ///
    /// When nothing was buffered, frames borrow `bytes` directly and only
    /// the unused rest is copied in; otherwise `bytes` is appended first.
    /// What is left is kept for the next call: after a `Break` everything
    /// not yet handled (call again, with empty `bytes`, to resume: the
    /// caller should stop reading from the peer meanwhile); after the
    /// input ran out only the start of an unfinished frame, which may not
    /// exceed the buffer limit.
    ///
    /// # Errors
    ///
    /// The handler's error; a decoder error (the peer sent something
    /// malformed, the frame that failed stays buffered); or
    /// [`Error::BufferFull`] when an unfinished frame is over the limit
    /// (those bytes are dropped). The stream should be dropped (or
    /// [`StreamBuffer::clear`]ed) after an error.
    pub fn receive<E, F>(&mut self, bytes: &[u8], mut handle: F) -> std::result::Result<(), E>
    where
        E: From<Error>,
        F: for<'f> FnMut(D::Frame<'f>) -> std::result::Result<ControlFlow<()>, E>,
    {
        self.compact();
        let end = if self.buf.is_empty() {
            let (used, end) = decode_each(&mut self.decoder, bytes, &mut handle);
            self.buf.extend_from_slice(&bytes[used..]);
            end
        } else {
            self.buf.extend_from_slice(bytes);
            let (used, end) = decode_each(&mut self.decoder, &self.buf, &mut handle);
            self.buf.advance(used);
            end
        };
        match end? {
            End::Incomplete if self.buf.len() > self.max_buffered => {
                let len = self.buf.len();
                self.buf.clear();
                Err(E::from(Error::BufferFull {
                    len,
                    limit: self.max_buffered,
                }))
            }
            End::Incomplete | End::Stopped => Ok(()),
        }
    }

    /// Drops every buffered byte (after an error, or when the peer is
    /// reset).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.consumed = 0;
    }

    /// Frees the buffer's memory when it holds nothing, so an idle
    /// connection keeps no input buffer. The next bytes kept allocate
    /// again.
    pub fn release_if_empty(&mut self) {
        self.compact();
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
    }

    /// The limit on unfinished bytes.
    pub fn max_buffered(&self) -> usize {
        self.max_buffered
    }

    /// Bytes buffered and not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.consumed
    }

    /// The decoder.
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    /// The decoder, to change its limits between frames.
    pub fn decoder_mut(&mut self) -> &mut D {
        &mut self.decoder
    }

    fn compact(&mut self) {
        if self.consumed > 0 {
            self.buf.advance(self.consumed);
            self.consumed = 0;
        }
    }
}

impl<D: Decode + Default> Default for StreamBuffer<D> {
    /// An empty buffer with the decoder's defaults and
    /// [`DEFAULT_MAX_BUFFERED`].
    fn default() -> Self {
        Self::new(D::default())
    }
}

/// Why [`decode_each`] stopped without an error.
enum End {
    /// The input ends inside a frame (or is used up).
    Incomplete,
    /// The handler returned `Break`.
    Stopped,
}

/// Hands each complete frame of `input` to `handle`; returns the bytes
/// used and why it stopped.
fn decode_each<D, E, F>(
    decoder: &mut D,
    input: &[u8],
    handle: &mut F,
) -> (usize, std::result::Result<End, E>)
where
    D: Decode,
    E: From<Error>,
    F: for<'f> FnMut(D::Frame<'f>) -> std::result::Result<ControlFlow<()>, E>,
{
    let mut pos = 0;
    while pos < input.len() {
        let (frame, used) = match decoder.decode_frame(&input[pos..]) {
            Ok(decoded) => decoded,
            Err(e) if e.is_incomplete() => break,
            Err(e) => return (pos, Err(E::from(e))),
        };
        pos += used;
        match handle(frame) {
            Ok(ControlFlow::Continue(())) => {}
            Ok(ControlFlow::Break(())) => return (pos, Ok(End::Stopped)),
            Err(e) => return (pos, Err(e)),
        }
    }
    (pos, Ok(End::Incomplete))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{FrameConfig, FrameDecoder};
    use crate::telnet::{EOR, IAC, RecordDecoder, RecordItem};

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

    /// Records handed out by `receive`, as owned bytes.
    fn records(
        stream: &mut StreamBuffer<RecordDecoder>,
        bytes: &[u8],
        stop_after: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let mut got = Vec::new();
        stream.receive(bytes, |item| {
            if let RecordItem::Record(r) = item {
                got.push(r.into_owned());
            }
            Ok::<_, Error>(if got.len() >= stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })?;
        Ok(got)
    }

    #[test]
    fn receive_hands_out_records_split_across_reads() {
        let mut s = StreamBuffer::new(RecordDecoder::default());
        let wire = [0xF1, 0xC3, IAC, EOR, 0x7D, IAC, IAC, 0x40, IAC, EOR, 0x6D];
        assert_eq!(
            records(&mut s, &wire[..3], 9).unwrap(),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(s.buffered(), 3, "the unfinished record is kept");
        assert_eq!(
            records(&mut s, &wire[3..], 9).unwrap(),
            [vec![0xF1, 0xC3], vec![0x7D, IAC, 0x40]]
        );
        assert_eq!(s.buffered(), 1);
        assert_eq!(records(&mut s, &[IAC, EOR], 9).unwrap(), [vec![0x6D]]);
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn a_handler_break_holds_the_rest_until_resumed() {
        let mut s = StreamBuffer::with_max_buffered(RecordDecoder::default(), 4);
        let wire = [1, IAC, EOR, 2, IAC, EOR, 3, IAC, EOR];
        assert_eq!(records(&mut s, &wire, 1).unwrap(), [vec![1]]);
        assert_eq!(
            s.buffered(),
            6,
            "held records are not counted against the limit"
        );
        assert_eq!(records(&mut s, &[], 9).unwrap(), [vec![2], vec![3]]);
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn an_unfinished_record_over_the_limit_is_refused_and_dropped() {
        let mut s = StreamBuffer::with_max_buffered(RecordDecoder::default(), 4);
        assert_eq!(records(&mut s, &[1, 2, 3], 9).unwrap().len(), 0);
        assert_eq!(
            records(&mut s, &[4, 5], 9),
            Err(Error::BufferFull { len: 5, limit: 4 })
        );
        assert_eq!(s.buffered(), 0);
        assert_eq!(
            records(
                &mut StreamBuffer::with_max_buffered(RecordDecoder::default(), 4),
                &[9; 5],
                9
            ),
            Err(Error::BufferFull { len: 5, limit: 4 })
        );
    }

    #[test]
    fn malformed_input_is_the_decoders_error() {
        let mut s = StreamBuffer::new(RecordDecoder::default());
        let err = records(&mut s, &[1, IAC, EOR, 2, IAC, 0x01], 9);
        assert!(matches!(err, Err(Error::Invalid { .. })), "{err:?}");
    }

    #[test]
    fn release_if_empty_frees_the_buffer_only_when_empty() {
        let mut s = StreamBuffer::new(RecordDecoder::default());
        records(&mut s, &[1, 2], 9).unwrap();
        s.release_if_empty();
        assert_eq!(s.buffered(), 2);
        records(&mut s, &[IAC, EOR], 9).unwrap();
        s.release_if_empty();
        assert_eq!(s.buffered(), 0);
    }
}
