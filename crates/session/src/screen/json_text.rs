//! [`Screen::write_json_text`]: the screen's text written straight into a
//! JSON string, for the audit log's `screen` entries.
//!
//! No intermediate `String` and no per-character UTF-8 encoding or
//! escaping decision: the tables below hold each EBCDIC byte's output.

use ballast_codec::tn3270::CodePage;

use super::{FA_FLAG, Screen};

/// One byte's output: up to 6 bytes (`\u00XX`), its length in byte 7.
type Escaped = [u8; 8];

const LEN: usize = 7;

/// A blank cell: null, attribute, control or non-display.
const SPACE: Escaped = [b' ', 0, 0, 0, 0, 0, 0, 1];

const CP037: [Escaped; 256] = table(CodePage::Cp037);
const CP1047: [Escaped; 256] = table(CodePage::Cp1047);

/// The escaped UTF-8 form of every byte of `cp`, as [`Screen::text`] shows
/// it: bytes below 0x40 (nulls and controls) as a space.
const fn table(cp: CodePage) -> [Escaped; 256] {
    let mut t = [SPACE; 256];
    let mut b = 0x40;
    while b < 256 {
        t[b] = escape(cp.decode(b as u8));
        b += 1;
    }
    t
}

/// `c` (Latin-1) as the inside of a JSON string, in UTF-8.
const fn escape(c: char) -> Escaped {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let cp = c as u32;
    match c {
        '"' => [b'\\', b'"', 0, 0, 0, 0, 0, 2],
        '\\' => [b'\\', b'\\', 0, 0, 0, 0, 0, 2],
        '\u{0}'..='\u{1f}' => [
            b'\\',
            b'u',
            b'0',
            b'0',
            DIGITS[(cp >> 4) as usize],
            DIGITS[(cp & 15) as usize],
            0,
            6,
        ],
        '\u{20}'..='\u{7f}' => [cp as u8, 0, 0, 0, 0, 0, 0, 1],
        // Latin-1 above 0x7F: two UTF-8 bytes.
        _ => [
            0xC0 | (cp >> 6) as u8,
            0x80 | (cp & 0x3F) as u8,
            0,
            0,
            0,
            0,
            0,
            2,
        ],
    }
}

/// A `plain` table's mark for a byte that needs the escaped table: no
/// plain ASCII output has this bit.
const ESCAPE: u8 = 0x80;

/// Each byte's output when it is one plain ASCII byte that needs no
/// escaping (bytes below 0x40 as a space); [`ESCAPE`] when it needs the
/// escaped table (a quote, a backslash, a control or a Latin-1 letter
/// such as é).
const fn plain(cp: CodePage) -> [u8; 256] {
    let mut t = [b' '; 256];
    let mut b = 0x40;
    while b < 256 {
        let c = cp.decode(b as u8);
        t[b] = match c {
            '"' | '\\' => ESCAPE,
            ' '..='~' => c as u8,
            _ => ESCAPE,
        };
        b += 1;
    }
    t
}

const PLAIN037: [u8; 256] = plain(CodePage::Cp037);
const PLAIN1047: [u8; 256] = plain(CodePage::Cp1047);

/// Where the walk over the cells is: the next field whose attribute cell
/// comes, and whether the cells now belong to a non-display field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Walk {
    next: usize,
    hidden: bool,
}

/// The length of `cells` without its trailing spaces, scanning back a
/// word at a time (a 3270 row is mostly blank).
fn shown_len(cells: &[u8]) -> usize {
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    let mut end = cells.len();
    while let Some(word) = end
        .checked_sub(8)
        .and_then(|start| <[u8; 8]>::try_from(&cells[start..end]).ok())
    {
        if u64::from_ne_bytes(word) != SPACES {
            break;
        }
        end -= 8;
    }
    while end > 0 && cells[end - 1] == b' ' {
        end -= 1;
    }
    end
}

