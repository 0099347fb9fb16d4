use super::*;
use crate::tn3270::builder::RecordBuilder;
use crate::tn3270::codes::{Aid, Color, Display, Highlight};
use crate::tn3270::ebcdic::ScreenChar;
use crate::tn3270::inbound::{
    FieldStart, Inbound, ScreenImage, encode_read_modified, encode_short_read,
};

fn orders(record: &[u8]) -> Vec<Order<'_>> {
    match OutboundParser::default().parse(record).unwrap() {
        Outbound::Write { orders, .. } => orders.collect::<Result<_>>().unwrap(),
        other => panic!("not a write: {other:?}"),
    }
}

#[test]
fn erase_write_splits_orders_and_borrows_text() {
    let rec = [0xF5, 0xC3, 0x11, 0x4E, 0xD7, 0x1D, 0xE8, 0xC8, 0xC9, 0x13];
    let Outbound::Write { command, wcc, .. } = OutboundParser::default().parse(&rec).unwrap()
    else {
        panic!("write expected")
    };
    assert_eq!((command, wcc), (Command::EraseWrite, Wcc(0xC3)));
    let os = orders(&rec);
    assert_eq!(os.len(), 4);
    assert_eq!(os[0], Order::SetBufferAddress(11 * 80 + 39));
    assert_eq!(
        os[1],
        Order::StartField(
            FieldAttribute::new()
                .protect()
                .display(Display::Intensified)
        )
    );
    let Order::Text(t) = os[2] else {
        panic!("text expected")
    };
    assert_eq!(t, [0xC8, 0xC9]);
    assert!(
        std::ptr::eq(t.as_ptr(), rec[7..].as_ptr()),
        "text must borrow the record"
    );
    assert_eq!(os[3], Order::InsertCursor);
}

#[test]
fn ccw_write_code_point_parses_like_sna() {
    assert_eq!(orders(&[0x05, 0xC3, 0xC1]), orders(&[0xF5, 0xC3, 0xC1]));
}

#[test]
fn every_order_kind_parses() {
    let rec = [
        0xF1, 0xC3, 0x29, 0x02, 0xC0, 0x60, 0x42, 0xF2, 0x28, 0x41, 0xF1, 0x2C, 0x01, 0x45, 0xF4,
        0x05, 0x3C, 0x40, 0x50, 0x08, 0xAD, 0x12, 0x5D, 0x7F, 0x08, 0xC5,
    ];
    let os = orders(&rec);
    let Order::StartFieldExtended(a) = os[0] else {
        panic!("sfe")
    };
    assert_eq!(a.field(), Some(FieldAttribute::new().protect()));
    assert_eq!(
        a.iter().nth(1),
        Some(ExtendedAttribute::Foreground(Color::RED))
    );
    assert_eq!(
        os[1],
        Order::SetAttribute(ExtendedAttribute::Highlight(Highlight::BLINK))
    );
    assert!(matches!(os[2], Order::ModifyField(m) if m.len() == 1));
    assert_eq!(os[3], Order::ProgramTab);
    assert_eq!(
        os[4],
        Order::RepeatToAddress {
            address: 16,
            ch: ScreenChar::GraphicEscape(0xAD)
        }
    );
    assert_eq!(os[5], Order::EraseUnprotectedToAddress(29 * 64 + 63));
    assert_eq!(os[6], Order::GraphicEscape(0xC5));
}

#[test]
fn unknown_order_reports_offset_and_byte() {
    let rec = [0xF1, 0xC3, 0xC1, 0x02];
    let Outbound::Write { mut orders, .. } = OutboundParser::default().parse(&rec).unwrap() else {
        panic!()
    };
    assert!(orders.next().unwrap().is_ok());
    assert_eq!(
        orders.next().unwrap(),
        Err(Error::UnknownOrder {
            offset: 3,
            byte: 0x02
        })
    );
    assert!(orders.next().is_none(), "iteration stops after an error");
}

#[test]
fn address_outside_the_screen_is_rejected() {
    // 14-bit address 1920 is one past a 24x80 screen.
    let rec = [0xF1, 0xC3, 0x11, 0x07, 0x80];
    let Outbound::Write { mut orders, .. } = OutboundParser::default().parse(&rec).unwrap() else {
        panic!()
    };
    assert_eq!(
        orders.next().unwrap(),
        Err(Error::AddressOutOfScreen {
            offset: 3,
            address: 1920,
            buffer_len: 1920
        })
    );
}

#[test]
fn ewa_uses_the_alternate_screen() {
    let parser = OutboundParser {
        alternate: ScreenSize::MODEL_4,
        ..OutboundParser::default()
    };
    let rec = [0x7E, 0xC3, 0x11, 0x07, 0x80];
    let Outbound::Write { orders, .. } = parser.parse(&rec).unwrap() else {
        panic!()
    };
    assert_eq!(
        orders.collect::<Result<Vec<_>>>().unwrap(),
        [Order::SetBufferAddress(1920)]
    );
}

#[test]
fn truncated_order_and_unknown_command_are_errors() {
    let Outbound::Write { mut orders, .. } = OutboundParser::default()
        .parse(&[0xF1, 0xC3, 0x11, 0x40])
        .unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        orders.next(),
        Some(Err(Error::Invalid { offset: 4, .. }))
    ));
    assert_eq!(
        OutboundParser::default().parse(&[0x42]).unwrap_err(),
        Error::UnknownCommand {
            offset: 0,
            byte: 0x42
        }
    );
}

