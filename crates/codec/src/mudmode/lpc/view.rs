//! Borrowed views of a decoded LPC value: navigation without allocation.

use std::fmt;

use super::decoder::Node;
use super::{MAX_DEPTH_CEILING, Value, write_float, write_int, write_str};
use crate::error::Result;

/// The tape of a lone `0`, for [`ValueRef::NULL`].
static NULL_TAPE: [Node; 1] = [Node::Int(0)];

/// A decoded LPC value: a cheap `Copy` view into a [`Decoder`]'s tape and
/// the input it read.
///
/// Strings are `&'a [u8]` either way: slices of the input when they had no
/// escapes or newlines (sent as CR), slices of the decoder's scratch buffer
/// when they had. Match on [`kind`](Self::kind), or use the `as_*`
/// accessors; arrays and mappings iterate without allocating. Use
/// [`to_owned_value`](Self::to_owned_value) to keep a value after the next
/// decode.
///
/// [`Decoder`]: super::Decoder
#[derive(Clone, Copy)]
pub struct ValueRef<'a> {
    /// This value's node first, then its descendants, then whatever follows.
    nodes: &'a [Node],
    input: &'a [u8],
    scratch: &'a [u8],
}

/// What a [`ValueRef`] holds, for `match`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueKind<'a> {
    /// An integer (`0` also means null).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, as bytes (LPC strings carry no encoding).
    Str(&'a [u8]),
    /// `({ … })`.
    Array(Array<'a>),
    /// `([ k: v, … ])`, in wire order.
    Mapping(Mapping<'a>),
}

/// The elements of an LPC array (or a run of them), as a view.
#[derive(Clone, Copy)]
pub struct Array<'a> {
    /// The first element's node first.
    first: &'a [Node],
    len: u32,
    input: &'a [u8],
    scratch: &'a [u8],
}

/// The key/value pairs of an LPC mapping, in wire order, as a view.
#[derive(Clone, Copy)]
pub struct Mapping<'a> {
    /// The first key's node first.
    first: &'a [Node],
    len: u32,
    input: &'a [u8],
    scratch: &'a [u8],
}

/// Iterator over the values of an [`Array`].
#[derive(Debug, Clone)]
pub struct ArrayIter<'a> {
    rest: Array<'a>,
}

/// Iterator over the `(key, value)` pairs of a [`Mapping`].
#[derive(Debug, Clone)]
pub struct MappingIter<'a> {
    /// Keys and values alternating: twice the pairs left.
    values: ArrayIter<'a>,
}

/// Nodes one value takes on the tape.
#[inline]
fn span(node: &Node) -> usize {
    match *node {
        Node::Array { span, .. } | Node::Mapping { span, .. } => span as usize,
        _ => 1,
    }
}

