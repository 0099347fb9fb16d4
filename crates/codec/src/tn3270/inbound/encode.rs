//! The terminal's answers: Read Modified, Read Modified All, Read Buffer,
//! the unformatted screen and short reads, written from an
//! [`InboundScreen`] straight into the caller's buffer.

use bytes::BufMut;

use crate::error::{Error, Result};
use crate::tn3270::address::{AddressMode, encode_address};
use crate::tn3270::codes::{Aid, Command, FieldAttribute, order};

/// A field attribute cell of the screen: where a field starts and what it
/// is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldStart {
    /// Address of the attribute cell; the field's data begins at the next
    /// cell (wrapping to 0 at the end of the buffer).
    pub address: u16,
    /// The field attribute (its MDT says whether Read Modified sends the
    /// field).
    pub attribute: FieldAttribute,
}

/// What the inbound encoders read from a terminal's screen.
///
/// A terminal implements it on its own screen, so answering a read copies
/// no cells into an intermediate form; [`ScreenImage`] is an owned
/// implementation for tests and tools.
pub trait InboundScreen {
    /// How addresses are written (12/14-bit or 16-bit).
    fn address_mode(&self) -> AddressMode;

    /// The cursor address.
    fn cursor(&self) -> u16;

    /// One EBCDIC byte per cell in address order, 0 for a null; its length
    /// is the buffer size. The bytes of field attribute cells are ignored.
    fn cells(&self) -> &[u8];

    /// Number of fields; 0 for an unformatted screen.
    fn field_count(&self) -> usize;

    /// Field `index`, counted in ascending attribute address; `None` at or
    /// past [`InboundScreen::field_count`].
    fn field(&self, index: usize) -> Option<FieldStart>;
}

/// An owned screen: cells, fields and cursor. Implements
/// [`InboundScreen`] for tests, tools and simulated terminals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScreenImage {
    /// How addresses are written.
    pub address_mode: AddressMode,
    /// The cursor address.
    pub cursor: u16,
    /// One EBCDIC byte per cell, 0 for a null.
    pub cells: Vec<u8>,
    /// The fields, in ascending attribute address.
    pub fields: Vec<FieldStart>,
}

impl InboundScreen for ScreenImage {
    fn address_mode(&self) -> AddressMode {
        self.address_mode
    }

    fn cursor(&self) -> u16 {
        self.cursor
    }

    fn cells(&self) -> &[u8] {
        &self.cells
    }

    fn field_count(&self) -> usize {
        self.fields.len()
    }

    fn field(&self, index: usize) -> Option<FieldStart> {
        self.fields.get(index).copied()
    }
}

/// Writes the answer to a key press or a Read Modified command: the AID
/// alone for Clear and PA keys (a short read), else the AID, the cursor
/// address and then
///
/// - on a formatted screen, SBA + the address of the first data cell + the
///   data, nulls removed, for each field whose MDT is set (a modified field
///   that is empty or all nulls still sends its SBA and address);
/// - on an unformatted screen, every non-null cell from address 0, with no
///   SBA.
///
/// Data bytes are written as they are (an 0xFF is doubled by the record
/// framing, [`crate::telnet::encode_record`]).
///
/// # Errors
///
/// [`Error::Config`] for an AID without a wire byte, an address the mode
/// cannot express, or a field outside the buffer; `out` may then hold a
/// partial record.
pub fn encode_read_modified<S, B>(aid: Aid, screen: &S, out: &mut B) -> Result<()>
where
    S: InboundScreen + ?Sized,
    B: BufMut,
{
    if aid.is_short_read() {
        return encode_short_read(aid, out);
    }
    encode_read_modified_all(aid, screen, out)
}

/// Writes the answer to Read Modified All: like
/// [`encode_read_modified`], but the modified fields follow the cursor
/// whatever the AID (Clear and PA keys included).
///
/// # Errors
///
/// As [`encode_read_modified`].
pub fn encode_read_modified_all<S, B>(aid: Aid, screen: &S, out: &mut B) -> Result<()>
where
    S: InboundScreen + ?Sized,
    B: BufMut,
{
    let mode = screen.address_mode();
    put_aid_and_cursor(aid, screen, out)?;
    if screen.field_count() == 0 {
        put_non_null(screen.cells(), out);
        return Ok(());
    }
    for span in FieldSpans::new(screen)? {
        let span = span?;
        if !span.attribute.is_modified() {
            continue;
        }
        out.put_u8(order::SBA);
        out.put_slice(&encode_address(span.start, mode)?);
        let (head, tail) = span.data(screen.cells());
        put_non_null(head, out);
        put_non_null(tail, out);
    }
    Ok(())
}

