//! Inbound 3270 records (AID, cursor, fields) and query replies.
#![no_main]

use ballast_codec::tn3270::query::QueryReply;
use ballast_codec::tn3270::{AddressMode, Inbound, ScreenSize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = Inbound::parse(data, ScreenSize::MODEL_4, AddressMode::TwelveFourteen) {
        for field in rec.fields() {
            let _ = field;
        }
        for sf in rec.structured_fields().flatten() {
            if let Ok(reply) = QueryReply::decode(sf) {
                let mut out = Vec::new();
                let _ = reply.encode(&mut out);
            }
        }
    }
});
