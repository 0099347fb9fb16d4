//! Properties: random valid record sequences keep the screen consistent;
//! what a key press sends reads back, on the host side, as the screen the
//! operator saw; arbitrary bytes never panic the session.

mod common;

use ballast_codec::stream::Decode;
use ballast_codec::telnet::{self, RecordDecoder, RecordItem};
use ballast_codec::tn3270::{
    Aid, Command, ExtendedAttribute, FieldAttribute, Inbound, RecordBuilder, ScreenChar,
    ScreenSize, Wcc,
};
use ballast_session::{Session, SessionConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Sba(u16, u16),
    Sf(u8),
    Sfe(u8, u8),
    Text(String),
    Ic,
    Pt,
    Ra(u16, u16, u8),
    Eua(u16, u16),
    Sa(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u16..24, 0u16..80).prop_map(|(r, c)| Op::Sba(r, c)),
        (0u8..64).prop_map(Op::Sf),
        (0u8..64, 0xF0u8..0xF8).prop_map(|(a, c)| Op::Sfe(a, c)),
        "[A-Z0-9 ]{0,100}".prop_map(Op::Text),
        Just(Op::Ic),
        Just(Op::Pt),
        (0u16..24, 0u16..80, 0x40u8..0xFF).prop_map(|(r, c, b)| Op::Ra(r, c, b)),
        (0u16..24, 0u16..80).prop_map(|(r, c)| Op::Eua(r, c)),
        (0xF0u8..0xF8).prop_map(Op::Sa),
    ]
}

fn record(erase: bool, ops: &[Op]) -> Vec<u8> {
    let command = if erase {
        Command::EraseWrite
    } else {
        Command::Write
    };
    let mut b = RecordBuilder::new(
        command,
        Wcc::from_flags(Wcc::KEYBOARD_RESTORE),
        ScreenSize::MODEL_2,
    );
    for o in ops {
        b = match o {
            Op::Sba(r, c) => b.sba(*r, *c),
            Op::Sf(a) => b.start_field(FieldAttribute::from_byte(*a)),
            Op::Sfe(a, c) => b.start_field_extended(
                FieldAttribute::from_byte(*a),
                &[ExtendedAttribute::Foreground(ballast_codec::tn3270::Color(
                    *c,
                ))],
            ),
            Op::Text(t) => b.text_str(t),
            Op::Ic => b.insert_cursor(),
            Op::Pt => b.program_tab(),
            Op::Ra(r, c, ch) => b.repeat_to(*r, *c, ScreenChar::Base(*ch)),
            Op::Eua(r, c) => b.erase_unprotected_to(*r, *c),
            Op::Sa(c) => b.set_attribute(ExtendedAttribute::Foreground(
                ballast_codec::tn3270::Color(*c),
            )),
        };
    }
    let mut wire = Vec::new();
    telnet::encode_record(&b.finish().expect("generated records are valid"), &mut wire);
    wire
}

fn connected() -> Session {
    let mut s = Session::new(SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    })
    .unwrap();
    common::negotiate_eor_binary(&mut s);
    s.consume_output(usize::MAX);
    assert!(s.is_connected());
    s
}

/// The field table agrees with a brute-force scan of attribute cells.
fn check_screen(s: &Session) {
    let screen = s.screen();
    let n = screen.len() as u16;
    assert!(screen.cursor() < n, "cursor inside the screen");
    let fas: Vec<u16> = (0..n).filter(|&a| screen.is_attribute(a)).collect();
    assert_eq!(screen.fields().len(), fas.len());
    let total: u32 = screen.fields().iter().map(|f| u32::from(f.len) + 1).sum();
    if !fas.is_empty() {
        assert_eq!(total, u32::from(n), "fields tile the screen");
    }
    for a in 0..n {
        let expected = fas
            .iter()
            .rev()
            .find(|&&fa| fa <= a)
            .or(fas.last())
            .copied();
        let got = screen.field_at(a).map(|f| f.field().attribute_address);
        assert_eq!(got, expected, "cell {a} belongs to the field before it");
    }
}

