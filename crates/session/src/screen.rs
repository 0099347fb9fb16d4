//! The 3270 presentation space: cells, fields, cursor and keyboard.
//!
//! A [`Screen`] holds one EBCDIC byte per cell, a field attribute marker per
//! cell, the extended attributes (foreground color and highlight) and the
//! cursor: three bytes per cell. The field table, in address order, is
//! rebuilt after each host write; [`Screen::field_at`] finds a cell's
//! field in it by binary search (O(log fields)), so no per-cell owner
//! index is kept. Input
//! methods ([`Screen::type_text`], [`Screen::tab`], …) obey protected and
//! numeric fields and set the modified data tag (MDT) like a real terminal.
//!
//! Non-display (password) fields are blanked in [`Screen::text`],
//! [`Screen::row`], [`FieldRef::text`] and `Debug`; read them on purpose with
//! [`Screen::text_with_hidden`] or [`FieldRef::hidden_text`].

use std::fmt;

use ballast_codec::tn3270::{
    AddressMode, CodePage, Display, ExtendedAttribute, FieldAttribute, FieldStart, InboundScreen,
    ScreenSize,
};

use crate::error::{Error, Result};

/// Marks a cell of [`Screen`]'s `attrs` as a field attribute; the low six
/// bits then hold the attribute bits.
const FA_FLAG: u8 = 0x80;

/// Highlight bytes by packed value (index 0 = default).
const HIGHLIGHTS: [u8; 6] = [0x00, 0xF0, 0xF1, 0xF2, 0xF4, 0xF8];

/// Packs a color byte (0xF0–0xF7) into bits 0–3; other values are default.
pub(crate) const fn pack_color(c: u8) -> u8 {
    if c >= 0xF0 && c <= 0xF7 { c - 0xEF } else { 0 }
}

/// Packs a highlight byte into bits 4–6; unknown values are default.
pub(crate) fn pack_highlight(h: u8) -> u8 {
    let v = HIGHLIGHTS
        .iter()
        .position(|&x| x == h && h != 0)
        .unwrap_or(0);
    (v as u8) << 4
}

/// Largest screen accepted: 16 383 cells (the 14-bit address space).
pub const MAX_BUFFER_LEN: u32 = 0x3FFF;

/// One field of the field table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Address of the field attribute cell.
    pub attribute_address: u16,
    /// The field attribute.
    pub attribute: FieldAttribute,
    /// Address of the first data cell (wraps to 0 at the end of the screen).
    pub start: u16,
    /// Number of data cells (0 when two attributes are adjacent).
    pub len: u16,
}

impl Field {
    /// True when the operator may type into the field.
    pub fn is_input(&self) -> bool {
        !self.attribute.is_protected()
    }

    /// True for a non-display (password) field.
    pub fn is_hidden(&self) -> bool {
        self.attribute.display_mode() == Display::Hidden
    }
}

/// A field and the screen it belongs to, for reading its text.
#[derive(Clone, Copy)]
pub struct FieldRef<'s> {
    screen: &'s Screen,
    index: usize,
    field: Field,
}

impl<'s> FieldRef<'s> {
    /// Index of the field in [`Screen::fields`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The field table entry.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The field's text with nulls as spaces; a non-display field reads as
    /// spaces.
    pub fn text(&self) -> String {
        if self.field.is_hidden() {
            return " ".repeat(usize::from(self.field.len));
        }
        self.hidden_text()
    }

    /// The field's text even when it is non-display. Use only when the
    /// caller means to read a password field.
    pub fn hidden_text(&self) -> String {
        let mut s = String::with_capacity(usize::from(self.field.len));
        for i in 0..self.field.len {
            let a = self.screen.wrap(u32::from(self.field.start) + u32::from(i));
            s.push(self.screen.char_at(a));
        }
        s
    }

    /// Row and column of the first data cell.
    pub fn position(&self) -> (u16, u16) {
        self.screen.row_col(self.field.start)
    }
}