impl<'a> ValueRef<'a> {
    /// LPC's null, `0`.
    pub const NULL: ValueRef<'static> = ValueRef {
        nodes: &NULL_TAPE,
        input: &[],
        scratch: &[],
    };

    pub(super) fn root(nodes: &'a [Node], input: &'a [u8], scratch: &'a [u8]) -> Self {
        debug_assert!(!nodes.is_empty(), "a decoded tape holds a value");
        Self {
            nodes,
            input,
            scratch,
        }
    }

    fn node(&self) -> Node {
        // Every view is built on a non-empty run of the tape (or NULL_TAPE).
        self.nodes.first().copied().unwrap_or(Node::Int(0))
    }

    /// What this value is.
    #[inline]
    pub fn kind(&self) -> ValueKind<'a> {
        let (input, scratch) = (self.input, self.scratch);
        let children = |len| (self.nodes.get(1..).unwrap_or(&[]), len);
        match self.node() {
            Node::Int(i) => ValueKind::Int(i),
            Node::Float(f) => ValueKind::Float(f),
            Node::Str { start, len } => ValueKind::Str(slice(input, start, len)),
            Node::Unescaped { start, len } => ValueKind::Str(slice(scratch, start, len)),
            Node::Array { len, .. } => {
                let (first, len) = children(len);
                ValueKind::Array(Array {
                    first,
                    len,
                    input,
                    scratch,
                })
            }
            Node::Mapping { len, .. } => {
                let (first, len) = children(len);
                ValueKind::Mapping(Mapping {
                    first,
                    len,
                    input,
                    scratch,
                })
            }
        }
    }

    /// True for `0`, LPC's null.
    pub fn is_null(&self) -> bool {
        matches!(self.node(), Node::Int(0))
    }

    /// The integer, if an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self.node() {
            Node::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The float, if a float.
    pub fn as_float(&self) -> Option<f64> {
        match self.node() {
            Node::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The string bytes, if a string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.kind() {
            ValueKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True for a string that is a slice of the input (it had no escapes and
    /// no newlines).
    pub fn is_borrowed_str(&self) -> bool {
        matches!(self.node(), Node::Str { .. })
    }

    /// The elements, if an array.
    pub fn as_array(&self) -> Option<Array<'a>> {
        match self.kind() {
            ValueKind::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The pairs, if a mapping.
    pub fn as_mapping(&self) -> Option<Mapping<'a>> {
        match self.kind() {
            ValueKind::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// A copy that owns everything (this allocates).
    pub fn to_owned_value(&self) -> Value {
        // Containers being rebuilt: their elements so far, and their kind.
        let mut open: Vec<(Vec<Value>, bool)> = Vec::new();
        let mut root = None;
        self.walk(|token| {
            let done = match token {
                Token::Open { mapping } => {
                    open.push((Vec::new(), mapping));
                    return;
                }
                Token::Scalar(v) => match v.kind() {
                    ValueKind::Int(i) => Value::Int(i),
                    ValueKind::Float(f) => Value::Float(f),
                    ValueKind::Str(s) => Value::Str(s.to_vec()),
                    // The walk hands out containers as Open/Close only.
                    ValueKind::Array(_) | ValueKind::Mapping(_) => Value::Int(0),
                },
                Token::Close { .. } => match open.pop() {
                    Some((items, false)) => Value::Array(items),
                    Some((items, true)) => Value::Mapping(pairs(items)),
                    None => return,
                },
                Token::Colon | Token::Comma => return,
            };
            match open.last_mut() {
                Some((items, _)) => items.push(done),
                None => root = Some(done),
            }
        });
        root.unwrap_or(Value::Int(0))
    }

    /// Appends the LPC text of this value. Walks the tape without
    /// recursing, so any depth is safe.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut res = Ok(());
        self.walk(|token| {
            if res.is_err() {
                return;
            }
            match token {
                Token::Open { mapping: false } => out.extend_from_slice(b"({"),
                Token::Open { mapping: true } => out.extend_from_slice(b"(["),
                Token::Close { mapping: false } => out.extend_from_slice(b"})"),
                Token::Close { mapping: true } => out.extend_from_slice(b"])"),
                Token::Colon => out.push(b':'),
                Token::Comma => out.push(b','),
                Token::Scalar(v) => {
                    res = match v.node() {
                        Node::Int(i) => {
                            write_int(i, out);
                            Ok(())
                        }
                        Node::Float(f) => write_float(f, out),
                        _ => write_str(v.as_bytes().unwrap_or_default(), out),
                    }
                }
            }
        });
        res
    }

    /// Calls `f` with this value's tokens in wire order, iteratively: a
    /// fixed stack of [`MAX_DEPTH_CEILING`] entries replaces recursion
    /// (the decoder never builds a deeper tape).
    fn walk(&self, mut f: impl FnMut(Token<'a>)) {
        #[derive(Clone, Copy, Default)]
        struct Frame {
            end: usize,
            elements: u32,
            mapping: bool,
        }
        let mut stack = [Frame::default(); MAX_DEPTH_CEILING];
        let mut depth = 0;
        let mut at = 0;
        while let Some(node) = self.nodes.get(at) {
            let mut complete = match *node {
                Node::Array { span, .. } | Node::Mapping { span, .. } => {
                    let mapping = matches!(node, Node::Mapping { .. });
                    let Some(frame) = stack.get_mut(depth) else {
                        debug_assert!(false, "a tape deeper than MAX_DEPTH_CEILING");
                        return;
                    };
                    *frame = Frame {
                        end: at + span as usize,
                        elements: 0,
                        mapping,
                    };
                    depth += 1;
                    f(Token::Open { mapping });
                    false
                }
                _ => {
                    f(Token::Scalar(self.at(at)));
                    true
                }
            };
            at += 1;
            // Separate the completed value, close what it completes.
            loop {
                let Some(top) = depth.checked_sub(1).and_then(|d| stack.get_mut(d)) else {
                    return;
                };
                if complete {
                    let key = top.mapping && top.elements % 2 == 0;
                    f(if key { Token::Colon } else { Token::Comma });
                    top.elements += 1;
                }
                if at < top.end {
                    break;
                }
                f(Token::Close {
                    mapping: top.mapping,
                });
                depth -= 1;
                complete = true;
            }
        }
    }

    /// The value whose node is `self.nodes[at]`.
    fn at(&self, at: usize) -> ValueRef<'a> {
        ValueRef {
            nodes: self.nodes.get(at..).unwrap_or(&NULL_TAPE),
            ..*self
        }
    }

    /// This value's nodes: itself and its descendants.
    fn own_nodes(&self) -> &'a [Node] {
        let n = self.nodes.first().map_or(0, span);
        self.nodes.get(..n).unwrap_or(self.nodes)
    }
}

/// Pairs up alternating keys and values.
fn pairs(items: Vec<Value>) -> Vec<(Value, Value)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// A value as the LPC tokens that write it.
#[derive(Clone, Copy)]
enum Token<'a> {
    Open {
        mapping: bool,
    },
    Close {
        mapping: bool,
    },
    /// An int, float or string.
    Scalar(ValueRef<'a>),
    /// After a mapping key.
    Colon,
    /// After an array element or a mapping value.
    Comma,
}

#[inline]
fn slice(buf: &[u8], start: u32, len: u32) -> &[u8] {
    let (start, len) = (start as usize, len as usize);
    // The decoder only records ranges inside the buffer it wrote them for.
    buf.get(start..start + len).unwrap_or(&[])
}

impl<'a> Array<'a> {
    /// An array with no elements, `({})`, for views you build rather than
    /// decode.
    pub const EMPTY: Array<'static> = Array {
        first: &[],
        len: 0,
        input: &[],
        scratch: &[],
    };

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements in order.
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter { rest: *self }
    }

    /// Element `index`. Linear in `index` (nested values are skipped in
    /// one step each); iterate to visit them all.
    pub fn get(&self, index: usize) -> Option<ValueRef<'a>> {
        self.iter().nth(index)
    }

    /// The elements from `index` on (empty when past the end).
    pub fn skip(&self, index: usize) -> Array<'a> {
        let mut it = self.iter();
        if index > 0 {
            it.nth(index - 1);
        }
        it.rest
    }

    /// Appends the LPC text of these elements as an array, `({ … })`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(b"({");
        for v in self {
            v.encode(out)?;
            out.push(b',');
        }
        out.extend_from_slice(b"})");
        Ok(())
    }
}

