//! Structured fields (WSF) and the query replies a terminal sends back.
//!
//! Every structured field is `length(2) id data`; the length counts itself
//! and the id, and 0 means "to the end of the record". A host asks what the
//! terminal supports with Read Partition Query (or Query List); the terminal
//! answers with an inbound record, AID 0x88, holding one Query Reply per
//! capability ([`QueryReply`], [`encode_query_response`]).

use std::borrow::Cow;

use super::address::ScreenSize;
use crate::error::{Error, Result};

/// Structured field id: Read Partition.
pub const SF_READ_PARTITION: u8 = 0x01;
/// Structured field id: Erase/Reset.
pub const SF_ERASE_RESET: u8 = 0x03;
/// Structured field id: Outbound 3270DS.
pub const SF_OUTBOUND_3270DS: u8 = 0x40;
/// Structured field id: Query Reply.
pub const SF_QUERY_REPLY: u8 = 0x81;

/// Query reply codes.
pub mod qcode {
    /// Summary.
    pub const SUMMARY: u8 = 0x80;
    /// Usable Area.
    pub const USABLE_AREA: u8 = 0x81;
    /// Character Sets.
    pub const CHARACTER_SETS: u8 = 0x85;
    /// Color.
    pub const COLOR: u8 = 0x86;
    /// Highlight.
    pub const HIGHLIGHT: u8 = 0x87;
    /// Reply Modes.
    pub const REPLY_MODES: u8 = 0x88;
    /// Implicit Partition.
    pub const IMPLICIT_PARTITION: u8 = 0xA6;
}

/// One structured field, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StructuredField<'a> {
    /// The id byte.
    pub id: u8,
    /// Everything after the id.
    pub data: &'a [u8],
}

/// Iterator over the structured fields of a WSF record or an inbound 0x88
/// record; stops after the first error.
#[derive(Debug, Clone)]
pub struct StructuredFields<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> StructuredFields<'a> {
    /// Fields in `data`, which starts `base` bytes into its record.
    pub fn new(data: &'a [u8], base: usize) -> Self {
        Self { data, pos: 0, base }
    }

    fn field(&self) -> Result<(StructuredField<'a>, usize)> {
        let rest = &self.data[self.pos..];
        let offset = self.base + self.pos;
        let [hi, lo, id, ..] = *rest else {
            return Err(Error::Invalid {
                offset,
                byte: 0,
                reason: "structured field header cut short",
            });
        };
        let len = match usize::from(u16::from_be_bytes([hi, lo])) {
            0 => rest.len(),
            n if n < 3 => {
                return Err(Error::InvalidLength {
                    offset,
                    len: n as u64,
                    reason: "below 3",
                });
            }
            n if n > rest.len() => {
                return Err(Error::InvalidLength {
                    offset,
                    len: n as u64,
                    reason: "past the end of the record",
                });
            }
            n => n,
        };
        Ok((
            StructuredField {
                id,
                data: &rest[3..len],
            },
            len,
        ))
    }
}

impl<'a> Iterator for StructuredFields<'a> {
    type Item = Result<StructuredField<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        match self.field() {
            Ok((f, used)) => {
                self.pos += used;
                Some(Ok(f))
            }
            Err(e) => {
                self.pos = self.data.len();
                Some(Err(e))
            }
        }
    }
}

