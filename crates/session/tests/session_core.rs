//! The sans-IO session: negotiation bytes, answers to reads, keys, and
//! typed errors on bad input.
#![cfg(feature = "host")]

mod common;

use ballast_codec::telnet::{self, DO, IAC, SB, SE, WILL, option};
use ballast_codec::tn3270::codes::Display;
use ballast_codec::tn3270::{Aid, Command, FieldAttribute, RecordBuilder, ScreenSize, Wcc};
use ballast_session::{Error, Event, Model, Session, SessionConfig};

fn take(s: &mut Session) -> Vec<u8> {
    let out = s.output().to_vec();
    s.consume_output(out.len());
    out
}

/// A plain TN3270 session after the host's usual negotiation.
fn plain() -> Session {
    let mut s = Session::new(SessionConfig::default()).unwrap();
    s.receive(&[IAC, DO, option::TERMINAL_TYPE]).unwrap();
    assert_eq!(take(&mut s), [IAC, WILL, option::TERMINAL_TYPE]);
    s.receive(&[IAC, SB, option::TERMINAL_TYPE, 1, IAC, SE])
        .unwrap();
    let mut want = vec![IAC, SB, option::TERMINAL_TYPE, 0];
    want.extend_from_slice(b"IBM-3278-2-E");
    want.extend_from_slice(&[IAC, SE]);
    assert_eq!(take(&mut s), want);
    s
}

fn connected() -> Session {
    let mut s = plain();
    common::negotiate_eor_binary(&mut s);
    take(&mut s);
    assert!(s.is_connected());
    s
}

fn logon_screen() -> Vec<u8> {
    let rec = RecordBuilder::new(
        Command::EraseWrite,
        Wcc::from_flags(Wcc::KEYBOARD_RESTORE),
        ScreenSize::MODEL_2,
    )
    .sba(0, 0)
    .start_field(FieldAttribute::new().protect())
    .text_str("USER")
    .start_field(FieldAttribute::new())
    .insert_cursor()
    .sba(0, 20)
    .start_field(FieldAttribute::new().protect())
    .sba(1, 5)
    .start_field(FieldAttribute::new().display(Display::Hidden))
    .sba(1, 20)
    .start_field(FieldAttribute::new().protect())
    .finish()
    .unwrap();
    let mut wire = Vec::new();
    telnet::encode_record(&rec, &mut wire);
    wire
}

#[test]
fn replies_to_eor_and_binary_in_the_order_the_host_asked() {
    let mut s = plain();
    common::negotiate_eor_binary(&mut s);
    assert_eq!(
        take(&mut s),
        [
            IAC,
            WILL,
            option::END_OF_RECORD,
            IAC,
            DO,
            option::END_OF_RECORD,
            IAC,
            WILL,
            option::BINARY,
            IAC,
            DO,
            option::BINARY
        ]
    );
    assert_eq!(
        s.poll_event(),
        Some(Event::Connected {
            tn3270e: false,
            lu: None
        })
    );
}

#[test]
fn refuses_tn3270e_when_configured_off_and_unknown_options_always() {
    let mut s = Session::new(SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    })
    .unwrap();
    s.receive(&[IAC, DO, option::TN3270E, IAC, DO, option::NAWS])
        .unwrap();
    assert_eq!(
        take(&mut s),
        [IAC, 252, option::TN3270E, IAC, 252, option::NAWS]
    );
}

#[test]
fn terminal_type_follows_model_and_custom_type_with_lu_suffix() {
    let mut s = Session::new(SessionConfig {
        model: Model::Model4,
        ..SessionConfig::default()
    })
    .unwrap();
    s.receive(&[IAC, SB, option::TERMINAL_TYPE, 1, IAC, SE])
        .unwrap();
    assert!(take(&mut s).windows(12).any(|w| w == b"IBM-3278-4-E"));
    let cfg = SessionConfig {
        terminal_type: Some("IBM-DYNAMIC@LU1".into()),
        ..SessionConfig::default()
    };
    let mut s = Session::new(cfg).unwrap();
    s.receive(&[IAC, SB, option::TERMINAL_TYPE, 1, IAC, SE])
        .unwrap();
    assert!(take(&mut s).windows(15).any(|w| w == b"IBM-DYNAMIC@LU1"));
}

