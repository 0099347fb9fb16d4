//! The reusable LPC decoder: an iterative parser writing a flat tape.

use super::view::ValueRef;
use super::{Limits, MAX_INPUT_LEN, string_end};
use crate::error::{Error, Result};

/// One value on the tape, in pre-order: a container is followed by its
/// elements (a mapping by key, value, key, value …), then by its next
/// sibling `span` nodes later. Offsets are `u32`: [`Decoder::decode`]
/// refuses inputs over [`MAX_INPUT_LEN`], and a value takes at least one
/// byte (an empty element, read as `0`, is followed by its own separator),
/// so every count fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Node {
    Int(i64),
    Float(f64),
    /// A string without escapes: `input[start..start + len]`.
    Str {
        start: u32,
        len: u32,
    },
    /// An unescaped string: `scratch[start..start + len]`.
    Unescaped {
        start: u32,
        len: u32,
    },
    /// `len` elements; `span` counts this node and all its descendants.
    Array {
        len: u32,
        span: u32,
    },
    /// `len` key/value pairs; `span` as for arrays.
    Mapping {
        len: u32,
        span: u32,
    },
}

const _: () = assert!(size_of::<Node>() == 16, "a tape node stays two words");

/// A container still open while parsing.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Index of its node on the tape.
    node: u32,
    /// Offset of its `(`, for errors.
    start: u32,
    /// Elements (pairs for a mapping) completed so far.
    len: u32,
    mapping: bool,
    /// Mapping only: a key was read and its value is due.
    key_read: bool,
}

/// A reusable LPC decoder that allocates nothing once warmed up.
///
/// Values go onto a flat tape of 16-byte nodes, escaped strings into a
/// scratch buffer, open containers onto an explicit stack (no recursion, so
/// no nesting can overflow the thread's stack); all three are cleared, not
/// freed, by the next [`decode`](Self::decode). After the first packets the
/// buffers have reached their working size and decoding stops allocating.
/// What they can grow to is bounded by the [`Limits`]: 16 bytes per element,
/// the input's length in scratch, 16 bytes per level of depth.
///
/// ```
/// use ballast_codec::mudmode::lpc::{Decoder, Limits};
///
/// let mut decoder = Decoder::new(Limits::default())?;
/// for body in [&br#"({"tell",5,})"#[..], br#"(["a\"b":1,])"#] {
///     let value = decoder.decode(body)?; // borrows `body` and `decoder`
///     assert!(value.as_array().is_some() || value.as_mapping().is_some());
/// }
/// let root = decoder.decode(br#"(["mud":({"1.2.3.4",4000,}),])"#)?;
/// let info = root.as_mapping().and_then(|m| m.get(b"mud")).and_then(|v| v.as_array());
/// assert_eq!(info.and_then(|a| a.get(1)).and_then(|v| v.as_int()), Some(4000));
/// # Ok::<(), ballast_codec::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Decoder {
    limits: Limits,
    tape: Vec<Node>,
    scratch: Vec<u8>,
    stack: Vec<Open>,
}

impl Decoder {
    /// A decoder with the given limits (checked).
    pub fn new(limits: Limits) -> Result<Self> {
        limits.validate()?;
        Ok(Self {
            limits,
            ..Self::default()
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Decodes one complete LPC value (whitespace around it allowed,
    /// anything else after it is an error) into this decoder's tape.
    ///
    /// The value borrows `input` and the decoder until the next call.
    /// Errors carry the offset in `input`; an input over [`MAX_INPUT_LEN`]
    /// is [`Error::FrameTooLong`].
    pub fn decode<'a>(&'a mut self, input: &'a [u8]) -> Result<ValueRef<'a>> {
        if input.len() > MAX_INPUT_LEN {
            return Err(Error::FrameTooLong {
                len: input.len() as u64,
                limit: MAX_INPUT_LEN as u64,
            });
        }
        self.tape.clear();
        self.scratch.clear();
        self.stack.clear();
        let mut p = Parser {
            input,
            pos: 0,
            limits: self.limits,
            tape: &mut self.tape,
            scratch: &mut self.scratch,
            stack: &mut self.stack,
        };
        p.document()?;
        Ok(ValueRef::root(&self.tape, input, &self.scratch))
    }
}

/// Shows the limits and buffer sizes, not the tape's contents.
impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("limits", &self.limits)
            .field("tape_capacity", &self.tape.capacity())
            .field("scratch_capacity", &self.scratch.capacity())
            .finish_non_exhaustive()
    }
}

struct Parser<'p> {
    input: &'p [u8],
    pos: usize,
    limits: Limits,
    tape: &'p mut Vec<Node>,
    scratch: &'p mut Vec<u8>,
    stack: &'p mut Vec<Open>,
}

/// What comes after a complete value inside a container.
enum Next {
    Value,
    Closed,
}

impl Parser<'_> {
    fn invalid(&self, reason: &'static str) -> Error {
        Error::Invalid {
            offset: self.pos,
            byte: self.input.get(self.pos).copied().unwrap_or(0),
            reason,
        }
    }

