//! Steady-state parsing allocates nothing: 3270 screens, telnet data and
//! records, length-prefixed frames. Proved with ballast-alloc's
//! `CountingAlloc`, whose `measure` counts only the calling thread.

use ballast_alloc::CountingAlloc;
use ballast_codec::frame::{FrameConfig, FrameDecoder};
use ballast_codec::stream::Decode;
use ballast_codec::telnet::{self, RecordDecoder, TelnetParser};
use ballast_codec::tn3270::{
    AddressMode, Color, Command, ExtendedAttribute, FieldAttribute, Inbound, Order, Outbound,
    OutboundParser, RecordBuilder, ScreenSize, Wcc,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::system();

/// Allocations (and reallocations) made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let ((), delta) = GLOBAL.measure(f);
    (delta.allocations + delta.reallocations) as usize
}

fn full_screen(variant: u16) -> Vec<u8> {
    let mut b = RecordBuilder::new(Command::EraseWrite, Wcc(0xC3), ScreenSize::MODEL_2);
    for row in 0..24 {
        b = b
            .sba(row, 0)
            .start_field_extended(
                FieldAttribute::new().protect(),
                &[ExtendedAttribute::Foreground(Color::TURQUOISE)],
            )
            .text_str("LABEL ")
            .start_field(FieldAttribute::new())
            .text_str(&format!("{:<60}", format!("value {row} {variant}")));
    }
    b.sba(3, 7).insert_cursor().finish().expect("screen fits")
}

#[test]
fn parsing_3270_screens_allocates_nothing() {
    let records: Vec<Vec<u8>> = (0..50).map(full_screen).collect();
    let parser = OutboundParser::default();
    let mut text_bytes = 0;
    let n = allocations(|| {
        for rec in &records {
            let Ok(Outbound::Write { orders, .. }) = parser.parse(rec) else {
                panic!("write")
            };
            for order in orders {
                if let Ok(Order::Text(t)) = order {
                    text_bytes += t.len();
                }
            }
        }
    });
    assert!(text_bytes > 50 * 24 * 60, "the screens were really parsed");
    assert_eq!(n, 0, "allocations while parsing 50 screens");
}

#[test]
fn telnet_data_records_and_frames_allocate_nothing() {
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let mut records = Vec::new();
    for chunk in data.chunks(300) {
        telnet::encode_record(chunk, &mut records);
    }
    let mut frames = Vec::new();
    for chunk in data.chunks(64) {
        FrameConfig::default()
            .encode(&[], chunk, &mut frames)
            .expect("frame");
    }
    let inbound = [
        0x7d, 0xc2, 0xf0, 0x11, 0xc2, 0x6b, 0x88, 0x85, 0x93, 0x93, 0x96,
    ];
    let n = allocations(|| {
        for ev in TelnetParser::default().events(&data) {
            assert!(ev.is_ok());
        }
        let mut rest = &records[..];
        let mut dec = RecordDecoder::default();
        while let Ok((_, used)) = dec.decode_frame(rest) {
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
        let mut rest = &frames[..];
        let mut dec = FrameDecoder::new(FrameConfig::default());
        while let Ok((_, used)) = dec.decode_frame(rest) {
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
        let rec = Inbound::parse(&inbound, ScreenSize::MODEL_2, AddressMode::default()).unwrap();
        assert_eq!(rec.fields().count(), 1);
    });
    assert_eq!(n, 0);
}
