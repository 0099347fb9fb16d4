//! The terminal's answers: an arbitrary screen is encoded as Read Modified,
//! Read Modified All and Read Buffer, framed for telnet, and must parse back
//! to the same AID, cursor and field contents.
#![no_main]

use std::borrow::Cow;

use ballast_codec::stream::Decode;
use ballast_codec::telnet::{self, RecordDecoder, RecordItem};
use ballast_codec::tn3270::{
    AddressMode, Aid, FieldAttribute, FieldStart, Inbound, ScreenImage, ScreenSize,
    encode_read_buffer, encode_read_modified, encode_read_modified_all,
};
use libfuzzer_sys::fuzz_target;

const SHAPES: [(ScreenSize, AddressMode); 4] = [
    (ScreenSize { rows: 2, cols: 5 }, AddressMode::TwelveFourteen),
    (ScreenSize::MODEL_2, AddressMode::TwelveFourteen),
    (
        ScreenSize {
            rows: 50,
            cols: 100,
        },
        AddressMode::TwelveFourteen,
    ),
    (ScreenSize::MODEL_2, AddressMode::Sixteen),
];

const AIDS: [Aid; 8] = [
    Aid::Enter,
    Aid::NoAid,
    Aid::Clear,
    Aid::SysReq,
    Aid::Pf(1),
    Aid::Pf(24),
    Aid::Pa(1),
    Aid::Pa(3),
];

/// Screen and AID from the input: shape, AID, cursor, fields (address and
/// attribute), then cells from address 0 (bytes under 0x40 are nulls).
fn screen(data: &[u8]) -> Option<(ScreenSize, ScreenImage, Aid)> {
    let [shape, aid, c0, c1, nfields, rest @ ..] = data else {
        return None;
    };
    let (size, address_mode) = SHAPES[usize::from(*shape) % SHAPES.len()];
    let n = size.buffer_len() as usize;
    let nfields = usize::from(*nfields % 16).min(rest.len() / 3);
    let (field_bytes, cell_bytes) = rest.split_at(nfields * 3);
    let mut fields: Vec<FieldStart> = field_bytes
        .chunks_exact(3)
        .map(|f| FieldStart {
            address: (usize::from(u16::from_be_bytes([f[0], f[1]])) % n) as u16,
            attribute: FieldAttribute::from_byte(f[2]),
        })
        .collect();
    fields.sort_by_key(|f| f.address);
    fields.dedup_by_key(|f| f.address);
    let mut cells = vec![0; n];
    for (cell, &b) in cells.iter_mut().zip(cell_bytes) {
        *cell = if b < 0x40 { 0 } else { b };
    }
    let cursor = (usize::from(u16::from_be_bytes([*c0, *c1])) % n) as u16;
    let image = ScreenImage {
        address_mode,
        cursor,
        cells,
        fields,
    };
    Some((size, image, AIDS[usize::from(*aid) % AIDS.len()]))
}

/// The modified fields computed cell by cell.
fn expected_fields(s: &ScreenImage) -> Vec<(u16, Vec<u8>)> {
    let n = s.cells.len();
    let first = s.fields.first().map_or(0, |f| usize::from(f.address));
    let mut out = Vec::new();
    for (i, f) in s.fields.iter().enumerate() {
        let at = usize::from(f.address);
        let next = s
            .fields
            .get(i + 1)
            .map_or(first + n, |g| usize::from(g.address));
        if f.attribute.is_modified() {
            let data = (at + 1..next)
                .map(|a| s.cells[a % n])
                .filter(|&b| b != 0)
                .collect();
            out.push((((at + 1) % n) as u16, data));
        }
    }
    out
}

/// Frames `rec` for telnet and cuts it off the wire again.
fn through_the_wire(rec: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    telnet::encode_record(rec, &mut wire);
    let (item, used) = RecordDecoder::default()
        .decode_frame(&wire)
        .expect("a framed record");
    assert_eq!(used, wire.len());
    match item {
        RecordItem::Record(Cow::Borrowed(r)) => r.to_vec(),
        RecordItem::Record(Cow::Owned(r)) => r,
        RecordItem::Telnet(ev) => panic!("record expected, got {ev:?}"),
    }
}

fn check_modified(size: ScreenSize, s: &ScreenImage, aid: Aid, rec: &[u8], short: bool) {
    let rec = through_the_wire(rec);
    let inbound = Inbound::parse(&rec, size, s.address_mode).expect("the answer parses");
    assert_eq!(inbound.aid, aid);
    if short {
        assert_eq!((rec.len(), inbound.cursor), (1, None));
        return;
    }
    assert_eq!(inbound.cursor, Some(s.cursor));
    if s.fields.is_empty() {
        let text: Vec<u8> = s.cells.iter().copied().filter(|&b| b != 0).collect();
        assert_eq!(
            inbound.unformatted_data(),
            (!text.is_empty()).then_some(&text[..])
        );
    } else {
        let got: Vec<(u16, Vec<u8>)> = inbound
            .fields()
            .map(|f| {
                f.map(|(a, d)| (a, d.to_vec()))
                    .expect("the encoder's fields parse")
            })
            .collect();
        assert_eq!(got, expected_fields(s));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((size, s, aid)) = screen(data) else {
        return;
    };
    let mut rec = Vec::new();
    encode_read_modified(aid, &s, &mut rec).expect("a valid screen encodes");
    check_modified(size, &s, aid, &rec, aid.is_short_read());
    rec.clear();
    encode_read_modified_all(aid, &s, &mut rec).expect("a valid screen encodes");
    check_modified(size, &s, aid, &rec, false);
    rec.clear();
    encode_read_buffer(aid, &s, &mut rec).expect("a valid screen encodes");
    assert_eq!(rec.len(), 3 + s.cells.len() + s.fields.len());
    assert_eq!(through_the_wire(&rec), rec);
});
