//! The inbound encoders against hand-computed wire bytes, and parsed back.

use super::*;
use crate::telnet;
use crate::tn3270::codes::{Command, FieldAttribute};

const MDT: FieldAttribute = FieldAttribute::from_byte(FieldAttribute::MDT);
const PROTECTED: FieldAttribute = FieldAttribute::new().protect();

fn screen(len: usize, cursor: u16, fields: &[(u16, FieldAttribute)]) -> ScreenImage {
    ScreenImage {
        address_mode: AddressMode::TwelveFourteen,
        cursor,
        cells: vec![0; len],
        fields: fields
            .iter()
            .map(|&(address, attribute)| FieldStart { address, attribute })
            .collect(),
    }
}

fn put(s: &mut ScreenImage, at: usize, bytes: &[u8]) {
    s.cells[at..at + bytes.len()].copy_from_slice(bytes);
}

fn read_modified(aid: Aid, s: &ScreenImage) -> Vec<u8> {
    let mut out = Vec::new();
    encode_read_modified(aid, s, &mut out).unwrap();
    out
}

fn parsed_fields(rec: &[u8], size: ScreenSize, mode: AddressMode) -> Vec<(u16, Vec<u8>)> {
    let inbound = Inbound::parse(rec, size, mode).unwrap();
    inbound
        .fields()
        .map(|f| f.map(|(a, d)| (a, d.to_vec())))
        .collect::<Result<_>>()
        .unwrap()
}

#[test]
fn read_modified_sends_modified_fields_with_nulls_removed() {
    let mut s = screen(1920, 16, &[(0, PROTECTED), (10, MDT)]);
    put(&mut s, 1, &[0xC1; 5]); // protected, unmodified: not sent
    put(&mut s, 11, &[0x88, 0x85, 0x93, 0x93, 0x96]); // "hello"
    put(&mut s, 30, &[0xC1]);
    let rec = read_modified(Aid::Enter, &s);
    assert_eq!(
        rec,
        [
            0x7D, 0x40, 0x50, 0x11, 0x40, 0x4B, 0x88, 0x85, 0x93, 0x93, 0x96, 0xC1
        ]
    );
    let inbound = Inbound::parse(&rec, ScreenSize::MODEL_2, AddressMode::default()).unwrap();
    assert_eq!((inbound.aid, inbound.cursor), (Aid::Enter, Some(16)));
    assert_eq!(
        parsed_fields(&rec, ScreenSize::MODEL_2, AddressMode::default()),
        [(11, vec![0x88, 0x85, 0x93, 0x93, 0x96, 0xC1])]
    );
}

#[test]
fn the_last_field_wraps_round_to_the_first_attribute() {
    // Field at 1915 runs over cells 1916..=1919 and 0..=4.
    let mut s = screen(1920, 0, &[(5, PROTECTED), (1915, MDT)]);
    put(&mut s, 1917, &[0xC1]);
    put(&mut s, 2, &[0xC2]);
    put(&mut s, 7, &[0xC3]); // in the protected field: not sent
    let rec = read_modified(Aid::Pf(1), &s);
    assert_eq!(rec, [0xF1, 0x40, 0x40, 0x11, 0x5D, 0x7C, 0xC1, 0xC2]);
}

#[test]
fn a_field_at_the_last_cell_starts_at_address_zero() {
    let mut s = screen(1920, 0, &[(1919, MDT)]);
    put(&mut s, 0, &[0xC1]);
    put(&mut s, 1918, &[0xC9]);
    let rec = read_modified(Aid::Enter, &s);
    assert_eq!(rec, [0x7D, 0x40, 0x40, 0x11, 0x40, 0x40, 0xC1, 0xC9]);
}

