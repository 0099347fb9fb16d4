//! The I3 intermud "MudMode" wire format.
//!
//! A packet is a 4-byte big-endian length (counting the body and a trailing
//! NUL), the LPC text of one value, and the NUL. Receivers accept up to
//! [`MAX_RECEIVE_LEN`] and reject a larger length from the header alone;
//! senders keep packets within [`MAX_SEND_LEN`]. The framing is
//! [`FrameConfig::mudmode`], the values are in [`lpc`], the I3 packet
//! envelope and payloads in [`i3`].
//!
//! [`MudModeDecoder::decode_packet`] cuts a packet off the front of a
//! buffer and decodes its value onto a tape the decoder keeps, so a stream
//! of packets decodes with no allocation once the tape has grown to the
//! packets' size:
//!
//! ```
//! use ballast_codec::mudmode::{MudModeDecoder, encode_owned_packet, i3::{Packet, Payload}};
//! use ballast_codec::mudmode::lpc;
//!
//! let mut wire = Vec::new();
//! for id in 1..=3 {
//!     let mudlist = lpc::decode(
//!         format!(r#"({{"mudlist",5,"*i4",0,"MyMud",0,{id},(["Mud {id}":({{-1,"10.0.0.{id}",4000,}}),]),}})"#).as_bytes(),
//!         lpc::Limits::default(),
//!     )?;
//!     encode_owned_packet(&mudlist, &mut wire)?;
//! }
//!
//! let mut decoder = MudModeDecoder::default();
//! let mut rest = &wire[..];
//! let mut names = Vec::new();
//! while !rest.is_empty() {
//!     let (value, used) = decoder.decode_packet(rest)?; // borrows `rest` and `decoder`
//!     if let Payload::Mudlist { muds, .. } = Packet::from_value(value)?.payload {
//!         for (name, _info) in muds {
//!             names.push(String::from_utf8_lossy(name.as_bytes().unwrap_or(b"")).into_owned());
//!         }
//!     }
//!     rest = &rest[used..];
//! }
//! assert_eq!(names, ["Mud 1", "Mud 2", "Mud 3"]);
//! # Ok::<(), ballast_codec::Error>(())
//! ```
//!
//! The [`Decode`] impl (for [`StreamBuffer`](crate::stream::StreamBuffer))
//! only cuts frames: its frame is the packet body, to be read with an
//! [`lpc::Decoder`].

pub mod i3;
pub mod lpc;

use crate::error::{Error, Result};
use crate::frame::FrameConfig;
use crate::stream::Decode;
use i3::Packet;
use lpc::{Limits, Value, ValueRef};

/// Largest packet a receiver accepts: 2 MiB (length field value).
pub const MAX_RECEIVE_LEN: usize = 2 << 20;
/// Largest packet a sender writes: 256 KiB (length field value).
pub const MAX_SEND_LEN: usize = 256 << 10;

/// Decodes MudMode packets into borrowed LPC values, reusing its tape.
#[derive(Debug, Clone)]
pub struct MudModeDecoder {
    frame: FrameConfig,
    lpc: lpc::Decoder,
}

impl Default for MudModeDecoder {
    fn default() -> Self {
        Self {
            frame: FrameConfig::mudmode(),
            lpc: lpc::Decoder::default(),
        }
    }
}

impl MudModeDecoder {
    /// A decoder with the given value limits and receive limit.
    pub fn new(limits: Limits, max_receive_len: usize) -> Result<Self> {
        let lpc = lpc::Decoder::new(limits)?;
        let frame = FrameConfig {
            max_frame_len: max_receive_len,
            ..FrameConfig::mudmode()
        };
        frame.validate()?;
        Ok(Self { frame, lpc })
    }

