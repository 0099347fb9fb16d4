//! Applying host writes (W, EW, EWA, EAU and WSF's Outbound 3270DS) to a
//! [`Screen`], every order included.

use ballast_codec::tn3270::{
    Command, ExtendedAttribute, FieldAttribute, Order, Orders, ScreenChar, Wcc,
};

use crate::error::Result;
use crate::screen::{Screen, pack_color, pack_highlight};

/// What a write did that the session must report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WriteEffect {
    /// The WCC restored the keyboard.
    pub(crate) unlocked: bool,
    /// The WCC sounded the alarm.
    pub(crate) alarm: bool,
}

/// The state of one write while its orders are applied.
struct Writer {
    address: u16,
    /// Packed color and highlight from SA.
    ext: u8,
    /// True right after text was written (PT then nulls the field's rest).
    after_text: bool,
}

impl Screen {
    /// Applies a W/EW/EWA: the screen is erased first for EW/EWA. On an
    /// error (a bad order) the orders before it stay applied and the field
    /// table is consistent.
    pub(crate) fn apply_write(
        &mut self,
        command: Command,
        wcc: Wcc,
        orders: Orders<'_>,
    ) -> Result<WriteEffect> {
        match command {
            Command::EraseWrite => self.reset(self.primary_size()),
            Command::EraseWriteAlternate => self.reset(self.alternate_size()),
            _ => {}
        }
        if wcc.has(Wcc::RESET_MDT) {
            self.reset_mdts();
        }
        let mut w = Writer {
            // W starts at the cursor; EW/EWA reset it to 0 above.
            address: self.cursor,
            ext: 0,
            after_text: false,
        };
        let mut result: Result<()> = Ok(());
        for order in orders {
            match order {
                Ok(o) => self.apply_order(&mut w, o),
                Err(e) => {
                    result = Err(e.into());
                    break;
                }
            }
        }
        self.rebuild_fields();
        result?;
        let effect = WriteEffect {
            unlocked: wcc.has(Wcc::KEYBOARD_RESTORE),
            alarm: wcc.has(Wcc::SOUND_ALARM),
        };
        if effect.unlocked {
            self.locked = false;
        }
        Ok(effect)
    }

    fn advance(&self, w: &mut Writer) {
        w.address = self.wrap(u32::from(w.address) + 1);
    }

    fn apply_order(&mut self, w: &mut Writer, order: Order<'_>) {
        let was_text = std::mem::replace(&mut w.after_text, false);
        match order {
            Order::Text(bytes) => {
                self.put_text(w, bytes);
                w.after_text = true;
            }
            Order::GraphicEscape(b) => {
                self.put_char(w.address, b, w.ext);
                self.advance(w);
                w.after_text = true;
            }
            Order::StartField(attr) => self.start_field(w, attr, std::iter::empty()),
            Order::StartFieldExtended(pairs) => {
                let attr = pairs.field().unwrap_or_default();
                self.start_field(w, attr, pairs.iter());
            }
            Order::SetBufferAddress(a) => w.address = a,
            Order::SetAttribute(ext) => match ext {
                ExtendedAttribute::Reset => w.ext = 0,
                ExtendedAttribute::Foreground(c) => w.ext = (w.ext & 0xF0) | pack_color(c.0),
                ExtendedAttribute::Highlight(h) => w.ext = (w.ext & 0x0F) | pack_highlight(h.0),
                _ => {}
            },
            Order::ModifyField(pairs) => {
                if let Some(old) = self.attribute_at(w.address) {
                    let attr = pairs.field().unwrap_or(old);
                    self.put_attribute(w.address, attr);
                    self.put_extended(w.address, pairs.iter());
                    self.advance(w);
                }
            }
            Order::InsertCursor => self.cursor = w.address,
            Order::ProgramTab => self.program_tab(w, was_text),
            Order::RepeatToAddress { address, ch } => {
                let b = match ch {
                    ScreenChar::Base(b) | ScreenChar::GraphicEscape(b) => b,
                };
                // At most one lap: RA to the current address fills the
                // whole buffer.
                for _ in 0..self.len() {
                    self.put_char(w.address, b, w.ext);
                    self.advance(w);
                    if w.address == address {
                        break;
                    }
                }
                w.after_text = true;
            }
            Order::EraseUnprotectedToAddress(stop) => self.erase_unprotected_to(w, stop),
        }
    }