impl fmt::Debug for FieldRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldRef")
            .field("index", &self.index)
            .field("field", &self.field)
            .field("text", &self.text())
            .finish()
    }
}

/// The 3270 presentation space.
///
/// Invariants (checked by `debug_assert!`s in the mutating methods): the
/// cell buffers hold exactly `size` cells and the cursor lies inside them;
/// outside a host write, the field table has one field per attribute cell,
/// in address order (which [`Screen::field_at`]'s binary search relies
/// on), with that cell's attribute.
#[derive(Clone)]
pub struct Screen {
    primary: ScreenSize,
    alternate: ScreenSize,
    size: ScreenSize,
    code_page: CodePage,
    address_mode: AddressMode,
    /// EBCDIC byte per cell (0 = null).
    chars: Vec<u8>,
    /// `FA_FLAG | bits` on field attribute cells, 0 elsewhere.
    attrs: Vec<u8>,
    /// Foreground color (bits 0–3) and highlight (bits 4–6) per cell,
    /// packed by [`pack_color`] and [`pack_highlight`]; 0 = defaults.
    ext: Vec<u8>,
    fields: Vec<Field>,
    cursor: u16,
    locked: bool,
}

impl Drop for Screen {
    /// Wipes non-display fields (a typed password) before the buffer's
    /// memory goes back to the allocator.
    fn drop(&mut self) {
        self.wipe_hidden();
    }
}

impl fmt::Debug for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Screen")
            .field("size", &self.size)
            .field("cursor", &self.cursor_position())
            .field("locked", &self.locked)
            .field("fields", &self.fields.len())
            .field("text", &self.text())
            .finish()
    }
}

impl Screen {
    /// An empty, unformatted, unlocked screen of `primary` size.
    pub fn new(primary: ScreenSize, alternate: ScreenSize, code_page: CodePage) -> Self {
        let n = primary.buffer_len().max(alternate.buffer_len()) as usize;
        let mut s = Self {
            primary,
            alternate,
            size: primary,
            code_page,
            address_mode: AddressMode::TwelveFourteen,
            chars: Vec::with_capacity(n),
            attrs: Vec::with_capacity(n),
            ext: Vec::with_capacity(n),
            fields: Vec::new(),
            cursor: 0,
            locked: false,
        };
        s.reset(primary);
        s
    }

    /// Erases everything and switches to `size`; the cursor goes home.
    pub(crate) fn reset(&mut self, size: ScreenSize) {
        self.size = size;
        let n = size.buffer_len() as usize;
        for v in [&mut self.chars, &mut self.attrs, &mut self.ext] {
            v.clear();
            v.resize(n, 0);
        }
        self.fields.clear();
        self.cursor = 0;
        self.debug_check();
    }

    /// Checks the invariants in debug builds: cells and cursor always, the
    /// field table too (it is stale during a host write, see
    /// [`Screen::debug_check_cells`]).
    fn debug_check(&self) {
        self.debug_check_cells();
        debug_assert!(
            self.fields_consistent(),
            "field table out of step with the attribute cells"
        );
    }

    /// Checks in debug builds that the buffers hold `size` cells and the
    /// cursor lies inside them.
    fn debug_check_cells(&self) {
        let n = self.size.buffer_len() as usize;
        debug_assert!(
            [self.chars.len(), self.attrs.len(), self.ext.len()]
                .iter()
                .all(|&l| l == n),
            "cell buffers differ from the screen size"
        );
        debug_assert!(
            usize::from(self.cursor) < n.max(1),
            "cursor {} outside a {n}-cell screen",
            self.cursor
        );
    }

    /// True when the field table matches the attribute cells: one field
    /// per attribute cell, in address order, with that cell's attribute,
    /// owning its attribute cell.
    fn fields_consistent(&self) -> bool {
        let mut cells = (0..self.attrs.len()).filter(|&i| self.attrs[i] & FA_FLAG != 0);
        let table = self.fields.iter().enumerate().all(|(k, f)| {
            let at = usize::from(f.attribute_address);
            cells.next() == Some(at)
                && self.attrs[at] & 0x3F == f.attribute.bits() & 0x3F
                && self.owner_of(f.attribute_address) == Some(k)
        });
        table && cells.next().is_none()
    }