/// The length of a row's EBCDIC `chars` up to its last graphic byte
/// (above 0x40, the space): the cells after it show as spaces.
fn graphic_len(chars: &[u8]) -> usize {
    const LOW7: u64 = u64::from_ne_bytes([0x7F; 8]);
    const TO_HIGH: u64 = u64::from_ne_bytes([0x3F; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut end = chars.len();
    while let Some(word) = end
        .checked_sub(8)
        .and_then(|start| <[u8; 8]>::try_from(&chars[start..end]).ok())
    {
        let w = u64::from_ne_bytes(word);
        // A byte's high bit ends up set when it is 0x80 or more, or when
        // its low seven bits plus 0x3F carry into bit 7 (0x41 or more);
        // no sum carries out of its byte.
        if (w | ((w & LOW7) + TO_HIGH)) & HIGH != 0 {
            break;
        }
        end -= 8;
    }
    while end > 0 && chars[end - 1] <= 0x40 {
        end -= 1;
    }
    end
}

/// Raw text is handed to the caller's sink in pieces of at most this.
const RAW_CHUNK: usize = 256;

impl Screen {
    /// Appends the screen's audit text to `out` as the inside of a JSON
    /// string, and hands the same text unescaped to `raw`, in pieces.
    ///
    /// The audit text is [`Screen::text`] (rows joined by `\n`,
    /// non-display fields blank) with each row's trailing spaces cut:
    /// most of a 3270 screen is blank, and what is cut is exactly what
    /// nobody can see. `out` gets `serde_json`'s escaping of it (the tests
    /// below check both).
    ///
    /// Each row is first decoded one byte per cell straight into `out`
    /// (a table look-up per cell, then attribute cells and non-display
    /// fields blanked by range); a row holding a character that needs
    /// escaping or two UTF-8 bytes is written again cell by cell.
    pub(crate) fn write_json_text(&self, out: &mut Vec<u8>, mut raw: impl FnMut(&[u8])) {
        let (escaped, plain) = match self.code_page {
            CodePage::Cp037 => (&CP037, &PLAIN037),
            CodePage::Cp1047 => (&CP1047, &PLAIN1047),
        };
        let cols = usize::from(self.size.cols.max(1));
        out.reserve(self.len() + 2 * usize::from(self.size.rows));
        // Cells before the first attribute belong to the last field (it
        // wraps), as in `Screen::dump`.
        let mut walk = Walk {
            next: 0,
            hidden: self.fields.last().is_some_and(super::Field::is_hidden),
        };
        debug_assert!(
            self.fields_consistent(),
            "the field table names every attribute cell"
        );
        let rows = self.chars.chunks(cols).zip(self.attrs.chunks(cols));
        for (row, (chars, attrs)) in rows.enumerate() {
            if row > 0 {
                out.extend_from_slice(b"\\n");
                raw(b"\n");
            }
            let first = row * cols;
            let start = out.len();
            let at_start = walk;
            // Cells past the last graphic byte are blank whatever their
            // field: decode only up to there.
            let graphic = &chars[..graphic_len(chars)];
            // One table look-up per cell, gathering the marks on the way;
            // attribute cells are blanked by the field walk (the field
            // table names each one).
            let mut marks = 0;
            out.extend(graphic.iter().map(|&c| {
                let p = plain[usize::from(c)];
                marks |= p;
                p
            }));
            walk = self.blank_hidden(&mut out[start..], first, chars.len(), walk);
            let shown = shown_len(&out[start..]);
            // A marked cell in a non-display field, since blanked, sends
            // the row the slow way too: still right, only slower.
            if marks & ESCAPE == 0 {
                out.truncate(start + shown);
                raw(&out[start..]);
            } else {
                out.truncate(start);
                let cells = chars.iter().zip(attrs).take(shown);
                self.write_row_escaped(out, escaped, cells, first, at_start, &mut raw);
            }
        }
    }

    /// Walks the fields whose attribute cell lies in the row of `len`
    /// cells starting at address `first`, blanking the decoded `cells`
    /// (a prefix of the row) that are attribute cells or belong to
    /// non-display fields.
    fn blank_hidden(&self, cells: &mut [u8], first: usize, len: usize, mut walk: Walk) -> Walk {
        let mut from = 0;
        while let Some(f) = self
            .fields
            .get(walk.next)
            .filter(|f| usize::from(f.attribute_address) < first + len)
        {
            let at = usize::from(f.attribute_address)
                .saturating_sub(first)
                .max(from);
            if let Some(cell) = cells.get_mut(at) {
                *cell = b' ';
            }
            if walk.hidden {
                let to = at.min(cells.len());
                cells[from.min(to)..to].fill(b' ');
            }
            walk = Walk {
                next: walk.next + 1,
                hidden: f.is_hidden(),
            };
            from = at;
        }
        if walk.hidden {
            let from = from.min(cells.len());
            cells[from..].fill(b' ');
        }
        walk
    }

    /// The slow way, for the shown `cells` of a row (starting at address
    /// `first`) holding characters to escape: cell by cell through the
    /// escaped table.
    fn write_row_escaped<'c>(
        &self,
        out: &mut Vec<u8>,
        escaped: &[Escaped; 256],
        cells: impl Iterator<Item = (&'c u8, &'c u8)>,
        first: usize,
        mut walk: Walk,
        raw: &mut impl FnMut(&[u8]),
    ) {
        let mut buf = [0u8; RAW_CHUNK];
        let mut len = 0;
        for (i, (&ch, &attr)) in cells.enumerate() {
            if let Some(f) = self
                .fields
                .get(walk.next)
                .filter(|f| usize::from(f.attribute_address) <= first + i)
            {
                walk = Walk {
                    next: walk.next + 1,
                    hidden: f.is_hidden(),
                };
            }
            let blank = walk.hidden || attr & FA_FLAG != 0 || ch < 0x40;
            let e = if blank {
                &SPACE
            } else {
                &escaped[usize::from(ch)]
            };
            out.extend_from_slice(&e[..usize::from(e[LEN])]);
            let c = if blank {
                ' '
            } else {
                self.code_page.decode(ch)
            };
            if len + 4 > RAW_CHUNK {
                raw(&buf[..len]);
                len = 0;
            }
            len += c.encode_utf8(&mut buf[len..]).len();
        }
        raw(&buf[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::{CP037, CP1047, LEN, Screen, graphic_len, shown_len, table};
    use ballast_codec::tn3270::codes::Display;
    use ballast_codec::tn3270::{
        CodePage, Command, FieldAttribute, Outbound, OutboundParser, RecordBuilder, ScreenSize, Wcc,
    };

    fn screen(cp: CodePage, record: &[u8]) -> Screen {
        let mut s = Screen::new(ScreenSize::MODEL_2, ScreenSize::MODEL_2, cp);
        let Outbound::Write {
            command,
            wcc,
            orders,
        } = OutboundParser::default().parse(record).unwrap()
        else {
            panic!("test records are writes")
        };
        crate::apply::apply_write(&mut s, command, wcc, orders).unwrap();
        s
    }

    /// The JSON text parsed back, checked against the raw text.
    fn json_text(s: &Screen) -> String {
        let mut out = b"\"".to_vec();
        let mut raw = Vec::new();
        s.write_json_text(&mut out, |piece| raw.extend_from_slice(piece));
        out.push(b'"');
        let text: String = serde_json::from_slice(&out).expect("valid JSON string");
        assert_eq!(text.as_bytes(), raw, "raw and JSON text agree");
        text
    }

    /// [`Screen::text`] with each row's trailing spaces cut.
    fn trimmed(s: &Screen) -> String {
        let text = s.text();
        let rows: Vec<&str> = text.split('\n').map(|r| r.trim_end_matches(' ')).collect();
        rows.join("\n")
    }

    #[test]
    fn json_text_is_the_screen_text_with_hidden_fields_blank() {
        for cp in [CodePage::Cp037, CodePage::Cp1047] {
            let all: Vec<u8> = (0x40..=0xFEu8).collect();
            let record = RecordBuilder::new(
                Command::EraseWrite,
                Wcc::from_flags(Wcc::KEYBOARD_RESTORE),
                ScreenSize::MODEL_2,
            )
            .code_page(cp)
            .text_str("before the first field")
            .sba(1, 0)
            .start_field(FieldAttribute::new().protect())
            .text_str("say \"hi\" \\ café ¢ ¬")
            .sba(2, 0)
            .start_field(FieldAttribute::new().display(Display::Hidden))
            .text_str("SECRET")
            .sba(3, 0)
            .start_field(FieldAttribute::new().protect())
            .text(&all)
            .sba(20, 0)
            .start_field(FieldAttribute::new().protect())
            .text_str("é row")
            .sba(20, 20)
            .start_field(FieldAttribute::new().display(Display::Hidden))
            .text_str("HIDDEN2")
            .sba(20, 40)
            .start_field(FieldAttribute::new().protect())
            .text_str("\"after\"   ")
            .sba(23, 70)
            .start_field(FieldAttribute::new().display(Display::Hidden))
            .text_str("WRAPS")
            .finish()
            .unwrap();
            let s = screen(cp, &record);
            let text = json_text(&s);
            assert_eq!(text, trimmed(&s));
            for hidden in ["SECRET", "WRAPS", "HIDDEN2"] {
                assert!(!text.contains(hidden), "{hidden} shown");
            }
            assert!(text.contains("say \"hi\" \\ café"), "{text}");
        }
    }

    #[test]
    fn json_text_of_a_blank_screen_is_empty_rows() {
        let s = Screen::new(ScreenSize::MODEL_2, ScreenSize::MODEL_2, CodePage::Cp037);
        assert_eq!(json_text(&s), "\n".repeat(23));
    }

    #[test]
    fn row_ends_are_found_for_every_byte_at_every_position() {
        for v in 0..=255u8 {
            for p in 0..20 {
                for fill in [0u8, 0x40] {
                    let mut row = [fill; 20];
                    row[p] = v;
                    let graphic = row.iter().rposition(|&b| b > 0x40).map_or(0, |i| i + 1);
                    assert_eq!(graphic_len(&row), graphic, "{v:#04x} at {p}");
                    row = [b' '; 20];
                    row[p] = v;
                    let shown = row.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
                    assert_eq!(shown_len(&row), shown, "{v:#04x} at {p}");
                }
            }
        }
    }

    #[test]
    fn tables_hold_serde_json_escaping_of_each_decoded_byte() {
        for (cp, t) in [(CodePage::Cp037, &CP037), (CodePage::Cp1047, &CP1047)] {
            assert_eq!(t, &table(cp));
            for b in 0x40..=0xFFu8 {
                let c = cp.decode(b);
                let json = serde_json::to_string(&c.to_string()).unwrap();
                let e = &t[usize::from(b)];
                let ours = std::str::from_utf8(&e[..usize::from(e[LEN])]).unwrap();
                assert_eq!(ours, &json[1..json.len() - 1], "byte {b:#04x} ({c:?})");
            }
        }
    }
}