impl<'a> Mapping<'a> {
    /// Number of key/value pairs.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs in wire order.
    pub fn iter(&self) -> MappingIter<'a> {
        MappingIter {
            values: ArrayIter {
                rest: Array {
                    first: self.first,
                    len: self.len.saturating_mul(2),
                    input: self.input,
                    scratch: self.scratch,
                },
            },
        }
    }

    /// The value of the first pair whose key is the string `key`. Linear in
    /// the number of pairs.
    pub fn get(&self, key: &[u8]) -> Option<ValueRef<'a>> {
        self.iter()
            .find(|(k, _)| k.as_bytes() == Some(key))
            .map(|(_, v)| v)
    }

    /// Appends the LPC text of this mapping, `([ k: v, … ])`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(b"([");
        for (k, v) in self {
            k.encode(out)?;
            out.push(b':');
            v.encode(out)?;
            out.push(b',');
        }
        out.extend_from_slice(b"])");
        Ok(())
    }
}

impl<'a> ArrayIter<'a> {
    /// The elements not visited yet, as an array view.
    pub fn as_array(&self) -> Array<'a> {
        self.rest
    }
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = ValueRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<ValueRef<'a>> {
        if self.rest.len == 0 {
            return None;
        }
        let nodes = self.rest.first;
        let step = span(nodes.first()?);
        self.rest.first = nodes.get(step..).unwrap_or(&[]);
        self.rest.len -= 1;
        Some(ValueRef {
            nodes,
            input: self.rest.input,
            scratch: self.rest.scratch,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rest.len(), Some(self.rest.len()))
    }
}

