//! Telnet (RFC 854/855): splitting a byte stream into data and commands.
//!
//! [`TelnetParser::next_event`] looks at the front of a buffer and returns one
//! [`TelnetEvent`]: a run of data (found with `memchr`, borrowed), a command,
//! an option negotiation or a subnegotiation (borrowed unless it contains a
//! doubled IAC). [`RecordDecoder`] cuts the TN3270 stream into records ended
//! by IAC EOR (RFC 885), borrowed unless unescaping is needed. The `encode_*`
//! functions write the other direction, doubling every 0xFF data byte.
//! [`negotiation`] holds the RFC 1143 option state machine.

pub mod negotiation;

use std::borrow::Cow;

use bytes::BufMut;

use crate::error::{Error, Result};
use crate::stream::Decode;

/// Interpret As Command.
pub const IAC: u8 = 255;
/// Refuse the peer's option.
pub const DONT: u8 = 254;
/// Ask the peer to enable an option.
pub const DO: u8 = 253;
/// Refuse to enable an option.
pub const WONT: u8 = 252;
/// Offer to enable an option.
pub const WILL: u8 = 251;
/// Subnegotiation begin.
pub const SB: u8 = 250;
/// Go ahead.
pub const GA: u8 = 249;
/// Erase line.
pub const EL: u8 = 248;
/// Erase character.
pub const EC: u8 = 247;
/// Are you there.
pub const AYT: u8 = 246;
/// Abort output.
pub const AO: u8 = 245;
/// Interrupt process.
pub const IP: u8 = 244;
/// Break.
pub const BRK: u8 = 243;
/// Data mark.
pub const DM: u8 = 242;
/// No operation.
pub const NOP: u8 = 241;
/// Subnegotiation end.
pub const SE: u8 = 240;
/// End of record (RFC 885).
pub const EOR: u8 = 239;

/// Telnet option codes used by ballast.
pub mod option {
    /// BINARY transmission (RFC 856).
    pub const BINARY: u8 = 0;
    /// ECHO (RFC 857).
    pub const ECHO: u8 = 1;
    /// SUPPRESS-GO-AHEAD (RFC 858).
    pub const SUPPRESS_GO_AHEAD: u8 = 3;
    /// TERMINAL-TYPE (RFC 1091).
    pub const TERMINAL_TYPE: u8 = 24;
    /// END-OF-RECORD (RFC 885).
    pub const END_OF_RECORD: u8 = 25;
    /// NAWS, window size (RFC 1073).
    pub const NAWS: u8 = 31;
    /// TN3270E (RFC 2355).
    pub const TN3270E: u8 = 40;
}

/// TERMINAL-TYPE subnegotiation: "IS".
pub const TTYPE_IS: u8 = 0;
/// TERMINAL-TYPE subnegotiation: "SEND".
pub const TTYPE_SEND: u8 = 1;

/// Default limit on the length of a subnegotiation body: 64 KiB.
pub const DEFAULT_MAX_SUBNEGOTIATION_LEN: usize = 64 << 10;

/// Default limit on the length of an IAC EOR record: 1 MiB.
pub const DEFAULT_MAX_RECORD_LEN: usize = 1 << 20;

/// An option negotiation verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// WILL: the sender offers or agrees to enable the option on its side.
    Will,
    /// WONT: the sender refuses or disables the option on its side.
    Wont,
    /// DO: the sender asks the receiver to enable the option.
    Do,
    /// DONT: the sender asks the receiver to disable the option.
    Dont,
}

impl Verb {
    /// The wire byte.
    pub const fn byte(self) -> u8 {
        match self {
            Verb::Will => WILL,
            Verb::Wont => WONT,
            Verb::Do => DO,
            Verb::Dont => DONT,
        }
    }

    /// The verb for a wire byte.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            WILL => Some(Verb::Will),
            WONT => Some(Verb::Wont),
            DO => Some(Verb::Do),
            DONT => Some(Verb::Dont),
            _ => None,
        }
    }
}

/// A two-byte telnet command (IAC + code) other than negotiation and SB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// IAC EOR.
    EndOfRecord,
    /// IAC NOP.
    Nop,
    /// IAC DM.
    DataMark,
    /// IAC BRK.
    Break,
    /// IAC IP.
    InterruptProcess,
    /// IAC AO.
    AbortOutput,
    /// IAC AYT.
    AreYouThere,
    /// IAC EC.
    EraseCharacter,
    /// IAC EL.
    EraseLine,
    /// IAC GA.
    GoAhead,
}

