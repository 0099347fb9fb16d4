//! Applying host writes (W, EW, EWA, EAU and WSF's Outbound 3270DS) to a
//! [`Screen`], every order included. Free functions over the screen's own
//! methods: the screen keeps its invariants, this module only walks the
//! orders.

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

/// One write in progress: the screen and where the orders are.
struct Writer<'s> {
    screen: &'s mut Screen,
    address: u16,
    /// Packed color and highlight from SA.
    ext: u8,
    /// True right after text was written (PT then nulls the field's rest).
    after_text: bool,
}

/// Applies a W/EW/EWA: the screen is erased first for EW/EWA. On an error
/// (a bad order) the orders before it stay applied and the field table is
/// consistent.
pub(crate) fn apply_write(
    screen: &mut Screen,
    command: Command,
    wcc: Wcc,
    orders: Orders<'_>,
) -> Result<WriteEffect> {
    match command {
        Command::EraseWrite => screen.reset(screen.primary_size()),
        Command::EraseWriteAlternate => screen.reset(screen.alternate_size()),
        _ => {}
    }
    if wcc.has(Wcc::RESET_MDT) {
        screen.reset_mdts();
    }
    let mut w = Writer {
        // W starts at the cursor; EW/EWA reset it to 0 above.
        address: screen.cursor(),
        screen,
        ext: 0,
        after_text: false,
    };
    let mut result: Result<()> = Ok(());
    for order in orders {
        match order {
            Ok(o) => w.apply_order(o),
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    w.screen.rebuild_fields();
    result?;
    let effect = WriteEffect {
        unlocked: wcc.has(Wcc::KEYBOARD_RESTORE),
        alarm: wcc.has(Wcc::SOUND_ALARM),
    };
    if effect.unlocked {
        w.screen.unlock_keyboard();
    }
    Ok(effect)
}

/// EAU: nulls every unprotected cell, resets the MDTs, unlocks the
/// keyboard and puts the cursor in the first input field.
pub(crate) fn erase_all_unprotected(screen: &mut Screen) {
    if screen.fields().is_empty() {
        let size = screen.size();
        screen.reset(size);
    } else {
        for f in screen.fields().to_vec() {
            if f.is_input() {
                for k in 0..f.len {
                    let a = screen.wrap(u32::from(f.start) + u32::from(k));
                    screen.erase_char(a);
                }
            }
        }
        screen.reset_mdts();
        screen.home();
    }
    screen.unlock_keyboard();
}

impl Writer<'_> {
    fn advance(&mut self) {
        self.address = self.screen.wrap(u32::from(self.address) + 1);
    }

    fn apply_order(&mut self, order: Order<'_>) {
        let was_text = std::mem::replace(&mut self.after_text, false);
        match order {
            Order::Text(bytes) => {
                self.address = self.screen.put_text(self.address, bytes, self.ext);
                self.after_text = true;
            }
            Order::GraphicEscape(b) => {
                self.screen.put_char(self.address, b, self.ext);
                self.advance();
                self.after_text = true;
            }
            Order::StartField(attr) => self.start_field(attr, std::iter::empty()),
            Order::StartFieldExtended(pairs) => {
                let attr = pairs.field().unwrap_or_default();
                self.start_field(attr, pairs.iter());
            }
            Order::SetBufferAddress(a) => self.address = a,
            Order::SetAttribute(ext) => self.set_attribute(ext),
            Order::ModifyField(pairs) => {
                if let Some(old) = self.screen.attribute_at(self.address) {
                    let attr = pairs.field().unwrap_or(old);
                    self.screen.modify_field(self.address, attr, pairs.iter());
                    self.advance();
                }
            }
            Order::InsertCursor => self.screen.set_cursor(self.address),
            Order::ProgramTab => self.program_tab(was_text),
            Order::RepeatToAddress { address, ch } => self.repeat_to(address, ch),
            Order::EraseUnprotectedToAddress(stop) => self.erase_unprotected_to(stop),
        }
    }

    /// SA: the extended attributes of the characters that follow.
    fn set_attribute(&mut self, ext: ExtendedAttribute) {
        match ext {
            ExtendedAttribute::Reset => self.ext = 0,
            ExtendedAttribute::Foreground(c) => self.ext = (self.ext & 0xF0) | pack_color(c.0),
            ExtendedAttribute::Highlight(h) => self.ext = (self.ext & 0x0F) | pack_highlight(h.0),
            _ => {}
        }
    }

    /// RA: `ch` up to (not including) `address`.
    fn repeat_to(&mut self, address: u16, ch: ScreenChar) {
        let b = match ch {
            ScreenChar::Base(b) | ScreenChar::GraphicEscape(b) => b,
        };
        // At most one lap: RA to the current address fills the whole buffer.
        for _ in 0..self.screen.len() {
            self.screen.put_char(self.address, b, self.ext);
            self.advance();
            if self.address == address {
                break;
            }
        }
        self.after_text = true;
    }

    fn start_field(&mut self, attr: FieldAttribute, ext: impl Iterator<Item = ExtendedAttribute>) {
        self.screen.start_field(self.address, attr, ext);
        self.advance();
    }

    /// PT: after text, nulls to the end of the field; then to the first
    /// data cell of the next unprotected field (0 when none follows).
    fn program_tab(&mut self, after_text: bool) {
        // The field table is stale during a write; look at attribute cells.
        let n = self.screen.len();
        if after_text {
            let mut a = self.address;
            for _ in 0..n {
                if self.screen.is_attribute(a) {
                    break;
                }
                self.screen.put_char(a, 0, 0);
                a = self.screen.wrap(u32::from(a) + 1);
            }
        }
        let mut a = self.address;
        for _ in 0..n {
            if let Some(attr) = self.screen.attribute_at(a) {
                let next = self.screen.wrap(u32::from(a) + 1);
                if !attr.is_protected() && !self.screen.is_attribute(next) {
                    self.address = next;
                    return;
                }
            }
            a = self.screen.wrap(u32::from(a) + 1);
            if a == 0 {
                break;
            }
        }
        self.address = 0;
    }

    /// EUA: nulls in unprotected cells from the current address up to (not
    /// including) `stop`; the address becomes `stop`.
    fn erase_unprotected_to(&mut self, stop: u16) {
        let n = self.screen.len();
        // Protection of the field in force at the start address.
        let mut protected = protection_before(self.screen, self.address);
        let mut a = self.address;
        for _ in 0..n {
            if let Some(attr) = self.screen.attribute_at(a) {
                protected = attr.is_protected();
            } else if !protected {
                self.screen.erase_char(a);
            }
            a = self.screen.wrap(u32::from(a) + 1);
            if a == stop {
                break;
            }
        }
        self.address = stop;
    }
}

/// Whether the cell at `address` lies in a protected field, looking
/// back for the nearest attribute cell (false when unformatted).
fn protection_before(screen: &Screen, address: u16) -> bool {
    let n = screen.len() as u32;
    (0..n)
        .map(|k| screen.wrap(u32::from(address) + n - k))
        .find_map(|a| screen.attribute_at(a))
        .is_some_and(|attr| attr.is_protected())
}
