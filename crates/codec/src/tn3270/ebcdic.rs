//! EBCDIC code pages 037 (US/Canada) and 1047 (Latin-1 open systems).
//!
//! Both code pages are permutations of Latin-1 (U+0000 – U+00FF), so every
//! byte decodes to a `char` and every Latin-1 `char` encodes to one byte.
//! The tables are generated from Python's `cp037` codec by
//! `crates/codec/tools/gen_ebcdic.py`.

#[path = "ebcdic_tables.rs"]
mod tables;

use tables::{CP037_TO_LATIN1, CP1047_TO_LATIN1, LATIN1_TO_CP037, LATIN1_TO_CP1047};

const _: () = assert!(CP037_TO_LATIN1.len() == 256 && LATIN1_TO_CP037.len() == 256);
const _: () = assert!(CP1047_TO_LATIN1.len() == 256 && LATIN1_TO_CP1047.len() == 256);

/// An EBCDIC code page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CodePage {
    /// CP 037, the default of US 3270 hosts.
    #[default]
    Cp037,
    /// CP 1047, z/OS Unix System Services.
    Cp1047,
}

/// Substitute written for characters a code page cannot hold: `?` (0x6F in
/// both code pages).
pub const SUBSTITUTE: u8 = 0x6F;

impl CodePage {
    /// Decodes one byte.
    pub const fn decode(self, b: u8) -> char {
        let table = match self {
            CodePage::Cp037 => &CP037_TO_LATIN1,
            CodePage::Cp1047 => &CP1047_TO_LATIN1,
        };
        table[b as usize] as char
    }

    /// Encodes one character; `None` outside Latin-1.
    pub const fn encode(self, c: char) -> Option<u8> {
        let cp = c as u32;
        if cp > 0xFF {
            return None;
        }
        let table = match self {
            CodePage::Cp037 => &LATIN1_TO_CP037,
            CodePage::Cp1047 => &LATIN1_TO_CP1047,
        };
        Some(table[cp as usize])
    }

    /// Decodes a byte string into `out`.
    pub fn decode_into(self, bytes: &[u8], out: &mut String) {
        out.reserve(bytes.len());
        out.extend(bytes.iter().map(|&b| self.decode(b)));
    }

    /// Decodes a byte string.
    pub fn decode_str(self, bytes: &[u8]) -> String {
        let mut s = String::new();
        self.decode_into(bytes, &mut s);
        s
    }

    /// Encodes `text` into `out`, writing [`SUBSTITUTE`] for characters
    /// outside Latin-1; returns how many were substituted.
    pub fn encode_into(self, text: &str, out: &mut Vec<u8>) -> usize {
        let mut lost = 0;
        out.reserve(text.len());
        for c in text.chars() {
            out.push(self.encode(c).unwrap_or_else(|| {
                lost += 1;
                SUBSTITUTE
            }));
        }
        lost
    }

    /// Encodes `text`, substituting characters outside Latin-1.
    pub fn encode_str(self, text: &str) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(text, &mut v);
        v
    }
}

/// A character of a 3270 buffer: a base code-page byte, or one reached
/// through the Graphic Escape order (APL/text symbols, code page 310).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScreenChar {
    /// A byte of the base code page.
    Base(u8),
    /// A byte of the GE code page (sent as GE + byte).
    GraphicEscape(u8),
}

impl ScreenChar {
    /// The base-page character, `None` for GE characters, which have no
    /// Latin-1 equivalent in this crate.
    pub fn to_char(self, page: CodePage) -> Option<char> {
        match self {
            ScreenChar::Base(b) => Some(page.decode(b)),
            ScreenChar::GraphicEscape(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp037_known_letters_and_digits() {
        assert_eq!(
            CodePage::Cp037.encode_str("hello"),
            [0x88, 0x85, 0x93, 0x93, 0x96]
        );
        assert_eq!(
            CodePage::Cp037.decode_str(&[0xC1, 0xF1, 0x40, 0x5B]),
            "A1 $"
        );
    }

    #[test]
    fn code_pages_differ_only_at_the_six_documented_positions() {
        let differ: Vec<u8> = (0..=255u8)
            .filter(|&b| CodePage::Cp037.decode(b) != CodePage::Cp1047.decode(b))
            .collect();
        assert_eq!(differ, [0x5F, 0xAD, 0xB0, 0xBA, 0xBB, 0xBD]);
        assert_eq!(CodePage::Cp1047.decode(0xAD), '[');
        assert_eq!(CodePage::Cp037.decode(0xBA), '[');
    }

    #[test]
    fn every_byte_round_trips_in_both_pages() {
        for page in [CodePage::Cp037, CodePage::Cp1047] {
            for b in 0..=255u8 {
                assert_eq!(page.encode(page.decode(b)), Some(b), "{page:?} {b:#x}");
            }
        }
    }

    #[test]
    fn characters_outside_latin1_are_substituted_and_counted() {
        let mut out = Vec::new();
        assert_eq!(CodePage::Cp037.encode_into("a€b", &mut out), 1);
        assert_eq!(out, [0x81, SUBSTITUTE, 0x82]);
    }
}
