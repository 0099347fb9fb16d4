//! What the terminal's encoders write, the host's parser reads back: the
//! same AID, cursor and field contents, for any screen; and the record
//! framing of both directions decodes to the record it framed, however the
//! bytes are split.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use ballast_codec::stream::StreamBuffer;
use ballast_codec::telnet::{self, RecordDecoder, RecordItem};
use ballast_codec::tn3270::tn3270e::{self, DataType, Header};
use ballast_codec::tn3270::{
    AddressMode, Aid, FieldAttribute, FieldStart, Inbound, ScreenImage, ScreenSize,
    encode_read_buffer, encode_read_modified, encode_read_modified_all,
};
use proptest::prelude::*;

/// Screens of every shape the encoders treat differently: a tiny one
/// (fields wrap often), model 2, one over 4096 cells (14-bit addresses) and
/// model 2 with 16-bit addresses.
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

/// A screen cell: a null or a displayable EBCDIC byte (0xFF included;
/// bytes under 0x40 are orders and never stored as data).
fn cell() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), 0x40u8..=0xFF]
}

fn aid() -> impl Strategy<Value = Aid> {
    prop_oneof![
        Just(Aid::Enter),
        Just(Aid::NoAid),
        Just(Aid::Clear),
        Just(Aid::SysReq),
        (1u8..=24).prop_map(Aid::Pf),
        (1u8..=3).prop_map(Aid::Pa),
    ]
}

/// A screen of one of [`SHAPES`], its cells written sparsely, its fields
/// at distinct addresses in ascending order.
fn screen() -> impl Strategy<Value = (ScreenSize, ScreenImage)> {
    (0..SHAPES.len()).prop_flat_map(|shape| {
        let (size, mode) = SHAPES[shape];
        let n = size.buffer_len() as usize;
        let writes =
            proptest::collection::vec((0..n, proptest::collection::vec(cell(), 1..12)), 0..12);
        let fields = proptest::collection::btree_map(0..n as u16, 0u8..64, 0..8);
        (Just(size), Just(mode), writes, fields, 0..n as u16).prop_map(
            |(size, mode, writes, fields, cursor)| {
                (size, image(size, mode, &writes, &fields, cursor))
            },
        )
    })
}

fn image(
    size: ScreenSize,
    address_mode: AddressMode,
    writes: &[(usize, Vec<u8>)],
    fields: &BTreeMap<u16, u8>,
    cursor: u16,
) -> ScreenImage {
    let n = size.buffer_len() as usize;
    let mut cells = vec![0; n];
    for (at, bytes) in writes {
        for (k, &b) in bytes.iter().enumerate() {
            cells[(at + k) % n] = b;
        }
    }
    let fields = fields
        .iter()
        .map(|(&address, &bits)| FieldStart {
            address,
            attribute: FieldAttribute::from_byte(bits),
        })
        .collect();
    ScreenImage {
        address_mode,
        cursor,
        cells,
        fields,
    }
}

