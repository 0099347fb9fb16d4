//! The IBM 3270 data stream, TN3270E and EBCDIC.
//!
//! - [`OutboundParser`] reads host records: a command and an iterator of
//!   [`Order`]s whose text runs borrow the record;
//! - [`RecordBuilder`] writes host records;
//! - [`encode_read_modified`] writes terminal answers, [`Inbound`] reads
//!   them on the host side;
//! - [`query`] handles structured fields and query replies, [`tn3270e`] the
//!   RFC 2355 header and subnegotiation, [`ebcdic`] code pages 037 and 1047.

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
pub use inbound::{Inbound, InboundFields, encode_read_modified};
pub use outbound::{Attributes, Order, Orders, Outbound, OutboundParser};