/// The one record in the session's output, unframed.
fn sent_record(s: &Session) -> Vec<u8> {
    let out = s.output();
    let (item, used) = RecordDecoder::default()
        .decode_frame(out)
        .expect("the session sent one whole record");
    assert_eq!(used, out.len(), "exactly one record was sent");
    match item {
        RecordItem::Record(r) => r.into_owned(),
        RecordItem::Telnet(ev) => panic!("a telnet event instead of a record: {ev:?}"),
    }
}

/// The modified input as the host should read it: (first data cell,
/// non-null bytes) per field with the MDT set.
fn modified_fields(s: &Session) -> Vec<(u16, Vec<u8>)> {
    let screen = s.screen();
    let n = screen.len() as u32;
    screen
        .fields()
        .iter()
        .filter(|f| f.attribute.is_modified())
        .map(|f| {
            let data = (0..u32::from(f.len))
                .map(|k| screen.byte_at(((u32::from(f.start) + k) % n) as u16))
                .filter(|&b| b != 0)
                .collect();
            (f.start, data)
        })
        .collect()
}

/// The non-null cells of an unformatted screen, `None` when there are
/// none.
fn unformatted_text(s: &Session) -> Option<Vec<u8>> {
    let screen = s.screen();
    let data: Vec<u8> = (0..screen.len() as u16)
        .map(|a| screen.byte_at(a))
        .filter(|&b| b != 0)
        .collect();
    (!data.is_empty()).then_some(data)
}

fn aid() -> impl Strategy<Value = Aid> {
    prop_oneof![Just(Aid::Enter), (1u8..=24).prop_map(Aid::Pf)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_key_press_reads_back_as_the_aid_cursor_and_modified_fields_on_screen(
        records in proptest::collection::vec((any::<bool>(), proptest::collection::vec(op(), 0..30)), 1..4),
        typing in proptest::collection::vec((0u8..4, "[A-Z0-9]{0,12}"), 0..6),
        key in aid(),
    ) {
        let mut s = connected();
        for (erase, ops) in &records {
            s.receive(&record(*erase, ops)).unwrap();
        }
        for (tabs, text) in &typing {
            for _ in 0..*tabs {
                s.screen_mut().tab();
            }
            // Typing into a protected field is refused; the screen stays.
            let _ = s.screen_mut().type_text(text);
        }
        s.consume_output(usize::MAX);
        let (fields, unformatted) = (modified_fields(&s), unformatted_text(&s));
        let (cursor, mode) = (s.screen().cursor(), s.screen().address_mode());
        s.press(key).unwrap();
        let rec = sent_record(&s);
        let inbound = Inbound::parse(&rec, ScreenSize::MODEL_2, mode).unwrap();
        prop_assert_eq!(inbound.aid, key);
        prop_assert_eq!(inbound.cursor, Some(cursor));
        if s.screen().is_formatted() {
            let got: Vec<(u16, Vec<u8>)> = inbound
                .fields()
                .map(|f| f.map(|(a, d)| (a, d.to_vec())))
                .collect::<Result<_, _>>()
                .unwrap();
            prop_assert_eq!(got, fields);
        } else {
            prop_assert_eq!(inbound.unformatted_data().map(<[u8]>::to_vec), unformatted);
        }
    }

    #[test]
    fn random_valid_records_keep_the_screen_consistent(
        records in proptest::collection::vec((any::<bool>(), proptest::collection::vec(op(), 0..30)), 1..5)
    ) {
        let mut s = connected();
        for (erase, ops) in &records {
            s.receive(&record(*erase, ops)).unwrap();
            check_screen(&s);
        }
        // Typing and keys keep it consistent too.
        s.screen_mut().tab();
        let _ = s.screen_mut().type_text("12345");
        check_screen(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_connected_session(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
        let mut s = connected();
        for c in &chunks {
            if s.receive(c).is_err() {
                prop_assert!(s.is_closed());
                break;
            }
        }
        prop_assert!(s.screen().cursor() < s.screen().len() as u16);
    }

    #[test]
    fn arbitrary_records_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut s = connected();
        let mut wire = Vec::new();
        telnet::encode_record(&body, &mut wire);
        let _ = s.receive(&wire);
        prop_assert!(s.screen().cursor() < s.screen().len() as u16);
    }
}