/// The modified fields as a 3270 sends them, computed cell by cell:
/// (first data address, data without nulls).
fn expected_fields(s: &ScreenImage) -> Vec<(u16, Vec<u8>)> {
    let n = s.cells.len();
    let mut out = Vec::new();
    for (i, f) in s.fields.iter().enumerate() {
        let at = usize::from(f.address);
        let next = s
            .fields
            .get(i + 1)
            .map_or(usize::from(s.fields[0].address) + n, |g| {
                usize::from(g.address)
            });
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

fn parsed_fields(inbound: &Inbound<'_>) -> Vec<(u16, Vec<u8>)> {
    inbound
        .fields()
        .map(|f| f.map(|(a, d)| (a, d.to_vec())))
        .collect::<Result<_, _>>()
        .expect("the encoder's fields parse")
}

/// Checks a Read Modified (All) answer parsed back.
fn check_read_modified(
    size: ScreenSize,
    s: &ScreenImage,
    aid: Aid,
    rec: &[u8],
    short: bool,
) -> Result<(), TestCaseError> {
    let inbound = Inbound::parse(rec, size, s.address_mode).expect("the answer parses");
    prop_assert_eq!(inbound.aid, aid);
    if short {
        prop_assert_eq!(rec.len(), 1);
        prop_assert_eq!(inbound.cursor, None);
        return Ok(());
    }
    prop_assert_eq!(inbound.cursor, Some(s.cursor));
    if s.fields.is_empty() {
        let text: Vec<u8> = s.cells.iter().copied().filter(|&b| b != 0).collect();
        prop_assert_eq!(
            inbound.unformatted_data(),
            (!text.is_empty()).then_some(&text[..])
        );
    } else {
        prop_assert_eq!(inbound.unformatted_data(), None);
        prop_assert_eq!(parsed_fields(&inbound), expected_fields(s));
    }
    Ok(())
}

/// Reads a Read Buffer answer's body back into cells and field attributes.
fn read_buffer_back(body: &[u8]) -> (Vec<u8>, Vec<(u16, u8)>) {
    let (mut cells, mut fields) = (Vec::new(), Vec::new());
    let mut rest = body;
    while let [first, tail @ ..] = rest {
        if *first == 0x1D {
            let [attr, tail @ ..] = tail else {
                panic!("sf without attribute")
            };
            fields.push((cells.len() as u16, *attr));
            cells.push(0);
            rest = tail;
        } else {
            cells.push(*first);
            rest = tail;
        }
    }
    (cells, fields)
}

fn framed_records(wire: &[u8], split: usize) -> Vec<Vec<u8>> {
    let mut stream = StreamBuffer::new(RecordDecoder::default());
    let mut got = Vec::new();
    let split = split.min(wire.len());
    for chunk in [&wire[..split], &wire[split..]] {
        stream
            .receive(chunk, |item| {
                if let RecordItem::Record(r) = item {
                    got.push(r.into_owned());
                }
                Ok::<_, ballast_codec::Error>(ControlFlow::Continue(()))
            })
            .expect("framed records decode");
    }
    assert_eq!(stream.buffered(), 0, "nothing is left over");
    got
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn read_modified_parses_back_to_the_same_aid_cursor_and_fields((size, s) in screen(), aid in aid()) {
        let mut rec = Vec::new();
        encode_read_modified(aid, &s, &mut rec).unwrap();
        check_read_modified(size, &s, aid, &rec, aid.is_short_read())?;
    }

    #[test]
    fn read_modified_all_sends_the_fields_for_every_aid((size, s) in screen(), aid in aid()) {
        let mut rec = Vec::new();
        encode_read_modified_all(aid, &s, &mut rec).unwrap();
        check_read_modified(size, &s, aid, &rec, false)?;
    }

    #[test]
    fn read_buffer_carries_every_cell_and_attribute((size, s) in screen(), aid in aid()) {
        let mut rec = Vec::new();
        encode_read_buffer(aid, &s, &mut rec).unwrap();
        let inbound = Inbound::parse(&rec, size, s.address_mode).unwrap();
        prop_assert_eq!((inbound.aid, inbound.cursor), (aid, Some(s.cursor)));
        let (cells, fields) = read_buffer_back(&rec[3..]);
        let mut want_cells = s.cells.clone();
        for f in &s.fields {
            want_cells[usize::from(f.address)] = 0;
        }
        prop_assert_eq!(cells, want_cells);
        let want: Vec<(u16, u8)> = s.fields.iter().map(|f| (f.address, f.attribute.to_byte())).collect();
        prop_assert_eq!(fields, want);
    }

    #[test]
    fn tn3270_framing_round_trips(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..6),
        split: usize,
    ) {
        let mut wire = Vec::new();
        for r in &records {
            telnet::encode_record(r, &mut wire);
        }
        prop_assert_eq!(framed_records(&wire, split), records);
    }

    #[test]
    fn tn3270e_framing_round_trips(
        records in proptest::collection::vec((0u8..9, any::<u8>(), any::<u8>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..6),
        split: usize,
    ) {
        let mut wire = Vec::new();
        let mut want = Vec::new();
        for (dt, req, resp, seq, data) in &records {
            let header = Header {
                data_type: DataType::from_byte(*dt).unwrap(),
                request_flag: *req,
                response_flag: *resp,
                seq_number: *seq,
            };
            tn3270e::encode_record(header, data, &mut wire);
            want.push((header, data.clone()));
        }
        let got: Vec<(Header, Vec<u8>)> = framed_records(&wire, split)
            .iter()
            .map(|r| Header::parse(r).map(|(h, d)| (h, d.to_vec())).unwrap())
            .collect();
        prop_assert_eq!(got, want);
    }
}