    /// Locates the body of the first packet (NUL checked) without decoding.
    pub fn body<'a>(&self, input: &'a [u8]) -> Result<(&'a [u8], usize)> {
        let b = self.frame.bounds(input)?;
        let body = &input[b.payload_start..b.payload_start + b.payload_len];
        if let Some(i) = memchr::memchr(0, body) {
            return Err(Error::Invalid {
                offset: b.payload_start + i,
                byte: 0,
                reason: "nul inside a mudmode body",
            });
        }
        Ok((body, b.frame_len))
    }

    /// Decodes the first packet in `input`: its value and the bytes used.
    ///
    /// The value borrows `input` and this decoder until the next call; once
    /// the decoder's buffers have grown to the packets' size this allocates
    /// nothing. [`Error::Incomplete`] means more bytes are needed; error
    /// offsets count from the start of `input`.
    pub fn decode_packet<'a>(&'a mut self, input: &'a [u8]) -> Result<(ValueRef<'a>, usize)> {
        let (body, used) = self.body(input)?;
        let value = self.lpc.decode(body).map_err(|e| e.shifted(4))?;
        Ok((value, used))
    }

    /// Decodes the first packet in `input` as an I3 packet.
    pub fn decode_i3<'a>(&'a mut self, input: &'a [u8]) -> Result<(Packet<'a>, usize)> {
        let (value, used) = self.decode_packet(input)?;
        Ok((Packet::from_value(value)?, used))
    }
}

/// Cuts packets for [`StreamBuffer`](crate::stream::StreamBuffer): the frame
/// is the body (length and NUL checked, LPC not parsed yet); pass it to an
/// [`lpc::Decoder`]. Use [`MudModeDecoder::decode_packet`] to do both.
impl Decode for MudModeDecoder {
    type Frame<'a> = &'a [u8];

    fn decode_frame<'a>(&mut self, input: &'a [u8]) -> Result<(&'a [u8], usize)> {
        self.body(input)
    }
}

/// Appends one packet holding `value`; fails over [`MAX_SEND_LEN`].
pub fn encode_packet(value: &ValueRef<'_>, out: &mut Vec<u8>) -> Result<()> {
    frame_body(out, |body| value.encode(body))
}

/// Appends one packet holding an owned `value`; fails over [`MAX_SEND_LEN`].
pub fn encode_owned_packet(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    frame_body(out, |body| value.encode(body))
}

/// Appends one packet holding an I3 `packet`; fails over [`MAX_SEND_LEN`].
pub fn encode_i3_packet(packet: &Packet<'_>, out: &mut Vec<u8>) -> Result<()> {
    frame_body(out, |body| packet.encode(body))
}

fn frame_body(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    let res = write(out).and_then(|()| {
        let len = out.len() - start - 4 + 1;
        if len > MAX_SEND_LEN {
            return Err(Error::FrameTooLong {
                len: len as u64,
                limit: MAX_SEND_LEN as u64,
            });
        }
        // len <= 256 KiB fits in u32.
        out[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
        out.push(0);
        Ok(())
    });
    if res.is_err() {
        out.truncate(start);
    }
    res
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
mod tokio_codec {
    use bytes::{Buf, BytesMut};
    use tokio_util::codec::{Decoder, Encoder};

    use super::{MudModeDecoder, encode_owned_packet, lpc::Value};
    use crate::error::Error;
    use crate::frame::RESERVE_CAP;

    impl Decoder for MudModeDecoder {
        type Item = Value;
        type Error = std::io::Error;

        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Value>, Self::Error> {
            // The item must own its data, so this copies the value out of
            // the tape; use `decode_packet` on a buffer to avoid that.
            match self.decode_packet(&src[..]) {
                Ok((v, used)) => {
                    let owned = v.to_owned_value();
                    src.advance(used);
                    Ok(Some(owned))
                }
                Err(Error::Incomplete { needed }) => {
                    src.reserve(needed.min(RESERVE_CAP));
                    Ok(None)
                }
                Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            }
        }
    }

    impl Encoder<&Value> for MudModeDecoder {
        type Error = std::io::Error;

        fn encode(&mut self, item: &Value, dst: &mut BytesMut) -> Result<(), Self::Error> {
            let mut out = Vec::new();
            encode_owned_packet(item, &mut out)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            dst.extend_from_slice(&out);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
