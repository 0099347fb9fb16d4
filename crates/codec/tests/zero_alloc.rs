//! Steady-state parsing allocates nothing: 3270 screens, telnet data and
//! records, length-prefixed frames, MudMode packets and their LPC values;
//! nor does answering a key (Read Modified / Read Buffer, framed as a
//! TN3270E record) or splitting a record stream. Proved with
//! ballast-alloc's `CountingAlloc`, whose `measure` counts only the calling
//! thread.

use ballast_alloc::CountingAlloc;
use ballast_codec::frame::{FrameConfig, FrameDecoder};
use ballast_codec::mudmode::i3::Payload;
use ballast_codec::mudmode::lpc::{self, Value, ValueKind};
use ballast_codec::mudmode::{MudModeDecoder, encode_i3_packet, encode_owned_packet};
use ballast_codec::stream::{Decode, StreamBuffer};
use ballast_codec::telnet::{self, RecordDecoder, RecordItem, TelnetParser};
use ballast_codec::tn3270::tn3270e::{self, Header};
use ballast_codec::tn3270::{
    AddressMode, Aid, Color, Command, ExtendedAttribute, FieldAttribute, FieldStart, Inbound,
    Order, Outbound, OutboundParser, RecordBuilder, ScreenImage, ScreenSize, Wcc,
    encode_read_buffer, encode_read_modified,
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

/// An I3 mudlist packet of `muds` muds; every third name has escapes.
fn mudlist_packet(id: i64, muds: i64) -> Vec<u8> {
    let list = (0..muds)
        .map(|m| {
            let name = if m % 3 == 0 {
                format!("Mud \"{id}-{m}\"\tescaped")
            } else {
                format!("Mud {id}-{m}")
            };
            let info = Value::Array(vec![
                Value::Int(-1),
                Value::from(format!("10.0.{id}.{m}").as_str()),
                Value::Int(4000 + m),
                Value::from("Dead Souls 3.9"),
                Value::Float(1.5),
                Value::Mapping(vec![(Value::from("tell"), Value::Int(1))]),
            ]);
            (Value::from(name.as_str()), info)
        })
        .collect();
    let packet = Value::Array(vec![
        Value::from("mudlist"),
        Value::Int(5),
        Value::from("*i4"),
        Value::Int(0),
        Value::from("MyMud"),
        Value::Int(0),
        Value::Int(id),
        Value::Mapping(list),
    ]);
    let mut wire = Vec::new();
    encode_owned_packet(&packet, &mut wire).expect("a small packet encodes");
    wire
}

/// Reads every packet as an I3 mudlist and walks every mud; returns the
/// number of muds and the bytes of their names and addresses.
fn read_mudlists(dec: &mut MudModeDecoder, mut wire: &[u8], echo: &mut Vec<u8>) -> (usize, usize) {
    let (mut muds, mut bytes) = (0, 0);
    while !wire.is_empty() {
        let (packet, used) = dec.decode_i3(wire).expect("a valid mudlist packet");
        let Payload::Mudlist { muds: list, .. } = packet.payload else {
            panic!("mudlist expected")
        };
        for (name, info) in list {
            muds += 1;
            bytes += name.as_bytes().map_or(0, <[u8]>::len);
            let info = info.as_array().expect("mud info is an array");
            if let Some(ValueKind::Str(address)) = info.get(1).map(|v| v.kind()) {
                bytes += address.len();
            }
        }
        echo.clear();
        encode_i3_packet(&packet, echo).expect("the packet re-encodes");
        assert_eq!(echo[..], wire[..used], "re-encoded byte for byte");
        wire = &wire[used..];
    }
    (muds, bytes)
}

#[test]
fn decoding_a_stream_of_mudlist_packets_allocates_nothing_once_warm() {
    // Packets of growing size, so a decoder tuned to an early one must
    // still be ready for the later ones after the warm-up pass.
    let wire: Vec<u8> = (0..40)
        .flat_map(|id| mudlist_packet(id, 1 + id % 20))
        .collect();
    let mut dec = MudModeDecoder::default();
    let mut echo = Vec::with_capacity(64 << 10);
    let warm = read_mudlists(&mut dec, &wire, &mut echo);
    let mut steady = (0, 0);
    let n = allocations(|| steady = read_mudlists(&mut dec, &wire, &mut echo));
    assert_eq!(steady, warm);
    assert_eq!(steady.0, (0..40).map(|id| 1 + id % 20).sum::<usize>());
    assert_eq!(n, 0, "allocations while decoding 40 mudlist packets");
}

#[test]
fn a_stream_buffer_and_lpc_decoder_allocate_nothing_once_warm() {
    let wire: Vec<u8> = (0..8).flat_map(|id| mudlist_packet(id, 12)).collect();
    let mut stream = StreamBuffer::new(MudModeDecoder::default());
    let mut values = lpc::Decoder::default();
    let read = |stream: &mut StreamBuffer<MudModeDecoder>, values: &mut lpc::Decoder| {
        let mut elements = 0;
        for piece in wire.chunks(1000) {
            stream.feed(piece).expect("under the buffer limit");
            while let Some(body) = stream.next_frame().expect("valid frames") {
                let v = values.decode(body).expect("valid lpc");
                elements += v.as_array().map_or(0, |a| a.len());
            }
        }
        elements
    };
    let warm = read(&mut stream, &mut values);
    let mut steady = 0;
    let n = allocations(|| steady = read(&mut stream, &mut values));
    assert_eq!((warm, steady), (8 * 8, 8 * 8));
    assert_eq!(n, 0, "allocations while streaming 8 mudlist packets");
}

/// A model 2 screen of 24 label + input field pairs, every input field
/// modified and holding text with nulls in it.
fn typed_screen() -> ScreenImage {
    let mut cells = vec![0; 1920];
    let mut fields = Vec::new();
    for row in 0..24u16 {
        let label = row * 80;
        let input = label + 10;
        fields.push(FieldStart {
            address: label,
            attribute: FieldAttribute::new().protect(),
        });
        fields.push(FieldStart {
            address: input,
            attribute: FieldAttribute::from_byte(FieldAttribute::MDT),
        });
        let start = usize::from(input) + 1;
        cells[start..start + 20].fill(0xC1);
        cells[start + 5] = 0;
        cells[start + 6] = 0xFF;
    }
    ScreenImage {
        address_mode: AddressMode::TwelveFourteen,
        cursor: 11,
        cells,
        fields,
    }
}

#[test]
fn answering_a_key_into_warm_buffers_allocates_nothing() {
    let screen = typed_screen();
    let (mut body, mut wire) = (Vec::new(), Vec::new());
    let answer = |body: &mut Vec<u8>, wire: &mut Vec<u8>| {
        body.clear();
        wire.clear();
        encode_read_modified(Aid::Enter, &screen, body).expect("the screen encodes");
        tn3270e::encode_record(Header::data_3270(7), body, wire);
        let modified = body.len();
        body.clear();
        encode_read_buffer(Aid::Enter, &screen, body).expect("the screen encodes");
        (modified, body.len(), wire.len())
    };
    let warm = answer(&mut body, &mut wire);
    let mut steady = (0, 0, 0);
    let n = allocations(|| steady = answer(&mut body, &mut wire));
    assert_eq!(steady, warm);
    // AID + cursor, then per field SBA + address + 19 data bytes.
    assert_eq!(steady.0, 3 + 24 * (3 + 19));
    assert_eq!(n, 0, "allocations while answering Enter on a warm buffer");
}

#[test]
fn a_record_stream_allocates_nothing_once_warm() {
    let mut wire = Vec::new();
    for i in 0..64u8 {
        telnet::encode_record(&[0x7D, 0x40, i, 0x11, 0x40, 0x4B, 0xC1, 0xC2], &mut wire);
    }
    let mut stream = StreamBuffer::new(RecordDecoder::default());
    let read = |stream: &mut StreamBuffer<RecordDecoder>| {
        let mut records = 0;
        for piece in wire.chunks(37) {
            stream
                .receive(piece, |item| {
                    records += usize::from(matches!(item, RecordItem::Record(_)));
                    Ok::<_, ballast_codec::Error>(std::ops::ControlFlow::Continue(()))
                })
                .expect("valid records");
        }
        records
    };
    let warm = read(&mut stream);
    let mut steady = 0;
    let n = allocations(|| steady = read(&mut stream));
    assert_eq!((warm, steady), (64, 64));
    assert_eq!(n, 0, "allocations while splitting 64 records");
}