    /// The size in use (primary or alternate).
    pub fn size(&self) -> ScreenSize {
        self.size
    }

    /// The primary (default) size.
    pub fn primary_size(&self) -> ScreenSize {
        self.primary
    }

    /// The alternate size.
    pub fn alternate_size(&self) -> ScreenSize {
        self.alternate
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// True for a zero-cell screen (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The code page used for text.
    pub fn code_page(&self) -> CodePage {
        self.code_page
    }

    /// Cursor address.
    pub fn cursor(&self) -> u16 {
        self.cursor
    }

    /// The address mode of the addresses this terminal sends (12/14-bit).
    pub fn address_mode(&self) -> AddressMode {
        self.address_mode
    }

    /// Moves the cursor to `address` (a host write's Insert Cursor).
    pub(crate) fn set_cursor(&mut self, address: u16) {
        self.cursor = address;
        self.debug_check_cells();
    }

    /// Locks the keyboard (an AID was sent).
    pub(crate) fn lock_keyboard(&mut self) {
        self.locked = true;
    }

    /// Unlocks the keyboard (the host restored it).
    pub(crate) fn unlock_keyboard(&mut self) {
        self.locked = false;
    }

    /// Cursor row and column.
    pub fn cursor_position(&self) -> (u16, u16) {
        self.row_col(self.cursor)
    }

    /// True while the keyboard is locked (after an AID, until the host
    /// restores it with the WCC).
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// True when the screen has at least one field.
    pub fn is_formatted(&self) -> bool {
        !self.fields.is_empty()
    }

    /// The field table, in address order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field with index `i`.
    pub fn field(&self, i: usize) -> Option<FieldRef<'_>> {
        self.fields.get(i).map(|&field| FieldRef {
            screen: self,
            index: i,
            field,
        })
    }

