//! The IBM 3270 data stream, TN3270E and EBCDIC.
//!
//! - [`OutboundParser`] reads host records: a command and an iterator of
//!   [`Order`]s whose text runs borrow the record;
//! - [`RecordBuilder`] writes host records;
//! - [`encode_read_modified`], [`encode_read_modified_all`],
//!   [`encode_read_buffer`] and [`encode_short_read`] write the terminal's
//!   answers from any [`InboundScreen`]; [`Inbound`] reads them on the host
//!   side;
//! - [`query`] handles structured fields and query replies, [`tn3270e`] the
//!   RFC 2355 header, record framing ([`tn3270e::encode_record`]) and
//!   subnegotiation, [`ebcdic`] code pages 037 and 1047.

pub mod address;
pub mod builder;
pub mod codes;
pub mod ebcdic;
pub mod inbound;
pub mod outbound;
pub mod query;
pub mod tn3270e;

pub use address::{AddressMode, CODE_TABLE, ScreenSize, decode_address, encode_address};
pub use builder::RecordBuilder;
pub use codes::{
    Aid, Color, Command, Display, ExtendedAttribute, FieldAttribute, Highlight, Wcc, is_text,
};
pub use ebcdic::{CodePage, ScreenChar};
pub use inbound::{
    FieldStart, Inbound, InboundFields, InboundScreen, ScreenImage, encode_read_buffer,
    encode_read_modified, encode_read_modified_all, encode_read_reply, encode_short_read,
};
pub use outbound::{Attributes, Order, Orders, Outbound, OutboundParser};
