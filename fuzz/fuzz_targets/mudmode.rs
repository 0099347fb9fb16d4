//! MudMode packets, LPC values and I3 envelopes.
#![no_main]

use ballast_codec::mudmode::i3::Packet;
use ballast_codec::mudmode::lpc::{self, Limits};
use ballast_codec::mudmode::{MudModeDecoder, encode_packet};
use ballast_codec::stream::Decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = MudModeDecoder::default().decode_frame(data);
    let limits = Limits { max_depth: 32, max_elements: 4096 };
    if let Ok(v) = lpc::decode(data, limits) {
        // Whatever decodes re-encodes and decodes to the same value.
        let mut wire = Vec::new();
        if encode_packet(&v, &mut wire).is_ok() {
            let (back, _) = MudModeDecoder::default().decode_frame(&wire).expect("own output decodes");
            assert_eq!(back.to_owned_value(), v.to_owned_value());
        }
        let _ = Packet::from_value(v);
    }
});