    /// The innermost open container reported as unterminated.
    fn unterminated(&self) -> Error {
        match self.stack.last() {
            Some(open) => Error::Unterminated {
                offset: open.start as usize,
                what: if open.mapping {
                    "lpc mapping"
                } else {
                    "lpc array"
                },
            },
            None => self.invalid("lpc value expected"),
        }
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn document(&mut self) -> Result<()> {
        loop {
            if self.value()? {
                continue; // a container opened: its first element is due
            }
            // A value is complete; close every container it completes.
            loop {
                if self.stack.is_empty() {
                    self.skip_ws();
                    if self.pos != self.input.len() {
                        return Err(self.invalid("end of lpc value expected"));
                    }
                    return Ok(());
                }
                match self.after_element()? {
                    Next::Value => break,
                    Next::Closed => {}
                }
            }
        }
    }

    /// Reads one value. Returns true when it opened a container whose first
    /// element is due, false when the value is complete.
    #[inline(always)]
    fn value(&mut self) -> Result<bool> {
        if self.tape.len() >= self.limits.max_elements {
            return Err(Error::TooManyElements {
                offset: self.pos,
                limit: self.limits.max_elements,
            });
        }
        self.skip_ws();
        match self.input.get(self.pos) {
            Some(b'"') => self.string().map(|()| false),
            Some(b'-' | b'0'..=b'9') => self.number().map(|()| false),
            Some(b'(') => self.open(),
            // The drivers write nothing for an object or function and read
            // the gap as 0; the separator itself is checked by the caller.
            Some(b',' | b':') if !self.stack.is_empty() => {
                self.tape.push(Node::Int(0));
                Ok(false)
            }
            Some(_) => Err(self.invalid("lpc value expected")),
            None => Err(self.unterminated()),
        }
    }

    /// `({` or `([`: pushes the container; true when it is not empty.
    fn open(&mut self) -> Result<bool> {
        let mapping = match self.input.get(self.pos + 1) {
            Some(b'{') => false,
            Some(b'[') => true,
            other => {
                return Err(Error::Invalid {
                    offset: self.pos + 1,
                    byte: other.copied().unwrap_or(0),
                    reason: "`{` or `[` after `(` expected",
                });
            }
        };
        if self.stack.len() >= self.limits.max_depth {
            return Err(Error::DepthExceeded {
                offset: self.pos,
                limit: self.limits.max_depth,
            });
        }
        // Input length <= MAX_INPUT_LEN (u32) and one node per value byte.
        let node = self.tape.len() as u32;
        self.tape.push(if mapping {
            Node::Mapping { len: 0, span: 0 }
        } else {
            Node::Array { len: 0, span: 0 }
        });
        self.stack.push(Open {
            node,
            start: self.pos as u32,
            len: 0,
            mapping,
            key_read: false,
        });
        self.pos += 2;
        self.skip_ws();
        if self.closer_here(mapping) {
            self.close();
            return Ok(false);
        }
        Ok(true)
    }

    #[inline(always)]
    fn closer_here(&self, mapping: bool) -> bool {
        let closer: &[u8; 2] = if mapping { b"])" } else { b"})" };
        self.input.get(self.pos..self.pos + 2) == Some(closer)
    }

    /// Pops the innermost container (its closer is at `pos`) and fills in
    /// its node.
    fn close(&mut self) {
        self.pos += 2;
        let Some(open) = self.stack.pop() else {
            debug_assert!(false, "close with no open container");
            return;
        };
        let span = self.tape.len() as u32 - open.node;
        self.tape[open.node as usize] = if open.mapping {
            Node::Mapping {
                len: open.len,
                span,
            }
        } else {
            Node::Array {
                len: open.len,
                span,
            }
        };
    }

    /// After a complete value inside the innermost container: `:` after a
    /// key, else `,` and/or the closer.
    #[inline(always)]
    fn after_element(&mut self) -> Result<Next> {
        self.skip_ws();
        let Some(open) = self.stack.last_mut() else {
            debug_assert!(false, "after_element with no open container");
            return Ok(Next::Closed);
        };
        let mapping = open.mapping;
        if mapping && !open.key_read {
            open.key_read = true;
            return match self.input.get(self.pos) {
                Some(b':') => {
                    self.pos += 1;
                    Ok(Next::Value)
                }
                Some(_) => Err(self.invalid("`:` expected")),
                None => Err(self.unterminated()),
            };
        }
        open.key_read = false;
        open.len += 1;
        match self.input.get(self.pos) {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
            }
            Some(_) if self.closer_here(mapping) => {}
            Some(_) => return Err(self.invalid("`,` expected")),
            None => return Err(self.unterminated()),
        }
        if self.closer_here(mapping) {
            self.close();
            return Ok(Next::Closed);
        }
        if self.pos >= self.input.len() {
            return Err(self.unterminated());
        }
        Ok(Next::Value)
    }

