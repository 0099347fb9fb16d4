//! Zero-copy, sans-IO protocol codecs for ballast.
//!
//! This crate will hold the protocol layer every ballast session and gateway
//! stands on: bytes in, borrowed views and typed errors out, no sockets.
//!
//! - `cursor`: a view over `&[u8]` whose reads tell "incomplete, wait for
//!   more bytes" apart from "invalid, drop the peer";
//! - `telnet`: RFC 854/855 command splitting, IAC EOR records, and an
//!   RFC 1143 option-negotiation state machine;
//! - `tn3270`: the IBM 3270 data stream (commands, orders, buffer addresses,
//!   field attributes, structured fields and query replies), TN3270E headers
//!   and EBCDIC code pages 037 and 1047;
//! - `mudmode`: the I3 intermud MudMode framing and LPC values;
//! - `frame`: configurable length-prefixed framing.
//!
//! Status: skeleton. The codecs land with the ballast-codec issue.
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]