    /// The field the cell at `address` belongs to (O(log fields)); `None`
    /// on an unformatted screen or outside it.
    pub fn field_at(&self, address: u16) -> Option<FieldRef<'_>> {
        self.field(self.owner_of(address)?)
    }

    /// Index into the field table of the cell at `address`: the last field
    /// whose attribute is at or before it, or the last field of all for
    /// cells before the first attribute (the last field wraps round).
    pub(crate) fn owner_of(&self, address: u16) -> Option<usize> {
        if self.fields.is_empty() || usize::from(address) >= self.len() {
            return None;
        }
        let after = self
            .fields
            .partition_point(|f| f.attribute_address <= address);
        Some(after.checked_sub(1).unwrap_or(self.fields.len() - 1))
    }

    /// The input fields, in address order.
    pub fn input_fields(&self) -> impl Iterator<Item = FieldRef<'_>> + '_ {
        (0..self.fields.len())
            .filter_map(|i| self.field(i))
            .filter(|f| f.field.is_input())
    }

    /// Row and column of `address`.
    pub fn row_col(&self, address: u16) -> (u16, u16) {
        let cols = self.size.cols.max(1);
        (address / cols, address % cols)
    }

    /// Address of `row`, `col`.
    pub fn address(&self, row: u16, col: u16) -> Result<u16> {
        if row >= self.size.rows {
            return Err(Error::OutOfScreen {
                what: "row",
                value: row.into(),
            });
        }
        self.size.address(row, col).ok_or(Error::OutOfScreen {
            what: "column",
            value: col.into(),
        })
    }

    /// `a` modulo the buffer length.
    pub(crate) fn wrap(&self, a: u32) -> u16 {
        let n = self.chars.len().max(1) as u32;
        (a % n) as u16
    }

    /// The EBCDIC byte of a cell (0 for null and attribute cells).
    pub fn byte_at(&self, address: u16) -> u8 {
        let i = usize::from(address);
        match self.attrs.get(i) {
            Some(&a) if a & FA_FLAG == 0 => self.chars[i],
            _ => 0,
        }
    }

    /// True when `address` holds a field attribute.
    pub fn is_attribute(&self, address: u16) -> bool {
        self.attrs
            .get(usize::from(address))
            .is_some_and(|a| a & FA_FLAG != 0)
    }

    /// The field attribute stored at `address`, if that cell is one.
    pub fn attribute_at(&self, address: u16) -> Option<FieldAttribute> {
        let a = *self.attrs.get(usize::from(address))?;
        (a & FA_FLAG != 0).then(|| FieldAttribute::from_byte(a & 0x3F))
    }

    /// Foreground color byte of a cell (0 = default, else 0xF0–0xF7).
    pub fn color_at(&self, address: u16) -> u8 {
        match self.ext.get(usize::from(address)).map_or(0, |e| e & 0x0F) {
            0 => 0,
            v => 0xEF + v,
        }
    }

    /// Highlight byte of a cell (0 = default, else 0xF0, 0xF1, 0xF2, 0xF4
    /// or 0xF8).
    pub fn highlight_at(&self, address: u16) -> u8 {
        let v = self.ext.get(usize::from(address)).map_or(0, |e| e >> 4);
        HIGHLIGHTS.get(usize::from(v)).copied().unwrap_or(0)
    }

    /// The character shown in a cell: nulls, controls and attributes are
    /// spaces.
    fn char_at(&self, address: u16) -> char {
        match self.byte_at(address) {
            b if b < 0x40 => ' ',
            b => self.code_page.decode(b),
        }
    }

    fn shown(&self, address: u16, reveal: bool) -> char {
        if !reveal
            && self
                .owner_of(address)
                .is_some_and(|i| self.fields[i].is_hidden())
        {
            return ' ';
        }
        self.char_at(address)
    }

    /// Row `n` as text (nulls and attributes as spaces, non-display fields
    /// blanked).
    pub fn row(&self, n: u16) -> Result<String> {
        self.row_text(n, false)
    }

    fn row_text(&self, n: u16, reveal: bool) -> Result<String> {
        let start = self.address(n, 0)?;
        Ok((0..self.size.cols)
            .map(|c| self.shown(start + c, reveal))
            .collect())
    }

    /// The whole screen, one line per row joined by `\n`, non-display
    /// fields blanked.
    pub fn text(&self) -> String {
        self.dump(false)
    }

    /// Like [`Screen::text`] but showing non-display fields. Use only when
    /// the caller means to read password fields.
    pub fn text_with_hidden(&self) -> String {
        self.dump(true)
    }

    /// The screen as text in one pass: the owning field is tracked while
    /// walking the cells in address order (cells before the first
    /// attribute belong to the last field, as the field wraps), instead of
    /// a search per cell.
    fn dump(&self, reveal: bool) -> String {
        let cols = self.size.cols.max(1);
        let mut s = String::with_capacity(self.len() + usize::from(self.size.rows));
        let mut owner = self.fields.len().checked_sub(1);
        let mut next = 0;
        for a in 0..self.len() as u16 {
            if a > 0 && a % cols == 0 {
                s.push('\n');
            }
            if self
                .fields
                .get(next)
                .is_some_and(|f| f.attribute_address == a)
            {
                owner = Some(next);
                next += 1;
            }
            let hidden = !reveal && owner.is_some_and(|i| self.fields[i].is_hidden());
            s.push(if hidden { ' ' } else { self.char_at(a) });
        }
        s
    }

    /// True when `needle` appears in the visible text (rows are not joined,
    /// so a match may not span two rows).
    pub fn contains(&self, needle: &str) -> bool {
        self.text().lines().any(|l| l.contains(needle))
    }

    /// Overwrites the contents of every non-display field with nulls,
    /// through `zeroize` (writes the compiler may not remove), so a
    /// password typed at sign-on does not linger in the screen buffer.
    /// Runs when the screen is dropped; call it sooner if the screen lives
    /// on after sign-on.
    pub fn wipe_hidden(&mut self) {
        use zeroize::Zeroize as _;
        let n = self.chars.len();
        for f in self.fields.iter().filter(|f| f.is_hidden()) {
            let start = usize::from(f.start).min(n);
            let end = start + usize::from(f.len);
            if end <= n {
                self.chars[start..end].zeroize();
            } else {
                // The field wraps past the last cell to the first.
                self.chars[start..].zeroize();
                self.chars[..(end - n).min(n)].zeroize();
            }
        }
    }

    // ----- field table -----

    /// Rebuilds the field table from the attribute cells.
    pub(crate) fn rebuild_fields(&mut self) {
        self.fields.clear();
        let n = self.attrs.len();
        let mut previous: Option<usize> = None;
        for i in 0..n {
            if self.attrs[i] & FA_FLAG == 0 {
                continue;
            }
            if let Some(p) = previous {
                self.push_field(p, i - p - 1);
            }
            previous = Some(i);
        }
        let Some(last) = previous else {
            self.debug_check();
            return;
        };
        let first = usize::from(
            self.fields
                .first()
                .map_or(last as u16, |f| f.attribute_address),
        );
        self.push_field(last, first + n - last - 1);
        self.debug_check();
    }

    fn push_field(&mut self, fa: usize, len: usize) {
        let n = self.attrs.len();
        self.fields.push(Field {
            attribute_address: fa as u16,
            attribute: FieldAttribute::from_byte(self.attrs[fa] & 0x3F),
            start: ((fa + 1) % n) as u16,
            len: len as u16,
        });
    }

    /// Sets the attribute bits of field `i` (in the table and the cell).
    pub(crate) fn set_field_attribute(&mut self, i: usize, attr: FieldAttribute) {
        if let Some(f) = self.fields.get_mut(i) {
            f.attribute = attr;
            self.attrs[usize::from(f.attribute_address)] = FA_FLAG | attr.bits();
        }
    }

    // ----- host writes (the field table is stale until `rebuild_fields`) -----

    /// Stores a field attribute at `address`.
    fn put_attribute(&mut self, address: u16, attr: FieldAttribute) {
        let i = usize::from(address);
        self.attrs[i] = FA_FLAG | attr.bits();
        self.chars[i] = 0;
    }

    /// Stores a character at `address` (replacing an attribute there).
    pub(crate) fn put_char(&mut self, address: u16, b: u8, ext: u8) {
        let i = usize::from(address);
        self.attrs[i] = 0;
        self.chars[i] = b;
        self.ext[i] = ext;
    }

    /// Nulls the character at `address`, leaving an attribute there alone.
    pub(crate) fn erase_char(&mut self, address: u16) {
        self.chars[usize::from(address)] = 0;
    }

    /// Writes a text run from `address` in slices up to the end of the
    /// buffer, wrapping; returns the address after it.
    pub(crate) fn put_text(&mut self, address: u16, mut bytes: &[u8], ext: u8) -> u16 {
        let n = self.len();
        let mut at = usize::from(address);
        while !bytes.is_empty() && n > 0 {
            let take = bytes.len().min(n - at);
            self.chars[at..at + take].copy_from_slice(&bytes[..take]);
            self.attrs[at..at + take].fill(0);
            self.ext[at..at + take].fill(ext);
            at = (at + take) % n;
            bytes = &bytes[take..];
        }
        at as u16
    }

    /// SF / SFE: a field attribute at `address` with default extended
    /// attributes, then `ext`.
    pub(crate) fn start_field(
        &mut self,
        address: u16,
        attr: FieldAttribute,
        ext: impl Iterator<Item = ExtendedAttribute>,
    ) {
        self.put_attribute(address, attr);
        self.ext[usize::from(address)] = 0;
        self.put_extended(address, ext);
    }

    /// MF: replaces the attribute at `address` and applies `ext` on top of
    /// its extended attributes.
    pub(crate) fn modify_field(
        &mut self,
        address: u16,
        attr: FieldAttribute,
        ext: impl Iterator<Item = ExtendedAttribute>,
    ) {
        self.put_attribute(address, attr);
        self.put_extended(address, ext);
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

    /// Clears the MDT of every field.
    pub(crate) fn reset_mdts(&mut self) {
        for i in 0..self.fields.len() {
            let a = self.fields[i].attribute;
            if a.is_modified() {
                self.set_field_attribute(
                    i,
                    FieldAttribute::from_byte(a.bits() & !FieldAttribute::MDT),
                );
            }
        }
        self.debug_check();
    }

    /// True when the cell at `address` may be typed over.
    fn is_unprotected_data(&self, address: u16) -> bool {
        if self.is_attribute(address) {
            return false;
        }
        self.owner_of(address)
            .is_none_or(|i| !self.fields[i].attribute.is_protected())
    }

    // ----- operator input -----

    fn check_unlocked(&self) -> Result<()> {
        if self.locked {
            Err(Error::KeyboardLocked)
        } else {
            Ok(())
        }
    }

    /// Moves the cursor to `row`, `col`.
    pub fn move_cursor(&mut self, row: u16, col: u16) -> Result<()> {
        self.cursor = self.address(row, col)?;
        self.debug_check_cells();
        Ok(())
    }

    /// Moves the cursor by `delta` cells, wrapping around the screen.
    fn shift_cursor(&mut self, delta: i64) {
        let n = self.len().max(1) as i64;
        self.cursor = (i64::from(self.cursor) + delta).rem_euclid(n) as u16;
        self.debug_check_cells();
    }

    /// Cursor one cell right.
    pub fn cursor_right(&mut self) {
        self.shift_cursor(1);
    }

    /// Cursor one cell left.
    pub fn cursor_left(&mut self) {
        self.shift_cursor(-1);
    }

    /// Cursor one row up.
    pub fn cursor_up(&mut self) {
        self.shift_cursor(-i64::from(self.size.cols));
    }

    /// Cursor one row down.
    pub fn cursor_down(&mut self) {
        self.shift_cursor(i64::from(self.size.cols));
    }

    /// First data cell of the next input field after `from` (wrapping);
    /// `None` when there is no input field with room.
    pub(crate) fn next_input_start(&self, from: u16) -> Option<u16> {
        let n = self.fields.len();
        if n == 0 {
            return None;
        }
        // The field whose attribute is the first one after `from`.
        let start = match self.owner_of(from) {
            Some(i) if self.fields[i].attribute_address == from => i,
            Some(i) => (i + 1) % n,
            None => 0,
        };
        (0..n)
            .map(|k| self.fields[(start + k) % n])
            .find(|f| f.is_input() && f.len > 0)
            .map(|f| f.start)
    }

    /// Tab: cursor to the start of the next input field (or 0 when there
    /// is none).
    pub fn tab(&mut self) {
        self.cursor = self.next_input_start(self.cursor).unwrap_or(0);
        self.debug_check();
    }

    /// Back tab: cursor to the start of the current input field, or of the
    /// previous one when already there.
    pub fn backtab(&mut self) {
        let n = self.fields.len();
        let Some(cur) = self.owner_of(self.cursor) else {
            self.cursor = 0;
            return;
        };
        let here = self.fields[cur];
        if here.is_input()
            && here.len > 0
            && self.cursor != here.start
            && !self.is_attribute(self.cursor)
        {
            self.cursor = here.start;
            return;
        }
        let found = (1..=n)
            .map(|k| self.fields[(cur + n - k) % n])
            .find(|f| f.is_input() && f.len > 0);
        self.cursor = found.map_or(0, |f| f.start);
        self.debug_check();
    }

    /// Home: cursor to the first input field (address 0 when unformatted).
    pub fn home(&mut self) {
        let last = self.len().saturating_sub(1) as u16;
        self.cursor = if self.fields.is_empty() {
            0
        } else {
            self.next_input_start(last).unwrap_or(0)
        };
        self.debug_check();
    }

    /// Types `text` at the cursor: every character goes into an
    /// unprotected cell (digits, `.` and `-` only in numeric fields), sets
    /// the field's MDT and advances; at the end of a field the cursor skips
    /// to the next input field. Stops at the first refused character with an
    /// error; the characters before it stay typed.
    pub fn type_text(&mut self, text: &str) -> Result<()> {
        self.check_unlocked()?;
        let typed = text.chars().try_for_each(|ch| self.type_char(ch));
        self.debug_check();
        typed
    }

    fn type_char(&mut self, ch: char) -> Result<()> {
        let (row, col) = self.cursor_position();
        if !self.is_unprotected_data(self.cursor) {
            return Err(Error::ProtectedField { row, col });
        }
        let field = self.owner_of(self.cursor);
        if let Some(i) = field
            && self.fields[i].attribute.is_numeric()
            && !(ch.is_ascii_digit() || ch == '.' || ch == '-')
        {
            return Err(Error::NumericField { ch, row, col });
        }
        let b = self.code_page.encode(ch).ok_or(Error::Unencodable(ch))?;
        let i = usize::from(self.cursor);
        self.chars[i] = b;
        if let Some(i) = field {
            let a = self.fields[i].attribute.modified();
            self.set_field_attribute(i, a);
        }
        self.shift_cursor(1);
        if self.is_attribute(self.cursor)
            && let Some(next) = self.next_input_start(self.cursor)
        {
            self.cursor = next;
        }
        Ok(())
    }

    /// Erase to end of field: nulls from the cursor to the end of its input
    /// field, and sets the MDT.
    pub fn erase_eof(&mut self) -> Result<()> {
        self.check_unlocked()?;
        let (row, col) = self.cursor_position();
        if !self.is_unprotected_data(self.cursor) {
            return Err(Error::ProtectedField { row, col });
        }
        let Some(i) = self.owner_of(self.cursor) else {
            // Unformatted: erase to the end of the screen.
            let from = usize::from(self.cursor);
            self.chars[from..].iter_mut().for_each(|c| *c = 0);
            return Ok(());
        };
        let mut a = self.cursor;
        while !self.is_attribute(a) {
            self.chars[usize::from(a)] = 0;
            a = self.wrap(u32::from(a) + 1);
        }
        let attr = self.fields[i].attribute.modified();
        self.set_field_attribute(i, attr);
        self.debug_check();
        Ok(())
    }

    /// Fills input field `i` with `text`: erases it, types the text from its
    /// first cell, leaves the cursor after it.
    pub fn fill_field(&mut self, i: usize, text: &str) -> Result<()> {
        let f = self.fields.get(i).copied().ok_or(Error::OutOfScreen {
            what: "field",
            value: i,
        })?;
        self.cursor = f.start;
        self.erase_eof()?;
        let fits: String = text.chars().take(usize::from(f.len)).collect();
        self.type_text(&fits)
    }
}

/// What the codec's inbound encoders read: the cells (attribute cells
/// hold 0), the field table and the cursor. The session answers reads and
/// key presses with `ballast_codec::tn3270::encode_read_modified` and its
/// siblings over this.
impl InboundScreen for Screen {
    fn address_mode(&self) -> AddressMode {
        self.address_mode
    }

    fn cursor(&self) -> u16 {
        self.cursor
    }

    fn cells(&self) -> &[u8] {
        &self.chars
    }

    fn field_count(&self) -> usize {
        self.fields.len()
    }

    fn field(&self, index: usize) -> Option<FieldStart> {
        self.fields.get(index).map(|f| FieldStart {
            address: f.attribute_address,
            attribute: f.attribute,
        })
    }
}

mod json_text;

#[cfg(test)]
mod tests;