impl ExactSizeIterator for ArrayIter<'_> {}

impl<'a> Iterator for MappingIter<'a> {
    type Item = (ValueRef<'a>, ValueRef<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        Some((self.values.next()?, self.values.next()?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.values.rest.len() / 2;
        (n, Some(n))
    }
}

impl ExactSizeIterator for MappingIter<'_> {}

impl<'a> IntoIterator for Array<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = ArrayIter<'a>;
    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Array<'a> {
    type Item = ValueRef<'a>;
    type IntoIter = ArrayIter<'a>;
    fn into_iter(self) -> ArrayIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for Mapping<'a> {
    type Item = (ValueRef<'a>, ValueRef<'a>);
    type IntoIter = MappingIter<'a>;
    fn into_iter(self) -> MappingIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Mapping<'a> {
    type Item = (ValueRef<'a>, ValueRef<'a>);
    type IntoIter = MappingIter<'a>;
    fn into_iter(self) -> MappingIter<'a> {
        self.iter()
    }
}

/// Structural equality: same kinds, same contents, same order. Compares
/// the two tapes node by node, without recursing.
impl PartialEq for ValueRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.own_nodes(), other.own_nodes());
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .enumerate()
                .all(|(i, (x, y))| match (*x, *y) {
                    (Node::Int(x), Node::Int(y)) => x == y,
                    (Node::Float(x), Node::Float(y)) => x == y,
                    (Node::Array { len: x, .. }, Node::Array { len: y, .. })
                    | (Node::Mapping { len: x, .. }, Node::Mapping { len: y, .. }) => x == y,
                    _ => match (self.at(i).as_bytes(), other.at(i).as_bytes()) {
                        (Some(x), Some(y)) => x == y,
                        _ => false,
                    },
                })
    }
}

impl PartialEq for Array<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl PartialEq for Mapping<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// Compares through [`ValueRef::to_owned_value`] (this allocates).
impl PartialEq<Value> for ValueRef<'_> {
    fn eq(&self, other: &Value) -> bool {
        self.to_owned_value() == *other
    }
}

impl PartialEq<ValueRef<'_>> for Value {
    fn eq(&self, other: &ValueRef<'_>) -> bool {
        other == self
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(v: ValueRef<'_>) -> Self {
        v.to_owned_value()
    }
}

/// Prints like the LPC text: strings escaped, arrays as `[…]`, mappings as
/// `{k: v, …}`; walks the tape without recursing.
impl fmt::Debug for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut res = Ok(());
        let mut first = true;
        self.walk(|token| {
            if res.is_err() {
                return;
            }
            let sep = if first { "" } else { ", " };
            res = match token {
                Token::Open { mapping } => {
                    first = true;
                    write!(f, "{sep}{}", if mapping { "{" } else { "[" })
                }
                Token::Close { mapping } => f.write_str(if mapping { "}" } else { "]" }),
                Token::Colon => {
                    first = true;
                    f.write_str(": ")
                }
                Token::Comma => {
                    first = false;
                    Ok(())
                }
                Token::Scalar(v) => {
                    first = false;
                    match v.node() {
                        Node::Int(i) => write!(f, "{sep}{i}"),
                        Node::Float(x) => write!(f, "{sep}{x:?}"),
                        _ => write!(
                            f,
                            "{sep}\"{}\"",
                            v.as_bytes().unwrap_or_default().escape_ascii()
                        ),
                    }
                }
            };
        });
        res
    }
}

impl fmt::Debug for Array<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Mapping<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