/// Appends one structured field with its length.
pub fn encode_structured_field(id: u8, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let len = u16::try_from(data.len() + 3).map_err(|_| Error::FrameTooLong {
        len: (data.len() + 3) as u64,
        limit: 0xFFFF,
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.push(id);
    out.extend_from_slice(data);
    Ok(())
}

/// What a Read Partition Query List asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryListRequest<'a> {
    /// 0x00: the listed codes.
    List(&'a [u8]),
    /// 0x40: the equivalent of Query plus the listed codes.
    EquivalentAndList(&'a [u8]),
    /// 0x80: everything.
    All,
}

/// The outbound structured fields a terminal acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundField<'a> {
    /// Read Partition Query: answer with every supported reply.
    ReadPartitionQuery,
    /// Read Partition Query List.
    ReadPartitionQueryList(QueryListRequest<'a>),
    /// Erase/Reset; `alternate` selects the alternate screen size.
    EraseReset {
        /// True for the alternate size.
        alternate: bool,
    },
    /// Any other field, kept raw.
    Other(StructuredField<'a>),
}

impl<'a> OutboundField<'a> {
    /// Interprets one structured field.
    pub fn decode(sf: StructuredField<'a>) -> Result<Self> {
        match (sf.id, sf.data) {
            (SF_READ_PARTITION, [0xFF, 0x02, ..]) => Ok(Self::ReadPartitionQuery),
            (SF_READ_PARTITION, [0xFF, 0x03, kind, codes @ ..]) => {
                Ok(Self::ReadPartitionQueryList(match kind {
                    0x00 => QueryListRequest::List(codes),
                    0x40 => QueryListRequest::EquivalentAndList(codes),
                    0x80 => QueryListRequest::All,
                    &b => {
                        return Err(Error::Invalid {
                            offset: 5,
                            byte: b,
                            reason: "query list type",
                        });
                    }
                }))
            }
            (SF_ERASE_RESET, [flags, ..]) => Ok(Self::EraseReset {
                alternate: flags & 0x80 != 0,
            }),
            _ => Ok(Self::Other(sf)),
        }
    }

    /// Appends the field (Read Partition and Erase/Reset; `Other` as is).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        match *self {
            Self::ReadPartitionQuery => {
                encode_structured_field(SF_READ_PARTITION, &[0xFF, 0x02], out)
            }
            Self::ReadPartitionQueryList(req) => {
                let (kind, codes): (u8, &[u8]) = match req {
                    QueryListRequest::List(c) => (0x00, c),
                    QueryListRequest::EquivalentAndList(c) => (0x40, c),
                    QueryListRequest::All => (0x80, &[]),
                };
                let mut data = vec![0xFF, 0x03, kind];
                data.extend_from_slice(codes);
                encode_structured_field(SF_READ_PARTITION, &data, out)
            }
            Self::EraseReset { alternate } => {
                encode_structured_field(SF_ERASE_RESET, &[if alternate { 0x80 } else { 0 }], out)
            }
            Self::Other(sf) => encode_structured_field(sf.id, sf.data, out),
        }
    }
}

/// Usable Area reply: the screen size and cell geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsableArea {
    /// The largest screen (columns and rows).
    pub size: ScreenSize,
    /// 12/14-bit addressing allowed (flags byte 1, 0x01); 16-bit otherwise.
    pub twelve_fourteen_bit: bool,
}

/// Character Sets reply with one base character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharacterSets {
    /// Cell width in pixels.
    pub cell_width: u8,
    /// Cell height in pixels.
    pub cell_height: u8,
    /// CGCSGID of the base set: character set (high half) and code page
    /// (low half); 697/37 is `0x02B9_0025`.
    pub cgcsgid: u32,
}

/// A Query Reply structured field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryReply<'a> {
    /// The codes of every reply the terminal sends.
    Summary(Cow<'a, [u8]>),
    /// Usable Area.
    UsableArea(UsableArea),
    /// Character Sets.
    CharacterSets(CharacterSets),
    /// Color: (attribute value, color) pairs, the first is the default.
    Color(Cow<'a, [u8]>),
    /// Highlight: (attribute value, highlight) pairs.
    Highlight(Cow<'a, [u8]>),
    /// Implicit Partition: default and alternate sizes.
    ImplicitPartition {
        /// Default size.
        default: ScreenSize,
        /// Alternate size.
        alternate: ScreenSize,
    },
    /// Any other reply, kept raw.
    Other {
        /// Query reply code.
        code: u8,
        /// Body after the code.
        body: Cow<'a, [u8]>,
    },
}

/// Color pairs of a terminal with the eight base colors, green by default.
pub const EIGHT_COLORS: [u8; 16] = [
    0x00, 0xF4, 0xF1, 0xF1, 0xF2, 0xF2, 0xF3, 0xF3, 0xF4, 0xF4, 0xF5, 0xF5, 0xF6, 0xF6, 0xF7, 0xF7,
];
/// Highlight pairs: normal by default, blink, reverse, underscore.
pub const BASIC_HIGHLIGHTS: [u8; 8] = [0x00, 0xF0, 0xF1, 0xF1, 0xF2, 0xF2, 0xF4, 0xF4];

impl QueryReply<'_> {
    /// The query reply code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Summary(_) => qcode::SUMMARY,
            Self::UsableArea(_) => qcode::USABLE_AREA,
            Self::CharacterSets(_) => qcode::CHARACTER_SETS,
            Self::Color(_) => qcode::COLOR,
            Self::Highlight(_) => qcode::HIGHLIGHT,
            Self::ImplicitPartition { .. } => qcode::IMPLICIT_PARTITION,
            Self::Other { code, .. } => *code,
        }
    }

    /// Appends the reply as a structured field.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut d = vec![self.code()];
        match self {
            Self::Summary(codes) => d.extend_from_slice(codes),
            Self::UsableArea(u) => {
                d.push(if u.twelve_fourteen_bit { 0x01 } else { 0x03 });
                d.push(0x00);
                d.extend_from_slice(&u.size.cols.to_be_bytes());
                d.extend_from_slice(&u.size.rows.to_be_bytes());
                // Units mm, Xr/Yr ratios and cell size as x3270 reports them.
                d.extend_from_slice(&[
                    0x01, 0x00, 0x0A, 0x02, 0xE5, 0x00, 0x02, 0x00, 0x6F, 0x09, 0x0C,
                ]);
                let cells = u16::try_from(u.size.buffer_len()).unwrap_or(u16::MAX);
                d.extend_from_slice(&cells.to_be_bytes());
            }
            Self::CharacterSets(c) => {
                d.extend_from_slice(&[0x82, 0x00, c.cell_width, c.cell_height, 0, 0, 0, 0, 0x07]);
                d.extend_from_slice(&[0x00, 0x10, 0x00]);
                d.extend_from_slice(&c.cgcsgid.to_be_bytes());
            }
            Self::Color(pairs) | Self::Highlight(pairs) => {
                if self.code() == qcode::COLOR {
                    d.push(0x00);
                }
                d.push(u8::try_from(pairs.len() / 2).unwrap_or(u8::MAX));
                d.extend_from_slice(&pairs[..pairs.len() & !1]);
            }
            Self::ImplicitPartition { default, alternate } => {
                d.extend_from_slice(&[0x00, 0x00, 0x0B, 0x01, 0x00]);
                for v in [default.cols, default.rows, alternate.cols, alternate.rows] {
                    d.extend_from_slice(&v.to_be_bytes());
                }
            }
            Self::Other { body, .. } => d.extend_from_slice(body),
        }
        encode_structured_field(SF_QUERY_REPLY, &d, out)
    }
}

