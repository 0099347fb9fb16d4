use std::borrow::Cow;

use super::*;

fn events(input: &[u8]) -> Vec<TelnetEvent<'_>> {
    TelnetParser::default()
        .events(input)
        .collect::<Result<_>>()
        .unwrap()
}

#[test]
fn splits_data_negotiation_and_commands() {
    let input = b"hi\xff\xfd\x18there\xff\xf1";
    assert_eq!(
        events(input),
        [
            TelnetEvent::Data(b"hi"),
            TelnetEvent::Negotiate {
                verb: Verb::Do,
                option: option::TERMINAL_TYPE
            },
            TelnetEvent::Data(b"there"),
            TelnetEvent::Command(Command::Nop),
        ]
    );
}

#[test]
fn doubled_iac_in_data_is_one_ff_byte_borrowed() {
    let evs = events(b"a\xff\xffb");
    assert_eq!(evs, [TelnetEvent::Data(b"a"), TelnetEvent::Data(b"\xffb")]);
}

#[test]
fn subnegotiation_without_escape_is_borrowed() {
    let input = b"\xff\xfa\x18\x01\xff\xf0";
    let (ev, used) = TelnetParser::default().next_event(input).unwrap();
    assert_eq!(used, 6);
    match ev {
        TelnetEvent::Subnegotiation {
            option: 24,
            body: Cow::Borrowed(b),
        } => assert_eq!(b, [1]),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn subnegotiation_unescapes_doubled_iac() {
    let input = b"\xff\xfa\x28\x01\xff\xff\x02\xff\xf0";
    let (ev, _) = TelnetParser::default().next_event(input).unwrap();
    assert_eq!(
        ev,
        TelnetEvent::Subnegotiation {
            option: 40,
            body: Cow::Owned(vec![1, 0xff, 2])
        }
    );
}

#[test]
fn sb_without_se_is_incomplete_until_the_limit_then_an_error() {
    let parser = TelnetParser {
        max_subnegotiation_len: 4,
    };
    let err = parser.next_event(b"\xff\xfa\x18\x00ab").unwrap_err();
    assert!(err.is_incomplete());
    let err = parser.next_event(b"\xff\xfa\x18\x00abcdef").unwrap_err();
    assert_eq!(err, Error::FrameTooLong { len: 7, limit: 4 });
}

#[test]
fn sb_ended_by_another_command_is_unterminated() {
    let err = TelnetParser::default()
        .next_event(b"\xff\xfa\x18\x00\xff\xfd\x01")
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Unterminated {
            what: "telnet subnegotiation",
            ..
        }
    ));
}

#[test]
fn lone_iac_at_end_is_incomplete() {
    let mut it = TelnetParser::default().events(b"ab\xff");
    assert_eq!(it.next(), Some(Ok(TelnetEvent::Data(b"ab"))));
    assert_eq!(it.next(), Some(Err(Error::Incomplete { needed: 1 })));
    assert_eq!(it.offset(), 2);
}

#[test]
fn encoder_doubles_ff_and_parser_restores_it() {
    let data = [0x01, 0xff, 0xff, 0x02, 0xff];
    let mut wire = Vec::new();
    encode_record(&data, &mut wire);
    assert_eq!(
        wire,
        [0x01, 0xff, 0xff, 0xff, 0xff, 0x02, 0xff, 0xff, 0xff, 0xef]
    );
    let (item, used) = RecordDecoder::default().decode_frame(&wire).unwrap();
    assert_eq!(used, wire.len());
    assert_eq!(item, RecordItem::Record(Cow::Owned(data.to_vec())));
}

#[test]
fn record_without_escape_is_borrowed() {
    let wire = b"\x7d\xc2\xf0\xff\xef\xff\xfb\x19";
    let mut dec = RecordDecoder::default();
    let (item, used) = dec.decode_frame(wire).unwrap();
    assert!(matches!(
        item,
        RecordItem::Record(Cow::Borrowed(b"\x7d\xc2\xf0"))
    ));
    let (item, _) = dec.decode_frame(&wire[used..]).unwrap();
    assert_eq!(
        item,
        RecordItem::Telnet(TelnetEvent::Negotiate {
            verb: Verb::Will,
            option: 25
        })
    );
}

#[test]
fn record_decoder_rejects_commands_inside_a_record_and_oversized_records() {
    let err = RecordDecoder::default()
        .decode_frame(b"ab\xff\xf1cd\xff\xef")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                offset: 3,
                byte: 0xf1,
                ..
            }
        ),
        "{err:?}"
    );
    let dec = RecordDecoder {
        max_record_len: 3,
        ..RecordDecoder::default()
    };
    let err = { dec }.decode_frame(b"abcdef").unwrap_err();
    assert_eq!(err, Error::FrameTooLong { len: 6, limit: 3 });
}

#[test]
fn subnegotiation_encoder_escapes_body() {
    let mut out = Vec::new();
    encode_subnegotiation(option::TN3270E, &[0x02, 0xff], &mut out);
    assert_eq!(out, [0xff, 0xfa, 40, 0x02, 0xff, 0xff, 0xff, 0xf0]);
}

#[test]
fn unknown_command_byte_is_invalid() {
    let err = TelnetParser::default().next_event(b"\xff\x20").unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid {
            offset: 1,
            byte: 0x20,
            ..
        }
    ));
}

#[test]
fn iac_eor_at_record_start_is_an_empty_record() {
    let (item, used) = RecordDecoder::default()
        .decode_frame(b"\xff\xefabc")
        .unwrap();
    assert_eq!(
        (item, used),
        (RecordItem::Record(Cow::Borrowed(&[][..])), 2)
    );
}