#[test]
fn tn3270e_negotiation_connects_to_the_named_lu_and_declines_bind_image() {
    let cfg = SessionConfig {
        lu: Some("LU01".into()),
        ..SessionConfig::default()
    };
    let mut s = Session::new(cfg).unwrap();
    s.receive(&[IAC, DO, option::TN3270E]).unwrap();
    assert_eq!(take(&mut s), [IAC, WILL, option::TN3270E]);
    s.receive(&[IAC, SB, option::TN3270E, 8, 2, IAC, SE])
        .unwrap();
    let mut want = vec![IAC, SB, option::TN3270E, 2, 7];
    want.extend_from_slice(b"IBM-3278-2-E");
    want.push(1);
    want.extend_from_slice(b"LU01");
    want.extend_from_slice(&[IAC, SE]);
    assert_eq!(take(&mut s), want);
    let mut is = vec![IAC, SB, option::TN3270E, 2, 4];
    is.extend_from_slice(b"IBM-3278-2-E\x01LU01");
    is.extend_from_slice(&[IAC, SE]);
    s.receive(&is).unwrap();
    assert_eq!(
        take(&mut s),
        [IAC, SB, option::TN3270E, 3, 7, 2, IAC, SE],
        "functions: responses only"
    );
    // The host asks for BIND-IMAGE and RESPONSES: we counter with RESPONSES.
    s.receive(&[IAC, SB, option::TN3270E, 3, 7, 0, 2, IAC, SE])
        .unwrap();
    assert_eq!(take(&mut s), [IAC, SB, option::TN3270E, 3, 7, 2, IAC, SE]);
    s.receive(&[IAC, SB, option::TN3270E, 3, 4, 2, IAC, SE])
        .unwrap();
    assert!(s.is_tn3270e());
    assert_eq!(s.lu(), Some("LU01"));
}

#[test]
fn tn3270e_record_asking_for_a_response_gets_a_positive_response() {
    let mut s = Session::new(SessionConfig::default()).unwrap();
    s.receive(&[
        IAC,
        DO,
        option::TN3270E,
        IAC,
        SB,
        option::TN3270E,
        3,
        4,
        2,
        IAC,
        SE,
    ])
    .unwrap();
    take(&mut s);
    assert!(s.is_tn3270e());
    let rec = RecordBuilder::new(Command::EraseWrite, Wcc(0), ScreenSize::MODEL_2)
        .text_str("HI")
        .finish()
        .unwrap();
    let mut data = vec![0, 0, 2, 0x00, 0x07];
    data.extend_from_slice(&rec);
    let mut wire = Vec::new();
    telnet::encode_record(&data, &mut wire);
    s.receive(&wire).unwrap();
    assert_eq!(take(&mut s), [2, 0, 0, 0, 7, 0, IAC, telnet::EOR]);
    assert_eq!(s.screen().row(0).unwrap().trim_end(), "HI");
}

#[test]
fn device_type_reject_is_a_typed_error() {
    let mut s = Session::new(SessionConfig::default()).unwrap();
    s.receive(&[IAC, DO, option::TN3270E]).unwrap();
    let e = s
        .receive(&[IAC, SB, option::TN3270E, 2, 6, 5, 3, IAC, SE])
        .unwrap_err();
    assert!(matches!(e, Error::DeviceTypeRejected { reason: 3 }), "{e}");
    assert!(s.is_closed());
}

#[test]
fn enter_sends_aid_cursor_and_modified_fields_and_locks_the_keyboard() {
    let mut s = connected();
    s.receive(&logon_screen()).unwrap();
    s.screen_mut().type_text("BOB").unwrap();
    s.press(Aid::Enter).unwrap();
    // AID, cursor (0,9) = 0x40 0xC9, SBA (0,6) 0x40 0xC6, "BOB", IAC EOR.
    assert_eq!(
        take(&mut s),
        [
            0x7D,
            0x40,
            0xC9,
            0x11,
            0x40,
            0xC6,
            0xC2,
            0xD6,
            0xC2,
            IAC,
            telnet::EOR
        ]
    );
    assert!(s.screen().is_locked());
    assert!(matches!(s.press(Aid::Enter), Err(Error::KeyboardLocked)));
    assert!(matches!(
        s.screen_mut().type_text("X"),
        Err(Error::KeyboardLocked)
    ));
}

#[test]
fn clear_and_pa_keys_send_a_short_read_and_pf_keys_a_full_one() {
    let mut s = connected();
    s.receive(&logon_screen()).unwrap();
    s.press(Aid::Pa(1)).unwrap();
    assert_eq!(take(&mut s), [0x6C, IAC, telnet::EOR]);
    s.receive(&logon_screen()).unwrap();
    s.press(Aid::Pf(24)).unwrap();
    assert_eq!(take(&mut s), [0x4C, 0x40, 0xC6, IAC, telnet::EOR]);
    s.receive(&logon_screen()).unwrap();
    s.press(Aid::Clear).unwrap();
    assert_eq!(take(&mut s), [0x6D, IAC, telnet::EOR]);
    assert!(!s.screen().is_formatted(), "clear erases the screen");
}

