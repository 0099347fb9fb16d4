//! Length-prefixed frames under a configuration taken from the input.
#![no_main]

use ballast_codec::frame::{Endian, FrameConfig, FrameDecoder, LengthWidth};
use ballast_codec::stream::{Decode, StreamBuffer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, b, c, rest @ ..] = data else { return };
    let cfg = FrameConfig {
        length_width: [
            LengthWidth::U8,
            LengthWidth::U16,
            LengthWidth::U32,
            LengthWidth::U64,
        ][usize::from(a & 3)],
        endian: if a & 4 != 0 {
            Endian::Little
        } else {
            Endian::Big
        },
        length_adjustment: i64::from(*b as i8),
        header_offset: usize::from(c & 3),
        trailer: if c & 4 != 0 { b"\0" } else { b"" },
        max_frame_len: 1 + usize::from(c >> 3) * 64,
        allow_empty: a & 8 != 0,
    };
    if let Ok((payload, used)) = FrameDecoder::new(cfg.clone()).decode_frame(rest) {
        assert!(payload.len() <= used && used <= rest.len());
    }
    let mut stream = StreamBuffer::with_max_buffered(FrameDecoder::new(cfg), 512);
    for chunk in rest.chunks(usize::from(a >> 4) + 1) {
        if stream.feed(chunk).is_err() {
            break;
        }
        while let Ok(Some(_)) = stream.next_frame() {}
    }
});