#[test]
fn empty_modified_fields_still_send_their_address() {
    // Adjacent attributes: field 10 has no cells; field 20 only nulls.
    let s = screen(
        1920,
        0,
        &[(10, MDT), (11, PROTECTED), (20, MDT), (30, PROTECTED)],
    );
    let rec = read_modified(Aid::Enter, &s);
    assert_eq!(rec, [0x7D, 0x40, 0x40, 0x11, 0x40, 0x4B, 0x11, 0x40, 0xD5]);
    assert_eq!(
        parsed_fields(&rec, ScreenSize::MODEL_2, AddressMode::default()),
        [(11, vec![]), (21, vec![])]
    );
}

#[test]
fn fourteen_bit_addresses_above_4095_cells() {
    let size = ScreenSize {
        rows: 50,
        cols: 100,
    };
    let mut s = screen(5000, 4501, &[(0, PROTECTED), (4500, MDT)]);
    put(&mut s, 4501, &[0xC1]);
    let rec = read_modified(Aid::Enter, &s);
    // 4501 = 0x1195: binary, and its first byte happens to equal SBA.
    assert_eq!(rec, [0x7D, 0x11, 0x95, 0x11, 0x11, 0x95, 0xC1]);
    assert_eq!(
        parsed_fields(&rec, size, AddressMode::TwelveFourteen),
        [(4501, vec![0xC1])]
    );
}

#[test]
fn sixteen_bit_mode_writes_binary_addresses() {
    let mut s = screen(1920, 5, &[(10, MDT)]);
    s.address_mode = AddressMode::Sixteen;
    put(&mut s, 11, &[0xC1]);
    let rec = read_modified(Aid::Enter, &s);
    assert_eq!(rec, [0x7D, 0x00, 0x05, 0x11, 0x00, 0x0B, 0xC1]);
}

#[test]
fn an_ff_data_byte_is_written_once_and_doubled_by_the_framing() {
    let mut s = screen(1920, 0, &[(10, MDT)]);
    put(&mut s, 11, &[0xFF, 0xC1]);
    let rec = read_modified(Aid::Enter, &s);
    assert_eq!(rec, [0x7D, 0x40, 0x40, 0x11, 0x40, 0x4B, 0xFF, 0xC1]);
    let mut wire = Vec::new();
    telnet::encode_record(&rec, &mut wire);
    assert_eq!(
        wire,
        [
            0x7D, 0x40, 0x40, 0x11, 0x40, 0x4B, 0xFF, 0xFF, 0xC1, 0xFF, 0xEF
        ]
    );
}

#[test]
fn pa_and_clear_are_short_reads_but_read_modified_all_sends_the_fields() {
    let mut s = screen(1920, 16, &[(10, MDT)]);
    put(&mut s, 11, &[0xC1]);
    for (aid, byte) in [(Aid::Pa(1), 0x6C), (Aid::Pa(2), 0x6E), (Aid::Clear, 0x6D)] {
        assert_eq!(read_modified(aid, &s), [byte]);
        let short = [byte];
        let inbound = Inbound::parse(&short, ScreenSize::MODEL_2, AddressMode::default());
        assert_eq!(inbound.unwrap().cursor, None);
        let mut all = Vec::new();
        encode_read_modified_all(aid, &s, &mut all).unwrap();
        assert_eq!(all, [byte, 0x40, 0x50, 0x11, 0x40, 0x4B, 0xC1]);
    }
    let mut enter_all = Vec::new();
    encode_read_modified_all(Aid::Enter, &s, &mut enter_all).unwrap();
    assert_eq!(enter_all, read_modified(Aid::Enter, &s));
}

#[test]
fn sysreq_is_the_aid_alone() {
    let mut out = Vec::new();
    encode_short_read(Aid::SysReq, &mut out).unwrap();
    assert_eq!(out, [0xF0]);
}