impl Command {
    /// The wire byte following IAC.
    pub const fn byte(self) -> u8 {
        match self {
            Command::EndOfRecord => EOR,
            Command::Nop => NOP,
            Command::DataMark => DM,
            Command::Break => BRK,
            Command::InterruptProcess => IP,
            Command::AbortOutput => AO,
            Command::AreYouThere => AYT,
            Command::EraseCharacter => EC,
            Command::EraseLine => EL,
            Command::GoAhead => GA,
        }
    }

    const fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            EOR => Command::EndOfRecord,
            NOP => Command::Nop,
            DM => Command::DataMark,
            BRK => Command::Break,
            IP => Command::InterruptProcess,
            AO => Command::AbortOutput,
            AYT => Command::AreYouThere,
            EC => Command::EraseCharacter,
            EL => Command::EraseLine,
            GA => Command::GoAhead,
            _ => return None,
        })
    }
}

/// One item of a telnet stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetEvent<'a> {
    /// Data bytes, already unescaped (a doubled IAC yields one 0xFF).
    Data(&'a [u8]),
    /// A two-byte command.
    Command(Command),
    /// WILL/WONT/DO/DONT option.
    Negotiate {
        /// The verb.
        verb: Verb,
        /// The option code.
        option: u8,
    },
    /// IAC SB option … IAC SE, body unescaped (owned only if it held IAC IAC).
    Subnegotiation {
        /// The option code.
        option: u8,
        /// The body between the option byte and IAC SE.
        body: Cow<'a, [u8]>,
    },
}

/// Splits a telnet stream into [`TelnetEvent`]s; stateless, so it can be
/// called on whatever bytes have arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelnetParser {
    /// Largest accepted subnegotiation body.
    pub max_subnegotiation_len: usize,
}

impl Default for TelnetParser {
    fn default() -> Self {
        Self {
            max_subnegotiation_len: DEFAULT_MAX_SUBNEGOTIATION_LEN,
        }
    }
}

impl TelnetParser {
    /// The first event in `input` and the bytes it used.
    ///
    /// Data runs end at the next IAC or at the end of `input`, so data is
    /// never reported as incomplete; a command cut short is
    /// [`Error::Incomplete`].
    pub fn next_event<'a>(&self, input: &'a [u8]) -> Result<(TelnetEvent<'a>, usize)> {
        let Some(&first) = input.first() else {
            return Err(Error::Incomplete { needed: 1 });
        };
        if first != IAC {
            let end = memchr::memchr(IAC, input).unwrap_or(input.len());
            return Ok((TelnetEvent::Data(&input[..end]), end));
        }
        let Some(&code) = input.get(1) else {
            return Err(Error::Incomplete { needed: 1 });
        };
        match code {
            IAC => {
                // The doubled IAC is one data byte; keep going to the next IAC.
                let end = memchr::memchr(IAC, &input[2..]).map_or(input.len(), |i| i + 2);
                Ok((TelnetEvent::Data(&input[1..end]), end))
            }
            SB => self.subnegotiation(input),
            SE => Err(Error::Invalid {
                offset: 1,
                byte: SE,
                reason: "se without sb",
            }),
            _ => {
                if let Some(verb) = Verb::from_byte(code) {
                    let option = *input.get(2).ok_or(Error::Incomplete { needed: 1 })?;
                    Ok((TelnetEvent::Negotiate { verb, option }, 3))
                } else if let Some(cmd) = Command::from_byte(code) {
                    Ok((TelnetEvent::Command(cmd), 2))
                } else {
                    Err(Error::Invalid {
                        offset: 1,
                        byte: code,
                        reason: "unknown telnet command",
                    })
                }
            }
        }
    }

    fn subnegotiation<'a>(&self, input: &'a [u8]) -> Result<(TelnetEvent<'a>, usize)> {
        let option = *input.get(2).ok_or(Error::Incomplete { needed: 1 })?;
        let body_start = 3;
        let mut i = body_start;
        let mut escaped = false;
        loop {
            if i - body_start > self.max_subnegotiation_len {
                return Err(Error::FrameTooLong {
                    len: (i - body_start) as u64,
                    limit: self.max_subnegotiation_len as u64,
                });
            }
            let Some(rel) = memchr::memchr(IAC, &input[i..]) else {
                let seen = input.len() - body_start;
                if seen > self.max_subnegotiation_len {
                    return Err(Error::FrameTooLong {
                        len: seen as u64,
                        limit: self.max_subnegotiation_len as u64,
                    });
                }
                return Err(Error::Incomplete { needed: 2 });
            };
            let at = i + rel;
            match input.get(at + 1) {
                None => return Err(Error::Incomplete { needed: 1 }),
                Some(&IAC) => {
                    escaped = true;
                    i = at + 2;
                }
                Some(&SE) => {
                    let raw = &input[body_start..at];
                    if raw.len() > self.max_subnegotiation_len {
                        return Err(Error::FrameTooLong {
                            len: raw.len() as u64,
                            limit: self.max_subnegotiation_len as u64,
                        });
                    }
                    let body = if escaped {
                        Cow::Owned(unescape(raw))
                    } else {
                        Cow::Borrowed(raw)
                    };
                    return Ok((TelnetEvent::Subnegotiation { option, body }, at + 2));
                }
                Some(_) => {
                    return Err(Error::Unterminated {
                        offset: 0,
                        what: "telnet subnegotiation",
                    });
                }
            }
        }
    }

    /// Iterates over the events of a complete buffer. Iteration stops after
    /// the first error (an incomplete tail included);
    /// [`Events::offset`] tells how far it got.
    pub fn events<'a>(&self, input: &'a [u8]) -> Events<'a> {
        Events {
            parser: *self,
            input,
            pos: 0,
            failed: false,
        }
    }
}

