//! 3270 code points: commands, orders, attributes, AIDs and the WCC.

use super::address::CODE_TABLE;

/// A 3270 command, the first byte of an outbound record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Write (W).
    Write,
    /// Erase/Write (EW): clear, use the default screen size.
    EraseWrite,
    /// Erase/Write Alternate (EWA): clear, use the alternate screen size.
    EraseWriteAlternate,
    /// Read Buffer (RB).
    ReadBuffer,
    /// Read Modified (RM).
    ReadModified,
    /// Read Modified All (RMA).
    ReadModifiedAll,
    /// Erase All Unprotected (EAU).
    EraseAllUnprotected,
    /// Write Structured Field (WSF).
    WriteStructuredField,
}

impl Command {
    /// Every command.
    pub const ALL: [Command; 8] = [
        Command::Write,
        Command::EraseWrite,
        Command::EraseWriteAlternate,
        Command::ReadBuffer,
        Command::ReadModified,
        Command::ReadModifiedAll,
        Command::EraseAllUnprotected,
        Command::WriteStructuredField,
    ];

    /// The SNA code point (what TN3270 hosts send).
    pub const fn sna_byte(self) -> u8 {
        match self {
            Command::Write => 0xF1,
            Command::EraseWrite => 0xF5,
            Command::EraseWriteAlternate => 0x7E,
            Command::ReadBuffer => 0xF2,
            Command::ReadModified => 0xF6,
            Command::ReadModifiedAll => 0x6E,
            Command::EraseAllUnprotected => 0x6F,
            Command::WriteStructuredField => 0xF3,
        }
    }

    /// The local (channel, CCW) code point.
    pub const fn ccw_byte(self) -> u8 {
        match self {
            Command::Write => 0x01,
            Command::EraseWrite => 0x05,
            Command::EraseWriteAlternate => 0x0D,
            Command::ReadBuffer => 0x02,
            Command::ReadModified => 0x06,
            Command::ReadModifiedAll => 0x0E,
            Command::EraseAllUnprotected => 0x0F,
            Command::WriteStructuredField => 0x11,
        }
    }

    /// The command for an SNA or CCW code point.
    pub fn from_byte(b: u8) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.sna_byte() == b || c.ccw_byte() == b)
    }

    /// True for W, EW and EWA, which carry a WCC and orders.
    pub const fn is_write(self) -> bool {
        matches!(
            self,
            Command::Write | Command::EraseWrite | Command::EraseWriteAlternate
        )
    }
}

/// Order codes.
pub mod order {
    /// Start Field.
    pub const SF: u8 = 0x1D;
    /// Start Field Extended.
    pub const SFE: u8 = 0x29;
    /// Set Buffer Address.
    pub const SBA: u8 = 0x11;
    /// Set Attribute.
    pub const SA: u8 = 0x28;
    /// Modify Field.
    pub const MF: u8 = 0x2C;
    /// Insert Cursor.
    pub const IC: u8 = 0x13;
    /// Program Tab.
    pub const PT: u8 = 0x05;
    /// Repeat to Address.
    pub const RA: u8 = 0x3C;
    /// Erase Unprotected to Address.
    pub const EUA: u8 = 0x12;
    /// Graphic Escape.
    pub const GE: u8 = 0x08;
}

/// Format control bytes below 0x40 that are data, not orders (NUL, FF, CR,
/// SO, SI, NL, EM, DUP, FM, SUB).
pub const FORMAT_CONTROLS: [u8; 10] = [0x00, 0x0C, 0x0D, 0x0E, 0x0F, 0x15, 0x19, 0x1C, 0x1E, 0x3F];

/// True for bytes that belong to a text run: graphics (0x40 and up) and
/// format controls.
pub const fn is_text(b: u8) -> bool {
    TEXT[b as usize]
}

const TEXT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x40;
    while i < 256 {
        t[i] = true;
        i += 1;
    }
    let mut j = 0;
    while j < FORMAT_CONTROLS.len() {
        t[FORMAT_CONTROLS[j] as usize] = true;
        j += 1;
    }
    t
};
const _: () = assert!(TEXT.len() == 256, "one entry per byte value");

