//! The I3 intermud "MudMode" wire format.
//!
//! A packet is a 4-byte big-endian length (counting the body and a trailing
//! NUL), the LPC text of one value, and the NUL. Receivers accept up to
//! [`MAX_RECEIVE_LEN`] and reject a larger length from the header alone;
//! senders keep packets within [`MAX_SEND_LEN`]. The framing is
//! [`FrameConfig::mudmode`], the values are in [`lpc`], the I3 packet
//! envelope and payloads in [`i3`].
//!
//! ```
//! use ballast_codec::mudmode::{MudModeDecoder, encode_packet, lpc::ValueRef};
//! use ballast_codec::stream::Decode;
//!
//! let mut wire = Vec::new();
//! encode_packet(&ValueRef::Int(123), &mut wire).unwrap();
//! assert_eq!(wire, [0, 0, 0, 4, b'1', b'2', b'3', 0]);
//! let (value, used) = MudModeDecoder::default().decode_frame(&wire).unwrap();
//! assert_eq!((value, used), (ValueRef::Int(123), 8));
//! ```

pub mod i3;
pub mod lpc;

use crate::error::{Error, Result};
use crate::frame::FrameConfig;
use crate::stream::Decode;
use lpc::{Limits, Value, ValueRef};

/// Largest packet a receiver accepts: 2 MiB (length field value).
pub const MAX_RECEIVE_LEN: usize = 2 << 20;
/// Largest packet a sender writes: 256 KiB (length field value).
pub const MAX_SEND_LEN: usize = 256 << 10;

/// Decodes MudMode packets into borrowed LPC values.
#[derive(Debug, Clone)]
pub struct MudModeDecoder {
    frame: FrameConfig,
    limits: Limits,
}

impl Default for MudModeDecoder {
    fn default() -> Self {
        Self {
            frame: FrameConfig::mudmode(),
            limits: Limits::default(),
        }
    }
}

impl MudModeDecoder {
    /// A decoder with the given value limits and receive limit.
    pub fn new(limits: Limits, max_receive_len: usize) -> Result<Self> {
        limits.validate()?;
        let frame = FrameConfig {
            max_frame_len: max_receive_len,
            ..FrameConfig::mudmode()
        };
        frame.validate()?;
        Ok(Self { frame, limits })
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
}

impl Decode for MudModeDecoder {
    type Frame<'a> = ValueRef<'a>;

    fn decode_frame<'a>(&mut self, input: &'a [u8]) -> Result<(ValueRef<'a>, usize)> {
        let (body, used) = self.body(input)?;
        let value = lpc::decode(body, self.limits).map_err(|e| e.shifted(4))?;
        Ok((value, used))
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
mod tokio_codec {
    use bytes::{Buf, BytesMut};
    use tokio_util::codec::{Decoder, Encoder};

    use super::{MudModeDecoder, encode_owned_packet, lpc::Value};
    use crate::error::Error;
    use crate::frame::RESERVE_CAP;
    use crate::stream::Decode;

    impl Decoder for MudModeDecoder {
        type Item = Value;
        type Error = std::io::Error;

        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Value>, Self::Error> {
            match self.decode_frame(src) {
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