/// Writes the answer to Read Buffer: the AID, the cursor address, then
/// every cell of the buffer from address 0, nulls included, each field
/// attribute cell as SF + its attribute byte.
///
/// # Errors
///
/// [`Error::Config`] for an AID without a wire byte, a cursor the mode
/// cannot express, or fields outside the buffer or out of order.
pub fn encode_read_buffer<S, B>(aid: Aid, screen: &S, out: &mut B) -> Result<()>
where
    S: InboundScreen + ?Sized,
    B: BufMut,
{
    put_aid_and_cursor(aid, screen, out)?;
    let cells = screen.cells();
    let mut next = 0;
    for index in 0..screen.field_count() {
        let Some(field) = screen.field(index) else {
            break;
        };
        let at = usize::from(field.address);
        if at < next || at >= cells.len() {
            return Err(Error::Config {
                field: "screen fields",
                reason: "are out of order or outside the buffer",
            });
        }
        out.put_slice(&cells[next..at]);
        out.put_slice(&[order::SF, field.attribute.to_byte()]);
        next = at + 1;
    }
    out.put_slice(&cells[next..]);
    Ok(())
}

/// Writes a short read: the AID alone (Clear, PA keys, SysReq).
///
/// # Errors
///
/// [`Error::Config`] for an AID without a wire byte.
pub fn encode_short_read<B: BufMut>(aid: Aid, out: &mut B) -> Result<()> {
    out.put_u8(aid_byte(aid)?);
    Ok(())
}

/// Writes the answer to the host's read `command`: Read Buffer, Read
/// Modified All, or Read Modified for any other command. `aid` is the
/// last AID the operator sent ([`Aid::NoAid`] if none).
///
/// # Errors
///
/// As the encoder chosen.
pub fn encode_read_reply<S, B>(command: Command, aid: Aid, screen: &S, out: &mut B) -> Result<()>
where
    S: InboundScreen + ?Sized,
    B: BufMut,
{
    match command {
        Command::ReadBuffer => encode_read_buffer(aid, screen, out),
        Command::ReadModifiedAll => encode_read_modified_all(aid, screen, out),
        _ => encode_read_modified(aid, screen, out),
    }
}

fn aid_byte(aid: Aid) -> Result<u8> {
    aid.byte().ok_or(Error::Config {
        field: "aid",
        reason: "is out of range",
    })
}

fn put_aid_and_cursor<S, B>(aid: Aid, screen: &S, out: &mut B) -> Result<()>
where
    S: InboundScreen + ?Sized,
    B: BufMut,
{
    let aid = aid_byte(aid)?;
    let cursor = encode_address(screen.cursor(), screen.address_mode())?;
    out.put_slice(&[aid, cursor[0], cursor[1]]);
    Ok(())
}

/// Appends `cells` without its nulls.
fn put_non_null<B: BufMut>(cells: &[u8], out: &mut B) {
    let mut rest = cells;
    while let Some(null) = memchr::memchr(0, rest) {
        out.put_slice(&rest[..null]);
        rest = &rest[null + 1..];
    }
    out.put_slice(rest);
}

/// A field's data cells: `len` cells from `start`, wrapping at the end of
/// the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSpan {
    attribute: FieldAttribute,
    start: u16,
    len: usize,
}

impl FieldSpan {
    /// The data cells as up to two runs (the second after a wrap).
    fn data(self, cells: &[u8]) -> (&[u8], &[u8]) {
        let start = usize::from(self.start);
        let first = self.len.min(cells.len() - start);
        (&cells[start..start + first], &cells[..self.len - first])
    }
}

/// The fields of a screen with their data spans: each runs from the cell
/// after its attribute to the cell before the next attribute (the last one
/// wraps round to the first attribute).
struct FieldSpans<'s, S: ?Sized> {
    screen: &'s S,
    buffer_len: usize,
    first: usize,
    index: usize,
    count: usize,
}

impl<'s, S: InboundScreen + ?Sized> FieldSpans<'s, S> {
    fn new(screen: &'s S) -> Result<Self> {
        let buffer_len = screen.cells().len();
        let count = screen.field_count();
        let first = match screen.field(0) {
            Some(f) => check_address(f.address, buffer_len)?,
            None => 0,
        };
        Ok(Self {
            screen,
            buffer_len,
            first,
            index: 0,
            count,
        })
    }

    fn span(&self, field: FieldStart) -> Result<FieldSpan> {
        let n = self.buffer_len;
        let at = check_address(field.address, n)?;
        let next = match self.screen.field(self.index + 1) {
            Some(f) if self.index + 1 < self.count => check_address(f.address, n)?,
            _ => self.first,
        };
        let start = u16::try_from((at + 1) % n).map_err(|_| outside())?;
        Ok(FieldSpan {
            attribute: field.attribute,
            start,
            len: (next + n - at - 1) % n,
        })
    }
}

impl<S: InboundScreen + ?Sized> Iterator for FieldSpans<'_, S> {
    type Item = Result<FieldSpan>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.index >= self.count {
            return None;
        }
        let span = match self.screen.field(self.index) {
            Some(field) => self.span(field),
            None => Err(outside()),
        };
        self.index = if span.is_ok() {
            self.index + 1
        } else {
            self.count
        };
        Some(span)
    }
}

fn check_address(address: u16, buffer_len: usize) -> Result<usize> {
    let at = usize::from(address);
    if at < buffer_len {
        Ok(at)
    } else {
        Err(outside())
    }
}

fn outside() -> Error {
    Error::Config {
        field: "screen fields",
        reason: "are outside the buffer",
    }
}