#[test]
fn an_unformatted_screen_sends_its_text_without_sba() {
    let mut s = screen(1920, 101, &[]);
    put(&mut s, 0, &[0xC1, 0xC2]);
    put(&mut s, 100, &[0xC3]);
    let rec = read_modified(Aid::Enter, &s);
    assert_eq!(rec, [0x7D, 0xC1, 0xE5, 0xC1, 0xC2, 0xC3]);
    let inbound = Inbound::parse(&rec, ScreenSize::MODEL_2, AddressMode::default()).unwrap();
    assert_eq!(inbound.cursor, Some(101));
    assert_eq!(inbound.unformatted_data(), Some(&[0xC1, 0xC2, 0xC3][..]));

    let blank = screen(1920, 0, &[]);
    assert_eq!(read_modified(Aid::Enter, &blank), [0x7D, 0x40, 0x40]);
}

#[test]
fn a_formatted_answer_has_no_unformatted_data() {
    let mut s = screen(1920, 0, &[(10, MDT)]);
    put(&mut s, 11, &[0xC1]);
    let rec = read_modified(Aid::Enter, &s);
    let inbound = Inbound::parse(&rec, ScreenSize::MODEL_2, AddressMode::default()).unwrap();
    assert_eq!(inbound.unformatted_data(), None);
}

#[test]
fn read_buffer_sends_every_cell_and_sf_for_attributes() {
    let mut s = screen(10, 7, &[(0, PROTECTED), (4, MDT)]);
    put(&mut s, 1, &[0xC1, 0xC2]);
    put(&mut s, 5, &[0xC5, 0xC6, 0xFF, 0, 0xC9]);
    let mut out = Vec::new();
    encode_read_buffer(Aid::NoAid, &s, &mut out).unwrap();
    assert_eq!(
        out,
        [
            0x60, 0x40, 0xC7, 0x1D, 0x60, 0xC1, 0xC2, 0x00, 0x1D, 0xC1, 0xC5, 0xC6, 0xFF, 0x00,
            0xC9
        ]
    );
    let mut unformatted = Vec::new();
    encode_read_buffer(Aid::Enter, &screen(3, 0, &[]), &mut unformatted).unwrap();
    assert_eq!(unformatted, [0x7D, 0x40, 0x40, 0, 0, 0]);
}

#[test]
fn read_reply_picks_the_encoder_for_the_command() {
    let mut s = screen(10, 7, &[(0, PROTECTED), (4, MDT)]);
    put(&mut s, 5, &[0xC5]);
    type Encoder = fn(Aid, &ScreenImage, &mut Vec<u8>) -> Result<()>;
    let cases: [(Command, Encoder); 3] = [
        (Command::ReadBuffer, encode_read_buffer),
        (Command::ReadModifiedAll, encode_read_modified_all),
        (Command::ReadModified, encode_read_modified),
    ];
    for (command, encoder) in cases {
        let (mut got, mut want) = (Vec::new(), Vec::new());
        encode_read_reply(command, Aid::Pa(1), &s, &mut got).unwrap();
        encoder(Aid::Pa(1), &s, &mut want).unwrap();
        assert_eq!(got, want, "{command:?}");
    }
}

#[test]
fn bad_aids_and_fields_are_errors_not_panics() {
    let s = screen(10, 0, &[(4, MDT)]);
    let mut out = Vec::new();
    assert!(matches!(
        encode_read_modified(Aid::Pf(30), &s, &mut out),
        Err(Error::Config { field: "aid", .. })
    ));
    let outside = screen(10, 0, &[(3, MDT), (10, MDT)]);
    for result in [
        encode_read_modified(Aid::Enter, &outside, &mut out),
        encode_read_buffer(Aid::Enter, &outside, &mut out),
        encode_read_buffer(Aid::Enter, &screen(10, 0, &[(5, MDT), (3, MDT)]), &mut out),
    ] {
        assert!(matches!(result, Err(Error::Config { .. })), "{result:?}");
    }
}

#[test]
fn encoders_write_into_bytes_mut_too() {
    let mut s = screen(1920, 16, &[(10, MDT)]);
    put(&mut s, 11, &[0xC1]);
    let mut out = bytes::BytesMut::new();
    encode_read_modified(Aid::Enter, &s, &mut out).unwrap();
    assert_eq!(&out[..], read_modified(Aid::Enter, &s));
}
