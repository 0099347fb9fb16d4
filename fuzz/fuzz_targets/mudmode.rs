//! MudMode packets, LPC values and I3 envelopes.
#![no_main]

use ballast_codec::mudmode::i3::{Packet, Payload};
use ballast_codec::mudmode::lpc::{self, Limits};
use ballast_codec::mudmode::{MudModeDecoder, encode_i3_packet, encode_packet};
use ballast_codec::stream::Decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut frames = MudModeDecoder::default();
    let _ = frames.decode_frame(data);
    let _ = frames.decode_packet(data);
    let limits = Limits {
        max_depth: 32,
        max_elements: 4096,
    };
    let owned = lpc::decode(data, limits);
    let mut dec = lpc::Decoder::new(limits).expect("limits under the ceiling");
    let Ok(v) = dec.decode(data) else {
        assert!(owned.is_err(), "one-shot and reusable decoders agree");
        return;
    };
    assert_eq!(
        owned.as_ref().ok(),
        Some(&v.to_owned_value()),
        "decoders agree"
    );
    let _ = format!("{v:?}");
    // Whatever decodes re-encodes and decodes to the same value.
    let mut wire = Vec::new();
    let encoded = encode_packet(&v, &mut wire);
    if encoded.is_ok() {
        let mut again = MudModeDecoder::default();
        let (back, _) = again.decode_packet(&wire).expect("own output decodes");
        assert!(back == v, "decode(encode(x)) == x");
    }
    if let Ok(p) = Packet::from_value(v) {
        if let Payload::WhoReply(users) = p.payload {
            users.iter().for_each(drop);
        }
        // A router forwards what it decoded: the packet writes the fields
        // of the value it was read from, none lost or added.
        let mut i3_wire = Vec::new();
        let i3_encoded = encode_i3_packet(&p, &mut i3_wire);
        assert_eq!(
            i3_encoded.is_ok(),
            encoded.is_ok(),
            "{i3_encoded:?} vs {encoded:?}"
        );
        assert_eq!(i3_wire, wire, "the packet re-encodes like its value");
        if i3_encoded.is_ok() {
            let mut again = MudModeDecoder::default();
            let (back, _) = again.decode_i3(&i3_wire).expect("own i3 output decodes");
            assert_eq!(back, p, "i3 decode(encode(x)) == x");
        }
    }
});
