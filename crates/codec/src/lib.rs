//! Zero-copy, sans-IO protocol codecs for ballast.
//!
//! The protocol layer every ballast session and gateway stands on: bytes go
//! in, borrowed views and typed errors come out, no sockets. Decoders look at
//! the front of a `&[u8]` and return a frame that borrows it plus the number
//! of bytes used; they allocate only where the wire format forces a copy
//! (an escaped IAC). The LPC decoder writes values onto a tape it owns and
//! reuses, so decoding a stream of MudMode packets stops allocating once the
//! tape has grown to the packets' size.
//!
//! - [`cursor`]: a read cursor whose reads tell "incomplete, wait for more
//!   bytes" apart from "invalid, drop the peer";
//! - [`stream`]: the [`stream::Decode`] trait and [`stream::StreamBuffer`],
//!   which owns socket bytes and hands out borrowed frames (for a TN3270
//!   connection, [`stream::StreamBuffer::receive`] over a
//!   [`telnet::RecordDecoder`] is the whole input side);
//! - [`telnet`]: RFC 854/855 event splitting with `memchr`, IAC EOR records
//!   (RFC 885), the IAC-doubling encoder, and the RFC 1143 option table;
//! - [`tn3270`]: the 3270 data stream (commands, orders, 12/14/16-bit
//!   addresses, attributes, AIDs, WCC), the host-side [`tn3270::RecordBuilder`],
//!   the terminal's answers (Read Modified, Read Modified All, Read Buffer,
//!   unformatted screens, short reads) written from any
//!   [`tn3270::InboundScreen`] and parsed by [`tn3270::Inbound`],
//!   structured fields and query replies, TN3270E (header and
//!   [`tn3270::tn3270e::encode_record`] framing), and EBCDIC code pages 037
//!   and 1047;
//! - [`mudmode`]: the I3 MudMode framing, LPC values and I3 packets;
//! - [`frame`]: configurable length-prefixed frames (MudMode is one
//!   configuration).
//!
//! # Example
//!
//! A terminal parses the screen a host sent and answers Enter with one
//! modified field; the record travels over telnet ended by IAC EOR. (A real
//! terminal implements [`tn3270::InboundScreen`] on its own screen; the
//! example uses the owned [`tn3270::ScreenImage`].)
//!
//! ```
//! use ballast_codec::stream::Decode;
//! use ballast_codec::telnet::{self, RecordDecoder, RecordItem};
//! use ballast_codec::tn3270::{
//!     AddressMode, Aid, CodePage, Command, FieldAttribute, FieldStart, Order, Outbound,
//!     OutboundParser, RecordBuilder, ScreenImage, ScreenSize, Wcc, encode_read_modified,
//! };
//!
//! // Host side: build a screen and frame it for telnet.
//! let screen = RecordBuilder::new(Command::EraseWrite, Wcc(0xC3), ScreenSize::MODEL_2)
//!     .sba(2, 0)
//!     .start_field(FieldAttribute::new().protect())
//!     .text_str("NAME:")
//!     .sba(2, 10)
//!     .start_field(FieldAttribute::new())
//!     .insert_cursor()
//!     .finish()?;
//! let mut wire = Vec::new();
//! telnet::encode_record(&screen, &mut wire);
//!
//! // Terminal side: cut the record off the stream and walk its orders.
//! let (item, used) = RecordDecoder::default().decode_frame(&wire)?;
//! assert_eq!(used, wire.len());
//! let RecordItem::Record(record) = item else { unreachable!("one record was sent") };
//! let Outbound::Write { orders, .. } = OutboundParser::default().parse(&record)? else {
//!     unreachable!("an erase/write was sent")
//! };
//! let mut label = String::new();
//! for order in orders {
//!     if let Order::Text(text) = order? {
//!         CodePage::Cp037.decode_into(text, &mut label); // `text` borrows `wire`
//!     }
//! }
//! assert_eq!(label, "NAME:");
//!
//! // The operator types "hello" into the field at (2, 10) and presses Enter.
//! let mut cells = vec![0; 1920];
//! cells[171..176].copy_from_slice(&CodePage::Cp037.encode_str("hello"));
//! let terminal = ScreenImage {
//!     address_mode: AddressMode::default(),
//!     cursor: 176,
//!     cells,
//!     fields: vec![
//!         FieldStart { address: 160, attribute: FieldAttribute::new().protect() },
//!         FieldStart { address: 170, attribute: FieldAttribute::from_byte(FieldAttribute::MDT) },
//!     ],
//! };
//! let mut answer = Vec::new();
//! encode_read_modified(Aid::Enter, &terminal, &mut answer)?;
//! let mut reply = Vec::new();
//! telnet::encode_record(&answer, &mut reply);
//! assert_eq!(reply, [0x7d, 0xc2, 0xf0, 0x11, 0xc2, 0x6b, 0x88, 0x85, 0x93, 0x93, 0x96, 0xff, 0xef]);
//! # Ok::<(), ballast_codec::Error>(())
//! ```
//!
//! # Errors and limits
//!
//! Every decoder returns [`Error`]. [`Error::Incomplete`] means "keep the
//! bytes and call again when more arrive"; every other variant means the
//! input is malformed or over a limit, with the offset and byte (or the
//! limit and the value) that caused it. No input makes a decoder panic. Every
//! size that a peer controls has a named limit with a default: frame length
//! ([`frame::DEFAULT_MAX_FRAME_LEN`], [`mudmode::MAX_RECEIVE_LEN`]),
//! subnegotiation and record length ([`telnet::DEFAULT_MAX_SUBNEGOTIATION_LEN`],
//! [`telnet::DEFAULT_MAX_RECORD_LEN`]), LPC depth and element count
//! ([`mudmode::lpc::DEFAULT_MAX_DEPTH`], [`mudmode::lpc::DEFAULT_MAX_ELEMENTS`]),
//! bytes buffered by a stream ([`stream::DEFAULT_MAX_BUFFERED`]).
//!
//! # Feature flags
//!
//! - `tokio` (off by default): `tokio_util::codec::{Decoder, Encoder}` for
//!   [`frame::FrameDecoder`] (payloads as `BytesMut` split off the buffer),
//!   [`telnet::EventDecoder`] (events with data as `Bytes`),
//!   [`telnet::RecordDecoder`] (records as `Bytes`; plain TN3270),
//!   `tn3270::tn3270e::Tn3270eCodec` (TN3270E records split into header
//!   and data) and [`mudmode::MudModeDecoder`] (owned
//!   [`mudmode::lpc::Value`]s).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod cursor;
pub mod error;
pub mod frame;
pub mod mudmode;
pub mod stream;
pub mod telnet;
pub mod tn3270;

