//! A read cursor over a byte slice.
//!
//! [`Cursor`] reads big-endian integers and slices from `&[u8]` without
//! copying. A read past the end returns [`Error::Incomplete`] with the number
//! of missing bytes, so a streaming caller knows to wait; callers that find a
//! malformed value report [`Error::Invalid`] with [`Cursor::position`].

use crate::error::{Error, Result};

/// A position in a borrowed byte slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The whole underlying slice.
    pub fn get_ref(&self) -> &'a [u8] {
        self.buf
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        // The position never passes the end: every advance is checked.
        &self.buf[self.pos..]
    }

    /// How many bytes are left.
    pub fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// The next byte without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// The next `n` bytes without consuming them.
    pub fn peek_slice(&self, n: usize) -> Result<&'a [u8]> {
        self.check(n)?;
        Ok(&self.buf[self.pos..self.pos + n])
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8> {
        let b = self.peek().ok_or(Error::Incomplete { needed: 1 })?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads a big-endian `u16`.
    pub fn be_u16(&mut self) -> Result<u16> {
        let s = self.slice(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    /// Reads a big-endian `u32`.
    pub fn be_u32(&mut self) -> Result<u32> {
        let s = self.slice(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }

    /// Reads `n` bytes as a borrowed slice.
    pub fn slice(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self.peek_slice(n)?;
        self.pos += n;
        Ok(s)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.slice(n).map(|_| ())
    }

    /// Reads everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.remaining();
        self.pos = self.buf.len();
        s
    }

    /// Consumes `expected` or fails with [`Error::Invalid`] naming `reason`.
    pub fn expect_byte(&mut self, expected: u8, reason: &'static str) -> Result<()> {
        let offset = self.pos;
        let b = self.u8()?;
        if b == expected {
            Ok(())
        } else {
            Err(Error::Invalid {
                offset,
                byte: b,
                reason,
            })
        }
    }

    /// An [`Error::Invalid`] at the current position.
    pub fn invalid(&self, reason: &'static str) -> Error {
        Error::Invalid {
            offset: self.pos,
            byte: self.peek().unwrap_or(0),
            reason,
        }
    }

    fn check(&self, n: usize) -> Result<()> {
        let left = self.len();
        if left >= n {
            Ok(())
        } else {
            Err(Error::Incomplete { needed: n - left })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_past_end_is_incomplete_with_missing_count() {
        let mut c = Cursor::new(&[1, 2, 3]);
        assert_eq!(c.u8(), Ok(1));
        assert_eq!(c.be_u32(), Err(Error::Incomplete { needed: 2 }));
        assert_eq!(c.position(), 1, "a failed read consumes nothing");
        assert_eq!(c.be_u16(), Ok(0x0203));
        assert!(c.is_empty());
    }

    #[test]
    fn expect_byte_reports_offset_and_byte() {
        let mut c = Cursor::new(b"ab");
        c.skip(1).unwrap();
        let err = c.expect_byte(b'x', "x expected").unwrap_err();
        assert_eq!(
            err,
            Error::Invalid {
                offset: 1,
                byte: b'b',
                reason: "x expected"
            }
        );
        assert!(!err.is_incomplete());
        assert_eq!(err.to_string(), "invalid byte 0x62 at offset 1: x expected");
    }
}