/// How a field is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Display {
    /// Normal intensity, not light-pen detectable.
    Normal,
    /// Normal intensity, detectable.
    Detectable,
    /// Intensified (bright), detectable.
    Intensified,
    /// Not displayed (passwords).
    Hidden,
}

/// A field attribute (the byte after SF), six meaningful bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FieldAttribute(u8);

impl FieldAttribute {
    /// Protected: the operator cannot type here.
    pub const PROTECTED: u8 = 0x20;
    /// Numeric: only digits (and a few signs) accepted.
    pub const NUMERIC: u8 = 0x10;
    /// Display bits mask.
    pub const DISPLAY_MASK: u8 = 0x0C;
    /// Modified data tag.
    pub const MDT: u8 = 0x01;

    /// Unprotected, alphanumeric, normal display, not modified.
    pub const fn new() -> Self {
        Self(0)
    }

    /// From a wire byte (the code-table bits are ignored).
    pub const fn from_byte(b: u8) -> Self {
        Self(b & 0x3F)
    }

    /// The wire byte, code-table encoded.
    pub const fn to_byte(self) -> u8 {
        CODE_TABLE[(self.0 & 0x3F) as usize]
    }

    /// The six attribute bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Marks the field protected.
    pub const fn protect(self) -> Self {
        Self(self.0 | Self::PROTECTED)
    }

    /// Marks the field numeric.
    pub const fn numeric(self) -> Self {
        Self(self.0 | Self::NUMERIC)
    }

    /// Sets the display mode.
    pub const fn display(self, d: Display) -> Self {
        let bits = match d {
            Display::Normal => 0x00,
            Display::Detectable => 0x04,
            Display::Intensified => 0x08,
            Display::Hidden => 0x0C,
        };
        Self((self.0 & !Self::DISPLAY_MASK) | bits)
    }

    /// Sets the modified data tag.
    pub const fn modified(self) -> Self {
        Self(self.0 | Self::MDT)
    }

    /// True when protected.
    pub const fn is_protected(self) -> bool {
        self.0 & Self::PROTECTED != 0
    }

    /// True when numeric.
    pub const fn is_numeric(self) -> bool {
        self.0 & Self::NUMERIC != 0
    }

    /// True when the modified data tag is set.
    pub const fn is_modified(self) -> bool {
        self.0 & Self::MDT != 0
    }

    /// The display mode.
    pub const fn display_mode(self) -> Display {
        match self.0 & Self::DISPLAY_MASK {
            0x00 => Display::Normal,
            0x04 => Display::Detectable,
            0x08 => Display::Intensified,
            _ => Display::Hidden,
        }
    }
}

/// A color value (SA/SFE type 0x42 foreground, 0x45 background).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Color(pub u8);

#[allow(missing_docs)]
impl Color {
    pub const DEFAULT: Self = Self(0x00);
    pub const NEUTRAL_BLACK: Self = Self(0xF0);
    pub const BLUE: Self = Self(0xF1);
    pub const RED: Self = Self(0xF2);
    pub const PINK: Self = Self(0xF3);
    pub const GREEN: Self = Self(0xF4);
    pub const TURQUOISE: Self = Self(0xF5);
    pub const YELLOW: Self = Self(0xF6);
    pub const NEUTRAL_WHITE: Self = Self(0xF7);
}

/// An extended highlighting value (type 0x41).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Highlight(pub u8);

#[allow(missing_docs)]
impl Highlight {
    pub const DEFAULT: Self = Self(0x00);
    pub const NORMAL: Self = Self(0xF0);
    pub const BLINK: Self = Self(0xF1);
    pub const REVERSE: Self = Self(0xF2);
    pub const UNDERSCORE: Self = Self(0xF4);
    pub const INTENSIFY: Self = Self(0xF8);
}

