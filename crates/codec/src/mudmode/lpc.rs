//! LPC values as MudMode writes them: `123`, `1.5`, `"text"`,
//! `({ v, v, })`, `([ k: v, ])`, with `0` standing for null.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// Default nesting limit: 64 arrays/mappings deep.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default limit on values in one packet (keys included): 1 Mi.
pub const DEFAULT_MAX_ELEMENTS: usize = 1 << 20;
/// Highest nesting limit a [`Limits`] may set (the decoder recurses).
pub const MAX_DEPTH_CEILING: usize = 1024;

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

/// A decoded LPC value borrowing its input: strings without escapes are
/// slices of it.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueRef<'a> {
    /// An integer (`0` also means null).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, as bytes (LPC strings carry no encoding).
    Str(Cow<'a, [u8]>),
    /// `({ … })`.
    Array(Vec<ValueRef<'a>>),
    /// `([ k: v, … ])`, in wire order.
    Mapping(Vec<(ValueRef<'a>, ValueRef<'a>)>),
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

impl<'a> ValueRef<'a> {
    /// True for `0`, LPC's null.
    pub fn is_null(&self) -> bool {
        matches!(self, ValueRef::Int(0))
    }

    /// The string bytes, if a string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            ValueRef::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A copy that owns everything.
    pub fn to_owned_value(&self) -> Value {
        match self {
            ValueRef::Int(i) => Value::Int(*i),
            ValueRef::Float(f) => Value::Float(*f),
            ValueRef::Str(s) => Value::Str(s.to_vec()),
            ValueRef::Array(a) => Value::Array(a.iter().map(Self::to_owned_value).collect()),
            ValueRef::Mapping(m) => Value::Mapping(
                m.iter()
                    .map(|(k, v)| (k.to_owned_value(), v.to_owned_value()))
                    .collect(),
            ),
        }
    }

    /// Appends the LPC text of this value.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            ValueRef::Int(i) => write_int(*i, out),
            ValueRef::Float(f) => write_float(*f, out)?,
            ValueRef::Str(s) => write_str(s, out)?,
            ValueRef::Array(a) => {
                out.extend_from_slice(b"({");
                for v in a {
                    v.encode(out)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"})");
            }
            ValueRef::Mapping(m) => {
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

impl Value {
    /// A borrowed view of this value.
    pub fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Int(i) => ValueRef::Int(*i),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Str(s) => ValueRef::Str(Cow::Borrowed(s)),
            Value::Array(a) => ValueRef::Array(a.iter().map(Self::as_value_ref).collect()),
            Value::Mapping(m) => ValueRef::Mapping(
                m.iter()
                    .map(|(k, v)| (k.as_value_ref(), v.as_value_ref()))
                    .collect(),
            ),
        }
    }

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

fn write_int(i: i64, out: &mut Vec<u8>) {
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

fn write_float(f: f64, out: &mut Vec<u8>) -> Result<()> {
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

fn write_str(s: &[u8], out: &mut Vec<u8>) -> Result<()> {
    out.push(b'"');
    let mut rest = s;
    while let Some(i) = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0))
    {
        out.extend_from_slice(&rest[..i]);
        let esc = match rest[i] {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            _ => {
                return Err(Error::Invalid {
                    offset: out.len(),
                    byte: 0,
                    reason: "nul in lpc string",
                });
            }
        };
        out.extend_from_slice(&[b'\\', esc]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
    Ok(())
}

/// Decodes one complete LPC value from `input` (trailing whitespace
/// allowed, anything else after the value is an error).
pub fn decode(input: &[u8], limits: Limits) -> Result<ValueRef<'_>> {
    limits.validate()?;
    let mut p = Parser {
        input,
        pos: 0,
        limits,
        elements: 0,
        items: Vec::new(),
        pairs: Vec::new(),
    };
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != input.len() {
        return Err(p.invalid("end of lpc value expected"));
    }
    Ok(v)
}

/// Offset of the first `"` or `\\`, eight bytes at a time.
///
/// `x = w ^ splat(c)` has a zero byte where `w` holds `c`; the classic
/// `(x - 0x01…01) & !x & 0x80…80` test sets bit 7 of every zero byte and can
/// only add false hits above the first real one, so its lowest set bit is
/// exact.
#[inline]
pub(super) fn string_end(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTE: u64 = ONES * b'"' as u64;
    const BACKSLASH: u64 = ONES * b'\\' as u64;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = zero_bytes(w ^ QUOTE) | zero_bytes(w ^ BACKSLASH);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|p| i + p)
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    limits: Limits,
    elements: usize,
    /// Elements of the arrays being parsed, innermost last; each array is
    /// moved out into an exactly sized `Vec` when it closes.
    items: Vec<ValueRef<'a>>,
    /// Same for mapping entries.
    pairs: Vec<(ValueRef<'a>, ValueRef<'a>)>,
}

impl<'a> Parser<'a> {
    fn invalid(&self, reason: &'static str) -> Error {
        Error::Invalid {
            offset: self.pos,
            byte: self.input.get(self.pos).copied().unwrap_or(0),
            reason,
        }
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<ValueRef<'a>> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(Error::TooManyElements {
                offset: self.pos,
                limit: self.limits.max_elements,
            });
        }
        self.skip_ws();
        match self.input.get(self.pos) {
            Some(b'"') => self.string(),
            Some(b'(') => match self.input.get(self.pos + 1) {
                Some(b'{') => self.array(depth + 1),
                Some(b'[') => self.mapping(depth + 1),
                _ => Err(Error::Invalid {
                    offset: self.pos + 1,
                    byte: self.input.get(self.pos + 1).copied().unwrap_or(0),
                    reason: "`{` or `[` after `(` expected",
                }),
            },
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.invalid("lpc value expected")),
        }
    }

    fn open(&mut self, depth: usize) -> Result<usize> {
        if depth > self.limits.max_depth {
            return Err(Error::DepthExceeded {
                offset: self.pos,
                limit: self.limits.max_depth,
            });
        }
        let start = self.pos;
        self.pos += 2;
        Ok(start)
    }

    /// After an element: `,` then maybe the closer, or the closer alone.
    /// Returns true when the container is closed.
    #[inline]
    fn separator(&mut self, close: [u8; 2], start: usize, what: &'static str) -> Result<bool> {
        self.skip_ws();
        match self.input.get(self.pos) {
            Some(b',') => self.pos += 1,
            Some(_) if self.input[self.pos..].starts_with(&close) => {}
            Some(_) => return Err(self.invalid("`,` expected")),
            None => {
                return Err(Error::Unterminated {
                    offset: start,
                    what,
                });
            }
        }
        self.closed(close, start, what)
    }

    #[inline]
    fn closed(&mut self, close: [u8; 2], start: usize, what: &'static str) -> Result<bool> {
        self.skip_ws();
        if self.input[self.pos..].starts_with(&close) {
            self.pos += 2;
            return Ok(true);
        }
        if self.pos >= self.input.len() {
            return Err(Error::Unterminated {
                offset: start,
                what,
            });
        }
        Ok(false)
    }

    fn array(&mut self, depth: usize) -> Result<ValueRef<'a>> {
        const WHAT: &str = "lpc array";
        let start = self.open(depth)?;
        let base = self.items.len();
        if !self.closed(*b"})", start, WHAT)? {
            loop {
                let v = self.value(depth)?;
                self.items.push(v);
                if self.separator(*b"})", start, WHAT)? {
                    break;
                }
            }
        }
        Ok(ValueRef::Array(self.items.drain(base..).collect()))
    }

    fn mapping(&mut self, depth: usize) -> Result<ValueRef<'a>> {
        const WHAT: &str = "lpc mapping";
        let start = self.open(depth)?;
        let base = self.pairs.len();
        if !self.closed(*b"])", start, WHAT)? {
            loop {
                let key = self.value(depth)?;
                self.skip_ws();
                match self.input.get(self.pos) {
                    Some(b':') => self.pos += 1,
                    Some(_) => return Err(self.invalid("`:` expected")),
                    None => {
                        return Err(Error::Unterminated {
                            offset: start,
                            what: WHAT,
                        });
                    }
                }
                let value = self.value(depth)?;
                self.pairs.push((key, value));
                if self.separator(*b"])", start, WHAT)? {
                    break;
                }
            }
        }
        Ok(ValueRef::Mapping(self.pairs.drain(base..).collect()))
    }

    #[inline]
    fn string(&mut self) -> Result<ValueRef<'a>> {
        let start = self.pos;
        let body = start + 1;
        let unterminated = Error::Unterminated {
            offset: start,
            what: "lpc string",
        };
        let i = memchr::memchr2(b'"', b'\\', &self.input[body..]).ok_or(unterminated.clone())?;
        if self.input[body + i] == b'"' {
            self.pos = body + i + 1;
            return Ok(ValueRef::Str(Cow::Borrowed(&self.input[body..body + i])));
        }
        let mut out = self.input[body..body + i].to_vec();
        let mut at = body + i;
        loop {
            match self.input.get(at) {
                Some(b'"') => break,
                Some(b'\\') => {
                    let &e = self.input.get(at + 1).ok_or(unterminated.clone())?;
                    out.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    });
                    at += 2;
                }
                Some(_) => {
                    let rest = &self.input[at..];
                    let n = memchr::memchr2(b'"', b'\\', rest).ok_or(unterminated.clone())?;
                    out.extend_from_slice(&rest[..n]);
                    at += n;
                }
                None => return Err(unterminated),
            }
        }
        self.pos = at + 1;
        Ok(ValueRef::Str(Cow::Owned(out)))
    }

    #[inline]
    fn number(&mut self) -> Result<ValueRef<'a>> {
        let start = self.pos;
        let neg = self.input[start] == b'-';
        let mut at = start + usize::from(neg);
        let digits = at;
        let mut n: i64 = 0;
        while let Some(&d @ b'0'..=b'9') = self.input.get(at) {
            let digit = i64::from(d - b'0');
            n = n
                .checked_mul(10)
                .and_then(|n| {
                    if neg {
                        n.checked_sub(digit)
                    } else {
                        n.checked_add(digit)
                    }
                })
                .ok_or(Error::Invalid {
                    offset: start,
                    byte: d,
                    reason: "integer overflow",
                })?;
            at += 1;
        }
        if at == digits {
            self.pos = at;
            return Err(self.invalid("digit expected"));
        }
        if let Some(b'.' | b'e' | b'E') = self.input.get(at) {
            return self.float(start);
        }
        self.pos = at;
        Ok(ValueRef::Int(n))
    }

    fn float(&mut self, start: usize) -> Result<ValueRef<'a>> {
        let len = self.input[start..]
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'-' | b'+'))
            .unwrap_or(self.input.len() - start);
        let text = std::str::from_utf8(&self.input[start..start + len]).ok();
        let f = text
            .and_then(|t| t.parse::<f64>().ok())
            .ok_or(Error::Invalid {
                offset: start,
                byte: self.input[start],
                reason: "malformed float",
            })?;
        self.pos = start + len;
        Ok(ValueRef::Float(f))
    }
}
