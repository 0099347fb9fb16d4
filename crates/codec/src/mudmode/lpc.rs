//! LPC values as MudMode writes them: `123`, `1.5`, `"text"`,
//! `({ v, v, })`, `([ k: v, ])`, with `0` standing for null. An empty
//! element (`({1,,})`, what MudOS and FluffOS write for an object) reads as
//! `0`, as the drivers read it.
//!
//! Two ways to decode:
//!
//! - a [`Decoder`] you keep: [`Decoder::decode`] writes the value onto a flat
//!   tape the decoder owns (16 bytes a value, in wire order) and returns a
//!   [`ValueRef`], a `Copy` view into that tape and the input. Arrays and
//!   mappings are iterated and indexed as views ([`Array`], [`Mapping`]),
//!   strings are byte slices (of the input, or of the decoder's scratch
//!   buffer when they had escapes or newlines, which MudOS and FluffOS
//!   send as a raw CR byte). The next decode clears the tape and
//!   reuses its memory, so steady-state decoding allocates nothing;
//! - [`decode`], one shot, into an owned [`Value`] tree (allocates).
//!
//! ```
//! use ballast_codec::mudmode::lpc::{Decoder, Limits, Value, ValueKind};
//!
//! let mut decoder = Decoder::new(Limits::default())?;
//! let body = br#"({"mudlist",7,(["Dead \"Souls\"":({-1,"10.0.0.1",4000,}),"Gone":0,]),})"#;
//! let root = decoder.decode(body)?;
//! let fields = root.as_array().expect("an array");
//! assert_eq!(fields.get(1).and_then(|v| v.as_int()), Some(7));
//! let muds = fields.get(2).and_then(|v| v.as_mapping()).expect("a mapping");
//! for (name, info) in muds {
//!     match info.kind() {
//!         ValueKind::Array(info) => {
//!             assert_eq!(name.as_bytes(), Some(&br#"Dead "Souls""#[..]));
//!             assert_eq!(info.get(2).and_then(|v| v.as_int()), Some(4000));
//!         }
//!         _ => assert!(info.is_null(), "0 marks a mud that went down"),
//!     }
//! }
//! // Keep something past the next decode by copying it out.
//! let owned: Value = root.to_owned_value();
//! assert_eq!(root, owned);
//! # Ok::<(), ballast_codec::Error>(())
//! ```

mod decoder;
mod view;

pub use decoder::Decoder;
pub use view::{Array, ArrayIter, Mapping, MappingIter, ValueKind, ValueRef};

use crate::error::{Error, Result};

/// Default nesting limit: 64 arrays/mappings deep.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default limit on values in one packet (keys included): 1 Mi.
pub const DEFAULT_MAX_ELEMENTS: usize = 1 << 20;
/// Highest nesting limit a [`Limits`] may set. The decoder and the views
/// do not recurse (the views walk the tape with a fixed stack of this many
/// levels), but an owned [`Value`]'s `encode`, comparison and drop recurse
/// once per level; this bound keeps them within a small thread stack.
pub const MAX_DEPTH_CEILING: usize = 1024;
/// Longest input one decode accepts: 4 GiB - 1 (tape offsets are `u32`).
pub const MAX_INPUT_LEN: usize = u32::MAX as usize;

/// Decoding limits. `Default` is 64 deep, 1 Mi values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays and mappings.
    pub max_depth: usize,
    /// Most values (keys included) in one document.
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_elements: DEFAULT_MAX_ELEMENTS,
        }
    }
}

impl Limits {
    /// Checks the limits are usable.
    pub fn validate(&self) -> Result<()> {
        if self.max_depth > MAX_DEPTH_CEILING {
            return Err(Error::Config {
                field: "max_depth",
                reason: "is over 1024",
            });
        }
        Ok(())
    }
}

/// An owned LPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer (`0` also means null).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, as bytes.
    Str(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A mapping, in insertion order.
    Mapping(Vec<(Value, Value)>),
}

impl Value {
    /// Appends the LPC text of this value.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Value::Int(i) => write_int(*i, out),
            Value::Float(f) => write_float(*f, out)?,
            Value::Str(s) => write_str(s, out)?,
            Value::Array(a) => {
                out.extend_from_slice(b"({");
                for v in a {
                    v.encode(out)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"})");
            }
            Value::Mapping(m) => {
                out.extend_from_slice(b"([");
                for (k, v) in m {
                    k.encode(out)?;
                    out.push(b':');
                    v.encode(out)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"])");
            }
        }
        Ok(())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.as_bytes().to_vec())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

pub(super) fn write_int(i: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

pub(super) fn write_float(f: f64, out: &mut Vec<u8>) -> Result<()> {
    if !f.is_finite() {
        return Err(Error::Invalid {
            offset: out.len(),
            byte: 0,
            reason: "non-finite float",
        });
    }
    // Debug prints the shortest round-tripping form and always a `.` or `e`.
    use std::io::Write;
    write!(out, "{f:?}").map_err(|_| Error::Invalid {
        offset: 0,
        byte: 0,
        reason: "float",
    })
}

/// Writes a string as MudOS and FluffOS `save_svalue` do: `"` and `\\`
/// escaped, a newline as a raw CR byte (their readers turn CR back into a
/// newline and read `\\x` as `x`, so `\\n` would arrive as `n`), a CR as
/// `\\` and CR, everything else raw. A NUL cannot be sent: the drivers'
/// strings end at one.
pub(super) fn write_str(s: &[u8], out: &mut Vec<u8>) -> Result<()> {
    out.push(b'"');
    let mut rest = s;
    while let Some(i) = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'\\' | b'\n' | b'\r' | 0))
    {
        out.extend_from_slice(&rest[..i]);
        match rest[i] {
            b'\n' => out.push(b'\r'),
            0 => {
                return Err(Error::Invalid {
                    offset: out.len(),
                    byte: 0,
                    reason: "nul in lpc string",
                });
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
    Ok(())
}

/// Decodes one complete LPC value from `input` into an owned [`Value`]
/// (whitespace around it allowed, anything else after it is an error).
///
/// Convenient for one value; it allocates the tree. To decode many values
/// without allocating, keep a [`Decoder`] and read the [`ValueRef`] it
/// returns.
pub fn decode(input: &[u8], limits: Limits) -> Result<Value> {
    Decoder::new(limits)?
        .decode(input)
        .map(|v| v.to_owned_value())
}

/// Offset of the first `"`, `\\` or CR (a newline as the drivers write
/// it), eight bytes at a time.
///
/// `x = w ^ splat(c)` has a zero byte where `w` holds `c`; the classic
/// `(x - 0x01…01) & !x & 0x80…80` test sets bit 7 of every zero byte and can
/// only add false hits above the first real one, so its lowest set bit is
/// exact.
#[inline]
pub(crate) fn string_end(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTE: u64 = ONES * b'"' as u64;
    const BACKSLASH: u64 = ONES * b'\\' as u64;
    const CR: u64 = ONES * b'\r' as u64;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = zero_bytes(w ^ QUOTE) | zero_bytes(w ^ BACKSLASH) | zero_bytes(w ^ CR);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| matches!(b, b'"' | b'\\' | b'\r'))
        .map(|p| i + p)
}