/// One type/value pair of SFE, MF or SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtendedAttribute {
    /// Type 0x00: reset all character attributes (SA only).
    Reset,
    /// Type 0xC0: the basic field attribute.
    Field(FieldAttribute),
    /// Type 0xC1: field validation (mandatory fill 0x04, mandatory entry
    /// 0x02, trigger 0x01).
    Validation(u8),
    /// Type 0xC2: field outlining (under 0x01, right 0x02, over 0x04,
    /// left 0x08).
    Outlining(u8),
    /// Type 0x41: extended highlighting.
    Highlight(Highlight),
    /// Type 0x42: foreground color.
    Foreground(Color),
    /// Type 0x43: character set.
    CharacterSet(u8),
    /// Type 0x45: background color.
    Background(Color),
    /// Type 0x46: transparency.
    Transparency(u8),
    /// Any other type, kept as is.
    Other {
        /// The type byte.
        kind: u8,
        /// The value byte.
        value: u8,
    },
}

impl ExtendedAttribute {
    /// From a type/value pair.
    pub const fn from_pair(kind: u8, value: u8) -> Self {
        match kind {
            0x00 if value == 0 => Self::Reset,
            0xC0 => Self::Field(FieldAttribute::from_byte(value)),
            0xC1 => Self::Validation(value),
            0xC2 => Self::Outlining(value),
            0x41 => Self::Highlight(Highlight(value)),
            0x42 => Self::Foreground(Color(value)),
            0x43 => Self::CharacterSet(value),
            0x45 => Self::Background(Color(value)),
            0x46 => Self::Transparency(value),
            _ => Self::Other { kind, value },
        }
    }

    /// The type/value pair.
    pub const fn to_pair(self) -> [u8; 2] {
        match self {
            Self::Reset => [0x00, 0x00],
            Self::Field(a) => [0xC0, a.to_byte()],
            Self::Validation(v) => [0xC1, v],
            Self::Outlining(v) => [0xC2, v],
            Self::Highlight(h) => [0x41, h.0],
            Self::Foreground(c) => [0x42, c.0],
            Self::CharacterSet(v) => [0x43, v],
            Self::Background(c) => [0x45, c.0],
            Self::Transparency(v) => [0x46, v],
            Self::Other { kind, value } => [kind, value],
        }
    }
}

/// Attention identifier: the key that sent an inbound record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aid {
    /// No AID (0x60), e.g. answering Read Buffer.
    NoAid,
    /// Enter (0x7D).
    Enter,
    /// PF1 – PF24.
    Pf(u8),
    /// PA1 – PA3.
    Pa(u8),
    /// Clear (0x6D).
    Clear,
    /// Clear Partition (0x6A).
    ClearPartition,
    /// System request / test request (0xF0).
    SysReq,
    /// Structured field follows (0x88), e.g. query replies.
    StructuredField,
    /// Read Partition (0x61).
    ReadPartition,
    /// Trigger action (0x7F).
    TriggerAction,
}

const PF_BYTES: [u8; 24] = [
    0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0x7A, 0x7B, 0x7C, 0xC1, 0xC2, 0xC3, 0xC4,
    0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0x4A, 0x4B, 0x4C,
];
const PA_BYTES: [u8; 3] = [0x6C, 0x6E, 0x6B];

impl Aid {
    /// The wire byte, `None` for PF/PA numbers out of range.
    pub fn byte(self) -> Option<u8> {
        Some(match self {
            Aid::NoAid => 0x60,
            Aid::Enter => 0x7D,
            Aid::Pf(n) => *PF_BYTES.get(usize::from(n).checked_sub(1)?)?,
            Aid::Pa(n) => *PA_BYTES.get(usize::from(n).checked_sub(1)?)?,
            Aid::Clear => 0x6D,
            Aid::ClearPartition => 0x6A,
            Aid::SysReq => 0xF0,
            Aid::StructuredField => 0x88,
            Aid::ReadPartition => 0x61,
            Aid::TriggerAction => 0x7F,
        })
    }

