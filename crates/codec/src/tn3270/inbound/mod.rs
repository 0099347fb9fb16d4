//! Inbound (terminal → host) records: AID, cursor and modified fields.
//!
//! The terminal writes them with [`encode_read_modified`],
//! [`encode_read_modified_all`], [`encode_read_buffer`] and
//! [`encode_short_read`] (or [`encode_read_reply`] for a host's read
//! command) from any screen that implements [`InboundScreen`]; the host
//! reads them with [`Inbound`].

mod encode;

pub use encode::{
    FieldStart, InboundScreen, ScreenImage, encode_read_buffer, encode_read_modified,
    encode_read_modified_all, encode_read_reply, encode_short_read,
};

use super::address::{AddressMode, ScreenSize, decode_address};
use super::codes::{Aid, order};
use super::query::StructuredFields;
use crate::error::{Error, Result};

/// A parsed inbound record (host side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inbound<'a> {
    /// The key.
    pub aid: Aid,
    /// Cursor address, `None` for short reads and structured fields.
    pub cursor: Option<u16>,
    body: &'a [u8],
    base: usize,
    buffer_len: u32,
    mode: AddressMode,
}

impl<'a> Inbound<'a> {
    /// Parses `record` from a terminal with screen `screen`.
    pub fn parse(record: &'a [u8], screen: ScreenSize, mode: AddressMode) -> Result<Self> {
        let &first = record.first().ok_or(Error::Invalid {
            offset: 0,
            byte: 0,
            reason: "empty inbound record",
        })?;
        let aid = Aid::from_byte(first).ok_or(Error::Invalid {
            offset: 0,
            byte: first,
            reason: "unknown aid",
        })?;
        let buffer_len = screen.buffer_len();
        let mut me = Self {
            aid,
            cursor: None,
            body: &record[1..],
            base: 1,
            buffer_len,
            mode,
        };
        if aid == Aid::StructuredField || record.len() == 1 {
            return Ok(me);
        }
        let [hi, lo, ..] = record[1..] else {
            return Err(Error::Invalid {
                offset: 1,
                byte: record[1],
                reason: "cursor address cut short",
            });
        };
        let cursor = decode_address([hi, lo], mode);
        if u32::from(cursor) >= buffer_len {
            return Err(Error::AddressOutOfScreen {
                offset: 1,
                address: cursor.into(),
                buffer_len,
            });
        }
        me.cursor = Some(cursor);
        me.body = &record[3..];
        me.base = 3;
        Ok(me)
    }

    /// The modified fields of a formatted screen: (address, data) pairs,
    /// data borrowed. A record from an unformatted screen has no SBA: read
    /// [`Inbound::unformatted_data`] instead.
    pub fn fields(&self) -> InboundFields<'a> {
        InboundFields {
            data: self.body,
            pos: 0,
            base: self.base,
            buffer_len: self.buffer_len,
            mode: self.mode,
        }
    }

    /// The text of an unformatted screen (non-null cells from address 0)
    /// when the data after the cursor does not start with SBA; `None` for a
    /// formatted answer, a short read or a structured field.
    pub fn unformatted_data(&self) -> Option<&'a [u8]> {
        match self.body {
            [] | [order::SBA, ..] => None,
            _ if self.cursor.is_none() => None,
            body => Some(body),
        }
    }

    /// The structured fields of an AID 0x88 record.
    pub fn structured_fields(&self) -> StructuredFields<'a> {
        StructuredFields::new(self.body, self.base)
    }
}

/// Iterator over (address, data) of an inbound record; stops after the
/// first error.
#[derive(Debug, Clone)]
pub struct InboundFields<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    buffer_len: u32,
    mode: AddressMode,
}

impl<'a> InboundFields<'a> {
    fn field(&mut self) -> Result<(u16, &'a [u8])> {
        let rest = &self.data[self.pos..];
        let offset = self.base + self.pos;
        let [order::SBA, hi, lo, ..] = *rest else {
            return Err(Error::Invalid {
                offset,
                byte: rest[0],
                reason: "sba and address expected",
            });
        };
        let address = decode_address([hi, lo], self.mode);
        if u32::from(address) >= self.buffer_len {
            return Err(Error::AddressOutOfScreen {
                offset: offset + 1,
                address: address.into(),
                buffer_len: self.buffer_len,
            });
        }
        let data = &rest[3..];
        let len = memchr::memchr(order::SBA, data).unwrap_or(data.len());
        self.pos += 3 + len;
        Ok((address, &data[..len]))
    }
}

impl<'a> Iterator for InboundFields<'a> {
    type Item = Result<(u16, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let r = self.field();
        if r.is_err() {
            self.pos = self.data.len();
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests;