/// Iterator over the events of a buffer, see [`TelnetParser::events`].
#[derive(Debug, Clone)]
pub struct Events<'a> {
    parser: TelnetParser,
    input: &'a [u8],
    pos: usize,
    failed: bool,
}

impl Events<'_> {
    /// Bytes consumed by the events returned so far.
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = Result<TelnetEvent<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.input.len() {
            return None;
        }
        let rest = &self.input[self.pos..];
        // Data runs (plain or after a doubled IAC) are built here directly:
        // going through `next_event` moved the event through two `Result`s,
        // which cost a store-forwarding stall per event (perf annotate).
        let (start, scan_from) = match rest {
            [IAC, IAC, ..] => (1, 2),
            [IAC, ..] => (usize::MAX, 0),
            _ => (0, 0),
        };
        if start != usize::MAX {
            let end = memchr::memchr(IAC, &rest[scan_from..]).map_or(rest.len(), |i| i + scan_from);
            self.pos += end;
            return Some(Ok(TelnetEvent::Data(&rest[start..end])));
        }
        match self.parser.next_event(rest) {
            Ok((event, used)) => {
                self.pos += used;
                Some(Ok(event))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e.shifted(self.pos)))
            }
        }
    }
}

/// Removes the doubling from every IAC IAC pair.
pub fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = memchr::memchr(IAC, rest) {
        out.extend_from_slice(&rest[..=i]);
        // Skip the second IAC of the pair (if there is one).
        rest = if rest.get(i + 1) == Some(&IAC) {
            &rest[i + 2..]
        } else {
            &rest[i + 1..]
        };
    }
    out.extend_from_slice(rest);
    out
}

/// Appends `data` with every 0xFF doubled.
pub fn encode_data<B: BufMut>(data: &[u8], out: &mut B) {
    let mut rest = data;
    while let Some(i) = memchr::memchr(IAC, rest) {
        out.put_slice(&rest[..=i]);
        out.put_u8(IAC);
        rest = &rest[i + 1..];
    }
    out.put_slice(rest);
}

/// Appends `data` escaped and followed by IAC EOR.
pub fn encode_record<B: BufMut>(data: &[u8], out: &mut B) {
    encode_data(data, out);
    out.put_slice(&[IAC, EOR]);
}

/// Appends IAC verb option.
pub fn encode_negotiation<B: BufMut>(verb: Verb, option: u8, out: &mut B) {
    out.put_slice(&[IAC, verb.byte(), option]);
}