impl<'a> QueryReply<'a> {
    /// Reads a Query Reply structured field (id 0x81).
    pub fn decode(sf: StructuredField<'a>) -> Result<Self> {
        let bad = |reason| Error::Invalid {
            offset: 0,
            byte: sf.id,
            reason,
        };
        if sf.id != SF_QUERY_REPLY {
            return Err(bad("query reply id 0x81 expected"));
        }
        let [code, body @ ..] = sf.data else {
            return Err(bad("query reply without a code"));
        };
        let be = |i: usize| body.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let short = || bad("query reply body too short");
        Ok(match *code {
            qcode::SUMMARY => Self::Summary(Cow::Borrowed(body)),
            qcode::USABLE_AREA => {
                let (cols, rows) = (be(2).ok_or_else(short)?, be(4).ok_or_else(short)?);
                Self::UsableArea(UsableArea {
                    size: ScreenSize { rows, cols },
                    twelve_fourteen_bit: body[0] & 0x0F == 0x01,
                })
            }
            qcode::CHARACTER_SETS => match body {
                [_, _, w, h, _, _, _, _, dl, desc @ ..] if *dl >= 7 && desc.len() >= 7 => {
                    Self::CharacterSets(CharacterSets {
                        cell_width: *w,
                        cell_height: *h,
                        cgcsgid: u32::from_be_bytes([desc[3], desc[4], desc[5], desc[6]]),
                    })
                }
                _ => return Err(short()),
            },
            qcode::COLOR => Self::Color(Cow::Borrowed(pairs(body.get(1..).ok_or_else(short)?)?)),
            qcode::HIGHLIGHT => Self::Highlight(Cow::Borrowed(pairs(body)?)),
            qcode::IMPLICIT_PARTITION => {
                let v = |i: usize| be(5 + 2 * i).ok_or_else(short);
                Self::ImplicitPartition {
                    default: ScreenSize {
                        cols: v(0)?,
                        rows: v(1)?,
                    },
                    alternate: ScreenSize {
                        cols: v(2)?,
                        rows: v(3)?,
                    },
                }
            }
            code => Self::Other {
                code,
                body: Cow::Borrowed(body),
            },
        })
    }
}

/// `count, pairs…` → the pairs.
fn pairs(body: &[u8]) -> Result<&[u8]> {
    let [n, rest @ ..] = body else {
        return Err(Error::Invalid {
            offset: 0,
            byte: 0,
            reason: "pair count missing",
        });
    };
    rest.get(..usize::from(*n) * 2).ok_or(Error::Invalid {
        offset: 0,
        byte: *n,
        reason: "fewer pairs than counted",
    })
}

