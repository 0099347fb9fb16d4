//! TN3270E headers, responses and subnegotiation messages.
#![no_main]

use ballast_codec::tn3270::tn3270e::{Header, Message, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((h, rest)) = Header::parse(data) {
        assert_eq!(h.to_bytes(), data[..5]);
        let _ = Response::decode(&h, rest);
    }
    if let Ok(m) = Message::decode(data) {
        let mut out = Vec::new();
        m.encode(&mut out);
        assert_eq!(Message::decode(&out), Ok(m), "decoded message re-encodes");
    }
});
