//! Telnet events and IAC EOR records from arbitrary bytes.
#![no_main]

use ballast_codec::stream::{Decode, StreamBuffer};
use ballast_codec::telnet::{self, RecordDecoder, RecordItem, TelnetParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for ev in (TelnetParser {
        max_subnegotiation_len: 256,
    })
    .events(data)
    {
        let _ = ev;
    }
    // Records decoded from the stream must re-encode to what was consumed.
    let mut rest = data;
    let mut dec = RecordDecoder {
        max_record_len: 4096,
        ..RecordDecoder::default()
    };
    while let Ok((item, used)) = dec.decode_frame(rest) {
        if let RecordItem::Record(r) = item {
            let mut wire = Vec::new();
            telnet::encode_record(&r, &mut wire);
            assert_eq!(wire, rest[..used], "record re-encodes to its wire bytes");
        }
        rest = &rest[used..];
    }
    let mut stream = StreamBuffer::with_max_buffered(RecordDecoder::default(), 1024);
    for chunk in data.chunks(7) {
        if stream.feed(chunk).is_err() {
            break;
        }
        while let Ok(Some(_)) = stream.next_frame() {}
    }
});