/// Appends IAC command.
pub fn encode_command<B: BufMut>(command: Command, out: &mut B) {
    out.put_slice(&[IAC, command.byte()]);
}

/// Appends IAC SB option body IAC SE, doubling 0xFF in the body.
pub fn encode_subnegotiation<B: BufMut>(option: u8, body: &[u8], out: &mut B) {
    out.put_slice(&[IAC, SB, option]);
    encode_data(body, out);
    out.put_slice(&[IAC, SE]);
}

/// One item of a record-mode stream, see [`RecordDecoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordItem<'a> {
    /// The bytes of one record, IAC EOR removed, unescaped (owned only if
    /// the record held IAC IAC).
    Record(Cow<'a, [u8]>),
    /// A telnet command, negotiation or subnegotiation between records.
    Telnet(TelnetEvent<'a>),
}

/// Cuts a record-mode stream (TN3270 after EOR/BINARY negotiation) into
/// records ended by IAC EOR, passing commands between records through.
///
/// A command other than IAC IAC inside a record is rejected as
/// [`Error::Invalid`]: 3270 hosts never interleave them, and accepting it
/// would force a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordDecoder {
    /// Largest accepted record (escaped length).
    pub max_record_len: usize,
    /// Parser for the commands between records.
    pub parser: TelnetParser,
}

impl Default for RecordDecoder {
    fn default() -> Self {
        Self {
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            parser: TelnetParser::default(),
        }
    }
}

impl RecordDecoder {
    fn record<'a>(&self, input: &'a [u8]) -> Result<(RecordItem<'a>, usize)> {
        let mut i = 0;
        let mut escaped = false;
        loop {
            let Some(rel) = memchr::memchr(IAC, &input[i..]) else {
                return Err(self.incomplete(input.len(), 2));
            };
            let at = i + rel;
            match input.get(at + 1) {
                None => return Err(self.incomplete(at, 1)),
                Some(&IAC) => {
                    escaped = true;
                    i = at + 2;
                }
                Some(&EOR) => {
                    if at > self.max_record_len {
                        return Err(self.too_long(at));
                    }
                    let raw = &input[..at];
                    let rec = if escaped {
                        Cow::Owned(unescape(raw))
                    } else {
                        Cow::Borrowed(raw)
                    };
                    return Ok((RecordItem::Record(rec), at + 2));
                }
                Some(&b) => {
                    return Err(Error::Invalid {
                        offset: at + 1,
                        byte: b,
                        reason: "telnet command inside an eor record",
                    });
                }
            }
        }
    }

    fn incomplete(&self, seen: usize, needed: usize) -> Error {
        if seen > self.max_record_len {
            self.too_long(seen)
        } else {
            Error::Incomplete { needed }
        }
    }

    fn too_long(&self, len: usize) -> Error {
        Error::FrameTooLong {
            len: len as u64,
            limit: self.max_record_len as u64,
        }
    }
}

impl Decode for RecordDecoder {
    type Frame<'a> = RecordItem<'a>;

    fn decode_frame<'a>(&mut self, input: &'a [u8]) -> Result<(RecordItem<'a>, usize)> {
        match input {
            [] => Err(Error::Incomplete { needed: 1 }),
            [IAC] => Err(Error::Incomplete { needed: 1 }),
            // IAC EOR right away ends an empty record.
            [IAC, EOR, ..] => Ok((RecordItem::Record(Cow::Borrowed(&[])), 2)),
            [IAC, second, ..] if *second != IAC => {
                let (ev, used) = self.parser.next_event(input)?;
                Ok((RecordItem::Telnet(ev), used))
            }
            _ => self.record(input),
        }
    }
}

/// A [`Decode`] adapter for plain telnet events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventDecoder(pub TelnetParser);

impl Decode for EventDecoder {
    type Frame<'a> = TelnetEvent<'a>;