/// Stable error codes, retry classes and recovery guidance (`ballast-error`):
/// every error of this crate implements [`Coded`].
pub use ballast_error::{CatalogEntry, Coded, ErrorClass};
pub use cursor::Cursor;
pub use error::{Error, Result};

/// Compile-time check that the public types can cross threads.
/// Every error catalog of this crate, by error type: each variant's stable
/// code, class and recovery guidance (`docs/errors.md` is generated from
/// these).
pub fn error_catalogs() -> &'static [(&'static str, &'static [CatalogEntry])] {
    &[("ballast_codec::Error", error::CATALOG)]
}

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<crate::Error>();
        assert_send_sync::<crate::frame::FrameDecoder>();
        assert_send_sync::<crate::telnet::RecordDecoder>();
        assert_send_sync::<crate::telnet::negotiation::OptionTable>();
        assert_send_sync::<crate::tn3270::OutboundParser>();
        assert_send_sync::<crate::tn3270::RecordBuilder>();
        assert_send_sync::<crate::mudmode::MudModeDecoder>();
        assert_send_sync::<crate::mudmode::lpc::Value>();
        assert_send_sync::<crate::mudmode::lpc::Decoder>();
        assert_send_sync::<crate::mudmode::lpc::ValueRef<'static>>();
        assert_send_sync::<crate::mudmode::i3::Packet<'static>>();
        assert_send_sync::<crate::stream::StreamBuffer<crate::frame::FrameDecoder>>();
        assert_send_sync::<crate::stream::StreamBuffer<crate::telnet::RecordDecoder>>();
        assert_send_sync::<crate::tn3270::ScreenImage>();
        assert_send_sync::<crate::tn3270::Inbound<'static>>();
    }
}

/// The user guide `docs/zero-copy-parsing.md`, compiled as doctests so its
/// examples stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/zero-copy-parsing.md")]
pub struct ZeroCopyParsingGuide;