    /// Writes a text run in slices up to the end of the buffer, wrapping.
    fn put_text(&mut self, w: &mut Writer, mut bytes: &[u8]) {
        let n = self.len();
        while !bytes.is_empty() && n > 0 {
            let at = usize::from(w.address);
            let take = bytes.len().min(n - at);
            self.chars[at..at + take].copy_from_slice(&bytes[..take]);
            self.attrs[at..at + take].fill(0);
            self.ext[at..at + take].fill(w.ext);
            w.address = ((at + take) % n) as u16;
            bytes = &bytes[take..];
        }
    }

    fn start_field(
        &mut self,
        w: &mut Writer,
        attr: FieldAttribute,
        ext: impl Iterator<Item = ExtendedAttribute>,
    ) {
        self.put_attribute(w.address, attr);
        let i = usize::from(w.address);
        self.ext[i] = 0;
        self.put_extended(w.address, ext);
        self.advance(w);
    }

    fn put_extended(&mut self, address: u16, ext: impl Iterator<Item = ExtendedAttribute>) {
        let i = usize::from(address);
        for e in ext {
            match e {
                ExtendedAttribute::Foreground(c) => {
                    self.ext[i] = (self.ext[i] & 0xF0) | pack_color(c.0);
                }
                ExtendedAttribute::Highlight(h) => {
                    self.ext[i] = (self.ext[i] & 0x0F) | pack_highlight(h.0);
                }
                ExtendedAttribute::Reset => self.ext[i] = 0,
                _ => {}
            }
        }
    }

    /// PT: after text, nulls to the end of the field; then to the first
    /// data cell of the next unprotected field (0 when none follows).
    fn program_tab(&mut self, w: &mut Writer, after_text: bool) {
        // The field table is stale during a write; look at attribute cells.
        let n = self.len();
        if after_text {
            let mut a = w.address;
            for _ in 0..n {
                if self.is_attribute(a) {
                    break;
                }
                self.put_char(a, 0, 0);
                a = self.wrap(u32::from(a) + 1);
            }
        }
        let mut a = w.address;
        for _ in 0..n {
            if let Some(attr) = self.attribute_at(a) {
                let next = self.wrap(u32::from(a) + 1);
                if !attr.is_protected() && !self.is_attribute(next) {
                    w.address = next;
                    return;
                }
            }
            a = self.wrap(u32::from(a) + 1);
            if a == 0 {
                break;
            }
        }
        w.address = 0;
    }

    /// EUA: nulls in unprotected cells from the current address up to (not
    /// including) `stop`; the address becomes `stop`.
    fn erase_unprotected_to(&mut self, w: &mut Writer, stop: u16) {
        let n = self.len();
        // Protection of the field in force at the start address.
        let mut protected = self.protection_before(w.address);
        let mut a = w.address;
        for _ in 0..n {
            if let Some(attr) = self.attribute_at(a) {
                protected = attr.is_protected();
            } else if !protected {
                self.chars[usize::from(a)] = 0;
            }
            a = self.wrap(u32::from(a) + 1);
            if a == stop {
                break;
            }
        }
        w.address = stop;
    }

    /// Whether the cell at `address` lies in a protected field, looking
    /// back for the nearest attribute cell (false when unformatted).
    fn protection_before(&self, address: u16) -> bool {
        let n = self.len() as u32;
        (0..n)
            .map(|k| self.wrap(u32::from(address) + n - k))
            .find_map(|a| self.attribute_at(a))
            .is_some_and(|attr| attr.is_protected())
    }

    /// EAU: nulls every unprotected cell, resets the MDTs, unlocks the
    /// keyboard and puts the cursor in the first input field.
    pub(crate) fn erase_all_unprotected(&mut self) {
        if self.fields().is_empty() {
            let size = self.size();
            self.reset(size);
        } else {
            for f in self.fields().to_vec() {
                if f.is_input() {
                    for k in 0..f.len {
                        let a = self.wrap(u32::from(f.start) + u32::from(k));
                        self.chars[usize::from(a)] = 0;
                    }
                }
            }
            self.reset_mdts();
            self.home();
        }
        self.locked = false;
    }
}
