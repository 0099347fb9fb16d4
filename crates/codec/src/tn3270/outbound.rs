//! Parsing outbound (host → terminal) 3270 records.
//!
//! [`OutboundParser::parse`] reads the command and returns the orders as an
//! iterator; text runs are slices of the record, so parsing a screen
//! allocates nothing.

use super::address::{AddressMode, ScreenSize, decode_address};
use super::codes::{Command, ExtendedAttribute, FieldAttribute, Wcc, is_text, order};
use super::query::StructuredFields;
use crate::error::{Error, Result};

/// One order (or text run) of a write command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order<'a> {
    /// Characters written at the current address (graphics and format
    /// controls), borrowed from the record.
    Text(&'a [u8]),
    /// SF: a field starts here.
    StartField(FieldAttribute),
    /// SFE: a field with extended attributes starts here.
    StartFieldExtended(Attributes<'a>),
    /// SBA: move the current address.
    SetBufferAddress(u16),
    /// SA: set a character attribute for the following text.
    SetAttribute(ExtendedAttribute),
    /// MF: change attributes of the field at the current address.
    ModifyField(Attributes<'a>),
    /// IC: put the cursor at the current address.
    InsertCursor,
    /// PT: tab to the next unprotected field.
    ProgramTab,
    /// RA: repeat a character up to (not including) an address.
    RepeatToAddress {
        /// The stop address.
        address: u16,
        /// The character; GE characters are marked as such.
        ch: super::ebcdic::ScreenChar,
    },
    /// EUA: erase unprotected cells up to an address.
    EraseUnprotectedToAddress(u16),
    /// GE: one character from the graphic-escape code page.
    GraphicEscape(u8),
}

/// The type/value pairs of SFE or MF, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes<'a>(&'a [u8]);

impl<'a> Attributes<'a> {
    /// Wraps raw pairs; an odd trailing byte is ignored.
    pub fn from_pairs(raw: &'a [u8]) -> Self {
        Self(raw)
    }

    /// The raw pair bytes.
    pub fn raw(&self) -> &'a [u8] {
        self.0
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }

    /// True with no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.len() < 2
    }

    /// The pairs, decoded.
    pub fn iter(&self) -> impl Iterator<Item = ExtendedAttribute> + 'a {
        self.0
            .chunks_exact(2)
            .map(|p| ExtendedAttribute::from_pair(p[0], p[1]))
    }

    /// The basic field attribute among the pairs (type 0xC0), if any.
    pub fn field(&self) -> Option<FieldAttribute> {
        self.iter().find_map(|a| match a {
            ExtendedAttribute::Field(f) => Some(f),
            _ => None,
        })
    }
}

/// A parsed outbound record.
#[derive(Debug, Clone)]
pub enum Outbound<'a> {
    /// W, EW or EWA with its WCC and orders.
    Write {
        /// Which write.
        command: Command,
        /// The write control character.
        wcc: Wcc,
        /// The orders, parsed lazily.
        orders: Orders<'a>,
    },
    /// RB, RM or RMA: the terminal must answer with an inbound record.
    Read(Command),
    /// EAU.
    EraseAllUnprotected,
    /// WSF and its structured fields.
    WriteStructuredField(StructuredFields<'a>),
}

/// Parses outbound records for a terminal with the given screen sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboundParser {
    /// Default screen (used by EW).
    pub primary: ScreenSize,
    /// Alternate screen (used by EWA).
    pub alternate: ScreenSize,
    /// Whether the alternate screen is active (W and EAU use it then).
    pub alternate_active: bool,
    /// Address form in use.
    pub address_mode: AddressMode,
}

impl OutboundParser {
    /// Parses the command (and WCC) of `record` (telnet framing removed).
    pub fn parse<'a>(&self, record: &'a [u8]) -> Result<Outbound<'a>> {
        let Some(&first) = record.first() else {
            return Err(Error::Invalid {
                offset: 0,
                byte: 0,
                reason: "empty 3270 record",
            });
        };
        let command = Command::from_byte(first).ok_or(Error::UnknownCommand {
            offset: 0,
            byte: first,
        })?;
        let screen = match command {
            Command::EraseWrite => self.primary,
            Command::EraseWriteAlternate => self.alternate,
            _ if self.alternate_active => self.alternate,
            _ => self.primary,
        };
        Ok(match command {
            Command::Write | Command::EraseWrite | Command::EraseWriteAlternate => {
                // A write may legally be just the command (no WCC).
                let wcc = Wcc(record.get(1).copied().unwrap_or(0));
                let start = record.len().min(2);
                let orders = Orders::new(&record[start..], start, screen, self.address_mode);
                Outbound::Write {
                    command,
                    wcc,
                    orders,
                }
            }
            Command::ReadBuffer | Command::ReadModified | Command::ReadModifiedAll => {
                Outbound::Read(command)
            }
            Command::EraseAllUnprotected => Outbound::EraseAllUnprotected,
            Command::WriteStructuredField => {
                Outbound::WriteStructuredField(StructuredFields::new(&record[1..], 1))
            }
        })
    }
}