#[test]
fn read_modified_from_the_host_is_answered_with_the_modified_fields() {
    let mut s = connected();
    s.receive(&logon_screen()).unwrap();
    s.screen_mut().type_text("AB").unwrap();
    s.receive(&[0xF6, IAC, telnet::EOR]).unwrap();
    assert_eq!(
        take(&mut s),
        [
            0x60,
            0x40,
            0xC8,
            0x11,
            0x40,
            0xC6,
            0xC1,
            0xC2,
            IAC,
            telnet::EOR
        ]
    );
}

#[test]
fn read_buffer_sends_every_cell_with_sf_for_attributes() {
    let mut s = connected();
    s.receive(&logon_screen()).unwrap();
    s.receive(&[0xF2, IAC, telnet::EOR]).unwrap();
    let out = take(&mut s);
    assert_eq!(&out[..3], [0x60, 0x40, 0xC6]);
    assert_eq!(
        &out[3..9],
        [0x1D, 0x60, 0xE4, 0xE2, 0xC5, 0xD9],
        "SF protected, USER"
    );
    // 1920 cells; 5 attribute cells take 2 bytes; plus IAC EOR.
    assert_eq!(out.len(), 3 + 1920 + 5 + 2);
}

#[test]
fn read_partition_query_is_answered_with_query_replies() {
    let mut s = connected();
    s.receive(&[0xF3, 0x00, 0x05, 0x01, 0xFF, 0xFF, 0x02, IAC, telnet::EOR])
        .unwrap();
    let out = take(&mut s);
    assert_eq!(out[0], 0x88, "AID structured field");
    assert_eq!(&out[3..5], [0x81, 0x80], "query reply: summary first");
    assert!(
        std::iter::from_fn({
            let mut e = Vec::new();
            while let Some(x) = s.poll_event() {
                e.push(x)
            }
            let mut it = e.into_iter();
            move || it.next()
        })
        .any(|e| e == Event::QueryAnswered)
    );
}

#[test]
fn garbage_gets_a_typed_error_and_closes_the_session() {
    let mut s = connected();
    let e = s.receive(&[0x42, 0x99, IAC, telnet::EOR]).unwrap_err();
    assert!(
        matches!(e, Error::Codec(ballast_codec::Error::UnknownCommand { .. })),
        "{e}"
    );
    assert!(s.is_closed());
    assert!(matches!(s.receive(b"x"), Err(Error::NotConnected)));
}

#[test]
fn out_of_range_address_is_a_typed_error() {
    let mut s = connected();
    // SBA to 0x3F00 on a 1920-cell screen (14-bit form).
    let e = s
        .receive(&[0xF5, 0xC3, 0x11, 0x3F, 0x00, IAC, telnet::EOR])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Codec(ballast_codec::Error::AddressOutOfScreen { .. })
        ),
        "{e}"
    );
}

#[test]
fn truncated_order_is_a_typed_error() {
    let mut s = connected();
    let e = s
        .receive(&[0xF5, 0xC3, 0x11, 0x40, IAC, telnet::EOR])
        .unwrap_err();
    assert!(
        matches!(e, Error::Codec(ballast_codec::Error::Invalid { .. })),
        "{e}"
    );
}

#[test]
fn ten_megabytes_without_eor_hit_the_record_limit_with_bounded_memory() {
    let mut s = connected();
    let chunk = vec![0x40u8; 64 << 10];
    let mut err = None;
    for _ in 0..160 {
        if let Err(e) = s.receive(&chunk) {
            err = Some(e);
            break;
        }
    }
    let e = err.expect("10 MB without IAC EOR must fail");
    assert!(
        matches!(
            e,
            Error::Codec(ballast_codec::Error::FrameTooLong { .. }) | Error::Limit { .. }
        ),
        "{e}"
    );
    assert!(s.is_closed());
}

#[test]
fn endless_subnegotiation_hits_the_limit() {
    let mut s = Session::new(SessionConfig::default()).unwrap();
    s.receive(&[IAC, SB, option::TERMINAL_TYPE]).unwrap();
    let e = s.receive(&vec![0x41; 8 << 10]).unwrap_err();
    assert!(
        matches!(e, Error::Codec(ballast_codec::Error::FrameTooLong { .. })),
        "{e}"
    );
}

#[test]
fn endless_negotiation_hits_the_limit() {
    let mut s = Session::new(SessionConfig::default()).unwrap();
    let mut e = None;
    for _ in 0..1000 {
        if let Err(x) = s.receive(&[IAC, SB, 99, 1, IAC, SE]) {
            e = Some(x);
            break;
        }
    }
    assert!(matches!(
        e,
        Some(Error::Limit {
            what: "telnet negotiations",
            ..
        })
    ));
}