#[test]
fn reads_and_eau_are_recognised() {
    let p = OutboundParser::default();
    assert!(matches!(
        p.parse(&[0xF6]).unwrap(),
        Outbound::Read(Command::ReadModified)
    ));
    assert!(matches!(
        p.parse(&[0x6F]).unwrap(),
        Outbound::EraseAllUnprotected
    ));
}

#[test]
fn builder_output_parses_back_to_the_same_orders() {
    let rec = RecordBuilder::new(Command::EraseWrite, Wcc(0xC3), ScreenSize::MODEL_2)
        .sba(11, 39)
        .start_field_extended(
            FieldAttribute::new(),
            &[ExtendedAttribute::Foreground(Color::GREEN)],
        )
        .text_str("hello")
        .repeat_to(12, 0, ScreenChar::Base(0x40))
        .insert_cursor()
        .finish()
        .unwrap();
    let os = orders(&rec);
    assert_eq!(os[0], Order::SetBufferAddress(919));
    assert_eq!(os[2], Order::Text(&[0x88, 0x85, 0x93, 0x93, 0x96]));
    assert_eq!(
        os[3],
        Order::RepeatToAddress {
            address: 960,
            ch: ScreenChar::Base(0x40)
        }
    );
    assert_eq!(os[4], Order::InsertCursor);
}

#[test]
fn builder_rejects_address_off_screen_and_order_bytes_in_text() {
    let err = RecordBuilder::new(Command::Write, Wcc(0xC3), ScreenSize::MODEL_2)
        .sba(24, 0)
        .finish();
    assert!(matches!(
        err,
        Err(Error::AddressOutOfScreen { address: 1920, .. })
    ));
    let err = RecordBuilder::new(Command::Write, Wcc(0xC3), ScreenSize::MODEL_2)
        .text(&[0xC1, 0x11])
        .finish();
    assert!(matches!(err, Err(Error::Invalid { byte: 0x11, .. })));
}

/// A model 2 screen with one modified input field at (2, 10) holding
/// `data`, and the cursor at (2, 16).
fn one_field_screen(data: &[u8]) -> ScreenImage {
    let size = ScreenSize::MODEL_2;
    let attribute = size.address(2, 10).unwrap();
    let mut cells = vec![0; size.buffer_len() as usize];
    let start = usize::from(attribute) + 1;
    cells[start..start + data.len()].copy_from_slice(data);
    ScreenImage {
        address_mode: AddressMode::default(),
        cursor: size.address(2, 16).unwrap(),
        cells,
        fields: vec![FieldStart {
            address: attribute,
            attribute: crate::tn3270::FieldAttribute::from_byte(crate::tn3270::FieldAttribute::MDT),
        }],
    }
}

#[test]
fn enter_with_one_modified_field_matches_the_known_wire_bytes() {
    let screen = ScreenSize::MODEL_2;
    let hello = crate::tn3270::CodePage::Cp037.encode_str("hello");
    let mut record = Vec::new();
    encode_read_modified(Aid::Enter, &one_field_screen(&hello), &mut record).unwrap();
    let mut wire = Vec::new();
    crate::telnet::encode_record(&record, &mut wire);
    assert_eq!(
        wire,
        [
            0x7d, 0xc2, 0xf0, 0x11, 0xc2, 0x6b, 0x88, 0x85, 0x93, 0x93, 0x96, 0xff, 0xef
        ]
    );

    let inbound = Inbound::parse(&record, screen, AddressMode::default()).unwrap();
    assert_eq!(inbound.aid, Aid::Enter);
    assert_eq!(inbound.cursor, Some(176));
    let fields: Vec<_> = inbound.fields().collect::<Result<_>>().unwrap();
    assert_eq!(fields, [(171, &hello[..])]);
}

#[test]
fn clear_and_pa_keys_are_short_reads() {
    let screen = one_field_screen(b"\xC1");
    for aid in [Aid::Clear, Aid::Pa(1), Aid::Pa(2), Aid::SysReq] {
        let mut out = Vec::new();
        if aid == Aid::SysReq {
            encode_short_read(aid, &mut out).unwrap();
        } else {
            encode_read_modified(aid, &screen, &mut out).unwrap();
        }
        assert_eq!(out, [aid.byte().unwrap()]);
        let inbound = Inbound::parse(&out, ScreenSize::MODEL_2, AddressMode::default()).unwrap();
        assert_eq!(
            (inbound.aid, inbound.cursor, inbound.fields().count()),
            (aid, None, 0)
        );
    }
}

#[test]
fn text_scan_stops_at_orders_after_long_runs_and_format_controls() {
    let mut rec = vec![0xF1, 0xC3];
    rec.extend_from_slice(&[0xC1; 21]);
    rec.push(0x00);
    rec.extend_from_slice(&[0xC2; 9]);
    rec.push(0x13);
    let os = orders(&rec);
    assert_eq!(os.len(), 2);
    assert!(matches!(os[0], Order::Text(t) if t.len() == 31));
}

proptest::proptest! {
    #[test]
    fn word_at_a_time_text_scan_matches_a_byte_loop(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        graphic_bias in 0u8..4,
    ) {
        // Bias towards graphics so long runs and format controls both occur.
        let data: Vec<u8> = data.iter().map(|&b| if b % 4 < graphic_bias { b | 0x40 } else { b }).collect();
        let naive = data.iter().position(|&b| !is_text(b)).unwrap_or(data.len());
        proptest::prop_assert_eq!(text_len(&data), naive);
    }
}