    #[inline(always)]
    fn string(&mut self) -> Result<()> {
        let start = self.pos;
        let body = start + 1;
        let Some(i) = string_end(&self.input[body..]) else {
            return Err(string_unterminated(start));
        };
        if self.input[body + i] == b'"' {
            self.pos = body + i + 1;
            // Offsets are below MAX_INPUT_LEN, which fits in u32.
            self.tape.push(Node::Str {
                start: body as u32,
                len: i as u32,
            });
            return Ok(());
        }
        self.escaped_string(start, body + i)
    }

    /// The rest of a string from its first backslash or CR at `at`,
    /// unescaped into the scratch buffer. As in the drivers' readers, a raw
    /// CR is a newline and `\\` keeps the byte after it (`\\n`, `\\t`,
    /// `\\r`, which other implementations write, are control characters).
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, mut at: usize) -> Result<()> {
        let from = self.scratch.len();
        self.scratch.extend_from_slice(&self.input[start + 1..at]);
        loop {
            match self.input.get(at) {
                Some(b'"') => break,
                Some(b'\\') => {
                    let &e = self.input.get(at + 1).ok_or(string_unterminated(start))?;
                    self.scratch.push(match e {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    });
                    at += 2;
                }
                Some(b'\r') => {
                    self.scratch.push(b'\n');
                    at += 1;
                }
                Some(_) => {
                    let rest = &self.input[at..];
                    let n = string_end(rest).ok_or(string_unterminated(start))?;
                    self.scratch.extend_from_slice(&rest[..n]);
                    at += n;
                }
                None => return Err(string_unterminated(start)),
            }
        }
        self.pos = at + 1;
        // The scratch never holds more bytes than the input has.
        self.tape.push(Node::Unescaped {
            start: from as u32,
            len: (self.scratch.len() - from) as u32,
        });
        Ok(())
    }

    #[inline(always)]
    fn number(&mut self) -> Result<()> {
        let start = self.pos;
        let neg = self.input[start] == b'-';
        let digits = start + usize::from(neg);
        let mut at = digits;
        // `None` once the digits overflow: only an error if no `.` or
        // exponent follows (FluffOS writes 1e30 as 31 digits, `.`, 6 zeros).
        let mut n: Option<u64> = Some(0);
        while let Some(&d @ b'0'..=b'9') = self.input.get(at) {
            n = n
                .and_then(|n| n.checked_mul(10))
                .and_then(|n| n.checked_add(u64::from(d - b'0')));
            at += 1;
        }
        if at == digits {
            self.pos = at;
            return Err(self.invalid("digit expected"));
        }
        if let Some(b'.' | b'e' | b'E') = self.input.get(at) {
            return self.float(start);
        }
        let value = n.and_then(|n| {
            if neg {
                0i64.checked_sub_unsigned(n)
            } else {
                i64::try_from(n).ok()
            }
        });
        let value = value.ok_or(Error::Invalid {
            offset: start,
            byte: self.input[at - 1],
            reason: "integer overflow",
        })?;
        self.pos = at;
        self.tape.push(Node::Int(value));
        Ok(())
    }

    #[inline(never)]
    fn float(&mut self, start: usize) -> Result<()> {
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
        // Parsing saturates to infinity, which no encoder can write back.
        if !f.is_finite() {
            return Err(Error::Invalid {
                offset: start,
                byte: self.input[start],
                reason: "float out of range",
            });
        }
        self.pos = start + len;
        self.tape.push(Node::Float(f));
        Ok(())
    }
}

fn string_unterminated(start: usize) -> Error {
    Error::Unterminated {
        offset: start,
        what: "lpc string",
    }
}