/// Iterator over the orders of a write; stops after the first error.
#[derive(Debug, Clone)]
pub struct Orders<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    buffer_len: u32,
    mode: AddressMode,
}

impl<'a> Orders<'a> {
    /// Orders in `data`, which starts `base` bytes into its record;
    /// addresses must be below `screen.buffer_len()`.
    pub fn new(data: &'a [u8], base: usize, screen: ScreenSize, mode: AddressMode) -> Self {
        Self {
            data,
            pos: 0,
            base,
            buffer_len: screen.buffer_len(),
            mode,
        }
    }

    /// Offset in the record of the next order.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn fail(&mut self, e: Error) -> Option<Result<Order<'a>>> {
        self.pos = self.data.len();
        Some(Err(e))
    }

    fn truncated(&self) -> Error {
        Error::Invalid {
            offset: self.base + self.data.len(),
            byte: 0,
            reason: "record ends inside an order",
        }
    }

    fn operand(&self, at: usize, n: usize) -> Result<&'a [u8]> {
        self.data.get(at..at + n).ok_or_else(|| self.truncated())
    }

    fn address(&self, at: usize) -> Result<u16> {
        let b = self.operand(at, 2)?;
        let address = decode_address([b[0], b[1]], self.mode);
        if u32::from(address) >= self.buffer_len {
            return Err(Error::AddressOutOfScreen {
                offset: self.base + at,
                address: address.into(),
                buffer_len: self.buffer_len,
            });
        }
        Ok(address)
    }

    #[inline]
    fn text_run(&mut self) -> Order<'a> {
        let start = self.pos;
        let end = start + text_len(&self.data[start..]);
        self.pos = end;
        Order::Text(&self.data[start..end])
    }

    #[inline]
    fn order(&mut self, code: u8) -> Result<Order<'a>> {
        let at = self.pos + 1;
        let (order, used) = match code {
            order::SF => (
                Order::StartField(FieldAttribute::from_byte(self.operand(at, 1)?[0])),
                1,
            ),
            order::SBA => (Order::SetBufferAddress(self.address(at)?), 2),
            order::SA => {
                let p = self.operand(at, 2)?;
                (
                    Order::SetAttribute(ExtendedAttribute::from_pair(p[0], p[1])),
                    2,
                )
            }
            order::SFE | order::MF => {
                let count = usize::from(self.operand(at, 1)?[0]);
                let pairs = Attributes(self.operand(at + 1, count * 2)?);
                let o = if code == order::SFE {
                    Order::StartFieldExtended(pairs)
                } else {
                    Order::ModifyField(pairs)
                };
                (o, 1 + count * 2)
            }
            order::IC => (Order::InsertCursor, 0),
            order::PT => (Order::ProgramTab, 0),
            order::RA => self.repeat(at)?,
            order::EUA => (Order::EraseUnprotectedToAddress(self.address(at)?), 2),
            order::GE => (Order::GraphicEscape(self.operand(at, 1)?[0]), 1),
            _ => {
                return Err(Error::UnknownOrder {
                    offset: self.base + self.pos,
                    byte: code,
                });
            }
        };
        self.pos = at + used;
        Ok(order)
    }

    fn repeat(&self, at: usize) -> Result<(Order<'a>, usize)> {
        use super::ebcdic::ScreenChar;
        let address = self.address(at)?;
        let c = self.operand(at + 2, 1)?[0];
        if c == order::GE {
            let g = self.operand(at + 3, 1)?[0];
            Ok((
                Order::RepeatToAddress {
                    address,
                    ch: ScreenChar::GraphicEscape(g),
                },
                4,
            ))
        } else {
            Ok((
                Order::RepeatToAddress {
                    address,
                    ch: ScreenChar::Base(c),
                },
                3,
            ))
        }
    }
}

impl<'a> Iterator for Orders<'a> {
    type Item = Result<Order<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let &b = self.data.get(self.pos)?;
        if is_text(b) {
            return Some(Ok(self.text_run()));
        }
        match self.order(b) {
            Ok(o) => Some(Ok(o)),
            Err(e) => self.fail(e),
        }
    }
}

/// Length of the text run at the start of `data`.
///
/// Eight bytes at a time: a byte is a graphic when bit 7 or bit 6 is set,
/// so `(w | w << 1) & 0x80…80` has bit 7 clear exactly at the bytes below
/// 0x40 (the shift moves bit 6 of each byte onto its own bit 7; bits moving
/// into the next byte land on bit 0, which is masked off). The first such
/// byte ends the run unless it is a format control, which is text.
#[inline]
fn text_len(data: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = data.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let low = !(w | (w << 1)) & HIGH;
        if low == 0 {
            i += 8;
            continue;
        }
        let at = i + (low.trailing_zeros() / 8) as usize;
        if !is_text(data[at]) {
            return at;
        }
        i = at + 1;
    }
    while i < data.len() && is_text(data[i]) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests;
