//! Outbound 3270 records (commands, orders, WSF structured fields).
#![no_main]

use ballast_codec::tn3270::query::{OutboundField, QueryReply};
use ballast_codec::tn3270::{AddressMode, Outbound, OutboundParser, ScreenSize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, record)) = data.split_first() else {
        return;
    };
    let parser = OutboundParser {
        primary: ScreenSize::MODEL_2,
        alternate: ScreenSize::MODEL_5,
        alternate_active: flags & 1 != 0,
        address_mode: if flags & 2 != 0 {
            AddressMode::Sixteen
        } else {
            AddressMode::TwelveFourteen
        },
    };
    match parser.parse(record) {
        Ok(Outbound::Write { orders, .. }) => {
            for order in orders {
                let _ = order;
            }
        }
        Ok(Outbound::WriteStructuredField(fields)) => {
            for sf in fields.flatten() {
                let _ = OutboundField::decode(sf);
                let _ = QueryReply::decode(sf);
            }
        }
        _ => {}
    }
});