    fn decode_frame<'a>(&mut self, input: &'a [u8]) -> Result<(TelnetEvent<'a>, usize)> {
        self.0.next_event(input)
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
mod tokio_codec {
    use bytes::{Buf, Bytes, BytesMut};
    use tokio_util::codec::{Decoder, Encoder};

    use super::{
        Command, EventDecoder, RecordDecoder, RecordItem, TelnetEvent, Verb, encode_command,
        encode_data, encode_negotiation, encode_record, encode_subnegotiation,
    };
    use crate::stream::Decode;

    /// Owned form of [`RecordItem`] for `tokio_util::codec`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum OwnedRecordItem {
        /// A record without IAC EOR, unescaped.
        Record(Bytes),
        /// Raw bytes of a telnet command between records.
        Telnet(Bytes),
    }

    impl Decoder for RecordDecoder {
        type Item = OwnedRecordItem;
        type Error = std::io::Error;

        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<OwnedRecordItem>, Self::Error> {
            let res = self.decode_frame(src).map(|(item, used)| match item {
                RecordItem::Record(std::borrow::Cow::Borrowed(r)) => (None, r.len(), used),
                RecordItem::Record(std::borrow::Cow::Owned(v)) => (Some(v), 0, used),
                RecordItem::Telnet(_) => (None, usize::MAX, used),
            });
            match res {
                Ok((owned, len, used)) => {
                    let mut frame = src.split_to(used).freeze();
                    let item = match (owned, len) {
                        (Some(v), _) => OwnedRecordItem::Record(Bytes::from(v)),
                        (None, usize::MAX) => OwnedRecordItem::Telnet(frame),
                        (None, len) => {
                            frame.truncate(len);
                            OwnedRecordItem::Record(frame)
                        }
                    };
                    Ok(Some(item))
                }
                Err(e) if e.is_incomplete() => Ok(None),
                Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            }
        }
    }

    /// Owned form of [`TelnetEvent`] for `tokio_util::codec`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum OwnedTelnetEvent {
        /// Data bytes, unescaped, split off the read buffer.
        Data(Bytes),
        /// A two-byte command.
        Command(Command),
        /// WILL/WONT/DO/DONT.
        Negotiate {
            /// The verb.
            verb: Verb,
            /// The option.
            option: u8,
        },
        /// A subnegotiation, body unescaped.
        Subnegotiation {
            /// The option.
            option: u8,
            /// The body.
            body: Bytes,
        },
    }

    impl Decoder for EventDecoder {
        type Item = OwnedTelnetEvent;
        type Error = std::io::Error;

        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<OwnedTelnetEvent>, Self::Error> {
            let parsed = self.0.next_event(src).map(|(ev, used)| {
                let owned = match ev {
                    // Data is a sub-slice of what is split off below.
                    TelnetEvent::Data(d) => Err(used - d.len()),
                    TelnetEvent::Command(c) => Ok(OwnedTelnetEvent::Command(c)),
                    TelnetEvent::Negotiate { verb, option } => {
                        Ok(OwnedTelnetEvent::Negotiate { verb, option })
                    }
                    TelnetEvent::Subnegotiation { option, body } => {
                        Ok(OwnedTelnetEvent::Subnegotiation {
                            option,
                            body: Bytes::from(body.into_owned()),
                        })
                    }
                };
                (owned, used)
            });
            match parsed {
                Ok((owned, used)) => {
                    let mut frame = src.split_to(used).freeze();
                    Ok(Some(owned.unwrap_or_else(|skip| {
                        frame.advance(skip);
                        OwnedTelnetEvent::Data(frame)
                    })))
                }
                Err(e) if e.is_incomplete() => Ok(None),
                Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            }
        }
    }

    impl Encoder<&OwnedTelnetEvent> for EventDecoder {
        type Error = std::io::Error;

        fn encode(
            &mut self,
            item: &OwnedTelnetEvent,
            dst: &mut BytesMut,
        ) -> Result<(), Self::Error> {
            match item {
                OwnedTelnetEvent::Data(d) => encode_data(d, dst),
                OwnedTelnetEvent::Command(c) => encode_command(*c, dst),
                OwnedTelnetEvent::Negotiate { verb, option } => {
                    encode_negotiation(*verb, *option, dst)
                }
                OwnedTelnetEvent::Subnegotiation { option, body } => {
                    encode_subnegotiation(*option, body, dst)
                }
            }
            Ok(())
        }
    }

    impl Encoder<&[u8]> for RecordDecoder {
        type Error = std::io::Error;

        fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> Result<(), Self::Error> {
            encode_record(item, dst);
            Ok(())
        }
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio_codec::{OwnedRecordItem, OwnedTelnetEvent};

#[cfg(test)]
mod tests;