/// The replies of a color 3270 with the given screens and code page 037.
pub fn standard_replies(default: ScreenSize, alternate: ScreenSize) -> Vec<QueryReply<'static>> {
    let largest = if alternate.buffer_len() > default.buffer_len() {
        alternate
    } else {
        default
    };
    let mut replies = vec![
        QueryReply::UsableArea(UsableArea {
            size: largest,
            twelve_fourteen_bit: true,
        }),
        QueryReply::CharacterSets(CharacterSets {
            cell_width: 7,
            cell_height: 12,
            cgcsgid: 0x02B9_0025,
        }),
        QueryReply::Color(Cow::Borrowed(&EIGHT_COLORS)),
        QueryReply::Highlight(Cow::Borrowed(&BASIC_HIGHLIGHTS)),
        QueryReply::ImplicitPartition { default, alternate },
    ];
    let mut codes = vec![qcode::SUMMARY];
    codes.extend(replies.iter().map(QueryReply::code));
    replies.insert(0, QueryReply::Summary(Cow::Owned(codes)));
    replies
}

/// Appends the inbound answer to a query: AID 0x88 then the replies whose
/// codes `wanted` accepts (`None` = all).
pub fn encode_query_response(
    replies: &[QueryReply<'_>],
    wanted: Option<&[u8]>,
    out: &mut Vec<u8>,
) -> Result<()> {
    out.push(0x88);
    for r in replies {
        if wanted.is_none_or(|w| w.contains(&r.code()) || r.code() == qcode::SUMMARY) {
            r.encode(out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_partition_query_is_recognised() {
        let wsf = [0x00, 0x05, 0x01, 0xFF, 0x02];
        let sf = StructuredFields::new(&wsf, 1).next().unwrap().unwrap();
        assert_eq!(
            OutboundField::decode(sf).unwrap(),
            OutboundField::ReadPartitionQuery
        );
    }

    #[test]
    fn query_list_carries_borrowed_codes_and_round_trips() {
        let f = OutboundField::ReadPartitionQueryList(QueryListRequest::List(&[0x81, 0x86]));
        let mut out = Vec::new();
        f.encode(&mut out).unwrap();
        assert_eq!(out, [0x00, 0x08, 0x01, 0xFF, 0x03, 0x00, 0x81, 0x86]);
        let sf = StructuredFields::new(&out, 0).next().unwrap().unwrap();
        assert_eq!(OutboundField::decode(sf).unwrap(), f);
    }

    #[test]
    fn structured_field_length_below_three_is_rejected() {
        let err = StructuredFields::new(&[0x00, 0x02, 0x01], 1)
            .next()
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidLength {
                    offset: 1,
                    len: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn zero_length_field_runs_to_end_of_record() {
        let data = [0x00, 0x00, 0x40, 0xAA, 0xBB];
        let sf = StructuredFields::new(&data, 0).next().unwrap().unwrap();
        assert_eq!(
            sf,
            StructuredField {
                id: 0x40,
                data: &[0xAA, 0xBB]
            }
        );
    }

    #[test]
    fn every_standard_reply_round_trips_and_summary_lists_them() {
        let replies = standard_replies(ScreenSize::MODEL_2, ScreenSize::MODEL_4);
        let mut out = Vec::new();
        encode_query_response(&replies, None, &mut out).unwrap();
        assert_eq!(out[0], 0x88);
        let back: Vec<_> = StructuredFields::new(&out[1..], 1)
            .map(|sf| QueryReply::decode(sf.unwrap()).unwrap())
            .collect();
        assert_eq!(back, replies);
        let QueryReply::Summary(codes) = &back[0] else {
            panic!("summary first")
        };
        assert_eq!(codes.as_ref(), [0x80, 0x81, 0x85, 0x86, 0x87, 0xA6]);
    }

    #[test]
    fn usable_area_reports_the_largest_screen() {
        let replies = standard_replies(ScreenSize::MODEL_2, ScreenSize::MODEL_5);
        let mut out = Vec::new();
        encode_query_response(&replies, Some(&[qcode::USABLE_AREA]), &mut out).unwrap();
        let ua: Vec<_> = StructuredFields::new(&out[1..], 1)
            .map(|sf| QueryReply::decode(sf.unwrap()).unwrap())
            .collect();
        assert_eq!(ua.len(), 2, "summary and usable area only");
        assert_eq!(
            ua[1],
            QueryReply::UsableArea(UsableArea {
                size: ScreenSize::MODEL_5,
                twelve_fourteen_bit: true
            })
        );
    }
}
