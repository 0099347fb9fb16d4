//! Building outbound records on the host side.

use super::address::{AddressMode, ScreenSize, encode_address};
use super::codes::{Command, ExtendedAttribute, FieldAttribute, Wcc, is_text, order};
use super::ebcdic::{CodePage, ScreenChar};
use crate::error::{Error, Result};

/// Builds a W/EW/EWA record order by order.
///
/// Methods chain; the first error (an address outside the screen, a text
/// byte that would read as an order) is kept and returned by
/// [`RecordBuilder::finish`].
///
/// ```
/// use ballast_codec::tn3270::{Command, FieldAttribute, RecordBuilder, ScreenSize, Wcc};
///
/// let record = RecordBuilder::new(Command::EraseWrite, Wcc(0xC3), ScreenSize::MODEL_2)
///     .sba(0, 0)
///     .start_field(FieldAttribute::new().protect())
///     .text_str("USER:")
///     .start_field(FieldAttribute::new())
///     .insert_cursor()
///     .finish()
///     .unwrap();
/// assert_eq!(&record[..4], [0xF5, 0xC3, 0x11, 0x40]);
/// ```
#[derive(Debug, Clone)]
pub struct RecordBuilder {
    buf: Vec<u8>,
    screen: ScreenSize,
    mode: AddressMode,
    page: CodePage,
    error: Option<Error>,
}

impl RecordBuilder {
    /// Starts a record with `command` (SNA code point) and `wcc`.
    pub fn new(command: Command, wcc: Wcc, screen: ScreenSize) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.push(command.sna_byte());
        if command.is_write() {
            buf.push(wcc.0);
        }
        Self {
            buf,
            screen,
            mode: AddressMode::default(),
            page: CodePage::default(),
            error: None,
        }
    }

    /// Uses `mode` for addresses (default 12/14-bit).
    pub fn address_mode(mut self, mode: AddressMode) -> Self {
        self.mode = mode;
        self
    }

    /// Uses `page` for [`RecordBuilder::text_str`] (default 037).
    pub fn code_page(mut self, page: CodePage) -> Self {
        self.page = page;
        self
    }

    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    fn put_address(&mut self, row: u16, col: u16) {
        let Some(addr) = self.screen.address(row, col) else {
            let address = u32::from(row) * u32::from(self.screen.cols) + u32::from(col);
            let buffer_len = self.screen.buffer_len();
            return self.fail(Error::AddressOutOfScreen {
                offset: self.buf.len(),
                address,
                buffer_len,
            });
        };
        match encode_address(addr, self.mode) {
            Ok(b) => self.buf.extend_from_slice(&b),
            Err(e) => self.fail(e),
        }
    }

    /// SBA to zero-based (`row`, `col`).
    pub fn sba(mut self, row: u16, col: u16) -> Self {
        self.buf.push(order::SBA);
        self.put_address(row, col);
        self
    }

    /// SF with `attr`.
    pub fn start_field(mut self, attr: FieldAttribute) -> Self {
        self.buf.extend_from_slice(&[order::SF, attr.to_byte()]);
        self
    }

    /// SFE with `attr` and extended attributes.
    pub fn start_field_extended(mut self, attr: FieldAttribute, ext: &[ExtendedAttribute]) -> Self {
        let Ok(count) = u8::try_from(ext.len() + 1) else {
            self.fail(Error::Config {
                field: "ext",
                reason: "has more than 254 attributes",
            });
            return self;
        };
        self.buf.extend_from_slice(&[order::SFE, count]);
        self.buf
            .extend_from_slice(&ExtendedAttribute::Field(attr).to_pair());
        ext.iter()
            .for_each(|a| self.buf.extend_from_slice(&a.to_pair()));
        self
    }

    /// MF with the given attributes.
    pub fn modify_field(mut self, ext: &[ExtendedAttribute]) -> Self {
        let Ok(count) = u8::try_from(ext.len()) else {
            self.fail(Error::Config {
                field: "ext",
                reason: "has more than 255 attributes",
            });
            return self;
        };
        self.buf.extend_from_slice(&[order::MF, count]);
        ext.iter()
            .for_each(|a| self.buf.extend_from_slice(&a.to_pair()));
        self
    }

    /// SA.
    pub fn set_attribute(mut self, attr: ExtendedAttribute) -> Self {
        self.buf.push(order::SA);
        self.buf.extend_from_slice(&attr.to_pair());
        self
    }

    /// EBCDIC text; every byte must be a graphic or format control.
    pub fn text(mut self, ebcdic: &[u8]) -> Self {
        if let Some(i) = ebcdic.iter().position(|&b| !is_text(b)) {
            let offset = self.buf.len() + i;
            self.fail(Error::Invalid {
                offset,
                byte: ebcdic[i],
                reason: "order code in text",
            });
        } else {
            self.buf.extend_from_slice(ebcdic);
        }
        self
    }

    /// Text converted with the builder's code page; characters outside
    /// Latin-1 become `?`, control characters become spaces.
    pub fn text_str(mut self, s: &str) -> Self {
        let start = self.buf.len();
        self.page.encode_into(s, &mut self.buf);
        for b in &mut self.buf[start..] {
            if !is_text(*b) {
                *b = 0x40;
            }
        }
        self
    }

    /// IC: the cursor goes to the current address.
    pub fn insert_cursor(mut self) -> Self {
        self.buf.push(order::IC);
        self
    }

    /// PT.
    pub fn program_tab(mut self) -> Self {
        self.buf.push(order::PT);
        self
    }

    /// RA: repeat `ch` up to (not including) (`row`, `col`).
    pub fn repeat_to(mut self, row: u16, col: u16, ch: ScreenChar) -> Self {
        self.buf.push(order::RA);
        self.put_address(row, col);
        match ch {
            ScreenChar::Base(b) => self.buf.push(b),
            ScreenChar::GraphicEscape(b) => self.buf.extend_from_slice(&[order::GE, b]),
        }
        self
    }

    /// EUA up to (`row`, `col`).
    pub fn erase_unprotected_to(mut self, row: u16, col: u16) -> Self {
        self.buf.push(order::EUA);
        self.put_address(row, col);
        self
    }

    /// GE: one graphic-escape character.
    pub fn graphic_escape(mut self, b: u8) -> Self {
        self.buf.extend_from_slice(&[order::GE, b]);
        self
    }

    /// The record, or the first error met while building it.
    pub fn finish(self) -> Result<Vec<u8>> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.buf),
        }
    }
}