#[test]
fn record_split_across_reads_is_applied_once_complete() {
    let mut s = connected();
    let wire = logon_screen();
    for b in &wire {
        s.receive(std::slice::from_ref(b)).unwrap();
    }
    assert_eq!(s.screen().row(0).unwrap().trim_end(), " USER");
    assert_eq!(s.writes(), 1);
}

#[test]
fn invalid_config_names_the_field() {
    let cfg = SessionConfig {
        model: Model::Custom {
            rows: 200,
            cols: 200,
        },
        ..SessionConfig::default()
    };
    assert!(matches!(
        Session::new(cfg),
        Err(Error::Config { field: "model", .. })
    ));
    let cfg = SessionConfig {
        lu: Some(String::new()),
        ..SessionConfig::default()
    };
    assert!(matches!(
        Session::new(cfg),
        Err(Error::Config { field: "lu", .. })
    ));
}

#[test]
fn session_and_screen_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Session>();
    check::<ballast_session::Screen>();
    check::<ballast_session::Client>();
    check::<ballast_session::HostSimulator>();
    check::<Error>();
}

#[test]
fn read_modified_all_sends_fields_even_after_a_short_read_key() {
    let mut s = connected();
    s.receive(&logon_screen()).unwrap();
    s.screen_mut().type_text("AB").unwrap();
    s.press(Aid::Pa(2)).unwrap();
    assert_eq!(take(&mut s), [0x6E, IAC, telnet::EOR]);
    s.receive(&[0x6E, IAC, telnet::EOR]).unwrap(); // Read Modified All
    assert_eq!(
        take(&mut s),
        [
            0x6E,
            0x40,
            0xC8,
            0x11,
            0x40,
            0xC6,
            0xC1,
            0xC2,
            IAC,
            telnet::EOR
        ]
    );
}

#[test]
fn erase_all_unprotected_clears_input_resets_mdt_and_unlocks() {
    let mut s = connected();
    s.receive(&logon_screen()).unwrap();
    s.screen_mut().type_text("AB").unwrap();
    s.press(Aid::Enter).unwrap();
    take(&mut s);
    while s.poll_event().is_some() {}
    s.receive(&[0x6F, IAC, telnet::EOR]).unwrap();
    assert!(!s.screen().is_locked());
    assert_eq!(s.screen().field(1).unwrap().text().trim(), "");
    assert!(!s.screen().fields()[1].attribute.is_modified());
    assert_eq!(
        s.screen().cursor_position(),
        (0, 6),
        "cursor in the first input field"
    );
    assert_eq!(s.poll_event(), Some(Event::ScreenChanged));
    assert_eq!(s.poll_event(), Some(Event::KeyboardUnlocked));
}

#[test]
fn wsf_outbound_3270ds_applies_the_write_inside_it() {
    let mut s = connected();
    // WSF, SF length 9, id 0x40, partition 0, EW, WCC, "HI".
    let rec = [0xF3, 0x00, 0x08, 0x40, 0x00, 0xF5, 0xC3, 0xC8, 0xC9];
    let mut wire = Vec::new();
    telnet::encode_record(&rec, &mut wire);
    s.receive(&wire).unwrap();
    assert_eq!(s.screen().row(0).unwrap().trim_end(), "HI");
}

#[test]
fn erase_write_alternate_switches_a_model_5_to_27_by_132() {
    let mut s = Session::new(SessionConfig {
        model: Model::Model5,
        tn3270e: false,
        ..SessionConfig::default()
    })
    .unwrap();
    common::negotiate_eor_binary(&mut s);
    let rec = RecordBuilder::new(Command::EraseWriteAlternate, Wcc(0), ScreenSize::MODEL_5)
        .sba(26, 131)
        .text_str("Z")
        .finish()
        .unwrap();
    let mut wire = Vec::new();
    telnet::encode_record(&rec, &mut wire);
    s.receive(&wire).unwrap();
    assert_eq!(s.screen().size(), ScreenSize::MODEL_5);
    assert!(s.screen().row(26).unwrap().ends_with('Z'));
    s.press(Aid::Clear).unwrap();
    assert_eq!(
        s.screen().size(),
        ScreenSize::MODEL_2,
        "clear returns to the default size"
    );
}

#[test]
fn attn_sends_telnet_ip_and_keepalive_a_nop() {
    let mut s = connected();
    s.attn().unwrap();
    s.keepalive();
    assert_eq!(take(&mut s), [IAC, 244, IAC, 241]);
}

#[test]
fn keys_before_negotiation_finish_are_refused() {
    let mut s = Session::new(SessionConfig::default()).unwrap();
    assert!(matches!(s.press(Aid::Enter), Err(Error::NotConnected)));
}
