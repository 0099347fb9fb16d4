//! 3270 buffer addresses: 12-, 14- and 16-bit forms, and screen geometry.

use crate::error::{Error, Result};

/// The 3270 "code table": the graphic byte for each 6-bit value, used by
/// 12-bit addresses, field attributes and the WCC.
pub const CODE_TABLE: [u8; 64] = [
    0x40, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
    0x50, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F,
    0x60, 0x61, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F,
    0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0x7A, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F,
];
const _: () = assert!(
    CODE_TABLE.len() == 64,
    "the code table maps every 6-bit value"
);

/// How addresses are written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressMode {
    /// 12-bit (code table) below 4096 cells, 14-bit binary above: what
    /// every 3270 accepts without negotiation.
    #[default]
    TwelveFourteen,
    /// 16-bit binary, after the host enabled it (large screens).
    Sixteen,
}

/// Encodes `address` in `mode`.
pub fn encode_address(address: u16, mode: AddressMode) -> Result<[u8; 2]> {
    match mode {
        AddressMode::Sixteen => Ok(address.to_be_bytes()),
        AddressMode::TwelveFourteen if address < 0x1000 => Ok([
            CODE_TABLE[usize::from(address >> 6)],
            CODE_TABLE[usize::from(address & 0x3F)],
        ]),
        AddressMode::TwelveFourteen if address < 0x4000 => Ok(address.to_be_bytes()),
        AddressMode::TwelveFourteen => Err(Error::Config {
            field: "address",
            reason: "is over 14 bits",
        }),
    }
}

/// Decodes a two-byte address (12- or 14-bit by its top bits, or 16-bit).
pub fn decode_address(bytes: [u8; 2], mode: AddressMode) -> u16 {
    let [hi, lo] = bytes;
    match mode {
        AddressMode::Sixteen => u16::from_be_bytes(bytes),
        AddressMode::TwelveFourteen if hi & 0xC0 == 0 => u16::from(hi & 0x3F) << 8 | u16::from(lo),
        AddressMode::TwelveFourteen => u16::from(hi & 0x3F) << 6 | u16::from(lo & 0x3F),
    }
}

/// Rows and columns of a screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScreenSize {
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

impl ScreenSize {
    /// Model 2: 24 × 80, the default screen of every 3270.
    pub const MODEL_2: Self = Self { rows: 24, cols: 80 };
    /// Model 3: 32 × 80.
    pub const MODEL_3: Self = Self { rows: 32, cols: 80 };
    /// Model 4: 43 × 80.
    pub const MODEL_4: Self = Self { rows: 43, cols: 80 };
    /// Model 5: 27 × 132.
    pub const MODEL_5: Self = Self {
        rows: 27,
        cols: 132,
    };

    /// Number of cells.
    pub const fn buffer_len(self) -> u32 {
        self.rows as u32 * self.cols as u32
    }

    /// The address of zero-based (`row`, `col`), `None` outside the screen.
    pub fn address(self, row: u16, col: u16) -> Option<u16> {
        if row < self.rows && col < self.cols {
            u16::try_from(u32::from(row) * u32::from(self.cols) + u32::from(col)).ok()
        } else {
            None
        }
    }

    /// Zero-based (row, column) of `address`, `None` outside the screen.
    pub fn row_col(self, address: u16) -> Option<(u16, u16)> {
        (u32::from(address) < self.buffer_len() && self.cols > 0)
            .then(|| (address / self.cols, address % self.cols))
    }
}

impl Default for ScreenSize {
    fn default() -> Self {
        Self::MODEL_2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_11_col_39_on_80_columns_is_4e_d7() {
        let addr = ScreenSize::MODEL_2.address(11, 39).unwrap();
        assert_eq!(
            encode_address(addr, AddressMode::TwelveFourteen).unwrap(),
            [0x4E, 0xD7]
        );
        assert_eq!(
            decode_address([0x4E, 0xD7], AddressMode::TwelveFourteen),
            addr
        );
    }

    #[test]
    fn fourteen_bit_form_is_used_above_4095_and_round_trips() {
        let bytes = encode_address(5000, AddressMode::TwelveFourteen).unwrap();
        assert_eq!(bytes, [0x13, 0x88]);
        assert_eq!(decode_address(bytes, AddressMode::TwelveFourteen), 5000);
        assert!(encode_address(0x4000, AddressMode::TwelveFourteen).is_err());
    }

    #[test]
    fn sixteen_bit_mode_is_plain_big_endian() {
        assert_eq!(
            encode_address(0xABCD, AddressMode::Sixteen).unwrap(),
            [0xAB, 0xCD]
        );
        assert_eq!(decode_address([0xAB, 0xCD], AddressMode::Sixteen), 0xABCD);
    }

    #[test]
    fn every_12_bit_address_round_trips() {
        for a in 0..0x1000 {
            let b = encode_address(a, AddressMode::TwelveFourteen).unwrap();
            assert_eq!(decode_address(b, AddressMode::TwelveFourteen), a);
        }
    }
}
