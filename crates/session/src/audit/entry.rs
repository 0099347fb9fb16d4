//! Writing an entry's JSON fields into the line buffer: no `format!`, no
//! intermediate `String`; a screen's text goes straight from its cells
//! into the line (`Screen::write_json_text`).

use std::io::Write as _;
use std::ops::Range;

use sha2::{Digest, Sha256};

use super::AuditEvent;

/// Appends the event's fields; returns where the value of a screen's
/// `text` lies in `out` (the escaped text between its quotes), which the
/// chain hash leaves out (its `sha256` field binds it). `text` is scratch
/// space for a screen's raw text, reused across entries.
pub(super) fn write_event(
    out: &mut Vec<u8>,
    text: &mut Vec<u8>,
    event: &AuditEvent<'_>,
) -> Option<Range<usize>> {
    // Writing to a `Vec` cannot fail.
    match event {
        AuditEvent::Connect { address, lu } => {
            out.extend_from_slice(b",\"event\":\"connect\",\"address\":");
            json_str(out, address);
            out.extend_from_slice(b",\"lu\":");
            json_opt(out, *lu);
        }
        AuditEvent::Negotiated { tn3270e, lu } => {
            let _ = write!(
                out,
                ",\"event\":\"negotiated\",\"tn3270e\":{tn3270e},\"lu\":"
            );
            json_opt(out, *lu);
        }
        AuditEvent::AidSent { aid, modified } => {
            out.extend_from_slice(b",\"event\":\"aid_sent\",\"aid\":\"");
            let _ = std::fmt::Write::write_fmt(&mut JsonEscaped(out), format_args!("{aid:?}"));
            out.extend_from_slice(b"\",\"modified\":[");
            for (i, &(r, c)) in modified.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                decimal(out, r.into());
                out.push(b',');
                decimal(out, c.into());
                out.push(b']');
            }
            out.push(b']');
        }
        AuditEvent::ScreenReceived { screen } => {
            // The text's hash comes first in the line but is known only
            // once the text is written: leave room and fill it in.
            out.extend_from_slice(b",\"event\":\"screen\",\"sha256\":\"");
            let at = out.len();
            out.extend_from_slice(&[b'0'; 64]);
            out.extend_from_slice(b"\",\"text\":\"");
            let start = out.len();
            // The raw text comes a row at a time: gather it and hash it
            // whole (one `update`, its blocks compressed in one run)
            // rather than feeding SHA-256 two small pieces per row.
            text.clear();
            screen.write_json_text(out, |raw| text.extend_from_slice(raw));
            let end = out.len();
            out.push(b'"');
            out[at..at + 64].copy_from_slice(&hex_digits(&Sha256::digest(&*text).into()));
            return Some(start..end);
        }
        AuditEvent::Error { kind, message } => {
            out.extend_from_slice(b",\"event\":\"error\",\"kind\":");
            json_str(out, kind);
            out.extend_from_slice(b",\"message\":");
            json_opt(out, *message);
        }
        AuditEvent::Disconnect { reason } => {
            out.extend_from_slice(b",\"event\":\"disconnect\",\"reason\":");
            json_str(out, reason);
        }
    }
    None
}

/// Appends `s` as a JSON string.
pub(super) fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    json_escape(out, s);
    out.push(b'"');
}

/// Appends `s` escaped as the inside of a JSON string, copying the runs
/// between characters that need escaping whole.
fn json_escape(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.extend_from_slice(escaped);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

fn json_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A `fmt::Write` that escapes what is written as the inside of a JSON
/// string (for `Debug` output, without a `format!` allocation).
struct JsonEscaped<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        json_escape(self.0, s);
        Ok(())
    }
}

/// Appends `n` in decimal (what `write!` would, without its formatting
/// machinery: a few tens of nanoseconds an entry).
pub(super) fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `bytes` as lower-case hex.
pub(crate) fn hex(out: &mut Vec<u8>, bytes: &[u8; 32]) {
    out.extend_from_slice(&hex_digits(bytes));
}

/// `bytes` as lower-case hex.
fn hex_digits(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{decimal, json_str};

    #[test]
    fn decimal_writes_what_display_does() {
        for n in [0, 1, 9, 10, 99, 100, 65_535, 1_765_000_000_000, u64::MAX] {
            let mut out = Vec::new();
            decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls_and_keep_the_rest() {
        let mut out = Vec::new();
        json_str(&mut out, "say \"hi\"\\ now\nrow\t\u{1}é end");
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, r#""say \"hi\"\\ now\nrow\t\u0001é end""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "say \"hi\"\\ now\nrow\t\u{1}é end");
    }
}