    /// The AID for a wire byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        if let Some(i) = PF_BYTES.iter().position(|&x| x == b) {
            return Some(Aid::Pf(i as u8 + 1));
        }
        if let Some(i) = PA_BYTES.iter().position(|&x| x == b) {
            return Some(Aid::Pa(i as u8 + 1));
        }
        Some(match b {
            0x60 => Aid::NoAid,
            0x7D => Aid::Enter,
            0x6D => Aid::Clear,
            0x6A => Aid::ClearPartition,
            0xF0 => Aid::SysReq,
            0x88 => Aid::StructuredField,
            0x61 => Aid::ReadPartition,
            0x7F => Aid::TriggerAction,
            _ => return None,
        })
    }

    /// True for keys answered with a short read (AID only): Clear, PA keys
    /// and Clear Partition.
    pub const fn is_short_read(self) -> bool {
        matches!(self, Aid::Clear | Aid::Pa(_) | Aid::ClearPartition)
    }
}

/// Write control character, the byte after W/EW/EWA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Wcc(pub u8);

impl Wcc {
    /// Reset partition characteristics (bit 1).
    pub const RESET: u8 = 0x40;
    /// Start printer.
    pub const START_PRINTER: u8 = 0x08;
    /// Sound the alarm.
    pub const SOUND_ALARM: u8 = 0x04;
    /// Unlock the keyboard.
    pub const KEYBOARD_RESTORE: u8 = 0x02;
    /// Reset every modified data tag.
    pub const RESET_MDT: u8 = 0x01;

    /// A WCC from its low six flag bits, code-table encoded as hosts send
    /// it (the encoding sets bit 0x40 as well).
    pub const fn from_flags(flags: u8) -> Self {
        Self(CODE_TABLE[(flags & 0x3F) as usize])
    }

    /// True when `flag` (one of the constants) is set.
    pub const fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_command_code_point_sets_decode_to_the_same_command() {
        for c in Command::ALL {
            assert_eq!(Command::from_byte(c.sna_byte()), Some(c));
            assert_eq!(Command::from_byte(c.ccw_byte()), Some(c));
        }
        assert_eq!(Command::from_byte(0xF5), Some(Command::EraseWrite));
        assert_eq!(Command::from_byte(0x42), None);
    }

    #[test]
    fn aid_bytes_round_trip_for_every_key() {
        let keys = (1..=24).map(Aid::Pf).chain((1..=3).map(Aid::Pa)).chain([
            Aid::NoAid,
            Aid::Enter,
            Aid::Clear,
            Aid::ClearPartition,
            Aid::SysReq,
            Aid::StructuredField,
            Aid::ReadPartition,
            Aid::TriggerAction,
        ]);
        for k in keys {
            assert_eq!(Aid::from_byte(k.byte().unwrap()), Some(k), "{k:?}");
        }
        assert_eq!(Aid::Pf(25).byte(), None);
        assert_eq!(Aid::Pf(0).byte(), None);
    }

    #[test]
    fn protected_intensified_attribute_is_code_table_encoded() {
        let a = FieldAttribute::new()
            .protect()
            .display(Display::Intensified);
        assert_eq!(a.to_byte(), 0xE8);
        let back = FieldAttribute::from_byte(0xE8);
        assert!(back.is_protected() && !back.is_numeric() && !back.is_modified());
        assert_eq!(back.display_mode(), Display::Intensified);
    }

    #[test]
    fn extended_attribute_pairs_round_trip() {
        for kind in [0x00, 0xC0, 0xC1, 0xC2, 0x41, 0x42, 0x43, 0x45, 0x46, 0x99] {
            for value in [0x00, 0xF2] {
                let ea = ExtendedAttribute::from_pair(kind, value);
                let back = ExtendedAttribute::from_pair(ea.to_pair()[0], ea.to_pair()[1]);
                assert_eq!(back, ea);
            }
        }
        assert_eq!(
            ExtendedAttribute::from_pair(0x42, 0xF2),
            ExtendedAttribute::Foreground(Color::RED)
        );
    }

    #[test]
    fn format_controls_are_text_and_orders_are_not() {
        assert!(is_text(0x40) && is_text(0x00) && is_text(0x1C) && is_text(0xFF));
        for o in [
            order::SF,
            order::SFE,
            order::SBA,
            order::SA,
            order::MF,
            order::IC,
        ] {
            assert!(!is_text(o));
        }
    }
}
